// Scaled dot-product attention: forward and backward against a straightforward
// double-precision reference written here (independently of the kernel), on
// GQA/MQA, Sq != Sk, D != Dv, causal, bool and additive masks with broadcast
// strides, fully masked rows and B > 1; plus central finite differences of the
// kernel's own forward, workspace bounds and bad arguments.
//
// Tolerance: max |kernel - reference| <= 1e-5 * max(1, max |reference|) over the
// finite reference entries of each output; NaN entries must match exactly.
#include "pzrt/error.h"
#include "pzrt/kernels.h"

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

struct Shape {
  int64_t B, H, Hkv, Sq, Sk, D, Dv;
};

// A mask of shape mdims (each 1 or the full [B,H,Sq,Sk] size), row-major,
// addressed through broadcasting strides.
struct Mask {
  int kind = PZRT_MASK_NONE;
  int64_t dims[4] = {1, 1, 1, 1};
  int64_t strides[4] = {0, 0, 0, 0};
  std::vector<uint8_t> keep; // PZRT_MASK_BOOL
  std::vector<float> add;    // PZRT_MASK_ADD
  const void *data() const {
    return kind == PZRT_MASK_BOOL ? static_cast<const void *>(keep.data())
           : kind == PZRT_MASK_ADD ? static_cast<const void *>(add.data())
                                   : nullptr;
  }
  int64_t offset(int64_t b, int64_t h, int64_t i, int64_t j) const {
    return b * strides[0] + h * strides[1] + i * strides[2] + j * strides[3];
  }
};

Mask makeMask(int kind, const Shape &s, const int64_t bcast[4], unsigned seed) {
  Mask m;
  m.kind = kind;
  int64_t full[4] = {s.B, s.H, s.Sq, s.Sk};
  for (int a = 0; a < 4; ++a)
    m.dims[a] = bcast[a] ? 1 : full[a];
  int64_t st = 1;
  for (int a = 3; a >= 0; --a) {
    m.strides[a] = m.dims[a] == 1 ? 0 : st;
    st *= m.dims[a];
  }
  std::mt19937 rng(seed);
  if (kind == PZRT_MASK_BOOL) {
    std::bernoulli_distribution keep(0.7);
    m.keep.resize(static_cast<size_t>(st));
    for (auto &x : m.keep)
      x = keep(rng) ? static_cast<uint8_t>(1 + rng() % 200) : 0; // any nonzero keeps
  } else if (kind == PZRT_MASK_ADD) {
    std::uniform_real_distribution<float> d(-2.0f, 2.0f);
    std::bernoulli_distribution drop(0.2);
    m.add.resize(static_cast<size_t>(st));
    for (auto &x : m.add)
      x = drop(rng) ? -std::numeric_limits<float>::infinity() : d(rng);
  }
  return m;
}

std::vector<float> randomVec(size_t n, unsigned seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(rng);
  return v;
}

// ---- double reference ----

// P[b,h,i,j] in double. A row with no kept position is NaN.
// A bias is a Mask of kind PZRT_MASK_ADD passed as the kernels' bias (kind
// PZRT_MASK_NONE: no bias).
const float *biasData(const Mask &bias) {
  return bias.kind == PZRT_MASK_ADD ? bias.add.data() : nullptr;
}

std::vector<double> refProbs(const Shape &s, const std::vector<float> &q,
                             const std::vector<float> &k, const Mask &m, bool causal,
                             double scale, const Mask &bias = Mask{}) {
  std::vector<double> p(static_cast<size_t>(s.B * s.H * s.Sq * s.Sk));
  int64_t group = s.H / s.Hkv;
  std::vector<double> row(static_cast<size_t>(s.Sk));
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h)
      for (int64_t i = 0; i < s.Sq; ++i) {
        int64_t kvh = h / group;
        for (int64_t j = 0; j < s.Sk; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < s.D; ++c)
            dot += static_cast<double>(q[static_cast<size_t>(((b * s.H + h) * s.Sq + i) * s.D + c)]) *
                   k[static_cast<size_t>(((b * s.Hkv + kvh) * s.Sk + j) * s.D + c)];
          double sc = dot * scale;
          if (bias.kind == PZRT_MASK_ADD)
            sc += bias.add[static_cast<size_t>(bias.offset(b, h, i, j))];
          bool dropped = causal && j > i;
          if (m.kind == PZRT_MASK_BOOL && m.keep[static_cast<size_t>(m.offset(b, h, i, j))] == 0)
            dropped = true;
          if (m.kind == PZRT_MASK_ADD)
            sc += m.add[static_cast<size_t>(m.offset(b, h, i, j))];
          row[static_cast<size_t>(j)] = dropped ? -kInfD : sc;
        }
        double mx = -kInfD;
        for (double x : row)
          mx = std::max(mx, x);
        double* out = &p[static_cast<size_t>(((b * s.H + h) * s.Sq + i) * s.Sk)];
        if (mx == -kInfD) {
          for (int64_t j = 0; j < s.Sk; ++j)
            out[j] = std::numeric_limits<double>::quiet_NaN();
          continue;
        }
        double sum = 0;
        for (double x : row)
          sum += std::exp(x - mx);
        for (int64_t j = 0; j < s.Sk; ++j)
          out[j] = std::exp(row[static_cast<size_t>(j)] - mx) / sum;
      }
  return p;
}

