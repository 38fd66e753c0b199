// Scaled dot-product attention (fp32), forward and backward, with the
// semantics of the compiler's reference interpreter (lib/Interp/Attention.cpp):
//
//   S = scale * Q K^T + bias + mask   (the bias (ALiBi) and a float mask
//                                      add; a bool mask and `causal` set
//                                      dropped positions to -inf)
//   P = softmax(S) along the key axis,   O = P V
//   dV = P^T dO (summed over the query heads sharing a kv head),
//   dP = dO V^T,  dS = P * (dP - rowsum(dP * P)),
//   dQ = scale * dS K,  dK = scale * dS^T Q (summed like dV).
//
// The work goes one (batch, query head) and one block of at most kRowBlock
// query rows at a time: the block's scores (and in the backward its dP) live
// in the caller's workspace, the products go through cblas_sgemm. With
// `causal` a block only looks at the keys [0, last row of the block], so about
// half of the products are skipped.
//
// A row whose every position is dropped (or whose scores contain NaN or +inf)
// has an all-NaN probability row, as in the interpreter (exp(-inf - -inf)):
// its output row is NaN; in the backward its dQ row is NaN and so are the
// whole dK and dV of its kv head (every key position meets a NaN probability).
#include "pzrt/kernels.h"
#include "pzrt/workspace.h"

#include "core/internal.h"

#include <cblas.h>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

using pzrt::fail;

namespace {

// Query rows per block; the workspace holds kRowBlock x Sk floats (twice in
// the backward).
constexpr int64_t kRowBlock = PZRT_ATTENTION_ROW_BLOCK;
constexpr size_t kAlign = 64;

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

size_t roundUp(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

int64_t rowBlock(int64_t sq) { return sq < kRowBlock ? sq : kRowBlock; }

// A backward's second scratch block, dP, after P's bq x Sk floats (one row
// block each), as the workspace size accounts for them.
float *backwardScratch(void *workspace, int64_t bq, int64_t Sk) {
  return reinterpret_cast<float *>(static_cast<char *>(workspace) +
                                   roundUp(static_cast<size_t>(bq * Sk) * sizeof(float)));
}

// exp(x) for x <= 0 (x may be -inf, not NaN): Cephes' expf polynomial.
// Relative error about 2e-7; exp(x) for x < -87.3 (below the smallest normal
// float) is 0. The SSE2 version below performs the same operations in the
// same order, so both give the same bits.
constexpr float kExpLo = -87.33654f, kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f,
                kLn2Lo = -2.12194440e-4f, kP0 = 1.9875691500e-4f, kP1 = 1.3981999507e-3f,
                kP2 = 8.3334519073e-3f, kP3 = 4.1665795894e-2f, kP4 = 1.6666665459e-1f,
                kP5 = 5.0000001201e-1f;

inline float expNonPositive(float x) {
  float xc = x < kExpLo ? kExpLo : x;
  // n = round(xc / ln 2); xc <= 0 so truncating (t - 0.5) rounds to nearest.
  int32_t n = static_cast<int32_t>(xc * kLog2e - 0.5f);
  float fn = static_cast<float>(n);
  float r = xc - fn * kLn2Hi;
  r = r - fn * kLn2Lo;
  float p = kP0;
  p = p * r + kP1;
  p = p * r + kP2;
  p = p * r + kP3;
  p = p * r + kP4;
  p = p * r + kP5;
  p = p * r * r + r + 1.0f;
  // 2^n; n >= -126 so the exponent field stays normal.
  int32_t bits = (n + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  float e = p * scale;
  return x < kExpLo ? 0.0f : e;
}

#if defined(__SSE2__)
inline __m128 expNonPositive4(__m128 x) {
  const __m128 lo = _mm_set1_ps(kExpLo);
  __m128 xc = _mm_max_ps(x, lo);
  __m128i n = _mm_cvttps_epi32(_mm_sub_ps(_mm_mul_ps(xc, _mm_set1_ps(kLog2e)), _mm_set1_ps(0.5f)));
  __m128 fn = _mm_cvtepi32_ps(n);
  __m128 r = _mm_sub_ps(xc, _mm_mul_ps(fn, _mm_set1_ps(kLn2Hi)));
  r = _mm_sub_ps(r, _mm_mul_ps(fn, _mm_set1_ps(kLn2Lo)));
  __m128 p = _mm_set1_ps(kP0);
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(kP1));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(kP2));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(kP3));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(kP4));
  p = _mm_add_ps(_mm_mul_ps(p, r), _mm_set1_ps(kP5));
  p = _mm_add_ps(_mm_add_ps(_mm_mul_ps(_mm_mul_ps(p, r), r), r), _mm_set1_ps(1.0f));
  __m128 scale = _mm_castsi128_ps(_mm_slli_epi32(_mm_add_epi32(n, _mm_set1_epi32(127)), 23));
  return _mm_andnot_ps(_mm_cmplt_ps(x, lo), _mm_mul_ps(p, scale));
}
#endif

