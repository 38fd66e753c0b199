//===- ShapeModels.cpp - sharding models of the pz shape ops --------------===//
//
// Partitions of the pz ops that carry shapes or bounds in attributes
// (broadcast, slice and its gradient, concat, constant, reshape): they
// have no box of loops, so
// each checks the shardings it is given and rewrites its attributes to the
// local shapes (docs/design/0013-sharding-rules.md).
//
//===----------------------------------------------------------------------===//

#include "ShardingUtils.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::sharding;
using namespace mlir::shard;

namespace {

/// pz.slice and pz.slice_grad, over the whole side of `shape` (`whole`,
/// local type `localWhole`) and the sliced side (`part`, the `what`
/// operand or the result): a dim the slice takes whole (start 0, end its
/// size, step 1) may be split, alike on both sides; a dim really sliced
/// must be whole. The local slice's ends: a split dim ends at its local
/// size.
FailureOr<SmallVector<int64_t>> localSliceEnds(Operation *op, ArrayRef<int64_t> shape,
                                               ArrayRef<int64_t> starts, ArrayRef<int64_t> ends,
                                               ArrayRef<int64_t> steps, const Sharding &whole,
                                               const Sharding &part,
                                               RankedTensorType localWhole, StringRef what) {
  SmallVector<int64_t> localEnds(ends);
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    bool taken = starts[d] == 0 && ends[d] == shape[d] && steps[d] == 1;
    ArrayRef<GridAxis> a = splitOf(whole, d), r = splitOf(part, d);
    if (!taken && (!a.empty() || !r.empty()))
      return op->emitOpError() << "cannot be partitioned: it slices dim " << d
                               << ", which is split";
    if (a != r)
      return op->emitOpError() << "cannot be partitioned: " << what << " and result dim " << d
                               << " are split differently";
    if (!a.empty())
      localEnds[d] = localWhole.getDimSize(d);
  }
  return localEnds;
}

/// pz.broadcast: an element map with a `shape`; the local op broadcasts to
/// the local shape.
struct BroadcastModel : public ShardingInterface::ExternalModel<BroadcastModel, pz::BroadcastOp> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    auto b = llvm::cast<pz::BroadcastOp>(op);
    if (failed(checkBroadcastSplits(op, operandShardings, resultShardings[0])))
      return failure();
    FailureOr<RankedTensorType> local = localType(op, b.getResult(), resultShardings[0], symbolTable);
    if (failed(local))
      return failure();
    auto part = pz::BroadcastOp::create(builder, op->getLoc(), *local, partitionedOperands[0],
                                    builder.getDenseI64ArrayAttr(local->getShape()));
    partitionMap.map(b.getResult(), part.getResult());
    return success();
  }
};

/// pz.slice: a dim taken whole (start 0, end its size, step 1) may be
/// split, alike in the input and the result; a dim really sliced must be
/// whole. The local slice ends at the local size of the split dims.
struct SliceModel : public ShardingInterface::ExternalModel<SliceModel, SliceOp> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    auto sl = llvm::cast<SliceOp>(op);
    RankedTensorType in = rankedType(sl.getInput());
    if (!in || !in.hasStaticShape())
      return op->emitOpError() << "cannot be partitioned: its input is not static";
    ArrayRef<int64_t> starts = sl.getStarts(), ends = sl.getEnds(), steps = sl.getSteps();
    FailureOr<RankedTensorType> localIn = localType(op, sl.getInput(), operandShardings[0], symbolTable);
    FailureOr<RankedTensorType> localOut = localType(op, sl.getResult(), resultShardings[0], symbolTable);
    if (failed(localIn) || failed(localOut))
      return failure();
    FailureOr<SmallVector<int64_t>> localEnds =
        localSliceEnds(op, in.getShape(), starts, ends, steps, operandShardings[0],
                       resultShardings[0], *localIn, "input");
    if (failed(localEnds))
      return failure();
    auto part = SliceOp::create(builder, op->getLoc(), *localOut, partitionedOperands[0],
                                builder.getDenseI64ArrayAttr(starts),
                                builder.getDenseI64ArrayAttr(*localEnds),
                                builder.getDenseI64ArrayAttr(steps));
    partitionMap.map(sl.getResult(), part.getResult());
    return success();
  }
};

