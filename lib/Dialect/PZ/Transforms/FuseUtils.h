//===- FuseUtils.h - Matching helpers for pz-fuse-patterns ----------------===//
//
// The fusion patterns (FuseNorms.cpp, FuseActivations.cpp,
// FuseAttention.cpp, FuseMatmulTranspose.cpp) share these matchers:
// constants by value, commutative operands and product trees.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_DIALECT_PZ_TRANSFORMS_FUSEUTILS_H
#define PZ_LIB_DIALECT_PZ_TRANSFORMS_FUSEUTILS_H

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/IR/PatternMatch.h"

#include <optional>

namespace mlir::pz::fuse {

/// The value of a constant whose elements are all equal and whose shape
/// has no dim other than 1 (so that it cannot broadcast a result larger).
std::optional<double> getScalarConstant(Value v);

/// True when `value` equals `want` up to a few ulps of the float type
/// `elem` (f64, f32, f16 or bf16 precision).
bool isNear(double value, double want, Type elem);

/// True when `v` is a scalar constant near `want`.
bool isConstantNear(Value v, double want);

/// The defining op of `v` if it is an `OpTy`, else null.
template <typename OpTy> OpTy defOf(Value v) {
  return v ? v.getDefiningOp<OpTy>() : OpTy();
}

/// The defining op of `v` if it is an `OpTy` whose result has one use.
template <typename OpTy> OpTy singleUseDefOf(Value v) {
  OpTy op = defOf<OpTy>(v);
  return op && op->getResult(0).hasOneUse() ? op : OpTy();
}

/// Calls `f(a, b)` and, when that fails, `f(b, a)`; returns whether either
/// succeeded. For commutative binary ops.
template <typename F> bool eitherOrder(Value a, Value b, F f) {
  return f(a, b) || f(b, a);
}

/// The leaves of the product tree rooted at `v`: `v` itself when it is not
/// a `pz.mul`, else the leaves of its operands. Inner products must have
/// a single use (the root need not).
void collectFactors(Value v, SmallVectorImpl<Value> &factors,
                    bool isRoot = true);

/// Builds an `OpTy` when its shape inference accepts the operands (quietly
/// failing otherwise, where `OpTy::create` would abort).
template <typename OpTy, typename... Args>
FailureOr<OpTy> tryCreate(PatternRewriter &rewriter, Location loc,
                          Args &&...args) {
  OperationState state(loc, OpTy::getOperationName());
  OpTy::build(rewriter, state, TypeRange{}, std::forward<Args>(args)...);
  SmallVector<Type> types;
  if (failed(OpTy::inferReturnTypes(
          rewriter.getContext(), std::nullopt, state.operands,
          state.attributes.getDictionary(rewriter.getContext()),
          state.getRawProperties(), state.regions, types)))
    return failure();
  state.addTypes(types);
  return llvm::cast<OpTy>(rewriter.create(state));
}

/// The normalised dims `[axis, rank)` when `axes` is exactly that range.
std::optional<int64_t> trailingAxis(ArrayRef<int64_t> axes, int64_t rank);

void populateFuseNormPatterns(RewritePatternSet &patterns);
void populateFuseActivationPatterns(RewritePatternSet &patterns);
void populateFuseAttentionPatterns(RewritePatternSet &patterns);
void populateFuseMatmulTransposePatterns(RewritePatternSet &patterns);

} // namespace mlir::pz::fuse

#endif // PZ_LIB_DIALECT_PZ_TRANSFORMS_FUSEUTILS_H
