//===- SplitStages.cpp - cut @forward into pipeline stages -----------------===//
//
// Pipeline parallelism (docs/design/0016). Before autodiff, @forward is cut
// into `stages` chunks at cut points: program points where exactly one
// activation (a value computed from both the data and the parameters) is
// live. Values computed from the parameters alone, or from the data alone
// (a mask from input_ids), are cloned into every stage that reads them.
// The cuts minimize the costliest chunk (the ops' FLOPs, StageCost.h), or
// follow pins: "layers.2" cuts before the first op that reads a parameter
// of that layer. Each chunk becomes a nested module @stage_K, with the
// top module's attributes and pz.stage, holding @forward:
//   stage 0:     (data, params) -> activation
//   stage K:     (activation, data, params) -> activation
//   last stage:  (activation, data, params) -> loss
// The activations carry pz.pipe = "activation".
//
//===----------------------------------------------------------------------===//

#include "StageCost.h"
#include "StageMemory.h"
#include "StepFunctions.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

#include <limits>

namespace mlir::pz {
#define GEN_PASS_DEF_SPLITSTAGESPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-split-stages"

using namespace mlir;
using namespace mlir::pz;

namespace {

constexpr const char *kPass = "pz-split-stages";

/// What @forward looks like to the cutter: ops in order, where exactly one
/// activation is live, and the cost of each prefix.
struct Linear {
  SmallVector<Operation *> ops;
  llvm::DenseMap<Operation *, size_t> index;
  /// Cut position i (before ops[i]) -> the one activation live across it
  /// (StepFunctions.h; the return reads only the loss: other outputs are
  /// dropped).
  std::map<size_t, Value> cuts;
  llvm::DenseSet<Value> activations;
  SmallVector<double> prefixCost; // cost of ops[0 .. i)
};

Linear linearize(func::FuncOp fn, Value loss) {
  Linear l;
  l.prefixCost.push_back(0);
  for (Operation &op : fn.getBody().front().without_terminator()) {
    l.index[&op] = l.ops.size();
    l.ops.push_back(&op);
    l.prefixCost.push_back(l.prefixCost.back() + stageCost(&op));
  }
  l.cuts = aloneLive(fn, l.ops, loss, &l.activations);
  return l;
}

/// The cuts (positions) that minimize the costliest of `k` chunks; with
/// `memory`, among those whose every chunk's estimated memory is at most
/// `limit` bytes.
FailureOr<SmallVector<size_t>> balancedCuts(const Linear &l, int64_t k, func::FuncOp fn,
                                            const StageMemory *memory = nullptr,
                                            int64_t limit = 0) {
  SmallVector<size_t> cand = {0};
  for (auto &c : l.cuts)
    cand.push_back(c.first);
  cand.push_back(l.ops.size());
  size_t m = cand.size();
  if (static_cast<int64_t>(m) - 1 < k)
    return fn.emitError() << kPass << ": @forward has " << m - 2
                          << " places where one activation alone is live; " << k
                          << " stages need " << k - 1;
  const double inf = std::numeric_limits<double>::infinity();
  // best[j][c]: the costliest chunk of the first j chunks ending at cand[c].
  std::vector<std::vector<double>> best(k + 1, std::vector<double>(m, inf));
  std::vector<std::vector<size_t>> from(k + 1, std::vector<size_t>(m, 0));
  best[0][0] = 0;
  for (int64_t j = 1; j <= k; ++j)
    for (size_t c = 1; c < m; ++c)
      for (size_t p = 0; p < c; ++p) {
        if (best[j - 1][p] == inf)
          continue;
        if (memory && memory->estimate(cand[p], cand[c], j - 1) > static_cast<double>(limit))
          continue;
        double v = std::max(best[j - 1][p], l.prefixCost[cand[c]] - l.prefixCost[cand[p]]);
        if (v < best[j][c]) {
          best[j][c] = v;
          from[j][c] = p;
        }
      }
  if (best[k][m - 1] == inf) {
    // Say what the unconstrained balance would need, stage by stage.
    FailureOr<SmallVector<size_t>> free = balancedCuts(l, k, fn);
    auto diag = fn.emitError() << kPass << ": no cut into " << k
                               << " stages fits memory-limit = " << limit
                               << " bytes by the split's estimate (parameters, gradients and "
                                  "optimizer states, plus the activations of the micro-batches "
                                  "in flight); the cut balanced by cost would need";
    if (succeeded(free)) {
      SmallVector<size_t> edges = {0};
      edges.append(free->begin(), free->end());
      edges.push_back(l.ops.size());
      for (int64_t s = 0; s < k; ++s)
        diag << (s ? ", " : " ") << "stage " << s << " "
             << static_cast<int64_t>(memory->estimate(edges[s], edges[s + 1], s));
    }
    return diag;
  }
  SmallVector<size_t> cuts;
  for (size_t c = m - 1, j = k; j > 1; --j) {
    c = from[j][c];
    cuts.push_back(cand[c]);
  }
  std::reverse(cuts.begin(), cuts.end());
  return cuts;
}

/// Pins: before the first op that reads a parameter "NAME." of each pinned
/// layer, the closest cut point at or before it.
FailureOr<SmallVector<size_t>> pinnedCuts(const Linear &l, ArrayRef<std::string> pins,
                                          int64_t k, func::FuncOp fn) {
  if (static_cast<int64_t>(pins.size()) != k - 1)
    return fn.emitError() << kPass << ": stage_boundaries names " << pins.size()
                          << " layers; " << k << " stages need " << k - 1;
  SmallVector<size_t> cuts;
  for (const std::string &pin : pins) {
    std::optional<size_t> first;
    for (auto [i, op] : llvm::enumerate(l.ops)) {
      for (Value v : op->getOperands()) {
        auto arg = llvm::dyn_cast<BlockArgument>(v);
        auto name = arg ? fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                          PZDialect::kParamAttrName)
                        : StringAttr();
        if (name && name.getValue().starts_with(pin + "."))
          first = i;
      }
      if (first)
        break;
    }
    if (!first)
      return fn.emitError() << kPass << ": stage_boundaries: no parameter of layer '" << pin
                            << "' (none is named '" << pin << ".*')";
    auto it = l.cuts.upper_bound(*first);
    if (it == l.cuts.begin())
      return fn.emitError() << kPass << ": stage_boundaries: '" << pin
                            << "' leaves the first stage with no op";
    size_t cut = std::prev(it)->first;
    if (!cuts.empty() && cut <= cuts.back())
      return fn.emitError() << kPass << ": stage_boundaries: '" << pin
                            << "' leaves a stage with no op (the pins must name layers in "
                               "program order)";
    cuts.push_back(cut);
  }
  return cuts;
}

struct SplitStagesPass : public mlir::pz::impl::SplitStagesPassBase<SplitStagesPass> {
  using Base::Base;