std::vector<double> refForward(const Shape &s, const std::vector<double> &p,
                               const std::vector<float> &v) {
  std::vector<double> o(static_cast<size_t>(s.B * s.H * s.Sq * s.Dv), 0.0);
  int64_t group = s.H / s.Hkv;
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h)
      for (int64_t i = 0; i < s.Sq; ++i)
        for (int64_t c = 0; c < s.Dv; ++c) {
          double acc = 0;
          for (int64_t j = 0; j < s.Sk; ++j)
            acc += p[static_cast<size_t>(((b * s.H + h) * s.Sq + i) * s.Sk + j)] *
                   v[static_cast<size_t>(((b * s.Hkv + h / group) * s.Sk + j) * s.Dv + c)];
          o[static_cast<size_t>(((b * s.H + h) * s.Sq + i) * s.Dv + c)] = acc;
        }
  return o;
}

struct RefGrads {
  std::vector<double> dq, dk, dv;
};

RefGrads refBackward(const Shape &s, const std::vector<double> &p, const std::vector<float> &g,
                     const std::vector<float> &q, const std::vector<float> &k,
                     const std::vector<float> &v, double scale) {
  RefGrads r;
  r.dq.assign(q.size(), 0.0);
  r.dk.assign(k.size(), 0.0);
  r.dv.assign(v.size(), 0.0);
  int64_t group = s.H / s.Hkv;
  auto Q = [&](int64_t b, int64_t h, int64_t i) { return ((b * s.H + h) * s.Sq + i); };
  auto K = [&](int64_t b, int64_t h, int64_t j) { return ((b * s.Hkv + h) * s.Sk + j); };
  std::vector<double> dp(static_cast<size_t>(s.Sk)), ds(static_cast<size_t>(s.Sk));
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h) {
      int64_t kvh = h / group;
      for (int64_t i = 0; i < s.Sq; ++i) {
        const double *pr = &p[static_cast<size_t>(Q(b, h, i) * s.Sk)];
        for (int64_t j = 0; j < s.Sk; ++j) {
          double acc = 0;
          for (int64_t c = 0; c < s.Dv; ++c) {
            double gc = g[static_cast<size_t>(Q(b, h, i) * s.Dv + c)];
            acc += gc * v[static_cast<size_t>(K(b, kvh, j) * s.Dv + c)];
            r.dv[static_cast<size_t>(K(b, kvh, j) * s.Dv + c)] += pr[j] * gc;
          }
          dp[static_cast<size_t>(j)] = acc;
        }
        // softmax Jacobian: ds_j = p_j * (dp_j - sum_l p_l dp_l)
        double dot = 0;
        for (int64_t j = 0; j < s.Sk; ++j)
          dot += pr[j] * dp[static_cast<size_t>(j)];
        for (int64_t j = 0; j < s.Sk; ++j)
          ds[static_cast<size_t>(j)] = pr[j] * (dp[static_cast<size_t>(j)] - dot);
        for (int64_t j = 0; j < s.Sk; ++j)
          for (int64_t c = 0; c < s.D; ++c) {
            r.dq[static_cast<size_t>(Q(b, h, i) * s.D + c)] +=
                scale * ds[static_cast<size_t>(j)] * k[static_cast<size_t>(K(b, kvh, j) * s.D + c)];
            r.dk[static_cast<size_t>(K(b, kvh, j) * s.D + c)] +=
                scale * ds[static_cast<size_t>(j)] * q[static_cast<size_t>(Q(b, h, i) * s.D + c)];
          }
      }
    }
  return r;
}

