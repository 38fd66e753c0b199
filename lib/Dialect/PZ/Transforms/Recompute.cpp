//===- Recompute.cpp - recompute forward values in the backward pass ------===//
//
// Activation recomputation (docs/design/0016). In @forward_backward, after
// the plan passes, the backward pass reads forward values; each one the
// mode selects is recomputed instead of kept: its op (and the selected ops
// it reads) is cloned right before the first backward op that reads it.
// Kept values are what the forward keeps for the backward (a pipeline
// stage's saved set, pz-split-forward-backward; pz-saved-activations'
// count); the clones are temporaries of the backward.
//   selective  the attention core (Korthikanti et al.): a softmax over
//              rank-4 scores, the ops that make the scores back to their
//              matmul (scale, mask) and the dropout on the probabilities;
//              the linears' inputs are kept. A fused attention has none.
//   full       everything but the layer inputs: the values alone live at a
//              cut point of the forward (pz-split-stages' cut points).
// A recomputed dropout draws the same mask: its mask depends on its seed,
// the step and the element index only.
//
//===----------------------------------------------------------------------===//

#include "StepFunctions.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace mlir::pz {
#define GEN_PASS_DEF_RECOMPUTEPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-recompute"

using namespace mlir;
using namespace mlir::pz;

namespace {

constexpr const char *kPass = "pz-recompute";

/// The layer inputs: the values alone live between two forward ops,
/// counting forward readers only. A reshape of one is not kept: it is
/// recomputed for nothing.
llvm::DenseSet<Value> layerInputs(func::FuncOp fn, const llvm::DenseSet<Operation *> &forward) {
  SmallVector<Operation *> ops;
  for (Operation &op : fn.getBody().front().without_terminator())
    if (forward.contains(&op))
      ops.push_back(&op);
  llvm::DenseSet<Value> inputs;
  for (auto &[c, v] : aloneLive(fn, ops))
    if (!v.getDefiningOp<ReshapeOp>())
      inputs.insert(v);
  return inputs;
}

/// The attention core of an unfused attention (Korthikanti et al.'s
/// selective set): each softmax over rank-4 scores, the ops that make its
/// scores back to their matmul (scale, mask), and the dropout on its
/// probabilities. A fused attention has none.
llvm::DenseSet<Operation *> attentionCore(func::FuncOp fn,
                                          const llvm::DenseSet<Operation *> &forward) {
  llvm::DenseSet<Operation *> core;
  auto rank4 = [](Value v) {
    auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
    return t && t.getRank() >= 4;
  };
  fn.walk([&](SoftmaxOp softmax) {
    if (!forward.contains(softmax) || !rank4(softmax.getResult()))
      return;
    core.insert(softmax);
    SmallVector<Value> work = {softmax.getInput()};
    while (!work.empty()) {
      Operation *def = work.pop_back_val().getDefiningOp();
      if (!def || !forward.contains(def) || def->getNumResults() != 1 ||
          !rank4(def->getResult(0)) || !core.insert(def).second || llvm::isa<MatmulOp>(def))
        continue;
      for (Value v : def->getOperands())
        if (rank4(v))
          work.push_back(v);
    }
    for (Operation *user : softmax->getUsers())
      if (llvm::isa<DropoutOp>(user) && forward.contains(user))
        core.insert(user);
  });
  return core;
}

struct RecomputePass : public mlir::pz::impl::RecomputePassBase<RecomputePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string m = mode;
    if (m.empty())
      if (auto plan = module->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName))
        m = stringify(plan.getPlan().recompute).str();
    if (m.empty() || m == "none")
      return;
    if (m != "selective" && m != "full") {
      module.emitError() << kPass << ": unknown mode '" << m << "' (none, selective or full)";
      return signalPassFailure();
    }
    auto fb = module.lookupSymbol<func::FuncOp>("forward_backward");
    if (!fb || fb.isExternal())
      return;
    llvm::DenseSet<Operation *> forward = forwardOps(fb);
    llvm::DenseSet<Value> keep;
    llvm::DenseSet<Operation *> core;
    if (m == "full")
      keep = layerInputs(fb, forward);
    else
      core = attentionCore(fb, forward);
    Operation *ret = fb.getBody().front().getTerminator();
    for (unsigned i = 0; i < fb.getNumResults(); ++i)
      if (isForwardResult(fb, i))
        keep.insert(ret->getOperand(i));
    auto recomputed = [&](Value v) {
      Operation *def = v.getDefiningOp();
      if (!def || !forward.contains(def) || keep.contains(v))
        return false;
      return m == "full" || core.contains(def);
    };

    SmallVector<Operation *> backward;
    for (Operation &op : fb.getBody().front().without_terminator())
      if (!forward.contains(&op))
        backward.push_back(&op);
    IRMapping map;
    std::function<Value(Value, OpBuilder &)> clone = [&](Value v, OpBuilder &b) -> Value {
      if (!recomputed(v))
        return v;
      if (Value c = map.lookupOrNull(v))
        return c;
      Operation *def = v.getDefiningOp();
      for (Value operand : def->getOperands())
        (void)clone(operand, b);
      Operation *c = b.clone(*def, map);
      c->setLoc(NameLoc::get(b.getStringAttr("recompute"), def->getLoc()));
      return map.lookup(v);
    };
    for (Operation *op : backward) {
      OpBuilder b(op);
      for (OpOperand &use : op->getOpOperands())
        if (recomputed(use.get()))
          use.set(clone(use.get(), b));
    }
    if (remarks)
      fb.emitRemark() << kPass << " (" << m << "): " << map.getValueMap().size()
                      << " forward values recomputed in the backward pass";
  }
};

} // namespace
