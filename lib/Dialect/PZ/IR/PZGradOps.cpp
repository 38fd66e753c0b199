//===- PZGradOps.cpp - shape inference of the gradient-only ops -----------===//

#include "ShapeUtils.h"
#include "pz/Dialect/PZ/IR/PZOps.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::detail;

/// input, plus its normalised trailing shape `count` times.
static LogicalResult inferNormGrad(MaybeLoc loc, Value input, int64_t axis,
                                   unsigned count,
                                   SmallVectorImpl<Type> &inferred) {
  auto t = rankedOrError(loc, input, "input");
  if (!t || failed(checkAxis(loc, axis, t.getRank())))
    return failure();
  inferred.push_back(t);
  auto normalized =
      RankedTensorType::get(t.getShape().drop_front(axis), t.getElementType());
  inferred.append(count, normalized);
  return success();
}

LogicalResult LayerNormGradOp::inferReturnTypes(
    MLIRContext *, MaybeLoc loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  return inferNormGrad(loc, adaptor.getInput(), adaptor.getAxis(), 2, inferred);
}

LogicalResult RMSNormGradOp::inferReturnTypes(
    MLIRContext *, MaybeLoc loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  return inferNormGrad(loc, adaptor.getInput(), adaptor.getAxis(), 1, inferred);
}

LogicalResult SliceGradOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto g = rankedOrError(loc, adaptor.getGrad(), "grad");
  if (!g)
    return failure();
  ArrayRef<int64_t> shape = adaptor.getInputShape();
  if (static_cast<int64_t>(shape.size()) != g.getRank())
    return emitOptionalError(loc, "input_shape ", listStr(shape),
                             " must have the grad's rank ", g.getRank());
  inferred.push_back(RankedTensorType::get(shape, g.getElementType()));
  return success();
}

LogicalResult GatherGradOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &inferred) {
  auto g = rankedOrError(loc, adaptor.getGrad(), "grad");
  if (!g)
    return failure();
  ArrayRef<int64_t> shape = adaptor.getInputShape();
  if (failed(checkAxis(loc, adaptor.getAxis(), shape.size())))
    return failure();
  inferred.push_back(RankedTensorType::get(shape, g.getElementType()));
  return success();
}

LogicalResult EmbeddingGradOp::inferReturnTypes(
    MLIRContext *, MaybeLoc loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  auto g = rankedOrError(loc, adaptor.getGrad(), "grad");
  if (!g)
    return failure();
  if (g.getRank() < 1 || adaptor.getVocab() < 1)
    return emitOptionalError(loc, "needs a grad of rank >= 1 and vocab >= 1");
  inferred.push_back(RankedTensorType::get(
      {static_cast<int64_t>(adaptor.getVocab()), g.getShape().back()},
      g.getElementType()));
  return success();
}
