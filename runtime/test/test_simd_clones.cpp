// The CPU kernels' vector clones (src/core/simd_clones.h) against their
// scalar baseline, and the vector exp/tanh (src/cpu/vexp.h) against libm.
//
// This file compiles optim.cpp, gelu.cpp and softmax.cpp a second time
// without clones and under other names (baseline_*), so that the kernels
// the dispatcher picks on this machine (AVX-512, AVX2 or the baseline) are
// compared bit for bit with the scalar x86-64 code of the same source.
#include "pzrt/half_bits.h"
#include "pzrt/kernels.h"
#include "pzrt/types.h"

#define PZRT_NO_SIMD_CLONES
#define pzrt_adamw_step baseline_adamw_step
#define pzrt_sgd_step baseline_sgd_step
#define pzrt_sum_squares baseline_sum_squares
#define pzrt_scale baseline_scale
#define pzrt_clip_coef baseline_clip_coef
#define pzrt_gelu_fwd baseline_gelu_fwd
#define pzrt_gelu_bwd baseline_gelu_bwd
#define pzrt_softmax_fwd baseline_softmax_fwd
#define pzrt_softmax_bwd baseline_softmax_bwd
#define pzrt_log_softmax_fwd baseline_log_softmax_fwd
#define pzrt_log_softmax_bwd baseline_log_softmax_bwd
#define pzrt_cross_entropy_fwd baseline_cross_entropy_fwd
#define pzrt_cross_entropy_bwd baseline_cross_entropy_bwd
#include "../src/cpu/gelu.cpp"
#include "../src/cpu/optim.cpp"
#include "../src/cpu/softmax.cpp"
#undef pzrt_adamw_step
#undef pzrt_sgd_step
#undef pzrt_scale
#undef pzrt_gelu_fwd
#undef pzrt_gelu_bwd
#undef pzrt_cross_entropy_fwd
#undef pzrt_cross_entropy_bwd

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace {

const char *activeClone() {
#if defined(__x86_64__) && defined(__GNUC__)
  if (__builtin_cpu_supports("avx512f"))
    return "avx512f";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return "arch=haswell";
#endif
  return "default";
}

// Values a kernel must handle: ordinary ones of several scales, then
// zeros, infinities, NaN, the extremes of float, and subnormals.
std::vector<float> inputs(size_t n, unsigned seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  const float special[] = {0.0f, -0.0f, std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity(),
                           std::numeric_limits<float>::quiet_NaN(), 3.4e38f, -3.4e38f, 1e-45f,
                           -1e-40f, 20.0f, -20.0f, -7.25f, 5.5f};
  for (size_t i = 0; i < sizeof special / sizeof *special && i < n; ++i)
    v[i * 7 % n] = special[i];
  return v;
}

::testing::AssertionResult sameBits(const std::vector<float> &a, const std::vector<float> &b) {
  if (a.size() != b.size())
    return ::testing::AssertionFailure() << "sizes " << a.size() << " and " << b.size();
  for (size_t i = 0; i < a.size(); ++i)
    if (std::memcmp(&a[i], &b[i], sizeof(float)) != 0)
      return ::testing::AssertionFailure()
             << "element " << i << ": " << a[i] << " (clone " << activeClone() << ") vs " << b[i]
             << " (baseline)";
  return ::testing::AssertionSuccess();
}

// An odd length, so that every clone runs its vector body and its tail.
constexpr size_t kN = 100003;

TEST(SimdClones, AdamWAndSgdGiveTheBaselineBits) {
  std::printf("dispatched clone on this machine: %s\n", activeClone());
  auto p = inputs(kN, 1, 1.0f), g = inputs(kN, 2, 0.01f);
  auto m = inputs(kN, 3, 0.001f), v = inputs(kN, 4, 1e-5f);
  for (float &x : v)
    x = std::fabs(x); // a second moment is never negative
  auto p2 = p, m2 = m, v2 = v;
  for (int64_t step = 1; step <= 3; ++step) {
    ASSERT_EQ(pzrt_adamw_step(p.data(), g.data(), m.data(), v.data(), kN, 1e-3, 0.9, 0.95, 1e-8,
                              0.1, step), 0);
    ASSERT_EQ(baseline_adamw_step(p2.data(), g.data(), m2.data(), v2.data(), kN, 1e-3, 0.9, 0.95,
                                  1e-8, 0.1, step), 0);
  }
  EXPECT_TRUE(sameBits(p, p2));
  EXPECT_TRUE(sameBits(m, m2));
  EXPECT_TRUE(sameBits(v, v2));
  auto q = inputs(kN, 5, 1.0f), buf = inputs(kN, 6, 0.1f);
  auto q2 = q, buf2 = buf;
  for (int nesterov = 0; nesterov <= 1; ++nesterov) {
    ASSERT_EQ(pzrt_sgd_step(q.data(), g.data(), buf.data(), kN, 0.05, 0.9, 0.0, 0.01, nesterov, 2),
              0);
    ASSERT_EQ(baseline_sgd_step(q2.data(), g.data(), buf2.data(), kN, 0.05, 0.9, 0.0, 0.01,
                                nesterov, 2), 0);
  }
  EXPECT_TRUE(sameBits(q, q2));
  EXPECT_TRUE(sameBits(buf, buf2));
  pzrt_scale(q.data(), kN, 0.37f);
  baseline_scale(q2.data(), kN, 0.37f);
  EXPECT_TRUE(sameBits(q, q2));
}

TEST(SimdClones, GeluGivesTheBaselineBits) {
  auto x = inputs(kN, 7, 3.0f), dy = inputs(kN, 8, 1.0f);
  for (int approximate = 0; approximate <= 1; ++approximate) {
    std::vector<float> y(kN), y2(kN), dx(kN), dx2(kN);
    pzrt_gelu_fwd(x.data(), y.data(), kN, approximate);
    baseline_gelu_fwd(x.data(), y2.data(), kN, approximate);
    EXPECT_TRUE(sameBits(y, y2)) << "approximate=" << approximate;
    pzrt_gelu_bwd(x.data(), dy.data(), dx.data(), kN, approximate);
    baseline_gelu_bwd(x.data(), dy.data(), dx2.data(), kN, approximate);
    EXPECT_TRUE(sameBits(dx, dx2)) << "approximate=" << approximate;
  }
}

TEST(SimdClones, CrossEntropyGivesTheBaselineBits) {
  const int64_t rows = 5, vocab = 50257; // longer than one block of the sum
  auto logits = inputs(rows * vocab, 9, 4.0f);
  for (float &x : logits)
    if (!std::isfinite(x) || std::fabs(x) > 1e3f)
      x = 1.5f; // a row with inf or NaN has no meaningful loss
  logits[3] = -std::numeric_limits<float>::infinity(); // masked logit: exp gives 0
  std::vector<int64_t> labels = {3, 17, -100, 50256, 0};
  std::vector<float> lse(rows), lse2(rows);
  double loss = 0, loss2 = 0;
  int64_t valid = 0, valid2 = 0;
  ASSERT_EQ(pzrt_cross_entropy_fwd(logits.data(), labels.data(), rows, vocab, -100, lse.data(),
                                   &loss, &valid), 0);
  ASSERT_EQ(baseline_cross_entropy_fwd(logits.data(), labels.data(), rows, vocab, -100,
                                       lse2.data(), &loss2, &valid2), 0);
  EXPECT_TRUE(sameBits(lse, lse2));
  EXPECT_EQ(std::memcmp(&loss, &loss2, sizeof loss), 0) << loss << " vs " << loss2;
  EXPECT_EQ(valid, 4);
  std::vector<float> d(rows * vocab), d2(rows * vocab);
  ASSERT_EQ(pzrt_cross_entropy_bwd(logits.data(), labels.data(), lse.data(), rows, vocab, -100,
                                   0.25f, d.data()), 0);
  ASSERT_EQ(baseline_cross_entropy_bwd(logits.data(), labels.data(), lse2.data(), rows, vocab,
                                       -100, 0.25f, d2.data()), 0);
  EXPECT_TRUE(sameBits(d, d2));
}

// The bulk conversions (core/types.cpp) against the scalar ones, one
// element at a time: rounding ties, overflow, subnormals, NaN payloads.
TEST(SimdClones, NarrowAndWidenGiveTheScalarBits) {
  std::mt19937 rng(12);
  std::vector<float> x(kN);
  for (size_t i = 0; i < kN; ++i) {
    uint32_t u = rng();
    if (i % 3 == 1)
      u &= 0x807fffffu | (static_cast<uint32_t>(100 + i % 40) << 23); // near f16's range
    if (i % 5 == 2)
      u = (u & 0xffff0000u) | 0x8000u; // a bf16 tie
    std::memcpy(&x[i], &u, 4);
  }
  for (pzrt_dtype t : {PZRT_BF16, PZRT_F16}) {
    std::vector<uint16_t> bulk(kN);
    ASSERT_EQ(pzrt_narrow_from_f32(t, x.data(), bulk.data(), kN), 0);
    std::vector<float> wide(kN);
    ASSERT_EQ(pzrt_widen_to_f32(t, bulk.data(), wide.data(), kN), 0);
    for (size_t i = 0; i < kN; ++i) {
      uint16_t one = t == PZRT_BF16 ? pzrt_f32_to_bf16(x[i]) : pzrt_f32_to_f16(x[i]);
      ASSERT_EQ(bulk[i], one) << pzrt_dtype_name(t) << " element " << i;
      float w = t == PZRT_BF16 ? pzrt_bf16_to_f32(one) : pzrt_f16_to_f32(one);
      ASSERT_EQ(std::memcmp(&wide[i], &w, 4), 0) << pzrt_dtype_name(t) << " element " << i;
    }
  }
}

// The branch-free 16-bit conversions (pzrt/half_bits.h *Vec) against the
// reference forms: every half, and floats from every exponent with a
// stride, plus the range that rounds to half subnormals more densely.
TEST(HalfBits, VectorFormsGiveTheReferenceBits) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float a = pzrt::halfbits::f16ToF32Vec(static_cast<uint16_t>(h));
    float b = pzrt::halfbits::f16ToF32(static_cast<uint16_t>(h));
    ASSERT_EQ(std::memcmp(&a, &b, 4), 0) << std::hex << "half 0x" << h;
  }
  auto check = [](uint32_t u) {
    float x;
    std::memcpy(&x, &u, 4);
    return pzrt::halfbits::f32ToF16Vec(x) == pzrt::halfbits::f32ToF16(x);
  };
  for (uint64_t u = 0; u < (uint64_t(1) << 32); u += 251)
    ASSERT_TRUE(check(static_cast<uint32_t>(u))) << std::hex << "float bits 0x" << u;
  for (uint32_t e = 100; e <= 113; ++e) // |x| near 2^-14 and below
    for (uint32_t m = 0; m < (1u << 23); m += 17)
      for (uint32_t s : {0u, 0x80000000u})
        ASSERT_TRUE(check(s | (e << 23) | m)) << std::hex << "float bits 0x" << (s | (e << 23) | m);
}

