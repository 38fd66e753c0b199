//===- ShardingUtils.h - helpers of the pz sharding models -------*- C++ -*-===//
//
// Shared by the external models of shard::ShardingInterface on pz ops
// (BoxModels.cpp, ShapeModels.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_DIALECT_PZ_SHARDING_SHARDINGUTILS_H
#define PZ_LIB_DIALECT_PZ_SHARDING_SHARDINGUTILS_H

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Shard/Interfaces/ShardingInterfaceImpl.h"
#include "mlir/IR/BuiltinTypes.h"

#include <optional>
#include <string>

namespace mlir::pz::sharding {

using shard::GridAxis;
using shard::Sharding;

inline RankedTensorType rankedType(Value v) {
  return llvm::dyn_cast<RankedTensorType>(v.getType());
}

/// The map of an operand broadcast numpy-style into loops over the dims of
/// `result`: right-aligned, a missing leading dim dropped. None when a
/// size-1 dim stretches to a larger one.
std::optional<AffineMap> broadcastMap(RankedTensorType operand, RankedTensorType result,
                                      unsigned numLoops, unsigned firstLoop);

/// The op's source for reasons: its location's name, else the op's name.
std::string sourceOf(Operation *op);

/// No sharding, or one that splits nothing.
inline bool isUnsplit(const Sharding &s) { return !s || shard::isFullReplication(s); }

/// The grid axes dim `d` of a value is split over (none past the listed dims).
ArrayRef<GridAxis> splitOf(const Sharding &s, int64_t d);

/// The op on the local shards; each result all-reduced over the grid axes of
/// the reduction loops that are split (a partial sum on every rank), with
/// its reason.
LogicalResult partitionWithPartialSums(Operation *op, ArrayRef<Value> partitionedOperands,
                                       ArrayRef<Sharding> operandShardings,
                                       ArrayRef<Sharding> resultShardings,
                                       IRMapping &partitionMap,
                                       SymbolTableCollection &symbolTable, OpBuilder &builder);

/// `v` all-reduced over `axes` of `grid`, the collective carrying its
/// reason (`kind`, and `op`'s source).
Value allReduce(OpBuilder &b, Location loc, Value v, FlatSymbolRefAttr grid,
                ArrayRef<GridAxis> axes, shard::ReductionKind reduction, StringRef kind,
                Operation *op);

/// Replaces the partitioned `result` (a partial sum on every rank) by its
/// all-reduce over `axes` of `grid`, with its reason: "tp.partial_sum" (the
/// axes' names on the program's grid, else "partial_sum") and the op's
/// source.
void sumPartialResult(Operation *op, Value result, FlatSymbolRefAttr grid,
                      ArrayRef<GridAxis> axes, IRMapping &partitionMap,
                      SymbolTableCollection &symbolTable, OpBuilder &builder);

/// Each operand dim of a numpy-style broadcast must be split as the result
/// dim it broadcasts to, and a stretched size-1 dim not at all.
LogicalResult checkBroadcastSplits(Operation *op, ArrayRef<Sharding> operandShardings,
                                   const Sharding &resultSharding);

/// The local type of `v` under `s`, or failure with an error when a split
/// does not divide its dim.
FailureOr<RankedTensorType> localType(Operation *op, Value v, const Sharding &s,
                                      SymbolTableCollection &symbolTable);

/// A model whose partition is partitionWithPartialSums over its maps.
template <typename Model, typename Op>
struct PartialSumModel : public shard::ShardingInterface::ExternalModel<Model, Op> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    return partitionWithPartialSums(op, partitionedOperands, operandShardings, resultShardings,
                                    partitionMap, symbolTable, builder);
  }
};

/// This rank's coordinate on the tp axis inside the function being
/// partitioned: its `tp_index` argument (#pz.role<tp_index>), which
/// pz-tensor-parallel adds and the driver fills. An error at `op` when the
/// function has none.
FailureOr<Value> tpCoordinate(Operation *op, OpBuilder &b);

/// The rank's indices into [0, size) of a dim split over `axes` of `grid`
/// (outer first): arange(size) all-sliced over each axis in turn, one
/// all_slice per axis, so that context parallelism's zigzag pass permutes
/// the slice over cp (ContextParallel.h) like any other.
Value blockIndices(OpBuilder &b, Location loc, shard::GridOp grid, int64_t size,
                   ArrayRef<GridAxis> axes);

/// Ring attention (RingAttention.cpp): pz.attention or pz.attention_grad
/// whose query and key sequences are split alike over `axis` of `grid`.
LogicalResult partitionRingAttention(Operation *op, ArrayRef<Value> partitionedOperands,
                                     shard::GridOp grid, GridAxis axis, IRMapping &partitionMap,
                                     OpBuilder &builder);

/// Attach the models of BoxModels.cpp and ShapeModels.cpp.
void attachBoxModels(MLIRContext *ctx);
void attachShapeModels(MLIRContext *ctx);
void attachVocabModels(MLIRContext *ctx);

} // namespace mlir::pz::sharding

#endif // PZ_LIB_DIALECT_PZ_SHARDING_SHARDINGUTILS_H
