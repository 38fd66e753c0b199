// The attention backward kernels (attention_tile.cuh), FlashAttention-2's
// split: P and dS are recomputed from q, k, the row lse and Drow,
//   P = exp(S - lse),  dS = P * (dout v^T - Drow),
// and two kernels each own what they write, so no float is ever summed by
// two blocks (no atomics; the same inputs give the same bits):
//   dkdvKernel: one block per (key tile, kv head, batch); it walks the
//     query heads of the kv head's group and their query tiles in order,
//     dV += P^T dout and dK += dS^T q kept in shared memory, then writes
//     dk = scale * dK and dv. GQA's sum over the group is that walk.
//   dqKernel: one block per (query tile, query head, batch); it walks the
//     key tiles in order, dQ += dS k, then writes dq = scale * dQ.
// With `causal`, tiles entirely above the diagonal are skipped (their P is
// 0). The plain form's NaN rules (pzrt_attention_bwd): a NaN lse (a row
// with every key dropped or a NaN/+inf score) makes that dq row NaN and the
// whole dk and dv of its kv head NaN. The block form has no such rule: a
// row with lse -inf has zero P and dS, a NaN lse propagates through the sums.
#include "pzrt/cuda_prelude.h"

#include "core/internal.h"
#include "cuda/attention_tile.cuh"

