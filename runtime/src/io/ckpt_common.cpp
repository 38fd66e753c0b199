// Checkpoint slice bookkeeping and N-d slice copies.
#include "io/ckpt_common.h"

#include "core/checked.h"
#include "core/internal.h"

#include <cstring>

namespace pzrt::ckpt {

std::string shapeStr(const std::vector<int64_t> &v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

int64_t numel(const std::vector<int64_t> &shape) {
  int64_t n = 0;
  return checkedNumel(shape.data(), shape.size(), n) ? n : -1;
}

int checkRegion(const std::string &what, const std::vector<int64_t> &shape,
                const std::vector<int64_t> &offsets, const std::vector<int64_t> &extents) {
  if (offsets.size() != shape.size() || extents.size() != shape.size())
    return fail("%s: slice has %zu offsets and %zu extents for a %zu-d tensor", what.c_str(),
                offsets.size(), extents.size(), shape.size());
  if (numel(shape) < 0)
    return fail("%s: the global shape %s is negative or has more than 2^62 elements",
                what.c_str(), shapeStr(shape).c_str());
  for (size_t d = 0; d < shape.size(); ++d) {
    if (offsets[d] < 0 || extents[d] < 0 || offsets[d] > shape[d] ||
        extents[d] > shape[d] - offsets[d])
      return fail("%s: slice offsets %s extents %s leave the global shape %s in dimension %zu",
                  what.c_str(), shapeStr(offsets).c_str(), shapeStr(extents).c_str(),
                  shapeStr(shape).c_str(), d);
  }
  return 0;
}

namespace {
bool intersects(const Slice &a, const Slice &b) {
  for (size_t d = 0; d < a.offsets.size(); ++d) {
    int64_t lo = std::max(a.offsets[d], b.offsets[d]);
    int64_t hi = std::min(a.offsets[d] + a.extents[d], b.offsets[d] + b.extents[d]);
    if (hi <= lo)
      return false;
  }
  return true;
}
} // namespace

int mergeSlice(TensorEntry &t, Slice s, const std::string &where) {
  if (numel(s.extents) == 0)
    return 0;
  for (const Slice &o : t.slices) {
    if (o.offsets == s.offsets && o.extents == s.extents)
      return 0; // replica
    if (intersects(o, s))
      return fail("%s: tensor '%s': slice %s+%s in %s partially overlaps slice %s+%s in %s",
                  where.c_str(), t.name.c_str(), shapeStr(s.offsets).c_str(),
                  shapeStr(s.extents).c_str(), s.file.c_str(), shapeStr(o.offsets).c_str(),
                  shapeStr(o.extents).c_str(), o.file.c_str());
  }
  t.slices.push_back(std::move(s));
  return 0;
}

int checkCoverage(const TensorEntry &t, const std::string &where) {
  int64_t covered = 0;
  for (size_t i = 0; i < t.slices.size(); ++i) {
    const Slice &s = t.slices[i];
    if (checkRegion(where + ": tensor '" + t.name + "' in " + s.file, t.shape, s.offsets,
                    s.extents))
      return -1;
    for (size_t j = 0; j < i; ++j)
      if (intersects(s, t.slices[j]))
        return fail("%s: tensor '%s': slices in %s and %s overlap", where.c_str(),
                    t.name.c_str(), s.file.c_str(), t.slices[j].file.c_str());
    covered += numel(s.extents);
  }
  if (covered != numel(t.shape))
    return fail("%s: tensor '%s' of shape %s: its slices cover %lld of %lld elements",
                where.c_str(), t.name.c_str(), shapeStr(t.shape).c_str(), (long long)covered,
                (long long)numel(t.shape));
  return 0;
}

int64_t copyIntersection(const void *src, const std::vector<int64_t> &sOff,
                         const std::vector<int64_t> &sExt, void *dst,
                         const std::vector<int64_t> &dOff, const std::vector<int64_t> &dExt,
                         size_t elemSize) {
  const size_t nd = sOff.size();
  if (nd == 0) {
    std::memcpy(dst, src, elemSize);
    return 1;
  }
  std::vector<int64_t> lo(nd), hi(nd);
  for (size_t d = 0; d < nd; ++d) {
    lo[d] = std::max(sOff[d], dOff[d]);
    hi[d] = std::min(sOff[d] + sExt[d], dOff[d] + dExt[d]);
    if (hi[d] <= lo[d])
      return 0;
  }
  // Row-major strides (in elements) of both regions.
  std::vector<int64_t> sStride(nd, 1), dStride(nd, 1);
  for (size_t d = nd - 1; d > 0; --d) {
    sStride[d - 1] = sStride[d] * sExt[d];
    dStride[d - 1] = dStride[d] * dExt[d];
  }
  const int64_t run = hi[nd - 1] - lo[nd - 1];
  std::vector<int64_t> idx(lo); // odometer over dims 0..nd-2
  int64_t copied = 0;
  const char *s = static_cast<const char *>(src);
  char *o = static_cast<char *>(dst);
  while (true) {
    int64_t sPos = 0, dPos = 0;
    for (size_t d = 0; d < nd; ++d) {
      sPos += (idx[d] - sOff[d]) * sStride[d];
      dPos += (idx[d] - dOff[d]) * dStride[d];
    }
    std::memcpy(o + dPos * static_cast<int64_t>(elemSize), s + sPos * static_cast<int64_t>(elemSize),
                static_cast<size_t>(run) * elemSize);
    copied += run;
    size_t d = nd - 1;
    while (d > 0) {
      --d;
      if (++idx[d] < hi[d])
        break;
      idx[d] = lo[d];
      if (d == 0)
        return copied;
    }
    if (nd == 1)
      return copied;
  }
}

} // namespace pzrt::ckpt
