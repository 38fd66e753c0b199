//===- DataParallel.cpp - dp_replicate: gradient buckets all-reduced ------===//
//
// Replicated data parallelism (DDP). Every rank holds the whole model and
// computes the gradients of its slice of the global batch; before the
// optimizer, the gradients are averaged over the dp_replicate ranks. The
// pass rewrites @finalize_grads (which turns the micro-batches' sum into the
// gradients the optimizer reads): the finalized gradients are packed into
// flat buckets of at most bucket_mb MiB (in reverse model order, the order a
// backward pass finishes them), each bucket is summed over the grid's
// dp_replicate axis by one upstream `shard.all_reduce` that carries its
// reason (`pz.comm = #pzrt.reason<"ddp.grad_bucket", "bucket 2 of 7">`),
// scaled by 1/dp_replicate, and unpacked into the gradients. The numerics
// check and the optimizer (its gradient-norm clipping included) then read
// the averaged gradients. With gradient accumulation, the micro-batches
// accumulate locally and only the finished sum communicates (DDP's no_sync).
//
//===----------------------------------------------------------------------===//

#include "DataParallelUtils.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"
// The pass depends on pzrt (its reasons) and shard; their headers stay out of
// Passes.h, whose includers need not depend on pzrt's generated headers.
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

#include "mlir/Analysis/TopologicalSortUtils.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::pz {
#define GEN_PASS_DEF_DATAPARALLELPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-data-parallel"

using namespace mlir;
using namespace mlir::pz;