// Softmax of one row of n >= 1 scores in place (-inf entries are dropped
// positions). Returns false, with the row set to NaN, when the interpreter's
// softmax gives NaN: every entry -inf, or an entry NaN or +inf.
bool softmaxRow(float *x, int64_t n) {
  float m = -kInf;
  bool isBad = false;
  int64_t j = 0;
#if defined(__SSE2__)
  {
    __m128 mx = _mm_set1_ps(-kInf), bad = _mm_setzero_ps();
    for (; j + 4 <= n; j += 4) {
      __m128 v = _mm_loadu_ps(x + j);
      mx = _mm_max_ps(mx, v);
      bad = _mm_or_ps(bad, _mm_cmpunord_ps(v, v));
    }
    alignas(16) float lanes[4];
    _mm_store_ps(lanes, mx);
    for (float l : lanes)
      m = l > m ? l : m;
    isBad = _mm_movemask_ps(bad) != 0;
  }
#endif
  for (; j < n; ++j) {
    m = x[j] > m ? x[j] : m;
    isBad = isBad || x[j] != x[j];
  }
  if (isBad || !(m > -kInf && m < kInf)) {
    for (j = 0; j < n; ++j)
      x[j] = kNaN;
    return false;
  }
  double s = 0;
  j = 0;
#if defined(__SSE2__)
  {
    __m128 vm = _mm_set1_ps(m);
    __m128d s0 = _mm_setzero_pd(), s1 = _mm_setzero_pd(), s2 = _mm_setzero_pd(),
            s3 = _mm_setzero_pd();
    for (; j + 8 <= n; j += 8) {
      __m128 e0 = expNonPositive4(_mm_sub_ps(_mm_loadu_ps(x + j), vm));
      __m128 e1 = expNonPositive4(_mm_sub_ps(_mm_loadu_ps(x + j + 4), vm));
      _mm_storeu_ps(x + j, e0);
      _mm_storeu_ps(x + j + 4, e1);
      s0 = _mm_add_pd(s0, _mm_cvtps_pd(e0));
      s1 = _mm_add_pd(s1, _mm_cvtps_pd(_mm_movehl_ps(e0, e0)));
      s2 = _mm_add_pd(s2, _mm_cvtps_pd(e1));
      s3 = _mm_add_pd(s3, _mm_cvtps_pd(_mm_movehl_ps(e1, e1)));
    }
    alignas(16) double lanes[2];
    _mm_store_pd(lanes, _mm_add_pd(_mm_add_pd(s0, s1), _mm_add_pd(s2, s3)));
    s = lanes[0] + lanes[1];
  }
#endif
  for (; j < n; ++j) {
    float e = expNonPositive(x[j] - m);
    x[j] = e;
    s += e;
  }
  float inv = static_cast<float>(1.0 / s); // s >= 1: the maximum contributes exp(0)
  for (j = 0; j < n; ++j)
    x[j] *= inv;
  return true;
}

void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
          int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

struct Attn {
  const void *mask;
  int maskKind;
  int64_t ms[4];
  const float *bias; // NULL: none
  int64_t bs[4];     // the bias's strides over [B, H, Sq, Sk]
  bool causal;
  float scale;
  int64_t B, H, Hkv, Sq, Sk, D, Dv;

