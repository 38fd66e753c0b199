//===- Interpreter.cpp - the evaluation loop ------------------------------===//

#include "Kernels.h"

#include "pz/Dialect/PZ/IR/PZDialect.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp;
using namespace mlir::pz::interp::detail;

/// Every kernel, by op name; built once.
static const KernelTable &kernels() {
  static const KernelTable table = [] {
    KernelTable t;
    registerElementwiseKernels(t);
    registerDropoutKernels(t);
    registerReductionKernels(t);
    registerNormKernels(t);
    registerShapeKernels(t);
    registerMatmulKernels(t);
    registerAttentionKernels(t);
    registerAttentionBlockKernels(t);
    registerLossKernels(t);
    registerGatherKernels(t);
    registerOptimizerKernels(t);
    registerFusionKernels(t);
    return t;
  }();
  return table;
}

LogicalResult mlir::pz::interp::detail::evalOp(Operation *op, Env &env) {
  auto it = kernels().find(op->getName().getStringRef());
  if (it == kernels().end())
    return op->emitError() << "interpreter: no kernel for '" << op->getName()
                           << "'";
  return it->second(op, env);
}

bool mlir::pz::interp::hasKernel(StringRef opName) {
  return kernels().count(opName);
}

SmallVector<StringRef> mlir::pz::interp::supportedOps() {
  SmallVector<StringRef> names;
  for (const auto &entry : kernels())
    names.push_back(entry.getKey());
  llvm::sort(names);
  return names;
}

/// A readable name of argument `i`: its pz.* name, else `arg<i>`.
static std::string argName(func::FuncOp fn, unsigned i) {
  for (StringRef key : {PZDialect::kInputAttrName, PZDialect::kParamAttrName,
                        PZDialect::kStateAttrName, PZDialect::kGradAttrName})
    if (auto name = fn.getArgAttrOfType<StringAttr>(i, key))
      return "'" + name.getValue().str() + "'";
  return "arg" + std::to_string(i);
}

/// Checks argument `i` against its declared type and records it.
static LogicalResult bindArgument(func::FuncOp fn, unsigned i,
                                  const HostTensor &arg, Env &env) {
  BlockArgument value = fn.getArgument(i);
  auto type = llvm::dyn_cast<RankedTensorType>(value.getType());
  auto fail = [&]() {
    return fn.emitError() << "interpreter: argument #" << i << " ("
                          << argName(fn, i) << ") ";
  };
  if (!type)
    return fail() << "has type " << value.getType()
                  << "; only ranked tensors are supported";
  if (static_cast<int64_t>(arg.data.size()) != numElements(arg.shape))
    return fail() << "has " << arg.data.size() << " values for shape "
                  << shapeStr(arg.shape);
  bool shapeOk = type.getRank() == arg.getRank();
  for (int64_t d = 0; shapeOk && d < type.getRank(); ++d)
    shapeOk = type.isDynamicDim(d) || type.getDimSize(d) == arg.shape[d];
  if (!shapeOk)
    return fail() << "expects shape " << type << " but got "
                  << shapeStr(arg.shape);
  Type elt = type.getElementType();
  if (arg.elementType && arg.elementType != elt)
    return fail() << "expects element type " << elt << " but got "
                  << arg.elementType;
  if (auto it = llvm::dyn_cast<IntegerType>(elt)) {
    for (auto [j, v] : llvm::enumerate(arg.data))
      if (!isValueOfType(v, it))
        return fail() << "has type " << elt << " but element " << j << " is "
                      << numStr(v);
  }
  return env.define(value, arg.shape, arg.data);
}

FailureOr<SmallVector<HostTensor>>
mlir::pz::interp::interpret(func::FuncOp fn, ArrayRef<HostTensor> args,
                            const InterpOptions &opts) {
  if (fn.isExternal())
    return fn.emitError() << "interpreter: @" << fn.getSymName()
                          << " has no body";
  if (!fn.getBody().hasOneBlock())
    return fn.emitError() << "interpreter: @" << fn.getSymName()
                          << " must be a single block";
  if (args.size() != fn.getNumArguments())
    return fn.emitError() << "interpreter: @" << fn.getSymName() << " takes "
                          << fn.getNumArguments() << " arguments, got "
                          << args.size();
  Env env(opts);
  for (unsigned i = 0; i < args.size(); ++i)
    if (failed(bindArgument(fn, i, args[i], env)))
      return failure();

  // Free each value after its last reader, so that large graphs keep only
  // live tensors.
  Block &body = fn.getBody().front();
  llvm::DenseMap<Operation *, SmallVector<Value>> dying;
  {
    llvm::DenseMap<Value, Operation *> lastUse;
    for (Operation &op : body)
      for (Value v : op.getOperands())
        lastUse[v] = &op;
    for (auto [v, op] : lastUse)
      if (!llvm::isa<func::ReturnOp>(op))
        dying[op].push_back(v);
  }

  for (Operation &op : body) {
    if (auto ret = llvm::dyn_cast<func::ReturnOp>(op)) {
      SmallVector<HostTensor> results;
      for (Value v : ret.getOperands())
        results.push_back(env.get(v));
      return results;
    }
    for (Value v : op.getOperands())
      if (!env.has(v))
        return op.emitError() << "interpreter: operand defined outside the "
                                 "function body";
    if (failed(evalOp(&op, env)))
      return failure();
    for (Value v : dying.lookup(&op))
      env.erase(v);
  }
  return fn.emitError() << "interpreter: @" << fn.getSymName()
                        << " does not end in func.return";
}
