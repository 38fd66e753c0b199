// One block step of ring attention (pzrt_attention_block_fwd/bwd) against a
// naive double-precision reference over all the keys, written here
// independently of the kernel: the keys are split into blocks fed in a
// shuffled order; after the last block the running output and log-sum-exp
// must equal the reference attention (2e-6 abs), the blocks' dq must sum to
// the reference dq and each block's dk/dv must equal the reference's columns
// of that block (1e-5 relative to max |reference|). Cases: causal through
// zigzag-like query/key positions (GQA, B > 1), an additive key mask broadcast
// over H and Sq, a bool mask broadcast over H with a row that drops every key;
// plus rows with no kept key, workspace sizes and bad arguments.
#include "pzrt/error.h"
#include "pzrt/kernels.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

const double kInfD = std::numeric_limits<double>::infinity();
const float kInf = std::numeric_limits<float>::infinity();

// Sk: all the keys, split into blocks of Sk / nBlocks.
struct Dims {
  int64_t B, H, Hkv, Sq, Sk, D, Dv;
};

struct Problem {
  Dims s;
  double scale;
  std::vector<float> q, k, v, g;
  std::vector<int64_t> qPos, kPos; // empty: no causal drop
  int maskKind = PZRT_MASK_NONE;
  int64_t ms[4] = {0, 0, 0, 0}; // strides over [B,H,Sq,Sk] of the full mask
  std::vector<uint8_t> keep;
  std::vector<float> add;
  const void *maskAt(int64_t j0) const { // the mask of the block starting at key j0
    if (maskKind == PZRT_MASK_BOOL)
      return keep.data() + j0 * ms[3];
    if (maskKind == PZRT_MASK_ADD)
      return add.data() + j0 * ms[3];
    return nullptr;
  }
};

Problem makeProblem(const Dims &s, unsigned seed) {
  Problem p;
  p.s = s;
  p.scale = 1.0 / std::sqrt(static_cast<double>(s.D));
  p.q = pzrt::test::uniformVec(static_cast<size_t>(s.B * s.H * s.Sq * s.D), seed);
  p.k = pzrt::test::uniformVec(static_cast<size_t>(s.B * s.Hkv * s.Sk * s.D), seed + 1);
  p.v = pzrt::test::uniformVec(static_cast<size_t>(s.B * s.Hkv * s.Sk * s.Dv), seed + 2);
  p.g = pzrt::test::uniformVec(static_cast<size_t>(s.B * s.H * s.Sq * s.Dv), seed + 3);
  return p;
}

// ---- double reference over every key ----

struct Ref {
  std::vector<double> s;        // scores [B,H,Sq,Sk], -inf where dropped
  std::vector<double> lse, out; // [B,H,Sq], [B,H,Sq,Dv]; a row with no kept key: -inf, 0
  std::vector<double> dq, dk, dv;
};

