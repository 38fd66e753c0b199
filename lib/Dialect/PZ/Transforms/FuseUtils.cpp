//===- FuseUtils.cpp - Matching helpers for pz-fuse-patterns --------------===//

#include "FuseUtils.h"

#include "mlir/IR/Matchers.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;

std::optional<double> mlir::pz::fuse::getScalarConstant(Value v) {
  DenseElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  auto type = llvm::dyn_cast<RankedTensorType>(attr.getType());
  if (!type || !llvm::all_of(type.getShape(), [](int64_t d) { return d == 1; }))
    return std::nullopt;
  if (!attr.isSplat() && attr.getNumElements() != 1)
    return std::nullopt;
  if (llvm::isa<FloatType>(attr.getElementType()))
    return attr.getSplatValue<APFloat>().convertToDouble();
  if (attr.getElementType().isInteger(1))
    return std::nullopt;
  APInt i = attr.getSplatValue<APInt>();
  return attr.getElementType().isUnsignedInteger()
             ? static_cast<double>(i.getZExtValue())
             : static_cast<double>(i.getSExtValue());
}

bool mlir::pz::fuse::isNear(double value, double want, Type elem) {
  // Four ulps of the type's precision, relative to the wanted value.
  double eps = 4 * std::ldexp(1.0, -52);
  if (elem.isF32())
    eps = 4 * std::ldexp(1.0, -23);
  else if (elem.isF16())
    eps = 4 * std::ldexp(1.0, -10);
  else if (elem.isBF16())
    eps = 4 * std::ldexp(1.0, -7);
  return std::fabs(value - want) <= eps * std::max(std::fabs(want), 1e-30);
}

bool mlir::pz::fuse::isConstantNear(Value v, double want) {
  std::optional<double> c = getScalarConstant(v);
  return c && isNear(*c, want, getElementTypeOrSelf(v.getType()));
}

void mlir::pz::fuse::collectFactors(Value v, SmallVectorImpl<Value> &factors,
                                    bool isRoot) {
  auto mul = defOf<MulOp>(v);
  if (mul && (isRoot || v.hasOneUse())) {
    collectFactors(mul.getLhs(), factors, false);
    collectFactors(mul.getRhs(), factors, false);
    return;
  }
  factors.push_back(v);
}

std::optional<int64_t> mlir::pz::fuse::trailingAxis(ArrayRef<int64_t> axes,
                                                    int64_t rank) {
  if (axes.empty() || axes.back() != rank - 1)
    return std::nullopt;
  for (size_t i = 1; i < axes.size(); ++i)
    if (axes[i] != axes[i - 1] + 1)
      return std::nullopt;
  return axes.front();
}
