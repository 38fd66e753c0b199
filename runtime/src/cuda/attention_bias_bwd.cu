// The attention bias's gradient (pz.attention_bias_grad) on CUDA:
// dbias = sum of dS = P * (dout v^T - Drow) over the [B, H, Sq, Sk]
// positions that the bias's strides map onto each element (a 0 stride sums
// that axis). P and dS are recomputed per tile from q, k, v, dout and the
// lse and Drow of the forward's stats pass (attention_tile.cuh).
//
// Determinism without atomics: a block owns a set of output elements and
// sums everything that lands on them itself, in a fixed order. Its output
// is one key tile (or, when the key axis is broadcast, all keys folded into
// one column), one query tile (or all queries folded into one row), one
// batch (or all) and one head (or all). It walks its batches, heads, query
// tiles and key tiles in order, adding each tile element's dS into a
// Bq x Bk accumulator that one thread owns per element, then folds the
// broadcast rows and columns in order and writes. The strides' non-zero
// axes must address distinct elements (a broadcast view of a tensor), which
// the caller checks; elements no position maps to are zeroed first.
//
// A row the forward makes NaN (every key dropped, a NaN or +inf score) has
// NaN dS at all its keys here; the CPU kernel makes NaN only the keys its
// 64-row block looked at: all of them, unless `causal` leaves keys past
// the block's last row.
#include "pzrt/cuda_prelude.h"

#include "core/internal.h"
#include "cuda/attention_tile.cuh"

namespace pzrt::cuda::attn {
namespace {

// Shared floats: Qs [Bq][D+1], dOs [Bq][Dv+1], Ks [Bk][D+1], Vs [Bk][Dv+1],
// acc [Bq][Bk], lse and Drow [Bq].
size_t biasSharedFloats(int Bq, int Bk, int D, int Dv) {
  size_t bq = Bq, bk = Bk;
  return (bq + bk) * (D + 1) + (bq + bk) * (Dv + 1) + bq * bk + 2 * bq;
}

__global__ void biasGradKernel(Params p) {
  PZ_DYNAMIC_SHARED(float, smem);
  const int Bq = p.Bq, Bk = p.Bk, D = p.D, Dv = p.Dv;
  const int ldk = D + 1, ldv = Dv + 1;
  float *Qs = smem, *dOs = Qs + Bq * ldk, *Ks = dOs + Bq * ldv, *Vs = Ks + Bk * ldk;
  float *acc = Vs + Bk * ldv, *lse = acc + Bq * Bk, *drow = lse + Bq;

  // Which batches, heads, query and key tiles this block sums.
  const bool ownB = p.bs[0] != 0, ownH = p.bs[1] != 0, ownI = p.bs[2] != 0, ownJ = p.bs[3] != 0;
  const int64_t nh = ownH ? p.H : 1;
  const int64_t bOwn = blockIdx.z / nh, hOwn = blockIdx.z % nh;
  const int64_t b0 = ownB ? bOwn : 0, b1 = ownB ? bOwn + 1 : p.B;
  const int64_t h0 = ownH ? hOwn : 0, h1 = ownH ? hOwn + 1 : p.H;
  const int64_t iTile = static_cast<int64_t>(blockIdx.y) * Bq;
  const int64_t jTile = static_cast<int64_t>(blockIdx.x) * Bk;
  const int64_t iBeg = ownI ? iTile : 0, iEnd = ownI ? iTile + 1 : p.Sq;
  const int64_t jBeg = ownJ ? jTile : 0, jEnd = ownJ ? jTile + 1 : p.Sk;

  for (int e = threadIdx.x; e < Bq * Bk; e += blockDim.x)
    acc[e] = 0.0f;
  for (int64_t b = b0; b < b1; ++b)
    for (int64_t h = h0; h < h1; ++h) {
      const int64_t bh = b * p.H + h, bhk = b * p.Hkv + h / p.G;
      for (int64_t i0 = iBeg; i0 < iEnd; i0 += Bq) {
        __syncthreads(); // the previous query tile is used up
        loadRows(Qs, ldk, p.q ? p.q + bh * p.Sq * D : nullptr, i0, p.Sq, Bq, D);
        loadRows(dOs, ldv, p.dout ? p.dout + bh * p.Sq * Dv : nullptr, i0, p.Sq, Bq, Dv);
        loadRowStats(p, bh, i0, lse, drow);
        for (int64_t j0 = jBeg; j0 < jEnd; j0 += Bk) {
          __syncthreads(); // the previous key tile is used up
          loadRows(Ks, ldk, p.k ? p.k + bhk * p.Sk * D : nullptr, j0, p.Sk, Bk, D);
          loadRows(Vs, ldv, p.v ? p.v + bhk * p.Sk * Dv : nullptr, j0, p.Sk, Bk, Dv);
          __syncthreads();
          for (int e = threadIdx.x; e < Bq * Bk; e += blockDim.x)
            acc[e] += tileProbGrad(p, b, h, i0, j0, e / Bk, e % Bk, Qs, ldk, Ks, ldk, dOs, ldv,
                                   Vs, ldv, lse, drow)
                          .ds;
        }
      }
    }
  __syncthreads();
  // Fold the broadcast axes of the tile and write the owned elements.
  const int rows = ownI ? Bq : 1, cols = ownJ ? Bk : 1;
  for (int e = threadIdx.x; e < rows * cols; e += blockDim.x) {
    int r = e / cols, c = e % cols;
    int64_t i = ownI ? iTile + r : 0, j = ownJ ? jTile + c : 0;
    if (i >= p.Sq || j >= p.Sk)
      continue;
    float sum = 0.0f;
    for (int rr = ownI ? r : 0; rr < (ownI ? r + 1 : Bq); ++rr)
      for (int cc = ownJ ? c : 0; cc < (ownJ ? c + 1 : Bk); ++cc)
        sum += acc[rr * Bk + cc];
    p.dbias[bOwn * p.bs[0] + hOwn * p.bs[1] + i * p.bs[2] + j * p.bs[3]] = sum;
  }
}

} // namespace

int launchBiasBackward(const char *fn, Params p, int64_t biasNumel, void *stream) {
  size_t bytes = 0;
  if (!pickTile(biasSharedFloats, p.D, p.Dv, p.Bq, p.Bk, bytes))
    return fail("%s: head dims D=%d Dv=%d need more than %zu bytes of shared memory", fn, p.D,
                p.Dv, kMaxSharedBytes);
  if (launchFill(fn, p.dbias, biasNumel, 0.0f, stream))
    return -1;
  if (p.B * p.H * p.Sq == 0 || p.Sk == 0)
    return 0;
  if (allowShared(fn, "cudaFuncSetAttribute(attention biasGradKernel)", biasGradKernel, bytes))
    return -1;
  const int64_t gy = p.bs[2] ? (p.Sq + p.Bq - 1) / p.Bq : 1;
  const int64_t gz = (p.bs[0] ? p.B : 1) * (p.bs[1] ? p.H : 1);
  if (gy > 65535 || gz > 65535)
    return fail("%s: %lld query tiles or %lld (batch, head) slices of the bias beyond the "
                "grid's 65535",
                fn, (long long)gy, (long long)gz);
  dim3 grid(static_cast<unsigned>(p.bs[3] ? (p.Sk + p.Bk - 1) / p.Bk : 1),
            static_cast<unsigned>(gy), static_cast<unsigned>(gz));
  PZ_LAUNCH(grid, kThreads, bytes, static_cast<cudaStream_t>(stream), biasGradKernel)(p);
  return launchStatus(fn, "attention biasGradKernel launch");
}

} // namespace pzrt::cuda::attn
