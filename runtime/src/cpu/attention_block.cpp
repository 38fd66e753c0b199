// One block step of ring attention (fp32), forward and backward: the
// compiler's pz.attention_block (context parallelism). A rank's queries meet
// the keys and values one block at a time; the forward folds each block into
// a running output with an online-softmax merge, the backward of a block
// works from the final output and log-sum-exp of the whole attention:
//
//   S = scale * Q K^T (+ float mask); dropped positions (bool mask zero,
//       k_pos[j] > q_pos[i]) are -inf
//   forward, per query row:  l = logsumexp_j S,  lse_out = logaddexp(lse_in, l),
//     acc_out = acc_in * exp(lse_in - lse_out) + sum_j exp(S_j - lse_out) V_j
//   (the last sum is softmax_block(S) V * exp(l - lse_out))
//   backward:  P = exp(S - lse),  Drow_i = sum_c dO[i,c] * O[i,c],
//     dV = P^T dO,  dP = dO V^T,  dS = P * (dP - Drow),
//     dQ = scale * dS K,  dK = scale * dS^T Q (dK, dV summed over the query
//     heads that share a kv head)
//
// The work goes one (batch, query head) at a time: its Sq x Sk scores (and in
// the backward its dP) live in the caller's workspace, the products go through
// cblas_sgemm; the row log-sum-exps and Drow are accumulated in double with
// std::exp/std::log.
//
// Unlike pzrt_attention_fwd, a row with no kept key is not NaN: it keeps
// acc 0 and lse -inf until some block has a key for it (acc_in is ignored
// while lse_in is -inf), and in the backward a row with lse -inf has zero P
// and dS. NaN scores (or a +inf one) give a NaN lse and row.
#include "pzrt/kernels.h"
#include "pzrt/workspace.h"

#include "core/internal.h"

#include <cblas.h>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

using pzrt::fail;

namespace {

constexpr size_t kAlign = 64;
constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr double kInfD = std::numeric_limits<double>::infinity();
constexpr double kNaND = std::numeric_limits<double>::quiet_NaN();

size_t roundUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
          int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

// log(sum_j exp(x[j])) in double: -inf when n = 0 or every entry is -inf,
// NaN when an entry is NaN or +inf.
double rowLogSumExp(const float *x, int64_t n) {
  double m = -kInfD;
  for (int64_t j = 0; j < n; ++j) {
    if (x[j] != x[j])
      return kNaND;
    m = x[j] > m ? x[j] : m;
  }
  if (m == -kInfD)
    return -kInfD;
  if (m == kInfD)
    return kNaND;
  double s = 0;
  for (int64_t j = 0; j < n; ++j)
    s += std::exp(static_cast<double>(x[j]) - m);
  return m + std::log(s);
}

// log(exp(a) + exp(b)); NaN if either is NaN.
double logAddExp(double a, double b) {
  if (a == -kInfD)
    return b;
  if (b == -kInfD)
    return a;
  double m = a > b ? a : b;
  return m + std::log1p(std::exp(-std::fabs(a - b)));
}

struct Block {
  const int64_t *qPos, *kPos; // both or neither (then no causal drop)
  const void *mask;
  int maskKind;
  int64_t ms[4];
  float scale;
  int64_t B, H, Hkv, Sq, Sk, D, Dv;

  int64_t group() const { return H / Hkv; }

