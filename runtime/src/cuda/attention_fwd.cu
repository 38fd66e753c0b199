// The attention forward kernel (attention_tile.cuh): one block per (tile of
// Bq query rows, query head, batch), the key tiles in order through shared
// memory with FlashAttention's online softmax. Per query row it keeps the
// running maximum m, the running sum l of exp(S - m) and the unnormalized
// output O = sum_j exp(S_ij - m) v_j; a new key tile with maximum m' scales
// l and O by exp(m - m'). The same kernel writes, by mode:
//   kFwdOut:   out = O / l; NaN for a row the CPU makes NaN (every key
//              dropped, or a NaN or +inf score);
//   kFwdStats: lse = m + log l (NaN for those rows) and Drow = dout . out;
//   kFwdBlock: the ring merge of pz.attention_block with l_blk = m + log l
//              (-inf with no key kept): lse_out = logaddexp(lse_in, l_blk),
//              acc_out = acc_in exp(lse_in - lse_out) + O exp(m - lse_out).
// One thread per query row does the softmax bookkeeping; the products spread
// over all 128 threads, each owning fixed elements, so the result does not
// depend on scheduling.
#include "pzrt/cuda_prelude.h"

#include "core/internal.h"
#include "cuda/attention_tile.cuh"

namespace pzrt::cuda::attn {
namespace {

// Shared memory of forwardKernel, in floats: Qs [Bq][D+1], KV (k, then v,
// tile) [Bk][max(D,Dv)+1], S [Bq][Bk], O [Bq][Dv], six row vectors [Bq].
size_t forwardSharedFloats(int Bq, int Bk, int D, int Dv) {
  size_t ldkv = static_cast<size_t>(D > Dv ? D : Dv) + 1;
  return static_cast<size_t>(Bq) * (D + 1) + Bk * ldkv + static_cast<size_t>(Bq) * Bk +
         static_cast<size_t>(Bq) * Dv + 6 * static_cast<size_t>(Bq);
}

// log(exp(a) + exp(b)), -inf only when both are; NaN when either is.
__device__ inline float logAddExp(float a, float b) {
  if (a == -INFINITY)
    return b;
  if (b == -INFINITY)
    return a;
  float m = a > b ? a : b;
  return m + log1pf(expf(-fabsf(a - b)));
}

// The block's epilogue for kFwdBlock (see the file comment).
__device__ void mergeBlock(const Params &p, int64_t bh, int64_t i0, const float *O,
                           const float *rowM, const float *rowL, const float *rowBad,
                           float *rowLin, float *rowLout) {
  const int Bq = p.Bq, Dv = p.Dv;
  for (int r = threadIdx.x; r < Bq; r += blockDim.x) {
    int64_t i = i0 + r;
    if (i >= p.Sq)
      continue;
    float lblk = rowBad[r] != 0.0f ? p.nan
                 : rowM[r] == -INFINITY ? -INFINITY
                                        : rowM[r] + logf(rowL[r]);
    float lin = p.lseIn[bh * p.Sq + i]; // read before lse_out (may alias) is written
    float lout = logAddExp(lin, lblk);
    rowLin[r] = lin;
    rowLout[r] = lout;
    p.lseOut[bh * p.Sq + i] = lout;
  }
  __syncthreads();
  for (int e = threadIdx.x; e < Bq * Dv; e += blockDim.x) {
    int r = e / Dv, c = e % Dv;
    int64_t i = i0 + r;
    if (i >= p.Sq)
      continue;
    float lin = rowLin[r], lout = rowLout[r];
    int64_t at = (bh * p.Sq + i) * Dv + c;
    float acc = 0.0f; // no key kept so far: 0, and acc_in is not read
    if (lout != -INFINITY) {
      float kept = lin == -INFINITY ? 0.0f : p.accIn[at] * expf(lin - lout);
      acc = kept + O[e] * expf(rowM[r] - lout);
    }
    p.out[at] = acc; // acc_out; may alias acc_in, read above by this thread
  }
}

__global__ void forwardKernel(Params p) {
  PZ_DYNAMIC_SHARED(float, smem);
  const int Bq = p.Bq, Bk = p.Bk, D = p.D, Dv = p.Dv;
  const int ldq = D + 1, ldkv = (D > Dv ? D : Dv) + 1;
  float *Qs = smem, *KV = Qs + Bq * ldq, *S = KV + Bk * ldkv, *O = S + Bq * Bk;
  float *rowM = O + Bq * Dv, *rowL = rowM + Bq, *rowA = rowL + Bq, *rowBad = rowA + Bq;
  float *rowLin = rowBad + Bq, *rowLout = rowLin + Bq;

  const int64_t b = blockIdx.z, h = blockIdx.y, i0 = static_cast<int64_t>(blockIdx.x) * Bq;
  const int64_t bh = b * p.H + h, bhk = b * p.Hkv + h / p.G;
  const float *kh = p.k ? p.k + bhk * p.Sk * D : nullptr;
  const float *vh = p.v ? p.v + bhk * p.Sk * Dv : nullptr;
  loadRows(Qs, ldq, p.q ? p.q + bh * p.Sq * D : nullptr, i0, p.Sq, Bq, D);
  for (int e = threadIdx.x; e < Bq * Dv; e += blockDim.x)
    O[e] = 0.0f;
  for (int r = threadIdx.x; r < Bq; r += blockDim.x) {
    rowM[r] = -INFINITY;
    rowL[r] = 0.0f;
    rowBad[r] = 0.0f;
  }
  // With `causal`, the tile's last row sees keys up to itself only.
  const int64_t kEnd = p.causal ? minI64(p.Sk, minI64(i0 + Bq, p.Sq)) : p.Sk;
  for (int64_t j0 = 0; j0 < kEnd; j0 += Bk) {
    __syncthreads(); // the previous tile's v is used up
    loadRows(KV, ldkv, kh, j0, p.Sk, Bk, D);
    __syncthreads();
    for (int e = threadIdx.x; e < Bq * Bk; e += blockDim.x)
      S[e] = tileScore(p, b, h, i0, j0, e / Bk, e % Bk, Qs, ldq, KV, ldkv);
    __syncthreads();
    for (int r = threadIdx.x; r < Bq; r += blockDim.x) { // the online softmax of row r
      float *sr = S + r * Bk;
      float mOld = rowM[r], m = mOld, bad = rowBad[r];
      for (int c = 0; c < Bk; ++c) {
        float s = sr[c];
        if (s != s || s == INFINITY)
          bad = 1.0f; // the row ends NaN; what follows may be garbage
        m = s > m ? s : m;
      }
      float alpha = 1.0f, sum = 0.0f;
      if (m == -INFINITY) { // nothing kept yet: O and l stay 0
        for (int c = 0; c < Bk; ++c)
          sr[c] = 0.0f;
      } else {
        alpha = expf(mOld - m); // 0 when mOld is -inf
        for (int c = 0; c < Bk; ++c) {
          float e = expf(sr[c] - m);
          sr[c] = e;
          sum += e;
        }
      }
      rowM[r] = m;
      rowL[r] = rowL[r] * alpha + sum;
      rowA[r] = alpha;
      rowBad[r] = bad;
    }
    __syncthreads(); // S holds exp(S - m); the k tile is used up
    loadRows(KV, ldkv, vh, j0, p.Sk, Bk, Dv);
    __syncthreads();
    for (int e = threadIdx.x; e < Bq * Dv; e += blockDim.x) {
      int r = e / Dv, c = e % Dv;
      const float *pr = S + r * Bk;
      float acc = O[e] * rowA[r];
      for (int j = 0; j < Bk; ++j)
        acc += pr[j] * KV[j * ldkv + c];
      O[e] = acc;
    }
  }
  __syncthreads();

  if (p.mode == kFwdBlock) {
    mergeBlock(p, bh, i0, O, rowM, rowL, rowBad, rowLin, rowLout);
    return;
  }
  if (p.mode == kFwdOut) {
    for (int e = threadIdx.x; e < Bq * Dv; e += blockDim.x) {
      int r = e / Dv, c = e % Dv;
      int64_t i = i0 + r;
      if (i >= p.Sq)
        continue;
      bool bad = rowBad[r] != 0.0f || rowM[r] == -INFINITY;
      p.out[(bh * p.Sq + i) * Dv + c] = bad ? p.nan : O[e] / rowL[r];
    }
    return;
  }
  // kFwdStats: one thread per row, Drow summed over c in order.
  for (int r = threadIdx.x; r < Bq; r += blockDim.x) {
    int64_t i = i0 + r;
    if (i >= p.Sq)
      continue;
    bool bad = rowBad[r] != 0.0f || rowM[r] == -INFINITY;
    float inv = 1.0f / rowL[r], drow = 0.0f;
    const float *g = p.dout + (bh * p.Sq + i) * Dv;
    for (int c = 0; c < Dv; ++c)
      drow += g[c] * (O[r * Dv + c] * inv);
    p.lse[bh * p.Sq + i] = bad ? p.nan : rowM[r] + logf(rowL[r]);
    p.drow[bh * p.Sq + i] = bad ? p.nan : drow;
  }
}

__global__ void fillKernel(float *x, int64_t n, float value) {
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < n;
       t += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[t] = value;
}

} // namespace

int cudaStatus(const char *fn, const char *what, cudaError_t err) {
  if (err == cudaSuccess)
    return 0;
  return fail("%s: %s: %s (%s)", fn, what, cudaGetErrorString(err), cudaGetErrorName(err));
}

int launchForward(const char *fn, Params p, void *stream) {
  size_t bytes = 0;
  if (!pickTile(forwardSharedFloats, p.D, p.Dv, p.Bq, p.Bk, bytes))
    return fail("%s: head dims D=%d Dv=%d need more than %zu bytes of shared memory", fn, p.D,
                p.Dv, kMaxSharedBytes);
  if (p.B * p.H * p.Sq == 0)
    return 0;
  if (allowShared(fn, "cudaFuncSetAttribute(attention forwardKernel)", forwardKernel, bytes))
    return -1;
  dim3 grid(static_cast<unsigned>((p.Sq + p.Bq - 1) / p.Bq), static_cast<unsigned>(p.H),
            static_cast<unsigned>(p.B));
  PZ_LAUNCH(grid, kThreads, bytes, static_cast<cudaStream_t>(stream), forwardKernel)(p);
  return launchStatus(fn, "attention forwardKernel launch");
}

int launchFill(const char *fn, float *x, int64_t n, float value, void *stream) {
  if (n <= 0)
    return 0;
  int64_t blocks = (n + 255) / 256;
  blocks = blocks < 1024 ? blocks : 1024;
  PZ_LAUNCH(static_cast<unsigned>(blocks), 256, 0, static_cast<cudaStream_t>(stream),
            fillKernel)(x, n, value);
  return launchStatus(fn, "attention fillKernel launch");
}

} // namespace pzrt::cuda::attn
