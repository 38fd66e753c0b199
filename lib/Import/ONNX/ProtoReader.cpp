//===- ProtoReader.cpp - ModelProto to the plain ONNX structs -------------===//
//
// The protobuf-facing half of the ONNX import, compiled with RTTI (protobuf
// needs it) into its own library. Everything it returns is a plain struct.
//
//===----------------------------------------------------------------------===//

#include "ExternalData.h"
#include "pz/Import/ONNX/OnnxReader.h"
#include "pz/Support/Limits.h"

#include "onnx/onnx_pb.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <fstream>
#include <limits>

#include <sys/stat.h>

using namespace mlir::pz::onnx;

namespace {

/// Conversion state: the model's directory (for external data) and the
/// first error.
class Converter {
public:
  explicit Converter(std::string modelDir) : modelDir(std::move(modelDir)) {}

  bool convertModel(::onnx::ModelProto &proto, Model &model);
  std::string error;
  std::vector<std::string> externalFiles;

private:
  bool convertGraph(::onnx::GraphProto &proto, Graph &graph);
  bool convertNode(::onnx::NodeProto &proto, Node &node);
  bool convertAttribute(::onnx::AttributeProto &proto, NodeAttribute &attr,
                        const std::string &where);
  bool convertTensor(::onnx::TensorProto &proto, Tensor &tensor,
                     const std::string &where);
  void convertValueInfo(const ::onnx::ValueInfoProto &proto, ValueInfo &info);

  bool fail(const std::string &msg) {
    if (error.empty())
      error = msg;
    return false;
  }

  std::string modelDir;
};

/// Appends `count` little-endian elements of `bytesPerElem` bytes each,
/// taken from the low bytes of `values` (the typed *_data fields).
template <typename Repeated>
void packValues(const Repeated &values, int64_t bytesPerElem,
                std::string &out) {
  out.resize(static_cast<size_t>(values.size() * bytesPerElem));
  char *dst = out.data();
  for (const auto &v : values) {
    // Integers narrower than their field keep their value in the low bytes;
    // the host is little-endian like the wire format of raw_data.
    if constexpr (std::is_integral_v<std::decay_t<decltype(v)>>) {
      uint64_t bits = static_cast<uint64_t>(v);
      std::memcpy(dst, &bits, static_cast<size_t>(bytesPerElem));
    } else {
      std::memcpy(dst, &v, static_cast<size_t>(bytesPerElem));
    }
    dst += bytesPerElem;
  }
}

} // namespace

