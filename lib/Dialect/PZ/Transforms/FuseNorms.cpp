//===- FuseNorms.cpp - decomposed layer norm and RMS norm -----------------===//
//
//   layer norm: d = x - mean(x); y = d / sqrt(mean(d^2) + eps)
//   RMS norm:   y = x * rsqrt(mean(x^2) + eps)  (or x / sqrt(...), or
//               x * (1 / sqrt(...)))
// over trailing dims with keepdims, then `* w` and `+ b` fold into the
// norm's scale and bias.
//
//===----------------------------------------------------------------------===//

#include "FuseUtils.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::fuse;

namespace {

/// `mean(v^2)` over trailing dims with keepdims: returns v and the first
/// reduced dim.
std::optional<std::pair<Value, int64_t>> matchMeanSquare(Value ms) {
  auto mean = singleUseDefOf<ReduceMeanOp>(ms);
  if (!mean || !mean.getKeepdims())
    return std::nullopt;
  std::optional<int64_t> axis =
      trailingAxis(mean.getAxes(), mean.getInput().getType().getRank());
  if (!axis)
    return std::nullopt;
  Value sq = mean.getInput();
  if (auto pow = singleUseDefOf<PowOp>(sq)) {
    if (isConstantNear(pow.getRhs(), 2.0) &&
        pow.getType() == pow.getLhs().getType())
      return std::make_pair(pow.getLhs(), *axis);
  } else if (auto mul = singleUseDefOf<MulOp>(sq)) {
    if (mul.getLhs() == mul.getRhs())
      return std::make_pair(mul.getLhs(), *axis);
  }
  return std::nullopt;
}

/// `v + eps` with a positive scalar constant eps (either order).
std::optional<std::pair<Value, double>> matchAddEps(Value s) {
  auto add = singleUseDefOf<AddOp>(s);
  if (!add)
    return std::nullopt;
  std::optional<std::pair<Value, double>> out;
  eitherOrder(add.getLhs(), add.getRhs(), [&](Value v, Value c) {
    std::optional<double> eps = getScalarConstant(c);
    if (!eps || !(*eps > 0.0) || add.getType() != v.getType())
      return false;
    out = std::make_pair(v, *eps);
    return true;
  });
  return out;
}

/// The `a` of `1 / sqrt(a)`, spelled `rsqrt(a)` or `div(1, sqrt(a))`.
Value matchInvSqrt(Value v) {
  if (auto r = singleUseDefOf<RsqrtOp>(v))
    return r.getInput();
  if (auto div = singleUseDefOf<DivOp>(v))
    if (isConstantNear(div.getLhs(), 1.0))
      if (auto sqrt = singleUseDefOf<SqrtOp>(div.getRhs()))
        if (div.getType() == sqrt.getType())
          return sqrt.getInput();
  return nullptr;
}

/// The statistic under the root: for `div(x, sqrt(s))` and
/// `mul(x, 1 / sqrt(s))` (either order) returns (x, s).
std::optional<std::pair<Value, Value>> matchNormalize(Operation *root) {
  if (auto div = llvm::dyn_cast<DivOp>(root)) {
    if (auto sqrt = singleUseDefOf<SqrtOp>(div.getRhs()))
      return std::make_pair(div.getLhs(), sqrt.getInput());
    return std::nullopt;
  }
  auto mul = llvm::dyn_cast<MulOp>(root);
  if (!mul)
    return std::nullopt;
  std::optional<std::pair<Value, Value>> out;
  eitherOrder(mul.getLhs(), mul.getRhs(), [&](Value x, Value r) {
    if (Value s = matchInvSqrt(r)) {
      out = std::make_pair(x, s);
      return true;
    }
    return false;
  });
  return out;
}

/// x / sqrt(mean(x^2) + eps) -> rms_norm, and
/// (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps) -> layer_norm.
template <typename RootOp, bool IsLayerNorm>
struct FuseNorm : OpRewritePattern<RootOp> {
  FuseNorm(MLIRContext *ctx)
      : OpRewritePattern<RootOp>(ctx, /*benefit=*/IsLayerNorm ? 2 : 1) {}

