//===- InitWeights.cpp - the initial weights of a train program -----------===//

#include "InitWeights.h"

#include "pz/Import/ONNX/OnnxImporter.h"
#include "pz/Import/ONNX/OnnxReader.h"
#include "pz/Support/Limits.h"
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

/// Writes the deterministic initial values of parameter `index`, in chunks
/// of at most 1M floats (the random stream does not depend on the chunking),
/// so that no parameter needs one allocation of its whole size.
void defaultInit(const ProgramTensor &p, size_t index, int64_t n, llvm::raw_fd_ostream &os) {
  constexpr int64_t kChunk = int64_t(1) << 20;
  std::vector<float> out;
  llvm::StringRef name(p.name);
  bool ones = p.shape.size() <= 1 && !name.ends_with("bias") && !name.ends_with("beta");
  double bound = 1.0 / std::sqrt(static_cast<double>(
                           std::max<int64_t>(p.shape.empty() ? 1 : p.shape.back(), 1)));
  for (int64_t at = 0; at < n; at += kChunk) {
    int64_t len = std::min(kChunk, n - at);
    if (p.shape.size() <= 1) {
      out.assign(len, ones ? 1.0f : 0.0f);
    } else {
      out.resize(len);
      pzrt_rand_uniform(/*seed=*/0x5eed, /*step=*/index, static_cast<uint64_t>(at), out.data(),
                        len);
      for (float &v : out)
        v = static_cast<float>((2.0 * v - 1.0) * bound);
    }
    os.write(reinterpret_cast<const char *>(out.data()), out.size() * sizeof(float));
    if (os.has_error())
      return;
  }
}
} // namespace

bool mlir::pz::driver::writeInitialWeights(llvm::StringRef modelPath,
                                           llvm::ArrayRef<ProgramTensor> localParams,
                                           llvm::StringRef path, int &fromInitializers,
                                           std::string &error, bool untieInitializers,
                                           bool retieInitializers) {
  fromInitializers = 0;
  // The file holds whole tensors; each rank reads its chunk of a
  // flat-sharded (ZeRO-3) parameter and its block of a box-sharded (tp)
  // one from it.
  std::vector<ProgramTensor> params(localParams.begin(), localParams.end());
  for (ProgramTensor &p : params)
    if (p.shardAxes || !p.dimAxes.empty()) {
      p.shape = p.globalShape;
      p.shardAxes = 0;
      p.dimAxes.clear();
    }
  onnx::Model model;
  llvm::StringMap<const onnx::Tensor *> inits;
  if (modelPath.ends_with(".onnx")) {
    if (!onnx::readModelFile(modelPath.str(), model, error))
      return false;
    if (untieInitializers)
      onnx::untieIdentityInitializers(model);
    if (retieInitializers)
      onnx::retieTransposedInitializers(model);
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
    std::optional<int64_t> end = bytes < 0 ? std::nullopt : boundedTotal(offset, bytes);
    if (!end) {
      error = "the parameters exceed " + std::to_string(kMaxTotalBytes) + " bytes (at '" +
              p.name + "')";
      return false;
    }
    header += (i ? "," : "") + jsonString(p.name) + ":{\"dtype\":\"F32\",\"shape\":[";
    for (auto [d, s] : llvm::enumerate(p.shape))
      header += (d ? "," : "") + std::to_string(s);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]}";
    offset = *end;
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
    defaultInit(p, i, p.bytes() / 4, os);
    if (os.has_error())
      break;
  }
  os.close();
  if (os.has_error()) {
    error = "writing '" + path.str() + "' failed: " + os.error().message();
    os.clear_error();
    return false;
  }
  return true;
}
