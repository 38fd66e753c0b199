//===- GatherOps.cpp - Gather(Elements), ScatterElements ------------------===//
//
// GatherElements and ScatterElements (reduction none or add) are
// pz.gather_elements and pz.scatter_elements.
// Gather on a 2-D float parameter along axis 0 is an embedding lookup
// (`pz.embedding`); other gathers become `pz.gather`. Negative indices count
// from the end: constant ones are normalised during the import, run-time
// ones of a plain gather through compare / add / where.
//
//===----------------------------------------------------------------------===//

#include "OpRegistry.h"
#include "ShapeHelpers.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::onnx;

/// Constant indices with negative entries normalised and bounds checked.
static FailureOr<HostTensor>
normalizedIndices(NodeContext &ctx, const HostTensor &idx, int64_t dim) {
  if (idx.isFloat() || idx.isBool())
    return ctx.emitError() << "Gather indices must be integers, got "
                           << dataTypeName(idx.getType());
  HostTensor out = idx;
  for (int64_t i = 0, n = idx.size(); i < n; ++i) {
    int64_t v = idx.getInt(i);
    if (ShapedType::isDynamic(dim)) {
      if (v < 0)
        return ctx.emitError()
               << "Gather index " << v << " is negative on a dynamic dim";
      continue;
    }
    if (v < -dim || v >= dim)
      return ctx.emitError() << "Gather index " << v
                             << " is out of range for a dim of size " << dim;
    out.setInt(i, v < 0 ? v + dim : v);
  }
  return out;
}

/// `i < 0 ? i + dim : i` for run-time indices `ids`.
static FailureOr<Value> normalizeRuntimeIndices(NodeContext &ctx, Value ids,
                                                int64_t dim) {
  if (failed(ctx.requireStatic({dim}, "the gathered dim (to normalise "
                                      "negative run-time indices)")))
    return failure();
  auto type = llvm::cast<RankedTensorType>(ids.getType());
  DataType dt = fromMLIRType(type.getElementType());
  if (dt != DataType::Int32 && dt != DataType::Int64)
    return ctx.emitError() << "Gather indices must be INT32 or INT64, got "
                           << type.getElementType();
  HostTensor zero(dt, {}), size(dt, {});
  size.setInt(0, dim);
  FailureOr<Value> z = ctx.materialize(zero, ctx.getLoc());
  FailureOr<Value> d = ctx.materialize(size, ctx.getLoc());
  if (failed(z) || failed(d))
    return failure();
  FailureOr<Value> neg = ctx.create<CompareOp>(ComparePredicate::lt, ids, *z);
  FailureOr<Value> wrapped = ctx.create<AddOp>(ids, *d);
  if (failed(neg) || failed(wrapped))
    return failure();
  return ctx.create<WhereOp>(*neg, *wrapped, ids);
}

static FailureOr<bool> foldGather(NodeContext &ctx) {
  const HostTensor *data = ctx.getConstant(0), *idx = ctx.getConstant(1);
  FailureOr<int64_t> axisAttr = ctx.getInt("axis", 0);
  if (failed(axisAttr))
    return failure();
  FailureOr<int64_t> axis = normalizeAxis(ctx, *axisAttr, data->getRank());
  if (failed(axis))
    return failure();
  ArrayRef<int64_t> ds = data->getShape();
  FailureOr<HostTensor> ids = normalizedIndices(ctx, *idx, ds[*axis]);
  if (failed(ids))
    return failure();
  SmallVector<int64_t> shape(ds.take_front(*axis));
  llvm::append_range(shape, idx->getShape());
  llvm::append_range(shape, ds.drop_front(*axis + 1));
  if (foldableElementCount(shape) < 0)
    return false;
  int64_t inner = 1;
  for (int64_t d : ds.drop_front(*axis + 1))
    inner *= d;
  int64_t outer = 1;
  for (int64_t d : ds.take_front(*axis))
    outer *= d;
  HostTensor out(data->getType(), shape);
  int64_t o = 0;
  for (int64_t a = 0; a < outer; ++a)
    for (int64_t k = 0, n = ids->size(); k < n; ++k)
      for (int64_t i = 0; i < inner; ++i)
        out.copyFrom(o++, *data, (a * ds[*axis] + ids->getInt(k)) * inner + i);
  ctx.setOutput(0, std::move(out));
  return true;
}

