//===- Collectives.cpp - shard collectives become pzrt transfers ----------===//
//
// The plan passes put upstream `shard` collectives (all_reduce,
// reduce_scatter, all_gather, shift) and `pz.shard_chunk` on the program's grid
// `@world` (pp x dp_replicate x dp_shard x cp x tp). Each becomes the pzrt
// op on the communicator group of its grid axes, with the reason the
// inserting pass gave it (`pz.comm`). An all-reduce of a temporary that
// nothing else reads runs in place; every other result gets a buffer (or
// the out-parameter it is returned in).
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::lowering;

bool lowering::isCollectiveOp(Operation *op) {
  return llvm::isa<shard::AllReduceOp, shard::ReduceScatterOp, shard::AllGatherOp,
                   shard::ShiftOp, ShardChunkOp>(op);
}

namespace {
/// The grid op, axes and (for transfers) reason every collective has.
struct Collective {
  shard::GridOp grid;
  ArrayAttr axes;
  int64_t groupSize = 1;
  pzrt::ReasonAttr reason;
};
} // namespace

static FailureOr<Collective> resolve(Operation *op, FlatSymbolRefAttr gridRef,
                                     ArrayRef<shard::GridAxis> gridAxes, bool needsReason,
                                     OpBuilder &b) {
  Collective c;
  c.grid = SymbolTable::lookupNearestSymbolFrom<shard::GridOp>(op, gridRef);
  ArrayRef<StringRef> names = pzrt::gridAxisNames();
  if (!c.grid || c.grid.getShape().size() != names.size())
    return op->emitError() << "convert-pz-to-pzrt: collective on " << gridRef
                           << ", which is not the program's grid of " << names.size()
                           << " axes (pp x dp_replicate x dp_shard x cp x tp)";
  SmallVector<Attribute> axes;
  for (shard::GridAxis a : gridAxes) {
    if (a < 0 || static_cast<size_t>(a) >= names.size())
      return op->emitError() << "convert-pz-to-pzrt: grid axis " << a << " is not an axis of "
                             << gridRef;
    axes.push_back(b.getStringAttr(names[a]));
    c.groupSize *= c.grid.getShape()[a];
  }
  c.axes = b.getArrayAttr(axes);
  c.reason = op->getAttrOfType<pzrt::ReasonAttr>("pz.comm");
  if (needsReason && !c.reason)
    return op->emitError() << "convert-pz-to-pzrt: collective without a reason "
                              "(pz.comm = #pzrt.reason<kind, source>)";
  return c;
}

/// The transfer keeps the tensors its bucket moves (pz.bucket), for
/// report.json and `inspect --collectives`.
static void keepBucket(Operation *from, Operation *transfer) {
  if (Attribute names = from->getAttr("pz.bucket"))
    transfer->setAttr("pz.bucket", names);
}

static FailureOr<pzrt::ReduceKind> reduceKind(Operation *op, shard::ReductionKind k) {
  if (k == shard::ReductionKind::Sum)
    return pzrt::ReduceKind::sum;
  if (k == shard::ReductionKind::Max)
    return pzrt::ReduceKind::max;
  return op->emitError() << "convert-pz-to-pzrt: the runtime reduces by sum or max, not "
                         << shard::stringifyReductionKind(k);
}

static LogicalResult checkStatic(Operation *op, Value v) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  if (!t || !t.hasStaticShape())
    return op->emitError() << "convert-pz-to-pzrt: collective of type " << v.getType()
                           << " is not static";
  return success();
}

/// The buffer a collective writes its result into: the out-parameter it is
/// returned in, its input's buffer when `inPlace`, or a new one.
Value FunctionLowering::resultBufferOf(Operation *op, Value result, Value inPlaceSrc) {
  Value dst = directOutput.lookup(result);
  if (!dst)
    dst = inPlaceSrc ? inPlaceSrc
                     : memref::AllocOp::create(
                           b, op->getLoc(), bufferType(llvm::cast<RankedTensorType>(result.getType())))
                           .getResult();
  buffers[result] = dst;
  return dst;
}

