//===- SplitRules.h - how each pz op carries splits forward ------*- C++ -*-===//
//
// The plan annotator (pz-tensor-parallel) gives every value of a function a
// split: per dim, the grid axis it is split over in equal blocks, or whole.
// It walks the ops in order and asks forwardSplits() what each op does with
// the splits of its operands: which split each operand must have (an
// operand split unlike that is all-gathered whole by shard-partition's
// reshard) and which its results get. The rules agree with the ops'
// sharding models (ShardingModels.h), so that shard-partition accepts every
// op as annotated; docs/design/0014-tensor-parallel.md.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_SHARDING_SPLITRULES_H
#define PZ_DIALECT_PZ_SHARDING_SPLITRULES_H

#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <optional>

namespace mlir::pz::sharding {

/// On a cross-entropy (and its gradient) whose logits pz-tensor-parallel
/// padded: the count of real classes; the model masks the others
/// (VocabModels.cpp, Transforms/VocabPadding.h).
constexpr llvm::StringLiteral kValidClassesAttrName = "pz.valid_classes";

/// On a pz.attention (and its gradient) that context parallelism runs as
/// a ring (pz-tensor-parallel marks them): its keys split along the
/// sequence like its queries (RingAttention.cpp).
constexpr llvm::StringLiteral kRingAttrName = "pz.ring";

/// Per dim, the grid axis the dim is split over, kWhole, or
/// kContextTensor.
using DimAxes = SmallVector<int16_t, 4>;
constexpr int16_t kWhole = -1;
/// Sequence parallelism under context parallelism: a sequence split over
/// cp (zigzag) and, within each cp rank's tokens, over tp in equal blocks
/// (shard split axes [cp, tp]); SplitContext::gridAxes.
constexpr int16_t kContextTensor = 0x100;

/// A value whole in every dim.
DimAxes wholeAxes(Value v);
bool isWhole(ArrayRef<int16_t> axes);

/// An operand's split as the rules see it: known, or undecided (a
/// parameter at its first use, a splat constant), which takes the split
/// the op gives it.
using OperandAxes = std::optional<DimAxes>;

struct OpSplits {
  SmallVector<DimAxes> operands; // the split each operand must have
  SmallVector<DimAxes> results;
};

struct SplitContext {
  /// The grid's axis sizes (pp x dp_replicate x dp_shard x cp x tp).
  ArrayRef<int64_t> gridShape;
  /// The axis an undecided right-hand weight of a matmul is split over when
  /// its input is whole (Megatron's column-parallel linear); -1: none.
  int16_t columnAxis = kWhole;
  /// Sequence parallelism: the axis activations are split over along the
  /// sequence (the tp axis under `sp`; kContextTensor under sp with cp),
  /// and the token shape [batch, seq] of the step's data; kWhole: no
  /// sequence parallelism.
  int16_t sequenceAxis = kWhole;
  int64_t batch = 0, seq = 0;
  /// Context parallelism: the axis (cp) every value derived from the token
  /// sequence is split over along it, in the zigzag layout
  /// (docs/design/0015-context-parallel.md); kWhole: none. A split over it
  /// beats a whole operand, which each rank then slices locally.
  int16_t contextAxis = kWhole;
  /// Matmuls that read their input's sequence whole (all-gathered) even
  /// where a whole weight would let them run on the rank's tokens: the k
  /// and v projections of replicated kv heads, whose outputs the attention
  /// needs whole.
  const llvm::DenseSet<Operation *> *wholeSequence = nullptr;

  /// The grid axes a split stands for, outer first (none for kWhole).
  SmallVector<int16_t, 2> gridAxes(int16_t a) const;
  /// The split made of `axes` (a prefix of a split's gridAxes).
  int16_t splitOf(ArrayRef<int16_t> axes) const;
  /// How many blocks a split cuts its dim into.
  int64_t ranks(int16_t a) const;
  /// Whether two splits share a grid axis.
  bool overlap(int16_t a, int16_t b) const;
};

/// Under sequence parallelism, the dim of `v` that holds the sequence: dim
/// 1 of a value of rank >= 3 whose leading dims are [batch or 1, seq]
/// (the hidden states [b, s, h], the heads' layout [b, s, H, d]); -1 for
/// every other value, and without sequence parallelism.
int64_t sequenceDim(Value v, const SplitContext &ctx);

/// Whether `axes` split `v` along its sequence over the sequence axis (a
/// sequence split, which yields to any other split over that axis: the
/// rules then all-gather the value along its sequence, as Megatron's
/// sequence parallelism does before a column-parallel linear).
bool isSequenceSplit(Value v, ArrayRef<int16_t> axes, const SplitContext &ctx);

/// The splits `op` takes given its operands' (rule table in SplitRules.cpp).
/// Ops without a rule take every value whole.
OpSplits forwardSplits(Operation *op, ArrayRef<OperandAxes> operands, const SplitContext &ctx);

} // namespace mlir::pz::sharding

#endif // PZ_DIALECT_PZ_SHARDING_SPLITRULES_H
