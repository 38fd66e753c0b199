//===- ShapeUtils.cpp - Shape helpers shared by the pz op definitions ----===//

#include "ShapeUtils.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Value.h"

using namespace mlir;
using namespace mlir::pz::detail;

std::string mlir::pz::detail::shapeStr(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (i)
      s += "x";
    s += ShapedType::isDynamic(d) ? "?" : std::to_string(d);
  }
  return s;
}

std::string mlir::pz::detail::listStr(ArrayRef<int64_t> xs) {
  std::string s = "[";
  for (auto [i, x] : llvm::enumerate(xs))
    s += (i ? ", " : "") + std::to_string(x);
  return s + "]";
}

RankedTensorType mlir::pz::detail::rankedOrError(MaybeLoc loc, Value v,
                                                 llvm::StringRef name) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  if (!t)
    (void)emitOptionalError(loc, "operand '", name,
                            "' must be a ranked tensor, got ", v.getType());
  return t;
}

LogicalResult mlir::pz::detail::broadcastOrError(MaybeLoc loc,
                                                 ArrayRef<int64_t> a,
                                                 ArrayRef<int64_t> b,
                                                 SmallVectorImpl<int64_t> &out) {
  out.clear();
  if (!OpTrait::util::getBroadcastedShape(a, b, out))
    return emitOptionalError(loc, "shapes ", shapeStr(a), " and ",
                             shapeStr(b), " do not broadcast");
  return success();
}

LogicalResult mlir::pz::detail::checkAxis(MaybeLoc loc, int64_t axis,
                                          int64_t rank, llvm::StringRef what) {
  if (axis < 0 || axis >= rank)
    return emitOptionalError(loc, what, " ", axis, " is out of range for rank ",
                             rank, " (expected 0 <= ", what, " < ", rank, ")");
  return success();
}
