// Shared pieces of checkpoint saving and loading: the slice index, its
// validation, and copying between N-d slices.
#ifndef PZRT_SRC_IO_CKPT_COMMON_H
#define PZRT_SRC_IO_CKPT_COMMON_H

#include "pzrt/types.h"

#include <cstdint>
#include <string>
#include <vector>

namespace pzrt::ckpt {

// A region of a tensor, stored in `file`: a box (offsets and extents per
// dimension) or, when `flat`, the elements [begin, end) of the tensor
// flattened in C order (a ZeRO shard, stored 1-D). A file holds one
// region of a tensor under the tensor's name and any more under `key`s.
struct Slice {
  std::string file;
  std::string key; // its entry in the file when not the tensor's name (version 3)
  std::vector<int64_t> offsets, extents;
  bool flat = false;
  int64_t begin = 0, end = 0;
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

// Checks 0 <= begin <= end <= numel(shape); `what` prefixes errors.
int checkFlatRange(const std::string &what, const std::vector<int64_t> &shape, int64_t begin,
                   int64_t end);

// "[2, 0]+[2, 6]" for a box, "flat [12, 24)" for a flat slice.
std::string sliceStr(const Slice &s);
int64_t sliceNumel(const Slice &s);
// The shape the slice's data has in its file: the extents, or {end - begin}.
std::vector<int64_t> storedShape(const Slice &s);
bool sameRegion(const Slice &a, const Slice &b);
// Whether two regions of a tensor of `shape` share an element.
bool overlaps(const Slice &a, const Slice &b, const std::vector<int64_t> &shape);
// The smallest C-order index >= pos of an element of the box (off, ext) of
// a tensor of `shape`, or -1 when there is none.
int64_t firstBoxIndexFrom(const std::vector<int64_t> &shape, const std::vector<int64_t> &off,
                          const std::vector<int64_t> &ext, int64_t pos);

// The boxes (offsets, extents) whose elements are the range [begin, end)
// of a tensor of `shape` flattened in C order, in that order, each a
// contiguous run of it: at most 2 ndim - 1 of them. A flat chunk of a
// tensor-parallel block is such a range of the block; its boxes are the
// regions the checkpoint reads and writes.
std::vector<Slice> rangeBoxes(const std::vector<int64_t> &shape, int64_t begin, int64_t end);

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

// Copies the elements that region `src` (its data at srcData, C order of
// the box or flat range) shares with region `dst` (dstData) of a tensor of
// `shape`; either may be a box or flat. Returns the number of elements.
int64_t copyRegion(const void *srcData, const Slice &src, void *dstData, const Slice &dst,
                   const std::vector<int64_t> &shape, size_t elemSize);

} // namespace pzrt::ckpt

#endif // PZRT_SRC_IO_CKPT_COMMON_H
