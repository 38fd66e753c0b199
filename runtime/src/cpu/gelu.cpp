// GELU, erf and tanh forms, forward and backward (computed in double).
#include "pzrt/kernels.h"

#include "core/simd_clones.h"
#include "cpu/vexp.h"

#include <cmath>

namespace {
constexpr double kSqrt1_2 = 0.70710678118654752440;  // 1/sqrt(2)
constexpr double kInvSqrt2Pi = 0.39894228040143267794; // 1/sqrt(2*pi)
constexpr double kSqrt2OverPi = 0.79788456080286535588; // sqrt(2/pi)
constexpr double kCoef = 0.044715;
} // namespace

extern "C" {

// One loop per form, so that the tanh form's vectorizes (the erf form calls
// libm's erf).
PZRT_SIMD_CLONES void pzrt_gelu_fwd(const float *x, float *y, int64_t n, int approximate) {
  if (approximate) {
    for (int64_t i = 0; i < n; ++i) {
      double v = x[i];
      double t = pzrt::cpu::pzrtTanh(kSqrt2OverPi * (v + kCoef * v * v * v));
      y[i] = static_cast<float>(0.5 * v * (1.0 + t));
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    double v = x[i];
    y[i] = static_cast<float>(0.5 * v * (1.0 + std::erf(v * kSqrt1_2)));
  }
}

PZRT_SIMD_CLONES void pzrt_gelu_bwd(const float *x, const float *dy, float *dx, int64_t n,
                                    int approximate) {
  if (approximate) {
    for (int64_t i = 0; i < n; ++i) {
      double v = x[i];
      double t = pzrt::cpu::pzrtTanh(kSqrt2OverPi * (v + kCoef * v * v * v));
      double d =
          0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * kSqrt2OverPi * (1.0 + 3.0 * kCoef * v * v);
      dx[i] = static_cast<float>(dy[i] * d);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    double v = x[i];
    double d = 0.5 * (1.0 + std::erf(v * kSqrt1_2)) + v * kInvSqrt2Pi * std::exp(-0.5 * v * v);
    dx[i] = static_cast<float>(dy[i] * d);
  }
}

} // extern "C"
