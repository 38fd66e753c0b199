//===- ShardingModels.cpp - upstream ShardingInterface on pz ops ----------===//
//
// Loop iterators and indexing maps of the pz ops whose iteration space is a
// box (element maps, matmul, transpose, sums over axes), and their
// `partition`: the op on the local shards, then, when a reduction loop is
// split over grid axes, one `shard.all_reduce` of each result over those
// axes, with its reason (`pz.comm`): "tp.partial_sum" (the axes' names on
// the program's grid) and the op's source.
//
// Numpy broadcasting that stretches a size-1 dim has no affine map (the
// upstream interface takes no constants); such an op gets no maps, and its
// partition is refused unless every value is replicated. Ops without a
// model (attention, the norms, cross-entropy, reshape, ...) are the next
// slice (docs/design/0013-sharding-rules.md).
//
//===----------------------------------------------------------------------===//

#include "pz/Dialect/PZ/Sharding/ShardingModels.h"

#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::shard;

namespace {

using utils::IteratorType;

RankedTensorType rankedType(Value v) { return llvm::dyn_cast<RankedTensorType>(v.getType()); }

/// The map of an operand broadcast numpy-style into loops over the dims of
/// `result`: right-aligned, a missing leading dim dropped. None when a
/// size-1 dim stretches to a larger one.
std::optional<AffineMap> broadcastMap(RankedTensorType operand, RankedTensorType result,
                                      unsigned numLoops, unsigned firstLoop) {
  int64_t lead = result.getRank() - operand.getRank();
  if (lead < 0)
    return std::nullopt;
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < operand.getRank(); ++i) {
    if (operand.getDimSize(i) != result.getDimSize(lead + i))
      return std::nullopt;
    exprs.push_back(getAffineDimExpr(firstLoop + lead + i, operand.getContext()));
  }
  return AffineMap::get(numLoops, 0, exprs, operand.getContext());
}

/// The op's source for reasons: its location's name, else the op's name.
std::string sourceOf(Operation *op) {
  Location loc = op->getLoc();
  if (auto fused = llvm::dyn_cast<FusedLoc>(loc); fused && !fused.getLocations().empty())
    loc = fused.getLocations().front();
  if (auto name = llvm::dyn_cast<NameLoc>(loc))
    return name.getName().str();
  return op->getName().getStringRef().str();
}

/// The reason kind of a partial sum over `axes` of `grid`: on the program's
/// grid (pp x dp_replicate x dp_shard x cp x tp) the axes' names,
/// "tp.partial_sum"; on another grid "partial_sum".
std::string partialSumKind(Operation *op, FlatSymbolRefAttr grid, ArrayRef<GridAxis> axes,
                           SymbolTableCollection &symbolTable) {
  auto g = symbolTable.lookupNearestSymbolFrom<GridOp>(op, grid);
  ArrayRef<StringRef> names = pzrt::gridAxisNames();
  if (!g || g.getShape().size() != names.size())
    return "partial_sum";
  std::string kind;
  for (GridAxis a : axes)
    kind += (kind.empty() ? "" : "+") + names[a].str();
  return kind + ".partial_sum";
}