Ref reference(const Problem &p) {
  const Dims &s = p.s;
  const int64_t G = s.H / s.Hkv;
  Ref r;
  r.s.resize(static_cast<size_t>(s.B * s.H * s.Sq * s.Sk));
  r.lse.resize(static_cast<size_t>(s.B * s.H * s.Sq));
  r.out.assign(static_cast<size_t>(s.B * s.H * s.Sq * s.Dv), 0.0);
  r.dq.assign(p.q.size(), 0.0);
  r.dk.assign(p.k.size(), 0.0);
  r.dv.assign(p.v.size(), 0.0);
  auto Q = [&](int64_t b, int64_t h, int64_t i) { return static_cast<size_t>((b * s.H + h) * s.Sq + i); };
  auto K = [&](int64_t b, int64_t hk, int64_t j) { return static_cast<size_t>((b * s.Hkv + hk) * s.Sk + j); };
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h)
      for (int64_t i = 0; i < s.Sq; ++i) {
        const int64_t hk = h / G;
        double *row = &r.s[Q(b, h, i) * s.Sk];
        double mx = -kInfD;
        for (int64_t j = 0; j < s.Sk; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < s.D; ++c)
            dot += static_cast<double>(p.q[Q(b, h, i) * s.D + c]) * p.k[K(b, hk, j) * s.D + c];
          double sc = p.scale * dot;
          int64_t off = b * p.ms[0] + h * p.ms[1] + i * p.ms[2] + j * p.ms[3];
          if (p.maskKind == PZRT_MASK_ADD)
            sc += p.add[static_cast<size_t>(off)];
          if (p.maskKind == PZRT_MASK_BOOL && !p.keep[static_cast<size_t>(off)])
            sc = -kInfD;
          if (!p.qPos.empty() && p.kPos[j] > p.qPos[i])
            sc = -kInfD;
          row[j] = sc;
          mx = std::max(mx, sc);
        }
        double &lse = r.lse[Q(b, h, i)];
        if (mx == -kInfD) {
          lse = -kInfD;
          continue;
        }
        double sum = 0;
        for (int64_t j = 0; j < s.Sk; ++j)
          sum += std::exp(row[j] - mx);
        lse = mx + std::log(sum);
        for (int64_t j = 0; j < s.Sk; ++j)
          for (int64_t c = 0; c < s.Dv; ++c)
            r.out[Q(b, h, i) * s.Dv + c] += std::exp(row[j] - lse) * p.v[K(b, hk, j) * s.Dv + c];
      }
  // Backward: P = exp(S - lse), Drow = dO . O, dS = P (dP - Drow).
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h)
      for (int64_t i = 0; i < s.Sq; ++i) {
        const int64_t hk = h / G;
        const double lse = r.lse[Q(b, h, i)];
        if (lse == -kInfD)
          continue;
        double drow = 0;
        for (int64_t c = 0; c < s.Dv; ++c)
          drow += p.g[Q(b, h, i) * s.Dv + c] * r.out[Q(b, h, i) * s.Dv + c];
        for (int64_t j = 0; j < s.Sk; ++j) {
          double pij = std::exp(r.s[Q(b, h, i) * s.Sk + j] - lse), dp = 0;
          for (int64_t c = 0; c < s.Dv; ++c) {
            double gc = p.g[Q(b, h, i) * s.Dv + c];
            dp += gc * p.v[K(b, hk, j) * s.Dv + c];
            r.dv[K(b, hk, j) * s.Dv + c] += pij * gc;
          }
          double ds = pij * (dp - drow);
          for (int64_t c = 0; c < s.D; ++c) {
            r.dq[Q(b, h, i) * s.D + c] += p.scale * ds * p.k[K(b, hk, j) * s.D + c];
            r.dk[K(b, hk, j) * s.D + c] += p.scale * ds * p.q[Q(b, h, i) * s.D + c];
          }
        }
      }
  return r;
}

// ---- the kernel, one block at a time ----

// Keys [j0, j0 + n) of x [B,Hkv,Sk,cols].
std::vector<float> keyBlock(const std::vector<float> &x, const Dims &s, int64_t cols, int64_t j0,
                            int64_t n) {
  std::vector<float> y;
  for (int64_t bh = 0; bh < s.B * s.Hkv; ++bh)
    y.insert(y.end(), x.begin() + (bh * s.Sk + j0) * cols, x.begin() + (bh * s.Sk + j0 + n) * cols);
  return y;
}

// A 64-byte aligned workspace with a guard after it.
struct Workspace {
  size_t bytes;
  unsigned char *base;
  static constexpr size_t kGuard = 256;
  explicit Workspace(size_t n) : bytes(n) {
    size_t total = (n + kGuard + 63) / 64 * 64;
    base = static_cast<unsigned char *>(std::aligned_alloc(64, total));
    std::memset(base, 0xA5, total);
  }
  ~Workspace() { std::free(base); }
  bool guardIntact() const {
    for (size_t i = bytes; i < bytes + kGuard; ++i)
      if (base[i] != 0xA5)
        return false;
    return true;
  }
};

constexpr int kBlocks = 3; // the keys split into 3 blocks of Sk / 3

