// GELU, Philox-4x32-10 known-answer vectors, uniforms and dropout.
#include "pzrt/error.h"
#include "pzrt/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

TEST(Gelu, HandValues) {
  float x[3] = {1.0f, -1.0f, 0.0f}, y[3];
  pzrt_gelu_fwd(x, y, 3, 0);
  EXPECT_NEAR(y[0], 0.8413447460685429, 1e-7);
  EXPECT_NEAR(y[1], -0.15865525393145707, 1e-7);
  EXPECT_EQ(y[2], 0.0f);
  pzrt_gelu_fwd(x, y, 3, 1);
  EXPECT_NEAR(y[0], 0.8411919906082768, 1e-7);
  EXPECT_NEAR(y[1], -0.15880800939172324, 1e-7);
}

TEST(Gelu, BackwardMatchesFiniteDifferences) {
  std::vector<float> x, dy;
  for (int i = -40; i <= 40; ++i) {
    x.push_back(0.1f * static_cast<float>(i) + 0.013f);
    dy.push_back(1.0f);
  }
  for (int approx = 0; approx <= 1; ++approx) {
    std::vector<float> dx(x.size());
    pzrt_gelu_bwd(x.data(), dy.data(), dx.data(), static_cast<int64_t>(x.size()), approx);
    for (size_t i = 0; i < x.size(); ++i) {
      double v = x[i], h = 1e-5;
      auto f = [&](double t) {
        return approx ? 0.5 * t * (1 + std::tanh(std::sqrt(2 / M_PI) * (t + 0.044715 * t * t * t)))
                      : 0.5 * t * (1 + std::erf(t / std::sqrt(2.0)));
      };
      EXPECT_NEAR(dx[i], (f(v + h) - f(v - h)) / (2 * h), 1e-6) << "x=" << v << " approx=" << approx;
    }
  }
}

TEST(Philox, KnownAnswerVectors) {
  // Random123 kat_vectors for philox4x32_10.
  struct Kat {
    uint32_t ctr[4], key[2], out[4];
  } kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat &k : kats) {
    uint32_t out[4];
    pzrt_philox4x32_10(k.ctr, k.key, out);
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(out[i], k.out[i]) << "word " << i;
  }
}

TEST(Philox, UniformsAreChunkIndependentAndKeyed) {
  const int n = 103;
  std::vector<float> whole(n), parts(n), otherStep(n), otherSeed(n);
  pzrt_rand_uniform(42, 7, 1000, whole.data(), n);
  pzrt_rand_uniform(42, 7, 1000, parts.data(), 37);
  pzrt_rand_uniform(42, 7, 1037, parts.data() + 37, n - 37);
  EXPECT_EQ(whole, parts);
  pzrt_rand_uniform(42, 8, 1000, otherStep.data(), n);
  pzrt_rand_uniform(43, 7, 1000, otherSeed.data(), n);
  EXPECT_NE(whole, otherStep);
  EXPECT_NE(whole, otherSeed);
  // Element e = 1000 is word 0 of block 250 with ctr = {250, 0, 7, 0}, key = {42, 0}.
  uint32_t ctr[4] = {250, 0, 7, 0}, key[2] = {42, 0}, out[4];
  pzrt_philox4x32_10(ctr, key, out);
  EXPECT_EQ(whole[0], static_cast<float>(out[0] >> 8) / 16777216.0f);
  EXPECT_EQ(whole[3], static_cast<float>(out[3] >> 8) / 16777216.0f);
}

TEST(Philox, UniformMoments) {
  const int n = 200000;
  std::vector<float> u(n);
  pzrt_rand_uniform(1, 0, 0, u.data(), n);
  double s = 0, s2 = 0;
  for (float x : u) {
    ASSERT_GE(x, 0.0f);
    ASSERT_LT(x, 1.0f);
    s += x;
    s2 += static_cast<double>(x) * x;
  }
  EXPECT_NEAR(s / n, 0.5, 0.005);         // ~7 standard errors
  EXPECT_NEAR(s2 / n - 0.25, 1.0 / 12, 0.002);
}

TEST(Dropout, ForwardBackwardShareTheMask) {
  const int n = 10000;
  const float p = 0.3f;
  std::vector<float> x(n), y(n), dy(n), dx(n), u(n);
  std::vector<uint8_t> mask(n);
  for (int i = 0; i < n; ++i) {
    x[static_cast<size_t>(i)] = 0.001f * static_cast<float>(i) - 3.0f;
    dy[static_cast<size_t>(i)] = 1.0f + 0.0001f * static_cast<float>(i);
  }
  ASSERT_EQ(pzrt_dropout_fwd(x.data(), y.data(), mask.data(), n, p, 9, 3, 500), 0);
  ASSERT_EQ(pzrt_dropout_bwd(dy.data(), dx.data(), n, p, 9, 3, 500), 0);
  pzrt_rand_uniform(9, 3, 500, u.data(), n);
  int kept = 0;
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    bool keep = u[i] >= p; // the documented rule, recomputed here
    ASSERT_EQ(mask[i], keep ? 1 : 0);
    ASSERT_EQ(y[i], keep ? x[i] * (1.0f / (1.0f - p)) : 0.0f);
    ASSERT_EQ(dx[i], keep ? dy[i] * (1.0f / (1.0f - p)) : 0.0f);
    kept += keep;
  }
  EXPECT_NEAR(kept / static_cast<double>(n), 0.7, 0.02);
}

TEST(Dropout, EdgeProbabilities) {
  float x[4] = {1, 2, 3, 4}, y[4];
  ASSERT_EQ(pzrt_dropout_fwd(x, y, nullptr, 4, 0.0f, 1, 0, 0), 0);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(y[i], x[i]);
  ASSERT_EQ(pzrt_dropout_fwd(x, y, nullptr, 4, 1.0f, 1, 0, 0), 0);
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(y[i], 0.0f);
  EXPECT_EQ(pzrt_dropout_fwd(x, y, nullptr, 4, 1.5f, 1, 0, 0), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("outside [0, 1]"), std::string::npos);
  EXPECT_EQ(pzrt_dropout_bwd(x, y, 4, -0.1f, 1, 0, 0), -1);
}

} // namespace
