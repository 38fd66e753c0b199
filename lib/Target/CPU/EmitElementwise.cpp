//===- EmitElementwise.cpp - element-map ops and fused loops --------------===//
//
// Every element-map op becomes one loop nest over the result's shape; each
// operand is read through broadcast strides, and dims that all operands walk
// contiguously collapse, so same-shape operands give one flat loop the C++
// compiler vectorizes. A pz.fused op is one loop nest over its domain whose
// body computes each inner value into a scalar of its own element type, so
// it rounds exactly as the separate ops would. Math is in the element type
// (std:: overloads; 16-bit floats compute in float), as PyTorch computes
// fp32 ops in fp32.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Target/ElementExpr.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cpp;

using FE = KernelEmitter;

static const ElementExprStyle &cpuStyle() {
  static const ElementExprStyle s{[](Type t) { return FE::cType(t); }, false};
  return s;
}

static std::string elementExpr(Operation *op, ArrayRef<std::string> a) {
  return pz::elementExpr(op, a, cpuStyle());
}

/// Wraps the loop of ops that may divide integers by zero in the flag's
/// scope and its check.
static void withDiv0Flag(Operation *op, FE &e, bool needed, const std::function<void()> &loop) {
  if (needed)
    e.out() << "    { int pz_div0 = 0;\n";
  loop();
  if (needed)
    e.out() << "    if (pz_div0) " << e.failStmt(op, "integer division by zero") << " }\n";
}

/// result[i] = f(operands[i]...) with broadcasting.
static void emitMap(Operation *op, FE &e) {
  Value r = op->getResult(0);
  ArrayRef<int64_t> outShape = FE::shape(r);
  std::vector<StridedRef> refs;
  refs.push_back({e.name(r), 0, FE::stridesOf(outShape)});
  for (Value v : op->getOperands())
    refs.push_back({e.name(v), 0, FE::broadcastStrides(FE::shape(v), outShape)});
  withDiv0Flag(op, e, isIntegerDiv(op), [&] {
    e.emitStridedLoop(outShape, refs, [&](ArrayRef<std::string> idx) {
      return idx[0] + " = " + elementExpr(op, idx.drop_front()) + ";";
    });
  });
}

/// One loop over the domain: inner values are scalars, yielded ones stored.
static LogicalResult emitFused(FusedOp f, FE &e) {
  ArrayRef<int64_t> domain = f.getDomain();
  Block &body = f.getBody().front();
  auto yield = llvm::cast<YieldOp>(body.getTerminator());
  std::vector<StridedRef> refs;
  for (Value r : f.getResults())
    refs.push_back({e.name(r), 0, FE::stridesOf(domain)});
  for (Value in : f.getInputs())
    refs.push_back({e.name(in), 0, FE::broadcastStrides(FE::shape(in), domain)});
  bool div0 = false;
  for (Operation &op : body.without_terminator()) {
    if (!hasElementExpr(&op))
      return op.emitError() << "CPU backend: no element expression for " << op.getName();
    div0 |= isIntegerDiv(&op);
  }
  withDiv0Flag(f, e, div0, [&] {
    e.emitStridedLoop(domain, refs, [&](ArrayRef<std::string> idx) {
      llvm::DenseMap<Value, std::string> scalar;
      for (auto [i, arg] : llvm::enumerate(body.getArguments()))
        scalar[arg] = idx[f.getNumResults() + i];
      std::string s = "{";
      for (Operation &op : body.without_terminator()) {
        std::vector<std::string> args;
        for (Value v : op.getOperands())
          args.push_back(scalar.lookup(v));
        std::string t = "t" + std::to_string(scalar.size());
        s += " " + FE::cType(FE::elementType(op.getResult(0))) + " " + t + " = " +
             elementExpr(&op, args) + ";";
        scalar[op.getResult(0)] = t;
      }
      for (auto [i, v] : llvm::enumerate(yield.getValues()))
        s += " " + idx[i] + " = " + scalar.lookup(v) + ";";
      return s + " }";
    });
  });
  return success();
}

/// GELU through the runtime's fp32 kernels (bf16/f16 widened around them).
static LogicalResult emitGelu(GeluOp g, FE &e) {
  int approx = g.getApproximate() == GeluApproximation::erf ? 0 : 1;
  e.out() << "    pzrt_gelu_fwd(" << e.name(g.getInput()) << ", " << e.name(g.getResult())
          << ", " << FE::numel(g.getResult()) << ", " << approx << ");\n";
  return success();
}

static LogicalResult emitGeluGrad(GeluGradOp g, FE &e) {
  if (g.getGrad().getType() != g.getInput().getType())
    return g.emitError() << "CPU backend: gelu_grad needs operands of one type";
  int approx = g.getApproximate() == GeluApproximation::erf ? 0 : 1;
  e.out() << "    pzrt_gelu_bwd(" << e.name(g.getInput()) << ", " << e.name(g.getGrad()) << ", "
          << e.name(g.getResult()) << ", " << FE::numel(g.getResult()) << ", " << approx
          << ");\n";
  return success();
}

LogicalResult cpp::emitElementwiseOp(Operation *op, FE &e, bool &handled) {
  handled = true;
  if (op->hasTrait<traits::ElementMap>()) {
    if (!hasElementExpr(op))
      return op->emitError() << "CPU backend: no element expression for " << op->getName();
    emitMap(op, e);
    return success();
  }
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<FusedOp>([&](FusedOp f) { return emitFused(f, e); })
      .Case<GeluOp>([&](GeluOp g) {
        return emitWidened(op, e, [&] { return emitGelu(g, e); });
      })
      .Case<GeluGradOp>([&](GeluGradOp g) {
        return emitWidened(op, e, [&] { return emitGeluGrad(g, e); });
      })
      .Default([&](Operation *) {
        handled = false;
        return success();
      });
}
