// AdamW and SGD: hand-computed steps, a double-precision reference loop, and
// (when /usr/bin/python3 has torch) torch.optim itself.
#include "pzrt/error.h"
#include "pzrt/kernels.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

namespace {

std::vector<float> randomVec(size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

TEST(AdamW, FirstStepByHand) {
  // m = v = 0: mhat = g, vhat = g^2, so p1 = p0*(1 - lr*wd) - lr*g/(|g| + eps).
  float p = 1.0f, g = 0.5f, m = 0.0f, v = 0.0f;
  ASSERT_EQ(pzrt_adamw_step(&p, &g, &m, &v, 1, 0.1, 0.9, 0.999, 1e-8, 0.01, 1), 0);
  EXPECT_NEAR(p, 0.999 - 0.1 * 0.5 / (0.5 + 1e-8), 1e-7);
  EXPECT_NEAR(m, 0.05, 1e-9);
  EXPECT_NEAR(v, 0.00025, 1e-10);
}

TEST(AdamW, MatchesDoubleReferenceOverSteps) {
  const size_t n = 257;
  const double lr = 3e-3, b1 = 0.9, b2 = 0.95, eps = 1e-8, wd = 0.1;
  auto p = randomVec(n, 1);
  std::vector<float> m(n, 0.0f), v(n, 0.0f);
  std::vector<double> P(p.begin(), p.end()), M(n, 0.0), V(n, 0.0);
  for (int t = 1; t <= 10; ++t) {
    auto g = randomVec(n, 100 + static_cast<unsigned>(t), 0.1f);
    ASSERT_EQ(pzrt_adamw_step(p.data(), g.data(), m.data(), v.data(), n, lr, b1, b2, eps, wd, t),
              0);
    for (size_t i = 0; i < n; ++i) { // the textbook formula from the brief
      P[i] -= lr * wd * P[i];
      M[i] = b1 * M[i] + (1 - b1) * g[i];
      V[i] = b2 * V[i] + (1 - b2) * g[i] * g[i];
      double mhat = M[i] / (1 - std::pow(b1, t)), vhat = V[i] / (1 - std::pow(b2, t));
      P[i] -= lr * mhat / (std::sqrt(vhat) + eps);
    }
  }
  for (size_t i = 0; i < n; ++i) {
    EXPECT_NEAR(p[i], P[i], 2e-6) << i;
    EXPECT_NEAR(m[i], M[i], 1e-7) << i;
    EXPECT_NEAR(v[i], V[i], 1e-9) << i;
  }
}

TEST(Sgd, MomentumNesterovAndWeightDecayByHand) {
  // torch.optim.SGD: d = g + wd*p; buf = d (step 1), else mom*buf + (1-damp)*d.
  float p = 2.0f, g = 1.0f, buf = 0.0f;
  ASSERT_EQ(pzrt_sgd_step(&p, &g, &buf, 1, 0.1, 0.9, 0.0, 0.5, 0, 1), 0);
  // d = 1 + 0.5*2 = 2; buf = 2; p = 2 - 0.2 = 1.8
  EXPECT_FLOAT_EQ(buf, 2.0f);
  EXPECT_FLOAT_EQ(p, 1.8f);
  ASSERT_EQ(pzrt_sgd_step(&p, &g, &buf, 1, 0.1, 0.9, 0.0, 0.5, 0, 2), 0);
  // d = 1 + 0.9 = 1.9; buf = 1.8 + 1.9 = 3.7; p = 1.8 - 0.37 = 1.43
  EXPECT_FLOAT_EQ(buf, 3.7f);
  EXPECT_FLOAT_EQ(p, 1.43f);
  float q = 1.0f, qb = 0.0f;
  ASSERT_EQ(pzrt_sgd_step(&q, &g, &qb, 1, 0.1, 0.5, 0.0, 0.0, 1, 1), 0);
  // Nesterov: buf = 1; d = 1 + 0.5*1 = 1.5; q = 1 - 0.15
  EXPECT_FLOAT_EQ(q, 0.85f);
  float r = 1.0f;
  ASSERT_EQ(pzrt_sgd_step(&r, &g, nullptr, 1, 0.25, 0.0, 0.0, 0.0, 0, 1), 0);
  EXPECT_FLOAT_EQ(r, 0.75f);
  EXPECT_EQ(pzrt_sgd_step(&r, &g, nullptr, 1, 0.1, 0.9, 0.0, 0.0, 0, 1), -1);
  EXPECT_EQ(pzrt_adamw_step(&r, &g, &buf, &qb, 1, 0.1, 0.9, 0.999, 1e-8, 0.0, 0), -1);
}

TEST(GradNorm, SumSquaresAndClipCoefficient) {
  float x[3] = {3, 4, 12};
  EXPECT_EQ(pzrt_sum_squares(x, 3), 169.0);
  EXPECT_FLOAT_EQ(pzrt_clip_coef(13.0, 1.0), 1.0f / (13.0f + 1e-6f));
  EXPECT_EQ(pzrt_clip_coef(0.5, 1.0), 1.0f);
  pzrt_scale(x, 3, 0.5f);
  EXPECT_EQ(x[2], 6.0f);
}

// Runs torch.optim on the same data and compares the parameters after 5 steps.
TEST(Optimizers, MatchTorch) {
  if (!pzrt::test::pythonHas("torch, numpy"))
    GTEST_SKIP() << PZRT_TEST_PYTHON << " cannot import torch and numpy";
  pzrt::test::TempDir dir;
  const size_t n = 1000;
  const int steps = 5;
  auto p0 = randomVec(n, 7);
  std::vector<float> grads;
  for (int t = 0; t < steps; ++t) {
    auto g = randomVec(n, 50 + static_cast<unsigned>(t), 0.3f);
    grads.insert(grads.end(), g.begin(), g.end());
  }
  pzrt::test::writeBytes(dir.file("p0.bin"), pzrt::test::bytesOf(p0));
  pzrt::test::writeBytes(dir.file("g.bin"), pzrt::test::bytesOf(grads));
  const std::string script = R"(
import sys, numpy as np, torch
d = sys.argv[1]
p0 = np.fromfile(d + '/p0.bin', dtype='<f4')
g = np.fromfile(d + '/g.bin', dtype='<f4').reshape(5, -1)
def run(make, name):
    p = torch.nn.Parameter(torch.from_numpy(p0.copy()))
    opt = make([p])
    for t in range(5):
        p.grad = torch.from_numpy(g[t].copy())
        opt.step()
    p.detach().numpy().astype('<f4').tofile(d + '/' + name + '.bin')
run(lambda ps: torch.optim.AdamW(ps, lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1), 'adamw')
run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01), 'sgd')
run(lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, nesterov=True), 'nesterov')
)";
  pzrt::test::writeBytes(dir.file("ref.py"), script);
  std::string out;
  ASSERT_EQ(pzrt::test::runCommand(std::string(PZRT_TEST_PYTHON) + " " + dir.file("ref.py") + " " +
                                       dir.path() + " 2>&1",
                                   &out),
            0)
      << out;
  auto load = [&](const char *name) {
    std::string b = pzrt::test::readText(dir.file(name));
    std::vector<float> v(b.size() / 4);
    std::memcpy(v.data(), b.data(), v.size() * 4);
    return v;
  };
  std::vector<float> pa = p0, m(n, 0.0f), v(n, 0.0f);
  std::vector<float> ps = p0, bs(n, 0.0f), pn = p0, bn(n, 0.0f);
  for (int t = 1; t <= steps; ++t) {
    const float *g = grads.data() + static_cast<size_t>(t - 1) * n;
    ASSERT_EQ(pzrt_adamw_step(pa.data(), g, m.data(), v.data(), n, 1e-2, 0.9, 0.95, 1e-8, 0.1, t), 0);
    ASSERT_EQ(pzrt_sgd_step(ps.data(), g, bs.data(), n, 0.05, 0.9, 0.0, 0.01, 0, t), 0);
    ASSERT_EQ(pzrt_sgd_step(pn.data(), g, bn.data(), n, 0.05, 0.8, 0.0, 0.0, 1, t), 0);
  }
  auto ta = load("adamw.bin"), ts = load("sgd.bin"), tn = load("nesterov.bin");
  ASSERT_EQ(ta.size(), n);
  // Same operations in the same order as torch (including its FMA in
  // "add with alpha"), so the results agree bit for bit on machines where
  // torch runs its AVX2 kernels; elsewhere they may differ in the last bit of
  // intermediate values, hence a tolerance of a few ulps of the parameter scale.
  size_t exact = 0;
  for (size_t i = 0; i < n; ++i) {
    const double tol = 4 * 1.2e-7 * std::max(1.0, std::abs(static_cast<double>(p0[i])));
    EXPECT_NEAR(pa[i], ta[i], tol) << "adamw " << i;
    EXPECT_NEAR(ps[i], ts[i], tol) << "sgd " << i;
    EXPECT_NEAR(pn[i], tn[i], tol) << "nesterov " << i;
    exact += (pa[i] == ta[i]) + (ps[i] == ts[i]) + (pn[i] == tn[i]);
  }
  std::printf("bit-identical to torch: %zu of %zu values\n", exact, 3 * n);
}


} // namespace