/// The op on the local shards; each result all-reduced over the grid axes of
/// the reduction loops that are split (a partial sum on every rank).
LogicalResult partitionWithPartialSums(Operation *op, ArrayRef<Value> partitionedOperands,
                                       ArrayRef<Sharding> operandShardings,
                                       ArrayRef<Sharding> resultShardings,
                                       IRMapping &partitionMap,
                                       SymbolTableCollection &symbolTable, OpBuilder &builder) {
  auto iface = llvm::cast<ShardingInterface>(op);
  SmallVector<IteratorType> loops = iface.getLoopIteratorTypes();
  SmallVector<AffineMap> maps = iface.getIndexingMaps();
  if (maps.empty()) {
    auto replicated = [](const Sharding &s) { return !s || isFullReplication(s); };
    if (!llvm::all_of(operandShardings, replicated) || !llvm::all_of(resultShardings, replicated))
      return op->emitOpError()
             << "cannot be partitioned: a size-1 dim broadcasts, which the sharding "
                "rules cannot map; make the broadcast explicit or replicate the values";
    partitionFullyReplicatedOperation(*op, partitionedOperands, operandShardings,
                                      resultShardings, partitionMap, symbolTable, builder);
    return success();
  }
  ShardingArray assignment =
      getGridAxisAssignmentForLoopIterators(operandShardings, resultShardings, loops, maps);
  SmallVector<GridAxis> reduced = getReductionGridAxes(loops, assignment);
  partitionTriviallyShardableOperation(*op, partitionedOperands, operandShardings,
                                       resultShardings, partitionMap, symbolTable, builder);
  if (reduced.empty())
    return success();
  std::string source = sourceOf(op);
  for (auto [i, result] : llvm::enumerate(op->getResults())) {
    Value local = partitionMap.lookup(result);
    auto sum = AllReduceOp::create(builder, op->getLoc(), local.getType(),
                                   resultShardings[i].getGridAttr(),
                                   builder.getDenseI16ArrayAttr(reduced), local,
                                   ReductionKindAttr::get(op->getContext(), ReductionKind::Sum));
    sum->setAttr("pz.comm", pzrt::ReasonAttr::get(
                                op->getContext(),
                                partialSumKind(op, resultShardings[i].getGridAttr(), reduced,
                                               symbolTable),
                                source));
    partitionMap.map(result, sum.getResult());
  }
  return success();
}

/// The partition every model below shares.
template <typename Model, typename Op>
struct PZModel : public ShardingInterface::ExternalModel<Model, Op> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    return partitionWithPartialSums(op, partitionedOperands, operandShardings, resultShardings,
                                    partitionMap, symbolTable, builder);
  }
};

/// The grid axes dim `d` of a value is split over (none past the listed dims).
ArrayRef<GridAxis> splitOf(const Sharding &s, int64_t d) {
  if (!s || d >= static_cast<int64_t>(s.getSplitAxes().size()))
    return {};
  return s.getSplitAxes()[d].asArrayRef();
}

/// Each operand dim of a numpy-style broadcast must be split as the result
/// dim it broadcasts to, and a stretched size-1 dim not at all.
LogicalResult checkBroadcastSplits(Operation *op, ArrayRef<Sharding> operandShardings,
                                   const Sharding &resultSharding) {
  RankedTensorType r = rankedType(op->getResult(0));
  if (!r)
    return op->emitOpError() << "cannot be partitioned: its result is not a ranked tensor";
  for (auto [i, v] : llvm::enumerate(op->getOperands())) {
    RankedTensorType t = rankedType(v);
    int64_t lead = r.getRank() - (t ? t.getRank() : 0);
    for (int64_t d = 0; t && d < t.getRank(); ++d) {
      bool stretched = t.getDimSize(d) == 1 && r.getDimSize(lead + d) != 1;
      ArrayRef<GridAxis> want = stretched ? ArrayRef<GridAxis>() : splitOf(resultSharding, lead + d);
      if (splitOf(operandShardings[i], d) != want)
        return op->emitOpError()
               << "cannot be partitioned: operand " << i << " dim " << d
               << (stretched ? " broadcasts from size 1 and must not be split"
                             : " must be split over the same grid axes as result dim " +
                                   std::to_string(lead + d));
    }
  }
  return success();
}

/// The local type of `v` under `s`, or failure with an error when a split
/// does not divide its dim.
FailureOr<RankedTensorType> localType(Operation *op, Value v, const Sharding &s,
                                      SymbolTableCollection &symbolTable) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  if (!s)
    return t;
  GridOp grid = symbolTable.lookupNearestSymbolFrom<GridOp>(op, s.getGridAttr());
  if (!grid)
    return op->emitOpError() << "cannot be partitioned: no grid " << s.getGridAttr();
  for (int64_t d = 0; d < t.getRank(); ++d) {
    int64_t n = 1;
    for (GridAxis a : splitOf(s, d))
      n *= grid.getShape()[a];
    if (t.isDynamicDim(d) || t.getDimSize(d) % n)
      return op->emitOpError() << "cannot be partitioned: dim " << d << " of " << t
                               << " does not split evenly over " << n << " ranks";
  }
  return llvm::cast<RankedTensorType>(shardShapedType(t, grid, s));
}