// ---- kernel calls with a guarded, 64-byte aligned workspace ----

struct Workspace {
  size_t bytes;
  unsigned char *base = nullptr;
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

void expectClose(const std::vector<float> &got, const std::vector<double> &ref,
                 const char *what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  double maxRef = 0, maxErr = 0;
  size_t worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    ASSERT_EQ(std::isnan(ref[i]), std::isnan(got[i]))
        << what << "[" << i << "]: got " << got[i] << ", reference " << ref[i];
    if (std::isnan(ref[i]))
      continue;
    maxRef = std::max(maxRef, std::fabs(ref[i]));
    double e = std::fabs(got[i] - ref[i]);
    if (e > maxErr) {
      maxErr = e;
      worst = i;
    }
  }
  double tol = 1e-5 * std::max(1.0, maxRef);
  EXPECT_LE(maxErr, tol) << what << ": worst at " << worst << " (got " << got[worst]
                         << ", reference " << ref[worst] << ")";
}

struct Inputs {
  std::vector<float> q, k, v, g;
};

Inputs makeInputs(const Shape &s, unsigned seed) {
  Inputs in;
  in.q = randomVec(static_cast<size_t>(s.B * s.H * s.Sq * s.D), seed);
  in.k = randomVec(static_cast<size_t>(s.B * s.Hkv * s.Sk * s.D), seed + 1);
  in.v = randomVec(static_cast<size_t>(s.B * s.Hkv * s.Sk * s.Dv), seed + 2);
  in.g = randomVec(static_cast<size_t>(s.B * s.H * s.Sq * s.Dv), seed + 3);
  return in;
}

void runForward(const Shape &s, const Inputs &in, const Mask &m, bool causal, double scale,
                std::vector<float> &out, const Mask &bias = Mask{}) {
  out.assign(static_cast<size_t>(s.B * s.H * s.Sq * s.Dv), -7.0f);
  Workspace ws(pzrt_attention_workspace_bytes(s.B, s.H, s.Hkv, s.Sq, s.Sk, s.D, s.Dv, 0));
  ASSERT_EQ(pzrt_attention_fwd(in.q.data(), in.k.data(), in.v.data(), m.data(), m.kind,
                               m.strides, biasData(bias), bias.strides, causal, scale, s.B, s.H,
                               s.Hkv, s.Sq, s.Sk, s.D, s.Dv, out.data(), ws.base),
            0)
      << pzrt_last_error();
  EXPECT_TRUE(ws.guardIntact()) << "forward wrote past its workspace";
}

void runBackward(const Shape &s, const Inputs &in, const Mask &m, bool causal, double scale,
                 std::vector<float> &dq, std::vector<float> &dk, std::vector<float> &dv,
                 const Mask &bias = Mask{}) {
  dq.assign(in.q.size(), -7.0f);
  dk.assign(in.k.size(), -7.0f);
  dv.assign(in.v.size(), -7.0f);
  Workspace ws(pzrt_attention_workspace_bytes(s.B, s.H, s.Hkv, s.Sq, s.Sk, s.D, s.Dv, 1));
  ASSERT_EQ(pzrt_attention_bwd(in.g.data(), in.q.data(), in.k.data(), in.v.data(), m.data(),
                               m.kind, m.strides, biasData(bias), bias.strides, causal, scale,
                               s.B, s.H, s.Hkv, s.Sq, s.Sk, s.D, s.Dv, dq.data(), dk.data(),
                               dv.data(), ws.base),
            0)
      << pzrt_last_error();
  EXPECT_TRUE(ws.guardIntact()) << "backward wrote past its workspace";
}

