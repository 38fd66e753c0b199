// The runtime's CUDA layer norm and RMS norm kernels against the CPU kernels
// on the same inputs. Tolerances: the CPU computes in double, the GPU in fp32
// with row sums of <= 15 roundings (1e-6 relative, as in
// test_cuda_kernels.cpp) and column sums over <= 67 rows in <= 3 + 32
// roundings (2.1e-6); each tolerance is 1e-5 (a margin of about 5) of the
// magnitudes the error scales with, written next to it.
#include "cuda/kernel_test_util.h"

namespace {

using kt::CudaKernels;
using kt::Dev;

struct Shape {
  int64_t rows, cols;
};
// One to five columns around the stash (4 or 2 entries of dx, norm.cu), a
// warp plus one, a ragged 1000, and rows for several column-sum lanes.
const Shape kShapes[] = {{6, 1}, {5, 2}, {4, 3}, {9, 4}, {3, 5}, {67, 33}, {40, 1000}, {1, 777}};

struct Inputs {
  std::vector<float> x, dy, gamma, beta;
};

Inputs inputsFor(Shape s, uint32_t seed) {
  const size_t n = size_t(s.rows * s.cols);
  return {kt::randn(n, seed, 3.0f, 2.0f), kt::randn(n, seed + 1),
          kt::uniform(size_t(s.cols), seed + 2, 0.5f, 1.5f),
          kt::randn(size_t(s.cols), seed + 3)};
}

// The forward against the CPU's, with and without gamma and beta.
void checkForward(pzrt_step_ctx *ctx, pzrt_device *dev, bool layer, Shape s,
                  bool affine) {
  SCOPED_TRACE(testing::Message() << (layer ? "layer" : "rms") << " norm " << s.rows << " x "
                                  << s.cols << (affine ? " with" : " without") << " gamma/beta");
  const float eps = 1e-5f;
  const size_t n = size_t(s.rows * s.cols), R = size_t(s.rows);
  Inputs in = inputsFor(s, 11);
  const float *g = affine ? in.gamma.data() : nullptr, *b = affine ? in.beta.data() : nullptr;
  std::vector<float> yRef(n), meanRef(R, 0.0f), rstdRef(R);
  if (layer)
    ASSERT_EQ(pzrt_layer_norm_fwd(in.x.data(), g, b, yRef.data(), meanRef.data(), rstdRef.data(),
                                  s.rows, s.cols, eps),
              0);
  else
    ASSERT_EQ(pzrt_rms_norm_fwd(in.x.data(), g, yRef.data(), rstdRef.data(), s.rows, s.cols, eps),
              0);
  Dev<float> xD(dev, in.x), gD(dev, in.gamma), bD(dev, in.beta), yD(dev, n), meanD(dev, R),
      rstdD(dev, R);
  const float *gd = affine ? gD.get() : nullptr, *bd = affine ? bD.get() : nullptr;
  if (layer)
    ASSERT_EQ(pzrt_cuda_layer_norm_fwd(ctx, xD.get(), gd, bd, yD.get(), meanD.get(), rstdD.get(),
                                       s.rows, s.cols, eps),
              0)
        << pzrt_last_error();
  else
    ASSERT_EQ(pzrt_cuda_rms_norm_fwd(ctx, xD.get(), gd, yD.get(), rstdD.get(), s.rows, s.cols,
                                     eps),
              0)
        << pzrt_last_error();
  // mean: a row sum, 1e-6 of the mean |x|; rstd: relative.
  std::vector<double> meanAbs(R, 0.0);
  for (size_t i = 0; i < n; ++i)
    meanAbs[i / size_t(s.cols)] += std::fabs(in.x[i]) / double(s.cols);
  if (layer)
    kt::expectNear(meanD.read(), meanRef, [&](size_t r) { return 5e-6 * meanAbs[r]; }, "mean");
  kt::expectNear(rstdD.read(), rstdRef, [&](size_t r) { return 1e-5 * rstdRef[r]; }, "rstd");
  // y = (x - mean) * rstd * gamma + beta: x - mean errs by the mean's error
  // and an ulp of |x| + |mean|, times rstd and gamma.
  kt::expectNear(yD.read(), yRef, [&](size_t i) {
    size_t r = i / size_t(s.cols), j = i % size_t(s.cols);
    double gj = affine ? std::fabs(in.gamma[j]) : 1.0, bj = affine ? std::fabs(in.beta[j]) : 0.0;
    return 1e-5 * (gj * rstdRef[r] * (std::fabs(in.x[i]) + meanAbs[r]) + bj);
  }, "y");
}

TEST_F(CudaKernels, NormForwardMatchesCpu) {
  for (bool layer : {true, false})
    for (Shape s : kShapes)
      for (bool affine : {true, false})
        checkForward(&ctx, dev, layer, s, affine);
}

// The backward with recomputed statistics; dgamma/dbeta requested or NULL
// (which changes the kernels that run: with them, dx rows hold the stash).
void checkBackward(pzrt_step_ctx *ctx, pzrt_device *dev, bool layer, Shape s, bool affine,
                   bool sums) {
  SCOPED_TRACE(testing::Message() << (layer ? "layer" : "rms") << " norm bwd " << s.rows << " x "
                                  << s.cols << (affine ? " with gamma" : " without gamma")
                                  << (sums ? ", with dgamma" : ", without dgamma"));
  const float eps = 1e-5f;
  const size_t n = size_t(s.rows * s.cols), C = size_t(s.cols), R = size_t(s.rows);
  Inputs in = inputsFor(s, 21);
  const float *g = affine ? in.gamma.data() : nullptr;
  std::vector<float> dxRef(n), dgRef(C), dbRef(C), mean(R, 0.0f), rstd(R), scratch(n);
  if (layer) {
    ASSERT_EQ(pzrt_layer_norm_bwd_recompute(in.dy.data(), in.x.data(), g, dxRef.data(),
                                            dgRef.data(), dbRef.data(), s.rows, s.cols, eps),
              0);
    pzrt_layer_norm_fwd(in.x.data(), nullptr, nullptr, scratch.data(), mean.data(), rstd.data(),
                        s.rows, s.cols, eps);
  } else {
    ASSERT_EQ(pzrt_rms_norm_bwd_recompute(in.dy.data(), in.x.data(), g, dxRef.data(),
                                          dgRef.data(), s.rows, s.cols, eps),
              0);
    pzrt_rms_norm_fwd(in.x.data(), nullptr, scratch.data(), rstd.data(), s.rows, s.cols, eps);
  }
  Dev<float> xD(dev, in.x), dyD(dev, in.dy), gD(dev, in.gamma), dxD(dev, n),
      dgD(dev, std::vector<float>(C, -7.0f)), dbD(dev, std::vector<float>(C, -7.0f));
  float *dg = sums ? dgD.get() : nullptr, *db = sums ? dbD.get() : nullptr;
  const float *gd = affine ? gD.get() : nullptr;
  if (layer)
    ASSERT_EQ(pzrt_cuda_layer_norm_bwd_recompute(ctx, dyD.get(), xD.get(), gd, dxD.get(), dg, db,
                                                 s.rows, s.cols, eps),
              0)
        << pzrt_last_error();
  else
    ASSERT_EQ(pzrt_cuda_rms_norm_bwd_recompute(ctx, dyD.get(), xD.get(), gd, dxD.get(), dg,
                                               s.rows, s.cols, eps),
              0)
        << pzrt_last_error();
  // Magnitudes in double: per row, h = mean |g| and hx = mean |g * xhat|
  // (g = dy * gamma); xhat's error scales with rstd * (|x| + |mean|).
  std::vector<double> h(R, 0.0), hx(R, 0.0), colG(C, 0.0), colB(C, 0.0);
  auto xhatScale = [&](size_t i) {
    size_t r = i / C;
    return double(rstd[r]) * (std::fabs(in.x[i]) + std::fabs(mean[r]));
  };
  for (size_t i = 0; i < n; ++i) {
    size_t r = i / C, j = i % C;
    double gi = std::fabs(in.dy[i]) * (affine ? in.gamma[j] : 1.0f);
    h[r] += gi / double(C);
    hx[r] += gi * xhatScale(i) / double(C);
    colG[j] += std::fabs(in.dy[i]) * xhatScale(i);
    colB[j] += std::fabs(in.dy[i]);
  }
  // dx = rstd * (g - mean(g) - xhat * mean(g * xhat)).
  kt::expectNear(dxD.read(), dxRef, [&](size_t i) {
    size_t r = i / C, j = i % C;
    double gi = std::fabs(in.dy[i]) * (affine ? in.gamma[j] : 1.0f);
    return 1e-5 * rstd[r] * (gi + (layer ? h[r] : 0.0) + xhatScale(i) * hx[r]);
  }, "dx");
  if (!sums)
    return;
  // dgamma = sum over rows of dy * xhat; dbeta = sum of dy.
  kt::expectNear(dgD.read(), dgRef, [&](size_t j) { return 1e-5 * colG[j]; }, "dgamma");
  if (layer)
    kt::expectNear(dbD.read(), dbRef, [&](size_t j) { return 1e-5 * colB[j]; }, "dbeta");
  else
    EXPECT_EQ(dbD.read(), std::vector<float>(C, -7.0f)); // RMS norm has no dbeta
}

TEST_F(CudaKernels, NormBackwardMatchesCpu) {
  for (bool layer : {true, false})
    for (Shape s : kShapes)
      for (bool affine : {true, false})
        for (bool sums : {true, false})
          checkBackward(&ctx, dev, layer, s, affine, sums);
}

TEST_F(CudaKernels, NormBackwardOfNoRowsZeroesTheSums) {
  Dev<float> dg(dev, std::vector<float>(5, -7.0f)), db(dev, std::vector<float>(5, -7.0f));
  ASSERT_EQ(pzrt_cuda_layer_norm_bwd_recompute(&ctx, nullptr, nullptr, nullptr, nullptr, dg.get(),
                                               db.get(), 0, 5, 1e-5f),
            0)
      << pzrt_last_error();
  EXPECT_EQ(dg.read(), std::vector<float>(5, 0.0f));
  EXPECT_EQ(db.read(), std::vector<float>(5, 0.0f));
  EXPECT_EQ(pzrt_cuda_rms_norm_fwd(&ctx, dg.get(), nullptr, dg.get(), nullptr, 1, 0, 1e-5f), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("cuda_rms_norm_fwd: bad shape rows=1 cols=0"),
            std::string::npos)
      << pzrt_last_error();
}

// Deterministic: the same inputs give the same bits on a second run.
TEST_F(CudaKernels, NormBackwardRepeatsBitForBit) {
  Shape s{67, 1000};
  Inputs in = inputsFor(s, 31);
  const size_t n = size_t(s.rows * s.cols), C = size_t(s.cols);
  Dev<float> xD(dev, in.x), dyD(dev, in.dy), gD(dev, in.gamma), dxD(dev, n), dgD(dev, C),
      dbD(dev, C);
  std::vector<float> first[3];
  for (int run = 0; run < 2; ++run) {
    ASSERT_EQ(pzrt_cuda_layer_norm_bwd_recompute(&ctx, dyD.get(), xD.get(), gD.get(), dxD.get(),
                                                 dgD.get(), dbD.get(), s.rows, s.cols, 1e-5f),
              0);
    std::vector<float> now[3] = {dxD.read(), dgD.read(), dbD.read()};
    for (int k = 0; k < 3 && run == 1; ++k)
      kt::expectBitEqual(now[k], first[k], "second run");
    for (int k = 0; k < 3; ++k)
      first[k] = now[k];
  }
}

} // namespace
