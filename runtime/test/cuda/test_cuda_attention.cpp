// The CUDA attention kernels (pzrt_cuda_attention_*) against the CPU kernels
// (pzrt_attention_*) on the same random inputs (fixed seeds). Built twice:
// against the host emulator (ctest pzrt-cuda-attention-emu) and against the
// CUDA runtime (pzrt-cuda-attention-gpu, skipped without a device).
//
// Tolerance: |cuda - cpu| <= 1e-5 * (sum of |terms| of the element), the
// sum computed in double by attention_test_util.h's magnitudes(). Both sides
// sum at most a few hundred fp32 products in different orders; the expected
// difference is about sqrt(n) * 6e-8 ~ 1e-6 of that sum, the worst case
// n * 6e-8 ~ 1.5e-5 only for D = 256 dot products whose roundings all align.
// NaN must match NaN (rows with every key dropped), -inf must match -inf
// (lse of a ring-attention row with no key yet).
#include "attention_test_util.h"

#include "pzrt/cuda_kernels.h"
#include "pzrt/workspace.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace attn_test;

namespace {

constexpr double kTol = 2e-6;

class CudaAttention : public ::testing::Test {
protected:
  void SetUp() override {
    if (pzrt_cuda_device_count() == 0)
      GTEST_SKIP() << "no CUDA device: " << pzrt_last_error();
    ASSERT_TRUE(cuda.open()) << pzrt_last_error();
  }
  Cuda cuda;
};

// Forward, backward and (with a bias) the bias's gradient on both sides.
void comparePlain(Cuda &cuda, const Problem &p) {
  const int64_t nOut = p.B * p.H * p.Sq * p.Dv, nQ = p.B * p.H * p.Sq * p.D;
  const int64_t nK = p.B * p.Hkv * p.Sk * p.D, nV = p.B * p.Hkv * p.Sk * p.Dv;
  const Mags mag = magnitudes(p, 0, p.Sk);
  const float *bias = p.bias.empty() ? nullptr : p.bias.data();

  // CPU.
  std::vector<char> ws(pzrt_attention_workspace_bytes(p.B, p.H, p.Hkv, p.Sq, p.Sk, p.D, p.Dv, 1));
  std::vector<float> out(nOut), dq(nQ), dk(nK), dv(nV), dbias(p.bias.size());
  ASSERT_EQ(pzrt_attention_fwd(p.q.data(), p.k.data(), p.v.data(), p.mask(), p.maskKind, p.ms,
                               bias, p.bs, p.causal, p.scale, p.B, p.H, p.Hkv, p.Sq, p.Sk, p.D,
                               p.Dv, out.data(), ws.data()),
            0)
      << pzrt_last_error();
  ASSERT_EQ(pzrt_attention_bwd(p.dout.data(), p.q.data(), p.k.data(), p.v.data(), p.mask(),
                               p.maskKind, p.ms, bias, p.bs, p.causal, p.scale, p.B, p.H, p.Hkv,
                               p.Sq, p.Sk, p.D, p.Dv, dq.data(), dk.data(), dv.data(), ws.data()),
            0)
      << pzrt_last_error();
  if (bias) {
    ASSERT_EQ(pzrt_attention_bias_bwd(p.dout.data(), p.q.data(), p.k.data(), p.v.data(),
                                      p.mask(), p.maskKind, p.ms, bias, p.bs,
                                      (int64_t)p.bias.size(), p.causal, p.scale, p.B, p.H, p.Hkv,
                                      p.Sq, p.Sk, p.D, p.Dv, dbias.data(), ws.data()),
              0)
        << pzrt_last_error();
  }

  // CUDA.
  const float *q = cuda.upload(p.q), *k = cuda.upload(p.k), *v = cuda.upload(p.v);
  const float *g = cuda.upload(p.dout), *b = cuda.upload(p.bias);
  const void *mask = p.maskKind == PZRT_MASK_BOOL  ? (const void *)cuda.upload(p.maskB)
                     : p.maskKind == PZRT_MASK_ADD ? (const void *)cuda.upload(p.maskF)
                                                   : nullptr;
  size_t wsBytes =
      pzrt_cuda_attention_workspace_bytes(p.B, p.H, p.Hkv, p.Sq, p.Sk, p.D, p.Dv, 1);
  EXPECT_EQ(pzrt_cuda_attention_workspace_bytes(p.B, p.H, p.Hkv, p.Sq, p.Sk, p.D, p.Dv, 0), 0u);
  EXPECT_EQ(wsBytes, 2 * sizeof(float) * p.B * p.H * p.Sq);
  void *cws = cuda.alloc<char>(wsBytes);
  float *cOut = cuda.alloc<float>(nOut), *cdq = cuda.alloc<float>(nQ);
  float *cdk = cuda.alloc<float>(nK), *cdv = cuda.alloc<float>(nV);
  float *cdb = cuda.alloc<float>(p.bias.size());
  pzrt_step_ctx *ctx = &cuda.ctx;
  ASSERT_EQ(pzrt_cuda_attention_fwd(ctx, q, k, v, mask, p.maskKind, p.ms, b, p.bs, p.causal,
                                    p.scale, p.B, p.H, p.Hkv, p.Sq, p.Sk, p.D, p.Dv, cOut,
                                    nullptr),
            0)
      << pzrt_last_error();
  ASSERT_EQ(pzrt_cuda_attention_bwd(ctx, g, q, k, v, mask, p.maskKind, p.ms, b, p.bs, p.causal,
                                    p.scale, p.B, p.H, p.Hkv, p.Sq, p.Sk, p.D, p.Dv, cdq, cdk,
                                    cdv, cws),
            0)
      << pzrt_last_error();
  expectClose("out", cuda.download(cOut, nOut), out, mag.out, kTol);
  expectClose("dq", cuda.download(cdq, nQ), dq, mag.dq, kTol);
  expectClose("dk", cuda.download(cdk, nK), dk, mag.dk, kTol);
  expectClose("dv", cuda.download(cdv, nV), dv, mag.dv, kTol);
  if (bias) {
    ASSERT_EQ(pzrt_cuda_attention_bias_bwd(ctx, g, q, k, v, mask, p.maskKind, p.ms, b, p.bs,
                                           (int64_t)p.bias.size(), p.causal, p.scale, p.B, p.H,
                                           p.Hkv, p.Sq, p.Sk, p.D, p.Dv, cdb, cws),
              0)
        << pzrt_last_error();
    expectClose("dbias", cuda.download(cdb, p.bias.size()), dbias, mag.dbias, kTol);
  }
}

Problem dims(int64_t B, int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D, int64_t Dv,
             uint32_t seed) {
  Problem p;
  p.B = B, p.H = H, p.Hkv = Hkv, p.Sq = Sq, p.Sk = Sk, p.D = D, p.Dv = Dv;
  randomize(p, seed);
  return p;
}

TEST_F(CudaAttention, PlainGqaUnevenTiles) {
  // GQA (H=4, Hkv=2), D != Dv, Sq != Sk, neither a multiple of a tile
  // (64 x 64 here), several tiles each way.
  Problem p = dims(2, 4, 2, 137, 149, 24, 20, 1);
  comparePlain(cuda, p);
}

TEST_F(CudaAttention, CausalBoolMaskAndFullBias) {
  // Sq > Sk (rows past Sk see every key); bool mask [B,1,Sq,Sk]; bias
  // [B,H,Sq,Sk].
  Problem p = dims(2, 4, 2, 145, 97, 16, 24, 2);
  p.causal = 1;
  const int64_t ms[4] = {p.Sq * p.Sk, 0, p.Sk, 1};
  setMask(p, PZRT_MASK_BOOL, ms, p.B * p.Sq * p.Sk, 3);
  for (int64_t b = 0; b < p.B; ++b) // key 0 kept: no row loses every key
    for (int64_t i = 0; i < p.Sq; ++i)
      p.maskB[p.maskAt(b, 0, i, 0)] = 1;
  const int64_t bs[4] = {p.H * p.Sq * p.Sk, p.Sq * p.Sk, p.Sk, 1};
  setBias(p, bs, p.B * p.H * p.Sq * p.Sk, 4);
  comparePlain(cuda, p);
}

TEST_F(CudaAttention, CausalAddMaskBroadcastBias) {
  // Sq < Sk; additive key mask [1,1,1,Sk]; bias [1,H,1,Sk], whose gradient
  // sums over batches and query rows.
  Problem p = dims(2, 4, 4, 70, 200, 32, 32, 5);
  p.causal = 1;
  const int64_t ms[4] = {0, 0, 0, 1};
  setMask(p, PZRT_MASK_ADD, ms, p.Sk, 6);
  const int64_t bs[4] = {0, p.Sk, 0, 1};
  setBias(p, bs, p.H * p.Sk, 7);
  comparePlain(cuda, p);
}

TEST_F(CudaAttention, FullyMaskedRowIsNaN) {
  // Row 3 of batch 0 drops every key: NaN out and dq rows, NaN dk and dv
  // for batch 0's kv heads; batch 1 is finite. Bias [1,1,Sq,Sk] (sums over
  // B and H); its gradient is NaN in row 3.
  Problem p = dims(2, 2, 1, 9, 13, 8, 12, 8);
  const int64_t ms[4] = {p.Sq * p.Sk, 0, p.Sk, 1};
  setMask(p, PZRT_MASK_BOOL, ms, p.B * p.Sq * p.Sk, 9);
  for (int64_t j = 0; j < p.Sk; ++j)
    p.maskB[p.maskAt(0, 0, 3, j)] = 0;
  p.maskB[p.maskAt(1, 0, 3, 0)] = 1;
  const int64_t bs[4] = {0, 0, p.Sk, 1};
  setBias(p, bs, p.Sq * p.Sk, 10);
  comparePlain(cuda, p);
}

TEST_F(CudaAttention, HeadDim256) {
  // D = 256 with Dv = 160, then Dv = 256 with D = 64: the 16 x 16 tiles
  // and more than 48 KiB of dynamic shared memory.
  Problem a = dims(1, 2, 1, 21, 19, 256, 160, 11);
  a.causal = 1;
  comparePlain(cuda, a);
  Problem b = dims(1, 2, 2, 17, 18, 64, 256, 12);
  comparePlain(cuda, b);
  // D = Dv = 128: 64 x 32 tiles forward, 32 x 32 (dq) and 32 x 16 (dk, dv)
  // backward.
  Problem c = dims(1, 2, 1, 83, 77, 128, 128, 16);
  c.causal = 1;
  comparePlain(cuda, c);
}

TEST_F(CudaAttention, TrainingSizedCausal) {
  // A training-like shape: 8 query heads on 2 kv heads, 512 positions, head
  // dim 128 (about 2 s on the emulator).
  Problem p = dims(1, 8, 2, 512, 512, 128, 128, 17);
  p.causal = 1;
  comparePlain(cuda, p);
}

TEST_F(CudaAttention, BackwardIsDeterministic) {
  // No atomics: two runs of the backward and the bias gradient give the
  // same bits (GQA sums over the group and a bias broadcast over B and Sq
  // included).
  Problem p = dims(2, 4, 1, 33, 29, 16, 16, 14);
  const int64_t bs[4] = {0, p.Sk, 0, 1};
  setBias(p, bs, p.H * p.Sk, 15);
  const float *q = cuda.upload(p.q), *k = cuda.upload(p.k), *v = cuda.upload(p.v);
  const float *g = cuda.upload(p.dout), *b = cuda.upload(p.bias);
  void *ws = cuda.alloc<char>(
      pzrt_cuda_attention_workspace_bytes(p.B, p.H, p.Hkv, p.Sq, p.Sk, p.D, p.Dv, 1));
  const size_t nQ = p.q.size(), nK = p.k.size(), nV = p.v.size(), nB = p.bias.size();
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    float *dq = cuda.alloc<float>(nQ), *dk = cuda.alloc<float>(nK), *dv = cuda.alloc<float>(nV);
    float *db = cuda.alloc<float>(nB);
    ASSERT_EQ(pzrt_cuda_attention_bwd(&cuda.ctx, g, q, k, v, nullptr, PZRT_MASK_NONE, nullptr,
                                      b, p.bs, 1, p.scale, p.B, p.H, p.Hkv, p.Sq, p.Sk, p.D,
                                      p.Dv, dq, dk, dv, ws),
              0)
        << pzrt_last_error();
    ASSERT_EQ(pzrt_cuda_attention_bias_bwd(&cuda.ctx, g, q, k, v, nullptr, PZRT_MASK_NONE,
                                           nullptr, b, p.bs, (int64_t)nB, 1, p.scale, p.B, p.H,
                                           p.Hkv, p.Sq, p.Sk, p.D, p.Dv, db, ws),
              0)
        << pzrt_last_error();
    std::vector<float> all = cuda.download(dq, nQ);
    for (const std::vector<float> &x :
         {cuda.download(dk, nK), cuda.download(dv, nV), cuda.download(db, nB)})
      all.insert(all.end(), x.begin(), x.end());
    if (run == 0)
      first = all;
    else
      EXPECT_EQ(std::memcmp(first.data(), all.data(), all.size() * sizeof(float)), 0);
  }
}

