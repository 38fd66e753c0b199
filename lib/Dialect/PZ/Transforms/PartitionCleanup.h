//===- PartitionCleanup.h - after shard-partition, before lowering -*- C++ -*-===//
//
// The rewrites pz-tensor-parallel applies to a function that upstream
// `shard-partition` has partitioned: the collectives take the forms the
// runtime has (all_reduce + all_slice is one reduce_scatter; gathers and
// scatters run along dim 0; an all_slice is a local chunk), and repeated
// communication goes (a sum of all-reduced partial sums communicates once;
// identical gathers of one value are one). docs/design/0014-tensor-parallel.md.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_TRANSFORMS_PARTITIONCLEANUP_H
#define PZ_DIALECT_PZ_TRANSFORMS_PARTITIONCLEANUP_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::pz {

/// tensor.cast between equal types (shard-partition's reshards leave them).
void removeIdentityCasts(func::FuncOp fn);

/// The partitioned function holds no cast (left by a reshard that
/// shard-partition could not do: its known silent miscompiles), no
/// annotation and no collective but all_reduce, all_gather,
/// reduce_scatter, all_slice and shift; else an error at the op, from `pass`.
LogicalResult verifyPartitioned(func::FuncOp fn, StringRef pass);

/// An all-reduce (sum) read only by all_slices over the same grid axes
/// along one dim is one reduce_scatter along that dim (Megatron's sequence
/// parallelism: a partial sum whose users read its blocks of the
/// sequence). Its reason's kind moves from "tp." to "sp.".
void scatterPartialSums(func::FuncOp fn);

/// An all-reduce (sum) read only by a pz.reduce_sum or pz.reshape runs
/// after it, on the smaller or equal value (both are linear): a batched
/// weight gradient [b, n, k] is summed over the batch before it is
/// communicated.
void sinkAllReduces(func::FuncOp fn);

/// In each tree of adds, the leaves that are all-reduces (or
/// reduce-scatters along one dim) of one kind over the same axes are added
/// first and communicated once.
void combinePartialSums(func::FuncOp fn);

/// Identical all_gathers (and all_slices) of one value are the first one.
void mergeIdenticalCollectives(func::FuncOp fn);

/// An all-gather before `boundary` (the op that yields the loss) whose
/// value the backward pass reads too is done again, before the backward
/// pass's first read, so that the gathered copy does not live across the
/// step: Megatron's sequence parallelism stores each column-parallel
/// linear's input split and all-gathers it again for the weight gradient.
void regatherAfter(func::FuncOp fn, Operation *boundary);

/// An all_slice (each rank's block of a whole value along one dim, no
/// communication) becomes pz.shard_chunk of the value with that dim moved
/// first and flattened.
void lowerAllSlices(func::FuncOp fn);

/// The runtime gathers and scatters along dim 0 only: a collective along
/// dim k runs between two transposes that bring dim k first and back.
void collectivesAlongDimZero(func::FuncOp fn);

} // namespace mlir::pz

#endif // PZ_DIALECT_PZ_TRANSFORMS_PARTITIONCLEANUP_H