namespace pzrt::cuda::attn {
namespace {

// dkdvKernel's shared floats: Ks [Bk][D+1], Vs [Bk][Dv+1], dK [Bk][D],
// dV [Bk][Dv], Qs [Bq][D+1], dOs [Bq][Dv+1], P and dS [Bq][Bk], lse and
// Drow [Bq].
size_t dkdvSharedFloats(int Bq, int Bk, int D, int Dv) {
  size_t bq = Bq, bk = Bk;
  return bk * (D + 1) + bk * (Dv + 1) + bk * D + bk * Dv + bq * (D + 1) + bq * (Dv + 1) +
         2 * bq * bk + 2 * bq;
}

// dqKernel's: Qs [Bq][D+1], dOs [Bq][Dv+1], dQ [Bq][D], Ks [Bk][D+1],
// Vs [Bk][Dv+1], dS [Bq][Bk], lse and Drow [Bq].
size_t dqSharedFloats(int Bq, int Bk, int D, int Dv) {
  size_t bq = Bq, bk = Bk;
  return bq * (D + 1) + bq * (Dv + 1) + bq * D + bk * (D + 1) + bk * (Dv + 1) + bq * bk + 2 * bq;
}

// The first query tile whose rows can see key j0 under `causal` (rows i >= j0).
__device__ inline int64_t firstQueryTile(const Params &p, int64_t j0) {
  return p.causal ? j0 / p.Bq * p.Bq : 0;
}

__global__ void dkdvKernel(Params p) {
  PZ_DYNAMIC_SHARED(float, smem);
  const int Bq = p.Bq, Bk = p.Bk, D = p.D, Dv = p.Dv;
  const int ldk = D + 1, ldv = Dv + 1;
  float *Ks = smem, *Vs = Ks + Bk * ldk, *dK = Vs + Bk * ldv, *dV = dK + Bk * D;
  float *Qs = dV + Bk * Dv, *dOs = Qs + Bq * ldk, *P = dOs + Bq * ldv, *dS = P + Bq * Bk;
  float *lse = dS + Bq * Bk, *drow = lse + Bq;

  const int64_t b = blockIdx.z, hk = blockIdx.y, j0 = static_cast<int64_t>(blockIdx.x) * Bk;
  const int64_t bhk = b * p.Hkv + hk;
  loadRows(Ks, ldk, p.k ? p.k + bhk * p.Sk * D : nullptr, j0, p.Sk, Bk, D);
  loadRows(Vs, ldv, p.v ? p.v + bhk * p.Sk * Dv : nullptr, j0, p.Sk, Bk, Dv);
  for (int e = threadIdx.x; e < Bk * D; e += blockDim.x)
    dK[e] = 0.0f;
  for (int e = threadIdx.x; e < Bk * Dv; e += blockDim.x)
    dV[e] = 0.0f;
  // Plain form: any NaN row of the group poisons the kv head.
  bool anyNaN = false;
  if (!p.blockForm) {
    const int64_t rows = p.G * p.Sq, base = (b * p.H + hk * p.G) * p.Sq;
    for (int64_t t = threadIdx.x; t < rows; t += blockDim.x)
      anyNaN = anyNaN || p.lse[base + t] != p.lse[base + t];
  }
  const bool nanAll = __syncthreads_or(anyNaN);

  for (int64_t h = hk * p.G; h < (hk + 1) * p.G; ++h) {
    const int64_t bh = b * p.H + h;
    for (int64_t i0 = firstQueryTile(p, j0); i0 < p.Sq; i0 += Bq) {
      __syncthreads(); // the previous tile's Qs, dOs, P, dS are used up
      loadRows(Qs, ldk, p.q ? p.q + bh * p.Sq * D : nullptr, i0, p.Sq, Bq, D);
      loadRows(dOs, ldv, p.dout ? p.dout + bh * p.Sq * Dv : nullptr, i0, p.Sq, Bq, Dv);
      loadRowStats(p, bh, i0, lse, drow);
      __syncthreads();
      for (int e = threadIdx.x; e < Bq * Bk; e += blockDim.x) {
        ProbGrad g = tileProbGrad(p, b, h, i0, j0, e / Bk, e % Bk, Qs, ldk, Ks, ldk, dOs, ldv,
                                  Vs, ldv, lse, drow);
        P[e] = g.p;
        dS[e] = g.ds;
      }
      __syncthreads();
      for (int e = threadIdx.x; e < Bk * Dv; e += blockDim.x) { // dV += P^T dout
        int c = e / Dv, d = e % Dv;
        float acc = dV[e];
        for (int r = 0; r < Bq; ++r)
          acc += P[r * Bk + c] * dOs[r * ldv + d];
        dV[e] = acc;
      }
      for (int e = threadIdx.x; e < Bk * D; e += blockDim.x) { // dK += dS^T q
        int c = e / D, d = e % D;
        float acc = dK[e];
        for (int r = 0; r < Bq; ++r)
          acc += dS[r * Bk + c] * Qs[r * ldk + d];
        dK[e] = acc;
      }
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < Bk * D; e += blockDim.x)
    if (j0 + e / D < p.Sk)
      p.dk[(bhk * p.Sk + j0) * D + e] = nanAll ? p.nan : p.scale * dK[e];
  for (int e = threadIdx.x; e < Bk * Dv; e += blockDim.x)
    if (j0 + e / Dv < p.Sk)
      p.dv[(bhk * p.Sk + j0) * Dv + e] = nanAll ? p.nan : dV[e];
}

__global__ void dqKernel(Params p) {
  PZ_DYNAMIC_SHARED(float, smem);
  const int Bq = p.Bq, Bk = p.Bk, D = p.D, Dv = p.Dv;
  const int ldk = D + 1, ldv = Dv + 1;
  float *Qs = smem, *dOs = Qs + Bq * ldk, *dQ = dOs + Bq * ldv, *Ks = dQ + Bq * D;
  float *Vs = Ks + Bk * ldk, *dS = Vs + Bk * ldv, *lse = dS + Bq * Bk, *drow = lse + Bq;

  const int64_t b = blockIdx.z, h = blockIdx.y, i0 = static_cast<int64_t>(blockIdx.x) * Bq;
  const int64_t bh = b * p.H + h, bhk = b * p.Hkv + h / p.G;
  loadRows(Qs, ldk, p.q ? p.q + bh * p.Sq * D : nullptr, i0, p.Sq, Bq, D);
  loadRows(dOs, ldv, p.dout ? p.dout + bh * p.Sq * Dv : nullptr, i0, p.Sq, Bq, Dv);
  loadRowStats(p, bh, i0, lse, drow);
  for (int e = threadIdx.x; e < Bq * D; e += blockDim.x)
    dQ[e] = 0.0f;
  const float *kh = p.k ? p.k + bhk * p.Sk * D : nullptr;
  const float *vh = p.v ? p.v + bhk * p.Sk * Dv : nullptr;
  const int64_t kEnd = p.causal ? minI64(p.Sk, minI64(i0 + Bq, p.Sq)) : p.Sk;
  for (int64_t j0 = 0; j0 < kEnd; j0 += Bk) {
    __syncthreads(); // the previous key tile and dS are used up
    loadRows(Ks, ldk, kh, j0, p.Sk, Bk, D);
    loadRows(Vs, ldv, vh, j0, p.Sk, Bk, Dv);
    __syncthreads();
    for (int e = threadIdx.x; e < Bq * Bk; e += blockDim.x)
      dS[e] = tileProbGrad(p, b, h, i0, j0, e / Bk, e % Bk, Qs, ldk, Ks, ldk, dOs, ldv, Vs, ldv,
                           lse, drow)
                  .ds;
    __syncthreads();
    for (int e = threadIdx.x; e < Bq * D; e += blockDim.x) { // dQ += dS k
      int r = e / D, d = e % D;
      float acc = dQ[e];
      for (int c = 0; c < Bk; ++c)
        acc += dS[r * Bk + c] * Ks[c * ldk + d];
      dQ[e] = acc;
    }
  }
  __syncthreads();
  for (int e = threadIdx.x; e < Bq * D; e += blockDim.x) {
    int r = e / D;
    if (i0 + r >= p.Sq)
      continue;
    bool nanRow = !p.blockForm && lse[r] != lse[r];
    p.dq[(bh * p.Sq + i0) * D + e] = nanRow ? p.nan : p.scale * dQ[e];
  }
}

// Drow_i = dout_i . out_i for the block backward, one thread per row.
__global__ void rowDotsKernel(Params p, const float *out) {
  const int64_t rows = p.B * p.H * p.Sq;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < rows;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float acc = 0.0f;
    for (int c = 0; c < p.Dv; ++c)
      acc += p.dout[t * p.Dv + c] * out[t * p.Dv + c];
    p.drow[t] = acc;
  }
}

} // namespace

int launchRowDots(const char *fn, Params p, const float *out, void *stream) {
  const int64_t rows = p.B * p.H * p.Sq;
  if (rows == 0)
    return 0;
  int64_t blocks = (rows + kThreads - 1) / kThreads;
  blocks = blocks < 4096 ? blocks : 4096;
  PZ_LAUNCH(static_cast<unsigned>(blocks), kThreads, 0, static_cast<cudaStream_t>(stream),
            rowDotsKernel)(p, out);
  return launchStatus(fn, "attention rowDotsKernel launch");
}

int launchBackward(const char *fn, Params p, void *stream) {
  Params pk = p, pq = p;
  size_t kvBytes = 0, qBytes = 0;
  if (!pickTile(dkdvSharedFloats, p.D, p.Dv, pk.Bq, pk.Bk, kvBytes) ||
      !pickTile(dqSharedFloats, p.D, p.Dv, pq.Bq, pq.Bk, qBytes))
    return fail("%s: head dims D=%d Dv=%d need more than %zu bytes of shared memory", fn, p.D,
                p.Dv, kMaxSharedBytes);
  cudaStream_t s = static_cast<cudaStream_t>(stream);
  if (p.B * p.Hkv * p.Sk > 0) {
    if (allowShared(fn, "cudaFuncSetAttribute(attention dkdvKernel)", dkdvKernel, kvBytes))
      return -1;
    dim3 grid(static_cast<unsigned>((p.Sk + pk.Bk - 1) / pk.Bk), static_cast<unsigned>(p.Hkv),
              static_cast<unsigned>(p.B));
    PZ_LAUNCH(grid, kThreads, kvBytes, s, dkdvKernel)(pk);
    if (launchStatus(fn, "attention dkdvKernel launch"))
      return -1;
  }
  if (p.B * p.H * p.Sq > 0) {
    if (allowShared(fn, "cudaFuncSetAttribute(attention dqKernel)", dqKernel, qBytes))
      return -1;
    dim3 grid(static_cast<unsigned>((p.Sq + pq.Bq - 1) / pq.Bq), static_cast<unsigned>(p.H),
              static_cast<unsigned>(p.B));
    PZ_LAUNCH(grid, kThreads, qBytes, s, dqKernel)(pq);
    if (launchStatus(fn, "attention dqKernel launch"))
      return -1;
  }
  return 0;
}

} // namespace pzrt::cuda::attn
