//===- LossOps.cpp - SoftmaxCrossEntropyLoss, NegativeLogLikelihoodLoss ---===//
//
// ONNX puts the class dim at axis 1 ([N, C, d1, ...]); pz.cross_entropy
// takes it last, so the scores are transposed first. Without class weights
// SoftmaxCrossEntropyLoss is `pz.cross_entropy`, and so is an NLL loss on a
// log-softmax over the class dim (seen through reshapes and transposes).
// With class weights, or for an NLL loss on other log-probabilities, the
// loss is spelled out with a one-hot mask: exact, but without the fused op.
//
//===----------------------------------------------------------------------===//

#include "OpRegistry.h"
#include "ShapeHelpers.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::onnx;

namespace {
struct LossParams {
  Reduction reduction = Reduction::mean;
  std::optional<int64_t> ignoreIndex;
};
} // namespace

static FailureOr<LossParams> lossParams(NodeContext &ctx) {
  LossParams p;
  FailureOr<std::string> red = ctx.getString("reduction", "mean");
  if (failed(red))
    return failure();
  std::optional<Reduction> r = symbolizeReduction(*red);
  if (!r)
    return ctx.emitError() << ctx.getNode().opType << " reduction '" << *red
                           << "' is not mean, sum or none";
  p.reduction = *r;
  if (ctx.hasAttr("ignore_index")) {
    FailureOr<int64_t> ii = ctx.getInt("ignore_index", 0);
    if (failed(ii))
      return failure();
    p.ignoreIndex = *ii;
  }
  SmallVector<int64_t> scores = ctx.getShape(0), labels = ctx.getShape(1);
  auto agree = [](int64_t a, int64_t b) {
    return a == b || ShapedType::isDynamic(a) || ShapedType::isDynamic(b);
  };
  bool ok = scores.size() >= 2 && labels.size() == scores.size() - 1 &&
            agree(labels[0], scores[0]);
  for (size_t d = 2; ok && d < scores.size(); ++d)
    ok = agree(labels[d - 1], scores[d]);
  if (!ok)
    return ctx.emitError() << ctx.getNode().opType << " scores "
                           << shapeString(scores) << " and labels "
                           << shapeString(labels)
                           << " are not [N, C, d...] and [N, d...]";
  return p;
}

/// Moves the class dim (axis 1) last.
static FailureOr<Value> classLast(NodeContext &ctx, Value v) {
  int64_t rank = llvm::cast<RankedTensorType>(v.getType()).getRank();
  if (rank <= 2)
    return v;
  SmallVector<int64_t> perm = {0};
  for (int64_t d = 2; d < rank; ++d)
    perm.push_back(d);
  perm.push_back(1);
  return ctx.create<TransposeOp>(v, perm);
}

static FailureOr<Value> crossEntropy(NodeContext &ctx, Value scores,
                                     Value labels, const LossParams &p) {
  FailureOr<Value> logits = classLast(ctx, scores);
  if (failed(logits))
    return failure();
  OpBuilder &b = ctx.getBuilder();
  return ctx.create<CrossEntropyOp>(
      *logits, labels, ReductionAttr::get(ctx.getContext(), p.reduction),
      p.ignoreIndex ? b.getI64IntegerAttr(*p.ignoreIndex) : IntegerAttr());
}

/// The loss on log-probabilities `logProbs` ([N, C, d...]) with optional
/// class weights, spelled out:
///   onehot = (labels[..., None] == iota(C)); picked = sum(onehot * L, -1)
///   w = sum(onehot * weight, -1) (or sum(onehot, -1)), 0 where ignored
///   loss = -picked * w, reduced by sum, or by sum / sum(w) for mean.
static FailureOr<Value> weightedNLL(NodeContext &ctx, Value logProbs,
                                    Value labels, Value weight,
                                    const LossParams &p) {
  auto lt = llvm::cast<RankedTensorType>(logProbs.getType());
  auto yt = llvm::cast<RankedTensorType>(labels.getType());
  int64_t classes = lt.getDimSize(1);
  if (failed(ctx.requireStatic({classes}, "the class dim")))
    return failure();
  if (foldableElementCount({classes}) < 0)
    return ctx.emitError() << ctx.getNode().opType << " has " << classes
                           << " classes, too many for a one-hot mask";
  Location loc = ctx.getLoc();
  HostTensor iota(fromMLIRType(yt.getElementType()), {classes});
  for (int64_t c = 0; c < classes; ++c)
    iota.setInt(c, c);
  SmallVector<int64_t> yShape(yt.getShape());
  yShape.push_back(1);
  FailureOr<Value> l = classLast(ctx, logProbs);
  FailureOr<Value> iotaV = ctx.materialize(iota, loc);
  FailureOr<Value> y1 = reshapeValue(ctx, labels, yShape);
  if (failed(l) || failed(iotaV) || failed(y1))
    return failure();
  FailureOr<Value> hot =
      ctx.create<CompareOp>(ComparePredicate::eq, *y1, *iotaV);
  if (succeeded(hot))
    hot = ctx.create<CastOp>(*hot, lt.getElementType());
  if (failed(hot))
    return failure();
  int64_t last = yShape.size() - 1;
  auto sumLast = [&](Value v) {
    return ctx.create<ReduceSumOp>(v, ArrayRef<int64_t>{last}, false);
  };
  FailureOr<Value> picked = ctx.create<MulOp>(*hot, *l);
  if (succeeded(picked))
    picked = sumLast(*picked);
  FailureOr<Value> w = weight ? ctx.create<MulOp>(*hot, weight) : *hot;
  if (succeeded(w))
    w = sumLast(*w);
  if (succeeded(w) && p.ignoreIndex) {
    HostTensor ii(fromMLIRType(yt.getElementType()), {});
    ii.setInt(0, *p.ignoreIndex);
    FailureOr<Value> iiV = ctx.materialize(ii, loc);
    FailureOr<Value> keep =
        succeeded(iiV)
            ? ctx.create<CompareOp>(ComparePredicate::eq, labels, *iiV)
            : iiV;
    if (succeeded(keep))
      keep = ctx.create<NotOp>(*keep);
    if (succeeded(keep))
      keep = ctx.create<CastOp>(*keep, lt.getElementType());
    w = succeeded(keep) ? ctx.create<MulOp>(*w, *keep) : keep;
  }
  if (failed(picked) || failed(w))
    return failure();
  FailureOr<Value> loss = ctx.create<MulOp>(*picked, *w);
  if (succeeded(loss))
    loss = ctx.create<NegOp>(*loss);
  if (failed(loss) || p.reduction == Reduction::none)
    return loss;
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < yt.getRank(); ++d)
    all.push_back(d);
  loss = ctx.create<ReduceSumOp>(*loss, all, false);
  if (failed(loss) || p.reduction == Reduction::sum)
    return loss;
  FailureOr<Value> total = ctx.create<ReduceSumOp>(*w, all, false);
  if (failed(total))
    return failure();
  return ctx.create<DivOp>(*loss, *total);
}

