// The device-scalar forms of the optimizer and loss kernels (the learning
// rate, the step and the loss gradient's scale read on the device, which
// compiled programs call so that CUDA graphs can capture them) against the
// CPU kernels, bit for bit: under the emulator the device's double pow is
// glibc's, as the CPU's. On a GPU (built by nvcc) AdamW's parameters are
// compared within the bound of pzrt/cuda_kernels.h instead (paramsMatch).
// Then the
// same calls captured once in a CUDA graph and replayed with new scalars
// written between the replays, as the driver does; and the check word.
#include "cuda/kernel_test_util.h"

#include "core/device.h"

#include <cuda_runtime_api.h>

namespace {

using kt::CudaKernels;
using kt::Dev;

constexpr size_t kN = 1003; // not a multiple of the 256-thread block

struct Hyper {
  double lr, b1, b2, eps, wd;
};

// AdamW's parameters after `steps` device-scalar updates. Emulated: the
// CPU's bits. On a GPU, CUDA's double pow (2 ulp) may round a step's
// scalars to the neighbouring float: a relative 2^-24 on the step size and
// the bias correction, which moves an update of a few 1e-3 by ~1e-10, and
// may flip the parameter's last rounding: 2^-23 |p| per step, plus 1e-9.
void paramsMatch(const std::vector<float> &got, const std::vector<float> &ref, int steps) {
#ifdef PZ_CUDA_EMULATE
  (void)steps;
  kt::expectBitEqual(got, ref, "param");
#else
  kt::expectNear(
      got, ref,
      [&](size_t i) { return steps * (std::ldexp(std::fabs(double(ref[i])), -23) + 1e-9); },
      "param");
#endif
}

TEST_F(CudaKernels, AdamWDeviceScalarsAreTheCpusBitForBit) {
  for (Hyper h : {Hyper{1e-3, 0.9, 0.999, 1e-8, 0.01}, Hyper{0.1, 0.5, 0.9, 1e-3, 0.0}}) {
    SCOPED_TRACE(testing::Message() << "lr " << h.lr << " wd " << h.wd);
    std::vector<float> p = kt::randn(kN, 71), m(kN, 0.0f), v(kN, 0.0f);
    Dev<float> pD(dev, p), gD(dev, kN), mD(dev, m), vD(dev, v), lrD(dev, 1);
    Dev<int64_t> stepD(dev, 1);
    for (int64_t step = 1; step <= 3; ++step) {
      // The driver writes the learning rate as a float slot: the CPU gets
      // the same float, widened.
      const float lr = static_cast<float>(h.lr * (1.0 + 0.1 * double(step)));
      std::vector<float> g = kt::randn(kN, 72 + uint32_t(step));
      gD.write(g);
      lrD.write({lr});
      stepD.write({step});
      ASSERT_EQ(pzrt_adamw_step(p.data(), g.data(), m.data(), v.data(), int64_t(kN), double(lr),
                                h.b1, h.b2, h.eps, h.wd, step),
                0);
      ASSERT_EQ(pzrt_cuda_adamw_step_dev(&ctx, pD.get(), gD.get(), mD.get(), vD.get(),
                                         int64_t(kN), lrD.get(), stepD.get(), h.b1, h.b2, h.eps,
                                         h.wd, nullptr, 0),
                0)
          << pzrt_last_error();
    }
    paramsMatch(pD.read(), p, 3);
    kt::expectBitEqual(mD.read(), m, "exp_avg"); // no device-computed scalar in m, v
    kt::expectBitEqual(vD.read(), v, "exp_avg_sq");
  }
}

TEST_F(CudaKernels, SgdDeviceScalarsAreTheCpusBitForBit) {
  std::vector<float> p = kt::randn(kN, 81), buf(kN, 0.0f);
  Dev<float> pD(dev, p), gD(dev, kN), bufD(dev, buf), lrD(dev, 1);
  for (int64_t step = 1; step <= 3; ++step) {
    const float lr = 0.05f * float(step);
    std::vector<float> g = kt::randn(kN, 82 + uint32_t(step));
    gD.write(g);
    lrD.write({lr});
    ASSERT_EQ(pzrt_sgd_step(p.data(), g.data(), buf.data(), int64_t(kN), double(lr), 0.9, 0.1,
                            0.01, 0, step),
              0);
    ASSERT_EQ(pzrt_cuda_sgd_step_dev(&ctx, pD.get(), gD.get(), bufD.get(), int64_t(kN),
                                     lrD.get(), 0.9, 0.1, 0.01, 0, step),
              0)
        << pzrt_last_error();
  }
  kt::expectBitEqual(pD.read(), p, "param");
  kt::expectBitEqual(bufD.read(), buf, "momentum_buffer");
}

TEST_F(CudaKernels, CrossEntropyBwdDeviceScaleIsTheHostFormsBitForBit) {
  const int64_t rows = 6, vocab = 37;
  std::vector<float> x = kt::randn(size_t(rows * vocab), 91);
  std::vector<int64_t> labels = {3, -100, 0, 36, 5, 5};
  const double scale = 1.0 / 5.0 * 0.75; // the loss gradient over 5 valid rows
  Dev<float> xD(dev, x), ref(dev, size_t(rows * vocab)), got(dev, size_t(rows * vocab));
  Dev<int64_t> labelsD(dev, labels);
  Dev<double> scaleD(dev, std::vector<double>{scale});
  ASSERT_EQ(pzrt_cuda_cross_entropy_bwd(&ctx, xD.get(), labelsD.get(), nullptr, rows, vocab, -100,
                                        static_cast<float>(scale), ref.get()),
            0)
      << pzrt_last_error();
  ASSERT_EQ(pzrt_cuda_cross_entropy_bwd_dev(&ctx, xD.get(), labelsD.get(), nullptr, rows, vocab,
                                            -100, scaleD.get(), got.get()),
            0)
      << pzrt_last_error();
  kt::expectBitEqual(got.read(), ref.read(), "dlogits");
}

// Captured once, replayed for steps 2 and 3 with the scalars written between
// the replays (outside the graph): the CPU's updates bit for bit.
TEST_F(CudaKernels, AdamWGraphReplaysWithNewScalars) {
  const pzrt::DeviceOps *ops = dev->ops;
  ASSERT_TRUE(ops && ops->captureBegin && ops->captureEnd && ops->graphLaunch);
  const Hyper h{1e-3, 0.9, 0.999, 1e-8, 0.01};
  std::vector<float> p = kt::randn(kN, 61), m(kN, 0.0f), v(kN, 0.0f);
  Dev<float> pD(dev, p), gD(dev, kN), mD(dev, m), vD(dev, v), lrD(dev, 1);
  Dev<int64_t> stepD(dev, 1);
  void *graph = nullptr;
  for (int64_t step = 1; step <= 3; ++step) {
    const float lr = static_cast<float>(h.lr * double(step));
    std::vector<float> g = kt::randn(kN, 62 + uint32_t(step));
    gD.write(g);
    lrD.write({lr});
    stepD.write({step});
    ASSERT_EQ(pzrt_adamw_step(p.data(), g.data(), m.data(), v.data(), int64_t(kN), double(lr),
                              h.b1, h.b2, h.eps, h.wd, step),
              0);
    if (step == 1) {
      ASSERT_EQ(ops->captureBegin(stream), 0) << pzrt_last_error();
      ASSERT_EQ(pzrt_cuda_adamw_step_dev(&ctx, pD.get(), gD.get(), mD.get(), vD.get(),
                                         int64_t(kN), lrD.get(), stepD.get(), h.b1, h.b2, h.eps,
                                         h.wd, nullptr, 0),
                0)
          << pzrt_last_error();
      int ran = -1;
      ASSERT_EQ(ops->captureEnd(stream, &graph, &ran), 0) << pzrt_last_error();
      ASSERT_NE(graph, nullptr);
      EXPECT_EQ(ran, 0);
      // Captured, not run: the parameters are unchanged until the launch.
      kt::expectBitEqual(mD.read(), std::vector<float>(kN, 0.0f), "exp_avg before the launch");
    }
    ASSERT_EQ(ops->graphLaunch(stream, graph), 0) << pzrt_last_error();
  }
  paramsMatch(pD.read(), p, 3);
  kt::expectBitEqual(vD.read(), v, "exp_avg_sq");
  ops->graphDestroy(graph);
}

// A host read inside a capture ends it early: what was captured runs before
// the read, the rest runs eagerly, no graph results, and the values are
// those of an uncaptured run.
TEST_F(CudaKernels, HostReadEndsACaptureAndKeepsTheResult) {
  const pzrt::DeviceOps *ops = dev->ops;
  std::vector<float> p = kt::randn(kN, 51), g = kt::randn(kN, 52), buf(kN, 0.0f);
  Dev<float> pD(dev, p), gD(dev, g), bufD(dev, buf), lrD(dev, std::vector<float>{0.5f});
  ASSERT_EQ(pzrt_sgd_step(p.data(), g.data(), buf.data(), int64_t(kN), 0.5, 0.0, 0.0, 0.0, 0, 1),
            0);
  ASSERT_EQ(ops->captureBegin(stream), 0) << pzrt_last_error();
  ASSERT_EQ(pzrt_cuda_sgd_step_dev(&ctx, pD.get(), gD.get(), nullptr, int64_t(kN), lrD.get(),
                                   0.0, 0.0, 0.0, 0, 1),
            0);
  std::vector<float> mid = pD.read(); // a host read: ends the capture
  kt::expectBitEqual(mid, p, "param read inside the capture");
  ASSERT_EQ(pzrt_cuda_sgd_step_dev(&ctx, pD.get(), gD.get(), nullptr, int64_t(kN), lrD.get(),
                                   0.0, 0.0, 0.0, 0, 1),
            0);
  ASSERT_EQ(pzrt_sgd_step(p.data(), g.data(), buf.data(), int64_t(kN), 0.5, 0.0, 0.0, 0.0, 0, 1),
            0);
  void *graph = reinterpret_cast<void *>(1);
  int ran = 0;
  ASSERT_EQ(ops->captureEnd(stream, &graph, &ran), 0) << pzrt_last_error();
  EXPECT_EQ(graph, nullptr);
  EXPECT_EQ(ran, 1);
  kt::expectBitEqual(pD.read(), p, "param after the eager rest");
}

// A CUDA call that the runtime did not see coming (here a synchronization of
// the capturing stream behind its back) invalidates the capture: no graph,
// and nothing of the captured work ran, so the caller can run it again.
TEST_F(CudaKernels, InvalidatedCaptureReportsThatNothingRan) {
  const pzrt::DeviceOps *ops = dev->ops;
  std::vector<float> p = kt::randn(kN, 31), g = kt::randn(kN, 32);
  Dev<float> pD(dev, p), gD(dev, g), lrD(dev, std::vector<float>{0.5f});
  ASSERT_EQ(ops->captureBegin(stream), 0) << pzrt_last_error();
  ASSERT_EQ(pzrt_cuda_sgd_step_dev(&ctx, pD.get(), gD.get(), nullptr, int64_t(kN), lrD.get(),
                                   0.0, 0.0, 0.0, 0, 1),
            0);
  EXPECT_NE(cudaStreamSynchronize(static_cast<cudaStream_t>(pzrt_cuda_compute_stream(&ctx))),
            cudaSuccess);
  void *graph = reinterpret_cast<void *>(1);
  int ran = 1;
  ASSERT_EQ(ops->captureEnd(stream, &graph, &ran), 0) << pzrt_last_error();
  EXPECT_EQ(graph, nullptr);
  EXPECT_EQ(ran, 0);
  kt::expectBitEqual(pD.read(), p, "param untouched");

  // The same invalidation seen by a host entry point first: it fails (the
  // compiled function fails with it), and abandoning the capture reports
  // that nothing ran, so the driver runs the call again eagerly.
  ASSERT_EQ(ops->captureBegin(stream), 0) << pzrt_last_error();
  ASSERT_EQ(pzrt_cuda_sgd_step_dev(&ctx, pD.get(), gD.get(), nullptr, int64_t(kN), lrD.get(),
                                   0.0, 0.0, 0.0, 0, 1),
            0);
  EXPECT_NE(cudaStreamSynchronize(static_cast<cudaStream_t>(pzrt_cuda_compute_stream(&ctx))),
            cudaSuccess);
  float one = 0;
  EXPECT_EQ(pzrt_device_read(dev, &one, pD.get(), sizeof one), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("capture in progress was invalid"),
            std::string::npos)
      << pzrt_last_error();
  EXPECT_EQ(ops->captureAbandon(stream), 0);
  kt::expectBitEqual(pD.read(), p, "param untouched after the failed read");
}

// Dropout with the step word: captured at step 5, replayed for steps 6 and
// 7 after pzrt_step_publish, the host form's masks at each step bit for bit
// (the step changes the mask: the replays would fail with a frozen step).
TEST_F(CudaKernels, DropoutStepWordReplaysWithThePublishedStep) {
  const pzrt::DeviceOps *ops = dev->ops;
  const int64_t n = 1001;
  const float p = 0.3f;
  const uint64_t seed = 0x1234567890ull, offset = 3;
  std::vector<float> x = kt::randn(size_t(n), 21);
  Dev<float> xD(dev, x), yD(dev, size_t(n)), refD(dev, size_t(n));
  Dev<uint8_t> maskD(dev, size_t(n)), maskRefD(dev, size_t(n));
  ctx.step = 5;
  const int64_t *word = pzrt_cuda_step_word(&ctx);
  ASSERT_NE(word, nullptr) << pzrt_last_error();
  void *graph = nullptr;
  std::vector<float> first;
  for (int64_t step = 5; step <= 7; ++step) {
    ctx.step = step;
    ASSERT_EQ(pzrt_step_publish(&ctx), 0) << pzrt_last_error();
    if (step == 5) {
      ASSERT_EQ(ops->captureBegin(stream), 0) << pzrt_last_error();
      ASSERT_EQ(pzrt_cuda_dropout_fwd_dev(&ctx, xD.get(), yD.get(), maskD.get(), n, p, seed, word,
                                          offset),
                0)
          << pzrt_last_error();
      int ran = -1;
      ASSERT_EQ(ops->captureEnd(stream, &graph, &ran), 0) << pzrt_last_error();
      ASSERT_NE(graph, nullptr);
    }
    ASSERT_EQ(ops->graphLaunch(stream, graph), 0) << pzrt_last_error();
    ASSERT_EQ(pzrt_cuda_dropout_fwd(&ctx, xD.get(), refD.get(), maskRefD.get(), n, p, seed,
                                    uint64_t(step), offset),
              0);
    std::vector<float> y = yD.read();
    kt::expectBitEqual(y, refD.read(), "dropout y at step " + std::to_string(step));
    EXPECT_EQ(maskD.read(), maskRefD.read()) << "mask at step " << step;
    if (step == 5)
      first = y;
    else
      EXPECT_NE(y, first) << "step " << step << " drew step 5's mask";
  }
  ops->graphDestroy(graph);
}

// A bad step (the host form refuses it) leaves the tensors and records its
// check; pzrt_device_check reports the registered message once.
TEST_F(CudaKernels, AdamWBadDeviceStepRecordsItsCheck) {
  int id = 0;
  int *word = pzrt_cuda_check_word(&ctx, "adamw test: the step must count from 1", &id);
  ASSERT_NE(word, nullptr) << pzrt_last_error();
  ASSERT_GT(id, 0);
  ASSERT_EQ(pzrt_device_check(dev), 0) << pzrt_last_error();
  std::vector<float> p = kt::randn(4, 41);
  Dev<float> pD(dev, p), gD(dev, p), mD(dev, p), vD(dev, p), lrD(dev, std::vector<float>{1e-3f});
  Dev<int64_t> stepD(dev, std::vector<int64_t>{0});
  ASSERT_EQ(pzrt_cuda_adamw_step_dev(&ctx, pD.get(), gD.get(), mD.get(), vD.get(), 4, lrD.get(),
                                     stepD.get(), 0.9, 0.999, 1e-8, 0.0, word, id),
            0);
  EXPECT_EQ(pzrt_device_check(dev), -1);
  EXPECT_EQ(std::string(pzrt_last_error()), "adamw test: the step must count from 1");
  kt::expectBitEqual(pD.read(), p, "param");
  EXPECT_EQ(pzrt_device_check(dev), 0) << "the word is reset after a report";
}

} // namespace
