// The fp32 <-> bf16/f16 conversions at the bit level, shared by the CPU
// (core/types.cpp: pzrt_f32_to_bf16 & co.; pzrt/half.h, inlined into the
// generated CPU kernels) and the CUDA kernels (cuda/convert.cu), so that
// both backends round every float to the same bits. Not cuda_bf16.h's intrinsics: those turn every NaN into one
// canonical NaN, where these keep the sign and the payload's top bits.
#ifndef PZRT_HALF_BITS_H
#define PZRT_HALF_BITS_H

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__) || (defined(PZ_CUDA_EMULATE) && defined(__device__))
#define PZRT_HALF_HD __host__ __device__
#else
#define PZRT_HALF_HD
#endif

namespace pzrt::halfbits {

PZRT_HALF_HD inline uint32_t floatBits(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

PZRT_HALF_HD inline float bitsFloat(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

// Round to nearest, ties to even; a NaN stays a quiet NaN of the same sign.
PZRT_HALF_HD inline uint16_t f32ToBf16(float x) {
  uint32_t u = floatBits(x);
  if ((u & 0x7fffffffu) > 0x7f800000u) // NaN: keep sign, force a quiet NaN
    return static_cast<uint16_t>((u >> 16) | 0x0040u);
  uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding) >> 16);
}

PZRT_HALF_HD inline float bf16ToF32(uint16_t x) {
  return bitsFloat(static_cast<uint32_t>(x) << 16);
}

// Round to nearest, ties to even, overflow to infinity, subnormals kept.
PZRT_HALF_HD inline uint16_t f32ToF16(float x) {
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

// Exact.
PZRT_HALF_HD inline float f16ToF32(uint16_t x) {
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

// Branch-free forms of f32ToF16 and f16ToF32, so that a loop of them
// vectorizes: the same bits for every input (f32ToF16Vec was compared with
// f32ToF16 on all 2^32 floats, f16ToF32Vec with f16ToF32 on all 65536
// halves; pzrt-tests SimdClones.* repeats it on a sample and on every
// half). The CPU uses them (pzrt/half.h, pzrt_widen_to_f32 and
// pzrt_narrow_from_f32). They round with the float unit, by adding a power
// of two that puts the half's last bit at the float's, so they need
// IEEE float arithmetic: the CUDA kernels keep the forms above, which do
// not depend on it. (Flushing subnormals does not change these results,
// and overflow is decided on the bits, so they also hold under
// -ffast-math, which the generated C++ may be compiled with: PZ_CXXFLAGS.)
inline uint16_t f32ToF16Vec(float f) {
  uint32_t w = floatBits(f);
  // |f| scaled so that values >= 65520 overflow to inf and the rest keep
  // their significand (after Maratyszcza's FP16 library).
  float base = (bitsFloat(w & 0x7fffffffu) * 0x1.0p+112f) * 0x1.0p-110f;
  uint32_t shl1 = w + w;
  uint32_t bias = shl1 & 0xff000000u;
  bias = bias < 0x71000000u ? 0x71000000u : bias; // half subnormals: a fixed point
  base = bitsFloat((bias >> 1) + 0x07800000u) + base; // rounds at the half's last bit
  uint32_t bits = floatBits(base);
  uint32_t nonsign = ((bits >> 13) & 0x7c00u) + (bits & 0x0fffu);
  // Overflow to infinity decided on the bits too: a build with
  // -fassociative-math (-ffast-math, -Ofast) folds the two scalings above
  // into one that no longer overflows.
  nonsign = (w & 0x7fffffffu) >= 0x477ff000u ? 0x7c00u : nonsign;
  return static_cast<uint16_t>(((w & 0x80000000u) >> 16) |
                               (shl1 > 0xff000000u ? 0x7e00u : nonsign));
}

inline float f16ToF32Vec(uint16_t x) {
  uint32_t w = static_cast<uint32_t>(x) << 16;
  uint32_t sign = w & 0x80000000u;
  uint32_t twoW = w + w;
  // Normal halves: rebias the exponent by multiplying by 2^-112.
  uint32_t normal = floatBits(bitsFloat((twoW >> 4) + (0xe0u << 23)) * 0x1.0p-112f);
  // Subnormal halves: the mantissa as the low bits of 0.5's significand.
  uint32_t subnormal = floatBits(bitsFloat((twoW >> 17) | (126u << 23)) - 0.5f);
  uint32_t bits = twoW < (1u << 27) ? subnormal : normal;
  // Inf and NaN: exponent and payload as they are (the multiply would
  // quiet a signalling NaN).
  uint32_t special = 0x7f800000u | ((static_cast<uint32_t>(x) & 0x3ffu) << 13);
  return bitsFloat(sign | ((x & 0x7c00u) == 0x7c00u ? special : bits));
}

} // namespace pzrt::halfbits

#endif // PZRT_HALF_BITS_H
