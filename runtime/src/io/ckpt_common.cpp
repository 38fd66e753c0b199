// Checkpoint slice bookkeeping and N-d slice copies.
#include "io/ckpt_common.h"

#include "core/checked.h"
#include "core/internal.h"

#include <algorithm>
#include <cstddef>
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

int checkFlatRange(const std::string &what, const std::vector<int64_t> &shape, int64_t begin,
                   int64_t end) {
  const int64_t n = numel(shape);
  if (n < 0)
    return fail("%s: the global shape %s is negative or has more than 2^62 elements",
                what.c_str(), shapeStr(shape).c_str());
  if (begin < 0 || end < begin || end > n)
    return fail("%s: flat slice [%lld, %lld) is not a range within the %lld elements of the "
                "global shape %s",
                what.c_str(), (long long)begin, (long long)end, (long long)n,
                shapeStr(shape).c_str());
  return 0;
}

std::string sliceStr(const Slice &s) {
  if (s.flat)
    return "flat [" + std::to_string(s.begin) + ", " + std::to_string(s.end) + ")";
  return shapeStr(s.offsets) + "+" + shapeStr(s.extents);
}

int64_t sliceNumel(const Slice &s) { return s.flat ? s.end - s.begin : numel(s.extents); }

std::vector<int64_t> storedShape(const Slice &s) {
  return s.flat ? std::vector<int64_t>{s.end - s.begin} : s.extents;
}

bool sameRegion(const Slice &a, const Slice &b) {
  if (a.flat != b.flat)
    return false;
  return a.flat ? a.begin == b.begin && a.end == b.end
                : a.offsets == b.offsets && a.extents == b.extents;
}

int64_t firstBoxIndexFrom(const std::vector<int64_t> &shape, const std::vector<int64_t> &off,
                          const std::vector<int64_t> &ext, int64_t pos) {
  const size_t nd = shape.size();
  const int64_t n = numel(shape);
  if (numel(ext) == 0 || pos >= n)
    return -1;
  pos = std::max<int64_t>(pos, 0);
  std::vector<int64_t> t(nd); // pos as an index; shape has no 0 (n > pos)
  int64_t rest = pos;
  for (size_t d = nd; d-- > 0;) {
    t[d] = rest % shape[d];
    rest /= shape[d];
  }
  auto linear = [&](const std::vector<int64_t> &p) {
    int64_t x = 0;
    for (size_t d = 0; d < nd; ++d)
      x = x * shape[d] + p[d];
    return x;
  };
  // C order is lexicographic order of the indices: keep the longest prefix
  // of t that lies in the box, then take the next box element after it.
  size_t d = 0;
  while (d < nd && t[d] >= off[d] && t[d] < off[d] + ext[d])
    ++d;
  if (d == nd)
    return pos;
  std::vector<int64_t> p(t);
  if (t[d] >= off[d]) { // past the box in dimension d: advance an outer dimension
    while (d > 0 && t[d - 1] + 1 >= off[d - 1] + ext[d - 1])
      --d;
    if (d == 0)
      return -1;
    --d;
    p[d] = t[d] + 1;
  } else {
    p[d] = off[d];
  }
  for (size_t k = d + 1; k < nd; ++k)
    p[k] = off[k];
  return linear(p);
}

namespace {

bool boxesIntersect(const Slice &a, const Slice &b) {
  for (size_t d = 0; d < a.offsets.size(); ++d) {
    int64_t lo = std::max(a.offsets[d], b.offsets[d]);
    int64_t hi = std::min(a.offsets[d] + a.extents[d], b.offsets[d] + b.extents[d]);
    if (hi <= lo)
      return false;
  }
  return true;
}

// Calls fn(first, at, len) for each run of the box that is contiguous in the
// tensor's C order, in ascending order: `first` is the run's index in the
// tensor, `at` its index in the box's own C order. Trailing dimensions the
// box spans whole merge into the run, so a whole tensor is one run. fn
// returns false to stop.
template <typename Fn>
void forEachRun(const std::vector<int64_t> &shape, const std::vector<int64_t> &off,
                const std::vector<int64_t> &ext, Fn fn) {
  const size_t nd = shape.size();
  if (numel(ext) == 0)
    return;
  size_t whole = nd; // dimensions whole.. are spanned entirely
  while (whole > 0 && off[whole - 1] == 0 && ext[whole - 1] == shape[whole - 1])
    --whole;
  if (whole == 0) {
    fn(int64_t{0}, int64_t{0}, numel(shape));
    return;
  }
  std::vector<int64_t> stride(nd, 1);
  for (size_t d = nd; d-- > 1;)
    stride[d - 1] = stride[d] * shape[d];
  const size_t r = whole - 1; // the runs go along dimension r
  const int64_t len = ext[r] * stride[r];
  std::vector<int64_t> idx(off.begin(), off.begin() + static_cast<std::ptrdiff_t>(r));
  for (int64_t at = 0;; at += len) {
    int64_t first = off[r] * stride[r];
    for (size_t d = 0; d < r; ++d)
      first += idx[d] * stride[d];
    if (!fn(first, at, len))
      return;
    for (size_t d = r;;) { // odometer over the dimensions before r
      if (d == 0)
        return;
      --d;
      if (++idx[d] < off[d] + ext[d])
        break;
      idx[d] = off[d];
    }
  }
}

} // namespace