/// Element maps: one parallel loop per result dim; operands broadcast into
/// them numpy-style. The partition needs no maps: each operand dim must be
/// split as the result dim it broadcasts to, a stretched size-1 dim not at
/// all; then the op runs on the local shards as it is.
template <typename Op>
struct ElementMapModel : public ShardingInterface::ExternalModel<ElementMapModel<Op>, Op> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    if (failed(checkBroadcastSplits(op, operandShardings, resultShardings[0])))
      return failure();
    partitionTriviallyShardableOperation(*op, partitionedOperands, operandShardings,
                                         resultShardings, partitionMap, symbolTable, builder);
    return success();
  }
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    RankedTensorType r = rankedType(op->getResult(0));
    if (!r)
      return {};
    return SmallVector<IteratorType>(r.getRank(), IteratorType::parallel);
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    RankedTensorType r = rankedType(op->getResult(0));
    if (!r)
      return {};
    SmallVector<AffineMap> maps;
    for (Value v : op->getOperands()) {
      RankedTensorType t = rankedType(v);
      std::optional<AffineMap> m = t ? broadcastMap(t, r, r.getRank(), 0) : std::nullopt;
      if (!m)
        return {};
      maps.push_back(*m);
    }
    maps.push_back(AffineMap::getMultiDimIdentityMap(r.getRank(), op->getContext()));
    return maps;
  }
};

/// pz.matmul: loops (batch..., m, n, k), k a reduction; batch dims
/// broadcast numpy-style, transposes swap an operand's trailing pair.
struct MatmulModel : public PZModel<MatmulModel, MatmulOp> {
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    RankedTensorType r = rankedType(op->getResult(0));
    if (!r)
      return {};
    SmallVector<IteratorType> types(r.getRank(), IteratorType::parallel);
    types.push_back(IteratorType::reduction);
    return types;
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto mm = llvm::cast<MatmulOp>(op);
    RankedTensorType l = rankedType(mm.getLhs()), rt = rankedType(mm.getRhs()),
                     r = rankedType(mm.getResult());
    if (!l || !rt || !r)
      return {};
    MLIRContext *ctx = op->getContext();
    unsigned batch = r.getRank() - 2, numLoops = r.getRank() + 1;
    AffineExpr m = getAffineDimExpr(batch, ctx), n = getAffineDimExpr(batch + 1, ctx),
               k = getAffineDimExpr(batch + 2, ctx);
    auto operandMap = [&](RankedTensorType t, AffineExpr first,
                          AffineExpr second) -> std::optional<AffineMap> {
      // The batch dims broadcast into the result's; the trailing pair maps
      // to (first, second).
      auto batchType = RankedTensorType::get(t.getShape().drop_back(2), t.getElementType());
      auto resultBatch = RankedTensorType::get(r.getShape().drop_back(2), r.getElementType());
      std::optional<AffineMap> b = broadcastMap(batchType, resultBatch, numLoops, 0);
      if (!b)
        return std::nullopt;
      SmallVector<AffineExpr> exprs(b->getResults());
      exprs.push_back(first);
      exprs.push_back(second);
      return AffineMap::get(numLoops, 0, exprs, ctx);
    };
    std::optional<AffineMap> lm =
        mm.getTransposeLhs() ? operandMap(l, k, m) : operandMap(l, m, k);
    std::optional<AffineMap> rm =
        mm.getTransposeRhs() ? operandMap(rt, n, k) : operandMap(rt, k, n);
    if (!lm || !rm)
      return {};
    SmallVector<AffineExpr> out;
    for (unsigned i = 0; i < batch; ++i)
      out.push_back(getAffineDimExpr(i, ctx));
    out.push_back(m);
    out.push_back(n);
    return {*lm, *rm, AffineMap::get(numLoops, 0, out, ctx)};
  }
};

/// pz.transpose: one parallel loop per input dim; result dim i is loop
/// permutation[i].
struct TransposeModel : public PZModel<TransposeModel, TransposeOp> {
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    RankedTensorType t = rankedType(op->getOperand(0));
    if (!t)
      return {};
    return SmallVector<IteratorType>(t.getRank(), IteratorType::parallel);
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto tr = llvm::cast<TransposeOp>(op);
    RankedTensorType t = rankedType(tr.getInput());
    if (!t)
      return {};
    SmallVector<unsigned> perm;
    for (int64_t p : tr.getPermutation())
      perm.push_back(static_cast<unsigned>(p));
    return {AffineMap::getMultiDimIdentityMap(t.getRank(), op->getContext()),
            AffineMap::getPermutationMap(perm, op->getContext())};
  }
};