namespace {

using dp::kDpReplicateAxis;

/// One gradient as @finalize_grads finalizes it.
struct Grad {
  StringAttr name;
  Value value;          // the finalized (per-rank) gradient
  RankedTensorType type;
  int64_t bytes = 0;
};

struct DataParallelPass : public mlir::pz::impl::DataParallelPassBase<DataParallelPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto planAttr = module->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName);
    if (!planAttr || planAttr.getDpReplicate() == 1)
      return;
    // dp_replicate with pp is not built yet: such a plan compiles to the IR
    // unpartitioned, as it did before this pass, and the driver refuses to
    // generate code for it (naming the key).
    Plan plan = planAttr.getPlan();
    // With tp or cp (pz-tensor-parallel ran first), each rank averages its
    // own shards of the gradients, already summed over cp, over its
    // dp_replicate peers.
    if (plan.dpShard != 1 || (plan.pp != 1 && !module->hasAttr(PZDialect::kStageAttrName)))
      return;
    auto fn = module.lookupSymbol<func::FuncOp>("finalize_grads");
    if (!fn || fn.isExternal()) {
      module.emitError() << "pz-data-parallel: dp_replicate = " << plan.dpReplicate
                         << " averages the gradients, but the module has no @finalize_grads "
                            "(a forward-only graph, or pz-build-grad-functions has not run)";
      return signalPassFailure();
    }
    FailureOr<shard::GridOp> grid = dp::getOrCreateWorldGrid(module, plan, "pz-data-parallel");
    if (failed(grid))
      return signalPassFailure();
    auto fb = module.lookupSymbol<func::FuncOp>("forward_backward");
    if (plan.gradAccum == 1 && fb && !fb.isExternal()) {
      if (failed(syncInBackward(fb, *grid, plan)))
        return signalPassFailure();
      return;
    }
    if (failed(syncGradients(fn, *grid, plan)))
      return signalPassFailure();
  }

  /// Packs the gradients of `bucket` (reshape, concat), sums them over
  /// dp_replicate with one shard.all_reduce, scales by 1/n and unpacks:
  /// the averaged gradients, in bucket order. The packing ops go into
  /// `packing` when given.
  SmallVector<Value> averageBucket(OpBuilder &b, OpBuilder &tail, func::FuncOp fn,
                                   shard::GridOp grid,
                                   const Plan &plan, ArrayRef<Grad> grads,
                                   ArrayRef<unsigned> bucket, size_t bi, size_t count,
                                   llvm::DenseMap<Type, Value> &inverses,
                                   SmallPtrSetImpl<Operation *> *packing) {
    MLIRContext *ctx = fn.getContext();
    int64_t n = plan.dpReplicate;
    std::string label = "bucket " + std::to_string(bi + 1) + " of " + std::to_string(count);
    Location at = NameLoc::get(b.getStringAttr("ddp/" + label), fn.getLoc());
    Type elem = grads[bucket.front()].type.getElementType();
    auto note = [&](Operation *op) {
      if (packing)
        packing->insert(op);
    };
    SmallVector<Value> flats;
    SmallVector<Attribute> names;
    int64_t total = 0;
    for (unsigned gi : bucket) {
      const Grad &g = grads[gi];
      int64_t numel = g.type.getNumElements();
      auto flatType = RankedTensorType::get({numel}, elem);
      Value flat = g.value;
      if (g.type != flatType) {
        auto reshape = ReshapeOp::create(b, at, flatType, g.value, b.getDenseI64ArrayAttr({numel}));
        note(reshape);
        flat = reshape;
      }
      flats.push_back(flat);
      names.push_back(g.name);
      total += numel;
    }
    auto bucketType = RankedTensorType::get({total}, elem);
    Value packed = flats.front();
    if (flats.size() > 1) {
      auto concat = ConcatOp::create(b, at, bucketType, flats, b.getI64IntegerAttr(0));
      note(concat);
      packed = concat;
    }
    auto reduce = shard::AllReduceOp::create(b, at, packed, grid.getSymName(),
                                             ArrayRef<shard::GridAxis>{kDpReplicateAxis},
                                             shard::ReductionKind::Sum);
    note(reduce);
    reduce->setAttr(dp::kCommAttrName, pzrt::ReasonAttr::get(ctx, "ddp.grad_bucket", label));
    reduce->setAttr(dp::kBucketAttrName, b.getArrayAttr(names));
    Value &inv = inverses[elem];
    if (!inv) {
      auto scalar = RankedTensorType::get({}, elem);
      inv = ConstantOp::create(tail, NameLoc::get(b.getStringAttr("ddp/replicas"), fn.getLoc()),
                               DenseElementsAttr::get(scalar, b.getFloatAttr(elem, 1.0 / n)));
    }
    Value mean = MulOp::create(tail, at, reduce.getResult(), inv);
    SmallVector<Value> out;
    int64_t offset = 0;
    for (unsigned gi : bucket) {
      const Grad &g = grads[gi];
      int64_t numel = g.type.getNumElements();
      Value part = mean;
      if (bucket.size() > 1)
        part = SliceOp::create(tail, at, RankedTensorType::get({numel}, elem), mean,
                               b.getDenseI64ArrayAttr({offset}),
                               b.getDenseI64ArrayAttr({offset + numel}),
                               b.getDenseI64ArrayAttr({1}));
      if (llvm::cast<RankedTensorType>(part.getType()) != g.type)
        part = ReshapeOp::create(tail, at, g.type, part, tail.getDenseI64ArrayAttr(g.type.getShape()));
      out.push_back(part);
      offset += numel;
    }
    return out;
  }

  /// One micro-batch per step: each bucket's all-reduce is issued inside
  /// @forward_backward right after the op that computes its last gradient,
  /// and its average is taken before the return, so that the all-reduce
  /// runs while the rest of the backward pass computes;
  /// @forward_backward returns the averages.
  LogicalResult syncInBackward(func::FuncOp fn, shard::GridOp grid, const Plan &plan) {
    Block &body = fn.getBody().front();
    auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
    DenseMap<Operation *, unsigned> position;
    for (auto [i, op] : llvm::enumerate(body))
      position[&op] = i;
    SmallVector<Grad> grads;
    SmallVector<unsigned> resultOf;
    for (unsigned i = 0; i < fn.getNumResults(); ++i) {
      auto name = fn.getResultAttrOfType<StringAttr>(i, PZDialect::kGradAttrName);
      if (!name)
        continue;
      Value v = ret.getOperand(i);
      auto type = llvm::dyn_cast<RankedTensorType>(v.getType());
      if (!type || !type.hasStaticShape() || !llvm::isa<FloatType>(type.getElementType()))
        return fn.emitError() << "pz-data-parallel: gradient '" << name.getValue()
                              << "' is not a static float tensor";
      grads.push_back({name, v, type, type.getNumElements() * dp::elementBytes(type.getElementType())});
      resultOf.push_back(i);
    }
    SmallVector<dp::BucketItem> items;
    for (const Grad &g : grads)
      items.push_back({g.type.getElementType(), g.bytes});
    SmallVector<SmallVector<unsigned>> buckets =
        dp::makeBuckets(items, plan.bucketMb * (int64_t(1) << 20));
    SmallVector<Value> results(ret.getOperands());
    llvm::DenseMap<Type, Value> inverses;
    OpBuilder b(fn.getContext()), tail(ret);
    for (auto [bi, bucket] : llvm::enumerate(buckets)) {
      Operation *last = nullptr;
      for (unsigned gi : bucket)
        if (Operation *def = grads[gi].value.getDefiningOp();
            def && (!last || position[def] > position[last]))
          last = def;
      if (last)
        b.setInsertionPointAfter(last);
      else
        b.setInsertionPointToStart(&body);
      SmallVector<Value> avg = averageBucket(b, tail, fn, grid, plan, grads, bucket, bi,
                                             buckets.size(), inverses, nullptr);
      for (auto [j, gi] : llvm::enumerate(bucket))
        results[resultOf[gi]] = avg[j];
    }
    b.setInsertionPoint(ret);
    func::ReturnOp::create(b, ret.getLoc(), results);
    ret.erase();
    if (!sortTopologically(&body))
      return fn.emitError() << "pz-data-parallel: @forward_backward has a cycle";
    return success();
  }

  LogicalResult syncGradients(func::FuncOp fn, shard::GridOp grid, const Plan &plan) {
    Block &body = fn.getBody().front();
    auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
    SmallVector<Grad> grads;
    SmallVector<AllFiniteOp> checks;
    for (auto check : body.getOps<AllFiniteOp>()) {
      Value v = check.getInput();
      StringAttr name = dp::gradName(fn, v);
      auto type = llvm::dyn_cast<RankedTensorType>(v.getType());
      if (!name || !type || !type.hasStaticShape())
        return check.emitError() << "pz-data-parallel: cannot tell which gradient this "
                                    "check of @finalize_grads is for";
      if (!llvm::isa<FloatType>(type.getElementType()))
        return check.emitError() << "pz-data-parallel: gradient '" << name.getValue()
                                 << "' is not a float tensor";
      int64_t bytes = type.getNumElements() * dp::elementBytes(type.getElementType());
      grads.push_back({name, v, type, bytes});
      checks.push_back(check);
    }
    if (grads.empty())
      return success();

    // Sum, average and unpack each bucket before the return.
    OpBuilder b(ret);
    MLIRContext *ctx = fn.getContext();
    int64_t capBytes = plan.bucketMb * (int64_t(1) << 20);
    SmallVector<dp::BucketItem> items;
    for (const Grad &g : grads)
      items.push_back({g.type.getElementType(), g.bytes});
    SmallVector<SmallVector<unsigned>> buckets = dp::makeBuckets(items, capBytes);
    SmallVector<Value> synced(grads.size());
    SmallPtrSet<Operation *, 16> packing;
    llvm::DenseMap<Type, Value> inverses; // 1/n, per element type
    for (auto [bi, bucket] : llvm::enumerate(buckets)) {
      SmallVector<Value> avg = averageBucket(b, b, fn, grid, plan, grads, bucket, bi,
                                             buckets.size(), inverses, &packing);
      for (auto [j, gi] : llvm::enumerate(bucket))
        synced[gi] = avg[j];
    }
    // Everything that read a finalized gradient reads the averaged one.
    for (auto [gi, g] : llvm::enumerate(grads))
      g.value.replaceUsesWithIf(synced[gi], [&](OpOperand &use) {
        return !packing.contains(use.getOwner());
      });

    // A gradient that @finalize_grads did not return (one micro-batch, no
    // loss scaling: it only checked the gradients) is now returned, tied to
    // its argument, so that the optimizer reads the average.
    SmallVector<Value> results(ret.getOperands());
    SmallVector<Type> resultTypes(fn.getResultTypes());
    SmallVector<DictionaryAttr> resultAttrs;
    for (unsigned i = 0; i < fn.getNumResults(); ++i) {
      DictionaryAttr d = fn.getResultAttrDict(i);
      resultAttrs.push_back(d ? d : b.getDictionaryAttr({}));
    }
    // Gradients go first, in model order, as pz-build-grad-functions orders them.
    unsigned insertAt = 0;
    for (auto [gi, g] : llvm::enumerate(grads)) {
      bool returned = false;
      for (unsigned i = 0; i < fn.getNumResults(); ++i)
        returned |= fn.getResultAttrOfType<StringAttr>(i, PZDialect::kGradAttrName) == g.name;
      if (returned)
        continue;
      results.insert(results.begin() + insertAt, synced[gi]);
      resultTypes.insert(resultTypes.begin() + insertAt, g.type);
      resultAttrs.insert(resultAttrs.begin() + insertAt,
                         b.getDictionaryAttr(b.getNamedAttr(PZDialect::kGradAttrName, g.name)));
      ++insertAt;
    }
    if (insertAt > 0) {
      func::ReturnOp::create(b, ret.getLoc(), results);
      ret.erase();
      fn.setFunctionType(FunctionType::get(ctx, fn.getArgumentTypes(), resultTypes));
      fn.setAllResultAttrs(resultAttrs);
    }
    // The checks now read values defined after them: restore def-before-use.
    if (!sortTopologically(&body))
      return fn.emitError() << "pz-data-parallel: @finalize_grads has a cycle";
    return success();
  }
};

} // namespace
