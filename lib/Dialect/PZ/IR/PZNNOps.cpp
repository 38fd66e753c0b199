//===- PZNNOps.cpp - matmul, norms, attention, losses, optimizer updates --===//

#include "ShapeUtils.h"
#include "pz/Dialect/PZ/IR/PZOps.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::detail;

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto a = rankedOrError(loc, adaptor.getLhs(), "lhs");
  auto b = rankedOrError(loc, adaptor.getRhs(), "rhs");
  if (!a || !b)
    return failure();
  if (a.getRank() < 2 || b.getRank() < 2)
    return emitOptionalError(loc, "operands need rank >= 2, got ", a, " and ",
                             b);
  int64_t ra = a.getRank(), rb = b.getRank();
  bool ta = adaptor.getTransposeLhs(), tb = adaptor.getTransposeRhs();
  int64_t m = a.getDimSize(ta ? ra - 1 : ra - 2);
  int64_t ka = a.getDimSize(ta ? ra - 2 : ra - 1);
  int64_t kb = b.getDimSize(tb ? rb - 1 : rb - 2);
  int64_t n = b.getDimSize(tb ? rb - 2 : rb - 1);
  if (!dimsAgree(ka, kb))
    return emitOptionalError(loc, "contraction dims differ: lhs ",
                             shapeStr(a.getShape()), ta ? " (transposed)" : "",
                             " has K = ", ka, ", rhs ", shapeStr(b.getShape()),
                             tb ? " (transposed)" : "", " has K = ", kb);
  SmallVector<int64_t> batch;
  if (failed(broadcastOrError(loc, a.getShape().drop_back(2),
                              b.getShape().drop_back(2), batch)))
    return failure();
  batch.push_back(m);
  batch.push_back(n);
  inferred.push_back(RankedTensorType::get(batch, a.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// layer_norm, rms_norm
//===----------------------------------------------------------------------===//

static LogicalResult verifyNorm(Operation *op, RankedTensorType input,
                                int64_t axis, double epsilon,
                                ArrayRef<std::pair<StringRef, Value>> affine) {
  if (failed(checkAxis(op->getLoc(), axis, input.getRank())))
    return failure();
  if (!(epsilon > 0.0))
    return op->emitOpError() << "epsilon must be positive, got " << epsilon;
  ArrayRef<int64_t> normalized = input.getShape().drop_front(axis);
  for (auto [name, v] : affine) {
    if (!v)
      continue;
    auto t = llvm::cast<RankedTensorType>(v.getType());
    bool ok = t.getRank() == static_cast<int64_t>(normalized.size()) &&
              llvm::all_of(llvm::zip(t.getShape(), normalized), [](auto p) {
                return dimsAgree(std::get<0>(p), std::get<1>(p));
              });
    if (!ok)
      return op->emitOpError()
             << name << " has shape " << shapeStr(t.getShape())
             << " but the normalised dims are " << shapeStr(normalized);
    if (t.getElementType() != input.getElementType())
      return op->emitOpError() << name << " element type "
                               << t.getElementType()
                               << " differs from the input's "
                               << input.getElementType();
  }
  return success();
}

/// Norms keep their input's type.
static LogicalResult inferLikeInput(MaybeLoc loc, Value input,
                                    SmallVectorImpl<Type> &inferred) {
  auto t = rankedOrError(loc, input, "input");
  if (!t)
    return failure();
  inferred.push_back(t);
  return success();
}

LogicalResult LayerNormOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  return inferLikeInput(loc, adaptor.getInput(), inferred);
}

LogicalResult LayerNormOp::verify() {
  return verifyNorm(*this, getInput().getType(), getAxis(),
                    getEpsilon().convertToDouble(),
                    {{"scale", getScale()}, {"bias", getBias()}});
}

LogicalResult RMSNormOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  return inferLikeInput(loc, adaptor.getInput(), inferred);
}