/// pz.concat: the joined dim whole in every value; every other dim split
/// alike in the inputs and the result, which then join locally.
struct ConcatModel : public ShardingInterface::ExternalModel<ConcatModel, ConcatOp> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    auto c = llvm::cast<ConcatOp>(op);
    RankedTensorType r = rankedType(c.getResult());
    if (!r)
      return op->emitOpError() << "cannot be partitioned: its result is not ranked";
    for (int64_t d = 0; d < r.getRank(); ++d) {
      ArrayRef<GridAxis> want = splitOf(resultShardings[0], d);
      if (static_cast<uint64_t>(d) == c.getAxis() && !want.empty())
        return op->emitOpError() << "cannot be partitioned: it joins along dim " << d
                                 << ", which is split";
      for (auto [i, s] : llvm::enumerate(operandShardings))
        if (splitOf(s, d) != want)
          return op->emitOpError() << "cannot be partitioned: operand " << i << " dim " << d
                                   << " is split unlike the result";
    }
    if (failed(localType(op, c.getResult(), resultShardings[0], symbolTable)))
      return failure();
    partitionTriviallyShardableOperation(*op, partitionedOperands, operandShardings,
                                         resultShardings, partitionMap, symbolTable, builder);
    return success();
  }
};

/// pz.slice_grad, the transpose of pz.slice: as pz.slice, a dim taken whole
/// may be split alike in the cotangent and the result; a sliced dim must be
/// whole.
struct SliceGradModel : public ShardingInterface::ExternalModel<SliceGradModel, SliceGradOp> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    auto sg = llvm::cast<SliceGradOp>(op);
    ArrayRef<int64_t> shape = sg.getInputShape(), starts = sg.getStarts(), ends = sg.getEnds(),
                      steps = sg.getSteps();
    FailureOr<RankedTensorType> local = localType(op, sg.getResult(), resultShardings[0], symbolTable);
    if (failed(local))
      return failure();
    FailureOr<SmallVector<int64_t>> localEnds =
        localSliceEnds(op, shape, starts, ends, steps, resultShardings[0], operandShardings[0],
                       *local, "cotangent");
    if (failed(localEnds))
      return failure();
    auto part = SliceGradOp::create(builder, op->getLoc(), *local, partitionedOperands[0],
                                    builder.getDenseI64ArrayAttr(local->getShape()),
                                    builder.getDenseI64ArrayAttr(starts),
                                    builder.getDenseI64ArrayAttr(*localEnds),
                                    builder.getDenseI64ArrayAttr(steps));
    partitionMap.map(sg.getResult(), part.getResult());
    return success();
  }
};

/// pz.constant: a splat is the same splat on every rank's shard; any other
/// constant must stay whole (each rank's part would depend on its rank).
struct ConstantModel : public ShardingInterface::ExternalModel<ConstantModel, ConstantOp> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    auto c = llvm::cast<ConstantOp>(op);
    const Sharding &s = resultShardings[0];
    if (!s || isFullReplication(s)) {
      partitionMap.map(c.getResult(), builder.clone(*op)->getResult(0));
      return success();
    }
    auto dense = llvm::dyn_cast<DenseElementsAttr>(c.getValue());
    if (!dense || !dense.isSplat())
      return op->emitOpError() << "cannot be partitioned: only a splat constant can be split";
    FailureOr<RankedTensorType> local = localType(op, c.getResult(), s, symbolTable);
    if (failed(local))
      return failure();
    auto part = ConstantOp::create(builder, op->getLoc(), *local, dense.resizeSplat(*local));
    partitionMap.map(c.getResult(), part.getResult());
    return success();
  }
};