  /// Builds module @stage_K with the ops the chunk [begin, end) needs.
  LogicalResult buildStage(ModuleOp top, func::FuncOp fn, const Linear &l, int64_t k,
                           size_t begin, size_t end, Value in, Value out, double cost) {
    bool last = k + 1 == stages;
    // The ops the stage's result needs, stopping at its activation input.
    llvm::SetVector<Operation *> needed;
    SmallVector<Value> work = {out};
    llvm::DenseSet<Value> seen;
    SmallVector<unsigned> args;
    while (!work.empty()) {
      Value v = work.pop_back_val();
      if (v == in || !seen.insert(v).second)
        continue;
      if (auto a = llvm::dyn_cast<BlockArgument>(v)) {
        args.push_back(a.getArgNumber());
        continue;
      }
      Operation *op = v.getDefiningOp();
      size_t i = l.index.lookup(op);
      if (l.activations.contains(v) && (i < begin || i >= end))
        return op->emitError() << kPass << ": stage " << k
                               << " reads an activation of another stage besides its input";
      if (needed.insert(op))
        work.append(op->operand_begin(), op->operand_end());
    }
    llvm::sort(args);
    SmallVector<Operation *> ops(needed.begin(), needed.end());
    llvm::sort(ops, [&](Operation *a, Operation *b) {
      return l.index.lookup(a) < l.index.lookup(b);
    });

    OpBuilder b(top.getContext());
    b.setInsertionPoint(fn);
    std::string name = "stage_" + std::to_string(k);
    auto mod = ModuleOp::create(b, fn.getLoc(), StringRef(name));
    for (NamedAttribute a : top->getAttrs())
      if (a.getName() != SymbolTable::getSymbolAttrName())
        mod->setAttr(a.getName(), a.getValue());
    mod->setAttr(PZDialect::kStageAttrName,
                 b.getDictionaryAttr({b.getNamedAttr("index", b.getI64IntegerAttr(k)),
                                      b.getNamedAttr("flops", b.getI64IntegerAttr(
                                                                  static_cast<int64_t>(cost)))}));
    SmallVector<Type> types;
    SmallVector<DictionaryAttr> attrs;
    if (in) {
      types.push_back(in.getType());
      attrs.push_back(b.getDictionaryAttr(
          b.getNamedAttr(PZDialect::kPipeAttrName, b.getStringAttr("activation"))));
    }
    for (unsigned a : args) {
      types.push_back(fn.getArgumentTypes()[a]);
      attrs.push_back(fn.getArgAttrDict(a) ? fn.getArgAttrDict(a) : b.getDictionaryAttr({}));
    }
    // The last stage returns the loss as @forward did; the others their
    // activation.
    DictionaryAttr resultAttrs = b.getDictionaryAttr(
        b.getNamedAttr(PZDialect::kPipeAttrName, b.getStringAttr("activation")));
    auto ret = llvm::cast<func::ReturnOp>(fn.getBody().front().getTerminator());
    for (auto [i, v] : llvm::enumerate(ret.getOperands()))
      if (last && v == out && fn.getResultAttrDict(i))
        resultAttrs = fn.getResultAttrDict(i);
    b.setInsertionPointToEnd(mod.getBody());
    auto stage = func::FuncOp::create(b, fn.getLoc(), "forward",
                                      b.getFunctionType(types, {out.getType()}));
    stage.setAllArgAttrs(attrs);
    stage.setAllResultAttrs(ArrayRef<DictionaryAttr>{resultAttrs});
    Block *entry = stage.addEntryBlock();
    IRMapping map;
    unsigned next = 0;
    if (in)
      map.map(in, entry->getArgument(next++));
    for (unsigned a : args)
      map.map(fn.getArgument(a), entry->getArgument(next++));
    b.setInsertionPointToStart(entry);
    for (Operation *op : ops)
      b.clone(*op, map);
    func::ReturnOp::create(b, ret.getLoc(), map.lookupOrDefault(out));
    return success();
  }