/// pz.reduce_sum: one loop per input dim, the summed ones reductions; the
/// result keeps the others (and size-1 dims for the summed ones with
/// keepdims, which no loop indexes).
struct ReduceSumModel : public PZModel<ReduceSumModel, ReduceSumOp> {
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto sum = llvm::cast<ReduceSumOp>(op);
    RankedTensorType t = rankedType(sum.getInput());
    if (!t)
      return {};
    SmallVector<IteratorType> types(t.getRank(), IteratorType::parallel);
    for (int64_t a : sum.getAxes())
      if (a >= 0 && a < t.getRank())
        types[a] = IteratorType::reduction;
    return types;
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto sum = llvm::cast<ReduceSumOp>(op);
    RankedTensorType t = rankedType(sum.getInput());
    if (!t || sum.getKeepdims())
      return {}; // a kept size-1 dim has no map (no constants)
    MLIRContext *ctx = op->getContext();
    SmallVector<AffineExpr> kept;
    for (int64_t i = 0; i < t.getRank(); ++i)
      if (!llvm::is_contained(sum.getAxes(), i))
        kept.push_back(getAffineDimExpr(i, ctx));
    return {AffineMap::getMultiDimIdentityMap(t.getRank(), ctx),
            AffineMap::get(t.getRank(), 0, kept, ctx)};
  }
};

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
    for (int64_t d = 0; d < in.getRank(); ++d) {
      bool whole = starts[d] == 0 && ends[d] == in.getDimSize(d) && steps[d] == 1;
      ArrayRef<GridAxis> a = splitOf(operandShardings[0], d), r = splitOf(resultShardings[0], d);
      if (!whole && (!a.empty() || !r.empty()))
        return op->emitOpError() << "cannot be partitioned: it slices dim " << d
                                 << ", which is split";
      if (a != r)
        return op->emitOpError() << "cannot be partitioned: input and result dim " << d
                                 << " are split differently";
    }
    FailureOr<RankedTensorType> localIn = localType(op, sl.getInput(), operandShardings[0], symbolTable);
    FailureOr<RankedTensorType> localOut = localType(op, sl.getResult(), resultShardings[0], symbolTable);
    if (failed(localIn) || failed(localOut))
      return failure();
    SmallVector<int64_t> localEnds(ends);
    for (int64_t d = 0; d < in.getRank(); ++d)
      if (!splitOf(operandShardings[0], d).empty())
        localEnds[d] = localIn->getDimSize(d);
    auto part = SliceOp::create(builder, op->getLoc(), *localOut, partitionedOperands[0],
                                builder.getDenseI64ArrayAttr(starts),
                                builder.getDenseI64ArrayAttr(localEnds),
                                builder.getDenseI64ArrayAttr(steps));
    partitionMap.map(sl.getResult(), part.getResult());
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

/// The dims an op normalizes over: softmax's axis, a norm's trailing dims.
SmallVector<int64_t> normalizedDims(Operation *op, int64_t rank) {
  SmallVector<int64_t> dims;
  if (auto s = llvm::dyn_cast<SoftmaxOp>(op))
    dims.push_back(s.getAxis());
  else if (auto s = llvm::dyn_cast<LogSoftmaxOp>(op))
    dims.push_back(s.getAxis());
  else {
    int64_t from = llvm::isa<LayerNormOp>(op) ? llvm::cast<LayerNormOp>(op).getAxis()
                                              : llvm::cast<RMSNormOp>(op).getAxis();
    for (int64_t d = from; d < rank; ++d)
      dims.push_back(d);
  }
  return dims;
}