// All 2^32 floats (about 10 s): run with --gtest_also_run_disabled_tests.
TEST(HalfBits, DISABLED_NarrowingEqualsTheReferenceOnEveryFloat) {
  for (uint64_t u = 0; u < (uint64_t(1) << 32); ++u) {
    float x;
    uint32_t v = static_cast<uint32_t>(u);
    std::memcpy(&x, &v, 4);
    ASSERT_EQ(pzrt::halfbits::f32ToF16Vec(x), pzrt::halfbits::f32ToF16(x))
        << std::hex << "float bits 0x" << v;
  }
}

double ulpsApart(double a, double b) {
  double ulp = std::nextafter(b, std::numeric_limits<double>::infinity()) - b;
  return std::fabs(a - b) / ulp;
}

TEST(VectorMath, ExpWithinOneUlpOfLibm) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> wide(-708.0, 709.0), narrow(-20.0, 20.0);
  double worst = 0, worstAt = 0;
  for (int i = 0; i < 2000000; ++i) {
    double x = i % 2 ? wide(rng) : narrow(rng);
    double u = ulpsApart(pzrt::cpu::pzrtExp(x), std::exp(x));
    if (u > worst)
      worst = u, worstAt = x;
  }
  for (double x : {0.0, -0.0, 1.0, -1.0, 0.5 * std::log(2.0), -708.0, 709.0, 1e-300, -1e-17})
    EXPECT_LE(ulpsApart(pzrt::cpu::pzrtExp(x), std::exp(x)), 1.0) << "x=" << x;
  std::printf("largest error: %.3g ulp at x=%.17g\n", worst, worstAt);
  EXPECT_LE(worst, 1.0) << "at x=" << worstAt;
  // The documented clamps, and NaN.
  EXPECT_EQ(pzrt::cpu::pzrtExp(-1000.0), pzrt::cpu::pzrtExp(-708.0));
  EXPECT_EQ(pzrt::cpu::pzrtExp(-std::numeric_limits<double>::infinity()),
            pzrt::cpu::pzrtExp(-708.0));
  EXPECT_EQ(pzrt::cpu::pzrtExp(1000.0), pzrt::cpu::pzrtExp(709.0));
  EXPECT_TRUE(std::isnan(pzrt::cpu::pzrtExp(std::numeric_limits<double>::quiet_NaN())));
}

