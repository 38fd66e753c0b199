//===- VJPUtils.h - small builders shared by the ops' VJPs ----------------===//

#ifndef PZ_LIB_DIALECT_PZ_IR_VJPUTILS_H
#define PZ_LIB_DIALECT_PZ_IR_VJPUTILS_H

#include "pz/Dialect/PZ/IR/PZOps.h"

namespace mlir::pz::detail {

/// Builds backward ops at one location, with shorthands for the arithmetic
/// that VJPs spell out.
class GradBuilder {
public:
  GradBuilder(OpBuilder &b, Operation *forward);

  OpBuilder &builder() { return b; }
  Location loc() const { return l; }

  Value add(Value x, Value y);
  Value sub(Value x, Value y);
  Value mul(Value x, Value y);
  Value div(Value x, Value y);
  Value neg(Value x);
  /// A rank-0 constant with `like`'s element type.
  Value scalar(Value like, double v);
  /// Sums a broadcast cotangent back to `target`'s shape (numpy rules).
  /// Needs a static target when the rank changes (the sum is reshaped);
  /// otherwise reports at the forward op and returns null.
  Value sumToShape(Value grad, Type target);
  /// Broadcasts a reduced cotangent back over `axes` to `target`'s shape,
  /// which must be static (else reports and returns null).
  Value unreduce(Value grad, Type target, ArrayRef<int64_t> axes,
                 bool keptDims);

  /// False once a builder method reported an error.
  bool ok() const { return !failed; }

private:
  bool needStatic(Type t);

  OpBuilder &b;
  Location l;
  Operation *forward;
  bool failed = false;
};

/// True when `v` is a float tensor (so it can carry a gradient).
bool isDifferentiable(Value v);

} // namespace mlir::pz::detail

#endif // PZ_LIB_DIALECT_PZ_IR_VJPUTILS_H
