// Shared pieces of checkpoint saving and loading: the slice index, its
// validation, and copying between N-d slices.
#ifndef PZRT_SRC_IO_CKPT_COMMON_H
#define PZRT_SRC_IO_CKPT_COMMON_H

#include "pzrt/types.h"

#include <cstdint>
#include <string>
#include <vector>

namespace pzrt::ckpt {

struct Slice {
  std::string file;
  std::vector<int64_t> offsets, extents;
};

struct TensorEntry {
  std::string name;
  pzrt_dtype dtype = PZRT_F32;
  std::vector<int64_t> shape;
  std::vector<Slice> slices;
};

std::string shapeStr(const std::vector<int64_t> &v);
// The element count; -1 if a dimension is negative or it exceeds 2^62.
int64_t numel(const std::vector<int64_t> &shape);

// Checks that offsets/extents lie inside shape; `what` prefixes errors.
int checkRegion(const std::string &what, const std::vector<int64_t> &shape,
                const std::vector<int64_t> &offsets, const std::vector<int64_t> &extents);

// Adds a slice to t: an identical slice already present is skipped (a
// replica), a partial overlap is an error.
int mergeSlice(TensorEntry &t, Slice s, const std::string &where);

// Checks that t's slices lie inside its shape, are disjoint and cover it.
int checkCoverage(const TensorEntry &t, const std::string &where);

// Copies the intersection of region `dst` (offsets dOff, extents dExt; dst
// points at its first element) and `src` (sOff, sExt) from src to dst.
// Returns the number of elements copied.
int64_t copyIntersection(const void *src, const std::vector<int64_t> &sOff,
                         const std::vector<int64_t> &sExt, void *dst,
                         const std::vector<int64_t> &dOff, const std::vector<int64_t> &dExt,
                         size_t elemSize);

} // namespace pzrt::ckpt

#endif // PZRT_SRC_IO_CKPT_COMMON_H
