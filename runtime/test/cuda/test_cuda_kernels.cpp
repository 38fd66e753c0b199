// The runtime's CUDA softmax and cross-entropy kernels against the CPU
// kernels on the same inputs (ctests pzrt-cuda-kernels-emu and
// pzrt-cuda-kernels-gpu). Tolerances: the CPU sums in double, the GPU in
// fp32; a row of <= 4099 terms over a block of <= 1024 threads is summed in
// <= 5 sequential additions plus a 10-level tree, <= 15 roundings: a
// relative error <= 15 * 2^-24 < 1e-6 of the sum of the terms' magnitudes.
// CUDA's expf and logf add <= 2 ulp. Each tolerance below is that budget
// with a margin of about 5, over the magnitudes that the error scales with.
#include "cuda/kernel_test_util.h"

#include <cuda_runtime_api.h>

#include <limits>

namespace {

using kt::CudaKernels;
using kt::Dev;

const float kInf = std::numeric_limits<float>::infinity();

struct Shape {
  int64_t rows, cols;
};
// One column, a warp plus one, more than a block's 8 per thread, and a row
// that needs the largest block (1024 threads) with a ragged end.
const Shape kShapes[] = {{5, 1}, {7, 33}, {3, 1000}, {3, 4099}};

// Normal logits; row 1 is all -inf, every third entry of row 2 is -inf.
std::vector<float> logitsWithInf(Shape s, uint32_t seed) {
  std::vector<float> x = kt::randn(size_t(s.rows * s.cols), seed, 0.0f, 3.0f);
  for (int64_t j = 0; j < s.cols; ++j) {
    x[size_t(s.cols + j)] = -kInf;
    if (j % 3 == 0)
      x[size_t(2 * s.cols + j)] = -kInf;
  }
  return x;
}

// Per row: the sum of |a * b| (b = NULL: of |a|), in double.
std::vector<double> rowAbsSums(const std::vector<float> &a, const float *b, Shape s) {
  std::vector<double> out(size_t(s.rows), 0.0);
  for (int64_t i = 0; i < s.rows; ++i)
    for (int64_t j = 0; j < s.cols; ++j) {
      size_t k = size_t(i * s.cols + j);
      out[size_t(i)] += std::fabs(double(a[k]) * (b ? b[k] : 1.0f));
    }
  return out;
}

TEST_F(CudaKernels, SoftmaxMatchesCpu) {
  for (Shape s : kShapes) {
    SCOPED_TRACE(testing::Message() << s.rows << " x " << s.cols);
    const size_t n = size_t(s.rows * s.cols);
    std::vector<float> x = logitsWithInf(s, 1), dy = kt::randn(n, 2);
    std::vector<float> yRef(n), dxRef(n);
    pzrt_softmax_fwd(x.data(), yRef.data(), s.rows, s.cols);
    pzrt_softmax_bwd(yRef.data(), dy.data(), dxRef.data(), s.rows, s.cols);
    Dev<float> xD(dev, x), yD(dev, n), yIn(dev, yRef), dyD(dev, dy), dxD(dev, n);
    ASSERT_EQ(pzrt_cuda_softmax_fwd(&ctx, xD.get(), yD.get(), s.rows, s.cols), 0)
        << pzrt_last_error();
    ASSERT_EQ(pzrt_cuda_softmax_bwd(&ctx, yIn.get(), dyD.get(), dxD.get(), s.rows, s.cols), 0)
        << pzrt_last_error();
    // y = e / sum(e): the sum's 15 roundings, expf, the product (the all
    // -inf row is exactly 0 on both).
    kt::expectNear(yD.read(), yRef, [&](size_t i) { return 5e-6 * yRef[i]; }, "softmax y");
    // dx = y * (dy - sum(y * dy)): the sum errs by 1e-6 of sum|y * dy|.
    std::vector<double> dotAbs = rowAbsSums(yRef, dy.data(), s);
    kt::expectNear(dxD.read(), dxRef, [&](size_t i) {
      return 5e-6 * yRef[i] * (std::fabs(dy[i]) + dotAbs[i / size_t(s.cols)]);
    }, "softmax dx");
  }
}

TEST_F(CudaKernels, LogSoftmaxMatchesCpu) {
  for (Shape s : kShapes) {
    SCOPED_TRACE(testing::Message() << s.rows << " x " << s.cols);
    const size_t n = size_t(s.rows * s.cols);
    std::vector<float> x = logitsWithInf(s, 3), dy = kt::randn(n, 4);
    std::vector<float> yRef(n), dxRef(n);
    pzrt_log_softmax_fwd(x.data(), yRef.data(), s.rows, s.cols);
    pzrt_log_softmax_bwd(yRef.data(), dy.data(), dxRef.data(), s.rows, s.cols);
    Dev<float> xD(dev, x), yD(dev, n), yIn(dev, yRef), dyD(dev, dy), dxD(dev, n);
    ASSERT_EQ(pzrt_cuda_log_softmax_fwd(&ctx, xD.get(), yD.get(), s.rows, s.cols), 0)
        << pzrt_last_error();
    ASSERT_EQ(pzrt_cuda_log_softmax_bwd(&ctx, yIn.get(), dyD.get(), dxD.get(), s.rows, s.cols),
              0)
        << pzrt_last_error();
    // y = x - lse: log of a sum within 1e-6 relative errs by 1e-6 absolute,
    // plus the roundings of m + log(s) and x - lse (an ulp of |x| + |y|).
    // The all -inf row is NaN on both (-inf - -inf), -inf entries -inf.
    kt::expectNear(yD.read(), yRef, [&](size_t i) {
      return 5e-6 + 5e-7 * (std::fabs(x[i]) + std::fabs(yRef[i]));
    }, "log_softmax y");
    // dx = dy - exp(y) * sum(dy): the sum errs by 1e-6 of sum|dy|.
    std::vector<double> dyAbs = rowAbsSums(dy, nullptr, s);
    kt::expectNear(dxD.read(), dxRef, [&](size_t i) {
      return 5e-6 * (std::fabs(dy[i]) + std::exp(double(yRef[i])) * dyAbs[i / size_t(s.cols)]);
    }, "log_softmax dx");
  }
}

// Labels in [0, vocab), every fifth row ignored.
std::vector<int64_t> labelsFor(int64_t rows, int64_t vocab, int64_t ignore, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<int64_t> y(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i)
    y[size_t(i)] = i % 5 == 3 ? ignore : int64_t(gen() % uint64_t(vocab));
  return y;
}

TEST_F(CudaKernels, CrossEntropyMatchesCpu) {
  const Shape shapes[] = {{37, 1}, {300, 31}, {19, 1001}, {3, 4099}};
  for (Shape s : shapes)
    for (int64_t ignore : {int64_t(-100), int64_t(0)}) // 0: an ignore index inside the vocabulary
      for (bool withLse : {true, false}) {
        SCOPED_TRACE(testing::Message() << s.rows << " x " << s.cols << " ignore " << ignore
                                        << (withLse ? " with lse" : " without lse"));
        const size_t n = size_t(s.rows * s.cols);
        std::vector<float> x = kt::randn(n, 5, 0.0f, 3.0f), lseRef(size_t(s.rows));
        std::vector<int64_t> labels = labelsFor(s.rows, s.cols, ignore, 6);
        double sumRef = 0;
        int64_t validRef = 0;
        ASSERT_EQ(pzrt_cross_entropy_fwd(x.data(), labels.data(), s.rows, s.cols, ignore,
                                         lseRef.data(), &sumRef, &validRef),
                  0);
        Dev<float> xD(dev, x), lseD(dev, std::vector<float>(size_t(s.rows), -7.0f));
        Dev<int64_t> labelsD(dev, labels), validD(dev, std::vector<int64_t>{-7});
        Dev<double> sumD(dev, std::vector<double>{-7.0});
        ASSERT_EQ(pzrt_cuda_cross_entropy_fwd(&ctx, xD.get(), labelsD.get(), s.rows, s.cols,
                                              ignore, withLse ? lseD.get() : nullptr,
                                              sumD.get(), validD.get()),
                  0)
            << pzrt_last_error();
        EXPECT_EQ(validD.read()[0], validRef);
        // Each row's lse within 5e-6 + 5e-7 |lse| (a log of a row sum, as
        // for log_softmax), and the double sum of the rows' losses.
        double lseAbs = 0;
        for (float l : lseRef)
          lseAbs += std::fabs(l);
        EXPECT_NEAR(sumD.read()[0], sumRef, 5e-6 * double(validRef) + 5e-7 * lseAbs);
        if (withLse) // ignored rows: exactly 0
          kt::expectNear(lseD.read(), lseRef, [&](size_t i) {
            return 5e-6 + 5e-7 * std::fabs(lseRef[i]);
          }, "lse");

        // Backward with the CPU's lse given (the same input on both) or
        // recomputed. dlogits = g * exp(x - lse) (- g at the label): exp's
        // argument errs by an ulp of |x| + |lse| (plus the recomputed lse's
        // 5e-6), and exp(.) - 1 by an ulp of 1.
        const float g = 0.37f;
        std::vector<float> dRef(n);
        ASSERT_EQ(pzrt_cross_entropy_bwd(x.data(), labels.data(), lseRef.data(), s.rows, s.cols,
                                         ignore, g, dRef.data()),
                  0);
        Dev<float> lseIn(dev, lseRef), dD(dev, n);
        ASSERT_EQ(pzrt_cuda_cross_entropy_bwd(&ctx, xD.get(), labelsD.get(),
                                              withLse ? lseIn.get() : nullptr, s.rows, s.cols,
                                              ignore, g, dD.get()),
                  0)
            << pzrt_last_error();
        kt::expectNear(dD.read(), dRef, [&](size_t i) {
          size_t r = i / size_t(s.cols);
          double p = std::exp(double(x[i]) - lseRef[r]);
          return g * (p * (1e-5 + 5e-7 * (std::fabs(x[i]) + std::fabs(lseRef[r]))) + 5e-7);
        }, "dlogits");
      }
}

TEST_F(CudaKernels, CrossEntropyEdgeCases) {
  // No rows: the sums are written as 0.
  Dev<double> sumD(dev, std::vector<double>{-7.0});
  Dev<int64_t> validD(dev, std::vector<int64_t>{-7});
  ASSERT_EQ(pzrt_cuda_cross_entropy_fwd(&ctx, nullptr, nullptr, 0, 10, -100, nullptr,
                                        sumD.get(), validD.get()),
            0)
      << pzrt_last_error();
  EXPECT_EQ(sumD.read()[0], 0.0);
  EXPECT_EQ(validD.read()[0], 0);

  // An all -inf row: NaN loss on both (lse = -inf); ignored, it is skipped.
  const int64_t vocab = 40;
  std::vector<float> x = kt::randn(3 * vocab, 7);
  for (int64_t j = 0; j < vocab; ++j)
    x[size_t(vocab + j)] = x[size_t(2 * vocab + j)] = -kInf;
  for (int64_t label1 : {int64_t(-100), int64_t(5)}) {
    std::vector<int64_t> labels = {3, label1, -100};
    double sumRef = 0;
    int64_t validRef = 0;
    ASSERT_EQ(pzrt_cross_entropy_fwd(x.data(), labels.data(), 3, vocab, -100, nullptr, &sumRef,
                                     &validRef),
              0);
    Dev<float> xD(dev, x);
    Dev<int64_t> labelsD(dev, labels);
    ASSERT_EQ(pzrt_cuda_cross_entropy_fwd(&ctx, xD.get(), labelsD.get(), 3, vocab, -100,
                                          nullptr, sumD.get(), validD.get()),
              0);
    EXPECT_EQ(validD.read()[0], validRef);
    if (std::isnan(sumRef))
      EXPECT_TRUE(std::isnan(sumD.read()[0]));
    else
      EXPECT_NEAR(sumD.read()[0], sumRef, 1e-5 * std::fabs(sumRef));
  }

  // A label outside [0, vocab): an error on the CPU; on the device it is
  // reported in the results, n_valid = -(first bad row + 1) and a NaN loss,
  // and a NaN dlogits row.
  std::vector<int64_t> bad = {3, 2, vocab, -1};
  std::vector<float> x4 = kt::randn(4 * vocab, 8);
  Dev<float> xD(dev, x4), dD(dev, 4 * vocab);
  Dev<int64_t> badD(dev, bad);
  ASSERT_EQ(pzrt_cuda_cross_entropy_fwd(&ctx, xD.get(), badD.get(), 4, vocab, -100, nullptr,
                                        sumD.get(), validD.get()),
            0);
  EXPECT_EQ(validD.read()[0], -3);
  EXPECT_TRUE(std::isnan(sumD.read()[0]));
  ASSERT_EQ(pzrt_cuda_cross_entropy_bwd(&ctx, xD.get(), badD.get(), nullptr, 4, vocab, -100,
                                        1.0f, dD.get()),
            0);
  std::vector<float> d = dD.read();
  EXPECT_FALSE(std::isnan(d[size_t(vocab) + 1]));
  EXPECT_TRUE(std::isnan(d[size_t(2 * vocab) + 1]));
  EXPECT_TRUE(std::isnan(d[size_t(3 * vocab) + 7]));

  // The first bad row when one thread of the sum sees several (rows 4 and
  // 260 of 300 fall to the same one of its 256 threads).
  std::vector<int64_t> many(300, 1);
  many[260] = many[4] = vocab + 1;
  std::vector<float> x300 = kt::randn(300 * vocab, 9);
  Dev<float> x300D(dev, x300);
  Dev<int64_t> manyD(dev, many);
  ASSERT_EQ(pzrt_cuda_cross_entropy_fwd(&ctx, x300D.get(), manyD.get(), 300, vocab, -100,
                                        nullptr, sumD.get(), validD.get()),
            0);
  EXPECT_EQ(validD.read()[0], -5);
}

// The forward without lse takes a stream-ordered scratch; captured in a
// CUDA graph (as the step will be), each replay computes from the labels of
// the moment, as a direct call does.
TEST_F(CudaKernels, CrossEntropyReplaysInACudaGraph) {
  const int64_t rows = 50, vocab = 77;
  std::vector<float> x = kt::randn(size_t(rows * vocab), 12, 0.0f, 3.0f);
  Dev<float> xD(dev, x);
  Dev<int64_t> labelsD(dev, size_t(rows));
  Dev<double> sumD(dev, 1);
  Dev<int64_t> validD(dev, 1);
  cudaStream_t s = static_cast<cudaStream_t>(pzrt_cuda_stream_handle(stream));
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal), cudaSuccess);
  ASSERT_EQ(pzrt_cuda_cross_entropy_fwd(&ctx, xD.get(), labelsD.get(), rows, vocab, -100,
                                        nullptr, sumD.get(), validD.get()),
            0)
      << pzrt_last_error();
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
  cudaGraphExec_t exec = nullptr;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  for (uint32_t seed : {13u, 14u}) { // two replays, each with new labels
    std::vector<int64_t> labels = labelsFor(rows, vocab, -100, seed);
    labelsD.write(labels);
    ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
    double sumRef = 0;
    int64_t validRef = 0;
    ASSERT_EQ(pzrt_cross_entropy_fwd(x.data(), labels.data(), rows, vocab, -100, nullptr,
                                     &sumRef, &validRef),
              0);
    EXPECT_EQ(validD.read()[0], validRef); // read synchronizes the device
    EXPECT_NEAR(sumD.read()[0], sumRef, 1e-5 * double(validRef) + 1e-6 * std::fabs(sumRef));
  }
  EXPECT_EQ(cudaGraphExecDestroy(exec), cudaSuccess);
  EXPECT_EQ(cudaGraphDestroy(graph), cudaSuccess);
}

TEST_F(CudaKernels, ChecksBeforeLaunching) {
  Dev<float> buf(dev, 8);
  EXPECT_EQ(pzrt_cuda_softmax_fwd(&ctx, buf.get(), buf.get(), -1, 4), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("cuda_softmax_fwd: bad shape rows=-1"),
            std::string::npos)
      << pzrt_last_error();
  EXPECT_EQ(pzrt_cuda_cross_entropy_fwd(&ctx, buf.get(), nullptr, 2, 0, -100, nullptr, nullptr,
                                        nullptr),
            -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("cuda_cross_entropy_fwd: bad shape"),
            std::string::npos)
      << pzrt_last_error();
  // A context without a CUDA compute stream.
  pzrt_step_ctx none = ctx;
  none.num_streams = 0;
  none.streams = nullptr;
  EXPECT_EQ(pzrt_cuda_log_softmax_bwd(&none, buf.get(), buf.get(), buf.get(), 2, 4), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("cuda_log_softmax_bwd: "), std::string::npos)
      << pzrt_last_error();
}

} // namespace
