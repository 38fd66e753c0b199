// Layer norm and RMS norm: forward against a double reference, backward against
// central finite differences of that double reference.
#include "pzrt/error.h"
#include "pzrt/kernels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

using Vec = std::vector<double>;

std::vector<float> randomVec(size_t n, unsigned seed, float lo = -2.0f, float hi = 2.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

Vec toD(const std::vector<float> &v) { return Vec(v.begin(), v.end()); }

// y = layer_norm(x) * g + b, rows x cols, in double.
Vec refLayerNorm(const Vec &x, const Vec &g, const Vec &b, int rows, int cols, double eps) {
  Vec y(x.size());
  for (int i = 0; i < rows; ++i) {
    double mu = 0, var = 0;
    for (int j = 0; j < cols; ++j)
      mu += x[static_cast<size_t>(i * cols + j)];
    mu /= cols;
    for (int j = 0; j < cols; ++j)
      var += std::pow(x[static_cast<size_t>(i * cols + j)] - mu, 2);
    var /= cols;
    for (int j = 0; j < cols; ++j)
      y[static_cast<size_t>(i * cols + j)] =
          (x[static_cast<size_t>(i * cols + j)] - mu) / std::sqrt(var + eps) * g[static_cast<size_t>(j)] +
          b[static_cast<size_t>(j)];
  }
  return y;
}

Vec refRmsNorm(const Vec &x, const Vec &g, int rows, int cols, double eps) {
  Vec y(x.size());
  for (int i = 0; i < rows; ++i) {
    double ms = 0;
    for (int j = 0; j < cols; ++j)
      ms += std::pow(x[static_cast<size_t>(i * cols + j)], 2);
    ms /= cols;
    for (int j = 0; j < cols; ++j)
      y[static_cast<size_t>(i * cols + j)] =
          x[static_cast<size_t>(i * cols + j)] / std::sqrt(ms + eps) * g[static_cast<size_t>(j)];
  }
  return y;
}

// d/dv of sum(w * f(v)) by central differences, for each element of v.
Vec numericGrad(std::function<Vec(const Vec &)> f, Vec v, const Vec &w) {
  Vec grad(v.size());
  const double h = 1e-6;
  for (size_t i = 0; i < v.size(); ++i) {
    double keep = v[i];
    v[i] = keep + h;
    Vec a = f(v);
    v[i] = keep - h;
    Vec b = f(v);
    v[i] = keep;
    double s = 0;
    for (size_t k = 0; k < a.size(); ++k)
      s += w[k] * (a[k] - b[k]);
    grad[i] = s / (2 * h);
  }
  return grad;
}

TEST(LayerNorm, ForwardAndSavedStatistics) {
  const int rows = 4, cols = 10;
  const float eps = 1e-5f;
  auto x = randomVec(rows * cols, 1), g = randomVec(cols, 2), b = randomVec(cols, 3);
  std::vector<float> y(x.size()), mean(rows), rstd(rows);
  ASSERT_EQ(pzrt_layer_norm_fwd(x.data(), g.data(), b.data(), y.data(), mean.data(), rstd.data(),
                                rows, cols, eps),
            0);
  Vec ref = refLayerNorm(toD(x), toD(g), toD(b), rows, cols, eps);
  for (size_t i = 0; i < y.size(); ++i)
    EXPECT_NEAR(y[i], ref[i], 2e-6);
  // Hand-computed statistics: row [1, 2, 3, 4] has mean 2.5, variance 1.25.
  float h[4] = {1, 2, 3, 4}, hy[4], hm, hr;
  ASSERT_EQ(pzrt_layer_norm_fwd(h, nullptr, nullptr, hy, &hm, &hr, 1, 4, 0.0f), 0);
  EXPECT_FLOAT_EQ(hm, 2.5f);
  EXPECT_FLOAT_EQ(hr, static_cast<float>(1.0 / std::sqrt(1.25)));
  EXPECT_FLOAT_EQ(hy[0], static_cast<float>(-1.5 / std::sqrt(1.25)));
}

TEST(LayerNorm, BackwardMatchesFiniteDifferences) {
  const int rows = 3, cols = 8;
  const float eps = 1e-5f;
  auto x = randomVec(rows * cols, 4), g = randomVec(cols, 5), b = randomVec(cols, 6);
  auto dy = randomVec(rows * cols, 7, -1.0f, 1.0f);
  std::vector<float> y(x.size()), mean(rows), rstd(rows), dx(x.size()), dg(cols), db(cols);
  ASSERT_EQ(pzrt_layer_norm_fwd(x.data(), g.data(), b.data(), y.data(), mean.data(), rstd.data(),
                                rows, cols, eps),
            0);
  ASSERT_EQ(pzrt_layer_norm_bwd(dy.data(), x.data(), g.data(), mean.data(), rstd.data(),
                                dx.data(), dg.data(), db.data(), rows, cols),
            0);
  Vec X = toD(x), G = toD(g), B = toD(b), W = toD(dy);
  Vec ndx = numericGrad([&](const Vec &v) { return refLayerNorm(v, G, B, rows, cols, eps); }, X, W);
  Vec ndg = numericGrad([&](const Vec &v) { return refLayerNorm(X, v, B, rows, cols, eps); }, G, W);
  Vec ndb = numericGrad([&](const Vec &v) { return refLayerNorm(X, G, v, rows, cols, eps); }, B, W);
  for (size_t i = 0; i < dx.size(); ++i)
    EXPECT_NEAR(dx[i], ndx[i], 1e-5) << "dx " << i;
  for (int j = 0; j < cols; ++j) {
    EXPECT_NEAR(dg[static_cast<size_t>(j)], ndg[static_cast<size_t>(j)], 1e-5) << "dgamma " << j;
    EXPECT_NEAR(db[static_cast<size_t>(j)], ndb[static_cast<size_t>(j)], 1e-5) << "dbeta " << j;
  }
}

TEST(RmsNorm, ForwardAndBackward) {
  const int rows = 3, cols = 12;
  const float eps = 1e-6f;
  auto x = randomVec(rows * cols, 8), g = randomVec(cols, 9);
  auto dy = randomVec(rows * cols, 10, -1.0f, 1.0f);
  std::vector<float> y(x.size()), rstd(rows), dx(x.size()), dg(cols);
  ASSERT_EQ(pzrt_rms_norm_fwd(x.data(), g.data(), y.data(), rstd.data(), rows, cols, eps), 0);
  Vec X = toD(x), G = toD(g), W = toD(dy);
  Vec ref = refRmsNorm(X, G, rows, cols, eps);
  for (size_t i = 0; i < y.size(); ++i)
    EXPECT_NEAR(y[i], ref[i], 2e-6);
  ASSERT_EQ(pzrt_rms_norm_bwd(dy.data(), x.data(), g.data(), rstd.data(), dx.data(), dg.data(),
                              rows, cols),
            0);
  Vec ndx = numericGrad([&](const Vec &v) { return refRmsNorm(v, G, rows, cols, eps); }, X, W);
  Vec ndg = numericGrad([&](const Vec &v) { return refRmsNorm(X, v, rows, cols, eps); }, G, W);
  for (size_t i = 0; i < dx.size(); ++i)
    EXPECT_NEAR(dx[i], ndx[i], 1e-5) << "dx " << i;
  for (int j = 0; j < cols; ++j)
    EXPECT_NEAR(dg[static_cast<size_t>(j)], ndg[static_cast<size_t>(j)], 1e-5);
  // Hand-computed: [3, 4] has mean square 12.5.
  float h[2] = {3, 4}, hy[2], hr;
  ASSERT_EQ(pzrt_rms_norm_fwd(h, nullptr, hy, &hr, 1, 2, 0.0f), 0);
  EXPECT_FLOAT_EQ(hy[0], static_cast<float>(3 / std::sqrt(12.5)));
}

TEST(Norm, BadShapesAndMissingStatistics) {
  float x[4] = {}, y[4] = {};
  EXPECT_EQ(pzrt_layer_norm_fwd(x, nullptr, nullptr, y, nullptr, nullptr, 1, 0, 1e-5f), -1);
  EXPECT_EQ(pzrt_layer_norm_bwd(x, x, nullptr, nullptr, nullptr, y, nullptr, nullptr, 1, 4), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("saved mean and rstd"), std::string::npos);
  EXPECT_EQ(pzrt_rms_norm_bwd(x, x, nullptr, nullptr, y, nullptr, 1, 4), -1);
}

// ---- backward with recomputed statistics ----
//
// pzrt_*_norm_bwd_recompute must give the same bits as the forward (saving the
// statistics) followed by the existing backward, and match an analytic double
// reference (the interpreter's formulas, written out here) within
// max |kernel - reference| <= 1e-5 * max(1, max |reference|).

bool sameBits(const std::vector<float> &a, const std::vector<float> &b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

void expectCloseRel(const std::vector<float> &got, const Vec &ref, const char *what) {
  ASSERT_EQ(got.size(), ref.size());
  double maxRef = 0, maxErr = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    maxRef = std::max(maxRef, std::fabs(ref[i]));
    maxErr = std::max(maxErr, std::fabs(got[i] - ref[i]));
  }
  EXPECT_LE(maxErr, 1e-5 * std::max(1.0, maxRef)) << what;
}

// Analytic gradients in double, gamma empty meaning 1:
//   layer norm: dx = rstd * (gs - mean(gs) - xhat * mean(gs * xhat)), gs = dy * gamma,
//               dgamma = sum_rows(dy * xhat), dbeta = sum_rows(dy)
//   rms norm:   dx = r * gs - r^3 * x * mean(gs * x), dgamma = sum_rows(dy * x * r)
void refLayerNormGrad(const Vec &x, const Vec &dy, const Vec &g, int rows, int cols, double eps,
                      Vec &dx, Vec &dg, Vec &db) {
  dx.assign(x.size(), 0.0);
  dg.assign(static_cast<size_t>(cols), 0.0);
  db.assign(static_cast<size_t>(cols), 0.0);
  for (int i = 0; i < rows; ++i) {
    const double *xr = &x[static_cast<size_t>(i * cols)], *gr = &dy[static_cast<size_t>(i * cols)];
    double mu = 0, var = 0;
    for (int j = 0; j < cols; ++j)
      mu += xr[j] / cols;
    for (int j = 0; j < cols; ++j)
      var += (xr[j] - mu) * (xr[j] - mu) / cols;
    double rstd = 1.0 / std::sqrt(var + eps), mGs = 0, mGsX = 0;
    for (int j = 0; j < cols; ++j) {
      double gs = gr[j] * (g.empty() ? 1.0 : g[static_cast<size_t>(j)]);
      double xhat = (xr[j] - mu) * rstd;
      mGs += gs / cols;
      mGsX += gs * xhat / cols;
      dg[static_cast<size_t>(j)] += gr[j] * xhat;
      db[static_cast<size_t>(j)] += gr[j];
    }
    for (int j = 0; j < cols; ++j) {
      double gs = gr[j] * (g.empty() ? 1.0 : g[static_cast<size_t>(j)]);
      dx[static_cast<size_t>(i * cols + j)] = rstd * (gs - mGs - (xr[j] - mu) * rstd * mGsX);
    }
  }
}

void refRmsNormGrad(const Vec &x, const Vec &dy, const Vec &g, int rows, int cols, double eps,
                    Vec &dx, Vec &dg) {
  dx.assign(x.size(), 0.0);
  dg.assign(static_cast<size_t>(cols), 0.0);
  for (int i = 0; i < rows; ++i) {
    const double *xr = &x[static_cast<size_t>(i * cols)], *gr = &dy[static_cast<size_t>(i * cols)];
    double ms = 0;
    for (int j = 0; j < cols; ++j)
      ms += xr[j] * xr[j] / cols;
    double r = 1.0 / std::sqrt(ms + eps), mGsX = 0;
    for (int j = 0; j < cols; ++j) {
      mGsX += gr[j] * (g.empty() ? 1.0 : g[static_cast<size_t>(j)]) * xr[j] / cols;
      dg[static_cast<size_t>(j)] += gr[j] * xr[j] * r;
    }
    for (int j = 0; j < cols; ++j)
      dx[static_cast<size_t>(i * cols + j)] =
          r * gr[j] * (g.empty() ? 1.0 : g[static_cast<size_t>(j)]) - r * r * r * xr[j] * mGsX;
  }
}

struct NormCase {
  int rows, cols;
  bool gamma;
};

// cols 4100 spans three 2048-column accumulator chunks.
const NormCase kNormCases[] = {{5, 10, true}, {3, 64, false}, {4, 768, true}, {3, 4100, true},
                               {2, 4100, false}, {1, 2048, true}, {0, 8, true}};

TEST(LayerNorm, BackwardRecomputeMatchesSavedStatistics) {
  for (const NormCase &c : kNormCases) {
    SCOPED_TRACE(::testing::Message() << "rows=" << c.rows << " cols=" << c.cols
                                      << " gamma=" << c.gamma);
    const float eps = 1e-5f;
    size_t n = static_cast<size_t>(c.rows) * static_cast<size_t>(c.cols);
    auto x = randomVec(n, 40, -3.0f, 5.0f), dy = randomVec(n, 41, -1.0f, 1.0f);
    auto g = c.gamma ? randomVec(static_cast<size_t>(c.cols), 42) : std::vector<float>();
    const float *gp = c.gamma ? g.data() : nullptr;
    std::vector<float> y(n), mean(static_cast<size_t>(c.rows)), rstd(mean.size());
    ASSERT_EQ(pzrt_layer_norm_fwd(x.data(), gp, nullptr, y.data(), mean.data(), rstd.data(),
                                  c.rows, c.cols, eps),
              0);
    std::vector<float> dx1(n), dg1(static_cast<size_t>(c.cols)), db1(dg1.size());
    ASSERT_EQ(pzrt_layer_norm_bwd(dy.data(), x.data(), gp, mean.data(), rstd.data(), dx1.data(),
                                  dg1.data(), db1.data(), c.rows, c.cols),
              0);
    std::vector<float> dx2(n, -1.0f), dg2(dg1.size(), -1.0f), db2(dg1.size(), -1.0f);
    ASSERT_EQ(pzrt_layer_norm_bwd_recompute(dy.data(), x.data(), gp, dx2.data(), dg2.data(),
                                            db2.data(), c.rows, c.cols, eps),
              0);
    EXPECT_TRUE(sameBits(dx1, dx2));
    EXPECT_TRUE(sameBits(dg1, dg2));
    EXPECT_TRUE(sameBits(db1, db2));
    // Nullable dgamma / dbeta.
    std::vector<float> dx3(n, -1.0f), db3(dg1.size(), -1.0f);
    ASSERT_EQ(pzrt_layer_norm_bwd_recompute(dy.data(), x.data(), gp, dx3.data(), nullptr,
                                            db3.data(), c.rows, c.cols, eps),
              0);
    EXPECT_TRUE(sameBits(dx1, dx3));
    EXPECT_TRUE(sameBits(db1, db3));
    std::vector<float> dx4(n, -1.0f);
    ASSERT_EQ(pzrt_layer_norm_bwd_recompute(dy.data(), x.data(), gp, dx4.data(), nullptr, nullptr,
                                            c.rows, c.cols, eps),
              0);
    EXPECT_TRUE(sameBits(dx1, dx4));
    Vec rdx, rdg, rdb;
    refLayerNormGrad(toD(x), toD(dy), toD(g), c.rows, c.cols, eps, rdx, rdg, rdb);
    expectCloseRel(dx2, rdx, "dx");
    expectCloseRel(dg2, rdg, "dgamma");
    expectCloseRel(db2, rdb, "dbeta");
  }
}

TEST(RmsNorm, BackwardRecomputeMatchesSavedStatistics) {
  for (const NormCase &c : kNormCases) {
    SCOPED_TRACE(::testing::Message() << "rows=" << c.rows << " cols=" << c.cols
                                      << " gamma=" << c.gamma);
    const float eps = 1e-6f;
    size_t n = static_cast<size_t>(c.rows) * static_cast<size_t>(c.cols);
    auto x = randomVec(n, 50, -3.0f, 5.0f), dy = randomVec(n, 51, -1.0f, 1.0f);
    auto g = c.gamma ? randomVec(static_cast<size_t>(c.cols), 52) : std::vector<float>();
    const float *gp = c.gamma ? g.data() : nullptr;
    std::vector<float> y(n), rstd(static_cast<size_t>(c.rows));
    ASSERT_EQ(pzrt_rms_norm_fwd(x.data(), gp, y.data(), rstd.data(), c.rows, c.cols, eps), 0);
    std::vector<float> dx1(n), dg1(static_cast<size_t>(c.cols));
    ASSERT_EQ(pzrt_rms_norm_bwd(dy.data(), x.data(), gp, rstd.data(), dx1.data(), dg1.data(),
                                c.rows, c.cols),
              0);
    std::vector<float> dx2(n, -1.0f), dg2(dg1.size(), -1.0f);
    ASSERT_EQ(pzrt_rms_norm_bwd_recompute(dy.data(), x.data(), gp, dx2.data(), dg2.data(), c.rows,
                                          c.cols, eps),
              0);
    EXPECT_TRUE(sameBits(dx1, dx2));
    EXPECT_TRUE(sameBits(dg1, dg2));
    std::vector<float> dx3(n, -1.0f);
    ASSERT_EQ(pzrt_rms_norm_bwd_recompute(dy.data(), x.data(), gp, dx3.data(), nullptr, c.rows,
                                          c.cols, eps),
              0);
    EXPECT_TRUE(sameBits(dx1, dx3));
    Vec rdx, rdg;
    refRmsNormGrad(toD(x), toD(dy), toD(g), c.rows, c.cols, eps, rdx, rdg);
    expectCloseRel(dx2, rdx, "dx");
    expectCloseRel(dg2, rdg, "dgamma");
  }
}

TEST(Norm, RecomputeBadShapes) {
  float x[4] = {}, y[4] = {};
  EXPECT_EQ(pzrt_layer_norm_bwd_recompute(x, x, nullptr, y, nullptr, nullptr, 1, 0, 1e-5f), -1);
  EXPECT_EQ(pzrt_rms_norm_bwd_recompute(x, x, nullptr, y, nullptr, -1, 4, 1e-5f), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("rms_norm_bwd_recompute"), std::string::npos);
}

} // namespace