// Forward and backward of one configuration against the reference.
void checkCase(const Shape &s, const Mask &m, bool causal, double scale, unsigned seed,
               const Mask &bias = Mask{}) {
  SCOPED_TRACE(::testing::Message()
               << "B=" << s.B << " H=" << s.H << " Hkv=" << s.Hkv << " Sq=" << s.Sq
               << " Sk=" << s.Sk << " D=" << s.D << " Dv=" << s.Dv << " causal=" << causal
               << " mask=" << m.kind);
  Inputs in = makeInputs(s, seed);
  auto p = refProbs(s, in.q, in.k, m, causal, scale, bias);
  std::vector<float> out, dq, dk, dv;
  runForward(s, in, m, causal, scale, out, bias);
  expectClose(out, refForward(s, p, in.v), "out");
  runBackward(s, in, m, causal, scale, dq, dk, dv, bias);
  RefGrads r = refBackward(s, p, in.g, in.q, in.k, in.v, scale);
  expectClose(dq, r.dq, "dq");
  expectClose(dk, r.dk, "dk");
  expectClose(dv, r.dv, "dv");
}

double defaultScale(const Shape &s) { return 1.0 / std::sqrt(static_cast<double>(s.D)); }

const int64_t kNoBcast[4] = {0, 0, 0, 0};

TEST(Attention, PlainMultiHead) {
  Shape s{1, 2, 2, 5, 5, 8, 8};
  checkCase(s, Mask{}, false, defaultScale(s), 1);
}

TEST(Attention, GroupedQueryCausalSqNeSkDNeDv) {
  Shape s{2, 4, 2, 7, 11, 16, 12};
  checkCase(s, Mask{}, true, defaultScale(s), 2);
  checkCase(s, Mask{}, false, 0.3, 3);
}

TEST(Attention, MultiQueryCausalAcrossRowBlocks) {
  // Sq spans three 64-row blocks; Sk > Sq and Sk < Sq.
  Shape s{1, 4, 1, 130, 150, 8, 5};
  checkCase(s, Mask{}, true, defaultScale(s), 4);
  Shape t{2, 4, 1, 131, 70, 6, 9};
  checkCase(t, Mask{}, true, defaultScale(t), 5);
  checkCase(t, Mask{}, false, defaultScale(t), 6);
}

TEST(Attention, BoolMaskFullAndBroadcast) {
  Shape s{2, 4, 2, 9, 13, 8, 6};
  checkCase(s, makeMask(PZRT_MASK_BOOL, s, kNoBcast, 7), false, defaultScale(s), 8);
  const int64_t perBatch[4] = {0, 1, 0, 0}; // [B,1,Sq,Sk]
  Mask m = makeMask(PZRT_MASK_BOOL, s, perBatch, 9);
  for (int64_t b = 0; b < s.B; ++b) // keep key 0 so that no row is fully masked
    for (int64_t i = 0; i < s.Sq; ++i)
      m.keep[static_cast<size_t>(m.offset(b, 0, i, 0))] = 1;
  checkCase(s, m, true, defaultScale(s), 10);
  const int64_t keyOnly[4] = {0, 1, 1, 0}; // [B,1,1,Sk] (padding)
  Mask pad = makeMask(PZRT_MASK_BOOL, s, keyOnly, 11);
  pad.keep[static_cast<size_t>(pad.offset(0, 0, 0, 0))] = 1;
  pad.keep[static_cast<size_t>(pad.offset(1, 0, 0, 0))] = 1;
  checkCase(s, pad, true, defaultScale(s), 12);
}

TEST(Attention, AdditiveMaskBroadcast) {
  Shape s{2, 4, 2, 10, 12, 8, 8};
  const int64_t perHead[4] = {1, 0, 0, 0}; // [1,H,Sq,Sk]
  Mask m = makeMask(PZRT_MASK_ADD, s, perHead, 13);
  for (int64_t h = 0; h < s.H; ++h)
    for (int64_t i = 0; i < s.Sq; ++i)
      m.add[static_cast<size_t>(m.offset(0, h, i, 0))] = 0.5f; // never fully masked
  checkCase(s, m, false, defaultScale(s), 14);
  checkCase(s, m, true, defaultScale(s), 15);
  const int64_t rowBias[4] = {1, 1, 1, 0}; // [1,1,1,Sk], finite
  Mask r = makeMask(PZRT_MASK_ADD, s, rowBias, 16);
  for (float &x : r.add)
    if (std::isinf(x))
      x = -3.0f;
  checkCase(s, r, false, 0.7, 17);
}