  // s [Sq x Sk] = scale * Q K^T of (b, h), the float mask added, dropped
  // positions -inf. Needs Sq > 0 and Sk > 0.
  void scores(const float *qh, const float *kh, int64_t b, int64_t h, float *s) const {
    if (D > 0)
      gemm(false, true, Sq, Sk, D, scale, qh, D, kh, D, 0.0f, s, Sk);
    else // no features: every score is scale * 0
      for (int64_t t = 0; t < Sq * Sk; ++t)
        s[t] = 0.0f * scale;
    for (int64_t i = 0; i < Sq; ++i) {
      float *row = s + i * Sk;
      int64_t off = b * ms[0] + h * ms[1] + i * ms[2];
      if (maskKind == PZRT_MASK_BOOL) {
        const uint8_t *mr = static_cast<const uint8_t *>(mask) + off;
        for (int64_t j = 0; j < Sk; ++j)
          row[j] = mr[j * ms[3]] ? row[j] : -kInf;
      } else if (maskKind == PZRT_MASK_ADD) {
        const float *mr = static_cast<const float *>(mask) + off;
        for (int64_t j = 0; j < Sk; ++j)
          row[j] += mr[j * ms[3]];
      }
      if (qPos)
        for (int64_t j = 0; j < Sk; ++j)
          if (kPos[j] > qPos[i])
            row[j] = -kInf;
    }
  }
};

// Fills `a` and checks what both directions share; returns 0 or fail(...).
int setUp(const char *fn, Block &a, const float *q, const float *k, const float *v,
          const int64_t *qPos, const int64_t *kPos, const void *mask, int maskKind,
          const int64_t *strides, double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
          int64_t Sk, int64_t D, int64_t Dv, const void *workspace, int backward) {
  a = Block{qPos, kPos, mask, maskKind, {0, 0, 0, 0}, static_cast<float>(scale),
            B,    H,    Hkv,  Sq,       Sk,           D, Dv};
  if (B < 0 || H < 0 || Hkv < 1 || Sq < 0 || Sk < 0 || D < 0 || Dv < 0)
    return fail("%s: bad sizes B=%lld H=%lld Hkv=%lld Sq=%lld Sk=%lld D=%lld Dv=%lld", fn,
                (long long)B, (long long)H, (long long)Hkv, (long long)Sq, (long long)Sk,
                (long long)D, (long long)Dv);
  if (H % Hkv != 0)
    return fail("%s: %lld query heads are not a multiple of %lld kv heads", fn, (long long)H,
                (long long)Hkv);
  if (Sq > INT_MAX || Sk > INT_MAX || D > INT_MAX || Dv > INT_MAX)
    return fail("%s: sizes beyond INT_MAX are not supported by this BLAS", fn);
  if (maskKind != PZRT_MASK_NONE && maskKind != PZRT_MASK_BOOL && maskKind != PZRT_MASK_ADD)
    return fail("%s: unknown mask kind %d", fn, maskKind);
  if (maskKind != PZRT_MASK_NONE) {
    if (!strides)
      return fail("%s: NULL mask_strides with mask kind %d", fn, maskKind);
    for (int i = 0; i < 4; ++i)
      a.ms[i] = strides[i];
  }
  const bool work = B * H * Sq > 0 && Sk > 0;
  if (!work)
    return 0;
  if (maskKind != PZRT_MASK_NONE && !mask)
    return fail("%s: NULL mask with mask kind %d", fn, maskKind);
  if ((qPos == nullptr) != (kPos == nullptr))
    return fail("%s: q_pos and k_pos must be both given or both NULL", fn);
  if ((D > 0 && (!q || !k)) || (Dv > 0 && !v))
    return fail("%s: NULL query, key or value", fn);
  if (!workspace)
    return fail("%s: NULL workspace (needs %zu bytes)", fn,
                pzrt_attention_block_workspace_bytes(B, H, Hkv, Sq, Sk, D, Dv, backward));
  if (reinterpret_cast<uintptr_t>(workspace) % alignof(float) != 0)
    return fail("%s: misaligned workspace", fn);
  return 0;
}

} // namespace

extern "C" {

int pzrt_attention_block_fwd(const float *q, const float *k, const float *v,
                             const int64_t *q_pos, const int64_t *k_pos, const void *mask,
                             int mask_kind, const int64_t mask_strides[4], double scale, int64_t B,
                             int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D, int64_t Dv,
                             const float *acc_in, const float *lse_in, float *acc_out,
                             float *lse_out, void *workspace) {
  Block a;
  if (setUp("attention_block_fwd", a, q, k, v, q_pos, k_pos, mask, mask_kind, mask_strides,
            scale, B, H, Hkv, Sq, Sk, D, Dv, workspace, 0))
    return -1;
  if (B * H * Sq > 0 && (!lse_in || !lse_out))
    return fail("attention_block_fwd: NULL lse_in or lse_out");
  if (B * H * Sq * Dv > 0 && (!acc_in || !acc_out))
    return fail("attention_block_fwd: NULL acc_in or acc_out");
  const int64_t G = a.group();
  float *s = static_cast<float *>(workspace);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t bh = b * H + h, hk = h / G;
      const float *vh = v ? v + (b * Hkv + hk) * Sk * Dv : nullptr;
      if (Sk > 0 && Sq > 0)
        a.scores(q ? q + bh * Sq * D : nullptr, k ? k + (b * Hkv + hk) * Sk * D : nullptr, b, h,
                 s);
      for (int64_t i = 0; i < Sq; ++i) {
        float *row = Sk > 0 ? s + i * Sk : nullptr;
        const double lin = lse_in[bh * Sq + i]; // read before lse_out (may alias) is written
        const double lout = logAddExp(lin, rowLogSumExp(row, Sk));
        lse_out[bh * Sq + i] = static_cast<float>(lout);
        const float *ai = acc_in ? acc_in + (bh * Sq + i) * Dv : nullptr;
        float *ao = acc_out ? acc_out + (bh * Sq + i) * Dv : nullptr;
        if (lout == -kInfD) { // no key kept so far: acc 0, and this block adds nothing
          for (int64_t j = 0; j < Sk; ++j)
            row[j] = 0.0f;
          for (int64_t c = 0; c < Dv; ++c)
            ao[c] = 0.0f;
          continue;
        }
        // The block's keys weighted against every key seen: exp(S - lse_out).
        for (int64_t j = 0; j < Sk; ++j)
          row[j] = static_cast<float>(std::exp(static_cast<double>(row[j]) - lout));
        // Rescale the running output (ignored while lse_in is -inf).
        if (lin == -kInfD) {
          for (int64_t c = 0; c < Dv; ++c)
            ao[c] = 0.0f;
        } else {
          const float alpha = static_cast<float>(std::exp(lin - lout));
          for (int64_t c = 0; c < Dv; ++c)
            ao[c] = ai[c] * alpha;
        }
      }
      if (Sk > 0 && Sq > 0 && Dv > 0) // acc_out += exp(S - lse_out) V
        gemm(false, false, Sq, Dv, Sk, 1.0f, s, Sk, vh, Dv, 1.0f, acc_out + bh * Sq * Dv, Dv);
    }
  return 0;
}

