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

//===----------------------------------------------------------------------===//
// Verifiers: each cotangent must have the shape of the forward result it
// stands for.
//===----------------------------------------------------------------------===//

/// Checks that `grad` can be the cotangent of a forward result of `shape`.
static LogicalResult checkGradShape(Operation *op, Type grad,
                                    ArrayRef<int64_t> shape) {
  auto g = llvm::cast<RankedTensorType>(grad);
  bool ok = g.getRank() == static_cast<int64_t>(shape.size());
  for (int64_t d = 0; ok && d < g.getRank(); ++d)
    ok = dimsAgree(g.getDimSize(d), shape[d]);
  if (!ok)
    return op->emitOpError() << "grad has shape " << shapeStr(g.getShape())
                             << " but the forward result has shape "
                             << shapeStr(shape);
  return success();
}

static LogicalResult checkInputShape(Operation *op, ArrayRef<int64_t> shape) {
  if (llvm::any_of(shape, [](int64_t d) { return d < 0; }))
    return op->emitOpError() << "input_shape " << listStr(shape)
                             << " has a negative entry";
  return success();
}

LogicalResult SliceGradOp::verify() {
  ArrayRef<int64_t> in = getInputShape();
  if (failed(checkInputShape(*this, in)))
    return failure();
  ArrayRef<int64_t> starts = getStarts(), ends = getEnds(), steps = getSteps();
  if (starts.size() != in.size() || ends.size() != in.size() ||
      steps.size() != in.size())
    return emitOpError() << "starts, ends and steps need one entry per dim";
  SmallVector<int64_t> shape;
  for (size_t d = 0; d < in.size(); ++d) {
    std::string error;
    FailureOr<int64_t> count =
        sliceDimSize(d, in[d], starts[d], ends[d], steps[d], error);
    if (failed(count))
      return emitOpError() << error;
    shape.push_back(*count);
  }
  return checkGradShape(*this, getGrad().getType(), shape);
}

LogicalResult GatherGradOp::verify() {
  ArrayRef<int64_t> in = getInputShape();
  if (failed(checkInputShape(*this, in)))
    return failure();
  int64_t axis = getAxis();
  if (failed(checkAxis(getLoc(), axis, in.size())))
    return failure();
  SmallVector<int64_t> shape(in.take_front(axis));
  llvm::append_range(shape, getIndices().getType().getShape());
  llvm::append_range(shape, in.drop_front(axis + 1));
  return checkGradShape(*this, getGrad().getType(), shape);
}

LogicalResult EmbeddingGradOp::verify() {
  auto g = getGrad().getType();
  SmallVector<int64_t> shape(getIds().getType().getShape());
  shape.push_back(g.getRank() ? g.getShape().back() : 1);
  return checkGradShape(*this, g, shape);
}

LogicalResult ReduceMaxGradOp::verify() {
  auto in = getInput().getType();
  ArrayRef<int64_t> axes = getAxes();
  SmallVector<int64_t> shape;
  for (auto [i, a] : llvm::enumerate(axes)) {
    if (failed(checkAxis(getLoc(), a, in.getRank())))
      return failure();
    if (i && axes[i - 1] >= a)
      return emitOpError() << "axes must be sorted and unique";
  }
  for (int64_t d = 0; d < in.getRank(); ++d) {
    if (!llvm::is_contained(axes, d))
      shape.push_back(in.getDimSize(d));
    else if (getKeepdims())
      shape.push_back(1);
  }
  return checkGradShape(*this, getGrad().getType(), shape);
}

LogicalResult CrossEntropyGradOp::verify() {
  auto logits = getLogits().getType();
  auto labels = getLabels().getType();
  if (logits.getRank() < 1)
    return emitOpError() << "logits need a class dim";
  ArrayRef<int64_t> tokens = logits.getShape().drop_back();
  bool ok = labels.getRank() == static_cast<int64_t>(tokens.size());
  for (int64_t d = 0; ok && d < labels.getRank(); ++d)
    ok = dimsAgree(labels.getDimSize(d), tokens[d]);
  if (!ok)
    return emitOpError() << "labels have shape " << shapeStr(labels.getShape())
                         << " but the logits' token dims are "
                         << shapeStr(tokens);
  if (getReduction() == Reduction::none)
    return checkGradShape(*this, getGrad().getType(), tokens);
  return checkGradShape(*this, getGrad().getType(), {});
}

/// An attention gradient op (pz.attention_grad, pz.attention_bias_grad):
/// the forward op's shape rules, applied to the forward operands, and the
/// output's gradient of the forward result's shape.
template <typename Op> static LogicalResult verifyAttentionGrad(Op op) {
  auto q = op.getQuery().getType(), k = op.getKey().getType(), v = op.getValue().getType();
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return op.emitOpError() << "query, key and value must have rank 4";
  SmallVector<Type> inferred;
  if (failed(inferAttentionType(op.getLoc(), op.getQuery(), op.getKey(), op.getValue(),
                                inferred)) ||
      failed(verifyAttentionAttrs(op, q, k, op.getMask(), op.getScale(), op.getBias())))
    return failure();
  return checkGradShape(op, op.getGrad().getType(),
                        llvm::cast<RankedTensorType>(inferred[0]).getShape());
}

LogicalResult AttentionBiasGradOp::verify() { return verifyAttentionGrad(*this); }

LogicalResult AttentionGradOp::verify() { return verifyAttentionGrad(*this); }

LogicalResult AttentionBlockGradOp::verify() {
  return verifyAttentionBlock(*this, getQuery(), getKey(), getValue(), getMask(), getScale(),
                              getOut().getType(), getLse().getType(), getQueryPositions(),
                              getKeyPositions());
}
