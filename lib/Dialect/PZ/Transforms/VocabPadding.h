//===- VocabPadding.h - pad a vocabulary tp does not divide -----*- C++ -*-===//
//
// Megatron pads the vocabulary to a multiple of tp; so does pz-tensor-parallel
// before it splits the step. docs/design/0014-tensor-parallel.md.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_TRANSFORMS_VOCABPADDING_H
#define PZ_DIALECT_PZ_TRANSFORMS_VOCABPADDING_H

#include "pz/Dialect/PZ/Sharding/SplitRules.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::pz {

/// When the word embedding of @forward_backward (a parameter table looked
/// up by data, with at least as many rows as columns) has V rows that `tp`
/// does not divide, pads V to the next multiple of tp in that table and in
/// the parameters the logits' classes come from (a separate head weight,
/// its bias), in every function, with their gradients, accumulators and
/// optimizer states; marks the cross-entropies that read the padded
/// logits with V (sharding::kValidClassesAttrName) and records V as the
/// step's vocabulary (pz.vocab). Returns the stored
/// (unpadded) shape of each padded parameter, by name: empty when nothing
/// needed padding or the padding could not be proved harmless (a remark
/// then says why, and the vocabulary stays whole).
///
/// Padded rows are zero wherever the driver fills them, and the padding
/// keeps them zero: only ops that map zeros to zeros may read a padded
/// value, and the padded logits (x . 0) are masked in the loss, so their
/// gradient is zero too.
/// Fails (with an error at the op) when an op's shapes no longer agree
/// after padding.
FailureOr<llvm::StringMap<SmallVector<int64_t>>> padVocabulary(ModuleOp module, int64_t tp,
                                                               StringRef pass);

} // namespace mlir::pz

#endif // PZ_DIALECT_PZ_TRANSFORMS_VOCABPADDING_H
