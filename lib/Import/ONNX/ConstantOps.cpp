//===- ConstantOps.cpp - Constant, ConstantOfShape, Range, Shape, Size ----===//
//
// Ops whose outputs are known at import time: they only produce host
// tensors (Shape and Size read the static shape of their input), except for
// constants too large to evaluate, which become `pz.constant` directly.
// Identity passes its input through.
//
//===----------------------------------------------------------------------===//

#include "OpRegistry.h"
#include "ShapeHelpers.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::onnx;

/// A tensor too large for the host becomes a `pz.constant` of its raw bytes.
static FailureOr<bool> emitLargeConstant(NodeContext &ctx, const Tensor &t) {
  Type elem = toMLIRType(ctx.getContext(), t.dataType);
  if (!elem || t.dataType == DataType::Bool)
    return ctx.emitError() << "Constant '" << t.name << "' of type "
                           << dataTypeName(t.dataType)
                           << " is too large to evaluate and cannot become "
                              "IR";
  auto type = RankedTensorType::get(t.dims, elem);
  auto attr = DenseElementsAttr::getFromRawBuffer(
      type, ArrayRef<char>(reinterpret_cast<const char *>(t.bytes.data()),
                           t.bytes.size()));
  ctx.setOutput(0, ConstantOp::create(ctx.getBuilder(), ctx.getLoc(),
                                      llvm::cast<TypedAttr>(attr))
                       .getResult());
  return true;
}

static FailureOr<bool> foldConstant(NodeContext &ctx) {
  const Node &node = ctx.getNode();
  if (node.attributes.size() != 1)
    return ctx.emitError() << "Constant needs exactly one value attribute, "
                              "got "
                           << node.attributes.size();
  const NodeAttribute &a = node.attributes.front();
  using K = NodeAttribute::Kind;
  if (a.name == "value" && a.kind == K::Tensor) {
    const Tensor &t = a.tensors.front();
    if (isFloatType(t.dataType) || isIntegerType(t.dataType)) {
      if (foldableElementCount(t.dims) < 0)
        return emitLargeConstant(ctx, t);
    }
    HostTensor h;
    std::string err;
    if (!HostTensor::fromTensor(t, h, err))
      return ctx.emitError() << "Constant: " << err;
    ctx.setOutput(0, std::move(h));
    return true;
  }
  if ((a.name == "value_float" && a.kind == K::Float) ||
      (a.name == "value_floats" && a.kind == K::Floats)) {
    bool scalar = a.kind == K::Float;
    SmallVector<int64_t> shape;
    if (!scalar)
      shape.push_back(a.floats.size());
    HostTensor h(DataType::Float, shape);
    for (int64_t i = 0, n = h.size(); i < n; ++i)
      h.setDouble(i, scalar ? a.f : a.floats[i]);
    ctx.setOutput(0, std::move(h));
    return true;
  }
  if (a.name == "value_int" && a.kind == K::Int) {
    ctx.setOutput(0, HostTensor::fromInts({a.i}, /*scalar=*/true));
    return true;
  }
  if (a.name == "value_ints" && a.kind == K::Ints) {
    ctx.setOutput(0, HostTensor::fromInts(a.ints, /*scalar=*/false));
    return true;
  }
  return ctx.emitError() << "Constant attribute '" << a.name << "' ("
                         << attributeKindName(a.kind)
                         << ") is not supported; the importer takes value, "
                            "value_float(s) and value_int(s)";
}

