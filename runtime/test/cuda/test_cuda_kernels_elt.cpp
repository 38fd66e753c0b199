// The runtime's elementwise CUDA kernels against the CPU kernels on the same
// inputs: dtype conversions, dropout and the optimizers bit for bit (the same
// integer code, the same Philox stream, the same single-rounding fp32
// operations in the same order); GELU within the error of fp32 erff/tanhf/expf
// against the CPU's double.
#include "cuda/kernel_test_util.h"

#include "pzrt/types.h"

namespace {

using kt::CudaKernels;
using kt::Dev;

// n not a multiple of the 256-thread block.
constexpr size_t kN = 1003;

TEST_F(CudaKernels, WidenMatchesCpuOnEveryPattern) {
  std::vector<uint16_t> all(65536);
  for (size_t i = 0; i < all.size(); ++i)
    all[i] = uint16_t(i);
  Dev<uint16_t> src(dev, all);
  for (pzrt_dtype dt : {PZRT_BF16, PZRT_F16}) {
    std::vector<float> ref(all.size());
    ASSERT_EQ(pzrt_widen_to_f32(dt, all.data(), ref.data(), int64_t(all.size())), 0);
    Dev<float> dst(dev, all.size());
    ASSERT_EQ(pzrt_cuda_widen_to_f32(&ctx, dt, src.get(), dst.get(), int64_t(all.size())), 0)
        << pzrt_last_error();
    kt::expectBitEqual(dst.read(), ref, pzrt_dtype_name(dt));
  }
}

TEST_F(CudaKernels, NarrowMatchesCpuBitForBit) {
  // Random bit patterns (NaNs with payloads, infinities, subnormals), the
  // ties of both formats (low bits exactly half an ulp, either parity), and
  // the f16 overflow and underflow edges.
  std::mt19937 gen(41);
  std::vector<float> x;
  auto fromBits = [](uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  };
  for (int i = 0; i < 20000; ++i)
    x.push_back(fromBits(gen()));
  for (int i = 0; i < 2000; ++i) {
    uint32_t u = gen();
    // A bf16 tie; an f16 tie at exponents from f16's subnormals to its overflow.
    x.push_back(fromBits((u & 0xffff0000u) | 0x8000u));
    x.push_back(fromBits((u & 0x80000000u) | (0x38000000u + (u & 0x0fffe000u)) | 0x1000u));
  }
  for (float v : {65504.0f, 65519.99f, 65520.0f, 5.96e-8f, 2.98e-8f, 2.99e-8f, 6.1e-5f, -0.0f})
    x.push_back(v), x.push_back(-v);
  Dev<float> src(dev, x);
  for (pzrt_dtype dt : {PZRT_BF16, PZRT_F16}) {
    std::vector<uint16_t> ref(x.size());
    ASSERT_EQ(pzrt_narrow_from_f32(dt, x.data(), ref.data(), int64_t(x.size())), 0);
    Dev<uint16_t> dst(dev, x.size());
    ASSERT_EQ(pzrt_cuda_narrow_from_f32(&ctx, dt, src.get(), dst.get(), int64_t(x.size())), 0)
        << pzrt_last_error();
    std::vector<uint16_t> got = dst.read();
    int misses = 0;
    for (size_t i = 0; i < x.size(); ++i)
      if (got[i] != ref[i] && ++misses <= 5)
        ADD_FAILURE() << pzrt_dtype_name(dt) << " of " << x[i] << ": got " << got[i] << ", CPU "
                      << ref[i];
    EXPECT_EQ(misses, 0);
  }
  EXPECT_EQ(pzrt_cuda_narrow_from_f32(&ctx, PZRT_F32, src.get(), src.get(), 4), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("cuda_narrow_from_f32: expected a bf16 or f16"),
            std::string::npos)
      << pzrt_last_error();
}

TEST_F(CudaKernels, GeluMatchesCpu) {
  std::vector<float> x = kt::uniform(kN, 51, -8.0f, 8.0f), dy = kt::randn(kN, 52);
  const float specials[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 10.0f, -10.0f, 3.0f, -3.0f};
  for (size_t i = 0; i < sizeof specials / sizeof *specials; ++i)
    x[i] = specials[i];
  Dev<float> xD(dev, x), dyD(dev, dy), yD(dev, kN), dxD(dev, kN);
  for (int approximate : {0, 1}) {
    SCOPED_TRACE(approximate ? "tanh form" : "erf form");
    std::vector<float> yRef(kN), dxRef(kN);
    pzrt_gelu_fwd(x.data(), yRef.data(), int64_t(kN), approximate);
    pzrt_gelu_bwd(x.data(), dy.data(), dxRef.data(), int64_t(kN), approximate);
    ASSERT_EQ(pzrt_cuda_gelu_fwd(&ctx, xD.get(), yD.get(), int64_t(kN), approximate), 0)
        << pzrt_last_error();
    ASSERT_EQ(pzrt_cuda_gelu_bwd(&ctx, xD.get(), dyD.get(), dxD.get(), int64_t(kN), approximate),
              0)
        << pzrt_last_error();
    // y = x/2 * (1 + erf or tanh): the 2-ulp error of erff/tanhf near +-1 is
    // 2.4e-7 absolute in 1 + (.), so 1.2e-7 |x|; the products add ulps of |y|.
    kt::expectNear(yD.read(), yRef, [&](size_t i) {
      return 1e-6 * std::fabs(x[i]) + 5e-7 * std::fabs(yRef[i]);
    }, "gelu y");
    // d = (1 + erf)/2 + x phi(x), or the tanh form's (1 + t)/2 + x/2 (1 - t^2)
    // c (1 + 3k x^2): 1 - t^2 errs by 2.4e-7 absolute, times x/2 c (1 + 0.134
    // x^2) <= 5 |x| (1 + 0.2 x^2) of that.
    kt::expectNear(dxD.read(), dxRef, [&](size_t i) {
      double a = std::fabs(x[i]);
      return 2e-6 * std::fabs(dy[i]) * (1.0 + a * (1.0 + 0.2 * a * a));
    }, "gelu dx");
  }
}

TEST_F(CudaKernels, DropoutMasksAreTheCpusBitForBit) {
  std::vector<float> x = kt::randn(kN, 61);
  Dev<float> xD(dev, x), yD(dev, kN), dxD(dev, kN);
  Dev<uint8_t> maskD(dev, kN);
  struct Case {
    int64_t n;
    uint64_t offset;
  };
  // Element counts and offsets that start and end inside a Philox block of
  // four, a large offset (its high counter word), and one element.
  const Case cases[] = {{int64_t(kN), 0}, {1000, 1}, {998, 2}, {1, 3}, {7, 5},
                        {int64_t(kN), (uint64_t(1) << 40) + 3}};
  for (Case c : cases)
    for (float p : {0.0f, 0.1f, 0.5f, 1.0f}) {
      SCOPED_TRACE(testing::Message() << "n " << c.n << " offset " << c.offset << " p " << p);
      const uint64_t seed = 0x123456789abcdefULL, step = (uint64_t(1) << 33) + 7;
      const size_t n = size_t(c.n);
      std::vector<float> xs(x.begin(), x.begin() + c.n), yRef(n), dxRef(n);
      std::vector<uint8_t> maskRef(n);
      ASSERT_EQ(pzrt_dropout_fwd(xs.data(), yRef.data(), maskRef.data(), c.n, p, seed, step,
                                 c.offset),
                0);
      ASSERT_EQ(pzrt_dropout_bwd(xs.data(), dxRef.data(), c.n, p, seed, step, c.offset), 0);
      ASSERT_EQ(pzrt_cuda_dropout_fwd(&ctx, xD.get(), yD.get(), maskD.get(), c.n, p, seed, step,
                                      c.offset),
                0)
          << pzrt_last_error();
      std::vector<float> y = yD.read();
      std::vector<uint8_t> mask = maskD.read();
      kt::expectBitEqual(std::vector<float>(y.begin(), y.begin() + c.n), yRef, "dropout y");
      EXPECT_EQ(std::vector<uint8_t>(mask.begin(), mask.begin() + c.n), maskRef);
      // Without a mask, and the backward (x as dy).
      ASSERT_EQ(pzrt_cuda_dropout_fwd(&ctx, xD.get(), yD.get(), nullptr, c.n, p, seed, step,
                                      c.offset),
                0);
      y = yD.read();
      kt::expectBitEqual(std::vector<float>(y.begin(), y.begin() + c.n), yRef, "no mask y");
      ASSERT_EQ(pzrt_cuda_dropout_bwd(&ctx, xD.get(), dxD.get(), c.n, p, seed, step, c.offset),
                0);
      std::vector<float> dx = dxD.read();
      kt::expectBitEqual(std::vector<float>(dx.begin(), dx.begin() + c.n), dxRef, "dropout dx");
    }
  EXPECT_EQ(pzrt_cuda_dropout_fwd(&ctx, xD.get(), yD.get(), nullptr, 4, 1.5f, 0, 0, 0), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("cuda_dropout_fwd: probability 1.5"),
            std::string::npos)
      << pzrt_last_error();
}

TEST_F(CudaKernels, AdamWIsTheCpusBitForBit) {
  struct Hyper {
    double lr, b1, b2, eps, wd;
  };
  for (Hyper h : {Hyper{1e-3, 0.9, 0.999, 1e-8, 0.01}, Hyper{0.1, 0.5, 0.9, 1e-3, 0.0}}) {
    SCOPED_TRACE(testing::Message() << "lr " << h.lr << " wd " << h.wd);
    std::vector<float> p = kt::randn(kN, 71), m(kN, 0.0f), v(kN, 0.0f);
    Dev<float> pD(dev, p), gD(dev, kN), mD(dev, m), vD(dev, v);
    for (int64_t step = 1; step <= 3; ++step) {
      std::vector<float> g = kt::randn(kN, 72 + uint32_t(step));
      gD.write(g);
      ASSERT_EQ(pzrt_adamw_step(p.data(), g.data(), m.data(), v.data(), int64_t(kN), h.lr, h.b1,
                                h.b2, h.eps, h.wd, step),
                0);
      ASSERT_EQ(pzrt_cuda_adamw_step(&ctx, pD.get(), gD.get(), mD.get(), vD.get(), int64_t(kN),
                                     h.lr, h.b1, h.b2, h.eps, h.wd, step),
                0)
          << pzrt_last_error();
    }
    kt::expectBitEqual(pD.read(), p, "param");
    kt::expectBitEqual(mD.read(), m, "exp_avg");
    kt::expectBitEqual(vD.read(), v, "exp_avg_sq");
  }
  Dev<float> b(dev, 4);
  EXPECT_EQ(pzrt_cuda_adamw_step(&ctx, b.get(), b.get(), b.get(), b.get(), 4, 1e-3, 0.9, 0.999,
                                 1e-8, 0.0, 0),
            -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("cuda_adamw_step: step 0 must count from 1"),
            std::string::npos)
      << pzrt_last_error();
}

TEST_F(CudaKernels, SgdIsTheCpusBitForBit) {
  struct Hyper {
    double lr, momentum, dampening, wd;
    int nesterov;
  };
  for (Hyper h : {Hyper{0.1, 0.0, 0.0, 0.0, 0}, Hyper{0.05, 0.9, 0.1, 0.01, 0},
                  Hyper{0.05, 0.9, 0.0, 1e-4, 1}}) {
    SCOPED_TRACE(testing::Message() << "momentum " << h.momentum << " nesterov " << h.nesterov);
    std::vector<float> p = kt::randn(kN, 81), buf(kN, 0.0f);
    Dev<float> pD(dev, p), gD(dev, kN), bufD(dev, buf);
    float *bufCpu = h.momentum != 0 ? buf.data() : nullptr;
    float *bufGpu = h.momentum != 0 ? bufD.get() : nullptr;
    for (int64_t step = 1; step <= 3; ++step) {
      std::vector<float> g = kt::randn(kN, 82 + uint32_t(step));
      gD.write(g);
      ASSERT_EQ(pzrt_sgd_step(p.data(), g.data(), bufCpu, int64_t(kN), h.lr, h.momentum,
                              h.dampening, h.wd, h.nesterov, step),
                0);
      ASSERT_EQ(pzrt_cuda_sgd_step(&ctx, pD.get(), gD.get(), bufGpu, int64_t(kN), h.lr,
                                   h.momentum, h.dampening, h.wd, h.nesterov, step),
                0)
          << pzrt_last_error();
    }
    kt::expectBitEqual(pD.read(), p, "param");
    kt::expectBitEqual(bufD.read(), buf, "momentum_buffer");
  }
  Dev<float> b(dev, 4);
  EXPECT_EQ(pzrt_cuda_sgd_step(&ctx, b.get(), b.get(), nullptr, 4, 0.1, 0.9, 0.0, 0.0, 0, 1), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("cuda_sgd_step: momentum 0.9 needs a momentum"),
            std::string::npos)
      << pzrt_last_error();
}

} // namespace
