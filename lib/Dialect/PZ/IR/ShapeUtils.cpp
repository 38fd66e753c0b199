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

FailureOr<int64_t> mlir::pz::detail::sliceDimSize(int64_t dim, int64_t size,
                                                  int64_t start, int64_t end,
                                                  int64_t step,
                                                  std::string &error) {
  bool dynamic = ShapedType::isDynamic(size);
  std::string box = "start " + std::to_string(start) + ", end " +
                    std::to_string(end) + ", step " + std::to_string(step) +
                    " on dim " + std::to_string(dim) + " of size " +
                    (dynamic ? std::string("?") : std::to_string(size));
  if (step == 0) {
    error = "step 0 on dim " + std::to_string(dim) + " must be nonzero";
    return failure();
  }
  if (step > 0) {
    if (start < 0 || start > end || (!dynamic && end > size)) {
      error = box + ": a positive step needs 0 <= start <= end <= size";
      return failure();
    }
    // end - start - 1 cannot overflow: 0 <= start <= end.
    return start == end ? 0 : (end - start - 1) / step + 1;
  }
  if (end < -1 || end > start || (!dynamic && start >= size)) {
    error = box + ": a negative step needs -1 <= end <= start <= size - 1";
    return failure();
  }
  // Counts start, start + step, ... while > end. end - start + 1 lies in
  // [-start, 0], and dividing by the negative step (never negated, which
  // would overflow for INT64_MIN) rounds toward zero, i.e. down.
  return start == end ? 0 : (end - start + 1) / step + 1;
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