/// Softmax, log-softmax and the norms: one loop per input dim, the
/// normalized ones reductions; scale and bias index the trailing dims. The
/// rules do not split a normalized dim (that needs the statistics
/// all-reduced); the partition refuses it and otherwise runs the op on
/// the local rows.
template <typename Op>
struct NormalizeModel : public ShardingInterface::ExternalModel<NormalizeModel<Op>, Op> {
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    RankedTensorType t = rankedType(op->getOperand(0));
    if (!t)
      return {};
    SmallVector<IteratorType> types(t.getRank(), IteratorType::parallel);
    for (int64_t d : normalizedDims(op, t.getRank()))
      if (d >= 0 && d < t.getRank())
        types[d] = IteratorType::reduction;
    return types;
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    RankedTensorType t = rankedType(op->getOperand(0));
    if (!t)
      return {};
    MLIRContext *ctx = op->getContext();
    AffineMap id = AffineMap::getMultiDimIdentityMap(t.getRank(), ctx);
    SmallVector<AffineMap> maps{id};
    for (Value v : op->getOperands().drop_front()) {
      RankedTensorType p = rankedType(v);
      std::optional<AffineMap> m = p ? broadcastMap(p, t, t.getRank(), 0) : std::nullopt;
      if (!m)
        return {};
      maps.push_back(*m);
    }
    maps.push_back(id);
    return maps;
  }
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    RankedTensorType t = rankedType(op->getOperand(0));
    if (!t)
      return op->emitOpError() << "cannot be partitioned: its input is not a ranked tensor";
    for (int64_t d : normalizedDims(op, t.getRank()))
      if (!splitOf(operandShardings[0], d).empty() || !splitOf(resultShardings[0], d).empty())
        return op->emitOpError() << "cannot be partitioned: it normalizes over dim " << d
                                 << ", which is split (the rules keep normalized dims whole)";
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (splitOf(operandShardings[0], d) != splitOf(resultShardings[0], d))
        return op->emitOpError() << "cannot be partitioned: input and result dim " << d
                                 << " are split differently";
    for (size_t i = 1; i < operandShardings.size(); ++i)
      if (operandShardings[i] && !isFullReplication(operandShardings[i]))
        return op->emitOpError() << "cannot be partitioned: operand " << i
                                 << " (scale or bias) must be whole";
    partitionTriviallyShardableOperation(*op, partitionedOperands, operandShardings,
                                         resultShardings, partitionMap, symbolTable, builder);
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

template <typename... Ops>
void attachElementMaps(MLIRContext *ctx) {
  (Ops::template attachInterface<ElementMapModel<Ops>>(*ctx), ...);
}

/// Attaches the models when pz loads, and loads what their partitions
/// create (shard collectives with pzrt reasons).
struct PZShardingExtension : public DialectExtension<PZShardingExtension, PZDialect> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(PZShardingExtension)

  void apply(MLIRContext *ctx, PZDialect *) const final {
    ctx->loadDialect<shard::ShardDialect, pzrt::PZRTDialect>();
    // Every element-map op but pz.broadcast (its `shape` attribute needs its
    // own partition), and pz.gelu, which is one too.
    attachElementMaps<AbsOp, AddOp, CastOp, CompareOp, CosOp, DivOp, ErfOp, ExpOp, LogOp, MulOp,
                      NegOp, NotOp, PowOp, ReluGradOp, ReluOp, RsqrtOp, SigmoidOp, SignOp,
                      SiluOp, SinOp, SqrtOp, SubOp, TanhOp, WhereOp, GeluOp>(ctx);
    MatmulOp::attachInterface<MatmulModel>(*ctx);
    TransposeOp::attachInterface<TransposeModel>(*ctx);
    ReduceSumOp::attachInterface<ReduceSumModel>(*ctx);
    ReshapeOp::attachInterface<ReshapeModel>(*ctx);
    pz::BroadcastOp::attachInterface<BroadcastModel>(*ctx);
    SliceOp::attachInterface<SliceModel>(*ctx);
    ConstantOp::attachInterface<ConstantModel>(*ctx);
    SoftmaxOp::attachInterface<NormalizeModel<SoftmaxOp>>(*ctx);
    LogSoftmaxOp::attachInterface<NormalizeModel<LogSoftmaxOp>>(*ctx);
    LayerNormOp::attachInterface<NormalizeModel<LayerNormOp>>(*ctx);
    RMSNormOp::attachInterface<NormalizeModel<RMSNormOp>>(*ctx);
  }
};

} // namespace

void mlir::pz::registerShardingInterfaceExternalModels(DialectRegistry &registry) {
  registry.addExtensions<PZShardingExtension>();
}
