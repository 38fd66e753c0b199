//===- FuseMatmulTranspose.cpp - matmul of a transposed operand -----------===//
//
// `nn.Linear` exports as `MatMul(x, Transpose(W))`; the transpose of the
// last two dims folds into pz.matmul's transpose flags, so the weight is
// read in place: `pz.matmul %x, %w {transpose_rhs}`.
//
//===----------------------------------------------------------------------===//

#include "FuseUtils.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::fuse;

namespace {

/// The input of a pz.transpose that swaps the last two dims and keeps the
/// others in place.
Value swappedLastTwo(Value v) {
  auto t = defOf<TransposeOp>(v);
  if (!t)
    return nullptr;
  ArrayRef<int64_t> p = t.getPermutation();
  int64_t rank = p.size();
  if (rank < 2 || p[rank - 1] != rank - 2 || p[rank - 2] != rank - 1)
    return nullptr;
  for (int64_t d = 0; d < rank - 2; ++d)
    if (p[d] != d)
      return nullptr;
  return t.getInput();
}

struct FuseMatmulTranspose : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp mm,
                                PatternRewriter &rewriter) const override {
    Value lhs = swappedLastTwo(mm.getLhs());
    Value rhs = swappedLastTwo(mm.getRhs());
    if (!lhs && !rhs)
      return failure();
    rewriter.modifyOpInPlace(mm, [&] {
      if (lhs) {
        mm.getLhsMutable().assign(lhs);
        mm.setTransposeLhs(!mm.getTransposeLhs());
      }
      if (rhs) {
        mm.getRhsMutable().assign(rhs);
        mm.setTransposeRhs(!mm.getTransposeRhs());
      }
    });
    return success();
  }
};

} // namespace

void mlir::pz::fuse::populateFuseMatmulTransposePatterns(
    RewritePatternSet &patterns) {
  patterns.add<FuseMatmulTranspose>(patterns.getContext());
}
