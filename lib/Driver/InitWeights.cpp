//===- InitWeights.cpp - the initial weights of a train program -----------===//

#include "InitWeights.h"

#include "pz/Import/ONNX/OnnxReader.h"
#include "pzrt/kernels.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;

namespace {
std::string jsonString(llvm::StringRef s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (static_cast<unsigned char>(c) < 32) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

void defaultInit(const ProgramTensor &p, size_t index, std::vector<float> &out) {
  int64_t n = 1;
  for (int64_t d : p.shape)
    n *= d;
  out.assign(n, 0.0f);
  llvm::StringRef name(p.name);
  if (p.shape.size() <= 1) {
    if (!name.ends_with("bias") && !name.ends_with("beta"))
      std::fill(out.begin(), out.end(), 1.0f);
    return;
  }
  double bound = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(p.shape.back(), 1)));
  pzrt_rand_uniform(/*seed=*/0x5eed, /*step=*/index, 0, out.data(), n);
  for (float &v : out)
    v = static_cast<float>((2.0 * v - 1.0) * bound);
}
} // namespace

bool mlir::pz::driver::writeInitialWeights(llvm::StringRef modelPath,
                                           llvm::ArrayRef<ProgramTensor> params,
                                           llvm::StringRef path, int &fromInitializers,
                                           std::string &error) {
  fromInitializers = 0;
  onnx::Model model;
  llvm::StringMap<const onnx::Tensor *> inits;
  if (modelPath.ends_with(".onnx")) {
    if (!onnx::readModelFile(modelPath.str(), model, error))
      return false;
    for (const onnx::Tensor &t : model.graph.initializers)
      inits[t.name] = &t;
  }
  // Header first: every tensor is F32 and contiguous.
  std::string header = "{";
  int64_t offset = 0;
  for (auto [i, p] : llvm::enumerate(params)) {
    if (!p.elementType.isF32()) {
      error = "parameter '" + p.name + "' is not f32";
      return false;
    }
    int64_t bytes = p.bytes();
    header += (i ? "," : "") + jsonString(p.name) + ":{\"dtype\":\"F32\",\"shape\":[";
    for (auto [d, s] : llvm::enumerate(p.shape))
      header += (d ? "," : "") + std::to_string(s);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    error = "cannot write '" + path.str() + "': " + ec.message();
    return false;
  }
  uint64_t n = header.size();
  char len[8];
  for (int b = 0; b < 8; ++b)
    len[b] = static_cast<char>((n >> (8 * b)) & 0xff);
  os.write(len, 8);
  os << header;
  std::vector<float> values;
  for (auto [i, p] : llvm::enumerate(params)) {
    auto it = inits.find(p.name);
    if (it != inits.end()) {
      const onnx::Tensor &t = *it->second;
      if (t.dataType != onnx::DataType::Float || t.dims != p.shape) {
        error = "initializer '" + p.name + "' does not match the parameter's type " +
                "(expected FLOAT of the compiled shape)";
        return false;
      }
      os.write(t.bytes.data(), t.bytes.size());
      ++fromInitializers;
      continue;
    }
    defaultInit(p, i, values);
    os.write(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(float));
  }
  os.close();
  if (os.has_error()) {
    error = "writing '" + path.str() + "' failed";
    os.clear_error();
    return false;
  }
  return true;
}
