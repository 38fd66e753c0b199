//===- TensorParallel.cpp - tp: split values, then shard-partition --------===//
//
// Megatron tensor parallelism as annotation plus upstream partition. The
// pass gives every value of a training-step function a split over the
// grid's tp axis (the rules of SplitRules.h, applied in program order, with
// parameters deciding their split at their first use), writes the splits
// as `shard.shard` annotations (each argument and result annotated once,
// each use annotated for its user) and runs the upstream `shard-partition`
// pass on the function. The pz ops' sharding models then emit each rank's
// ops and the collectives (partial sums all-reduced over tp with their
// reasons; an operand its user cannot take split all-gathered whole).
// docs/design/0014-tensor-parallel.md.
//
//===----------------------------------------------------------------------===//

#include "ContextParallel.h"
#include "DataParallelUtils.h"
#include "InterleaveQkv.h"
#include "PartitionCleanup.h"
#include "VocabPadding.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Sharding/SplitRules.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Shard/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/PassManager.h"

#include "llvm/ADT/StringSet.h"

#include <functional>
#include <map>

namespace mlir::pz {
#define GEN_PASS_DEF_TENSORPARALLELPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-tensor-parallel"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::sharding;

namespace {

constexpr StringLiteral kPass = "pz-tensor-parallel";
constexpr int16_t kCpAxis = 3, kTpAxis = 4; // pp x dp_replicate x dp_shard x cp x tp

using dp::paramOf;

bool isSplatConstant(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  auto d = c ? llvm::dyn_cast<DenseElementsAttr>(c.getValue()) : DenseElementsAttr();
  return t && t.getRank() > 0 && d && d.isSplat();
}

bool isRanked(Value v) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  return t && t.getRank() > 0;
}

/// Splits one function and partitions it.
class FunctionSplitter {
public:
  FunctionSplitter(func::FuncOp fn, shard::GridOp grid, const SplitContext &ctx)
      : fn(fn), grid(grid), ctx(ctx) {}

  /// Gives every value its split and every use the split it needs.
  /// `seed(i)`: argument i's split, or none while undecided (a parameter
  /// whose first use decides); `walked()` runs once every op has its split;
  /// `want(i)`: the split result i must have. A returned value that lacks
  /// its wanted split is an error, or, with `unmet`, listed there.
  LogicalResult analyze(llvm::function_ref<OperandAxes(unsigned)> seed,
                        llvm::function_ref<DimAxes(unsigned, Value)> want,
                        llvm::function_ref<void()> walked, SmallVectorImpl<unsigned> *unmet) {
    split.clear();
    wants.clear();
    produced.clear();
    Block &body = fn.getBody().front();
    cloneSharedSplats(body);
    llvm::SmallDenseSet<Value> undecided;
    for (BlockArgument a : body.getArguments()) {
      OperandAxes s = seed(a.getArgNumber());
      if (s)
        split[a] = *s;
      else
        undecided.insert(a);
    }
    // Mixed precision: a parameter's cast to the compute type stays
    // undecided with it, and the cast's first use decides both.
    llvm::SmallDenseMap<Value, CastOp> deferredCasts;
    // Gives an undecided value `axes`, and through a deferred cast its source.
    std::function<LogicalResult(Value, ArrayRef<int16_t>)> decide =
        [&](Value v, ArrayRef<int16_t> axes) -> LogicalResult {
      split[v] = DimAxes(axes.begin(), axes.end());
      undecided.erase(v);
      // A parameter is never split along the sequence over cp (its
      // blocks would not follow the zigzag layout): whole, each rank
      // slices it (mayTake).
      if (llvm::isa<BlockArgument>(v))
        for (int16_t &a : split[v])
          if (ctx.contextAxis != kWhole && ctx.overlap(a, ctx.contextAxis))
            a = kWhole;
      auto cast = deferredCasts.find(v);
      if (cast == deferredCasts.end())
        return success();
      CastOp c = cast->second;
      deferredCasts.erase(cast);
      DimAxes mine = split[v];
      if (failed(decide(c.getInput(), mine)))
        return failure();
      // cp may have left the source whole where the cast was split.
      split[v] = split[c.getInput()];
      wants[&c->getOpOperand(0)] = split[v];
      return checkUse(c->getOpOperand(0), split[v]);
    };
    for (Operation &op : body.without_terminator()) {
      if (auto c = llvm::dyn_cast<CastOp>(op); c && undecided.contains(c.getInput()) &&
                                                 c.getInput().getType().getShape() ==
                                                     c.getType().getShape()) {
        undecided.insert(c.getResult());
        deferredCasts[c.getResult()] = c;
        continue;
      }
      SmallVector<OperandAxes> in;
      for (Value v : op.getOperands())
        in.push_back(undecided.contains(v) || isSplatConstant(v) ? OperandAxes()
                                                                 : OperandAxes(axesOf(v)));
      OpSplits s = forwardSplits(&op, in, ctx);
      for (auto [i, v] : llvm::enumerate(op.getOperands())) {
        if (!in[i] && failed(decide(v, s.operands[i])))
          return failure();
        if (failed(checkUse(op.getOpOperand(i), s.operands[i])))
          return failure();
        wants[&op.getOpOperand(i)] = s.operands[i];
      }
      for (auto [r, a] : llvm::zip(op.getResults(), s.results))
        split[r] = a;
      scatterAlongSequence(op, s);
    }
    // A cast no op reads before the return: whole, with its source.
    while (!deferredCasts.empty())
      if (failed(decide(deferredCasts.begin()->first,
                        wholeAxes(deferredCasts.begin()->first))))
        return failure();
    walked();
    Operation *ret = body.getTerminator();
    for (OpOperand &use : ret->getOpOperands()) {
      DimAxes w = want(use.getOperandNumber(), use.get());
      if (unmet && !meets(use.get(), w)) {
        unmet->push_back(use.getOperandNumber());
        continue;
      }
      if (failed(checkUse(use, w)))
        return failure();
      wants[&use] = w;
    }
    return success();
  }

