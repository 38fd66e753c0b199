//===- TensorUtils.cpp - host tensors and shape helpers -------------------===//

#include "Kernels.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::pz::interp;
using namespace mlir::pz::interp::detail;

//===----------------------------------------------------------------------===//
// HostTensor
//===----------------------------------------------------------------------===//

int64_t mlir::pz::interp::numElements(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

HostTensor HostTensor::zeros(ArrayRef<int64_t> shape, Type elementType) {
  return HostTensor(std::vector<int64_t>(shape.begin(), shape.end()),
                    std::vector<double>(numElements(shape), 0.0), elementType);
}

int64_t HostTensor::getNumElements() const { return numElements(shape); }

/// The smallest and largest value of an integer type of width >= 8, as
/// doubles (for 64-bit types the largest rounds up to 2^63 or 2^64).
static std::pair<double, double> integerRange(IntegerType type) {
  unsigned w = type.getWidth();
  if (type.isUnsigned())
    return {0.0, std::ldexp(1.0, w) - 1.0};
  return {-std::ldexp(1.0, w - 1), std::ldexp(1.0, w - 1) - 1.0};
}

bool mlir::pz::interp::isValueOfType(double v, IntegerType type) {
  if (!std::isfinite(v) || std::trunc(v) != v)
    return false;
  if (type.getWidth() == 1)
    return v == 0.0 || v == 1.0;
  auto [lo, hi] = integerRange(type);
  return v >= lo && v <= hi;
}

double mlir::pz::interp::wrapToType(double v, IntegerType type) {
  if (type.getWidth() == 1)
    return v != 0.0 ? 1.0 : 0.0;
  auto [lo, hi] = integerRange(type);
  if ((v >= lo && v <= hi) || !std::isfinite(v))
    return v;
  // fmod is exact; so are the shifts by 2^w below, except that an unsigned
  // 64-bit result just below 2^64 rounds to 2^64 (its largest value).
  double m = std::ldexp(1.0, type.getWidth());
  double r = std::fmod(std::trunc(v), m);
  if (type.isUnsigned())
    return r < 0.0 ? r + m : r;
  if (r > hi)
    r -= m;
  else if (r < lo)
    r += m;
  return r;
}

bool HostTensor::isInteger() const {
  return elementType && llvm::isa<IntegerType>(elementType);
}

FailureOr<HostTensor> mlir::pz::interp::fromElementsAttr(ElementsAttr attr,
                                                         std::string &error) {
  auto type = llvm::cast<ShapedType>(attr.getType());
  if (!type.hasStaticShape()) {
    error = "a constant needs a static shape";
    return failure();
  }
  auto dense = llvm::dyn_cast<DenseElementsAttr>(attr);
  if (!dense) {
    error = "only dense<...> constants have values the interpreter can read";
    return failure();
  }
  HostTensor t;
  t.shape.assign(type.getShape().begin(), type.getShape().end());
  t.elementType = type.getElementType();
  t.data.reserve(type.getNumElements());
  if (llvm::isa<FloatType>(t.elementType)) {
    for (const APFloat &v : dense.getValues<APFloat>())
      t.data.push_back(v.convertToDouble());
  } else if (auto it = llvm::dyn_cast<IntegerType>(t.elementType)) {
    for (const APInt &v : dense.getValues<APInt>())
      t.data.push_back(it.getWidth() == 1 ? static_cast<double>(v.getBoolValue())
                       : it.isUnsigned()  ? static_cast<double>(v.getZExtValue())
                                          : static_cast<double>(v.getSExtValue()));
  } else {
    error = "unsupported constant element type";
    return failure();
  }
  return t;
}

//===----------------------------------------------------------------------===//
// Env
//===----------------------------------------------------------------------===//

const HostTensor &Env::get(Value v) const {
  auto it = values.find(v);
  assert(it != values.end() && "value read before its definition");
  return it->second;
}

LogicalResult Env::define(Value result, std::vector<int64_t> shape,
                          std::vector<double> data) {
  auto type = llvm::cast<RankedTensorType>(result.getType());
  assert(static_cast<int64_t>(data.size()) == numElements(shape) &&
         "kernel produced the wrong number of elements");
  bool ok = type.getRank() == static_cast<int64_t>(shape.size());
  for (int64_t d = 0; ok && d < type.getRank(); ++d)
    ok = type.isDynamicDim(d) || type.getDimSize(d) == shape[d];
  if (!ok) {
    Operation *op = result.getDefiningOp();
    InFlightDiagnostic diag =
        op ? op->emitError()
           : mlir::emitError(result.getParentRegion()->getLoc());
    diag << "interpreter: computed shape " << shapeStr(shape)
         << " contradicts the declared type " << type;
    return failure();
  }
  // Integer results wrap to their type, as the integer types of numpy and
  // ONNX do (the kernels compute the exact value in double).
  if (auto it = llvm::dyn_cast<IntegerType>(type.getElementType()))
    for (double &v : data)
      v = wrapToType(v, it);
  HostTensor &t = values[result];
  t.shape = std::move(shape);
  t.data = std::move(data);
  t.elementType = type.getElementType();
  return success();
}

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

std::vector<int64_t>
mlir::pz::interp::detail::stridesOf(ArrayRef<int64_t> shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

FailureOr<std::vector<int64_t>>
mlir::pz::interp::detail::broadcastShapes(ArrayRef<int64_t> a,
                                          ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return failure();
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t>
mlir::pz::interp::detail::broadcastOffsets(ArrayRef<int64_t> in,
                                           ArrayRef<int64_t> out) {
  assert(in.size() <= out.size() && "broadcast to a lower rank");
  size_t lead = out.size() - in.size();
  std::vector<int64_t> inStrides = stridesOf(in);
  // The stride of each output dim in the input: 0 where it is stretched.
  std::vector<int64_t> strides(out.size(), 0);
  for (size_t d = lead; d < out.size(); ++d)
    strides[d] = in[d - lead] == 1 ? 0 : inStrides[d - lead];
  std::vector<int64_t> offsets;
  offsets.reserve(numElements(out));
  forEachIndex(out, [&](ArrayRef<int64_t> idx) {
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d)
      off += idx[d] * strides[d];
    offsets.push_back(off);
  });
  return offsets;
}

void mlir::pz::interp::detail::forEachIndex(
    ArrayRef<int64_t> shape, llvm::function_ref<void(ArrayRef<int64_t>)> fn) {
  if (numElements(shape) == 0)
    return;
  SmallVector<int64_t> idx(shape.size(), 0);
  while (true) {
    fn(idx);
    int64_t d = static_cast<int64_t>(shape.size()) - 1;
    for (; d >= 0; --d) {
      if (++idx[d] < shape[d])
        break;
      idx[d] = 0;
    }
    if (d < 0)
      return;
  }
}

std::string mlir::pz::interp::detail::numStr(double v) {
  char buf[32];
  if (std::trunc(v) == v && std::abs(v) < 1e15)
    std::snprintf(buf, sizeof(buf), "%lld", static_cast<long long>(v));
  else
    std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

std::string mlir::pz::interp::detail::shapeStr(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string s;
  for (auto [i, d] : llvm::enumerate(shape))
    s += (i ? "x" : "") + std::to_string(d);
  return s;
}

int64_t mlir::pz::interp::detail::prodRange(ArrayRef<int64_t> shape,
                                            int64_t begin, int64_t end) {
  int64_t n = 1;
  for (int64_t d = begin; d < end; ++d)
    n *= shape[d];
  return n;
}

Type mlir::pz::interp::detail::elementTypeOf(Value v) {
  return llvm::cast<ShapedType>(v.getType()).getElementType();
}

bool mlir::pz::interp::detail::isIntegerValue(Value v) {
  return llvm::isa<IntegerType>(elementTypeOf(v));
}

std::vector<int64_t>
mlir::pz::interp::detail::reducedShape(ArrayRef<int64_t> shape,
                                       ArrayRef<int64_t> axes, bool keepdims) {
  std::vector<int64_t> out;
  for (auto [d, size] : llvm::enumerate(shape)) {
    if (!llvm::is_contained(axes, static_cast<int64_t>(d)))
      out.push_back(size);
    else if (keepdims)
      out.push_back(1);
  }
  return out;
}

std::vector<int64_t>
mlir::pz::interp::detail::reductionOffsets(ArrayRef<int64_t> shape,
                                           ArrayRef<int64_t> axes) {
  // Strides of the kept-dims reduced shape, zeroed on the reduced axes.
  std::vector<int64_t> kept = reducedShape(shape, axes, /*keepdims=*/true);
  std::vector<int64_t> strides = stridesOf(kept);
  for (int64_t a : axes)
    strides[a] = 0;
  std::vector<int64_t> offsets;
  offsets.reserve(numElements(shape));
  forEachIndex(shape, [&](ArrayRef<int64_t> idx) {
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d)
      off += idx[d] * strides[d];
    offsets.push_back(off);
  });
  return offsets;
}

LogicalResult mlir::pz::interp::detail::checkAxis(Operation *op, int64_t axis,
                                                  int64_t rank,
                                                  StringRef what) {
  if (axis >= 0 && axis < rank)
    return success();
  return op->emitError() << "interpreter: " << what << " " << axis
                         << " is out of range for rank " << rank;
}

void mlir::pz::interp::detail::softmaxRow(const double *x, double *y, int64_t n,
                                          int64_t stride) {
  double max = -INFINITY;
  for (int64_t i = 0; i < n; ++i)
    max = std::max(max, x[i * stride]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    y[i * stride] = std::exp(x[i * stride] - max);
    sum += y[i * stride];
  }
  for (int64_t i = 0; i < n; ++i)
    y[i * stride] /= sum;
}