TEST(VectorMath, TanhAgreesWithLibmAndSaturates) {
  double worst = 0, worstAt = 0;
  for (int i = -400000; i <= 400000; ++i) {
    double u = i * 5e-5; // [-20, 20]
    double a = pzrt::cpu::pzrtTanh(u), b = std::tanh(u);
    // Absolute error against 1 + |tanh|: what GELU's 1 + tanh needs.
    double err = std::fabs(a - b) / std::numeric_limits<double>::epsilon();
    if (err > worst)
      worst = err, worstAt = u;
  }
  std::printf("largest error: %.3g eps at u=%.17g\n", worst, worstAt);
  EXPECT_LE(worst, 2.0) << "at u=" << worstAt;
  EXPECT_EQ(pzrt::cpu::pzrtTanh(50.0), 1.0);
  EXPECT_EQ(pzrt::cpu::pzrtTanh(-50.0), -1.0);
  EXPECT_EQ(pzrt::cpu::pzrtTanh(std::numeric_limits<double>::infinity()), 1.0);
  EXPECT_EQ(pzrt::cpu::pzrtTanh(-std::numeric_limits<double>::infinity()), -1.0);
  EXPECT_TRUE(std::isnan(pzrt::cpu::pzrtTanh(std::numeric_limits<double>::quiet_NaN())));
}

// The float results GELU gives with the vector tanh are libm's except far
// in the negative tail, where both are within 1e-14 of 0.
TEST(VectorMath, GeluMatchesTheLibmFormula) {
  constexpr double k = 0.79788456080286535588, c = 0.044715;
  int64_t differ = 0;
  for (int i = -1000000; i <= 1000000; ++i) {
    float x = static_cast<float>(i) * 1e-5f; // [-10, 10]
    float y = 0;
    pzrt_gelu_fwd(&x, &y, 1, 1);
    double v = x;
    float ref = static_cast<float>(0.5 * v * (1.0 + std::tanh(k * (v + c * v * v * v))));
    if (std::memcmp(&y, &ref, sizeof y) != 0) {
      ++differ;
      ASSERT_LT(x, -5.0f) << "x=" << x << ": " << y << " vs libm's " << ref;
      ASSERT_LT(std::fabs(y - ref), 1e-14f) << "x=" << x;
    }
  }
  std::printf("%lld of 2000001 values differ from libm's formula (all below -5)\n",
              static_cast<long long>(differ));
}

} // namespace
