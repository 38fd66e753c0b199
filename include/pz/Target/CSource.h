//===- CSource.h - C/C++ source text helpers for the emitters ---*- C++ -*-===//

#ifndef PZ_TARGET_CSOURCE_H
#define PZ_TARGET_CSOURCE_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir::pz::csrc {

/// A C string literal (non-printable characters become '?').
std::string cString(llvm::StringRef s);
/// A C++ literal of a float/double value that reads back exactly.
std::string floatLiteral(double v, bool isFloat);
/// The C++ literal of element `i` of a dense constant: a float literal for
/// float types (float for f32, double otherwise), 0/1 for i1,
/// UINT64_C(...) and INT64_C(...) for integers.
std::string elementLiteral(DenseElementsAttr attr, int64_t i);
/// `{a, b, c}` of int64 values.
std::string intList(llvm::ArrayRef<int64_t> values);
/// The runtime dtype of an element type (`PZRT_F32`, ...), or empty.
std::string dtypeName(Type elementType);
/// `{"name", PZRT_F32, 2, {3, 4}}` of a shaped type; fails for element types
/// without a runtime dtype and ranks above 8.
FailureOr<std::string> tensorSpec(Location loc, llvm::StringRef name, Type type);
/// The op's name and its location's name (the ONNX node), printable inside
/// a C string: `pz.matmul '/h.0/attn/MatMul'`.
std::string where(Operation *op);

} // namespace mlir::pz::csrc

#endif // PZ_TARGET_CSOURCE_H
