// Softmax, log-softmax and cross-entropy against double-precision references,
// explicit Jacobians, finite differences and hand-computed values.
#include "pzrt/error.h"
#include "pzrt/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

std::vector<float> randomVec(size_t n, unsigned seed, float scale = 3.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

// Reference softmax of one row in double, without max subtraction (inputs are small).
std::vector<double> refSoftmax(const float *x, int n) {
  std::vector<double> p(static_cast<size_t>(n));
  double s = 0;
  for (int j = 0; j < n; ++j)
    s += std::exp(static_cast<double>(x[j]));
  for (int j = 0; j < n; ++j)
    p[static_cast<size_t>(j)] = std::exp(static_cast<double>(x[j])) / s;
  return p;
}

TEST(Softmax, ForwardMatchesReference) {
  const int rows = 5, cols = 33;
  auto x = randomVec(rows * cols, 1);
  std::vector<float> y(x.size()), ly(x.size());
  pzrt_softmax_fwd(x.data(), y.data(), rows, cols);
  pzrt_log_softmax_fwd(x.data(), ly.data(), rows, cols);
  for (int i = 0; i < rows; ++i) {
    auto p = refSoftmax(x.data() + i * cols, cols);
    for (int j = 0; j < cols; ++j) {
      EXPECT_NEAR(y[static_cast<size_t>(i * cols + j)], p[static_cast<size_t>(j)], 1e-7);
      EXPECT_NEAR(ly[static_cast<size_t>(i * cols + j)], std::log(p[static_cast<size_t>(j)]),
                  2e-6);
    }
  }
}

TEST(Softmax, StableForHugeLogitsAndMaskedRows) {
  const float inf = std::numeric_limits<float>::infinity();
  float x[6] = {1000.0f, 1000.0f, -1000.0f, -inf, -inf, -inf};
  float y[6], ly[3];
  pzrt_softmax_fwd(x, y, 2, 3);
  EXPECT_FLOAT_EQ(y[0], 0.5f);
  EXPECT_FLOAT_EQ(y[1], 0.5f);
  EXPECT_EQ(y[2], 0.0f);
  for (int j = 3; j < 6; ++j)
    EXPECT_EQ(y[j], 0.0f); // a fully masked row gives zeros, not NaN
  pzrt_log_softmax_fwd(x, ly, 1, 3);
  EXPECT_NEAR(ly[0], -std::log(2.0), 1e-6);
  EXPECT_NEAR(ly[2], -2000.0 - std::log(2.0), 1e-3);
}

TEST(Softmax, BackwardMatchesExplicitJacobian) {
  const int rows = 3, cols = 17;
  auto x = randomVec(rows * cols, 2);
  auto dy = randomVec(rows * cols, 3, 1.0f);
  std::vector<float> y(x.size()), dx(x.size()), ly(x.size()), ldx(x.size());
  pzrt_softmax_fwd(x.data(), y.data(), rows, cols);
  pzrt_softmax_bwd(y.data(), dy.data(), dx.data(), rows, cols);
  pzrt_log_softmax_fwd(x.data(), ly.data(), rows, cols);
  pzrt_log_softmax_bwd(ly.data(), dy.data(), ldx.data(), rows, cols);
  for (int r = 0; r < rows; ++r) {
    auto p = refSoftmax(x.data() + r * cols, cols);
    for (int i = 0; i < cols; ++i) {
      double g = 0, lg = 0;
      for (int j = 0; j < cols; ++j) {
        double d = dy[static_cast<size_t>(r * cols + j)];
        double pi = p[static_cast<size_t>(i)], pj = p[static_cast<size_t>(j)];
        g += d * pj * ((i == j ? 1.0 : 0.0) - pi);   // d softmax_j / d x_i
        lg += d * ((i == j ? 1.0 : 0.0) - pi);       // d log_softmax_j / d x_i
      }
      EXPECT_NEAR(dx[static_cast<size_t>(r * cols + i)], g, 1e-6);
      EXPECT_NEAR(ldx[static_cast<size_t>(r * cols + i)], lg, 1e-5);
    }
  }
}

TEST(CrossEntropy, HandComputedWithIgnoreIndex) {
  // Row 0: logits [1, 2, 3], label 2: log(e + e^2 + e^3) - 3 = log(1 + e^-1 + e^-2).
  // Row 1: ignored. Row 2: logits [0, 0, 0], label 0: log 3.
  float logits[9] = {1, 2, 3, 5, -5, 9, 0, 0, 0};
  int64_t labels[3] = {2, -100, 0};
  double sum = 0;
  int64_t valid = 0;
  float lse[3];
  ASSERT_EQ(pzrt_cross_entropy_fwd(logits, labels, 3, 3, -100, lse, &sum, &valid), 0);
  const double l0 = 0.40760596444438, l2 = 1.09861228866811;
  EXPECT_EQ(valid, 2);
  EXPECT_NEAR(sum, l0 + l2, 1e-9);
  EXPECT_NEAR(sum / static_cast<double>(valid), (l0 + l2) / 2, 1e-9);
  EXPECT_NEAR(lse[0], 3.0 + l0, 1e-6);
  // Gradient of the mean loss: (softmax - onehot) / n_valid; row 1 zero.
  float d[9];
  ASSERT_EQ(pzrt_cross_entropy_bwd(logits, labels, lse, 3, 3, -100, 0.5f, d), 0);
  const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(d[0], 0.5 * std::exp(1.0) / z, 1e-7);
  EXPECT_NEAR(d[1], 0.5 * std::exp(2.0) / z, 1e-7);
  EXPECT_NEAR(d[2], 0.5 * (std::exp(3.0) / z - 1.0), 1e-7);
  for (int j = 3; j < 6; ++j)
    EXPECT_EQ(d[j], 0.0f);
  EXPECT_NEAR(d[6], 0.5 * (1.0 / 3.0 - 1.0), 1e-7);
  EXPECT_NEAR(d[7], 0.5 / 3.0, 1e-7);
}

TEST(CrossEntropy, BackwardMatchesFiniteDifferences) {
  const int rows = 4, vocab = 11;
  auto x = randomVec(rows * vocab, 4);
  int64_t labels[rows] = {3, -100, 10, 0};
  std::vector<float> d(x.size());
  // loss = mean over valid rows; n_valid = 3.
  ASSERT_EQ(pzrt_cross_entropy_bwd(x.data(), labels, nullptr, rows, vocab, -100, 1.0f / 3, d.data()),
            0);
  auto meanLoss = [&](const std::vector<float> &v) {
    double s = 0;
    int64_t n = 0;
    pzrt_cross_entropy_fwd(v.data(), labels, rows, vocab, -100, nullptr, &s, &n);
    return s / static_cast<double>(n);
  };
  for (size_t i = 0; i < x.size(); ++i) {
    auto xp = x, xm = x;
    const float h = 1e-3f;
    xp[i] += h;
    xm[i] -= h;
    double fd = (meanLoss(xp) - meanLoss(xm)) / (xp[i] - xm[i]);
    EXPECT_NEAR(d[i], fd, 2e-5) << "element " << i;
  }
}

TEST(CrossEntropy, BadLabelIsAnError) {
  float logits[6] = {0, 0, 0, 0, 0, 0};
  int64_t labels[2] = {1, 3};
  double s;
  int64_t n;
  EXPECT_EQ(pzrt_cross_entropy_fwd(logits, labels, 2, 3, -100, nullptr, &s, &n), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("label 3 at row 1 is outside [0, 3)"),
            std::string::npos)
      << pzrt_last_error();
  float d[6];
  EXPECT_EQ(pzrt_cross_entropy_bwd(logits, labels, nullptr, 2, 3, -100, 1.0f, d), -1);
}

TEST(CrossEntropy, AllIgnoredGivesZeroCount) {
  float logits[3] = {1, 2, 3};
  int64_t labels[1] = {-100};
  double s = -1;
  int64_t n = -1;
  ASSERT_EQ(pzrt_cross_entropy_fwd(logits, labels, 1, 3, -100, nullptr, &s, &n), 0);
  EXPECT_EQ(s, 0.0);
  EXPECT_EQ(n, 0);
}

} // namespace
