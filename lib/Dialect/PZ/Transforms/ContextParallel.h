//===- ContextParallel.h - cp's rewrites around the tp walk -------*- C++ -*-===//
//
// Context parallelism splits every value derived from the token sequence
// over the grid's cp axis, in the zigzag layout: with n ranks the sequence
// is cut into 2n equal chunks and rank r holds chunks r and 2n-1-r (causal
// attention then costs every rank the same). pz-tensor-parallel runs these
// rewrites before its walk (the causal mask made explicit, the loss's
// flattening folded away) and after shard-partition (the zigzag order put
// around each collective that splits or joins the sequence over cp).
// docs/design/0015-context-parallel.md.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_TRANSFORMS_CONTEXTPARALLEL_H
#define PZ_DIALECT_PZ_TRANSFORMS_CONTEXTPARALLEL_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::pz {

/// The zigzag order of a sequence of `seq` tokens over `n` ranks: element
/// i is the position (in the single rank's order) of the token at place i
/// of the ranks' blocks laid end to end.
SmallVector<int64_t> zigzagOrder(int64_t seq, int64_t n);

/// Causal attention (and its gradient) that does not run as a ring (no
/// pz.ring) with an explicit i1 mask [Sq, Sk] (key position <= query
/// position) instead of `causal`, so that each rank's queries, split along
/// the sequence, keep their positions when they meet the all-gathered keys.
/// Fails for such a causal attention that also has a mask.
LogicalResult makeCausalMasksExplicit(func::FuncOp fn, StringRef pass);

/// A cross-entropy (and its gradient) over logits and labels flattened from
/// [tokens..., classes] and [tokens...] runs on the unflattened values (a
/// flattened dim cannot carry a split of its minor part), and reshape
/// chains collapse.
void foldLossReshapes(func::FuncOp fn);

/// After shard-partition: each all_slice and reduce_scatter over `axis`
/// along a dim of `seq` elements reads its input in zigzag order, and each
/// such all_gather's result is put back in the single rank's order (a
/// pz.gather along the dim), so that rank r holds chunks r and 2n-1-r. A
/// collective over `axis` and another axis along such a dim is an error
/// (not built).
LogicalResult zigzagSequence(func::FuncOp fn, int16_t axis, int64_t n, int64_t seq,
                             StringRef pass);

} // namespace mlir::pz

#endif // PZ_DIALECT_PZ_TRANSFORMS_CONTEXTPARALLEL_H