// Feeds the blocks in `order` from acc 0, lse -inf; in place, or
// ping-ponging between two buffers.
void runForward(const Problem &p, const std::vector<int> &order, bool inPlace,
                std::vector<float> &acc, std::vector<float> &lse) {
  const Dims &s = p.s;
  const int64_t bs = s.Sk / kBlocks;
  acc.assign(static_cast<size_t>(s.B * s.H * s.Sq * s.Dv), 0.0f);
  lse.assign(static_cast<size_t>(s.B * s.H * s.Sq), -kInf);
  std::vector<float> acc2(acc.size(), -7.0f), lse2(lse.size(), -7.0f);
  Workspace ws(pzrt_attention_block_workspace_bytes(s.B, s.H, s.Hkv, s.Sq, bs, s.D, s.Dv, 0));
  for (int blk : order) {
    const int64_t j0 = blk * bs;
    std::vector<float> kb = keyBlock(p.k, s, s.D, j0, bs), vb = keyBlock(p.v, s, s.Dv, j0, bs);
    float *ao = inPlace ? acc.data() : acc2.data(), *lo = inPlace ? lse.data() : lse2.data();
    ASSERT_EQ(pzrt_attention_block_fwd(p.q.data(), kb.data(), vb.data(),
                                       p.qPos.empty() ? nullptr : p.qPos.data(),
                                       p.kPos.empty() ? nullptr : p.kPos.data() + j0,
                                       p.maskAt(j0), p.maskKind, p.ms, p.scale, s.B, s.H, s.Hkv,
                                       s.Sq, bs, s.D, s.Dv, acc.data(), lse.data(), ao, lo,
                                       ws.base),
              0)
        << pzrt_last_error();
    if (!inPlace) {
      acc.swap(acc2);
      lse.swap(lse2);
    }
  }
  EXPECT_TRUE(ws.guardIntact()) << "forward wrote past its workspace";
}

double maxAbs(const std::vector<double> &x) {
  double m = 0;
  for (double v : x)
    m = std::max(m, std::fabs(v));
  return m;
}

void expectNear(const std::vector<float> &got, const std::vector<double> &ref, double tol,
                const char *what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  for (size_t i = 0; i < ref.size(); ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << what << "[" << i << "]";
    if (std::isinf(ref[i]))
      EXPECT_EQ(static_cast<double>(got[i]), ref[i]) << what << "[" << i << "]";
    else
      EXPECT_NEAR(got[i], ref[i], tol) << what << "[" << i << "]";
  }
}

void checkForward(const Problem &p, const Ref &r, const std::vector<int> &order, bool inPlace) {
  std::vector<float> acc, lse;
  runForward(p, order, inPlace, acc, lse);
  expectNear(acc, r.out, 2e-6, "acc");
  expectNear(lse, r.lse, 2e-6, "lse");
}

// Every block's backward from the reference's final out and lse.
void checkBackward(const Problem &p, const Ref &r) {
  const Dims &s = p.s;
  const int64_t bs = s.Sk / kBlocks;
  std::vector<float> out(r.out.begin(), r.out.end()), lse(r.lse.begin(), r.lse.end());
  std::vector<double> dqSum(p.q.size(), 0.0);
  const double tq = 1e-5 * maxAbs(r.dq), tk = 1e-5 * maxAbs(r.dk), tv = 1e-5 * maxAbs(r.dv);
  Workspace ws(pzrt_attention_block_workspace_bytes(s.B, s.H, s.Hkv, s.Sq, bs, s.D, s.Dv, 1));
  for (int blk = 0; blk < kBlocks; ++blk) {
    SCOPED_TRACE(::testing::Message() << "block " << blk);
    const int64_t j0 = blk * bs;
    std::vector<float> kb = keyBlock(p.k, s, s.D, j0, bs), vb = keyBlock(p.v, s, s.Dv, j0, bs);
    std::vector<float> dq(p.q.size(), -7.0f), dk(kb.size(), -7.0f), dv(vb.size(), -7.0f);
    ASSERT_EQ(pzrt_attention_block_bwd(p.g.data(), p.q.data(), kb.data(), vb.data(), out.data(),
                                       lse.data(), p.qPos.empty() ? nullptr : p.qPos.data(),
                                       p.kPos.empty() ? nullptr : p.kPos.data() + j0,
                                       p.maskAt(j0), p.maskKind, p.ms, p.scale, s.B, s.H, s.Hkv,
                                       s.Sq, bs, s.D, s.Dv, dq.data(), dk.data(), dv.data(),
                                       ws.base),
              0)
        << pzrt_last_error();
    for (size_t i = 0; i < dq.size(); ++i)
      dqSum[i] += dq[i];
    std::vector<double> refDk, refDv; // the reference's columns [j0, j0 + bs)
    for (int64_t bh = 0; bh < s.B * s.Hkv; ++bh) {
      refDk.insert(refDk.end(), r.dk.begin() + (bh * s.Sk + j0) * s.D,
                   r.dk.begin() + (bh * s.Sk + j0 + bs) * s.D);
      refDv.insert(refDv.end(), r.dv.begin() + (bh * s.Sk + j0) * s.Dv,
                   r.dv.begin() + (bh * s.Sk + j0 + bs) * s.Dv);
    }
    expectNear(dk, refDk, tk, "dk");
    expectNear(dv, refDv, tv, "dv");
  }
  EXPECT_TRUE(ws.guardIntact()) << "backward wrote past its workspace";
  std::vector<float> dqF(dqSum.begin(), dqSum.end());
  expectNear(dqF, r.dq, tq, "sum of dq");
}

