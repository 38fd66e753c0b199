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
//   layers     full recompute of the named layers only (the plan's
//              recompute: [h.0, h.2]): every value of the layer's ops
//              (Layers.h) but its input and its output (the next layer's
//              input) is recomputed, the cut points inside the layer
//              included; nothing else is. With pipeline stages the pass runs
//              on the top module and each stage recomputes the listed layers
//              it holds; a name no stage holds a parameter of is an error.
// The module (a stage's module) records what the forward no longer keeps:
// pz.recomputed_bytes, and per listed layer pz.recomputed_bytes_by_layer.
// A recomputed dropout draws the same mask: its mask depends on its seed,
// the step and the element index only.
//
//===----------------------------------------------------------------------===//

#include "Layers.h"
#include "StepFunctions.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringSet.h"

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

int64_t bytesOf(Value v) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  if (!t || !t.hasStaticShape() || !t.getElementType().isIntOrFloat())
    return 0;
  return t.getNumElements() * llvm::divideCeil(t.getElementTypeBitWidth(), 8);
}

/// What the forward keeps for the backward (pz-split-forward-backward's
/// saved set): the results of forward ops, constants aside (they are
/// cloned), that a backward op reads or that fn returns as a backward
/// result.
llvm::SetVector<Value> keptValues(func::FuncOp fn, const llvm::DenseSet<Operation *> &forward) {
  llvm::SetVector<Value> kept;
  auto read = [&](Value v) {
    Operation *def = v.getDefiningOp();
    if (def && forward.contains(def) && !llvm::isa<ConstantOp>(def))
      kept.insert(v);
  };
  Block &body = fn.getBody().front();
  for (Operation &op : body.without_terminator())
    if (!forward.contains(&op))
      for (Value v : op.getOperands())
        read(v);
  for (unsigned i = 0; i < fn.getNumResults(); ++i)
    if (!isForwardResult(fn, i))
      read(body.getTerminator()->getOperand(i));
  return kept;
}

/// Recomputes in `fb` what `mode` selects (`names`: the layers of mode
/// "layers") and records on `where` the bytes the forward no longer keeps.
/// Adds to `found` the names fb holds a parameter of.
void recomputeIn(func::FuncOp fb, ModuleOp where, StringRef mode, ArrayRef<std::string> names,
                 llvm::StringSet<> &found, bool remarks) {
  llvm::DenseSet<Operation *> forward = forwardOps(fb);
  SmallVector<Operation *> ops;
  for (Operation &op : fb.getBody().front().without_terminator())
    if (forward.contains(&op))
      ops.push_back(&op);
  llvm::DenseSet<Value> keep;
  llvm::DenseSet<Operation *> core;
  // mode "layers": the listed layer each op of a listed layer belongs to.
  llvm::DenseMap<Operation *, StringRef> layerOf;
  SmallVector<StringRef> held;
  if (mode == "full") {
    keep = layerInputs(fb, forward);
  } else if (mode == "selective") {
    core = attentionCore(fb, forward);
  } else {
    std::map<size_t, Value> cuts = aloneLive(fb, ops);
    for (const std::string &name : names) {
      if (!hasLayerParam(fb, name))
        continue;
      found.insert(name);
      held.push_back(name);
      auto span = layerSpan(fb, ops, cuts, name);
      if (!span)
        continue;
      for (size_t i = span->first; i < span->second; ++i)
        layerOf.try_emplace(ops[i], name);
      // Its output is the next layer's input.
      if (auto out = cuts.find(span->second); out != cuts.end())
        keep.insert(out->second);
    }
  }
  Operation *ret = fb.getBody().front().getTerminator();
  for (unsigned i = 0; i < fb.getNumResults(); ++i)
    if (isForwardResult(fb, i))
      keep.insert(ret->getOperand(i));
  auto recomputed = [&](Value v) {
    Operation *def = v.getDefiningOp();
    if (!def || !forward.contains(def) || keep.contains(v))
      return false;
    return mode == "full" || core.contains(def) || layerOf.count(def);
  };

  llvm::SetVector<Value> before = keptValues(fb, forward);
  SmallVector<Operation *> backward;
  for (Operation &op : fb.getBody().front().without_terminator())
    if (!forward.contains(&op))
      backward.push_back(&op);
  IRMapping map;
  llvm::DenseMap<Operation *, StringRef> cloneLayer;
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
    if (StringRef layer = layerOf.lookup(def); !layer.empty())
      cloneLayer[c] = layer;
    return map.lookup(v);
  };
  for (Operation *op : backward) {
    OpBuilder b(op);
    for (OpOperand &use : op->getOpOperands())
      if (recomputed(use.get()))
        use.set(clone(use.get(), b));
  }

  // What the forward no longer keeps, less what the clones now make it keep
  // (a value they read that the backward did not), per listed layer.
  llvm::SetVector<Value> after = keptValues(fb, forward);
  int64_t saved = 0;
  llvm::StringMap<int64_t> byLayer;
  for (StringRef name : held)
    byLayer[name] = 0;
  for (Value v : before)
    if (!after.contains(v)) {
      saved += bytesOf(v);
      if (StringRef layer = layerOf.lookup(v.getDefiningOp()); !layer.empty())
        byLayer[layer] += bytesOf(v);
    }
  for (Value v : after)
    if (!before.contains(v)) {
      saved -= bytesOf(v);
      for (Operation *user : v.getUsers())
        if (StringRef layer = cloneLayer.lookup(user); !layer.empty()) {
          byLayer[layer] -= bytesOf(v);
          break;
        }
    }
  Builder b(fb.getContext());
  where->setAttr(PZDialect::kRecomputedBytesAttrName, b.getI64IntegerAttr(saved));
  if (mode == "layers") {
    SmallVector<NamedAttribute> entries;
    for (StringRef name : held)
      entries.push_back(b.getNamedAttr(name, b.getI64IntegerAttr(byLayer[name])));
    where->setAttr(PZDialect::kRecomputedBytesByLayerAttrName, b.getDictionaryAttr(entries));
  }
  if (remarks)
    fb.emitRemark() << kPass << " (" << mode << "): " << map.getValueMap().size()
                    << " forward values recomputed in the backward pass, " << saved
                    << " bytes fewer kept";
}