bool Converter::convertTensor(::onnx::TensorProto &proto, Tensor &tensor,
                              const std::string &where) {
  tensor.name = proto.name();
  std::string what = where + " '" + tensor.name + "'";
  if (!::onnx::TensorProto_DataType_IsValid(proto.data_type()) ||
      proto.data_type() == ::onnx::TensorProto_DataType_UNDEFINED)
    return fail(what + " has the unknown data type " +
                std::to_string(proto.data_type()));
  tensor.dataType = static_cast<DataType>(proto.data_type());
  for (int64_t d : proto.dims()) {
    if (d < 0)
      return fail(what + " has the negative dim " + std::to_string(d));
    tensor.dims.push_back(d);
  }
  std::optional<int64_t> bounded = mlir::pz::boundedElementCount(tensor.dims);
  if (!bounded)
    return fail(what + " has more than " +
                std::to_string(mlir::pz::kMaxTensorElements) +
                " (2^48) elements, the most a tensor may hold");
  int64_t count = *bounded;
  if (proto.has_segment())
    return fail(what + " is segmented, which the importer does not support");
  if (tensor.dataType == DataType::String) {
    if (proto.string_data_size() != count)
      return fail(what + " has " + std::to_string(proto.string_data_size()) +
                  " strings for " + std::to_string(count) + " elements");
    return true;
  }
  int64_t elemSize = dataTypeSize(tensor.dataType);
  if (tensor.dataType == DataType::Complex64)
    elemSize = 8;
  if (tensor.dataType == DataType::Complex128)
    elemSize = 16;
  int64_t bytes = count * elemSize; // <= 2^48 x 16: no overflow

  if (proto.has_data_location() &&
      proto.data_location() == ::onnx::TensorProto_DataLocation_EXTERNAL) {
    std::vector<std::pair<std::string, std::string>> entries;
    for (const auto &e : proto.external_data())
      entries.emplace_back(e.key(), e.value());
    std::string err, file;
    if (!readExternalData(modelDir, entries, bytes, tensor.bytes, file, err))
      return fail(what + ": " + err);
    if (std::find(externalFiles.begin(), externalFiles.end(), file) ==
        externalFiles.end())
      externalFiles.push_back(file);
    return true;
  }
  if (proto.has_raw_data()) {
    if (static_cast<int64_t>(proto.raw_data().size()) != bytes)
      return fail(what + " has " + std::to_string(proto.raw_data().size()) +
                  " bytes of raw data, but its shape and type need " +
                  std::to_string(bytes));
    tensor.bytes.swap(*proto.mutable_raw_data()); // no copy of the weights
    return true;
  }
  int64_t have = 0;
  switch (tensor.dataType) {
  case DataType::Float:
  case DataType::Complex64:
    have = proto.float_data_size();
    packValues(proto.float_data(), 4, tensor.bytes);
    break;
  case DataType::Double:
  case DataType::Complex128:
    have = proto.double_data_size();
    packValues(proto.double_data(), 8, tensor.bytes);
    break;
  case DataType::Int64:
    have = proto.int64_data_size();
    packValues(proto.int64_data(), 8, tensor.bytes);
    break;
  case DataType::UInt32:
  case DataType::UInt64:
    have = proto.uint64_data_size();
    packValues(proto.uint64_data(), elemSize, tensor.bytes);
    break;
  default: // int32, int16, int8, uint16, uint8, bool, float16, bfloat16
    have = proto.int32_data_size();
    packValues(proto.int32_data(), elemSize, tensor.bytes);
    break;
  }
  if (tensor.dataType == DataType::Complex64 ||
      tensor.dataType == DataType::Complex128)
    have /= 2;
  if (have != count)
    return fail(what + " has " + std::to_string(have) +
                " values, but its "
                "shape needs " +
                std::to_string(count));
  return true;
}

