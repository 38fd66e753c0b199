//===- FusePatterns.cpp - the pz-fuse-patterns pass -----------------------===//
//
// Collects the fusion pattern families (one file each) and applies them
// greedily, together with the ops' folders.
//
//===----------------------------------------------------------------------===//

#include "FuseUtils.h"

#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::pz {
#define GEN_PASS_DEF_FUSEPATTERNSPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-fuse-patterns"

using namespace mlir;
using namespace mlir::pz;

namespace {
struct FusePatternsPass
    : public mlir::pz::impl::FusePatternsPassBase<FusePatternsPass> {
  using Base::Base;

  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    fuse::populateFuseNormPatterns(patterns);
    fuse::populateFuseActivationPatterns(patterns);
    fuse::populateFuseAttentionPatterns(patterns);
    fuse::populateFuseMatmulTransposePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
