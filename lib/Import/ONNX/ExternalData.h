//===- ExternalData.h - Read tensors stored outside the .onnx file --------===//
//
// ONNX can keep a tensor's bytes in a separate file (TensorProto.data_location
// = EXTERNAL, with `location`, `offset` and `length` entries). A model is
// untrusted input, so the location must name a regular file inside the
// model's directory: no absolute path, no `..` component, no symlink that
// resolves outside the directory, no device or FIFO, and offset and length
// must lie inside the file and match the tensor's byte size.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_IMPORT_ONNX_EXTERNALDATA_H
#define PZ_LIB_IMPORT_ONNX_EXTERNALDATA_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mlir::pz::onnx {

/// Reads the external data of a tensor, described by the key/value
/// `entries`, into `out`. `modelDir` is the directory that holds the .onnx
/// file; `expectedBytes` is the tensor's size in bytes. Returns false and
/// sets `error` ("external data ...") when the reference is unsafe or does
/// not fit. `file` receives the resolved path of the file read.
bool readExternalData(
    const std::string &modelDir,
    const std::vector<std::pair<std::string, std::string>> &entries,
    int64_t expectedBytes, std::string &out, std::string &file,
    std::string &error);

} // namespace mlir::pz::onnx

#endif // PZ_LIB_IMPORT_ONNX_EXTERNALDATA_H