bool Converter::convertAttribute(::onnx::AttributeProto &proto,
                                 NodeAttribute &attr,
                                 const std::string &where) {
  using K = NodeAttribute::Kind;
  attr.name = proto.name();
  int type = proto.type();
  if (type == ::onnx::AttributeProto_AttributeType_UNDEFINED) {
    // IR version 1 attributes carry no type; take the field that is set.
    if (proto.has_f())
      type = ::onnx::AttributeProto_AttributeType_FLOAT;
    else if (proto.has_i())
      type = ::onnx::AttributeProto_AttributeType_INT;
    else if (proto.has_s())
      type = ::onnx::AttributeProto_AttributeType_STRING;
    else if (proto.has_t())
      type = ::onnx::AttributeProto_AttributeType_TENSOR;
    else if (proto.has_g())
      type = ::onnx::AttributeProto_AttributeType_GRAPH;
    else if (proto.floats_size())
      type = ::onnx::AttributeProto_AttributeType_FLOATS;
    else if (proto.ints_size())
      type = ::onnx::AttributeProto_AttributeType_INTS;
    else if (proto.strings_size())
      type = ::onnx::AttributeProto_AttributeType_STRINGS;
  }
  switch (type) {
  case ::onnx::AttributeProto_AttributeType_FLOAT:
    attr.kind = K::Float;
    attr.f = proto.f();
    break;
  case ::onnx::AttributeProto_AttributeType_INT:
    attr.kind = K::Int;
    attr.i = proto.i();
    break;
  case ::onnx::AttributeProto_AttributeType_STRING:
    attr.kind = K::String;
    attr.s = proto.s();
    break;
  case ::onnx::AttributeProto_AttributeType_TENSOR:
    attr.kind = K::Tensor;
    attr.tensors.emplace_back();
    if (!convertTensor(*proto.mutable_t(), attr.tensors.back(),
                       where + " attribute '" + attr.name + "' tensor"))
      return false;
    break;
  case ::onnx::AttributeProto_AttributeType_FLOATS:
    attr.kind = K::Floats;
    attr.floats.assign(proto.floats().begin(), proto.floats().end());
    break;
  case ::onnx::AttributeProto_AttributeType_INTS:
    attr.kind = K::Ints;
    attr.ints.assign(proto.ints().begin(), proto.ints().end());
    break;
  case ::onnx::AttributeProto_AttributeType_STRINGS:
    attr.kind = K::Strings;
    attr.strings.assign(proto.strings().begin(), proto.strings().end());
    break;
  // Subgraphs (If's branches, Loop's body) are read whole; sparse tensors
  // and types are kept as kinds only: no op the importer supports takes
  // them, and the importer reports the attribute.
  case ::onnx::AttributeProto_AttributeType_GRAPH: {
    attr.kind = K::Graph;
    auto graph = std::make_shared<Graph>();
    if (!convertGraph(*proto.mutable_g(), *graph))
      return false;
    attr.graphs.push_back(std::move(graph));
    break;
  }
  case ::onnx::AttributeProto_AttributeType_GRAPHS:
    attr.kind = K::Graphs;
    for (auto &g : *proto.mutable_graphs()) {
      auto graph = std::make_shared<Graph>();
      if (!convertGraph(g, *graph))
        return false;
      attr.graphs.push_back(std::move(graph));
    }
    break;
  case ::onnx::AttributeProto_AttributeType_TENSORS:
    attr.kind = K::Tensors;
    break;
  case ::onnx::AttributeProto_AttributeType_SPARSE_TENSOR:
    attr.kind = K::SparseTensor;
    break;
  case ::onnx::AttributeProto_AttributeType_SPARSE_TENSORS:
    attr.kind = K::SparseTensors;
    break;
  case ::onnx::AttributeProto_AttributeType_TYPE_PROTO:
    attr.kind = K::TypeProto;
    break;
  case ::onnx::AttributeProto_AttributeType_TYPE_PROTOS:
    attr.kind = K::TypeProtos;
    break;
  default:
    attr.kind = K::Undefined;
    break;
  }
  return true;
}

bool Converter::convertNode(::onnx::NodeProto &proto, Node &node) {
  node.name = proto.name();
  node.opType = proto.op_type();
  node.domain = proto.domain() == "ai.onnx" ? "" : proto.domain();
  node.inputs.assign(proto.input().begin(), proto.input().end());
  node.outputs.assign(proto.output().begin(), proto.output().end());
  std::string where = node.opType + " node '" + node.name + "'";
  for (auto &a : *proto.mutable_attribute()) {
    node.attributes.emplace_back();
    if (!convertAttribute(a, node.attributes.back(), where))
      return false;
  }
  return true;
}

void Converter::convertValueInfo(const ::onnx::ValueInfoProto &proto,
                                 ValueInfo &info) {
  using K = ValueInfo::Kind;
  info.name = proto.name();
  if (!proto.has_type()) {
    info.kind = K::Unknown;
    return;
  }
  const ::onnx::TypeProto &type = proto.type();
  switch (type.value_case()) {
  case ::onnx::TypeProto::kTensorType: {
    info.kind = K::Tensor;
    const auto &t = type.tensor_type();
    info.elemType = static_cast<DataType>(t.elem_type());
    info.hasShape = t.has_shape();
    for (const auto &d : t.shape().dim()) {
      Dim dim;
      if (d.has_dim_value() && d.dim_value() >= 0)
        dim.size = d.dim_value();
      else if (d.has_dim_param())
        dim.symbol = d.dim_param();
      info.dims.push_back(dim);
    }
    break;
  }
  case ::onnx::TypeProto::kSequenceType:
    info.kind = K::Sequence;
    break;
  case ::onnx::TypeProto::kMapType:
    info.kind = K::Map;
    break;
  case ::onnx::TypeProto::kOptionalType:
    info.kind = K::Optional;
    break;
  case ::onnx::TypeProto::kSparseTensorType:
    info.kind = K::SparseTensor;
    break;
  default:
    info.kind = K::Unknown;
    break;
  }
}