const Dims kDims{2, 4, 2, 6, 12, 8, 8}; // 3 blocks of 4 keys

TEST(AttentionBlock, CausalPositionsShuffledBlocks) {
  Problem p = makeProblem(kDims, 1);
  p.qPos = {9, 2, 3, 11, 8, 0};                      // a permuted subset of 0..11
  p.kPos = {0, 1, 10, 11, 2, 3, 8, 9, 4, 5, 6, 7};   // blocks of 4, zigzag-like
  Ref r = reference(p);
  checkForward(p, r, {2, 0, 1}, true);
  checkForward(p, r, {1, 2, 0}, false);
  checkBackward(p, r);

  // After block 2 alone (keys at 4..7) the queries at 0, 2, 3 have no key:
  // acc stays exactly 0 and lse -inf; the others are finite.
  std::vector<float> acc, lse;
  runForward(p, {2}, true, acc, lse);
  for (int64_t bh = 0; bh < kDims.B * kDims.H; ++bh)
    for (int64_t i = 0; i < kDims.Sq; ++i) {
      const float l = lse[static_cast<size_t>(bh * kDims.Sq + i)];
      if (p.qPos[static_cast<size_t>(i)] < 4) {
        EXPECT_EQ(l, -kInf);
        for (int64_t c = 0; c < kDims.Dv; ++c)
          EXPECT_EQ(acc[static_cast<size_t>((bh * kDims.Sq + i) * kDims.Dv + c)], 0.0f);
      } else {
        EXPECT_TRUE(std::isfinite(l));
      }
    }
}

TEST(AttentionBlock, AdditiveKeyMaskNoPositions) {
  Problem p = makeProblem(kDims, 11);
  // [B,1,1,Sk]: broadcast over H and Sq; a few -inf (padding).
  p.maskKind = PZRT_MASK_ADD;
  p.ms[0] = kDims.Sk;
  p.ms[3] = 1;
  p.add = pzrt::test::uniformVec(static_cast<size_t>(kDims.B * kDims.Sk), 12);
  p.add[3] = p.add[6] = p.add[kDims.Sk + 11] = -kInf;
  Ref r = reference(p);
  checkForward(p, r, {1, 2, 0}, false);
  checkForward(p, r, {0, 2, 1}, true);
  checkBackward(p, r);
}

TEST(AttentionBlock, BoolMaskWithFullyDroppedRow) {
  Problem p = makeProblem(kDims, 21);
  // [B,1,Sq,Sk]: broadcast over H; row (b=1, i=2) drops every key.
  p.maskKind = PZRT_MASK_BOOL;
  p.ms[0] = kDims.Sq * kDims.Sk;
  p.ms[2] = kDims.Sk;
  p.ms[3] = 1;
  std::mt19937 rng(22);
  p.keep.resize(static_cast<size_t>(kDims.B * kDims.Sq * kDims.Sk));
  for (auto &x : p.keep)
    x = rng() % 10 < 6 ? static_cast<uint8_t>(1 + rng() % 200) : 0;
  for (int64_t j = 0; j < kDims.Sk; ++j)
    p.keep[static_cast<size_t>(1 * p.ms[0] + 2 * p.ms[2] + j)] = 0;
  Ref r = reference(p);
  ASSERT_EQ(r.lse[static_cast<size_t>((1 * kDims.H + 3) * kDims.Sq + 2)], -kInfD);
  checkForward(p, r, {2, 1, 0}, true);
  checkBackward(p, r);
}