bool overlaps(const Slice &a, const Slice &b, const std::vector<int64_t> &shape) {
  if (sliceNumel(a) == 0 || sliceNumel(b) == 0)
    return false;
  if (!a.flat && !b.flat)
    return boxesIntersect(a, b);
  if (a.flat && b.flat)
    return std::max(a.begin, b.begin) < std::min(a.end, b.end);
  const Slice &box = a.flat ? b : a, &range = a.flat ? a : b;
  int64_t first = firstBoxIndexFrom(shape, box.offsets, box.extents, range.begin);
  return first >= 0 && first < range.end;
}

std::vector<Slice> rangeBoxes(const std::vector<int64_t> &shape, int64_t begin, int64_t end) {
  const size_t nd = shape.size();
  std::vector<Slice> boxes;
  // stride[d]: the elements of one index step in dim d (the dims after it).
  std::vector<int64_t> stride(nd + 1, 1);
  for (size_t d = nd; d-- > 0;)
    stride[d] = stride[d + 1] * shape[d];
  while (begin < end) {
    // The outermost dim d whose whole steps start at `begin` and fit: take
    // as many of its steps as fit (within its extent), the dims after it whole.
    size_t d = nd;
    while (d > 0 && begin % stride[d - 1] == 0 && begin + stride[d - 1] <= end)
      --d;
    Slice box;
    const int64_t rest = begin;
    for (size_t j = 0; j < nd; ++j) { // begin's index; 0 in the whole dims from d
      box.offsets.push_back(rest / stride[j + 1] % shape[j]);
      box.extents.push_back(j < d ? 1 : shape[j]);
    }
    if (d == 0) { // [begin, end) holds the whole tensor
      boxes.push_back(std::move(box));
      break;
    }
    // d - 1 is the dim that steps (at least once, as the loop checked):
    // up to the end of the range or of the dim.
    const size_t k = d - 1;
    const int64_t steps = std::min((end - begin) / stride[k + 1], shape[k] - box.offsets[k]);
    box.extents[k] = steps;
    boxes.push_back(std::move(box));
    begin += steps * stride[k + 1];
  }
  return boxes;
}

int mergeSlice(TensorEntry &t, Slice s, const std::string &where) {
  if (sliceNumel(s) == 0)
    return 0;
  for (const Slice &o : t.slices) {
    if (sameRegion(o, s))
      return 0; // replica
    if (overlaps(o, s, t.shape))
      return fail("%s: tensor '%s': slice %s in %s partially overlaps slice %s in %s",
                  where.c_str(), t.name.c_str(), sliceStr(s).c_str(), s.file.c_str(),
                  sliceStr(o).c_str(), o.file.c_str());
  }
  t.slices.push_back(std::move(s));
  return 0;
}

int checkCoverage(const TensorEntry &t, const std::string &where) {
  int64_t covered = 0;
  for (size_t i = 0; i < t.slices.size(); ++i) {
    const Slice &s = t.slices[i];
    const std::string what = where + ": tensor '" + t.name + "' in " + s.file;
    if (s.flat ? checkFlatRange(what, t.shape, s.begin, s.end)
               : checkRegion(what, t.shape, s.offsets, s.extents))
      return -1;
    for (size_t j = 0; j < i; ++j)
      if (overlaps(s, t.slices[j], t.shape))
        return fail("%s: tensor '%s': slices in %s and %s overlap (%s and %s)", where.c_str(),
                    t.name.c_str(), s.file.c_str(), t.slices[j].file.c_str(),
                    sliceStr(s).c_str(), sliceStr(t.slices[j]).c_str());
    covered += sliceNumel(s);
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

int64_t copyRegion(const void *srcData, const Slice &src, void *dstData, const Slice &dst,
                   const std::vector<int64_t> &shape, size_t elemSize) {
  if (!src.flat && !dst.flat)
    return copyIntersection(srcData, src.offsets, src.extents, dstData, dst.offsets, dst.extents,
                            elemSize);
  const char *in = static_cast<const char *>(srcData);
  char *out = static_cast<char *>(dstData);
  const int64_t elem = static_cast<int64_t>(elemSize);
  if (src.flat && dst.flat) {
    int64_t lo = std::max(src.begin, dst.begin), hi = std::min(src.end, dst.end);
    if (hi <= lo)
      return 0;
    std::memcpy(out + (lo - dst.begin) * elem, in + (lo - src.begin) * elem,
                static_cast<size_t>((hi - lo) * elem));
    return hi - lo;
  }
  // One box, one flat range: copy the parts of the box's runs inside it.
  const Slice &box = src.flat ? dst : src, &range = src.flat ? src : dst;
  int64_t copied = 0;
  forEachRun(shape, box.offsets, box.extents, [&](int64_t first, int64_t at, int64_t len) {
    if (first >= range.end)
      return false; // runs ascend
    int64_t lo = std::max(first, range.begin), hi = std::min(first + len, range.end);
    if (lo < hi) {
      int64_t boxAt = at + (lo - first), rangeAt = lo - range.begin;
      int64_t outAt = src.flat ? boxAt : rangeAt, inAt = src.flat ? rangeAt : boxAt;
      std::memcpy(out + outAt * elem, in + inAt * elem, static_cast<size_t>((hi - lo) * elem));
      copied += hi - lo;
    }
    return true;
  });
  return copied;
}

} // namespace pzrt::ckpt