bool Converter::convertGraph(::onnx::GraphProto &proto, Graph &graph) {
  graph.name = proto.name();
  for (auto &t : *proto.mutable_initializer()) {
    graph.initializers.emplace_back();
    if (!convertTensor(t, graph.initializers.back(), "initializer"))
      return false;
  }
  if (proto.sparse_initializer_size())
    return fail("the graph has sparse initializers, which the importer does "
                "not support");
  for (auto &n : *proto.mutable_node()) {
    graph.nodes.emplace_back();
    if (!convertNode(n, graph.nodes.back()))
      return false;
  }
  for (const auto &v : proto.input()) {
    graph.inputs.emplace_back();
    convertValueInfo(v, graph.inputs.back());
  }
  for (const auto &v : proto.output()) {
    graph.outputs.emplace_back();
    convertValueInfo(v, graph.outputs.back());
  }
  return true;
}

bool Converter::convertModel(::onnx::ModelProto &proto, Model &model) {
  model.irVersion = proto.ir_version();
  model.producerName = proto.producer_name();
  model.producerVersion = proto.producer_version();
  for (const auto &p : proto.metadata_props())
    model.metadata.emplace_back(p.key(), p.value());
  for (const auto &o : proto.opset_import())
    model.opsets.push_back(
        {o.domain() == "ai.onnx" ? "" : o.domain(), o.version()});
  model.hasGraph = proto.has_graph();
  if (!model.hasGraph)
    return true;
  return convertGraph(*proto.mutable_graph(), model.graph);
}

bool mlir::pz::onnx::readModelFile(const std::string &path, Model &model,
                                   std::string &error,
                                   const ReadOptions &options) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    error = std::string("cannot read '") + path + "': " + std::strerror(errno);
    return false;
  }
  if (!S_ISREG(st.st_mode)) {
    error = "'" + path + "' is not a regular file";
    return false;
  }
  if (st.st_size > options.maxFileBytes) {
    error = "'" + path + "' is " + std::to_string(st.st_size) +
            " bytes, more than the " + std::to_string(options.maxFileBytes) +
            " bytes protobuf can parse; store the weights as external data";
    return false;
  }
  std::string data;
  try {
    data.resize(static_cast<size_t>(st.st_size));
    std::ifstream in(path, std::ios::binary);
    if (!in || !in.read(data.data(), st.st_size)) {
      error = "cannot read '" + path + "'";
      return false;
    }
  } catch (const std::exception &e) {
    error = "cannot read '" + path + "': " + e.what();
    return false;
  }
  std::string dir = ".";
  if (size_t slash = path.find_last_of('/'); slash != std::string::npos)
    dir = slash == 0 ? "/" : path.substr(0, slash);
  return readModelBytes(std::move(data), path, dir, model, error, options);
}

bool mlir::pz::onnx::readModelBytes(std::string data, const std::string &name,
                                    const std::string &modelDir, Model &model,
                                    std::string &error,
                                    const ReadOptions &options) {
  if (static_cast<int64_t>(data.size()) > options.maxFileBytes) {
    error = "'" + name + "' is " + std::to_string(data.size()) +
            " bytes, more than the " +
            std::to_string(options.maxFileBytes) +
            " bytes protobuf can parse; store the weights as external data";
    return false;
  }
  try {
    ::onnx::ModelProto proto;
    {
      google::protobuf::io::ArrayInputStream stream(
          data.data(), static_cast<int>(data.size()));
      google::protobuf::io::CodedInputStream coded(&stream);
      coded.SetTotalBytesLimit(static_cast<int>(options.maxFileBytes));
      if (!proto.ParseFromCodedStream(&coded) ||
          !coded.ConsumedEntireMessage()) {
        error = "'" + name +
                "' is not a valid ONNX model: the protobuf data "
                "is truncated or malformed";
        return false;
      }
      std::string().swap(data);
    } // the file's bytes go; the weights now live in `proto`, then `model`
    Converter converter(modelDir);
    if (!converter.convertModel(proto, model)) {
      error = "'" + name + "': " + converter.error;
      return false;
    }
    model.externalFiles = std::move(converter.externalFiles);
  } catch (const std::exception &e) {
    error = "cannot read '" + name + "': " + e.what();
    return false;
  }
  return true;
}