int pzrt_attention_block_bwd(const float *dout, const float *q, const float *k, const float *v,
                             const float *out, const float *lse, const int64_t *q_pos,
                             const int64_t *k_pos, const void *mask, int mask_kind,
                             const int64_t mask_strides[4], double scale, int64_t B, int64_t H,
                             int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D, int64_t Dv,
                             float *dq, float *dk, float *dv, void *workspace) {
  Block a;
  if (setUp("attention_block_bwd", a, q, k, v, q_pos, k_pos, mask, mask_kind, mask_strides,
            scale, B, H, Hkv, Sq, Sk, D, Dv, workspace, 1))
    return -1;
  const bool work = B * H * Sq > 0 && Sk > 0;
  if ((B * H * Sq * D > 0 && !dq) || (B * Hkv * Sk * D > 0 && !dk) ||
      (B * Hkv * Sk * Dv > 0 && !dv))
    return fail("attention_block_bwd: NULL gradient pointer");
  if (work && (!lse || (Dv > 0 && (!dout || !out))))
    return fail("attention_block_bwd: NULL dout, out or lse");
  if (B * Hkv * Sk * D > 0)
    std::memset(dk, 0, static_cast<size_t>(B * Hkv * Sk * D) * sizeof(float));
  if (B * Hkv * Sk * Dv > 0)
    std::memset(dv, 0, static_cast<size_t>(B * Hkv * Sk * Dv) * sizeof(float));
  if (B * H * Sq * D > 0 && Sk == 0) // no keys in this block: no part of dq
    std::memset(dq, 0, static_cast<size_t>(B * H * Sq * D) * sizeof(float));
  if (!work)
    return 0;
  const int64_t G = a.group();
  float *p = static_cast<float *>(workspace);
  float *dp = reinterpret_cast<float *>(static_cast<char *>(workspace) +
                                        roundUp(static_cast<size_t>(Sq * Sk) * sizeof(float)));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t hk = 0; hk < Hkv; ++hk) {
      const float *kh = k ? k + (b * Hkv + hk) * Sk * D : nullptr;
      const float *vh = v ? v + (b * Hkv + hk) * Sk * Dv : nullptr;
      float *dkh = dk ? dk + (b * Hkv + hk) * Sk * D : nullptr;
      float *dvh = dv ? dv + (b * Hkv + hk) * Sk * Dv : nullptr;
      for (int64_t h = hk * G; h < (hk + 1) * G; ++h) {
        const int64_t bh = b * H + h;
        const float *qh = q ? q + bh * Sq * D : nullptr;
        const float *gh = dout ? dout + bh * Sq * Dv : nullptr;
        const float *oh = out ? out + bh * Sq * Dv : nullptr;
        // P = exp(S - lse); a row with lse -inf is zero.
        a.scores(qh, kh, b, h, p);
        for (int64_t i = 0; i < Sq; ++i) {
          const double li = lse[bh * Sq + i];
          float *row = p + i * Sk;
          for (int64_t j = 0; j < Sk; ++j)
            row[j] = li == -kInfD ? 0.0f
                                  : static_cast<float>(std::exp(static_cast<double>(row[j]) - li));
        }
        if (Dv > 0) { // dP = dO V^T; dV += P^T dO
          gemm(false, true, Sq, Sk, Dv, 1.0f, gh, Dv, vh, Dv, 0.0f, dp, Sk);
          gemm(true, false, Sk, Dv, Sq, 1.0f, p, Sk, gh, Dv, 1.0f, dvh, Dv);
        } else {
          std::memset(dp, 0, static_cast<size_t>(Sq * Sk) * sizeof(float));
        }
        // dS = P * (dP - Drow), into dp.
        for (int64_t i = 0; i < Sq; ++i) {
          float *dr = dp + i * Sk;
          const float *pr = p + i * Sk;
          if (static_cast<double>(lse[bh * Sq + i]) == -kInfD) {
            for (int64_t j = 0; j < Sk; ++j)
              dr[j] = 0.0f;
            continue;
          }
          double drow = 0;
          for (int64_t c = 0; c < Dv; ++c)
            drow += static_cast<double>(gh[i * Dv + c]) * oh[i * Dv + c];
          const float drowf = static_cast<float>(drow);
          for (int64_t j = 0; j < Sk; ++j)
            dr[j] = pr[j] * (dr[j] - drowf);
        }
        if (D > 0) { // dQ = scale * dS K; dK += scale * dS^T Q
          gemm(false, false, Sq, D, Sk, a.scale, dp, Sk, kh, D, 0.0f, dq + bh * Sq * D, D);
          gemm(true, false, Sk, D, Sq, a.scale, dp, Sk, qh, D, 1.0f, dkh, D);
        }
      }
    }
  return 0;
}

} // extern "C"
