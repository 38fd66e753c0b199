//===- InferShapes.cpp - refine result types from shape inference --------===//

#include "pz/Dialect/PZ/Transforms/Passes.h"
#include "pz/Dialect/PZ/Transforms/ShapeRefinement.h"

namespace mlir::pz {
#define GEN_PASS_DEF_INFERSHAPESPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-infer-shapes"

using namespace mlir;

namespace {
struct InferShapesPass
    : public mlir::pz::impl::InferShapesPassBase<InferShapesPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(pz::refineShapes(getOperation())))
      signalPassFailure();
  }
};
} // namespace