  /// Whether an op's partition needs the rank's coordinate: a split
  /// embedding table (or its gradient), split logits, attention whose
  /// query heads split over replicated kv heads.
  bool needsCoordinate() {
    bool need = false;
    fn.walk([&](Operation *op) {
      if (llvm::isa<EmbeddingOp, CrossEntropyOp, CrossEntropyGradOp>(op))
        for (Value v : op->getOperands())
          need |= !isWhole(axesOf(v)) && llvm::isa<FloatType>(getElementTypeOrSelf(v));
      if (llvm::isa<EmbeddingGradOp>(op))
        need |= !isWhole(axesOf(op->getResult(0)));
      // Replicated kv heads: each rank picks the one its query heads share.
      if (auto a = llvm::dyn_cast<AttentionOp>(op))
        need |= replicatesKv(a);
      if (auto a = llvm::dyn_cast<AttentionGradOp>(op))
        need |= replicatesKv(a);
    });
    return need;
  }

  template <typename Attention>
  bool replicatesKv(Attention a) const {
    return !isWhole(axesOf(a.getQuery())) && isWhole(axesOf(a.getKey()));
  }

  /// Writes the analyzed splits as annotations and partitions.
  LogicalResult finish() {
    if (failed(verifySplits()))
      return failure();
    annotate(fn.getBody().front());
    return partition();
  }

  /// Before partitioning: every split (of a value, or wanted by a use) is
  /// one grid axis per dim, in equal blocks of a static dim (shard-partition
  /// miscompiles a dim the axis does not divide, shard-dialect.md).
  LogicalResult verifySplits() {
    auto check = [&](Value v, ArrayRef<int16_t> axes, Operation *at) -> LogicalResult {
      auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
      for (auto [d, a] : llvm::enumerate(axes)) {
        if (a == kWhole)
          continue;
        if (!t || static_cast<int64_t>(d) >= t.getRank() || t.isDynamicDim(d) ||
            t.getDimSize(d) % ctx.ranks(a))
          return at->emitError() << kPass << ": a value of type " << v.getType()
                                 << " would be split on dim " << d << " over "
                                 << ctx.ranks(a)
                                 << " ranks, which do not divide it (a rule's error)";
      }
      return success();
    };
    for (auto &[v, axes] : split) {
      Operation *at = v.getDefiningOp() ? v.getDefiningOp() : fn.getOperation();
      if (failed(check(v, axes, at)))
        return failure();
    }
    for (auto &[use, axes] : wants)
      if (failed(check(use->get(), axes, use->getOwner())))
        return failure();
    return success();
  }

  DimAxes axesOf(Value v) const {
    auto it = split.find(v);
    return it != split.end() ? it->second : wholeAxes(v);
  }

private:
  /// Sequence parallelism: a partial sum over the sequence axis (a
  /// row-parallel linear's output, the input gradient of a column-parallel
  /// one, a vocab-parallel embedding's rows) whose value holds a sequence
  /// is split along it. The op still yields the whole sum (`produced`);
  /// its users read their blocks of it, which shard-partition writes as an
  /// all-reduce and an all_slice, and partition() turns into one
  /// reduce-scatter (Megatron's sequence parallelism).
  ///
  /// Under cp the sum comes split over cp along the sequence, and its users
  /// read their tp blocks of the rank's tokens.
  void scatterAlongSequence(Operation &op, const OpSplits &s) {
    if (ctx.sequenceAxis == kWhole || !llvm::isa<MatmulOp, EmbeddingOp>(op))
      return;
    Value r = op.getResult(0);
    auto t = llvm::cast<RankedTensorType>(r.getType());
    int16_t inner = ctx.gridAxes(ctx.sequenceAxis).back(); // tp
    bool partial = llvm::any_of(s.operands, [&](const DimAxes &a) {
      return llvm::is_contained(a, inner);
    });
    DimAxes others = s.results[0];
    if (others.size() > 1 && others[1] == ctx.contextAxis)
      others[1] = kWhole;
    if (!partial || !isWhole(others) || sequenceDim(r, ctx) != 1 ||
        t.getDimSize(0) != ctx.batch)
      return;
    produced[r] = s.results[0];
    split[r][1] = ctx.sequenceAxis;
  }

  /// Under sequence parallelism a use may also slice a whole value along a
  /// dim of the sequence's length over the sequence axis: each rank takes
  /// its block locally (a position embedding added to the split hidden
  /// states; the partial sums above).
  bool mayTake(Value v, int64_t d, int16_t a) const {
    auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
    return (a == ctx.sequenceAxis || a == ctx.contextAxis) && a != kWhole && t &&
           d < t.getRank() && t.getDimSize(d) == ctx.seq;
  }

  /// A splat constant used more than once gets a copy per use, so that each
  /// use can take its own split.
  void cloneSharedSplats(Block &body) {
    for (auto c : llvm::make_early_inc_range(body.getOps<ConstantOp>())) {
      if (!isSplatConstant(c.getResult()))
        continue;
      SmallVector<OpOperand *> uses;
      for (OpOperand &u : c.getResult().getUses())
        uses.push_back(&u);
      for (OpOperand *u : llvm::drop_begin(uses)) {
        OpBuilder b(u->getOwner());
        u->set(b.clone(*c)->getResult(0));
      }
    }
  }

