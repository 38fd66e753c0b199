//===- ShapeUtils.h - Shape helpers shared by the pz op definitions ------===//

#ifndef PZ_LIB_DIALECT_PZ_IR_SHAPEUTILS_H
#define PZ_LIB_DIALECT_PZ_IR_SHAPEUTILS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>

namespace mlir::pz::detail {

using MaybeLoc = std::optional<Location>;

/// The operand's ranked tensor type; emits an error and returns null when it
/// is anything else (inference may run before the type constraints do).
RankedTensorType rankedOrError(MaybeLoc loc, Value v, llvm::StringRef name);

/// Numpy broadcasting of two shapes; emits an error naming both when they
/// do not broadcast.
LogicalResult broadcastOrError(MaybeLoc loc, ArrayRef<int64_t> a,
                               ArrayRef<int64_t> b,
                               SmallVectorImpl<int64_t> &out);

/// Checks `0 <= axis < rank`.
LogicalResult checkAxis(MaybeLoc loc, int64_t axis, int64_t rank,
                        llvm::StringRef what = "axis");

/// True when two dims may be equal (either is dynamic, or they are equal).
inline bool dimsAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// The static one of two agreeing dims, else dynamic.
inline int64_t mergeDims(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) ? b : a;
}

/// The mask, bias and scale rules that pz.attention and pz.attention_grad
/// share.
LogicalResult verifyAttentionAttrs(Operation *op, RankedTensorType query,
                                   RankedTensorType key, Value mask,
                                   std::optional<APFloat> scale, Value bias = Value());

/// pz.attention's shape rules on query, key and value; pushes its result
/// type.
LogicalResult inferAttentionType(MaybeLoc loc, Value query, Value key, Value value,
                                 SmallVectorImpl<Type> &inferred);

/// pz.attention_block and its gradient: the forward shape rules on the
/// query, key, value (and mask), `out` of the attention's result type,
/// `lse` [B, H, Sq], and the positions (both or neither) [Sq] and [Sk].
LogicalResult verifyAttentionBlock(Operation *op, Value query, Value key, Value value,
                                   Value mask, std::optional<APFloat> scale, Type out,
                                   Type lse, Value queryPositions, Value keyPositions);

/// The number of elements that `pz.slice` (and `pz.slice_grad`) takes on
/// dim `dim` of `size` (which may be dynamic) for `start`, `end`, `step`.
/// A positive step needs `0 <= start <= end <= size`, a negative one
/// `-1 <= end <= start <= size - 1`; when a rule is broken, returns failure
/// and sets `error` to a message naming it.
FailureOr<int64_t> sliceDimSize(int64_t dim, int64_t size, int64_t start,
                                int64_t end, int64_t step, std::string &error);

/// Prints a list as `[1, 2]` for messages.
std::string listStr(ArrayRef<int64_t> xs);

/// Prints a shape as `2x?x4` for messages.
std::string shapeStr(ArrayRef<int64_t> shape);

} // namespace mlir::pz::detail

#endif // PZ_LIB_DIALECT_PZ_IR_SHAPEUTILS_H
