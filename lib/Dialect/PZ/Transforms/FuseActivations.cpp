//===- FuseActivations.cpp - decomposed GELU and SiLU ---------------------===//
//
//   GELU erf:  0.5 * x * (1 + erf(x / sqrt(2)))        (or x * (1/sqrt(2)))
//   GELU tanh: 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3)))
//   SiLU:      x * sigmoid(x)
// The products may associate either way; x^3 may be x * x * x or pow(x, 3).
//
//===----------------------------------------------------------------------===//

#include "FuseUtils.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::fuse;

namespace {

constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kSqrt2OverPi = 0.79788456080286535588;
constexpr double kGeluCubic = 0.044715;

/// Splits `factors` into one constant near `want` and the rest; false when
/// there is no such constant.
bool takeConstant(SmallVectorImpl<Value> &factors, double want) {
  for (auto *it = factors.begin(); it != factors.end(); ++it) {
    if (isConstantNear(*it, want)) {
      factors.erase(it);
      return true;
    }
  }
  return false;
}

/// erf(x / sqrt(2)) or erf(x * (1 / sqrt(2))); returns x.
Value matchErfOf(Value v) {
  auto erf = singleUseDefOf<ErfOp>(v);
  if (!erf)
    return nullptr;
  Value arg = erf.getInput();
  if (auto div = singleUseDefOf<DivOp>(arg))
    return isConstantNear(div.getRhs(), kSqrt2) ? div.getLhs() : nullptr;
  Value x;
  if (auto mul = singleUseDefOf<MulOp>(arg))
    eitherOrder(mul.getLhs(), mul.getRhs(), [&](Value a, Value c) {
      if (!isConstantNear(c, 1.0 / kSqrt2))
        return false;
      x = a;
      return true;
    });
  return x;
}

/// x^3 as the product leaves {x, x, x} or {pow(x, 3)}.
bool isCubeOf(ArrayRef<Value> factors, Value x) {
  if (factors.size() == 3)
    return llvm::all_of(factors, [&](Value f) { return f == x; });
  if (factors.size() != 1)
    return false;
  auto pow = singleUseDefOf<PowOp>(factors.front());
  return pow && pow.getLhs() == x && isConstantNear(pow.getRhs(), 3.0);
}

/// tanh(sqrt(2/pi) * (x + 0.044715 * x^3)); returns x.
Value matchTanhOf(Value v) {
  auto tanh = singleUseDefOf<TanhOp>(v);
  if (!tanh || !singleUseDefOf<MulOp>(tanh.getInput()))
    return nullptr;
  SmallVector<Value> outer;
  collectFactors(tanh.getInput(), outer);
  if (!takeConstant(outer, kSqrt2OverPi) || outer.size() != 1)
    return nullptr;
  auto add = singleUseDefOf<AddOp>(outer.front());
  if (!add)
    return nullptr;
  Value x;
  eitherOrder(add.getLhs(), add.getRhs(), [&](Value a, Value cubic) {
    if (!singleUseDefOf<MulOp>(cubic))
      return false;
    SmallVector<Value> inner;
    collectFactors(cubic, inner);
    if (!takeConstant(inner, kGeluCubic) || !isCubeOf(inner, a))
      return false;
    x = a;
    return true;
  });
  return x;
}

struct FuseGelu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp root,
                                PatternRewriter &rewriter) const override {
    SmallVector<Value> factors;
    collectFactors(root.getResult(), factors);
    if (factors.size() != 3 || !takeConstant(factors, 0.5))
      return failure();
    // One factor is x, the other 1 + erf(...) or 1 + tanh(...) of that x.
    for (int i = 0; i < 2; ++i) {
      Value x = factors[i], onePlus = factors[1 - i];
      auto add = singleUseDefOf<AddOp>(onePlus);
      if (!add || x.getType() != root.getType())
        continue;
      std::optional<GeluApproximation> kind;
      eitherOrder(add.getLhs(), add.getRhs(), [&](Value one, Value f) {
        if (!isConstantNear(one, 1.0))
          return false;
        if (matchErfOf(f) == x)
          kind = GeluApproximation::erf;
        else if (matchTanhOf(f) == x)
          kind = GeluApproximation::tanh;
        return kind.has_value();
      });
      if (!kind)
        continue;
      rewriter.replaceOpWithNewOp<GeluOp>(root, x, *kind);
      return success();
    }
    return failure();
  }
};

struct FuseSilu : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MulOp root,
                                PatternRewriter &rewriter) const override {
    Value x;
    eitherOrder(root.getLhs(), root.getRhs(), [&](Value a, Value s) {
      auto sig = singleUseDefOf<SigmoidOp>(s);
      if (!sig || sig.getInput() != a || a.getType() != root.getType())
        return false;
      x = a;
      return true;
    });
    if (!x)
      return failure();
    rewriter.replaceOpWithNewOp<SiluOp>(root, x);
    return success();
  }
};

} // namespace

void mlir::pz::fuse::populateFuseActivationPatterns(
    RewritePatternSet &patterns) {
  patterns.add<FuseGelu, FuseSilu>(patterns.getContext());
}
