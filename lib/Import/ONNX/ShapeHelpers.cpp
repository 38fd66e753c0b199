//===- ShapeHelpers.cpp - ONNX shape rules shared by folders and lowerings ===//

#include "ShapeHelpers.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/Dialect/Traits.h"

using namespace mlir;
using namespace mlir::pz::onnx;

std::string mlir::pz::onnx::shapeString(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? "x" : "") +
         (ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d));
  return s;
}

std::string mlir::pz::onnx::listString(ArrayRef<int64_t> xs) {
  std::string s = "[";
  for (auto [i, x] : llvm::enumerate(xs))
    s += (i ? ", " : "") + std::to_string(x);
  return s + "]";
}

FailureOr<int64_t> mlir::pz::onnx::normalizeAxis(const NodeContext &ctx,
                                                 int64_t axis, int64_t rank,
                                                 StringRef what) {
  if (axis < -rank || axis >= rank)
    return ctx.emitError() << ctx.getNode().opType << " " << what << " " << axis
                           << " is out of range for rank " << rank
                           << " (expected " << -rank << " <= " << what << " < "
                           << rank << ")";
  return axis < 0 ? axis + rank : axis;
}

FailureOr<SmallVector<int64_t>>
mlir::pz::onnx::normalizeAxes(const NodeContext &ctx, ArrayRef<int64_t> axes,
                              int64_t rank, StringRef what) {
  SmallVector<int64_t> out;
  for (int64_t a : axes) {
    FailureOr<int64_t> n = normalizeAxis(ctx, a, rank, what);
    if (failed(n))
      return failure();
    if (llvm::is_contained(out, *n))
      return ctx.emitError() << ctx.getNode().opType << " " << what
                             << " name dim " << *n << " twice";
    out.push_back(*n);
  }
  llvm::sort(out);
  return out;
}

FailureOr<SmallVector<int64_t>>
mlir::pz::onnx::broadcastShapes(const NodeContext &ctx, ArrayRef<int64_t> a,
                                ArrayRef<int64_t> b) {
  SmallVector<int64_t> out;
  if (!OpTrait::util::getBroadcastedShape(a, b, out))
    return ctx.emitError() << ctx.getNode().opType << ": shapes "
                           << shapeString(a) << " and " << shapeString(b)
                           << " do not broadcast";
  return out;
}

FailureOr<SmallVector<int64_t>>
mlir::pz::onnx::reshapeTarget(const NodeContext &ctx, ArrayRef<int64_t> input,
                              ArrayRef<int64_t> spec, bool allowZero) {
  auto fail = [&]() {
    return ctx.emitError() << "Reshape cannot give " << shapeString(input)
                           << " the shape " << listString(spec);
  };
  SmallVector<int64_t> out;
  std::optional<size_t> inferred;
  int64_t known = 1;
  bool knownDynamic = false;
  for (auto [i, d] : llvm::enumerate(spec)) {
    if (d == -1) {
      if (inferred)
        return ctx.emitError() << "Reshape shape " << listString(spec)
                               << " has more than one -1";
      inferred = i;
      out.push_back(ShapedType::kDynamic);
      continue;
    }
    if (d < -1)
      return fail();
    int64_t size = d;
    if (d == 0 && !allowZero) {
      if (i >= input.size())
        return fail();
      size = input[i];
    }
    out.push_back(size);
    if (ShapedType::isDynamic(size))
      knownDynamic = true;
    else if (size != 0 && known > (int64_t(1) << 62) / size)
      return fail();
    else
      known *= size;
  }
  bool inputStatic = llvm::none_of(input, ShapedType::isDynamic);
  if (!inputStatic || knownDynamic)
    return out; // the -1 (if any) stays dynamic
  int64_t total = 1;
  for (int64_t d : input)
    total *= d;
  if (inferred) {
    if (known == 0 || total % known != 0)
      return fail();
    out[*inferred] = total / known;
  } else if (known != total) {
    return fail();
  }
  return out;
}

