// exp and tanh in double, branch-free, so that a loop of them vectorizes in
// a PZRT_SIMD_CLONES kernel (core/simd_clones.h) (libm's exp and tanh are calls, one element at a
// time).
//
// Accuracy: pzrtExp is within 1 ulp of a correctly rounded exp on
// [-708, 709] (checked against libm on 2e7 arguments by
// `pzrt-tests --gtest_filter=VectorMath.*`); below it returns exp(-708)
// (3e-308) instead of a subnormal or 0, above it exp(709) instead of a
// larger value or inf, and NaN stays NaN. The kernels use it where a float
// result or a double sum of terms <= 1 cannot tell the difference.
#ifndef PZRT_CPU_VEXP_H
#define PZRT_CPU_VEXP_H

#include <cstdint>
#include <cstring>

namespace pzrt::cpu {

inline double pzrtExp(double x) {
  x = x < -708.0 ? -708.0 : (x > 709.0 ? 709.0 : x);
  // x = n ln2 + r, |r| <= ln2 / 2: n rounded to nearest by adding 1.5 * 2^52
  // (its low mantissa bits then hold n + 2^51), ln2 in two parts.
  const double kLog2e = 0x1.71547652b82fep+0;
  const double kLn2Hi = 0x1.62e42fefa3800p-1, kLn2Lo = 0x1.ef35793c76730p-45;
  const double kShift = 0x1.8p52;
  double t = x * kLog2e + kShift;
  double n = t - kShift;
  double r = (x - n * kLn2Hi) - n * kLn2Lo;
  // exp(r) by its Taylor series to r^13 / 13! (the rest < 2^-60 of it).
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // 2^n from n's bits: n in [-1022, 1023] for the clamped x.
  uint64_t tb;
  std::memcpy(&tb, &t, sizeof tb);
  int64_t ni = static_cast<int64_t>(tb & ((uint64_t(1) << 52) - 1)) - (int64_t(1) << 51);
  uint64_t sb = static_cast<uint64_t>(ni + 1023) << 52;
  double s;
  std::memcpy(&s, &sb, sizeof s);
  return p * s;
}

// tanh(u) = (1 - e) / (1 + e), e = exp(-2u): exactly +-1 where libm's tanh
// is within an ulp of it, and NaN for NaN.
inline double pzrtTanh(double u) {
  double e = pzrtExp(-2.0 * u);
  return (1.0 - e) / (1.0 + e);
}

} // namespace pzrt::cpu

#endif // PZRT_CPU_VEXP_H