  LogicalResult matchAndRewrite(RootOp root,
                                PatternRewriter &rewriter) const override {
    auto normalize = matchNormalize(root);
    if (!normalize)
      return failure();
    auto [centered, stat] = *normalize;
    auto addEps = matchAddEps(stat);
    if (!addEps)
      return failure();
    auto meanSq = matchMeanSquare(addEps->first);
    if (!meanSq || meanSq->first != centered)
      return failure();
    int64_t axis = meanSq->second;
    Value x = centered;
    if (IsLayerNorm) {
      // centered = x - mean(x) over the same dims.
      auto sub = defOf<SubOp>(centered);
      if (!sub)
        return failure();
      auto mean = singleUseDefOf<ReduceMeanOp>(sub.getRhs());
      if (!mean || mean.getInput() != sub.getLhs() || !mean.getKeepdims() ||
          trailingAxis(mean.getAxes(), mean.getInput().getType().getRank()) !=
              axis)
        return failure();
      x = sub.getLhs();
    }
    if (root.getType() != x.getType())
      return failure();
    auto axisAttr = rewriter.getI64IntegerAttr(axis);
    auto epsAttr = rewriter.getF64FloatAttr(addEps->second);
    if (IsLayerNorm)
      rewriter.replaceOpWithNewOp<LayerNormOp>(root, x, Value(), Value(),
                                               axisAttr, epsAttr);
    else
      rewriter.replaceOpWithNewOp<RMSNormOp>(root, x, Value(), axisAttr,
                                             epsAttr);
    return success();
  }
};

/// True when `v` has exactly the normalised shape of `norm` and its element
/// type.
bool isAffineFor(Value v, Operation *norm, RankedTensorType input,
                 int64_t axis) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  return t && t.getElementType() == input.getElementType() &&
         t.getShape() == input.getShape().drop_front(axis) &&
         t.hasStaticShape();
}

/// norm(x) * w -> norm(x, scale = w).
struct FuseNormScale : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp mul,
                                PatternRewriter &rewriter) const override {
    bool done = eitherOrder(mul.getLhs(), mul.getRhs(), [&](Value n, Value w) {
      if (mul.getType() != n.getType())
        return false;
      if (auto ln = singleUseDefOf<LayerNormOp>(n)) {
        if (ln.getScale() || ln.getBias() ||
            !isAffineFor(w, ln, ln.getInput().getType(), ln.getAxis()))
          return false;
        rewriter.replaceOpWithNewOp<LayerNormOp>(mul, ln.getInput(), w, Value(),
                                                 ln.getAxisAttr(),
                                                 ln.getEpsilonAttr());
        return true;
      }
      if (auto rms = singleUseDefOf<RMSNormOp>(n)) {
        if (rms.getScale() ||
            !isAffineFor(w, rms, rms.getInput().getType(), rms.getAxis()))
          return false;
        rewriter.replaceOpWithNewOp<RMSNormOp>(
            mul, rms.getInput(), w, rms.getAxisAttr(), rms.getEpsilonAttr());
        return true;
      }
      return false;
    });
    return success(done);
  }
};

/// layer_norm(x) + b -> layer_norm(x, bias = b).
struct FuseNormBias : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AddOp add,
                                PatternRewriter &rewriter) const override {
    bool done = eitherOrder(add.getLhs(), add.getRhs(), [&](Value n, Value b) {
      auto ln = singleUseDefOf<LayerNormOp>(n);
      if (!ln || ln.getBias() || add.getType() != n.getType() ||
          !isAffineFor(b, ln, ln.getInput().getType(), ln.getAxis()))
        return false;
      rewriter.replaceOpWithNewOp<LayerNormOp>(
          add, ln.getInput(), ln.getScale(), b, ln.getAxisAttr(),
          ln.getEpsilonAttr());
      return true;
    });
    return success(done);
  }
};

} // namespace

void mlir::pz::fuse::populateFuseNormPatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns
      .add<FuseNorm<DivOp, true>, FuseNorm<MulOp, true>, FuseNorm<DivOp, false>,
           FuseNorm<MulOp, false>, FuseNormScale, FuseNormBias>(ctx);
}