LogicalResult RMSNormOp::verify() {
  return verifyNorm(*this, getInput().getType(), getAxis(),
                    getEpsilon().convertToDouble(), {{"scale", getScale()}});
}

//===----------------------------------------------------------------------===//
// cross_entropy
//===----------------------------------------------------------------------===//

LogicalResult CrossEntropyOp::inferReturnTypes(
    MLIRContext *, MaybeLoc loc, Adaptor adaptor,
    SmallVectorImpl<Type> &inferred) {
  auto logits = rankedOrError(loc, adaptor.getLogits(), "logits");
  auto labels = rankedOrError(loc, adaptor.getLabels(), "labels");
  if (!logits || !labels)
    return failure();
  if (logits.getRank() < 1)
    return emitOptionalError(loc, "logits need a class dim, got ", logits);
  ArrayRef<int64_t> tokens = logits.getShape().drop_back();
  bool ok = labels.getRank() == static_cast<int64_t>(tokens.size()) &&
            llvm::all_of(llvm::zip(labels.getShape(), tokens), [](auto p) {
              return dimsAgree(std::get<0>(p), std::get<1>(p));
            });
  if (!ok)
    return emitOptionalError(loc, "labels have shape ",
                             shapeStr(labels.getShape()),
                             " but the logits' token dims are ",
                             shapeStr(tokens));
  if (adaptor.getReduction() == Reduction::none)
    inferred.push_back(RankedTensorType::get(tokens, logits.getElementType()));
  else
    inferred.push_back(RankedTensorType::get({}, logits.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  return inferAttentionType(loc, adaptor.getQuery(), adaptor.getKey(), adaptor.getValue(),
                            inferred);
}

LogicalResult mlir::pz::detail::inferAttentionType(MaybeLoc loc, Value query, Value key,
                                                   Value value,
                                                   SmallVectorImpl<Type> &inferred) {
  auto q = rankedOrError(loc, query, "query");
  auto k = rankedOrError(loc, key, "key");
  auto v = rankedOrError(loc, value, "value");
  if (!q || !k || !v)
    return failure();
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return emitOptionalError(
        loc, "query, key and value must have rank 4 ([batch, heads, seq, "
             "dim]), got ",
        q, ", ", k, " and ", v);
  auto dim = [](RankedTensorType t, int i) { return t.getDimSize(i); };
  if (!dimsAgree(dim(q, 0), dim(k, 0)) || !dimsAgree(dim(k, 0), dim(v, 0)))
    return emitOptionalError(loc, "batch sizes differ: query ", dim(q, 0),
                             ", key ", dim(k, 0), ", value ", dim(v, 0));
  if (!dimsAgree(dim(k, 1), dim(v, 1)))
    return emitOptionalError(loc, "key has ", dim(k, 1), " heads but value has ",
                             dim(v, 1));
  if (!dimsAgree(dim(k, 2), dim(v, 2)))
    return emitOptionalError(loc, "key has sequence length ", dim(k, 2),
                             " but value has ", dim(v, 2));
  if (!dimsAgree(dim(q, 3), dim(k, 3)))
    return emitOptionalError(loc, "query head dim ", dim(q, 3),
                             " differs from key head dim ", dim(k, 3));
  int64_t h = dim(q, 1), hkv = dim(k, 1);
  if (h == 0 || hkv == 0)
    return emitOptionalError(loc, "query heads (", h, ") and key/value heads (",
                             hkv, ") must be positive");
  if (!ShapedType::isDynamic(h) && !ShapedType::isDynamic(hkv) && h % hkv != 0)
    return emitOptionalError(loc, "query heads (", h,
                             ") must be a multiple of key/value heads (", hkv,
                             ")");
  inferred.push_back(RankedTensorType::get(
      {mergeDims(dim(q, 0), dim(k, 0)), h, dim(q, 2), dim(v, 3)},
      q.getElementType()));
  return success();
}

LogicalResult AttentionOp::verify() {
  return verifyAttentionAttrs(*this, getQuery().getType(), getKey().getType(),
                              getMask(), getScale(), getBias());
}

LogicalResult AttentionBlockOp::verify() {
  return verifyAttentionBlock(*this, getQuery(), getKey(), getValue(), getMask(), getScale(),
                              getAcc().getType(), getLse().getType(), getQueryPositions(),
                              getKeyPositions());
}

LogicalResult mlir::pz::detail::verifyAttentionBlock(Operation *op, Value query, Value key,
                                                     Value value, Value mask,
                                                     std::optional<APFloat> scale, Type out,
                                                     Type lse, Value queryPositions,
                                                     Value keyPositions) {
  SmallVector<Type> inferred;
  auto q = llvm::cast<RankedTensorType>(query.getType());
  auto k = llvm::cast<RankedTensorType>(key.getType());
  if (failed(inferAttentionType(op->getLoc(), query, key, value, inferred)) ||
      failed(verifyAttentionAttrs(op, q, k, mask, scale)))
    return failure();
  auto result = llvm::cast<RankedTensorType>(inferred[0]);
  if (out != result)
    return op->emitOpError() << "the running output must have the attention's result type "
                             << result << ", got " << out;
  auto want = RankedTensorType::get(result.getShape().drop_back(), result.getElementType());
  if (lse != want)
    return op->emitOpError() << "the log-sum-exp must have type " << want << ", got " << lse;
  if (!queryPositions != !keyPositions)
    return op->emitOpError() << "query and key positions come together";
  if (queryPositions) {
    auto qp = llvm::cast<RankedTensorType>(queryPositions.getType());
    auto kp = llvm::cast<RankedTensorType>(keyPositions.getType());
    if (!dimsAgree(qp.getDimSize(0), q.getDimSize(2)) ||
        !dimsAgree(kp.getDimSize(0), k.getDimSize(2)))
      return op->emitOpError() << "positions " << qp << " and " << kp
                               << " must match the query's and key's sequences ("
                               << q.getDimSize(2) << ", " << k.getDimSize(2) << ")";
  }
  return success();
}

LogicalResult mlir::pz::detail::verifyAttentionAttrs(
    Operation *op, RankedTensorType q, RankedTensorType k, Value mask,
    std::optional<APFloat> scale, Value bias) {
  auto emitOpError = [&]() { return op->emitOpError(); };
  if (scale && !(scale->convertToDouble() > 0.0))
    return emitOpError() << "scale must be positive, got "
                         << scale->convertToDouble();
  // Shape inference reports operands of the wrong rank.
  if (q.getRank() != 4 || k.getRank() != 4)
    return success();
  if (mask) {
    auto m = llvm::cast<RankedTensorType>(mask.getType());
    SmallVector<int64_t> scores = {q.getDimSize(0), q.getDimSize(1),
                                   q.getDimSize(2), k.getDimSize(2)};
    // The mask must broadcast TO the scores: aligned from the right, each
    // mask dim is 1 or agrees with the scores' dim.
    bool fits = m.getRank() <= 4;
    for (int64_t i = 0; fits && i < m.getRank(); ++i) {
      int64_t md = m.getDimSize(m.getRank() - 1 - i), sd = scores[3 - i];
      fits = md == 1 || dimsAgree(md, sd);
    }
    if (!fits)
      return emitOpError() << "mask of shape " << shapeStr(m.getShape())
                           << " does not broadcast to the scores' shape "
                           << shapeStr(scores);
    if (!m.getElementType().isInteger(1) &&
        m.getElementType() != q.getElementType())
      return emitOpError() << "a float mask must have the query's element "
                              "type "
                           << q.getElementType() << ", got "
                           << m.getElementType();
  }
  if (bias) {
    auto t = llvm::cast<RankedTensorType>(bias.getType());
    SmallVector<int64_t> scores = {q.getDimSize(0), q.getDimSize(1),
                                   q.getDimSize(2), k.getDimSize(2)};
    bool fits = t.getRank() <= 4;
    for (int64_t i = 0; fits && i < t.getRank(); ++i) {
      int64_t bd = t.getDimSize(t.getRank() - 1 - i), sd = scores[3 - i];
      fits = bd == 1 || dimsAgree(bd, sd);
    }
    if (!fits)
      return emitOpError() << "bias of shape " << shapeStr(t.getShape())
                           << " does not broadcast to the scores' shape "
                           << shapeStr(scores)
                           << " (each dim 1 or equal, aligned from the right)";
    if (t.getElementType() != q.getElementType())
      return emitOpError() << "the bias must have the query's element type "
                           << q.getElementType() << ", got " << t.getElementType();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Optimizer updates
//===----------------------------------------------------------------------===//

/// The join of the update operands' types: one element type, compatible
/// shapes, each dim static where any operand's is.
static LogicalResult joinUpdateTypes(MaybeLoc loc, ValueRange tensors,
                                     SmallVectorImpl<Type> &inferred,
                                     unsigned count) {
  RankedTensorType joined;
  for (Value v : tensors) {
    auto t = rankedOrError(loc, v, "update operand");
    if (!t)
      return failure();
    if (!joined) {
      joined = t;
      continue;
    }
    if (t.getElementType() != joined.getElementType() ||
        t.getRank() != joined.getRank())
      return emitOptionalError(loc, "the parameter, gradient and state must "
                                    "share one type, got ",
                               joined, " and ", t);
    SmallVector<int64_t> shape(joined.getShape());
    for (int64_t d = 0; d < t.getRank(); ++d) {
      if (!dimsAgree(shape[d], t.getDimSize(d)))
        return emitOptionalError(loc, "the parameter, gradient and state must "
                                      "share one shape, got ",
                                 joined, " and ", t);
      shape[d] = mergeDims(shape[d], t.getDimSize(d));
    }
    joined = joined.clone(shape);
  }
  inferred.append(count, joined);
  return success();
}

LogicalResult SGDUpdateOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  return joinUpdateTypes(loc,
                         {adaptor.getParam(), adaptor.getGrad(),
                          adaptor.getMomentumBuffer()},
                         inferred, 2);
}

LogicalResult AdamWUpdateOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                              Adaptor adaptor,
                                              SmallVectorImpl<Type> &inferred) {
  return joinUpdateTypes(loc,
                         {adaptor.getParam(), adaptor.getGrad(),
                          adaptor.getExpAvg(), adaptor.getExpAvgSq()},
                         inferred, 3);
}

LogicalResult SGDUpdateOp::verify() {
  double momentum = getMomentum().convertToDouble();
  double wd = getWeightDecay().convertToDouble();
  if (!(momentum >= 0.0 && momentum < 1.0))
    return emitOpError() << "momentum must satisfy 0 <= momentum < 1, got "
                         << momentum;
  if (!(wd >= 0.0))
    return emitOpError() << "weight_decay must be >= 0, got " << wd;
  return success();
}

LogicalResult AdamWUpdateOp::verify() {
  double b1 = getBeta1().convertToDouble(), b2 = getBeta2().convertToDouble();
  double eps = getEps().convertToDouble();
  double wd = getWeightDecay().convertToDouble();
  if (!(b1 >= 0.0 && b1 < 1.0))
    return emitOpError() << "beta1 must satisfy 0 <= beta1 < 1, got " << b1;
  if (!(b2 >= 0.0 && b2 < 1.0))
    return emitOpError() << "beta2 must satisfy 0 <= beta2 < 1, got " << b2;
  if (!(eps > 0.0))
    return emitOpError() << "eps must be positive, got " << eps;
  if (!(wd >= 0.0))
    return emitOpError() << "weight_decay must be >= 0, got " << wd;
  return success();
}