TEST(AttentionBlock, RowWithNoKeptKey) {
  // One head, Sq = 2, Sk = 3: query 0 (position 0) sees none of the keys at
  // 2..4; query 1 (position 5) sees all.
  const int64_t qPos[2] = {0, 5}, kPos[3] = {2, 3, 4};
  std::vector<float> q = pzrt::test::uniformVec(2 * 4, 31), k = pzrt::test::uniformVec(3 * 4, 32), v = pzrt::test::uniformVec(3 * 4, 33);
  Workspace ws(pzrt_attention_block_workspace_bytes(1, 1, 1, 2, 3, 4, 4, 1));
  // lse_in -inf: acc 0 and lse -inf even when acc_in holds garbage.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> accIn(8, nan), lseIn = {-kInf, -kInf}, acc(8, 5.0f), lse(2, 5.0f);
  ASSERT_EQ(pzrt_attention_block_fwd(q.data(), k.data(), v.data(), qPos, kPos, nullptr,
                                     PZRT_MASK_NONE, nullptr, 0.5, 1, 1, 1, 2, 3, 4, 4,
                                     accIn.data(), lseIn.data(), acc.data(), lse.data(), ws.base),
            0)
      << pzrt_last_error();
  EXPECT_EQ(lse[0], -kInf);
  for (int c = 0; c < 4; ++c) {
    EXPECT_EQ(acc[static_cast<size_t>(c)], 0.0f);
    EXPECT_TRUE(std::isfinite(acc[static_cast<size_t>(4 + c)]));
  }
  EXPECT_TRUE(std::isfinite(lse[1]));
  // A finite lse_in and no kept key: acc and lse pass through unchanged (in place).
  std::vector<float> acc2 = {0.25f, -0.5f, 0.75f, 1.0f, 0, 0, 0, 0}, lse2 = {1.5f, -kInf};
  std::vector<float> before = acc2;
  ASSERT_EQ(pzrt_attention_block_fwd(q.data(), k.data(), v.data(), qPos, kPos, nullptr,
                                     PZRT_MASK_NONE, nullptr, 0.5, 1, 1, 1, 2, 3, 4, 4,
                                     acc2.data(), lse2.data(), acc2.data(), lse2.data(), ws.base),
            0);
  EXPECT_EQ(lse2[0], 1.5f);
  for (int c = 0; c < 4; ++c)
    EXPECT_EQ(acc2[static_cast<size_t>(c)], before[static_cast<size_t>(c)]);
  EXPECT_EQ(lse2[1], lse[1]); // row 1 from -inf: as in the first call
  before = acc2;
  // An empty block (Sk = 0) changes nothing either.
  ASSERT_EQ(pzrt_attention_block_fwd(q.data(), nullptr, nullptr, nullptr, nullptr, nullptr,
                                     PZRT_MASK_NONE, nullptr, 0.5, 1, 1, 1, 2, 0, 4, 4,
                                     acc2.data(), lse2.data(), acc2.data(), lse2.data(), nullptr),
            0)
      << pzrt_last_error();
  EXPECT_EQ(lse2[0], 1.5f);
  EXPECT_EQ(lse2[1], lse[1]);
  EXPECT_EQ(acc2, before);
  // Backward: the row with lse -inf contributes nothing (dq row 0, no NaN).
  std::vector<float> g = pzrt::test::uniformVec(8, 34), out(8, 0.0f), lseF = {-kInf, 0.7f};
  std::vector<float> dq(8, -7.0f), dk(12, -7.0f), dv(12, -7.0f);
  ASSERT_EQ(pzrt_attention_block_bwd(g.data(), q.data(), k.data(), v.data(), out.data(),
                                     lseF.data(), qPos, kPos, nullptr, PZRT_MASK_NONE, nullptr,
                                     0.5, 1, 1, 1, 2, 3, 4, 4, dq.data(), dk.data(), dv.data(),
                                     ws.base),
            0)
      << pzrt_last_error();
  for (int c = 0; c < 4; ++c)
    EXPECT_EQ(dq[static_cast<size_t>(c)], 0.0f);
  for (float x : dk)
    EXPECT_FALSE(std::isnan(x));
  for (float x : dv)
    EXPECT_FALSE(std::isnan(x));
  EXPECT_TRUE(ws.guardIntact());
}

TEST(AttentionBlock, WorkspaceSize) {
  // Sq x Sk floats rounded up to 64 bytes, twice for the backward.
  EXPECT_EQ(pzrt_attention_block_workspace_bytes(2, 4, 2, 6, 4, 8, 8, 0), 128u);
  EXPECT_EQ(pzrt_attention_block_workspace_bytes(2, 4, 2, 6, 4, 8, 8, 1), 256u);
  EXPECT_EQ(pzrt_attention_block_workspace_bytes(1, 1, 1, 256, 512, 64, 64, 0), 256u * 512 * 4);
  EXPECT_EQ(pzrt_attention_block_workspace_bytes(1, 1, 1, 0, 5, 8, 8, 1), 0u);
  EXPECT_EQ(pzrt_attention_block_workspace_bytes(1, 1, 1, 5, 0, 8, 8, 0), 0u);
}