  /// A use may all-gather its value along a split dim (whole, or over tp
  /// only), never slice a whole dim of a computed value, but for the
  /// sequence splits of mayTake (of a whole dim, or over tp of a cp split)
  /// and any dim of a constant (an attention bias split by heads): each
  /// rank takes its block (an all_slice, a pz.shard_chunk after
  /// lowerAllSlices).
  bool meets(Value v, ArrayRef<int16_t> w) const {
    DimAxes have = axesOf(v);
    for (auto [d, a] : llvm::enumerate(w)) {
      // Whole, as it is, or gathered over the inner axis of a sequence
      // split over cp and tp.
      if (a == kWhole || (d < have.size() && (have[d] == a || (have[d] == kContextTensor &&
                                                                a == ctx.contextAxis))))
        continue;
      bool sliceable = d < have.size() && (have[d] == kWhole || (a == kContextTensor &&
                                                                 have[d] == ctx.contextAxis));
      if (!sliceable || !(mayTake(v, d, a) || v.getDefiningOp<ConstantOp>()))
        return false;
    }
    return true;
  }

  LogicalResult checkUse(OpOperand &use, ArrayRef<int16_t> w) {
    if (meets(use.get(), w))
      return success();
    DimAxes have = axesOf(use.get());
    for (auto [d, a] : llvm::enumerate(w))
      if (a != kWhole && (d >= have.size() || have[d] != a)) {
        Operation *user = use.getOwner();
        auto diag = user->emitError() << kPass << ": operand " << use.getOperandNumber()
                                      << " must be split over tp on dim " << d
                                      << ", but it is not (slicing a whole value by the "
                                         "rank's coordinate is not built)";
        if (llvm::isa<func::ReturnOp>(user))
          if (StringRef p = paramOf(fn.getResultAttrDict(use.getOperandNumber())); !p.empty())
            diag << "; it is the gradient of '" << p << "', whose parameter is split";
        return diag;
      }
    return success();
  }

  Value shardingFor(OpBuilder &b, ArrayRef<int16_t> axes) {
    SmallVector<int16_t> key(axes);
    auto it = shardings.find(key);
    if (it != shardings.end())
      return it->second;
    SmallVector<shard::GridAxesAttr> split;
    for (int16_t a : axes)
      split.push_back(shard::GridAxesAttr::get(fn.getContext(), ctx.gridAxes(a)));
    while (split.size() > 1 && split.back().empty())
      split.pop_back();
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&fn.getBody().front());
    Value s = shard::ShardingOp::create(b, fn.getLoc(), FlatSymbolRefAttr::get(grid), split)
                  .getResult();
    shardings[key] = s;
    return s;
  }

  /// Each argument and result once, each use for its user.
  void annotate(Block &body) {
    OpBuilder b(fn.getContext());
    SmallVector<Operation *> ops;
    for (Operation &op : body)
      ops.push_back(&op);
    auto annotateValue = [&](Value v) {
      if (!isRanked(v))
        return;
      auto it = produced.find(v);
      DimAxes axes = it != produced.end() ? it->second : axesOf(v);
      auto s = shard::ShardOp::create(b, v.getLoc(), v, shardingFor(b, axes));
      v.replaceAllUsesExcept(s.getResult(), s);
    };
    b.setInsertionPointToStart(&body);
    for (BlockArgument a : body.getArguments())
      annotateValue(a);
    for (Operation *op : ops) {
      b.setInsertionPointAfter(op);
      for (Value r : op->getResults())
        annotateValue(r);
    }
    for (Operation *op : ops) {
      b.setInsertionPoint(op);
      for (OpOperand &use : op->getOpOperands()) {
        if (!isRanked(use.get()))
          continue;
        auto it = wants.find(&use);
        DimAxes w = it != wants.end() ? it->second : wholeAxes(use.get());
        Value v = use.get(), annotated = v;
        auto p = produced.find(unannotated(v));
        DimAxes have = p != produced.end() ? p->second : axesOf(unannotated(v));
        SmallVector<DimAxes> steps = reshardSteps(have, w);
        for (auto [i, step] : llvm::enumerate(steps))
          annotated = shard::ShardOp::create(b, v.getLoc(), annotated, shardingFor(b, step),
                                             /*annotate_for_users=*/i + 1 == steps.size())
                          .getResult();
        use.set(annotated);
      }
    }
  }

  static Value unannotated(Value v) {
    if (auto s = v.getDefiningOp<shard::ShardOp>())
      return s.getSrc();
    return v;
  }

  /// The splits a reshard from `have` to `want` passes through, ending
  /// with `want`: one grid axis gathered or sliced at a time, the axes
  /// `want` drops first (innermost first), then those it adds (outermost
  /// first). LLVM 22's shard-partition does one such step per reshard and
  /// silently miscompiles more (shard-dialect.md).
  SmallVector<DimAxes> reshardSteps(ArrayRef<int16_t> have, ArrayRef<int16_t> want) const {
    SmallVector<DimAxes> steps;
    DimAxes at(have.begin(), have.end());
    at.resize(want.size(), kWhole);
    auto common = [&](size_t d) {
      SmallVector<int16_t, 2> h = ctx.gridAxes(at[d]), w = ctx.gridAxes(want[d]);
      size_t p = 0;
      while (p < h.size() && p < w.size() && h[p] == w[p])
        ++p;
      return std::make_pair(h, p);
    };
    for (size_t d = 0; d < want.size(); ++d)
      for (auto [h, p] = common(d); h.size() > p; h.pop_back()) {
        at[d] = ctx.splitOf(ArrayRef(h).drop_back());
        steps.push_back(at);
      }
    for (size_t d = 0; d < want.size(); ++d) {
      SmallVector<int16_t, 2> w = ctx.gridAxes(want[d]);
      for (size_t k = ctx.gridAxes(at[d]).size(); k < w.size(); ++k) {
        at[d] = ctx.splitOf(ArrayRef(w).take_front(k + 1));
        steps.push_back(at);
      }
    }
    if (steps.empty() || steps.back() != DimAxes(want.begin(), want.end()))
      steps.push_back(DimAxes(want.begin(), want.end()));
    return steps;
  }