  int64_t group() const { return H / Hkv; }
  // Keys that a block of query rows ending (exclusive) at row i1 can see.
  int64_t keysFor(int64_t i1) const { return causal && i1 < Sk ? i1 : Sk; }
  // Keys that query row i can see; the rest of the block's row is zero.
  int64_t keysOfRow(int64_t i) const { return causal && i + 1 < Sk ? i + 1 : Sk; }

  // S = scale * Q[i0:i1] K[:kend]^T, masked, then softmax, into p (ld kend).
  // Sets rowOk[r] to whether row i0+r is finite. Returns whether all are.
  bool probabilities(const float *qh, const float *kh, int64_t b, int64_t h, int64_t i0,
                     int64_t i1, int64_t kend, float *p, bool *rowOk) const {
    int64_t rows = i1 - i0;
    if (D > 0)
      gemm(false, true, rows, kend, D, scale, qh + i0 * D, D, kh, D, 0.0f, p, kend);
    else // no features: every score is scale * 0 (NaN for an infinite scale, as in double)
      for (int64_t t = 0; t < rows * kend; ++t)
        p[t] = 0.0f * scale;
    bool all = true;
    for (int64_t r = 0; r < rows; ++r) {
      int64_t i = i0 + r;
      float *pr = p + r * kend;
      int64_t n = keysOfRow(i);
      if (bias) {
        const float *br = bias + b * bs[0] + h * bs[1] + i * bs[2];
        int64_t js = bs[3];
        for (int64_t j = 0; j < n; ++j)
          pr[j] += br[j * js];
      }
      if (maskKind != PZRT_MASK_NONE) {
        int64_t off = b * ms[0] + h * ms[1] + i * ms[2], js = ms[3];
        if (maskKind == PZRT_MASK_BOOL) {
          const uint8_t *mr = static_cast<const uint8_t *>(mask) + off;
          if (js == 1) {
            for (int64_t j = 0; j < n; ++j)
              pr[j] = mr[j] ? pr[j] : -kInf;
          } else {
            for (int64_t j = 0; j < n; ++j)
              pr[j] = mr[j * js] ? pr[j] : -kInf;
          }
        } else {
          const float *mr = static_cast<const float *>(mask) + off;
          if (js == 1) {
            for (int64_t j = 0; j < n; ++j)
              pr[j] += mr[j];
          } else {
            for (int64_t j = 0; j < n; ++j)
              pr[j] += mr[j * js];
          }
        }
      }
      bool ok = softmaxRow(pr, n);
      for (int64_t j = n; j < kend; ++j)
        pr[j] = ok ? 0.0f : kNaN;
      rowOk[r] = ok;
      all = all && ok;
    }
    return all;
  }
};

int check(const char *fn, const Attn &a, const float *q, const float *k, const float *v,
          const void *workspace, bool backward) {
  if (a.B < 0 || a.H < 0 || a.Hkv < 1 || a.Sq < 0 || a.Sk < 0 || a.D < 0 || a.Dv < 0)
    return fail("%s: bad sizes B=%lld H=%lld Hkv=%lld Sq=%lld Sk=%lld D=%lld Dv=%lld", fn,
                (long long)a.B, (long long)a.H, (long long)a.Hkv, (long long)a.Sq,
                (long long)a.Sk, (long long)a.D, (long long)a.Dv);
  if (a.H % a.Hkv != 0)
    return fail("%s: %lld query heads are not a multiple of %lld kv heads", fn, (long long)a.H,
                (long long)a.Hkv);
  if (a.Sq > INT_MAX || a.Sk > INT_MAX || a.D > INT_MAX || a.Dv > INT_MAX)
    return fail("%s: sizes beyond INT_MAX are not supported by this BLAS", fn);
  if (a.maskKind != PZRT_MASK_NONE && a.maskKind != PZRT_MASK_BOOL &&
      a.maskKind != PZRT_MASK_ADD)
    return fail("%s: unknown mask kind %d", fn, a.maskKind);
  bool work = a.B * a.H * a.Sq > 0 && a.Sk > 0;
  if (work && a.maskKind != PZRT_MASK_NONE && !a.mask)
    return fail("%s: NULL mask with mask kind %d", fn, a.maskKind);
  if (work && (!q || !k || !v))
    return fail("%s: NULL query, key or value", fn);
  if (work && !workspace)
    return fail("%s: NULL workspace (needs %zu bytes)", fn,
                pzrt_attention_workspace_bytes(a.B, a.H, a.Hkv, a.Sq, a.Sk, a.D, a.Dv,
                                               backward ? 1 : 0));
  if (reinterpret_cast<uintptr_t>(workspace) % alignof(float) != 0)
    return fail("%s: misaligned workspace", fn);
  return 0;
}

