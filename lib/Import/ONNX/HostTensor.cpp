//===- HostTensor.cpp - Constant tensors the importer evaluates -----------===//

#include "HostTensor.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/STLExtras.h"

#include <cstring>

using namespace mlir;
using namespace mlir::pz::onnx;

int64_t mlir::pz::onnx::foldableElementCount(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return -1;
    if (d != 0 && n > kMaxFoldElements / d)
      return -1;
    n *= d;
  }
  return n;
}

bool mlir::pz::onnx::isFloatType(DataType type) {
  return type == DataType::Float || type == DataType::Double ||
         type == DataType::Float16 || type == DataType::BFloat16;
}

bool mlir::pz::onnx::isIntegerType(DataType type) {
  switch (type) {
  case DataType::Int8:
  case DataType::Int16:
  case DataType::Int32:
  case DataType::Int64:
  case DataType::UInt8:
  case DataType::UInt16:
  case DataType::UInt32:
  case DataType::UInt64:
    return true;
  default:
    return false;
  }
}

bool mlir::pz::onnx::isUnsignedType(DataType type) {
  return type == DataType::UInt8 || type == DataType::UInt16 ||
         type == DataType::UInt32 || type == DataType::UInt64;
}

Type mlir::pz::onnx::toMLIRType(MLIRContext *ctx, DataType type) {
  switch (type) {
  case DataType::Float:
    return Float32Type::get(ctx);
  case DataType::Double:
    return Float64Type::get(ctx);
  case DataType::Float16:
    return Float16Type::get(ctx);
  case DataType::BFloat16:
    return BFloat16Type::get(ctx);
  case DataType::Int32:
    return IntegerType::get(ctx, 32);
  case DataType::Int64:
    return IntegerType::get(ctx, 64);
  case DataType::Bool:
    return IntegerType::get(ctx, 1);
  case DataType::Int8:
    return IntegerType::get(ctx, 8);
  case DataType::Int16:
    return IntegerType::get(ctx, 16);
  case DataType::UInt8:
    return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case DataType::UInt16:
    return IntegerType::get(ctx, 16, IntegerType::Unsigned);
  case DataType::UInt32:
    return IntegerType::get(ctx, 32, IntegerType::Unsigned);
  case DataType::UInt64:
    return IntegerType::get(ctx, 64, IntegerType::Unsigned);
  default:
    return nullptr;
  }
}

DataType mlir::pz::onnx::fromMLIRType(Type type) {
  if (type.isF32())
    return DataType::Float;
  if (type.isF64())
    return DataType::Double;
  if (type.isF16())
    return DataType::Float16;
  if (type.isBF16())
    return DataType::BFloat16;
  if (type.isUnsignedInteger(8))
    return DataType::UInt8;
  if (type.isUnsignedInteger(16))
    return DataType::UInt16;
  if (type.isUnsignedInteger(32))
    return DataType::UInt32;
  if (type.isUnsignedInteger(64))
    return DataType::UInt64;
  if (type.isSignlessInteger(1))
    return DataType::Bool;
  if (type.isSignlessInteger(8))
    return DataType::Int8;
  if (type.isSignlessInteger(16))
    return DataType::Int16;
  if (type.isSignlessInteger(32))
    return DataType::Int32;
  if (type.isSignlessInteger(64))
    return DataType::Int64;
  return DataType::Undefined;
}

/// The APFloat semantics of a float type.
static const llvm::fltSemantics &semantics(DataType type) {
  switch (type) {
  case DataType::Float16:
    return llvm::APFloat::IEEEhalf();
  case DataType::BFloat16:
    return llvm::APFloat::BFloat();
  case DataType::Float:
    return llvm::APFloat::IEEEsingle();
  default:
    return llvm::APFloat::IEEEdouble();
  }
}

/// Rounds a double to the precision of a float type.
static double roundTo(DataType type, double v) {
  if (type == DataType::Double)
    return v;
  if (type == DataType::Float)
    return static_cast<double>(static_cast<float>(v));
  llvm::APFloat f(v);
  bool lost;
  f.convert(semantics(type), llvm::APFloat::rmNearestTiesToEven, &lost);
  return f.convertToDouble();
}

/// Wraps an integer to the width and signedness of an integer type.
static int64_t wrapTo(DataType type, int64_t v) {
  switch (type) {
  case DataType::Bool:
    return v != 0;
  case DataType::Int8:
    return static_cast<int8_t>(v);
  case DataType::UInt8:
    return static_cast<uint8_t>(v);
  case DataType::Int16:
    return static_cast<int16_t>(v);
  case DataType::UInt16:
    return static_cast<uint16_t>(v);
  case DataType::Int32:
    return static_cast<int32_t>(v);
  case DataType::UInt32:
    return static_cast<uint32_t>(v);
  default:
    return v;
  }
}

HostTensor::HostTensor(DataType type, ArrayRef<int64_t> shape)
    : type(type), shape(shape.begin(), shape.end()) {
  int64_t n = foldableElementCount(shape);
  if (n < 0)
    n = 0;
  if (isFloat())
    floats.assign(n, 0.0);
  else
    ints.assign(n, 0);
}

HostTensor HostTensor::fromInts(ArrayRef<int64_t> values, bool scalar) {
  HostTensor t(DataType::Int64,
               scalar ? ArrayRef<int64_t>{}
                      : ArrayRef<int64_t>{static_cast<int64_t>(values.size())});
  t.ints.assign(values.begin(), values.end());
  return t;
}

