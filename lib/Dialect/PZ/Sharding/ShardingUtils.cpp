//===- ShardingUtils.cpp - helpers of the pz sharding models --------------===//

#include "ShardingUtils.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::shard;

namespace mlir::pz::sharding {
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
static std::string partialSumKind(Operation *op, FlatSymbolRefAttr grid, ArrayRef<GridAxis> axes,
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
  SmallVector<utils::IteratorType> loops = iface.getLoopIteratorTypes();
  SmallVector<AffineMap> maps = iface.getIndexingMaps();
  if (maps.empty()) {
    if (!llvm::all_of(operandShardings, isUnsplit) || !llvm::all_of(resultShardings, isUnsplit))
      return op->emitOpError()
             << "cannot be partitioned: a size-1 dim broadcasts, which the sharding "
                "rules cannot map; make the broadcast explicit or replicate the values";
    partitionFullyReplicatedOperation(*op, partitionedOperands, operandShardings,
                                      resultShardings, partitionMap, symbolTable, builder);
    return success();
  }
  ShardingArray assignment =
      getGridAxisAssignmentForLoopIterators(operandShardings, resultShardings, loops, maps);
  // Every value must be split as its map gives its loops, and no grid axis
  // may split two loops (upstream only asserts this, and the assertion is
  // compiled out: an inconsistent annotation would clone the op on the
  // wrong blocks).
  llvm::SmallDenseSet<GridAxis> used;
  for (ArrayRef<GridAxis> axes : assignment)
    for (GridAxis a : axes)
      if (!used.insert(a).second)
        return op->emitOpError() << "cannot be partitioned: grid axis " << a
                                 << " splits two of its loops";
  for (auto [v, map] : llvm::enumerate(maps)) {
    bool isResult = v >= operandShardings.size();
    const Sharding &s = isResult ? resultShardings[v - operandShardings.size()]
                                 : operandShardings[v];
    for (unsigned d = 0; d < map.getNumResults(); ++d) {
      auto dim = llvm::dyn_cast<AffineDimExpr>(map.getResult(d));
      ArrayRef<GridAxis> want;
      if (dim && dim.getPosition() < assignment.size())
        want = assignment[dim.getPosition()];
      if (splitOf(s, d) != want)
        return op->emitOpError()
               << "cannot be partitioned: " << (isResult ? "result " : "operand ")
               << (isResult ? v - operandShardings.size() : v) << " dim " << d
               << " is split unlike the other values indexed by the same loop";
    }
  }
  SmallVector<GridAxis> reduced = getReductionGridAxes(loops, assignment);
  partitionTriviallyShardableOperation(*op, partitionedOperands, operandShardings,
                                       resultShardings, partitionMap, symbolTable, builder);
  if (reduced.empty())
    return success();
  // The grid of the split operands (a rank-0 result has no sharding).
  FlatSymbolRefAttr grid;
  for (const Sharding &s : operandShardings)
    if (s && !grid)
      grid = s.getGridAttr();
  for (Value result : op->getResults())
    sumPartialResult(op, result, grid, reduced, partitionMap, symbolTable, builder);
  return success();
}

Value allReduce(OpBuilder &b, Location loc, Value v, FlatSymbolRefAttr grid,
                ArrayRef<GridAxis> axes, ReductionKind reduction, StringRef kind, Operation *op) {
  auto r = AllReduceOp::create(b, loc, v.getType(), grid, b.getDenseI16ArrayAttr(axes), v,
                               ReductionKindAttr::get(b.getContext(), reduction));
  r->setAttr("pz.comm", pzrt::ReasonAttr::get(b.getContext(), kind, sourceOf(op)));
  return r.getResult();
}

void sumPartialResult(Operation *op, Value result, FlatSymbolRefAttr grid,
                      ArrayRef<GridAxis> axes, IRMapping &partitionMap,
                      SymbolTableCollection &symbolTable, OpBuilder &builder) {
  partitionMap.map(result, allReduce(builder, op->getLoc(), partitionMap.lookup(result), grid,
                                     axes, ReductionKind::Sum,
                                     partialSumKind(op, grid, axes, symbolTable), op));
}

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

} // namespace mlir::pz::sharding

FailureOr<Value> mlir::pz::sharding::tpCoordinate(Operation *op, OpBuilder &b) {
  auto fn = op->getParentOfType<func::FuncOp>();
  Block *block = b.getInsertionBlock();
  for (unsigned i = 0; fn && i < fn.getNumArguments(); ++i)
    if (auto role = fn.getArgAttrOfType<RoleAttr>(i, PZDialect::kRoleAttrName);
        role && role.getValue() == Role::tp_index && i < block->getNumArguments())
      return block->getArgument(i);
  return op->emitOpError() << "cannot be partitioned by the rank's tp coordinate: its function "
                              "has no tp_index argument (#pz.role<tp_index>)";
}

Value mlir::pz::sharding::blockIndices(OpBuilder &b, Location loc, GridOp grid, int64_t size,
                                       ArrayRef<GridAxis> axes) {
  auto whole = RankedTensorType::get({size}, b.getI64Type());
  SmallVector<int64_t> iota;
  for (int64_t i = 0; i < size; ++i)
    iota.push_back(i);
  Value v = pz::ConstantOp::create(b, loc, whole, DenseElementsAttr::get(whole, ArrayRef(iota)))
                .getResult();
  for (GridAxis a : axes)
    v = AllSliceOp::create(b, loc, v, grid, ArrayRef<GridAxis>{a}, 0).getResult();
  return v;
}