bool fillAttn(Attn &a, const void *mask, int maskKind, const int64_t *strides, const float *bias,
              const int64_t *biasStrides, int causal, double scale, int64_t B, int64_t H,
              int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D, int64_t Dv) {
  a.mask = mask;
  a.maskKind = maskKind;
  a.bias = bias;
  for (int i = 0; i < 4; ++i)
    a.ms[i] = a.bs[i] = 0;
  if (bias) {
    if (!biasStrides)
      return false;
    for (int i = 0; i < 4; ++i)
      a.bs[i] = biasStrides[i];
  }
  a.causal = causal != 0;
  a.scale = static_cast<float>(scale);
  a.B = B;
  a.H = H;
  a.Hkv = Hkv;
  a.Sq = Sq;
  a.Sk = Sk;
  a.D = D;
  a.Dv = Dv;
  if (maskKind == PZRT_MASK_BOOL || maskKind == PZRT_MASK_ADD) {
    if (!strides)
      return false;
    for (int i = 0; i < 4; ++i)
      a.ms[i] = strides[i];
  }
  return true;
}

void fillNaN(float *x, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    x[i] = kNaN;
}

} // namespace

extern "C" {


int pzrt_attention_fwd(const float *q, const float *k, const float *v, const void *mask,
                       int mask_kind, const int64_t mask_strides[4], const float *bias,
                       const int64_t bias_strides[4], int causal, double scale, int64_t B,
                       int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D, int64_t Dv,
                       float *out, void *workspace) {
  Attn a;
  if (!fillAttn(a, mask, mask_kind, mask_strides, bias, bias_strides, causal, scale, B, H, Hkv,
                Sq, Sk, D, Dv))
    return fail("attention_fwd: NULL mask_strides with mask kind %d, or NULL bias_strides with "
                "a bias", mask_kind);
  if (check("attention_fwd", a, q, k, v, workspace, false))
    return -1;
  if (B * H * Sq * Dv > 0 && !out)
    return fail("attention_fwd: NULL output");
  if (B * H * Sq == 0 || Dv == 0)
    return 0;
  if (Sk == 0) { // softmax over no keys: the weighted sum is empty
    std::memset(out, 0, static_cast<size_t>(B * H * Sq * Dv) * sizeof(float));
    return 0;
  }
  float *p = static_cast<float *>(workspace);
  bool rowOk[kRowBlock];
  const int64_t G = a.group(), bq = rowBlock(Sq);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      int64_t hk = h / G;
      const float *qh = q + (b * H + h) * Sq * D;
      const float *kh = k + (b * Hkv + hk) * Sk * D;
      const float *vh = v + (b * Hkv + hk) * Sk * Dv;
      float *oh = out + (b * H + h) * Sq * Dv;
      for (int64_t i0 = 0; i0 < Sq; i0 += bq) {
        int64_t i1 = i0 + bq < Sq ? i0 + bq : Sq, kend = a.keysFor(i1);
        bool all = a.probabilities(qh, kh, b, h, i0, i1, kend, p, rowOk);
        gemm(false, false, i1 - i0, Dv, kend, 1.0f, p, kend, vh, Dv, 0.0f, oh + i0 * Dv, Dv);
        if (!all)
          for (int64_t r = 0; r < i1 - i0; ++r)
            if (!rowOk[r])
              fillNaN(oh + (i0 + r) * Dv, Dv);
      }
    }
  return 0;
}