bool HostTensor::fromTensor(const Tensor &tensor, HostTensor &out,
                            std::string &error) {
  DataType type = tensor.dataType;
  if (!isFloatType(type) && !isIntegerType(type) && type != DataType::Bool) {
    error = "tensor '" + tensor.name + "' has element type " +
            dataTypeName(type) + ", which the importer cannot evaluate";
    return false;
  }
  int64_t n = foldableElementCount(tensor.dims);
  if (n < 0) {
    error = "tensor '" + tensor.name +
            "' is too large to evaluate (more "
            "than " +
            std::to_string(kMaxFoldElements) + " elements)";
    return false;
  }
  int64_t elemSize = dataTypeSize(type);
  if (static_cast<int64_t>(tensor.bytes.size()) != n * elemSize) {
    error = "tensor '" + tensor.name + "' has " +
            std::to_string(tensor.bytes.size()) + " bytes for " +
            std::to_string(n) + " elements";
    return false;
  }
  out = HostTensor(type, tensor.dims);
  const auto *p = reinterpret_cast<const uint8_t *>(tensor.bytes.data());
  for (int64_t i = 0; i < n; ++i, p += elemSize) {
    switch (type) {
    case DataType::Float: {
      float f;
      std::memcpy(&f, p, 4);
      out.floats[i] = f;
      break;
    }
    case DataType::Double:
      std::memcpy(&out.floats[i], p, 8);
      break;
    case DataType::Float16:
    case DataType::BFloat16: {
      uint16_t bits;
      std::memcpy(&bits, p, 2);
      out.floats[i] = llvm::APFloat(semantics(type), llvm::APInt(16, bits))
                          .convertToDouble();
      break;
    }
    default: {
      uint64_t bits = 0;
      std::memcpy(&bits, p, elemSize);
      // Sign-extend the signed types; wrapTo does it from the low bytes.
      out.ints[i] = type == DataType::UInt64 || elemSize == 8
                        ? static_cast<int64_t>(bits)
                        : wrapTo(type, static_cast<int64_t>(bits));
      break;
    }
    }
  }
  return true;
}

void HostTensor::setDouble(int64_t i, double v) {
  if (isFloat())
    floats[i] = roundTo(type, v);
  else if (isBool())
    ints[i] = v != 0.0;
  else if (type == DataType::UInt64 && v >= 0x1p63)
    ints[i] = static_cast<int64_t>(static_cast<uint64_t>(v));
  else
    ints[i] = wrapTo(type, static_cast<int64_t>(v));
}

void HostTensor::setInt(int64_t i, int64_t v) {
  if (isFloat())
    floats[i] = roundTo(type, static_cast<double>(v));
  else
    ints[i] = wrapTo(type, v);
}

SmallVector<int64_t> HostTensor::toInts() const {
  SmallVector<int64_t> out;
  for (int64_t i = 0, e = size(); i < e; ++i)
    out.push_back(getInt(i));
  return out;
}

llvm::hash_code HostTensor::hash() const {
  auto bytes = isFloat() ? ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(floats.data()),
                                             floats.size() * sizeof(double))
                         : ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(ints.data()),
                                             ints.size() * sizeof(int64_t));
  return llvm::hash_combine(static_cast<int>(type), llvm::hash_combine_range(shape),
                            llvm::hash_combine_range(bytes));
}

bool HostTensor::sameAs(const HostTensor &other) const {
  if (type != other.type || shape != other.shape || size() != other.size())
    return false;
  // Bitwise (NaN payloads and signed zeros count); an empty vector's data()
  // may be null, which memcmp must not get even for 0 bytes.
  return isFloat() ? floats.empty() || std::memcmp(floats.data(), other.floats.data(),
                                                   floats.size() * sizeof(double)) == 0
                   : ints == other.ints;
}

HostTensor HostTensor::reshaped(ArrayRef<int64_t> newShape) const {
  HostTensor t = *this;
  t.shape.assign(newShape.begin(), newShape.end());
  return t;
}

RankedTensorType HostTensor::getMLIRType(MLIRContext *ctx) const {
  Type elem = toMLIRType(ctx, type);
  if (!elem)
    return nullptr;
  return RankedTensorType::get(shape, elem);
}

DenseElementsAttr HostTensor::toAttr(MLIRContext *ctx) const {
  RankedTensorType t = getMLIRType(ctx);
  int64_t n = size();
  bool splat = n > 0 && llvm::all_of(llvm::seq<int64_t>(1, n), [&](int64_t i) {
                 return isFloat() ? floats[i] == floats[0] : ints[i] == ints[0];
               });
  if (isBool()) {
    if (splat)
      return DenseElementsAttr::get(t, ints[0] != 0);
    SmallVector<bool> values(ints.begin(), ints.end());
    return DenseElementsAttr::get(t, values);
  }
  if (isFloat()) {
    auto toAP = [&](double v) {
      llvm::APFloat f(v);
      bool lost;
      f.convert(semantics(type), llvm::APFloat::rmNearestTiesToEven, &lost);
      return f;
    };
    if (splat)
      return DenseElementsAttr::get(t, toAP(floats[0]));
    SmallVector<llvm::APFloat> values;
    values.reserve(n);
    for (double v : floats)
      values.push_back(toAP(v));
    return DenseElementsAttr::get(t, values);
  }
  unsigned width = t.getElementType().getIntOrFloatBitWidth();
  // Unsigned elements hold values in [0, 2^width) (UINT64: its bits).
  bool isSigned = !isUnsigned();
  if (splat)
    return DenseElementsAttr::get(t, llvm::APInt(width, ints[0], isSigned));
  SmallVector<llvm::APInt> values;
  values.reserve(n);
  for (int64_t v : ints)
    values.push_back(llvm::APInt(width, v, isSigned));
  return DenseElementsAttr::get(t, values);
}