  /// A parameter several stages read (a tied embedding and LM head): each
  /// holds a copy, and pz.tied_stages on every stage's module names the
  /// stages that hold it (a bit mask), so that their gradients are summed.
  static void markTied(ModuleOp top) {
    llvm::MapVector<StringAttr, uint64_t> holders;
    SmallVector<ModuleOp> mods(top.getOps<ModuleOp>());
    for (auto [k, m] : llvm::enumerate(mods)) {
      auto f = m.lookupSymbol<func::FuncOp>("forward");
      for (unsigned i = 0; i < f.getNumArguments(); ++i)
        if (auto p = f.getArgAttrOfType<StringAttr>(i, PZDialect::kParamAttrName))
          holders[p] |= uint64_t(1) << k;
    }
    Builder b(top.getContext());
    SmallVector<NamedAttribute> tied;
    for (auto [name, mask] : holders)
      if (llvm::popcount(mask) > 1)
        tied.push_back(b.getNamedAttr(name, b.getI64IntegerAttr(static_cast<int64_t>(mask))));
    if (tied.empty())
      return;
    for (ModuleOp m : mods)
      m->setAttr(PZDialect::kTiedStagesAttrName, b.getDictionaryAttr(tied));
  }

  void runOnOperation() override {
    ModuleOp top = getOperation();
    if (stages < 2)
      return;
    auto fn = top.lookupSymbol<func::FuncOp>("forward");
    if (!fn || !fn.getBody().hasOneBlock()) {
      top.emitError() << kPass << ": no single-block @forward to split";
      return signalPassFailure();
    }
    auto ret = llvm::cast<func::ReturnOp>(fn.getBody().front().getTerminator());
    Value loss;
    for (unsigned i = 0; i < fn.getNumResults(); ++i)
      if (auto n = fn.getResultAttrOfType<StringAttr>(i, PZDialect::kOutputAttrName);
          n && n.getValue() == this->loss)
        loss = ret.getOperand(i);
    if (!loss) {
      fn.emitError() << kPass << ": no output is named '" << this->loss << "'";
      return signalPassFailure();
    }
    Linear l = linearize(fn, loss);
    // The memory limit shapes the balanced cut without virtual stages (a
    // rank's chunks would have to be summed); compile --memory-limit checks
    // the exact plan either way.
    std::optional<StageMemory> memory;
    auto planAttr = top->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName);
    if (memoryLimit > 0 && planAttr && planAttr.getPlan().virtualStages == 1 &&
        planAttr.getPlan().pp == stages)
      memory.emplace(fn, l.ops, l.index, l.activations, planAttr.getPlan(), optimizerStates);
    FailureOr<SmallVector<size_t>> cuts =
        boundaries.empty() ? balancedCuts(l, stages, fn, memory ? &*memory : nullptr, memoryLimit)
                           : pinnedCuts(l, SmallVector<std::string>(boundaries.begin(),
                                                                    boundaries.end()),
                                        stages, fn);
    if (failed(cuts))
      return signalPassFailure();
    SmallVector<size_t> edges = {0};
    edges.append(cuts->begin(), cuts->end());
    edges.push_back(l.ops.size());
    for (size_t k = 1; k + 1 < edges.size(); ++k) {
      Value a = l.cuts.at(edges[k]);
      if (!llvm::cast<RankedTensorType>(a.getType()).hasStaticShape()) {
        a.getDefiningOp()->emitError()
            << kPass << ": the activation between stages " << k - 1 << " and " << k
            << " has type " << a.getType()
            << "; stages exchange static shapes: fix the data inputs' dims with --input-shape";
        return signalPassFailure();
      }
    }
    for (int64_t k = 0; k < stages; ++k) {
      Value in = k ? l.cuts.at(edges[k]) : Value();
      Value out = k + 1 < stages ? l.cuts.at(edges[k + 1]) : loss;
      double cost = l.prefixCost[edges[k + 1]] - l.prefixCost[edges[k]];
      if (failed(buildStage(top, fn, l, k, edges[k], edges[k + 1], in, out, cost)))
        return signalPassFailure();
    }
    fn.erase();
    markTied(top);
  }
};

} // namespace