int pzrt_attention_bwd(const float *dout, const float *q, const float *k, const float *v,
                       const void *mask, int mask_kind, const int64_t mask_strides[4],
                       const float *bias, const int64_t bias_strides[4], int causal,
                       double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk,
                       int64_t D, int64_t Dv, float *dq, float *dk, float *dv, void *workspace) {
  Attn a;
  if (!fillAttn(a, mask, mask_kind, mask_strides, bias, bias_strides, causal, scale, B, H, Hkv,
                Sq, Sk, D, Dv))
    return fail("attention_bwd: NULL mask_strides with mask kind %d, or NULL bias_strides with "
                "a bias", mask_kind);
  if (check("attention_bwd", a, q, k, v, workspace, true))
    return -1;
  if ((B * H * Sq * D > 0 && !dq) || (B * Hkv * Sk * D > 0 && !dk) ||
      (B * Hkv * Sk * Dv > 0 && !dv) || (B * H * Sq * Dv > 0 && Sk > 0 && !dout))
    return fail("attention_bwd: NULL gradient pointer");
  if (B * Hkv * Sk * D > 0)
    std::memset(dk, 0, static_cast<size_t>(B * Hkv * Sk * D) * sizeof(float));
  if (B * Hkv * Sk * Dv > 0)
    std::memset(dv, 0, static_cast<size_t>(B * Hkv * Sk * Dv) * sizeof(float));
  if (B * H * Sq == 0)
    return 0;
  if (Sk == 0) {
    if (D > 0)
      std::memset(dq, 0, static_cast<size_t>(B * H * Sq * D) * sizeof(float));
    return 0;
  }
  const int64_t G = a.group(), bq = rowBlock(Sq);
  float *p = static_cast<float *>(workspace), *dp = backwardScratch(workspace, bq, Sk);
  bool rowOk[kRowBlock];
  for (int64_t b = 0; b < B; ++b)
    for (int64_t hk = 0; hk < Hkv; ++hk) {
      const float *kh = k + (b * Hkv + hk) * Sk * D;
      const float *vh = v + (b * Hkv + hk) * Sk * Dv;
      float *dkh = dk + (b * Hkv + hk) * Sk * D;
      float *dvh = dv + (b * Hkv + hk) * Sk * Dv;
      bool poisoned = false; // some query row of this kv head has NaN probabilities
      for (int64_t h = hk * G; h < (hk + 1) * G; ++h) {
        const float *qh = q + (b * H + h) * Sq * D;
        const float *gh = dout + (b * H + h) * Sq * Dv;
        float *dqh = dq + (b * H + h) * Sq * D;
        for (int64_t i0 = 0; i0 < Sq; i0 += bq) {
          int64_t i1 = i0 + bq < Sq ? i0 + bq : Sq, rows = i1 - i0, kend = a.keysFor(i1);
          bool all = a.probabilities(qh, kh, b, h, i0, i1, kend, p, rowOk);
          poisoned = poisoned || !all;
          const float *gb = gh + i0 * Dv;
          // dP = dO V^T; dV += P^T dO.
          if (Dv > 0) {
            gemm(false, true, rows, kend, Dv, 1.0f, gb, Dv, vh, Dv, 0.0f, dp, kend);
            gemm(true, false, kend, Dv, rows, 1.0f, p, kend, gb, Dv, 1.0f, dvh, Dv);
          } else {
            std::memset(dp, 0, static_cast<size_t>(rows * kend) * sizeof(float));
          }
          // dS = scale * P * (dP - rowsum(dP * P)), into dp.
          for (int64_t r = 0; r < rows; ++r) {
            const float *pr = p + r * kend;
            float *dr = dp + r * kend;
            double acc[8] = {};
            int64_t j = 0;
            for (; j + 8 <= kend; j += 8)
              for (int l = 0; l < 8; ++l)
                acc[l] += static_cast<double>(dr[j + l]) * pr[j + l];
            double rs = 0;
            for (; j < kend; ++j)
              rs += static_cast<double>(dr[j]) * pr[j];
            for (int l = 0; l < 8; ++l)
              rs += acc[l];
            float rsf = static_cast<float>(rs), sc = a.scale;
            for (j = 0; j < kend; ++j)
              dr[j] = pr[j] * (dr[j] - rsf) * sc;
          }
          if (D > 0) {
            // dQ = dS K; dK += dS^T Q.
            gemm(false, false, rows, D, kend, 1.0f, dp, kend, kh, D, 0.0f, dqh + i0 * D, D);
            gemm(true, false, kend, D, rows, 1.0f, dp, kend, qh + i0 * D, D, 1.0f, dkh, D);
            if (!all)
              for (int64_t r = 0; r < rows; ++r)
                if (!rowOk[r])
                  fillNaN(dqh + (i0 + r) * D, D);
          }
        }
      }
      if (poisoned) {
        fillNaN(dkh, Sk * D);
        fillNaN(dvh, Sk * Dv);
      }
    }
  return 0;
}

