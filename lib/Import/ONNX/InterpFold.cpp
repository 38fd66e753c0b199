//===- InterpFold.cpp - Fold any node through the reference interpreter ---===//
//
// A node whose inputs are all known constants and whose op has no folder of
// its own (or whose folder declined) is lowered into a scratch function, on
// constants, and the reference interpreter (pz::interp, float64) evaluates
// the ops it gave. The results, rounded once to their element types, become
// the node's known constants, so every op the importer lowers and the
// interpreter runs folds with the semantics the rest of the compiler is
// checked against. The scratch function is thrown away; the import's own
// state only sees the node's outputs.
//
// A node stays runtime ops when the scratch lowering fails (the real one
// reports why), when an op has no interpreter kernel, draws random numbers
// (pz.dropout), has a result above kMaxFoldElements, or is a matmul or
// attention of more than 2^30 multiply-adds (an upper estimate), so that
// folding cannot take long. What folding holds in all is bounded by
// ImportState::maxFoldedElements: past it the import fails at the node.
//
//===----------------------------------------------------------------------===//

#include "InterpFold.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Interp/Interpreter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/CheckedArithmetic.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::onnx;

/// The scratch import state: the node's inputs as known constants (never as
/// IR values of the real function) and its used outputs.
static void seedScratch(const ImportState &real, ImportState &scratch,
                        const Node &node) {
  for (const std::string &in : node.inputs) {
    if (in.empty())
      continue;
    auto it = real.values.find(in);
    if (it != real.values.end())
      scratch.values.insert_or_assign(
          in, ImportedValue{Value(), it->second.constant, it->second.loc});
  }
  for (const std::string &out : node.outputs)
    if (!out.empty() && real.usedNames.contains(out))
      scratch.usedNames.insert(out);
  scratch.dynamicInputs = real.dynamicInputs;
}

/// The multiply-adds of a matmul or attention on static shapes (result
/// elements times the contracted length: K, or twice the key's sequence
/// length), or -1 above kMaxFoldWork.
static int64_t contractionWork(Operation &op) {
  constexpr int64_t kMaxFoldWork = int64_t(1) << 30;
  auto result = llvm::dyn_cast<RankedTensorType>(op.getResult(0).getType());
  auto lhs = llvm::dyn_cast<RankedTensorType>(op.getOperand(0).getType());
  auto rhs = llvm::dyn_cast<RankedTensorType>(op.getOperand(1).getType());
  if (!result || !lhs || !rhs || !result.hasStaticShape() ||
      !lhs.hasStaticShape() || !rhs.hasStaticShape() || lhs.getRank() < 2 ||
      rhs.getRank() < 2)
    return -1;
  int64_t len;
  if (auto mm = llvm::dyn_cast<MatmulOp>(op))
    len = lhs.getDimSize(lhs.getRank() - (mm.getTransposeLhs() ? 2 : 1));
  else
    len = 2 * rhs.getDimSize(rhs.getRank() - 2);
  std::optional<int64_t> work =
      llvm::checkedMul(result.getNumElements(), std::max<int64_t>(len, 1));
  return work && *work <= kMaxFoldWork ? *work : -1;
}

/// The interpreter's value of `t`, rounded to the element type `type`.
static HostTensor toImporterTensor(const interp::HostTensor &t, Type type) {
  HostTensor out(fromMLIRType(type), t.shape);
  for (int64_t i = 0, n = out.size(); i < n; ++i)
    out.setDouble(i, t.data[i]);
  return out;
}

FailureOr<bool> mlir::pz::onnx::foldWithInterpreter(ImportState &state,
                                                    NodeContext &ctx,
                                                    LowerFn lower) {
  const Node &node = ctx.getNode();
  MLIRContext *mctx = ctx.getContext();
  ImportState scratch(mctx);
  seedScratch(state, scratch, node);
  OpBuilder &b = scratch.builder;
  OwningOpRef<ModuleOp> module = ModuleOp::create(ctx.getLoc());
  b.setInsertionPointToEnd(module->getBody());
  auto fn = func::FuncOp::create(b, ctx.getLoc(), "fold",
                                 b.getFunctionType({}, {}));
  b.setInsertionPointToEnd(fn.addEntryBlock());

  {
    // The real lowering reports what this one finds wrong.
    ScopedDiagnosticHandler quiet(mctx, [](Diagnostic &) { return success(); });
    NodeContext sctx(scratch, node, ctx.getOpset(), ctx.getLoc());
    if (failed(lower(sctx)))
      return false;
  }

  // Only deterministic ops with kernels, each result within the bound, and
  // contractions of bounded work (the rest do work in proportion to their
  // elements).
  int64_t needed = 0;
  for (Operation &op : fn.getBody().front()) {
    if (llvm::isa<DropoutOp>(op) ||
        !interp::hasKernel(op.getName().getStringRef()))
      return false;
    if (llvm::isa<MatmulOp, AttentionOp>(op) && contractionWork(op) < 0)
      return false;
    for (Value r : op.getResults()) {
      auto type = llvm::dyn_cast<RankedTensorType>(r.getType());
      if (!type || !type.hasStaticShape())
        return false;
      int64_t n = foldableElementCount(type.getShape());
      if (n < 0)
        return false; // too large for the host: the node stays runtime ops
      if (!llvm::isa<ConstantOp>(op)) // the inputs are held already
        needed += n;
    }
  }

  // The node's outputs: values to evaluate, or constants the lowering set.
  SmallVector<Value> results;
  SmallVector<unsigned> resultOutputs;
  SmallVector<std::pair<unsigned, std::shared_ptr<const HostTensor>>> direct;
  for (unsigned i = 0; i < node.outputs.size(); ++i) {
    if (node.outputs[i].empty())
      continue;
    auto it = scratch.values.find(node.outputs[i]);
    if (it == scratch.values.end())
      continue;
    if (it->second.value) {
      results.push_back(it->second.value);
      resultOutputs.push_back(i);
    } else if (it->second.constant) {
      direct.emplace_back(i, it->second.constant);
    }
  }

  std::optional<int64_t> total = llvm::checkedAdd(state.foldedElements, needed);
  if (!total || *total > state.maxFoldedElements)
    return ctx.emitError() << "folding this " << node.opType
                           << " node would hold " << needed
                           << " more constant elements on the host, past the "
                              "import's bound of "
                           << state.maxFoldedElements << " (" << state.foldedElements
                           << " held already)";

  func::ReturnOp::create(b, ctx.getLoc(), results);
  fn.setFunctionType(b.getFunctionType({}, ValueRange(results).getTypes()));
  // An interpreter error (an index out of range, an integer division by
  // zero) is the model's: it is reported at the node.
  FailureOr<SmallVector<interp::HostTensor>> values = interp::interpret(fn, {});
  if (failed(values))
    return failure();
  for (auto [k, i] : llvm::enumerate(resultOutputs))
    ctx.setOutput(i, toImporterTensor(
                         (*values)[k],
                         llvm::cast<RankedTensorType>(results[k].getType())
                             .getElementType()));
  for (auto &[i, t] : direct)
    ctx.setOutput(i, *t);
  return true;
}