static FailureOr<bool> foldConstantOfShape(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> shape = ctx.getConstantInts(0, "shape");
  if (failed(shape))
    return failure();
  for (int64_t d : *shape)
    if (d < 0)
      return ctx.emitError() << "ConstantOfShape shape " << listString(*shape)
                             << " has a negative dim";
  HostTensor fill(DataType::Float, {});
  if (const NodeAttribute *a = ctx.findAttr("value")) {
    std::string err;
    if (a->kind != NodeAttribute::Kind::Tensor ||
        !HostTensor::fromTensor(a->tensors.front(), fill, err) ||
        fill.size() != 1)
      return ctx.emitError() << "ConstantOfShape 'value' must be a tensor "
                                "of one element"
                             << (err.empty() ? "" : ": " + err);
  }
  if (foldableElementCount(*shape) < 0) {
    RankedTensorType type = RankedTensorType::get(
        *shape, toMLIRType(ctx.getContext(), fill.getType()));
    if (!type.getElementType())
      return ctx.emitError() << "ConstantOfShape of " << shapeString(*shape)
                             << " is too large to evaluate";
    DenseElementsAttr one = fill.toAttr(ctx.getContext());
    ctx.setOutput(0, ConstantOp::create(ctx.getBuilder(), ctx.getLoc(),
                                        one.resizeSplat(type))
                         .getResult());
    return true;
  }
  HostTensor out(fill.getType(), *shape);
  for (int64_t i = 0, n = out.size(); i < n; ++i) {
    if (fill.isFloat())
      out.setDouble(i, fill.getDouble(0));
    else
      out.setInt(i, fill.getInt(0));
  }
  ctx.setOutput(0, std::move(out));
  return true;
}

static FailureOr<bool> foldRange(NodeContext &ctx) {
  const HostTensor *start = ctx.getConstant(0), *limit = ctx.getConstant(1),
                   *delta = ctx.getConstant(2);
  if (!start || !limit || !delta)
    return ctx.emitError() << "Range needs start, limit and delta";
  if (start->size() != 1 || limit->size() != 1 || delta->size() != 1)
    return ctx.emitError() << "Range start, limit and delta must be scalars";
  double s = start->getDouble(0), l = limit->getDouble(0),
         d = delta->getDouble(0);
  if (d == 0.0)
    return ctx.emitError() << "Range delta is 0";
  double n = std::max(std::ceil((l - s) / d), 0.0);
  if (!(n <= static_cast<double>(kMaxFoldElements)))
    return ctx.emitError() << "Range of " << n << " elements is too large";
  HostTensor out(start->getType(), {static_cast<int64_t>(n)});
  for (int64_t i = 0; i < out.size(); ++i) {
    if (out.isFloat())
      out.setDouble(i, s + i * d);
    else
      out.setInt(i, start->getInt(0) + i * delta->getInt(0));
  }
  ctx.setOutput(0, std::move(out));
  return true;
}

static FailureOr<bool> foldIdentity(NodeContext &ctx) {
  ctx.setOutput(0, *ctx.getConstant(0));
  return true;
}

static LogicalResult lowerIdentity(NodeContext &ctx) {
  FailureOr<Value> v = ctx.getValue(0);
  if (failed(v))
    return failure();
  ctx.setOutput(0, *v);
  return success();
}

/// Shape reads the input's static dims (opset 15 adds start and end).
static LogicalResult lowerShape(NodeContext &ctx) {
  SmallVector<int64_t> shape = ctx.getShape(0);
  int64_t rank = shape.size();
  FailureOr<int64_t> start = ctx.getInt("start", 0);
  FailureOr<int64_t> end = ctx.getInt("end", rank);
  if (failed(start) || failed(end))
    return failure();
  auto clamp = [&](int64_t v) {
    if (v < 0)
      v += rank;
    return std::max<int64_t>(0, std::min(v, rank));
  };
  int64_t s = clamp(*start), e = std::max(s, clamp(*end));
  ArrayRef<int64_t> dims = ArrayRef<int64_t>(shape).slice(s, e - s);
  if (failed(ctx.requireStatic(dims, "its input")))
    return failure();
  ctx.setOutput(0, HostTensor::fromInts(dims, /*scalar=*/false));
  return success();
}

static LogicalResult lowerSize(NodeContext &ctx) {
  SmallVector<int64_t> shape = ctx.getShape(0);
  if (failed(ctx.requireStatic(shape, "its input")))
    return failure();
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  ctx.setOutput(0, HostTensor::fromInts({n}, /*scalar=*/true));
  return success();
}

void mlir::pz::onnx::registerConstantOps(OpRegistry &r) {
  r.add("Constant", foldConstant, nullptr, 0);
  r.add("ConstantOfShape", foldConstantOfShape, nullptr);
  r.add("Range", foldRange, nullptr, 3);
  r.add("Identity", foldIdentity, lowerIdentity);
  r.add("Shape", nullptr, lowerShape);
  r.add("Size", nullptr, lowerSize);
}
