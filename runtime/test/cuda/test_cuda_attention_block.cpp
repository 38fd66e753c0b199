// The CUDA ring-attention block kernels (pzrt_cuda_attention_block_fwd/bwd)
// against the CPU's (pzrt_attention_block_fwd/bwd): the keys split into two
// blocks, each side chains its forward over them (in place: acc and lse
// alias), then runs each block's backward from the CPU chain's final out
// and lse. Compared after each block and for every gradient within
// test_cuda_attention.cpp's bound (2e-6 of the sum of |terms|); -inf lse
// (rows with no key kept yet) and zero rows must match exactly.
#include "attention_test_util.h"

#include "pzrt/cuda_kernels.h"
#include "pzrt/workspace.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <vector>

using namespace attn_test;

namespace {

constexpr double kTol = 2e-6;

template <typename T> const T *data(const std::vector<T> &x) {
  return x.empty() ? nullptr : x.data();
}

// Keys [ja, jb) of a [B, Hkv, Sk, n] tensor.
std::vector<float> keySlice(const Problem &p, const std::vector<float> &x, int64_t n, int64_t ja,
                            int64_t jb) {
  std::vector<float> y;
  for (int64_t bh = 0; bh < p.B * p.Hkv; ++bh)
    y.insert(y.end(), x.begin() + (bh * p.Sk + ja) * n, x.begin() + (bh * p.Sk + jb) * n);
  return y;
}

// The problem restricted to keys [ja, jb) (its mask made dense), for the
// magnitudes of the running output after the first block.
Problem firstKeys(const Problem &p, int64_t jb) {
  Problem s = p;
  s.Sk = jb;
  s.k = keySlice(p, p.k, p.D, 0, jb);
  s.v = keySlice(p, p.v, p.Dv, 0, jb);
  if (!p.kPos.empty())
    s.kPos.assign(p.kPos.begin(), p.kPos.begin() + jb);
  const int64_t dense[4] = {p.H * p.Sq * jb, p.Sq * jb, jb, 1};
  std::copy(dense, dense + 4, s.ms);
  s.maskB.clear();
  s.maskF.clear();
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.H; ++h)
      for (int64_t i = 0; i < p.Sq; ++i)
        for (int64_t j = 0; j < jb; ++j) {
          if (p.maskKind == PZRT_MASK_BOOL)
            s.maskB.push_back(p.maskB[p.maskAt(b, h, i, j)]);
          if (p.maskKind == PZRT_MASK_ADD)
            s.maskF.push_back(p.maskF[p.maskAt(b, h, i, j)]);
        }
  return s;
}