/// pz.reshape has no box of loops; its partition pairs the dims in groups of
/// equal products (row-major) and needs, in each group, the same grid axes
/// on the input's and the result's major dim, dividing both, and no split
/// elsewhere in the group: then every rank's shard reshapes alike
/// ([b, s, h] split on h to [b, s, heads, d] split on heads).
struct ReshapeModel : public ShardingInterface::ExternalModel<ReshapeModel, ReshapeOp> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    auto reshape = llvm::cast<ReshapeOp>(op);
    RankedTensorType in = rankedType(reshape.getInput()), out = rankedType(reshape.getResult());
    if (!in || !out || !in.hasStaticShape() || !out.hasStaticShape() ||
        in.getNumElements() == 0)
      return op->emitOpError() << "cannot be partitioned: it is not a static, non-empty reshape";
    const Sharding &si = operandShardings[0], &so = resultShardings[0];
    GridOp grid = so ? symbolTable.lookupNearestSymbolFrom<GridOp>(op, so.getGridAttr()) : GridOp();
    auto groupSize = [&](ArrayRef<GridAxis> axes) {
      int64_t n = 1;
      for (GridAxis a : axes)
        n *= grid ? grid.getShape()[a] : 1;
      return n;
    };
    auto fail = [&](const Twine &why) {
      return op->emitOpError() << "cannot be partitioned: " << why;
    };
    int64_t i = 0, j = 0, ri = in.getRank(), rj = out.getRank();
    while (i < ri || j < rj) {
      // Size-1 dims stand alone; they cannot be split.
      if (i < ri && in.getDimSize(i) == 1 && (j == rj || out.getDimSize(j) != 1)) {
        if (!splitOf(si, i).empty())
          return fail("input dim " + Twine(i) + " has size 1 and is split");
        ++i;
        continue;
      }
      if (j < rj && out.getDimSize(j) == 1 && (i == ri || in.getDimSize(i) != 1)) {
        if (!splitOf(so, j).empty())
          return fail("result dim " + Twine(j) + " has size 1 and is split");
        ++j;
        continue;
      }
      int64_t gi = i, gj = j, pi = in.getDimSize(i++), pj = out.getDimSize(j++);
      while (pi != pj) {
        if (pi < pj && i < ri)
          pi *= in.getDimSize(i++);
        else if (pj < pi && j < rj)
          pj *= out.getDimSize(j++);
        else
          return fail("its shapes do not pair into groups");
      }
      ArrayRef<GridAxis> axes = splitOf(si, gi);
      if (splitOf(so, gj) != axes)
        return fail("input dim " + Twine(gi) + " and result dim " + Twine(gj) +
                    " (the major dims of one group) must be split over the same grid axes");
      for (int64_t k = gi + 1; k < i; ++k)
        if (!splitOf(si, k).empty())
          return fail("input dim " + Twine(k) + " is split but is not the major dim of its group");
      for (int64_t k = gj + 1; k < j; ++k)
        if (!splitOf(so, k).empty())
          return fail("result dim " + Twine(k) + " is split but is not the major dim of its group");
      int64_t n = groupSize(axes);
      if (in.getDimSize(gi) % n || out.getDimSize(gj) % n)
        return fail("the split of input dim " + Twine(gi) + " and result dim " + Twine(gj) +
                    " over " + Twine(n) + " ranks does not divide them");
    }
    auto local = llvm::cast<RankedTensorType>(grid ? shardShapedType(out, grid, so) : out);
    auto part = ReshapeOp::create(builder, op->getLoc(), local, partitionedOperands[0],
                                  builder.getDenseI64ArrayAttr(local.getShape()));
    partitionMap.map(reshape.getResult(), part.getResult());
    return success();
  }
};

} // namespace

void mlir::pz::sharding::attachShapeModels(MLIRContext *ctx) {
  ReshapeOp::attachInterface<ReshapeModel>(*ctx);
  pz::BroadcastOp::attachInterface<BroadcastModel>(*ctx);
  SliceOp::attachInterface<SliceModel>(*ctx);
  ConstantOp::attachInterface<ConstantModel>(*ctx);
  ConcatOp::attachInterface<ConcatModel>(*ctx);
  SliceGradOp::attachInterface<SliceGradModel>(*ctx);
}