struct RecomputePass : public mlir::pz::impl::RecomputePassBase<RecomputePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string m = mode;
    std::vector<std::string> names(layers.begin(), layers.end());
    auto plan = module->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName);
    if (m.empty() && !names.empty())
      m = "layers";
    if (m.empty() && plan)
      m = stringify(plan.getPlan().recompute).str();
    if (m == "layers" && names.empty() && plan)
      names = plan.getPlan().recomputeLayers;
    if ((m.empty() || m == "none") && names.empty())
      return;
    if (m != "selective" && m != "full" && m != "layers") {
      module.emitError() << kPass << ": unknown mode '" << m
                         << "' (none, selective, full or layers)";
      return signalPassFailure();
    }
    if ((m == "layers") != !names.empty()) {
      module.emitError() << kPass << ": recompute: "
                         << (names.empty() ? "mode layers names no layer"
                                           : "layers are named for mode '" + m + "'");
      return signalPassFailure();
    }
    llvm::StringSet<> named;
    for (const std::string &name : names)
      if (!named.insert(name).second) {
        module.emitError() << kPass << ": recompute: '" << name << "' is named twice";
        return signalPassFailure();
      }

    // The step's function, or with pipeline stages each stage's.
    SmallVector<std::pair<func::FuncOp, ModuleOp>> steps;
    auto add = [&](ModuleOp where) {
      auto fb = where.lookupSymbol<func::FuncOp>("forward_backward");
      if (fb && !fb.isExternal())
        steps.push_back({fb, where});
    };
    add(module);
    for (auto stage : module.getOps<ModuleOp>())
      if (stage->hasAttr(PZDialect::kStageAttrName))
        add(stage);
    if (steps.empty())
      return;
    llvm::StringSet<> found;
    for (auto [fb, where] : steps)
      recomputeIn(fb, where, m, names, found, remarks);
    // A stage's module alone cannot tell a layer of another stage.
    if (module->hasAttr(PZDialect::kStageAttrName))
      return;
    for (const std::string &name : names)
      if (!found.contains(name)) {
        module.emitError() << kPass << ": recompute: no parameter of layer '" << name
                           << "' (none is named '" << name
                           << ".*'); recompute takes none, selective, full or layer names";
        return signalPassFailure();
      }
  }
};

} // namespace
