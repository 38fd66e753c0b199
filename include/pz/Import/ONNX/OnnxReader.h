//===- OnnxReader.h - Read an .onnx file into plain structs
//----------------===//
//
// The only part of Parallelize that links protobuf. It parses with a size
// limit, converts the ModelProto into the structs of OnnxModel.h and reads
// tensors stored as external data, which it only takes from regular files
// inside the model's directory.
//
// This header depends on the C++ standard library only.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_IMPORT_ONNX_ONNXREADER_H
#define PZ_IMPORT_ONNX_ONNXREADER_H

#include "pz/Import/ONNX/OnnxModel.h"

#include <cstdint>
#include <string>

namespace mlir::pz::onnx {

struct ReadOptions {
  /// The largest .onnx file accepted (protobuf cannot parse more than 2 GiB;
  /// larger models keep their weights as external data).
  int64_t maxFileBytes = (int64_t(1) << 31) - 1;
};

/// Reads the ONNX model at `path` into `model`. On failure returns false and
/// sets `error` to a message that names the problem (and the tensor, for
/// external data).
bool readModelFile(const std::string &path, Model &model, std::string &error,
                   const ReadOptions &options = {});

/// Reads an ONNX model from the bytes of a file: `name` is what messages call
/// it, `modelDir` the directory that external data must come from. The same
/// checks as readModelFile, which reads the file and calls this.
bool readModelBytes(std::string data, const std::string &name,
                    const std::string &modelDir, Model &model,
                    std::string &error, const ReadOptions &options = {});

} // namespace mlir::pz::onnx

#endif // PZ_IMPORT_ONNX_ONNXREADER_H
