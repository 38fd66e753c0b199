// The multi-tensor AdamW (pzrt_cuda_adamw_multi_dev) against the per-tensor
// device-scalar form, bit for bit: the same per-element code and scalars,
// only the launch layout differs. (The per-tensor form is checked against
// the CPU kernel in test_cuda_kernels_dev.cpp.) Small chunks
// (adamwMultiChunked) split tensors into many blocks, so that one table
// fills up mid-tensor and more tensors than one launch holds are updated.
#include "cuda/kernel_test_util.h"
#include "cuda/optim_multi.h"

#include "core/device.h"

#include <cstring>
#include <memory>

namespace {

using kt::CudaKernels;
using kt::Dev;
using pzrt::cudak::kAdamWMultiBlocks;
using pzrt::cudak::kAdamWMultiTensors;

// One tensor's parameter and moments on the device.
struct State {
  std::unique_ptr<Dev<float>> p, m, v;
};

State makeState(pzrt_device *dev, size_t n, uint32_t seed) {
  State s;
  s.p = std::make_unique<Dev<float>>(dev, kt::randn(n, seed));
  // Non-zero moments, as after earlier steps (v >= 0).
  s.m = std::make_unique<Dev<float>>(dev, kt::randn(n, seed + 1, 0.0f, 0.01f));
  s.v = std::make_unique<Dev<float>>(dev, kt::uniform(n, seed + 2, 0.0f, 1e-4f));
  return s;
}

void expectSameBits(const Dev<float> &got, const Dev<float> &ref, const std::string &what) {
  std::vector<float> a = got.read(), b = ref.read();
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << what;
  kt::expectBitEqual(a, b, what); // names the first differing elements
}

// `sizes` updated for `steps` steps by the per-tensor form and by the
// multi form with chunks of `chunk` elements (0: the public entry point).
void compareForms(pzrt_device *dev, pzrt_step_ctx *ctx, const std::vector<size_t> &sizes,
                  int64_t chunk, int steps) {
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.01;
  std::vector<State> ref, got;
  for (size_t i = 0; i < sizes.size(); ++i) {
    ref.push_back(makeState(dev, sizes[i], 100 + 3 * uint32_t(i)));
    got.push_back(makeState(dev, sizes[i], 100 + 3 * uint32_t(i)));
  }
  Dev<float> lrD(dev, 1);
  Dev<int64_t> stepD(dev, 1);
  for (int64_t step = 1; step <= steps; ++step) {
    lrD.write({1e-3f * float(step)});
    stepD.write({step});
    std::vector<std::unique_ptr<Dev<float>>> grads;
    std::vector<float *> p, m, v;
    std::vector<const float *> g;
    std::vector<int64_t> n;
    for (size_t i = 0; i < sizes.size(); ++i) {
      grads.push_back(std::make_unique<Dev<float>>(
          dev, kt::randn(sizes[i], 7000 + 131 * uint32_t(step) + uint32_t(i))));
      ASSERT_EQ(pzrt_cuda_adamw_step_dev(ctx, ref[i].p->get(), grads[i]->get(), ref[i].m->get(),
                                         ref[i].v->get(), int64_t(sizes[i]), lrD.get(),
                                         stepD.get(), b1, b2, eps, wd, nullptr, 0),
                0)
          << pzrt_last_error();
      p.push_back(got[i].p->get());
      g.push_back(grads[i]->get());
      m.push_back(got[i].m->get());
      v.push_back(got[i].v->get());
      n.push_back(int64_t(sizes[i]));
    }
    const int count = int(sizes.size());
    int rc = chunk ? pzrt::cudak::adamwMultiChunked(ctx, count, p.data(), g.data(), m.data(),
                                                    v.data(), n.data(), lrD.get(), stepD.get(),
                                                    b1, b2, eps, wd, nullptr, 0, chunk)
                   : pzrt_cuda_adamw_multi_dev(ctx, count, p.data(), g.data(), m.data(),
                                               v.data(), n.data(), lrD.get(), stepD.get(), b1,
                                               b2, eps, wd, nullptr, 0);
    ASSERT_EQ(rc, 0) << pzrt_last_error();
    // The gradients are read before they are freed (read waits for the device).
    for (size_t i = 0; i < sizes.size(); ++i) {
      SCOPED_TRACE(testing::Message() << "step " << step << " tensor " << i << " of "
                                      << sizes[i] << " elements");
      expectSameBits(*got[i].p, *ref[i].p, "param");
      expectSameBits(*got[i].m, *ref[i].m, "exp_avg");
      expectSameBits(*got[i].v, *ref[i].v, "exp_avg_sq");
    }
  }
}

TEST_F(CudaKernels, AdamWMultiIsThePerTensorFormBitForBit) {
  // Chunks of 100: sizes around chunk multiples, empty and single-element
  // tensors, more tensors than one launch holds, and one tensor with more
  // chunks than a launch has blocks (the table fills up mid-tensor).
  const int64_t chunk = 100;
  std::vector<size_t> sizes;
  const size_t cycle[] = {0, 1, 99, 100, 101, 257, 3, 1003};
  for (int i = 0; i < kAdamWMultiTensors + 13; ++i)
    sizes.push_back(cycle[i % 8]);
  sizes.insert(sizes.begin() + 20, size_t(kAdamWMultiBlocks * chunk + 37));
  compareForms(dev, &ctx, sizes, chunk, 3);
}

TEST_F(CudaKernels, AdamWMultiDefaultChunksMatchThePerTensorForm) {
  const auto c = size_t(pzrt::cudak::kAdamWChunk);
  compareForms(dev, &ctx, {0, 1, c - 1, c + 1, 3000}, 0, 2);
}

// A bad step or a NaN lr leaves every tensor unchanged and records the check.
TEST_F(CudaKernels, AdamWMultiBadScalarsRecordTheCheck) {
  int id = 0;
  int *word = pzrt_cuda_check_word(&ctx, "adamw multi test: bad step or lr", &id);
  ASSERT_NE(word, nullptr) << pzrt_last_error();
  ASSERT_EQ(pzrt_device_check(dev), 0) << pzrt_last_error();
  const std::vector<size_t> sizes = {5, 0, 300};
  for (auto [lr, step] : {std::pair<float, int64_t>{1e-3f, 0}, {NAN, 1}, {-1.0f, 2}}) {
    SCOPED_TRACE(testing::Message() << "lr " << lr << " step " << step);
    std::vector<std::vector<float>> host;
    std::vector<State> st;
    std::vector<float *> p, m, v;
    std::vector<const float *> g;
    std::vector<int64_t> n;
    for (size_t i = 0; i < sizes.size(); ++i) {
      st.push_back(makeState(dev, sizes[i], 50 + uint32_t(i)));
      host.push_back(st[i].p->read());
      p.push_back(st[i].p->get());
      g.push_back(st[i].m->get()); // any finite gradient
      m.push_back(st[i].m->get());
      v.push_back(st[i].v->get());
      n.push_back(int64_t(sizes[i]));
    }
    Dev<float> lrD(dev, std::vector<float>{lr});
    Dev<int64_t> stepD(dev, std::vector<int64_t>{step});
    ASSERT_EQ(pzrt::cudak::adamwMultiChunked(&ctx, 3, p.data(), g.data(), m.data(), v.data(),
                                             n.data(), lrD.get(), stepD.get(), 0.9, 0.999, 1e-8,
                                             0.0, word, id, 64),
              0)
        << pzrt_last_error();
    EXPECT_EQ(pzrt_device_check(dev), -1);
    EXPECT_EQ(std::string(pzrt_last_error()), "adamw multi test: bad step or lr");
    for (size_t i = 0; i < sizes.size(); ++i)
      kt::expectBitEqual(st[i].p->read(), host[i], "param " + std::to_string(i));
    EXPECT_EQ(pzrt_device_check(dev), 0) << "the word is reset after a report";
  }
}

TEST_F(CudaKernels, AdamWMultiChecksItsArguments) {
  Dev<float> x(dev, 4), lrD(dev, 1);
  Dev<int64_t> stepD(dev, 1);
  float *p[1] = {x.get()};
  const float *g[1] = {x.get()};
  int64_t n[1] = {4}, negative[1] = {-1};
  float *none[1] = {nullptr};
  auto call = [&](int count, float *const *pp, const int64_t *nn, const float *lr) {
    return pzrt_cuda_adamw_multi_dev(&ctx, count, pp, g, p, p, nn, lr, stepD.get(), 0.9, 0.999,
                                     1e-8, 0.0, nullptr, 0);
  };
  auto expectFail = [](int rc, const char *what) {
    EXPECT_EQ(rc, -1);
    EXPECT_NE(std::string(pzrt_last_error()).find(what), std::string::npos) << pzrt_last_error();
  };
  expectFail(call(-1, p, n, lrD.get()), "cuda_adamw_multi_dev: negative tensor count");
  expectFail(call(1, nullptr, n, lrD.get()), "cuda_adamw_multi_dev: NULL tensor array");
  expectFail(call(1, p, negative, lrD.get()), "cuda_adamw_multi_dev: tensor 0: negative");
  expectFail(call(1, none, n, lrD.get()), "cuda_adamw_multi_dev: tensor 0: NULL parameter");
  expectFail(call(1, p, n, nullptr), "cuda_adamw_multi_dev: NULL learning rate");
  EXPECT_EQ(call(0, nullptr, nullptr, lrD.get()), 0) << pzrt_last_error();
}

} // namespace