// A bias (ALiBi's [1, H, 1, Sk], a full [B, H, Sq, Sk] one) next to causal
// and a bool mask: added to the scaled scores before the mask drops
// positions; forward and backward against the double reference (1e-5).
TEST(Attention, BiasWithCausalAndBoolMask) {
  Shape s{2, 4, 2, 9, 9, 8, 6};
  const int64_t alibiLike[4] = {1, 0, 1, 0}; // [1,H,1,Sk]
  Mask alibi = makeMask(PZRT_MASK_ADD, s, alibiLike, 30);
  for (int64_t h = 0; h < s.H; ++h) // slope_h * key position, as ALiBi
    for (int64_t j = 0; j < s.Sk; ++j)
      alibi.add[static_cast<size_t>(alibi.offset(0, h, 0, j))] =
          std::ldexp(1.0f, -2 * static_cast<int>(h + 1)) * static_cast<float>(j);
  checkCase(s, Mask{}, true, defaultScale(s), 31, alibi);
  checkCase(s, Mask{}, false, 0.4, 32, alibi);
  Mask full = makeMask(PZRT_MASK_ADD, s, kNoBcast, 33);
  for (float &x : full.add)
    if (std::isinf(x))
      x = 1.5f;
  const int64_t keyOnly[4] = {0, 1, 1, 0};
  Mask pad = makeMask(PZRT_MASK_BOOL, s, keyOnly, 34);
  pad.keep[static_cast<size_t>(pad.offset(0, 0, 0, 0))] = 1;
  pad.keep[static_cast<size_t>(pad.offset(1, 0, 0, 0))] = 1;
  checkCase(s, pad, true, defaultScale(s), 35, full);
  // Rows across 64-row blocks, multi-query.
  Shape t{1, 2, 1, 70, 70, 4, 4};
  Mask tb = makeMask(PZRT_MASK_ADD, t, alibiLike, 36);
  for (float &x : tb.add)
    if (std::isinf(x))
      x = -1.0f;
  checkCase(t, Mask{}, true, defaultScale(t), 37, tb);
}

// The bias's gradient (pzrt_attention_bias_bwd): dS summed over the dims
// the bias broadcasts along, against the double reference (1e-5 of the
// largest |dbias|, as the other gradients).
std::vector<double> refBiasGrad(const Shape &s, const std::vector<double> &p,
                                const std::vector<float> &g, const std::vector<float> &v,
                                const Mask &bias, size_t numel) {
  std::vector<double> db(numel, 0.0), dp(static_cast<size_t>(s.Sk));
  int64_t group = s.H / s.Hkv;
  for (int64_t b = 0; b < s.B; ++b)
    for (int64_t h = 0; h < s.H; ++h)
      for (int64_t i = 0; i < s.Sq; ++i) {
        const double *pr = &p[static_cast<size_t>(((b * s.H + h) * s.Sq + i) * s.Sk)];
        double dot = 0;
        for (int64_t j = 0; j < s.Sk; ++j) {
          double acc = 0;
          for (int64_t c = 0; c < s.Dv; ++c)
            acc += static_cast<double>(g[static_cast<size_t>(((b * s.H + h) * s.Sq + i) * s.Dv + c)]) *
                   v[static_cast<size_t>(((b * s.Hkv + h / group) * s.Sk + j) * s.Dv + c)];
          dp[static_cast<size_t>(j)] = acc;
          dot += acc * pr[j];
        }
        for (int64_t j = 0; j < s.Sk; ++j)
          db[static_cast<size_t>(bias.offset(b, h, i, j))] += pr[j] * (dp[static_cast<size_t>(j)] - dot);
      }
  return db;
}

