// 16-bit floats (F16, BF16) widened to fp32 and rounded back once: the host
// communicators (MPI, TCP) reduce them in fp32.
#ifndef PZRT_SRC_COMM_HALF_WORDS_H
#define PZRT_SRC_COMM_HALF_WORDS_H

#include "pzrt/types.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace pzrt {

inline bool isHalf(pzrt_dtype d) { return d == PZRT_F16 || d == PZRT_BF16; }

inline void halfToFloat(const void *src, float *dst, size_t n, pzrt_dtype d) {
  auto *s = static_cast<const uint16_t *>(src);
  for (size_t i = 0; i < n; ++i)
    dst[i] = d == PZRT_BF16 ? pzrt_bf16_to_f32(s[i]) : pzrt_f16_to_f32(s[i]);
}

inline void floatToHalf(const float *src, void *dst, size_t n, pzrt_dtype d) {
  auto *o = static_cast<uint16_t *>(dst);
  for (size_t i = 0; i < n; ++i)
    o[i] = d == PZRT_BF16 ? pzrt_f32_to_bf16(src[i]) : pzrt_f32_to_f16(src[i]);
}

// A reduction of 16-bit floats run in fp32: `inCount` words of `send`
// widened, `reduce(in, out)` filling `outCount` floats, those rounded once
// into `recv`. reduce returns 0 or -1, which this returns.
template <typename Reduce>
int reduceInFp32(const void *send, size_t inCount, void *recv, size_t outCount, pzrt_dtype d,
                 Reduce reduce) {
  std::vector<float> in(inCount), out(outCount);
  halfToFloat(send, in.data(), inCount, d);
  if (reduce(in.data(), out.data()))
    return -1;
  floatToHalf(out.data(), recv, outCount, d);
  return 0;
}

} // namespace pzrt

#endif // PZRT_SRC_COMM_HALF_WORDS_H