static FailureOr<Value> optionalWeight(NodeContext &ctx) {
  if (!ctx.hasInput(2))
    return Value();
  return ctx.getValue(2);
}

static LogicalResult lowerSoftmaxCrossEntropy(NodeContext &ctx) {
  FailureOr<LossParams> p = lossParams(ctx);
  FailureOr<Value> scores = ctx.getValue(0), labels = ctx.getValue(1);
  FailureOr<Value> weight = optionalWeight(ctx);
  if (failed(p) || failed(scores) || failed(labels) || failed(weight))
    return failure();
  FailureOr<Value> logProbs;
  if (*weight || ctx.isOutputUsed(1))
    logProbs = ctx.create<LogSoftmaxOp>(*scores, uint64_t(1));
  if (ctx.isOutputUsed(1)) {
    if (failed(logProbs))
      return failure();
    ctx.setOutput(1, *logProbs);
  }
  FailureOr<Value> loss =
      *weight ? (succeeded(logProbs)
                     ? weightedNLL(ctx, *logProbs, *labels, *weight, *p)
                     : logProbs)
              : crossEntropy(ctx, *scores, *labels, *p);
  if (failed(loss))
    return failure();
  ctx.setOutput(0, *loss);
  return success();
}

/// If `v` is a log-softmax over `axis` seen through reshapes and transposes
/// that keep that axis whole, rebuilds those layout ops on the log-softmax's
/// input (the logits) and returns the result; null otherwise.
static Value peelLogSoftmax(NodeContext &ctx, Value v, int64_t axis) {
  SmallVector<Operation *> chain;
  while (Operation *def = v.getDefiningOp()) {
    if (auto lsm = llvm::dyn_cast<LogSoftmaxOp>(def)) {
      if (static_cast<int64_t>(lsm.getAxis()) != axis)
        return nullptr;
      IRMapping map;
      map.map(lsm.getResult(), lsm.getInput());
      Value out = lsm.getInput();
      for (Operation *op : llvm::reverse(chain))
        out = ctx.getBuilder().clone(*op, map)->getResult(0);
      return out;
    }
    if (auto t = llvm::dyn_cast<TransposeOp>(def)) {
      axis = t.getPermutation()[axis];
    } else if (auto r = llvm::dyn_cast<ReshapeOp>(def)) {
      // The axis survives a reshape when some input dim has the same size
      // and the same number of elements before it.
      auto in = r.getInput().getType(), out = r.getType();
      if (!in.hasStaticShape() || !out.hasStaticShape())
        return nullptr;
      auto prefix = [](ArrayRef<int64_t> s, int64_t d) {
        int64_t p = 1;
        for (int64_t i = 0; i < d; ++i)
          p *= s[i];
        return p;
      };
      int64_t want = prefix(out.getShape(), axis), size = out.getDimSize(axis);
      std::optional<int64_t> found;
      for (int64_t d = 0; d < in.getRank(); ++d)
        if (in.getDimSize(d) == size && prefix(in.getShape(), d) == want)
          found = d;
      if (!found)
        return nullptr;
      axis = *found;
    } else {
      return nullptr;
    }
    chain.push_back(def);
    v = def->getOperand(0);
  }
  return nullptr;
}

static LogicalResult lowerNLL(NodeContext &ctx) {
  FailureOr<LossParams> p = lossParams(ctx);
  FailureOr<Value> input = ctx.getValue(0), labels = ctx.getValue(1);
  FailureOr<Value> weight = optionalWeight(ctx);
  if (failed(p) || failed(input) || failed(labels) || failed(weight))
    return failure();
  FailureOr<Value> loss;
  Value logits = *weight ? Value() : peelLogSoftmax(ctx, *input, 1);
  if (logits)
    loss = crossEntropy(ctx, logits, *labels, *p);
  else
    loss = weightedNLL(ctx, *input, *labels, *weight, *p);
  if (failed(loss))
    return failure();
  ctx.setOutput(0, *loss);
  return success();
}

void mlir::pz::onnx::registerLossOps(OpRegistry &r) {
  r.add("SoftmaxCrossEntropyLoss", nullptr, lowerSoftmaxCrossEntropy, 2);
  r.add("NegativeLogLikelihoodLoss", nullptr, lowerNLL, 2);
}