  /// Upstream shard-partition on the annotated function, then the
  /// rewrites of PartitionCleanup.h.
  LogicalResult partition() {
    if (failed(runPartition(fn)))
      return failure();
    removeIdentityCasts(fn);
    if (failed(verifyPartitioned(fn, kPass)))
      return failure();
    scatterPartialSums(fn);
    sinkAllReduces(fn);
    combinePartialSums(fn);
    mergeIdenticalCollectives(fn);
    if (ctx.sequenceAxis != kWhole)
      regatherAfter(fn, dp::lossOp(fn));
    nameReshards();
    if (ctx.contextAxis != kWhole &&
        failed(zigzagSequence(fn, ctx.contextAxis, ctx.gridShape[ctx.contextAxis], ctx.seq,
                              kPass)))
      return failure();
    lowerAllSlices(fn);
    collectivesAlongDimZero(fn);
    return success();
  }

  /// The collectives shard-partition's reshards insert (a value all-gathered
  /// whole for an op that takes it whole) get their reason: the op that
  /// needed it; "sp.all_gather" when it gathers a sequence (Megatron's
  /// all-gather before a column-parallel linear), else "tp.reshard".
  void nameReshards() {
    fn.walk([&](Operation *op) {
      if (op->getDialect() != grid->getDialect() || op->hasAttr("pz.comm") ||
          llvm::isa<shard::GridOp, shard::ShardingOp, shard::ShardOp, shard::AllSliceOp>(op))
        return;
      std::string source = op->getName().getStringRef().str();
      // The op that needs the value whole, or, for the return, the value's
      // producer (past a chain of reshards).
      auto isShard = [&](Operation *o) { return o && o->getDialect() == grid->getDialect(); };
      Operation *named = op;
      while (isShard(named) && !named->use_empty())
        named = *named->user_begin();
      if (named == op)
        named = nullptr;
      if (named && llvm::isa<func::ReturnOp>(named)) {
        named = op->getOperand(0).getDefiningOp();
        while (isShard(named) && named->getNumOperands())
          named = named->getOperand(0).getDefiningOp();
      }
      if (named) {
        Location loc = named->getLoc();
        if (auto f = llvm::dyn_cast<FusedLoc>(loc); f && !f.getLocations().empty())
          loc = f.getLocations().front();
        if (auto n = llvm::dyn_cast<NameLoc>(loc))
          source = n.getName().str();
      }
      StringRef kind = "tp.reshard";
      auto axes = llvm::dyn_cast_or_null<DenseI16ArrayAttr>(op->getAttr("grid_axes"));
      if (axes && ctx.contextAxis != kWhole &&
          axes.asArrayRef() == ArrayRef<int16_t>(ctx.contextAxis))
        kind = llvm::isa<shard::AllGatherOp>(op) ? "cp.all_gather" : "cp.reshard";
      else if (auto g = llvm::dyn_cast<shard::AllGatherOp>(op))
        if (ctx.sequenceAxis != kWhole &&
            g.getGridAxes() == ArrayRef<int16_t>(ctx.gridAxes(ctx.sequenceAxis).back()) &&
            llvm::cast<RankedTensorType>(g.getType()).getDimSize(
                g.getGatherAxis().getSExtValue()) ==
                ctx.seq / ctx.ranks(ctx.sequenceAxis) * ctx.gridShape[kTpAxis])
          kind = "sp.all_gather";
      op->setAttr("pz.comm", pzrt::ReasonAttr::get(fn.getContext(), kind, source));
    });
  }

public:
  std::function<LogicalResult(func::FuncOp)> runPartition;

private:

  func::FuncOp fn;
  shard::GridOp grid;
  const SplitContext &ctx;
  llvm::DenseMap<Value, DimAxes> split;
  llvm::DenseMap<OpOperand *, DimAxes> wants;
  /// The split an op yields where its users read another (scatterAlongSequence).
  llvm::DenseMap<Value, DimAxes> produced;
  std::map<SmallVector<int16_t>, Value> shardings;
};

