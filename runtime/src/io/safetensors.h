// safetensors files: writing one, and parsing/validating one.
#ifndef PZRT_SRC_IO_SAFETENSORS_H
#define PZRT_SRC_IO_SAFETENSORS_H

#include "io/fsutil.h"
#include "io/json.h"
#include "pzrt/types.h"

#include <cstdint>
#include <string>
#include <vector>

namespace pzrt {

struct StTensor {
  std::string name;
  pzrt_dtype dtype = PZRT_F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0; // relative to the data section
  const void *data = nullptr;  // for writing
};

// Writes a safetensors file durably (fsync). metadata: string -> string.
// crc/bytes (optional) receive the file's CRC-32C and size.
int writeSafetensors(const std::string &path, const std::vector<StTensor> &tensors,
                     const std::vector<std::pair<std::string, std::string>> &metadata,
                     uint32_t *crc = nullptr, uint64_t *bytes = nullptr);

// A parsed, validated safetensors file (memory-mapped).
struct StFile {
  MappedFile file;
  std::vector<StTensor> tensors;
  json::Value metadata; // object of strings (possibly empty)
  const unsigned char *dataStart = nullptr;
  const StTensor *find(const std::string &name) const;
};

// Opens and validates, as the safetensors format requires: header length
// within the file (and at most 100 MB), a JSON object header, known dtypes,
// shapes whose byte size fits, data_offsets matching the shape, and the
// tensors' data contiguous: sorted by offset, each starts where the previous
// one ends, from 0 to the end of the file (no gap, no overlap). Errors name
// the file, the tensor and the byte offset.
int readSafetensors(const std::string &path, StFile &out);

} // namespace pzrt

#endif // PZRT_SRC_IO_SAFETENSORS_H