TEST(Attention, BiasGradient) {
  Shape s{2, 4, 2, 9, 9, 8, 6};
  const int64_t alibiLike[4] = {1, 0, 1, 0}; // [1,H,1,Sk]: sums over B and Sq
  Mask alibi = makeMask(PZRT_MASK_ADD, s, alibiLike, 40);
  for (float &x : alibi.add)
    if (std::isinf(x))
      x = 0.25f;
  Mask full = makeMask(PZRT_MASK_ADD, s, kNoBcast, 41);
  for (float &x : full.add)
    if (std::isinf(x))
      x = -0.5f;
  const int64_t keyOnly[4] = {0, 1, 1, 0};
  Mask pad = makeMask(PZRT_MASK_BOOL, s, keyOnly, 42);
  pad.keep[static_cast<size_t>(pad.offset(0, 0, 0, 0))] = 1;
  pad.keep[static_cast<size_t>(pad.offset(1, 0, 0, 0))] = 1;
  for (const Mask *bias : {&alibi, &full})
    for (bool causal : {true, false}) {
      SCOPED_TRACE(::testing::Message() << "bias " << (bias == &alibi ? "alibi" : "full")
                                        << " causal=" << causal);
      const Mask &m = causal ? pad : Mask{};
      Inputs in = makeInputs(s, 43);
      auto p = refProbs(s, in.q, in.k, m, causal, defaultScale(s), *bias);
      std::vector<double> ref = refBiasGrad(s, p, in.g, in.v, *bias, bias->add.size());
      std::vector<float> db(bias->add.size(), -7.0f);
      Workspace ws(pzrt_attention_workspace_bytes(s.B, s.H, s.Hkv, s.Sq, s.Sk, s.D, s.Dv, 1));
      ASSERT_EQ(pzrt_attention_bias_bwd(in.g.data(), in.q.data(), in.k.data(), in.v.data(),
                                        m.data(), m.kind, m.strides, bias->add.data(),
                                        bias->strides, static_cast<int64_t>(db.size()), causal,
                                        defaultScale(s), s.B, s.H, s.Hkv, s.Sq, s.Sk, s.D, s.Dv,
                                        db.data(), ws.base),
                0)
          << pzrt_last_error();
      EXPECT_TRUE(ws.guardIntact());
      expectClose(db, ref, "dbias");
      double norm = 0;
      for (double x : ref)
        norm = std::max(norm, std::fabs(x));
      EXPECT_GT(norm, 1e-3); // the gradient is not trivially zero
    }
  // No bias is an error.
  float buf[64] = {};
  alignas(64) unsigned char w[4096];
  const int64_t strides[4] = {0, 0, 0, 1};
  EXPECT_EQ(pzrt_attention_bias_bwd(buf, buf, buf, buf, nullptr, PZRT_MASK_NONE, nullptr, nullptr,
                                    strides, 2, 0, 1.0, 1, 1, 1, 2, 2, 2, 2, buf, w),
            -1);
}

TEST(Attention, FullyMaskedRowIsNaN) {
  // Query row 3 of (b=1, h=2) drops every key; h=2 reads kv head 1 (H/Hkv = 2).
  Shape s{2, 4, 2, 6, 7, 5, 4};
  Mask m = makeMask(PZRT_MASK_BOOL, s, kNoBcast, 18);
  for (auto &x : m.keep)
    x = 1;
  for (int64_t j = 0; j < s.Sk; ++j)
    m.keep[static_cast<size_t>(m.offset(1, 2, 3, j))] = 0;
  checkCase(s, m, true, defaultScale(s), 19); // the reference agrees on every NaN
  Inputs in = makeInputs(s, 19);
  std::vector<float> out, dq, dk, dv;
  runForward(s, in, m, true, defaultScale(s), out);
  runBackward(s, in, m, true, defaultScale(s), dq, dk, dv);
  auto rowNaN = [](const float *x, int64_t n) {
    return std::all_of(x, x + n, [](float f) { return std::isnan(f); });
  };
  auto noNaN = [](const float *x, int64_t n) {
    return std::none_of(x, x + n, [](float f) { return std::isnan(f); });
  };
  // out and dq: only that row.
  for (int64_t r = 0; r < s.B * s.H * s.Sq; ++r) {
    bool masked = r == (1 * s.H + 2) * s.Sq + 3;
    EXPECT_TRUE(masked ? rowNaN(&out[static_cast<size_t>(r * s.Dv)], s.Dv)
                       : noNaN(&out[static_cast<size_t>(r * s.Dv)], s.Dv))
        << "out row " << r;
    EXPECT_TRUE(masked ? rowNaN(&dq[static_cast<size_t>(r * s.D)], s.D)
                       : noNaN(&dq[static_cast<size_t>(r * s.D)], s.D))
        << "dq row " << r;
  }
  // dk and dv: all of (b=1, kv head 1), nothing else.
  for (int64_t bh = 0; bh < s.B * s.Hkv; ++bh) {
    bool poisoned = bh == 1 * s.Hkv + 1;
    const float *k0 = &dk[static_cast<size_t>(bh * s.Sk * s.D)];
    const float *v0 = &dv[static_cast<size_t>(bh * s.Sk * s.Dv)];
    EXPECT_TRUE(poisoned ? rowNaN(k0, s.Sk * s.D) : noNaN(k0, s.Sk * s.D)) << "dk head " << bh;
    EXPECT_TRUE(poisoned ? rowNaN(v0, s.Sk * s.Dv) : noNaN(v0, s.Sk * s.Dv)) << "dv head " << bh;
  }
  // An additive -inf row and a row-broadcast bool mask (key stride 0) behave the same.
  Mask add = makeMask(PZRT_MASK_ADD, s, kNoBcast, 20);
  for (auto &x : add.add)
    x = std::isinf(x) ? 0.25f : x;
  for (int64_t j = 0; j < s.Sk; ++j)
    add.add[static_cast<size_t>(add.offset(0, 1, 0, j))] = -std::numeric_limits<float>::infinity();
  checkCase(s, add, false, defaultScale(s), 21);
  const int64_t rowOnly[4] = {0, 1, 0, 1}; // [B,1,Sq,1]
  Mask rows = makeMask(PZRT_MASK_BOOL, s, rowOnly, 22);
  for (auto &x : rows.keep)
    x = 1;
  rows.keep[static_cast<size_t>(rows.offset(0, 0, 5, 0))] = 0;
  checkCase(s, rows, true, defaultScale(s), 23);
}

