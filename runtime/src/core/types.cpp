// Element types and fp16/bf16 conversions.
#include "pzrt/types.h"

#include "core/internal.h"
#include "core/simd_clones.h"
#include "pzrt/half_bits.h"

#include <cstring>

namespace {
const char *const kNames[PZRT_DTYPE_COUNT] = {"F32", "F16", "BF16", "F64", "I32", "I64",
                                              "U8",  "U16", "U32",  "U64", "I8",  "I16"};
const size_t kSizes[PZRT_DTYPE_COUNT] = {4, 2, 2, 8, 4, 8, 1, 2, 4, 8, 1, 2};

} // namespace

extern "C" {

size_t pzrt_dtype_size(pzrt_dtype dtype) {
  if (dtype < 0 || dtype >= PZRT_DTYPE_COUNT)
    return 0;
  return kSizes[dtype];
}

const char *pzrt_dtype_name(pzrt_dtype dtype) {
  if (dtype < 0 || dtype >= PZRT_DTYPE_COUNT)
    return "?";
  return kNames[dtype];
}

int pzrt_dtype_from_name(const char *name, pzrt_dtype *out) {
  if (!name)
    return -1;
  for (int i = 0; i < PZRT_DTYPE_COUNT; ++i) {
    if (std::strcmp(name, kNames[i]) == 0) {
      *out = static_cast<pzrt_dtype>(i);
      return 0;
    }
  }
  return -1;
}

uint16_t pzrt_f32_to_bf16(float x) { return pzrt::halfbits::f32ToBf16(x); }

float pzrt_bf16_to_f32(uint16_t x) { return pzrt::halfbits::bf16ToF32(x); }

uint16_t pzrt_f32_to_f16(float x) { return pzrt::halfbits::f32ToF16(x); }

float pzrt_f16_to_f32(uint16_t x) { return pzrt::halfbits::f16ToF32(x); }

PZRT_SIMD_CLONES int pzrt_widen_to_f32(pzrt_dtype src_dtype, const void *src, float *dst, int64_t n) {
  if (n < 0 || (src_dtype != PZRT_BF16 && src_dtype != PZRT_F16))
    return pzrt::fail("widen_to_f32: expected a bf16 or f16 buffer and n >= 0 (got %s, %lld)",
                      pzrt_dtype_name(src_dtype), (long long)n);
  const uint16_t *s = static_cast<const uint16_t *>(src);
  if (src_dtype == PZRT_BF16)
    for (int64_t i = 0; i < n; ++i)
      dst[i] = pzrt_bf16_to_f32(s[i]);
  else
    for (int64_t i = 0; i < n; ++i)
      dst[i] = pzrt::halfbits::f16ToF32Vec(s[i]);
  return 0;
}

PZRT_SIMD_CLONES int pzrt_narrow_from_f32(pzrt_dtype dst_dtype, const float *src, void *dst, int64_t n) {
  if (n < 0 || (dst_dtype != PZRT_BF16 && dst_dtype != PZRT_F16))
    return pzrt::fail("narrow_from_f32: expected a bf16 or f16 buffer and n >= 0 (got %s, %lld)",
                      pzrt_dtype_name(dst_dtype), (long long)n);
  uint16_t *d = static_cast<uint16_t *>(dst);
  if (dst_dtype == PZRT_BF16)
    for (int64_t i = 0; i < n; ++i)
      d[i] = pzrt_f32_to_bf16(src[i]);
  else
    for (int64_t i = 0; i < n; ++i)
      d[i] = pzrt::halfbits::f32ToF16Vec(src[i]);
  return 0;
}

} // extern "C"