LogicalResult FunctionLowering::lowerCollective(Operation *op) {
  if (auto reduce = llvm::dyn_cast<shard::AllReduceOp>(op)) {
    FailureOr<Collective> c =
        resolve(op, reduce.getGridAttr(), reduce.getGridAxes(), /*needsReason=*/true, b);
    if (failed(c))
      return failure();
    FailureOr<pzrt::ReduceKind> kind = reduceKind(op, reduce.getReduction());
    if (failed(kind) || failed(checkStatic(op, reduce.getInput())))
      return failure();
    if (reduce.getInput().getType() != reduce.getResult().getType())
      return op->emitError() << "convert-pz-to-pzrt: an all-reduce that converts "
                             << reduce.getInput().getType() << " to "
                             << reduce.getResult().getType() << " has no runtime call";
    Value src = buffers.lookup(reduce.getInput());
    Operation *def = reduce.getInput().getDefiningOp();
    bool inPlace = def && !isViewOp(def) && !llvm::isa<ConstantOp>(def) &&
                   reduce.getInput().hasOneUse();
    Value dst = resultBufferOf(op, reduce.getResult(), inPlace ? src : Value());
    Operation *t = pzrt::AllReduceOp::create(b, op->getLoc(), /*request=*/Type(), *kind, src, dst, c->axes,
                              c->reason, /*stream=*/1);
    keepBucket(op, t);
    return success();
  }
  if (auto scatter = llvm::dyn_cast<shard::ReduceScatterOp>(op)) {
    FailureOr<Collective> c =
        resolve(op, scatter.getGridAttr(), scatter.getGridAxes(), /*needsReason=*/true, b);
    if (failed(c))
      return failure();
    FailureOr<pzrt::ReduceKind> kind = reduceKind(op, scatter.getReduction());
    if (failed(kind) || failed(checkStatic(op, scatter.getInput())) ||
        failed(checkStatic(op, scatter.getResult())))
      return failure();
    if (scatter.getScatterAxis().getSExtValue() != 0)
      return op->emitError() << "convert-pz-to-pzrt: the runtime scatters along the outermost "
                                "dim only (scatter_axis = 0)";
    Value src = buffers.lookup(scatter.getInput());
    Value dst = resultBufferOf(op, scatter.getResult(), Value());
    Operation *t = pzrt::ReduceScatterOp::create(b, op->getLoc(), Type(), *kind, src, dst, c->axes, c->reason,
                                  /*stream=*/1);
    keepBucket(op, t);
    return success();
  }
  if (auto gather = llvm::dyn_cast<shard::AllGatherOp>(op)) {
    FailureOr<Collective> c =
        resolve(op, gather.getGridAttr(), gather.getGridAxes(), /*needsReason=*/true, b);
    if (failed(c) || failed(checkStatic(op, gather.getInput())) ||
        failed(checkStatic(op, gather.getResult())))
      return failure();
    if (gather.getGatherAxis().getSExtValue() != 0)
      return op->emitError() << "convert-pz-to-pzrt: the runtime gathers along the outermost "
                                "dim only (gather_axis = 0)";
    Value src = buffers.lookup(gather.getInput());
    Value dst = resultBufferOf(op, gather.getResult(), Value());
    Operation *t = pzrt::AllGatherOp::create(b, op->getLoc(), Type(), src, dst, c->axes, c->reason,
                              /*stream=*/1);
    keepBucket(op, t);
    return success();
  }
  if (auto shift = llvm::dyn_cast<shard::ShiftOp>(op)) {
    FailureOr<Collective> c =
        resolve(op, shift.getGridAttr(), shift.getGridAxes(), /*needsReason=*/true, b);
    if (failed(c) || failed(checkStatic(op, shift.getInput())))
      return failure();
    if (!shift.getRotate() || shift.getGridAxes().size() != 1 ||
        shift.getShiftAxis().getSExtValue() != shift.getGridAxes()[0])
      return op->emitError() << "convert-pz-to-pzrt: the runtime shifts around the ring of "
                                "one grid axis only (rotate, shift_axis the group's axis)";
    Value src = buffers.lookup(shift.getInput());
    Value dst = resultBufferOf(op, shift.getResult(), Value());
    pzrt::ShiftOp::create(b, op->getLoc(), Type(), src, dst,
                          b.getI64IntegerAttr(static_cast<int64_t>(shift.getOffset())), c->axes,
                          c->reason, b.getI32IntegerAttr(1));
    return success();
  }
  auto chunk = llvm::cast<ShardChunkOp>(op);
  FailureOr<Collective> c = resolve(op, chunk.getGridAttr(), chunk.getGridAxes(),
                                    /*needsReason=*/false, b);
  if (failed(c))
    return failure();
  if (c->groupSize != chunk.getChunks())
    return op->emitError() << "convert-pz-to-pzrt: pz.shard_chunk splits into "
                           << chunk.getChunks() << " chunks, but its group of grid axes has "
                           << c->groupSize << " ranks";
  Value src = buffers.lookup(chunk.getInput());
  Value dst = resultBufferOf(op, chunk.getResult(), Value());
  pzrt::ChunkOp::create(b, op->getLoc(), src, dst, c->axes);
  return success();
}