TEST(Attention, LargerHeadsAndScale) {
  Shape s{1, 2, 2, 200, 200, 64, 64};
  checkCase(s, Mask{}, true, defaultScale(s), 24);
  Shape t{1, 2, 1, 65, 129, 32, 16};
  checkCase(t, Mask{}, false, 0.05, 25);
}

TEST(Attention, EmptyKeysAndQueries) {
  // Sk = 0: the weighted sum is empty (zeros, as the interpreter); dq = 0.
  Shape s{1, 2, 1, 3, 0, 4, 4};
  Inputs in = makeInputs(s, 26);
  std::vector<float> out, dq, dk, dv;
  runForward(s, in, Mask{}, true, 0.5, out);
  for (float x : out)
    EXPECT_EQ(x, 0.0f);
  runBackward(s, in, Mask{}, true, 0.5, dq, dk, dv);
  for (float x : dq)
    EXPECT_EQ(x, 0.0f);
  // Sq = 0: dk and dv are zeros.
  Shape t{1, 2, 1, 0, 3, 4, 4};
  Inputs in2 = makeInputs(t, 27);
  runBackward(t, in2, Mask{}, false, 0.5, dq, dk, dv);
  for (float x : dk)
    EXPECT_EQ(x, 0.0f);
  for (float x : dv)
    EXPECT_EQ(x, 0.0f);
}

// Central differences of the kernel's forward: d/dx sum(g * out).
TEST(Attention, BackwardMatchesFiniteDifferencesOfForward) {
  struct Cfg {
    Shape s;
    bool causal;
    int maskKind;
  };
  for (const Cfg &cfg : {Cfg{{1, 4, 2, 5, 6, 4, 3}, true, PZRT_MASK_NONE},
                         Cfg{{2, 2, 1, 4, 5, 3, 4}, false, PZRT_MASK_ADD}}) {
    const Shape &s = cfg.s;
    Inputs in = makeInputs(s, 30);
    const int64_t perBatch[4] = {0, 1, 0, 0};
    Mask m = cfg.maskKind == PZRT_MASK_NONE ? Mask{} : makeMask(cfg.maskKind, s, perBatch, 31);
    for (float &x : m.add)
      x = std::isinf(x) ? -1.5f : x;
    double scale = defaultScale(s);
    std::vector<float> dq, dk, dv, out;
    runBackward(s, in, m, cfg.causal, scale, dq, dk, dv);
    auto loss = [&](const Inputs &x) {
      std::vector<float> o;
      runForward(s, x, m, cfg.causal, scale, o);
      double l = 0;
      for (size_t i = 0; i < o.size(); ++i)
        l += static_cast<double>(o[i]) * in.g[i];
      return l;
    };
    const float h = 1e-2f;
    auto check = [&](std::vector<float> Inputs::*field, const std::vector<float> &grad,
                     const char *what) {
      for (size_t i = 0; i < grad.size(); ++i) {
        Inputs x = in;
        float keep = (x.*field)[i];
        (x.*field)[i] = keep + h;
        double up = loss(x);
        (x.*field)[i] = keep - h;
        double down = loss(x);
        double num = (up - down) / (2.0 * static_cast<double>(h));
        EXPECT_NEAR(grad[i], num, 2e-3) << what << "[" << i << "]";
      }
    };
    check(&Inputs::q, dq, "dq");
    check(&Inputs::k, dk, "dk");
    check(&Inputs::v, dv, "dv");
  }
}

