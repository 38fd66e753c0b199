//===- InterpFold.h - Fold any node through the reference interpreter -----===//

#ifndef PZ_LIB_IMPORT_ONNX_INTERPFOLD_H
#define PZ_LIB_IMPORT_ONNX_INTERPFOLD_H

#include "OpRegistry.h"

namespace mlir::pz::onnx {

/// Evaluates the node of `ctx`, whose inputs are all known constants, by
/// running `lower` into a scratch function and the reference interpreter on
/// the ops it gave; sets the node's outputs to the results. Returns false
/// when the node is left to run time (the lowering fails, an op has no
/// kernel or is random, a result has more than kMaxFoldElements elements),
/// and failure after an error at the node: folding would pass
/// `state.maxFoldedElements`, or the evaluation fails.
FailureOr<bool> foldWithInterpreter(ImportState &state, NodeContext &ctx,
                                    LowerFn lower);

} // namespace mlir::pz::onnx

#endif // PZ_LIB_IMPORT_ONNX_INTERPFOLD_H
