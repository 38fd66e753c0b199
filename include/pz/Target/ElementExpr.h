//===- ElementExpr.h - scalar C expressions of element maps -----*- C++ -*-===//
//
// The one printer of an element-map op's scalar expression, shared by the
// CPU backend (loop nests) and the CUDA backend (grid-stride kernels); only
// the loops around it differ (docs/design/0018-cuda-backend.md, decision 2).
//
//===----------------------------------------------------------------------===//

#ifndef PZ_TARGET_ELEMENTEXPR_H
#define PZ_TARGET_ELEMENTEXPR_H

#include "mlir/IR/Operation.h"

#include <functional>
#include <string>

namespace mlir::pz {

/// The C type of an element type, 16-bit floats spelled `f16` and `bf16`
/// ("" when there is none): float, double, int64_t, ..., uint8_t for i1.
std::string cTypeName(Type t, llvm::StringRef f16, llvm::StringRef bf16);

/// How a backend spells element types and 16-bit floats.
struct ElementExprStyle {
  /// The C type of an element type ("" when there is none).
  std::function<std::string(Type)> cType;
  /// false (CPU): 16-bit floats are pzrt::f16/bf16, which convert
  /// implicitly to and from float. true (CUDA): they are __half and
  /// __nv_bfloat16, read explicitly as float (__half2float,
  /// __bfloat162float), their literals are float literals, and a cast to
  /// one is pz_to_f16/pz_to_bf16 (the prelude's single rounding). The
  /// expression then has the type float where the result is 16-bit; the
  /// caller rounds it once with pz_to_f16/pz_to_bf16 when storing.
  bool explicitHalf = false;
};

/// The C expression of one element of an element-map op's result, given the
/// expressions of its operands' elements; "" when the op has none.
std::string elementExpr(Operation *op, llvm::ArrayRef<std::string> a,
                        const ElementExprStyle &style);
/// Whether elementExpr knows the op.
bool hasElementExpr(Operation *op);
/// Whether the op is an integer division (whose expression sets the flag
/// `pz_div0` on a zero divisor).
bool isIntegerDiv(Operation *op);

} // namespace mlir::pz

#endif // PZ_TARGET_ELEMENTEXPR_H
