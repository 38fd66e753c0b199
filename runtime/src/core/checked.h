// Overflow-checked size arithmetic for element and byte counts. Every count
// that comes from a file, a flag or the compiler-emitted model description
// goes through these, so that a huge value is an error, never a wrapped size.
#ifndef PZRT_SRC_CORE_CHECKED_H
#define PZRT_SRC_CORE_CHECKED_H

#include <cstddef>
#include <cstdint>

namespace pzrt {

// The largest element or byte count the runtime accepts: 2^62. Products and
// sums of counts below it stay far from the int64 limit, and no machine
// holds a tensor that large.
constexpr int64_t kMaxCount = int64_t(1) << 62;

// out = a * b; false (out unchanged) on overflow or a result above kMaxCount.
inline bool checkedMul(int64_t a, int64_t b, int64_t &out) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r) || r > kMaxCount || r < -kMaxCount)
    return false;
  out = r;
  return true;
}

// out = a + b; false (out unchanged) on overflow or a result above kMaxCount.
inline bool checkedAdd(int64_t a, int64_t b, int64_t &out) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r) || r > kMaxCount || r < -kMaxCount)
    return false;
  out = r;
  return true;
}

// The product of n dimensions (1 for n == 0); false if a dimension is
// negative or the product leaves [0, kMaxCount].
inline bool checkedNumel(const int64_t *dims, size_t n, int64_t &out) {
  int64_t p = 1;
  for (size_t i = 0; i < n; ++i)
    if (dims[i] < 0 || !checkedMul(p, dims[i], p))
      return false;
  out = p;
  return true;
}

// numel x elemSize bytes; false on overflow.
inline bool checkedBytes(const int64_t *dims, size_t n, size_t elemSize, int64_t &out) {
  int64_t e;
  return checkedNumel(dims, n, e) && checkedMul(e, static_cast<int64_t>(elemSize), out);
}

} // namespace pzrt

#endif // PZRT_SRC_CORE_CHECKED_H
