//===- ShapeHelpers.h - ONNX shape rules shared by folders and lowerings --===//
//
// Axis normalisation, broadcasting, Reshape's target, Slice's clamping and
// index arithmetic, implemented once and used both when the importer
// evaluates a node on the host and when it emits pz ops. Dynamic dims are
// ShapedType::kDynamic. Each helper reports problems at the node.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_IMPORT_ONNX_SHAPEHELPERS_H
#define PZ_LIB_IMPORT_ONNX_SHAPEHELPERS_H

#include "NodeContext.h"

namespace mlir::pz::onnx {

/// Maps an ONNX axis in [-rank, rank) to [0, rank).
FailureOr<int64_t> normalizeAxis(const NodeContext &ctx, int64_t axis,
                                 int64_t rank, StringRef what = "axis");

/// Normalises a list of axes and sorts it; duplicates are an error.
FailureOr<SmallVector<int64_t>> normalizeAxes(const NodeContext &ctx,
                                              ArrayRef<int64_t> axes,
                                              int64_t rank,
                                              StringRef what = "axes");

/// Numpy broadcasting of two shapes.
FailureOr<SmallVector<int64_t>> broadcastShapes(const NodeContext &ctx,
                                                ArrayRef<int64_t> a,
                                                ArrayRef<int64_t> b);

/// The shape ONNX Reshape gives `input` for the requested `spec` (0 copies
/// the input dim unless `allowZero`, -1 is inferred).
FailureOr<SmallVector<int64_t>> reshapeTarget(const NodeContext &ctx,
                                              ArrayRef<int64_t> input,
                                              ArrayRef<int64_t> spec,
                                              bool allowZero);

/// Per-dim start, step and count of an ONNX Slice after clamping. Steps may
/// be negative.
struct SliceBox {
  SmallVector<int64_t> starts, steps, counts;
};
FailureOr<SliceBox> computeSlice(const NodeContext &ctx,
                                 ArrayRef<int64_t> shape,
                                 ArrayRef<int64_t> starts,
                                 ArrayRef<int64_t> ends,
                                 std::optional<ArrayRef<int64_t>> axes,
                                 std::optional<ArrayRef<int64_t>> steps);

/// Emits `pz.reshape` of `v` to `target` (nothing when the shape already
/// matches). At most one dim of `target` may be dynamic; it becomes -1.
FailureOr<Value> reshapeValue(NodeContext &ctx, Value v,
                              ArrayRef<int64_t> target);

/// Row-major strides of a static shape.
SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape);

/// The linear index into a tensor of shape `in`, broadcast to `out`, of the
/// element at multi-index `idx` (in `out`'s coordinates).
int64_t broadcastOffset(ArrayRef<int64_t> idx, ArrayRef<int64_t> in,
                        ArrayRef<int64_t> inStrides);

/// Steps a multi-index through `shape` in row-major order.
void nextIndex(MutableArrayRef<int64_t> idx, ArrayRef<int64_t> shape);

/// Prints a list as [1, 2].
std::string listString(ArrayRef<int64_t> xs);

/// Prints a shape as 2x?x4 (or "scalar").
std::string shapeString(ArrayRef<int64_t> shape);

} // namespace mlir::pz::onnx

#endif // PZ_LIB_IMPORT_ONNX_SHAPEHELPERS_H
