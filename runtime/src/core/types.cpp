// Element types and fp16/bf16 conversions.
#include "pzrt/types.h"

#include "core/internal.h"

#include <cstring>

namespace {
const char *const kNames[PZRT_DTYPE_COUNT] = {"F32", "F16", "BF16", "F64", "I32", "I64",
                                              "U8",  "U16", "U32",  "U64", "I8",  "I16"};
const size_t kSizes[PZRT_DTYPE_COUNT] = {4, 2, 2, 8, 4, 8, 1, 2, 4, 8, 1, 2};

uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float bitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
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

uint16_t pzrt_f32_to_bf16(float x) {
  uint32_t u = floatBits(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) // NaN: keep sign, force a quiet NaN
    return static_cast<uint16_t>((u >> 16) | 0x0040u);
  uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding) >> 16);
}

float pzrt_bf16_to_f32(uint16_t x) {
  return bitsFloat(static_cast<uint32_t>(x) << 16);
}

uint16_t pzrt_f32_to_f16(float x) {
  uint32_t u = floatBits(x);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  uint32_t absu = u & 0x7fffffffu;
  if (absu > 0x7f800000u) // NaN
    return static_cast<uint16_t>(sign | 0x7e00u);
  if (absu >= 0x477ff000u) // rounds to >= 65536 (or inf): infinity
    return static_cast<uint16_t>(sign | 0x7c00u);
  int exp = static_cast<int>(absu >> 23) - 127;
  uint32_t mant = (absu & 0x7fffffu) | 0x800000u; // 24-bit significand
  if (exp >= -14) {
    // Normal half: keep 11 significant bits.
    uint32_t shift = 13;
    uint32_t rest = mant & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    uint32_t m = mant >> shift; // includes the implicit bit
    if (rest > half || (rest == half && (m & 1u)))
      ++m;
    // m may overflow to 0x800, which bumps the exponent correctly below.
    uint32_t bits = (static_cast<uint32_t>(exp + 15) << 10) + (m - 0x400u);
    return static_cast<uint16_t>(sign | bits);
  }
  if (exp < -25) // below half the smallest subnormal: zero
    return sign;
  // Subnormal half: value = m * 2^-24.
  uint32_t shift = static_cast<uint32_t>(-exp - 14 + 13); // 14..24
  uint32_t m = mant >> shift;
  uint32_t rest = mant & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (m & 1u)))
    ++m;
  return static_cast<uint16_t>(sign | m);
}

float pzrt_f16_to_f32(uint16_t x) {
  uint32_t sign = static_cast<uint32_t>(x & 0x8000u) << 16;
  uint32_t exp = (x >> 10) & 0x1fu;
  uint32_t mant = x & 0x3ffu;
  if (exp == 0x1f)
    return bitsFloat(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    if (mant == 0)
      return bitsFloat(sign);
    // Subnormal: mant * 2^-24.
    float v = static_cast<float>(mant) * (1.0f / 16777216.0f);
    return (sign ? -v : v);
  }
  return bitsFloat(sign | ((exp + 112u) << 23) | (mant << 13));
}

int pzrt_widen_to_f32(pzrt_dtype src_dtype, const void *src, float *dst, int64_t n) {
  if (n < 0 || (src_dtype != PZRT_BF16 && src_dtype != PZRT_F16))
    return pzrt::fail("widen_to_f32: expected a bf16 or f16 buffer and n >= 0 (got %s, %lld)",
                      pzrt_dtype_name(src_dtype), (long long)n);
  const uint16_t *s = static_cast<const uint16_t *>(src);
  if (src_dtype == PZRT_BF16)
    for (int64_t i = 0; i < n; ++i)
      dst[i] = pzrt_bf16_to_f32(s[i]);
  else
    for (int64_t i = 0; i < n; ++i)
      dst[i] = pzrt_f16_to_f32(s[i]);
  return 0;
}

int pzrt_narrow_from_f32(pzrt_dtype dst_dtype, const float *src, void *dst, int64_t n) {
  if (n < 0 || (dst_dtype != PZRT_BF16 && dst_dtype != PZRT_F16))
    return pzrt::fail("narrow_from_f32: expected a bf16 or f16 buffer and n >= 0 (got %s, %lld)",
                      pzrt_dtype_name(dst_dtype), (long long)n);
  uint16_t *d = static_cast<uint16_t *>(dst);
  if (dst_dtype == PZRT_BF16)
    for (int64_t i = 0; i < n; ++i)
      d[i] = pzrt_f32_to_bf16(src[i]);
  else
    for (int64_t i = 0; i < n; ++i)
      d[i] = pzrt_f32_to_f16(src[i]);
  return 0;
}

} // extern "C"
