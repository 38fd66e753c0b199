//===- OnnxModel.cpp - Helpers on the plain ONNX structs ------------------===//

#include "pz/Import/ONNX/OnnxModel.h"

using namespace mlir::pz::onnx;

std::string mlir::pz::onnx::dataTypeName(DataType type) {
  switch (type) {
  case DataType::Undefined:
    return "UNDEFINED";
  case DataType::Float:
    return "FLOAT";
  case DataType::UInt8:
    return "UINT8";
  case DataType::Int8:
    return "INT8";
  case DataType::UInt16:
    return "UINT16";
  case DataType::Int16:
    return "INT16";
  case DataType::Int32:
    return "INT32";
  case DataType::Int64:
    return "INT64";
  case DataType::String:
    return "STRING";
  case DataType::Bool:
    return "BOOL";
  case DataType::Float16:
    return "FLOAT16";
  case DataType::Double:
    return "DOUBLE";
  case DataType::UInt32:
    return "UINT32";
  case DataType::UInt64:
    return "UINT64";
  case DataType::Complex64:
    return "COMPLEX64";
  case DataType::Complex128:
    return "COMPLEX128";
  case DataType::BFloat16:
    return "BFLOAT16";
  }
  return "type " + std::to_string(static_cast<int32_t>(type));
}

int64_t mlir::pz::onnx::dataTypeSize(DataType type) {
  switch (type) {
  case DataType::Bool:
  case DataType::UInt8:
  case DataType::Int8:
    return 1;
  case DataType::UInt16:
  case DataType::Int16:
  case DataType::Float16:
  case DataType::BFloat16:
    return 2;
  case DataType::Float:
  case DataType::Int32:
  case DataType::UInt32:
    return 4;
  case DataType::Double:
  case DataType::Int64:
  case DataType::UInt64:
    return 8;
  default:
    return 0;
  }
}

int64_t Tensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

const char *mlir::pz::onnx::attributeKindName(NodeAttribute::Kind kind) {
  switch (kind) {
  case NodeAttribute::Kind::Undefined:
    return "UNDEFINED";
  case NodeAttribute::Kind::Float:
    return "FLOAT";
  case NodeAttribute::Kind::Int:
    return "INT";
  case NodeAttribute::Kind::String:
    return "STRING";
  case NodeAttribute::Kind::Tensor:
    return "TENSOR";
  case NodeAttribute::Kind::Graph:
    return "GRAPH";
  case NodeAttribute::Kind::Floats:
    return "FLOATS";
  case NodeAttribute::Kind::Ints:
    return "INTS";
  case NodeAttribute::Kind::Strings:
    return "STRINGS";
  case NodeAttribute::Kind::Tensors:
    return "TENSORS";
  case NodeAttribute::Kind::Graphs:
    return "GRAPHS";
  case NodeAttribute::Kind::SparseTensor:
    return "SPARSE_TENSOR";
  case NodeAttribute::Kind::SparseTensors:
    return "SPARSE_TENSORS";
  case NodeAttribute::Kind::TypeProto:
    return "TYPE_PROTO";
  case NodeAttribute::Kind::TypeProtos:
    return "TYPE_PROTOS";
  }
  return "UNKNOWN";
}

const NodeAttribute *Node::findAttribute(const std::string &attrName) const {
  for (const NodeAttribute &a : attributes)
    if (a.name == attrName)
      return &a;
  return nullptr;
}