// noKeyRows: whether some rows must have kept no key after block 0 and at
// the end (lse -inf), so that the test covers them.
void compareChain(Cuda &cuda, const Problem &p, int64_t split, bool noKeyRows) {
  const int64_t nRows = p.B * p.H * p.Sq, nOut = nRows * p.Dv;
  const int64_t bounds[3] = {0, split, p.Sk};
  const float inf = std::numeric_limits<float>::infinity();
  const size_t maskElem = p.maskKind == PZRT_MASK_BOOL ? 1 : sizeof(float);
  const char *maskBase = static_cast<const char *>(p.mask());
  const float *cq = cuda.upload(p.q), *cg = cuda.upload(p.dout);
  const int64_t *cqPos = cuda.upload(p.qPos);
  const char *cmask = p.maskKind == PZRT_MASK_BOOL  ? (const char *)cuda.upload(p.maskB)
                      : p.maskKind == PZRT_MASK_ADD ? (const char *)cuda.upload(p.maskF)
                                                    : nullptr;
  std::vector<float> acc(nOut, 0.0f), lse(nRows, -inf);
  float *cacc = cuda.upload(acc), *clse = cuda.upload(lse);
  std::vector<char> ws(pzrt_attention_block_workspace_bytes(p.B, p.H, p.Hkv, p.Sq, p.Sk, p.D,
                                                            p.Dv, 1));
  struct Keys {
    std::vector<float> k, v;
    std::vector<int64_t> kPos;
    const float *ck, *cv;
    const int64_t *ckPos;
  } blk[2];
  for (int n = 0; n < 2; ++n) {
    const int64_t ja = bounds[n], jb = bounds[n + 1], nb = jb - ja;
    Keys &K = blk[n];
    K.k = keySlice(p, p.k, p.D, ja, jb);
    K.v = keySlice(p, p.v, p.Dv, ja, jb);
    if (!p.kPos.empty())
      K.kPos.assign(p.kPos.begin() + ja, p.kPos.begin() + jb);
    K.ck = cuda.upload(K.k);
    K.cv = cuda.upload(K.v);
    K.ckPos = cuda.upload(K.kPos);
    const size_t off = static_cast<size_t>(ja * p.ms[3]) * maskElem; // this block's columns
    EXPECT_EQ(pzrt_cuda_attention_block_workspace_bytes(p.B, p.H, p.Hkv, p.Sq, nb, p.D, p.Dv, 0),
              0u);
    ASSERT_EQ(pzrt_attention_block_fwd(p.q.data(), K.k.data(), K.v.data(), data(p.qPos),
                                       data(K.kPos), maskBase ? maskBase + off : nullptr,
                                       p.maskKind, p.ms, p.scale, p.B, p.H, p.Hkv, p.Sq, nb, p.D,
                                       p.Dv, acc.data(), lse.data(), acc.data(), lse.data(),
                                       ws.data()),
              0)
        << pzrt_last_error();
    ASSERT_EQ(pzrt_cuda_attention_block_fwd(&cuda.ctx, cq, K.ck, K.cv, cqPos, K.ckPos,
                                            cmask ? cmask + off : nullptr, p.maskKind, p.ms,
                                            p.scale, p.B, p.H, p.Hkv, p.Sq, nb, p.D, p.Dv, cacc,
                                            clse, cacc, clse, nullptr),
              0)
        << pzrt_last_error();
    if (noKeyRows) {
      EXPECT_GT(std::count(lse.begin(), lse.end(), -inf), 0) << "after block " << n;
    }
    const Mags mag = n == 0 ? magnitudes(firstKeys(p, jb), 0, jb) : magnitudes(p, 0, p.Sk);
    expectClose(n == 0 ? "acc after block 0" : "acc", cuda.download(cacc, nOut), acc, mag.out,
                kTol);
    expectClose(n == 0 ? "lse after block 0" : "lse", cuda.download(clse, nRows), lse, mag.lse,
                kTol);
  }
  // Each block's backward from the final (out, lse), the CPU chain's.
  const float *cout = cuda.upload(acc), *cfinal = cuda.upload(lse);
  for (int n = 0; n < 2; ++n) {
    const int64_t ja = bounds[n], jb = bounds[n + 1], nb = jb - ja;
    const int64_t nQ = nRows * p.D, nK = p.B * p.Hkv * nb * p.D, nV = p.B * p.Hkv * nb * p.Dv;
    const Keys &K = blk[n];
    const size_t off = static_cast<size_t>(ja * p.ms[3]) * maskElem;
    std::vector<float> dq(nQ), dk(nK), dv(nV);
    ASSERT_EQ(pzrt_attention_block_bwd(p.dout.data(), p.q.data(), K.k.data(), K.v.data(),
                                       acc.data(), lse.data(), data(p.qPos), data(K.kPos),
                                       maskBase ? maskBase + off : nullptr, p.maskKind, p.ms,
                                       p.scale, p.B, p.H, p.Hkv, p.Sq, nb, p.D, p.Dv, dq.data(),
                                       dk.data(), dv.data(), ws.data()),
              0)
        << pzrt_last_error();
    size_t wsBytes =
        pzrt_cuda_attention_block_workspace_bytes(p.B, p.H, p.Hkv, p.Sq, nb, p.D, p.Dv, 1);
    EXPECT_EQ(wsBytes, sizeof(float) * nRows);
    void *cws = cuda.alloc<char>(wsBytes);
    float *cdq = cuda.alloc<float>(nQ), *cdk = cuda.alloc<float>(nK), *cdv = cuda.alloc<float>(nV);
    ASSERT_EQ(pzrt_cuda_attention_block_bwd(&cuda.ctx, cg, cq, K.ck, K.cv, cout, cfinal, cqPos,
                                            K.ckPos, cmask ? cmask + off : nullptr, p.maskKind,
                                            p.ms, p.scale, p.B, p.H, p.Hkv, p.Sq, nb, p.D, p.Dv,
                                            cdq, cdk, cdv, cws),
              0)
        << pzrt_last_error();
    const Mags mag = magnitudes(p, ja, jb);
    expectClose("block dq", cuda.download(cdq, nQ), dq, mag.dq, kTol);
    expectClose("block dk", cuda.download(cdk, nK), dk, mag.dk, kTol);
    expectClose("block dv", cuda.download(cdv, nV), dv, mag.dv, kTol);
  }
}

class CudaAttentionBlock : public ::testing::Test {
protected:
  void SetUp() override {
    if (pzrt_cuda_device_count() == 0)
      GTEST_SKIP() << "no CUDA device: " << pzrt_last_error();
    ASSERT_TRUE(cuda.open()) << pzrt_last_error();
  }
  Cuda cuda;
};

TEST_F(CudaAttentionBlock, CausalPositionsBoolMaskGqa) {
  // GQA (H=4, Hkv=2), D != Dv. Keys at positions 0..40, the later half
  // first (as a ring sends them): rows before position 20 keep no key of
  // block 0 (lse -inf after it). A bool mask [B,1,Sq,Sk] drops every key of
  // row 2 in batch 0: acc 0 and lse -inf at the end, zero gradients.
  Problem p;
  p.B = 2, p.H = 4, p.Hkv = 2, p.Sq = 27, p.Sk = 41, p.D = 20, p.Dv = 12;
  randomize(p, 21);
  const int64_t split = 21;
  for (int64_t j = 0; j < p.Sk; ++j)
    p.kPos.push_back(j < split ? 20 + j : j - split);
  for (int64_t i = 0; i < p.Sq; ++i)
    p.qPos.push_back((i * 17) % 43);
  const int64_t ms[4] = {p.Sq * p.Sk, 0, p.Sk, 1};
  setMask(p, PZRT_MASK_BOOL, ms, p.B * p.Sq * p.Sk, 22);
  for (int64_t j = 0; j < p.Sk; ++j)
    p.maskB[p.maskAt(0, 0, 2, j)] = 0;
  compareChain(cuda, p, split, true);
}

TEST_F(CudaAttentionBlock, AddMaskHeadDim256) {
  // No positions; an additive key mask [1,1,1,Sk]; D = 256, Dv = 64.
  Problem p;
  p.B = 1, p.H = 2, p.Hkv = 1, p.Sq = 18, p.Sk = 30, p.D = 256, p.Dv = 64;
  randomize(p, 23);
  const int64_t ms[4] = {0, 0, 0, 1};
  setMask(p, PZRT_MASK_ADD, ms, p.Sk, 24);
  compareChain(cuda, p, 13, false);
}

} // namespace
