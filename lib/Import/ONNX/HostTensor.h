//===- HostTensor.h - Constant tensors the importer evaluates -------------===//
//
// A "known constant" of the ONNX import: a small tensor held on the host.
// Initializers of integer type, Constant nodes and every node whose inputs
// are all known constants (shape arithmetic, mostly) become host tensors;
// the importer evaluates such nodes in C++ and emits no IR for them. A host
// tensor becomes IR (`pz.constant`) only where a runtime op reads it.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_IMPORT_ONNX_HOSTTENSOR_H
#define PZ_LIB_IMPORT_ONNX_HOSTTENSOR_H

#include "pz/Import/ONNX/OnnxModel.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/Hashing.h"
#include "llvm/ADT/SmallVector.h"

#include <string>
#include <vector>

namespace mlir::pz::onnx {

/// The largest tensor the importer evaluates on the host.
constexpr int64_t kMaxFoldElements = int64_t(1) << 24;

/// The number of elements of a static shape; -1 when it overflows or
/// exceeds kMaxFoldElements.
int64_t foldableElementCount(llvm::ArrayRef<int64_t> shape);

/// True for FLOAT, DOUBLE, FLOAT16 and BFLOAT16.
bool isFloatType(DataType type);
/// True for the signed and unsigned integer types (not BOOL).
bool isIntegerType(DataType type);
/// True for UINT8, UINT16, UINT32 and UINT64.
bool isUnsignedType(DataType type);

/// The element type the pz dialect uses for an ONNX type (UINT8 -> ui8,
/// ...), or null when the dialect has none (int8, int16, strings,
/// complex).
Type toMLIRType(MLIRContext *ctx, DataType type);
/// The ONNX type of a pz element type (f32 -> FLOAT, i1 -> BOOL, ui8 ->
/// UINT8, ...).
DataType fromMLIRType(Type type);

class HostTensor {
public:
  HostTensor() = default;
  /// A zero-filled tensor. Callers check foldableElementCount(shape) first;
  /// a shape above the limit gets no elements.
  HostTensor(DataType type, llvm::ArrayRef<int64_t> shape);

  /// Decodes an ONNX tensor; false with `error` set for strings, complex
  /// types and tensors above kMaxFoldElements.
  static bool fromTensor(const Tensor &tensor, HostTensor &out,
                         std::string &error);
  /// A rank-0 or rank-1 int64 tensor.
  static HostTensor fromInts(llvm::ArrayRef<int64_t> values, bool scalar);

  DataType getType() const { return type; }
  llvm::ArrayRef<int64_t> getShape() const { return shape; }
  int64_t getRank() const { return shape.size(); }
  int64_t size() const { return isFloat() ? floats.size() : ints.size(); }
  bool isFloat() const { return isFloatType(type); }
  bool isBool() const { return type == DataType::Bool; }
  bool isUnsigned() const { return isUnsignedType(type); }

  /// The element's value (a UINT64 element, stored as its bits, counts
  /// from 0 to 2^64 - 1).
  double getDouble(int64_t i) const {
    if (isFloat())
      return floats[i];
    return type == DataType::UInt64
               ? static_cast<double>(static_cast<uint64_t>(ints[i]))
               : static_cast<double>(ints[i]);
  }
  int64_t getInt(int64_t i) const {
    return isFloat() ? static_cast<int64_t>(floats[i]) : ints[i];
  }
  /// Stores `v`, rounded to the element type (float32 precision for FLOAT,
  /// 0/1 for BOOL, two's-complement wrap for narrow integers).
  void setDouble(int64_t i, double v);
  void setInt(int64_t i, int64_t v);
  /// Copies element `j` of `src` (which has the same element type) to `i`.
  void copyFrom(int64_t i, const HostTensor &src, int64_t j) {
    if (isFloat())
      floats[i] = src.floats[j];
    else
      ints[i] = src.ints[j];
  }

  /// All elements as int64 (truncating floats).
  llvm::SmallVector<int64_t> toInts() const;
  /// The same elements with another shape (the element count must agree).
  HostTensor reshaped(llvm::ArrayRef<int64_t> newShape) const;

  /// A hash of the type, shape and element bits, and bitwise equality of
  /// the same (a NaN equals a NaN of the same bits): for interning equal
  /// folded constants (NodeContext::setOutput).
  llvm::hash_code hash() const;
  bool sameAs(const HostTensor &other) const;

  /// The IR type, or null when the element type has no pz equivalent.
  RankedTensorType getMLIRType(MLIRContext *ctx) const;
  /// The elements as an attribute of `getMLIRType(ctx)` (which must exist).
  DenseElementsAttr toAttr(MLIRContext *ctx) const;

private:
  DataType type = DataType::Int64;
  llvm::SmallVector<int64_t, 4> shape;
  std::vector<double> floats; // float types
  std::vector<int64_t> ints;  // integer types and BOOL (UINT64: the bits)
};

} // namespace mlir::pz::onnx

#endif // PZ_LIB_IMPORT_ONNX_HOSTTENSOR_H
