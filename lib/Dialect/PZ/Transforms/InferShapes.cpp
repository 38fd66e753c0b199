//===- InferShapes.cpp - refine result types from shape inference --------===//

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/Interfaces/InferTypeOpInterface.h"

namespace mlir::pz {
#define GEN_PASS_DEF_INFERSHAPESPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

using namespace mlir;
using namespace mlir::pz;

namespace {
/// The join of two compatible tensor types: each dim static where either
/// is. Null when nothing changes.
Type moreStatic(Type current, Type inferred) {
  auto c = llvm::dyn_cast<RankedTensorType>(current);
  auto i = llvm::dyn_cast<RankedTensorType>(inferred);
  if (!c || !i || c == i || c.getRank() != i.getRank() ||
      c.getElementType() != i.getElementType())
    return nullptr;
  SmallVector<int64_t> shape(c.getShape());
  bool changed = false;
  for (auto [d, size] : llvm::enumerate(i.getShape())) {
    if (ShapedType::isDynamic(shape[d]) && !ShapedType::isDynamic(size)) {
      shape[d] = size;
      changed = true;
    }
  }
  return changed ? c.clone(shape) : nullptr;
}

struct InferShapesPass : public mlir::pz::impl::InferShapesPassBase<InferShapesPass> {
  using Base::Base;

  void runOnOperation() override {
    bool failedAny = false;
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (fn.isExternal())
        continue;
      fn.walk([&](InferTypeOpInterface op) {
        if (!llvm::isa<PZDialect>(op->getDialect()))
          return;
        SmallVector<Type> inferred;
        if (failed(op.inferReturnTypes(
                op->getContext(), op->getLoc(), op->getOperands(),
                op->getAttrDictionary(), op->getPropertiesStorage(),
                op->getRegions(), inferred))) {
          failedAny = true;
          return;
        }
        for (auto [res, type] : llvm::zip(op->getResults(), inferred))
          if (Type refined = moreStatic(res.getType(), type))
            res.setType(refined);
      });
      Operation *ret = fn.getBody().back().getTerminator();
      fn.setFunctionType(FunctionType::get(
          &getContext(), fn.getArgumentTypes(), ret->getOperandTypes()));
    }
    if (failedAny)
      signalPassFailure();
  }
};
} // namespace
