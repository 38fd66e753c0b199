//===- InterleaveQkv.h - undo a per-rank layout tp did not split -*- C++ -*-===//
//
// pz-interleave-qkv reorders a fused projection's parameters for tp before
// autodiff; when pz-tensor-parallel then keeps one of them whole, the
// reordering must not reach the runtime. docs/design/0014-tensor-parallel.md.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_TRANSFORMS_INTERLEAVEQKV_H
#define PZ_DIALECT_PZ_TRANSFORMS_INTERLEAVEQKV_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace mlir::pz {

/// For each parameter of the module's pz.split_groups that `isWhole` says
/// tp keeps whole: @forward_backward `fn` reads it in the stored layout
/// and reorders it where each op reads it (the reordering pz-interleave-qkv chose,
/// for tp = `tp`), and returns its gradient reordered back, so that the
/// runtime, the other step functions and the optimizer see the stored
/// layout; the name leaves pz.split_groups.
void restoreStoredLayout(func::FuncOp fn, int64_t tp,
                         llvm::function_ref<bool(StringRef)> isWhole);

} // namespace mlir::pz

#endif // PZ_DIALECT_PZ_TRANSFORMS_INTERLEAVEQKV_H