int pzrt_attention_bias_bwd(const float *dout, const float *q, const float *k, const float *v,
                            const void *mask, int mask_kind, const int64_t mask_strides[4],
                            const float *bias, const int64_t bias_strides[4],
                            int64_t bias_numel, int causal, double scale, int64_t B, int64_t H,
                            int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D, int64_t Dv,
                            float *dbias, void *workspace) {
  Attn a;
  if (!bias || !fillAttn(a, mask, mask_kind, mask_strides, bias, bias_strides, causal, scale, B,
                         H, Hkv, Sq, Sk, D, Dv))
    return fail("attention_bias_bwd: NULL bias or bias_strides, or NULL mask_strides with mask "
                "kind %d", mask_kind);
  if (check("attention_bias_bwd", a, q, k, v, workspace, true))
    return -1;
  if (bias_numel < 0 || (bias_numel > 0 && !dbias) ||
      (B * H * Sq * Dv > 0 && Sk > 0 && !dout))
    return fail("attention_bias_bwd: NULL gradient pointer or bad bias size %lld",
                (long long)bias_numel);
  if (bias_numel > 0)
    std::memset(dbias, 0, static_cast<size_t>(bias_numel) * sizeof(float));
  if (B * H * Sq == 0 || Sk == 0)
    return 0;
  const int64_t G = a.group(), bq = rowBlock(Sq);
  float *p = static_cast<float *>(workspace), *dp = backwardScratch(workspace, bq, Sk);
  bool rowOk[kRowBlock];
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      int64_t hk = h / G;
      const float *qh = q + (b * H + h) * Sq * D;
      const float *kh = k + (b * Hkv + hk) * Sk * D;
      const float *vh = v + (b * Hkv + hk) * Sk * Dv;
      const float *gh = dout + (b * H + h) * Sq * Dv;
      for (int64_t i0 = 0; i0 < Sq; i0 += bq) {
        int64_t i1 = i0 + bq < Sq ? i0 + bq : Sq, rows = i1 - i0, kend = a.keysFor(i1);
        a.probabilities(qh, kh, b, h, i0, i1, kend, p, rowOk);
        // dP = dO V^T.
        if (Dv > 0)
          gemm(false, true, rows, kend, Dv, 1.0f, gh + i0 * Dv, Dv, vh, Dv, 0.0f, dp, kend);
        else
          std::memset(dp, 0, static_cast<size_t>(rows * kend) * sizeof(float));
        // dS = P * (dP - rowsum(dP * P)), summed into the bias's elements
        // (the keys a causal row drops have P = 0 and add nothing).
        for (int64_t r = 0; r < rows; ++r) {
          const float *pr = p + r * kend;
          const float *dr = dp + r * kend;
          double rs = 0;
          for (int64_t j = 0; j < kend; ++j)
            rs += static_cast<double>(dr[j]) * pr[j];
          float rsf = static_cast<float>(rs);
          float *db = dbias + b * a.bs[0] + h * a.bs[1] + (i0 + r) * a.bs[2];
          for (int64_t j = 0; j < kend; ++j)
            db[j * a.bs[3]] += pr[j] * (dr[j] - rsf);
        }
      }
    }
  return 0;
}

} // extern "C"