TEST(AttentionBlock, BadArguments) {
  float buf[256] = {};
  alignas(64) unsigned char ws[4096];
  const int64_t pos[4] = {0, 1, 2, 3};
  auto fwd = [&](int64_t B, int64_t H, int64_t Hkv, int64_t Sq, const float *q,
                 const int64_t *qp, const int64_t *kp, float *accOut, void *w) {
    return pzrt_attention_block_fwd(q, buf, buf, qp, kp, nullptr, PZRT_MASK_NONE, nullptr, 1.0,
                                    B, H, Hkv, Sq, 2, 2, 2, buf, buf + 64, accOut, buf + 160, w);
  };
  EXPECT_EQ(fwd(1, 2, 1, 2, buf, pos, pos, buf + 128, ws), 0) << pzrt_last_error();
  EXPECT_EQ(fwd(-1, 2, 1, 2, buf, pos, pos, buf + 128, ws), -1); // negative size
  EXPECT_EQ(fwd(1, 2, 1, -2, buf, pos, pos, buf + 128, ws), -1);
  EXPECT_EQ(fwd(1, 3, 2, 2, buf, pos, pos, buf + 128, ws), -1); // H % Hkv != 0
  EXPECT_NE(std::string(pzrt_last_error()).find("multiple"), std::string::npos)
      << pzrt_last_error();
  EXPECT_EQ(fwd(1, 2, 0, 2, buf, pos, pos, buf + 128, ws), -1); // Hkv = 0
  EXPECT_EQ(fwd(1, 2, 1, 2, nullptr, pos, pos, buf + 128, ws), -1); // NULL query
  EXPECT_EQ(fwd(1, 2, 1, 2, buf, pos, pos, nullptr, ws), -1);       // NULL acc_out
  EXPECT_EQ(fwd(1, 2, 1, 2, buf, pos, nullptr, buf + 128, ws), -1); // only q_pos
  EXPECT_EQ(fwd(1, 2, 1, 2, buf, pos, pos, buf + 128, nullptr), -1); // NULL workspace
  EXPECT_NE(std::string(pzrt_last_error()).find("workspace"), std::string::npos);
  // Mask kind without mask or strides, unknown kind.
  const int64_t strides[4] = {0, 0, 0, 1};
  EXPECT_EQ(pzrt_attention_block_fwd(buf, buf, buf, nullptr, nullptr, nullptr, PZRT_MASK_BOOL,
                                     strides, 1.0, 1, 1, 1, 2, 2, 2, 2, buf, buf + 64, buf + 128,
                                     buf + 160, ws),
            -1);
  EXPECT_EQ(pzrt_attention_block_fwd(buf, buf, buf, nullptr, nullptr, buf, PZRT_MASK_ADD, nullptr,
                                     1.0, 1, 1, 1, 2, 2, 2, 2, buf, buf + 64, buf + 128, buf + 160,
                                     ws),
            -1);
  EXPECT_EQ(pzrt_attention_block_fwd(buf, buf, buf, nullptr, nullptr, buf, 7, strides, 1.0, 1, 1,
                                     1, 2, 2, 2, 2, buf, buf + 64, buf + 128, buf + 160, ws),
            -1);
  // Backward.
  auto bwd = [&](int64_t H, int64_t Hkv, int64_t Sk, const float *lse, float *dq, void *w) {
    return pzrt_attention_block_bwd(buf, buf, buf, buf, buf, lse, nullptr, nullptr, nullptr,
                                    PZRT_MASK_NONE, nullptr, 1.0, 1, H, Hkv, 2, Sk, 2, 2, dq,
                                    buf + 192, buf + 224, w);
  };
  EXPECT_EQ(bwd(2, 1, 2, buf + 64, buf + 128, ws), 0) << pzrt_last_error();
  EXPECT_EQ(bwd(2, 1, -1, buf + 64, buf + 128, ws), -1);
  EXPECT_EQ(bwd(3, 2, 2, buf + 64, buf + 128, ws), -1);
  EXPECT_EQ(bwd(2, 1, 2, nullptr, buf + 128, ws), -1);  // NULL lse
  EXPECT_EQ(bwd(2, 1, 2, buf + 64, nullptr, ws), -1);   // NULL dq
  EXPECT_EQ(bwd(2, 1, 2, buf + 64, buf + 128, nullptr), -1);
}

} // namespace