TEST_F(CudaAttention, EmptyKeysAndBadArguments) {
  Problem p = dims(1, 2, 1, 5, 0, 8, 8, 13);
  float *out = cuda.alloc<float>(p.B * p.H * p.Sq * p.Dv);
  const float *q = cuda.upload(p.q);
  ASSERT_EQ(pzrt_cuda_attention_fwd(&cuda.ctx, q, nullptr, nullptr, nullptr, PZRT_MASK_NONE,
                                    nullptr, nullptr, nullptr, 0, p.scale, p.B, p.H, p.Hkv, p.Sq,
                                    0, p.D, p.Dv, out, nullptr),
            0)
      << pzrt_last_error();
  for (float x : cuda.download(out, p.B * p.H * p.Sq * p.Dv))
    EXPECT_EQ(x, 0.0f); // softmax over no keys: an empty sum, as the CPU
  EXPECT_EQ(pzrt_cuda_attention_fwd(&cuda.ctx, q, q, q, nullptr, PZRT_MASK_NONE, nullptr,
                                    nullptr, nullptr, 0, 1.0, 1, 3, 2, 4, 4, 8, 8, out, nullptr),
            -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("pzrt_cuda_attention_fwd: 3 query heads"),
            std::string::npos)
      << pzrt_last_error();
  EXPECT_EQ(pzrt_cuda_attention_bwd(&cuda.ctx, q, q, q, q, nullptr, PZRT_MASK_NONE, nullptr,
                                    nullptr, nullptr, 0, 1.0, 1, 1, 1, 4, 4, 8, 8, out, out, out,
                                    nullptr),
            -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("pzrt_cuda_attention_bwd: NULL workspace"),
            std::string::npos)
      << pzrt_last_error();
  // Head dims whose smallest tiles pass 99 KiB of shared memory.
  float *big = cuda.alloc<float>(2048);
  EXPECT_EQ(pzrt_cuda_attention_fwd(&cuda.ctx, big, big, big, nullptr, PZRT_MASK_NONE, nullptr,
                                    nullptr, nullptr, 0, 1.0, 1, 1, 1, 1, 1, 2048, 2048, big,
                                    nullptr),
            -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("pzrt_cuda_attention_fwd: head dims"),
            std::string::npos)
      << pzrt_last_error();
  // A bias whose strides send two positions to one element: no single owner
  // per element, so the CUDA gradient refuses it (the CPU would sum them).
  const int64_t overlap[4] = {0, 0, 1, 1};
  EXPECT_EQ(pzrt_cuda_attention_bias_bwd(&cuda.ctx, q, q, q, q, nullptr, PZRT_MASK_NONE,
                                         nullptr, q, overlap, 8, 0, 1.0, 1, 1, 1, 4, 4, 8, 8,
                                         out, out),
            -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("pzrt_cuda_attention_bias_bwd: bias strides"),
            std::string::npos)
      << pzrt_last_error();
}

} // namespace