struct TensorParallelPass : public mlir::pz::impl::TensorParallelPassBase<TensorParallelPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    paramSplits.clear();
    storedShapes.clear();
    auto planAttr = module->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName);
    if (!planAttr || (planAttr.getPlan().tp == 1 && planAttr.getPlan().cp == 1))
      return;
    // pp is not built yet: the module is left as it is and the driver
    // refuses to generate code for it (naming the key), as for the other
    // unbuilt combinations. With dp_shard, pz-zero then shards each rank's
    // blocks.
    Plan plan = planAttr.getPlan();
    if (plan.pp != 1 && !module->hasAttr(PZDialect::kStageAttrName))
      return;
    FailureOr<shard::GridOp> grid = dp::getOrCreateWorldGrid(module, plan, kPass);
    if (failed(grid))
      return signalPassFailure();
    FailureOr<llvm::StringMap<SmallVector<int64_t>>> padded =
        padVocabulary(module, plan.tp, kPass);
    if (failed(padded))
      return signalPassFailure();
    storedShapes = std::move(*padded);
    wholeSequence.clear();
    SplitContext ctx{grid->getShape(), plan.tp > 1 ? kTpAxis : kWhole};
    ctx.wholeSequence = &wholeSequence;
    auto fb = module.lookupSymbol<func::FuncOp>("forward_backward");
    if (!fb || fb.isExternal()) {
      module.emitError() << kPass << ": tp = " << plan.tp
                         << " splits the training step, but the module has no "
                            "@forward_backward (a forward-only graph?)";
      return signalPassFailure();
    }
    if (plan.sp && failed(setSequence(fb, ctx)))
      return signalPassFailure();
    if (plan.cp > 1 && failed(setContext(fb, plan, ctx)))
      return signalPassFailure();
    if (failed(splitStep(fb, *grid, ctx)))
      return signalPassFailure();
    for (StringRef name : {"accumulate_grads", "finalize_grads", "optimizer_step"})
      if (auto fn = module.lookupSymbol<func::FuncOp>(name); fn && !fn.isExternal())
        if (failed(splitByParameter(fn, *grid, ctx)))
          return signalPassFailure();
    deferContextSums(module, plan);
  }

  /// With grad_accum K > 1, a gradient that is a partial sum over the cp
  /// ranks' tokens (`cp.partial_sum`, and under sp `cp+tp.partial_sum`)
  /// accumulates as it is and is summed once per step, at the start of
  /// @finalize_grads, instead of once per micro-batch (Megatron reduces
  /// over its dp-cp group after accumulation too). Under ZeRO, whose
  /// dp_shard reduce-scatter chunks the gradients inside the micro-batch,
  /// the sum stays per micro-batch.
  static void deferContextSums(ModuleOp module, const Plan &plan) {
    auto fb = module.lookupSymbol<func::FuncOp>("forward_backward");
    auto fin = module.lookupSymbol<func::FuncOp>("finalize_grads");
    if (plan.gradAccum <= 1 || plan.dpShard > 1 || plan.cp <= 1 || !fb || !fin ||
        fb.isExternal() || fin.isExternal())
      return;
    llvm::StringSet<> accumulated;
    for (unsigned i = 0; i < fin.getNumArguments(); ++i)
      if (auto name = fin.getArgAttrOfType<StringAttr>(i, PZDialect::kAccumAttrName))
        accumulated.insert(name.getValue());
    llvm::StringMap<shard::AllReduceOp> deferred;
    Operation *ret = fb.getBody().front().getTerminator();
    for (OpOperand &use : ret->getOpOperands()) {
      auto name = fb.getResultAttrOfType<StringAttr>(use.getOperandNumber(),
                                                     PZDialect::kGradAttrName);
      auto r = use.get().getDefiningOp<shard::AllReduceOp>();
      auto reason = r ? r->getAttrOfType<pzrt::ReasonAttr>("pz.comm") : pzrt::ReasonAttr();
      if (!name || !accumulated.contains(name.getValue()) || !reason || !r->hasOneUse() ||
          r.getReduction() != shard::ReductionKind::Sum ||
          !llvm::is_contained({"cp.partial_sum", "cp+tp.partial_sum"}, reason.getKind()))
        continue;
      use.set(r.getInput());
      r->remove();
      deferred[name.getValue()] = r;
    }
    Block &body = fin.getBody().front();
    OpBuilder b = OpBuilder::atBlockBegin(&body);
    for (BlockArgument a : body.getArguments()) {
      auto name = fin.getArgAttrOfType<StringAttr>(a.getArgNumber(), PZDialect::kAccumAttrName);
      auto it = name ? deferred.find(name.getValue()) : deferred.end();
      if (it == deferred.end())
        continue;
      shard::AllReduceOp r = it->second;
      b.insert(r);
      r.getInputMutable().assign(a);
      auto reason = r->getAttrOfType<pzrt::ReasonAttr>("pz.comm");
      r->setAttr("pz.comm", pzrt::ReasonAttr::get(module.getContext(), reason.getKind(),
                                                  (name.getValue() + " (once per step)").str()));
      a.replaceAllUsesExcept(r.getResult(), r);
    }
  }

  /// Sequence parallelism splits the hidden states along the sequence of
  /// the token input (`input_ids`, else the first integer data input of
  /// rank 2: [batch, seq]; a middle pipeline stage: its activation input's
  /// first two dims), which tp must divide.
  static RankedTensorType tokenType(func::FuncOp fn) {
    RankedTensorType tokens;
    for (BlockArgument a : fn.getArguments()) {
      auto name = fn.getArgAttrOfType<StringAttr>(a.getArgNumber(), PZDialect::kInputAttrName);
      auto t = llvm::dyn_cast<RankedTensorType>(a.getType());
      if (!name || !t || t.getRank() != 2 || !t.hasStaticShape() ||
          !llvm::isa<IntegerType>(t.getElementType()))
        continue;
      if (!tokens || name.getValue() == "input_ids")
        tokens = t;
      if (name.getValue() == "input_ids")
        break;
    }
    // A middle pipeline stage reads no tokens: its activation input
    // [batch, seq, ...] has their shape.
    for (BlockArgument a : fn.getArguments()) {
      auto t = llvm::dyn_cast<RankedTensorType>(a.getType());
      if (!tokens && t && t.getRank() >= 3 && t.hasStaticShape() &&
          fn.getArgAttr(a.getArgNumber(), PZDialect::kPipeAttrName))
        tokens = RankedTensorType::get(t.getShape().take_front(2),
                                       IntegerType::get(fn.getContext(), 64));
    }
    return tokens;
  }

  static LogicalResult setSequence(func::FuncOp fn, SplitContext &ctx) {
    int64_t n = ctx.gridShape[kTpAxis];
    RankedTensorType tokens = tokenType(fn);
    if (!tokens)
      return fn.emitError() << kPass << ": sp (plan key 'sp') splits the hidden states along "
                               "the sequence, but the step has no token input [batch, seq] "
                               "(an integer data input of rank 2); drop --sp";
    if (tokens.getDimSize(1) % n)
      return fn.emitError() << kPass << ": sp (plan key 'sp') splits the sequence of "
                            << tokens.getDimSize(1) << " tokens over tp = " << n
                            << " ranks, which does not divide it; use a sequence length "
                               "that tp divides";
    ctx.sequenceAxis = kTpAxis;
    ctx.batch = tokens.getDimSize(0);
    ctx.seq = tokens.getDimSize(1);
    return success();
  }

  /// Context parallelism splits every value derived from the token input's
  /// sequence over cp (zigzag: 2 cp chunks), which 2 cp must divide. The
  /// attentions that run as a ring are marked, the other causal ones get
  /// explicit masks, and the loss's flattening goes first.
  static LogicalResult setContext(func::FuncOp fn, const Plan &plan, SplitContext &ctx) {
    int64_t n = plan.cp;
    RankedTensorType tokens = tokenType(fn);
    if (!tokens)
      return fn.emitError() << kPass << ": cp (plan key 'cp') splits the sequence, but the step "
                               "has no token input [batch, seq] (an integer data input of "
                               "rank 2); drop --cp";
    if (tokens.getDimSize(1) % (2 * n))
      return fn.emitError() << kPass << ": cp (plan key 'cp') cuts the sequence of "
                            << tokens.getDimSize(1) << " tokens into 2 cp = " << 2 * n
                            << " chunks (two per rank, zigzag), which do not divide it; use "
                               "a sequence length that 2 cp divides";
    // A bias (ALiBi) would have to travel the ring with its key block, or
    // be split along the query sequence in the zigzag layout: not built.
    WalkResult biased = fn.walk([&](AttentionOp a) {
      if (!a.getBias())
        return WalkResult::advance();
      a.emitError() << kPass << ": cp (plan key 'cp') with an attention bias (ALiBi, "
                    << a.getBias().getType()
                    << ") is not built: the ring does not carry the bias; drop --cp";
      return WalkResult::interrupt();
    });
    if (biased.wasInterrupted())
      return failure();
    ctx.contextAxis = kCpAxis;
    // sp with cp: each cp rank's tokens split over tp.
    if (ctx.sequenceAxis != kWhole) {
      if ((tokens.getDimSize(1) / n) % plan.tp)
        return fn.emitError() << kPass << ": sp with cp (plan keys 'sp' and 'cp') splits each "
                                 "cp rank's "
                              << tokens.getDimSize(1) / n << " tokens over tp = " << plan.tp
                              << " ranks, which do not divide them; use a sequence length "
                                 "that 2 cp x tp divides";
      ctx.sequenceAxis = kContextTensor;
    }
    markRingAttention(fn, plan.tp);
    if (failed(makeCausalMasksExplicit(fn, kPass)))
      return failure();
    foldLossReshapes(fn);
    ctx.batch = tokens.getDimSize(0);
    ctx.seq = tokens.getDimSize(1);
    return success();
  }

  /// The attentions context parallelism runs as a ring (pz.ring): self
  /// attention over the token sequence whose mask, if any, masks keys only
  /// (a padding mask), and whose kv heads tp does not replicate. The others
  /// read their keys and values all-gathered.
  static void markRingAttention(func::FuncOp fn, int64_t tp) {
    int64_t seq = tokenType(fn).getDimSize(1);
    auto mark = [&](Operation *op, Value q, Value k, Value mask) {
      auto qt = llvm::cast<RankedTensorType>(q.getType());
      auto kt = llvm::cast<RankedTensorType>(k.getType());
      int64_t kv = kt.getDimSize(1);
      bool replicated = tp > 1 && kv % tp != 0;
      auto mt = mask ? llvm::cast<RankedTensorType>(mask.getType()) : RankedTensorType();
      bool keyMask = !mt || mt.getRank() < 2 || mt.getDimSize(mt.getRank() - 2) == 1;
      if (qt.getDimSize(2) == seq && kt.getDimSize(2) == seq && keyMask && !replicated)
        op->setAttr(sharding::kRingAttrName, UnitAttr::get(fn.getContext()));
    };
    fn.walk([&](AttentionOp a) { mark(a, a.getQuery(), a.getKey(), a.getMask()); });
    fn.walk([&](AttentionGradOp a) { mark(a, a.getQuery(), a.getKey(), a.getMask()); });
  }

  /// @forward_backward: parameters decide at their first use; gradients
  /// must come out split as their parameters. A parameter whose gradient
  /// comes out whole (its split value feeds an op that takes it whole, as a
  /// fused QKV weight's output feeds slices of the columns) is kept whole,
  /// and the walk starts again, until every gradient meets its parameter.
  LogicalResult splitStep(func::FuncOp fn, shard::GridOp grid, const SplitContext &ctx) {
    SmallVector<RankedTensorType> global = argTypes(fn);
    llvm::StringMap<BlockArgument> params;
    for (BlockArgument a : fn.getArguments())
      if (auto n = fn.getArgAttrOfType<StringAttr>(a.getArgNumber(), PZDialect::kParamAttrName))
        params[n.getValue()] = a;
    FunctionSplitter s(fn, grid, ctx);
    s.runPartition = partitioner();
    llvm::StringSet<> kept;
    auto seed = [&](unsigned i) -> OperandAxes {
      auto p = fn.getArgAttrOfType<StringAttr>(i, PZDialect::kParamAttrName);
      if (p && !kept.contains(p.getValue()))
        return std::nullopt;
      DimAxes axes = wholeAxes(fn.getArgument(i));
      if (splitsOverContext(
              fn, i, llvm::dyn_cast<RankedTensorType>(fn.getArgument(i).getType()), ctx))
        axes[1] = ctx.contextAxis;
      if (fn.getArgAttr(i, PZDialect::kPipeAttrName))
        return pipeAxes(fn.getArgument(i), ctx);
      return axes;
    };
    auto gradOf = [&](unsigned i) {
      auto g = fn.getResultAttrOfType<StringAttr>(i, PZDialect::kGradAttrName);
      return g && params.count(g.getValue()) ? g.getValue() : StringRef();
    };
    // Called for the return, after the walk has decided every parameter.
    auto want = [&](unsigned i, Value v) {
      if (fn.getResultAttr(i, PZDialect::kPipeAttrName))
        return pipeAxes(v, ctx);
      StringRef g = gradOf(i);
      return g.empty() ? wholeAxes(v) : s.axesOf(params[g]);
    };
    auto record = [&] {
      for (auto &[name, arg] : params)
        paramSplits[name] = s.axesOf(arg);
    };
    for (;;) {
      SmallVector<unsigned> unmet;
      if (failed(s.analyze(seed, want, record, &unmet)))
        return failure();
      bool progress = false;
      for (unsigned i : unmet)
        if (StringRef g = gradOf(i); !g.empty())
          progress |= kept.insert(g).second;
      // Under sp, the projections of replicated kv heads read their input
      // gathered (the attention needs their outputs whole).
      bool marked = ctx.sequenceAxis != kWhole && markWholeSequence(fn, s);
      if (unmet.empty() && !marked)
        break;
      if (!progress && !marked) // the error, naming the value
        return s.analyze(seed, want, record, nullptr);
    }
    // Heads that tp does not divide: the plan cannot apply (Megatron refuses
    // it too).
    WalkResult heads = fn.walk([&](AttentionOp a) {
      if (ctx.columnAxis == kWhole)
        return WalkResult::advance();
      int64_t h = llvm::cast<RankedTensorType>(a.getQuery().getType()).getDimSize(1);
      int64_t n = ctx.gridShape[kTpAxis];
      if (h % n == 0)
        return WalkResult::advance();
      a.emitError() << kPass << ": tp = " << n << " does not divide the " << h
                    << " attention heads (plan key 'tp'); use a tp that divides them";
      return WalkResult::interrupt();
    });
    if (heads.wasInterrupted())
      return failure();
    // A padded parameter must be split: whole, its padded rows would reach
    // the runtime, which holds the unpadded tensor.
    for (StringRef name : storedShapes.keys())
      if (paramSplits.count(name) && isWhole(paramSplits[name])) {
        fn.emitError() << kPass << ": the padded parameter '" << name
                       << "' stays whole on every tp rank (a value computed from it is needed "
                          "whole); use a tp that divides the vocabulary";
        return failure();
      }
    if (s.needsCoordinate()) {
      addCoordinateArgument(fn);
      recordVocab(fn);
    }
    // Padded logits must reach the loss split, where the padding is masked.
    WalkResult whole = fn.walk([&](Operation *op) {
      if (!op->hasAttr(sharding::kValidClassesAttrName))
        return WalkResult::advance();
      Value logits = op->getOperand(llvm::isa<CrossEntropyOp>(op) ? 0 : 1);
      if (s.axesOf(logits).back() != kWhole)
        return WalkResult::advance();
      auto real = op->getAttrOfType<IntegerAttr>(sharding::kValidClassesAttrName);
      op->emitError() << kPass << ": the padded vocabulary's logits reach this loss whole, "
                                  "where the padding would not be masked (a parameter they "
                                  "come from stays whole); use a tp that divides the "
                      << real.getInt() << " classes";
      return WalkResult::interrupt();
    });
    if (whole.wasInterrupted())
      return failure();
    if (!kept.empty()) {
      SmallVector<StringRef> names(kept.keys());
      llvm::sort(names);
      fn.emitRemark() << kPass << ": " << names.size()
                      << " parameters stay whole on every tp rank, because a value computed "
                         "from them is needed whole (for example a softmax over the "
                         "columns of their product): "
                      << llvm::join(names, ", ");
    }
    if (failed(s.finish()))
      return failure();
    // A fused projection laid out per rank (pz-interleave-qkv) that stays
    // whole goes back to the stored layout.
    restoreStoredLayout(fn, ctx.gridShape[kTpAxis], [&](StringRef name) {
      return !paramSplits.count(name) || isWhole(paramSplits[name]);
    });
    markBoxShards(fn, global);
    if (ctx.contextAxis != kWhole)
      markDataShards(fn, global, ctx);
    return success();
  }

  /// Whether argument `i`, of whole type `t`, is a data input [batch, seq,
  /// ...] that cp splits along its sequence (the walk's seed; the driver
  /// feeds its chunks).
  /// A tensor a pipeline stage receives or sends ([batch, seq, ...], the
  /// residual stream): split along the sequence as the residual is, under
  /// sp and cp, so that a boundary moves b s h / (tp x cp) elements.
  static DimAxes pipeAxes(Value v, const SplitContext &ctx) {
    DimAxes axes = wholeAxes(v);
    auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
    int16_t seqAxis = ctx.sequenceAxis != kWhole ? ctx.sequenceAxis : ctx.contextAxis;
    if (seqAxis != kWhole && t && t.getRank() >= 3 && t.getDimSize(0) == ctx.batch &&
        t.getDimSize(1) == ctx.seq)
      axes[1] = seqAxis;
    return axes;
  }

  static bool splitsOverContext(func::FuncOp fn, unsigned i, RankedTensorType t,
                                const SplitContext &ctx) {
    return ctx.contextAxis != kWhole && t && t.getRank() >= 2 &&
           fn.getArgAttr(i, PZDialect::kInputAttrName) &&
           !fn.getArgAttr(i, PZDialect::kParamAttrName) && t.getDimSize(0) == ctx.batch &&
           t.getDimSize(1) == ctx.seq;
  }

  /// pz.box_shard on each data input split over cp: the driver feeds each
  /// rank its zigzag chunks of the rows (`global`: the arguments' types
  /// before the partition).
  static void markDataShards(func::FuncOp fn, ArrayRef<RankedTensorType> global,
                             const SplitContext &ctx) {
    Builder b(fn.getContext());
    for (unsigned i = 0; i < fn.getNumArguments() && i < global.size(); ++i) {
      if (!splitsOverContext(fn, i, global[i], ctx))
        continue;
      SmallVector<int16_t> axes(global[i].getRank(), kWhole);
      axes[1] = ctx.contextAxis;
      fn.setArgAttr(i, PZDialect::kBoxShardAttrName,
                    b.getDictionaryAttr(
                        {b.getNamedAttr("shape", b.getDenseI64ArrayAttr(global[i].getShape())),
                         b.getNamedAttr("dim_axes", b.getDenseI16ArrayAttr(axes))}));
    }
  }

  /// The matmuls that produce the key and value of an attention whose kv
  /// heads are replicated (through the reshapes, transposes and the rotary
  /// embedding between): they take their input's sequence whole, so that k
  /// and v are computed from the gathered input, as Megatron does, instead
  /// of on the rank's tokens and all-gathered. Whether any was new.
  bool markWholeSequence(func::FuncOp fn, FunctionSplitter &s) {
    bool added = false;
    llvm::DenseSet<Value> seen;
    std::function<void(Value)> visit = [&](Value v) {
      Operation *def = v.getDefiningOp();
      if (!def || !seen.insert(v).second)
        return;
      if (llvm::isa<MatmulOp>(def)) {
        added |= wholeSequence.insert(def).second;
        return;
      }
      for (Value operand : def->getOperands())
        visit(operand);
    };
    fn.walk([&](AttentionOp a) {
      if (s.replicatesKv(a)) {
        visit(a.getKey());
        visit(a.getValue());
      }
    });
    return added;
  }

  /// The whole vocabulary, which the driver checks token data against
  /// (pz.vocab): the classes of the cross-entropy, else the rows of the
  /// table `input_ids` reads, as the emitter would find them unsplit.
  static void recordVocab(func::FuncOp fn) {
    if (fn->hasAttr(PZDialect::kVocabAttrName)) // the padding recorded the real one
      return;
    int64_t vocab = 0;
    fn.walk([&](CrossEntropyOp ce) {
      vocab = llvm::cast<RankedTensorType>(ce.getLogits().getType()).getShape().back();
    });
    if (!vocab)
      fn.walk([&](EmbeddingOp e) {
        auto arg = llvm::dyn_cast<BlockArgument>(e.getIds());
        auto name = arg ? fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                          PZDialect::kInputAttrName)
                        : StringAttr();
        if (name && name.getValue() == "input_ids")
          vocab = llvm::cast<RankedTensorType>(e.getTable().getType()).getDimSize(0);
      });
    if (vocab)
      fn->setAttr(PZDialect::kVocabAttrName, Builder(fn.getContext()).getI64IntegerAttr(vocab));
  }

  /// The i64 argument the driver fills with this rank's coordinate on the
  /// tp axis (#pz.role<tp_index>).
  static void addCoordinateArgument(func::FuncOp fn) {
    Builder b(fn.getContext());
    NamedAttrList attrs;
    attrs.set(PZDialect::kInputAttrName, b.getStringAttr("tp_index"));
    attrs.set(PZDialect::kRoleAttrName, RoleAttr::get(fn.getContext(), Role::tp_index));
    (void)fn.insertArgument(fn.getNumArguments(), RankedTensorType::get({}, b.getI64Type()),
                            attrs.getDictionary(fn.getContext()), fn.getLoc());
  }

  std::function<LogicalResult(func::FuncOp)> partitioner() {
    return [this](func::FuncOp fn) {
      OpPassManager pm(func::FuncOp::getOperationName());
      pm.addPass(shard::createPartition());
      return runPipeline(pm, fn);
    };
  }

  /// The gradient, accumulator and optimizer functions: every value of a
  /// parameter split as the parameter.
  LogicalResult splitByParameter(func::FuncOp fn, shard::GridOp grid, const SplitContext &ctx) {
    SmallVector<RankedTensorType> global = argTypes(fn);
    FunctionSplitter s(fn, grid, ctx);
    s.runPartition = partitioner();
    auto lookup = [&](DictionaryAttr attrs, Value v) {
      StringRef p = paramOf(attrs);
      return paramSplits.count(p) ? paramSplits[p] : wholeAxes(v);
    };
    if (failed(s.analyze([&](unsigned i) -> OperandAxes {
                           return lookup(fn.getArgAttrDict(i), fn.getArgument(i));
                         },
                         [&](unsigned i, Value v) { return lookup(fn.getResultAttrDict(i), v); },
                         [] {}, nullptr)) ||
        failed(s.finish()))
      return failure();
    markBoxShards(fn, global);
    return success();
  }

  static SmallVector<RankedTensorType> argTypes(func::FuncOp fn) {
    SmallVector<RankedTensorType> types;
    for (Type t : fn.getArgumentTypes())
      types.push_back(llvm::dyn_cast<RankedTensorType>(t));
    return types;
  }

  /// pz.box_shard on each split argument of a parameter: its global shape
  /// and, per dim, the grid axis.
  void markBoxShards(func::FuncOp fn, ArrayRef<RankedTensorType> global) {
    Builder b(fn.getContext());
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      StringRef p = paramOf(fn.getArgAttrDict(i));
      if (p.empty() || !global[i] || !paramSplits.count(p) || isWhole(paramSplits[p]))
        continue;
      ArrayRef<int64_t> shape = global[i].getShape();
      if (auto it = storedShapes.find(p); it != storedShapes.end())
        shape = it->second; // padded: the stored tensor is the unpadded one
      fn.setArgAttr(i, PZDialect::kBoxShardAttrName,
                    b.getDictionaryAttr({b.getNamedAttr("shape", b.getDenseI64ArrayAttr(shape)),
                                         b.getNamedAttr("dim_axes", b.getDenseI16ArrayAttr(
                                                                        paramSplits[p]))}));
    }
  }

  llvm::StringMap<DimAxes> paramSplits;
  /// SplitContext::wholeSequence (markWholeSequence).
  llvm::DenseSet<Operation *> wholeSequence;
  /// The unpadded shapes of the parameters the vocabulary padding grew.
  llvm::StringMap<SmallVector<int64_t>> storedShapes;
};

} // namespace