FailureOr<SliceBox>
mlir::pz::onnx::computeSlice(const NodeContext &ctx, ArrayRef<int64_t> shape,
                             ArrayRef<int64_t> starts, ArrayRef<int64_t> ends,
                             std::optional<ArrayRef<int64_t>> axes,
                             std::optional<ArrayRef<int64_t>> steps) {
  int64_t rank = shape.size();
  if (starts.size() != ends.size() || (axes && axes->size() != starts.size()) ||
      (steps && steps->size() != starts.size()))
    return ctx.emitError() << "Slice starts, ends, axes and steps must have "
                              "the same length";
  SliceBox box;
  box.starts.assign(rank, 0);
  box.steps.assign(rank, 1);
  box.counts.assign(shape.begin(), shape.end());
  SmallVector<bool> seen(rank, false);
  for (size_t k = 0; k < starts.size(); ++k) {
    FailureOr<int64_t> axis =
        normalizeAxis(ctx, axes ? (*axes)[k] : static_cast<int64_t>(k), rank);
    if (failed(axis))
      return failure();
    if (seen[*axis])
      return ctx.emitError() << "Slice axes name dim " << *axis << " twice";
    seen[*axis] = true;
    int64_t step = steps ? (*steps)[k] : 1;
    if (step == 0)
      return ctx.emitError() << "Slice step on dim " << *axis << " is 0";
    int64_t dim = shape[*axis];
    if (ShapedType::isDynamic(dim) &&
        failed(ctx.requireStatic(shape, "the sliced input")))
      return failure();
    auto clamp = [](int64_t v, int64_t lo, int64_t hi) {
      return std::max(lo, std::min(v, hi));
    };
    int64_t start = starts[k], end = ends[k];
    if (start < 0)
      start += dim;
    if (end < 0)
      end += dim;
    int64_t count;
    if (step > 0) {
      start = clamp(start, 0, dim);
      end = clamp(end, 0, dim);
      count = end > start ? (end - start - 1) / step + 1 : 0;
    } else {
      // A dim of size 0 clamps start to 0 and end to -1, yet has nothing
      // to take.
      start = clamp(start, 0, dim - 1);
      end = clamp(end, -1, dim - 1);
      // (end - start + 1) / step is (start - end - 1) / -step rounded down,
      // without negating a step of INT64_MIN.
      count = dim > 0 && start > end ? (end - start + 1) / step + 1 : 0;
    }
    box.starts[*axis] = start;
    box.steps[*axis] = step;
    box.counts[*axis] = count;
  }
  return box;
}

FailureOr<Value> mlir::pz::onnx::reshapeValue(NodeContext &ctx, Value v,
                                              ArrayRef<int64_t> target) {
  auto type = llvm::cast<RankedTensorType>(v.getType());
  if (type.getShape() == target)
    return v;
  if (llvm::count_if(target, ShapedType::isDynamic) > 1 &&
      failed(ctx.requireStatic(target, "its reshaped result")))
    return failure();
  SmallVector<int64_t> spec(target);
  for (int64_t &d : spec)
    if (ShapedType::isDynamic(d))
      d = -1;
  return ctx.create<ReshapeOp>(v, spec);
}

SmallVector<int64_t> mlir::pz::onnx::stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

int64_t mlir::pz::onnx::broadcastOffset(ArrayRef<int64_t> idx,
                                        ArrayRef<int64_t> in,
                                        ArrayRef<int64_t> inStrides) {
  int64_t lead = idx.size() - in.size(), offset = 0;
  for (size_t d = 0; d < in.size(); ++d)
    if (in[d] != 1)
      offset += idx[lead + d] * inStrides[d];
  return offset;
}

void mlir::pz::onnx::nextIndex(MutableArrayRef<int64_t> idx,
                               ArrayRef<int64_t> shape) {
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    if (++idx[d] < shape[d])
      return;
    idx[d] = 0;
  }
}
