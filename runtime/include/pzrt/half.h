/* pzrt/half.h - fp16 and bf16 storage types for generated C++ code.
 *
 * pzrt::f16 and pzrt::bf16 hold the 16 bits of one value (2 bytes, the
 * layout of the runtime's PZRT_F16 / PZRT_BF16 buffers). They convert
 * implicitly to and from float, so generated elementwise code reads a
 * half-precision operand as float, computes in float (as PyTorch computes
 * 16-bit elementwise ops on the CPU) and rounds once when it stores.
 *
 * Rounding is to nearest, ties to even. A double converts with a single
 * rounding too: it goes to float rounded to odd first, which is exact
 * enough (24 bits against 11 or 8) that the second rounding cannot differ
 * from rounding the double directly.
 *
 * The conversions are pzrt/half_bits.h's, inline, so that a generated loop
 * over 16-bit values compiles to one vector loop; the C API in types.h
 * (pzrt_f32_to_bf16 & co.) is the same functions on uint16_t.
 *
 * C++ only.
 */
#ifndef PZRT_HALF_H
#define PZRT_HALF_H

#ifdef __cplusplus

#include "pzrt/half_bits.h"
#include "pzrt/types.h"

#include <cmath>

namespace pzrt {

/* double -> float rounded to odd: the float neighbour of x whose last
 * mantissa bit is 1 whenever x is not exactly a float. */
inline float roundToOddFloat(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) == x || std::isnan(x) || std::isinf(f))
    return f;
  uint32_t bits;
  __builtin_memcpy(&bits, &f, 4);
  if (bits & 1u)
    return f;
  return std::nextafter(f, static_cast<float>(x > static_cast<double>(f) ? INFINITY : -INFINITY));
}

template <uint16_t (*FromF32)(float), float (*ToF32)(uint16_t)>
struct Half {
  uint16_t bits;
  Half() = default;
  Half(float x) : bits(FromF32(x)) {}
  Half(double x) : bits(FromF32(roundToOddFloat(x))) {}
  Half(int x) : Half(static_cast<double>(x)) {}
  Half(long x) : Half(static_cast<double>(x)) {}
  Half(long long x) : Half(static_cast<double>(x)) {}
  Half(unsigned x) : Half(static_cast<double>(x)) {}
  Half(unsigned long x) : Half(static_cast<double>(x)) {}
  Half(unsigned long long x) : Half(static_cast<double>(x)) {}
  operator float() const { return ToF32(bits); }
};

inline uint16_t f32ToF16(float x) { return halfbits::f32ToF16Vec(x); }
inline float f16ToF32(uint16_t x) { return halfbits::f16ToF32Vec(x); }
inline uint16_t f32ToBf16(float x) { return halfbits::f32ToBf16(x); }
inline float bf16ToF32(uint16_t x) { return halfbits::bf16ToF32(x); }

using f16 = Half<f32ToF16, f16ToF32>;
using bf16 = Half<f32ToBf16, bf16ToF32>;

static_assert(sizeof(f16) == 2 && sizeof(bf16) == 2, "16-bit storage");

} // namespace pzrt

#endif /* __cplusplus */

#endif /* PZRT_HALF_H */