TEST(Attention, WorkspaceSize) {
  // One block of at most 64 query rows x Sk floats, twice for the backward,
  // rounded up to 64 bytes; independent of B, H, D, Dv.
  EXPECT_EQ(pzrt_attention_workspace_bytes(2, 12, 12, 1024, 1024, 64, 64, 0), 64u * 1024 * 4);
  EXPECT_EQ(pzrt_attention_workspace_bytes(2, 12, 12, 1024, 1024, 64, 64, 1), 2u * 64 * 1024 * 4);
  EXPECT_EQ(pzrt_attention_workspace_bytes(1, 1, 1, 3, 5, 8, 8, 0), 64u);
  EXPECT_EQ(pzrt_attention_workspace_bytes(1, 1, 1, 0, 5, 8, 8, 1), 0u);
}

TEST(Attention, BadArguments) {
  float buf[256] = {};
  alignas(64) unsigned char ws[4096];
  const int64_t strides[4] = {0, 0, 0, 1};
  // H not a multiple of Hkv.
  EXPECT_EQ(pzrt_attention_fwd(buf, buf, buf, nullptr, PZRT_MASK_NONE, nullptr, nullptr, nullptr, 0, 1.0, 1, 3, 2,
                               2, 2, 2, 2, buf, ws),
            -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("multiple"), std::string::npos)
      << pzrt_last_error();
  EXPECT_EQ(pzrt_attention_bwd(buf, buf, buf, buf, nullptr, PZRT_MASK_NONE, nullptr, nullptr, nullptr, 0, 1.0, 1,
                               3, 2, 2, 2, 2, 2, buf, buf, buf, ws),
            -1);
  // Hkv = 0, negative sizes.
  EXPECT_EQ(pzrt_attention_fwd(buf, buf, buf, nullptr, PZRT_MASK_NONE, nullptr, nullptr, nullptr, 0, 1.0, 1, 2, 0,
                               2, 2, 2, 2, buf, ws),
            -1);
  EXPECT_EQ(pzrt_attention_fwd(buf, buf, buf, nullptr, PZRT_MASK_NONE, nullptr, nullptr, nullptr, 0, 1.0, 1, 2, 1,
                               -2, 2, 2, 2, buf, ws),
            -1);
  // Unknown mask kind, missing mask or strides, missing workspace.
  EXPECT_EQ(pzrt_attention_fwd(buf, buf, buf, buf, 7, strides, nullptr, nullptr, 0, 1.0, 1, 1, 1, 2, 2, 2, 2, buf,
                               ws),
            -1);
  EXPECT_EQ(pzrt_attention_fwd(buf, buf, buf, nullptr, PZRT_MASK_BOOL, strides, nullptr, nullptr, 0, 1.0, 1, 1, 1,
                               2, 2, 2, 2, buf, ws),
            -1);
  EXPECT_EQ(pzrt_attention_fwd(buf, buf, buf, buf, PZRT_MASK_ADD, nullptr, nullptr, nullptr, 0, 1.0, 1, 1, 1, 2, 2,
                               2, 2, buf, ws),
            -1);
  EXPECT_EQ(pzrt_attention_fwd(buf, buf, buf, nullptr, PZRT_MASK_NONE, nullptr, nullptr, nullptr, 0, 1.0, 1, 1, 1,
                               2, 2, 2, 2, buf, nullptr),
            -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("workspace"), std::string::npos);
  // A bias without strides.
  EXPECT_EQ(pzrt_attention_fwd(buf, buf, buf, nullptr, PZRT_MASK_NONE, nullptr, buf, nullptr, 0,
                               1.0, 1, 1, 1, 2, 2, 2, 2, buf, ws),
            -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("bias_strides"), std::string::npos)
      << pzrt_last_error();
  // A valid call still works.
  EXPECT_EQ(pzrt_attention_fwd(buf, buf, buf, nullptr, PZRT_MASK_NONE, nullptr, nullptr, nullptr, 1, 1.0, 1, 1, 1,
                               2, 2, 2, 2, buf + 128, ws),
            0);
}

} // namespace
