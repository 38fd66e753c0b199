//===- OnnxModel.h - An ONNX model as plain C++ structs
//--------------------===//
//
// The reader (OnnxReader.h) turns an ONNX ModelProto into these structs, so
// that the MLIR importer never sees protobuf types. The structs keep what the
// importer needs: the graph, its nodes and attributes, initializers with
// their bytes (external data already read), and the declared value types.
//
// This header depends on the C++ standard library only.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_IMPORT_ONNX_ONNXMODEL_H
#define PZ_IMPORT_ONNX_ONNXMODEL_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir::pz::onnx {

/// TensorProto.DataType values.
enum class DataType : int32_t {
  Undefined = 0,
  Float = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Double = 11,
  UInt32 = 12,
  UInt64 = 13,
  Complex64 = 14,
  Complex128 = 15,
  BFloat16 = 16,
};

/// The ONNX spelling of a data type ("FLOAT", "INT64", ...); "type N" for
/// values this build does not know.
std::string dataTypeName(DataType type);

/// Bytes per element of a fixed-size numeric type (bool: 1); 0 for strings,
/// complex and unknown types.
int64_t dataTypeSize(DataType type);

/// A tensor with its elements packed little-endian, `numElements() *
/// dataTypeSize(dataType)` bytes (the reader checks the count). String
/// tensors keep no bytes. `bytes` is a std::string so that the reader can
/// take protobuf's raw_data without a copy.
struct Tensor {
  std::string name;
  DataType dataType = DataType::Undefined;
  std::vector<int64_t> dims;
  std::string bytes;

  int64_t numElements() const;
};

struct Graph;

/// One node attribute. `kind` says which member holds the value.
struct NodeAttribute {
  enum class Kind {
    Undefined,
    Float,
    Int,
    String,
    Tensor,
    Graph,
    Floats,
    Ints,
    Strings,
    Tensors,
    Graphs,
    SparseTensor,
    SparseTensors,
    TypeProto,
    TypeProtos,
  };
  std::string name;
  Kind kind = Kind::Undefined;
  float f = 0.0f;
  int64_t i = 0;
  std::string s;
  std::vector<float> floats;
  std::vector<int64_t> ints;
  std::vector<std::string> strings;
  std::vector<onnx::Tensor> tensors; // one entry for Kind::Tensor
  /// One entry for Kind::Graph (If's branches, Loop's body), any number
  /// for Kind::Graphs.
  std::vector<std::shared_ptr<const Graph>> graphs;
};

/// The name of an attribute kind, as ONNX spells it ("INTS", ...).
const char *attributeKindName(NodeAttribute::Kind kind);

struct Node {
  std::string name;
  std::string opType;
  std::string domain;              // "" for the default domain (ai.onnx)
  std::vector<std::string> inputs; // "" marks an omitted optional input
  std::vector<std::string> outputs;
  std::vector<NodeAttribute> attributes;

  const NodeAttribute *findAttribute(const std::string &attrName) const;
};

/// One dim of a declared shape: a size (>= 0), a symbol, or unknown.
struct Dim {
  int64_t size = -1;  // -1 when not a known size
  std::string symbol; // the dim_param, if any
};

/// A graph input, output or value_info entry.
struct ValueInfo {
  enum class Kind { Tensor, Sequence, Map, Optional, SparseTensor, Unknown };
  std::string name;
  Kind kind = Kind::Unknown;
  DataType elemType = DataType::Undefined;
  bool hasShape = false;
  std::vector<Dim> dims;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<Tensor> initializers;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
};

struct OpsetImport {
  std::string domain;
  int64_t version = 0;
};

struct Model {
  int64_t irVersion = 0;
  std::string producerName;
  std::string producerVersion;
  std::vector<OpsetImport> opsets;
  /// The model's metadata_props (key, value), in the file's order.
  std::vector<std::pair<std::string, std::string>> metadata;
  Graph graph;
  bool hasGraph = false;
  /// The files external data was read from (resolved absolute paths, each
  /// once): inputs too, which no output may overwrite.
  std::vector<std::string> externalFiles;
};

} // namespace mlir::pz::onnx

#endif // PZ_IMPORT_ONNX_ONNXMODEL_H