static LogicalResult lowerGather(NodeContext &ctx) {
  FailureOr<int64_t> axisAttr = ctx.getInt("axis", 0);
  if (failed(axisAttr))
    return failure();
  SmallVector<int64_t> ds = ctx.getShape(0);
  FailureOr<int64_t> axis = normalizeAxis(ctx, *axisAttr, ds.size());
  if (failed(axis))
    return failure();
  FailureOr<Value> data = ctx.getValue(0);
  if (failed(data))
    return failure();
  FailureOr<Value> ids;
  if (const HostTensor *c = ctx.getConstant(1)) {
    FailureOr<HostTensor> n = normalizedIndices(ctx, *c, ds[*axis]);
    if (failed(n))
      return failure();
    ids = ctx.materialize(*n, ctx.getLoc());
  } else {
    ids = ctx.getValue(1);
  }
  if (failed(ids))
    return failure();
  bool embedding = *axis == 0 && ds.size() == 2 && ctx.isParameter(0) &&
                   isFloatType(ctx.getDataType(0));
  // ONNX counts negative indices from the end; run-time indices of a plain
  // gather get `i < 0 ? i + dim : i`. Embedding ids (token ids) are taken
  // to be in [0, vocab), as every tokenizer makes them.
  if (!embedding && !ctx.getConstant(1))
    ids = normalizeRuntimeIndices(ctx, *ids, ds[*axis]);
  std::optional<int64_t> pad;
  if (embedding)
    pad = ctx.takePaddingIdx(*data);
  FailureOr<Value> r =
      embedding
          ? ctx.create<EmbeddingOp>(
                *data, *ids,
                pad ? ctx.getBuilder().getI64IntegerAttr(*pad) : IntegerAttr())
          : ctx.create<GatherOp>(*data, *ids, static_cast<uint64_t>(*axis));
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// GatherElements and ScatterElements
//===----------------------------------------------------------------------===//

/// GatherElements is `pz.gather_elements`; negative indices count from the
/// end in the op itself. On constants the reference interpreter folds it.
static LogicalResult lowerGatherElements(NodeContext &ctx) {
  FailureOr<int64_t> axisAttr = ctx.getInt("axis", 0);
  if (failed(axisAttr))
    return failure();
  FailureOr<int64_t> axis =
      normalizeAxis(ctx, *axisAttr, ctx.getShape(0).size());
  FailureOr<Value> x = ctx.getValue(0), idx = ctx.getValue(1);
  if (failed(axis) || failed(x) || failed(idx))
    return failure();
  FailureOr<Value> r = ctx.create<GatherElementsOp>(
      *x, *idx, static_cast<uint64_t>(*axis));
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

/// ScatterElements with reduction "none" or "add" is `pz.scatter_elements`
/// (`accumulate` for "add").
static LogicalResult lowerScatterElements(NodeContext &ctx) {
  FailureOr<int64_t> axisAttr = ctx.getInt("axis", 0);
  FailureOr<std::string> reduction = ctx.getString("reduction", "none");
  if (failed(axisAttr) || failed(reduction))
    return failure();
  if (*reduction != "none" && *reduction != "add")
    return ctx.emitError() << "ScatterElements reduction '" << *reduction
                           << "' is not supported; the importer takes 'none' "
                              "and 'add'";
  if (ctx.getDataType(0) != ctx.getDataType(2))
    return ctx.emitError() << "ScatterElements data and updates have different "
                              "element types "
                           << dataTypeName(ctx.getDataType(0)) << " and "
                           << dataTypeName(ctx.getDataType(2));
  FailureOr<int64_t> axis =
      normalizeAxis(ctx, *axisAttr, ctx.getShape(0).size());
  FailureOr<Value> x = ctx.getValue(0), idx = ctx.getValue(1),
                   upd = ctx.getValue(2);
  if (failed(axis) || failed(x) || failed(idx) || failed(upd))
    return failure();
  FailureOr<Value> r = ctx.create<ScatterElementsOp>(
      *x, *idx, *upd, static_cast<uint64_t>(*axis), *reduction == "add");
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

void mlir::pz::onnx::registerGatherOps(OpRegistry &r) {
  r.add("Gather", foldGather, lowerGather, 2);
  r.add("GatherElements", nullptr, lowerGatherElements, 2);
  r.add("ScatterElements", nullptr, lowerScatterElements, 3);
}
