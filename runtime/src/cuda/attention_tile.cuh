// What the CUDA attention kernels share (attention_*.cu): the parameters of
// one call, the tile sizes, and the per-element score and gradient math.
//
// FlashAttention-2's structure in plain fp32 (no tensor cores): a block of
// 128 threads works on one tile of Bq query rows and/or Bk keys, with the
// tiles of q, k, v and dout in shared memory, row-padded by one float so
// that the threads of a warp, which walk consecutive keys of one query row,
// read different banks. Tile sizes are chosen per kernel at launch, the
// largest of a fixed list whose shared memory fits 99 KiB for the call's D
// and Dv (16 x 16 fits every kernel up to D = Dv = 256, 8 x 8 up to about
// 500). Each thread owns fixed elements of every product and sums over the
// tile in order, reading both operands from shared memory: simple and
// deterministic, but bound by shared-memory bandwidth; register tiling and
// tensor cores (bf16/tf32 MMA, WGMMA) are what a faster version adds.
//
// The row statistics the backward needs, lse_i = logsumexp_j S_ij and
// Drow_i = dout_i . out_i (= rowsum(dP * P)), are not kept from the forward
// (pzrt_cuda_attention_bwd gets neither out nor lse): the backward runs the
// forward once more in "stats" mode, which writes them into its workspace.
// The block backward is given lse and out and only computes Drow.
//
// Include pzrt/cuda_prelude.h before this header.
#ifndef PZRT_SRC_CUDA_ATTENTION_TILE_CUH
#define PZRT_SRC_CUDA_ATTENTION_TILE_CUH

#include "pzrt/kernels.h"
#include "pzrt/train.h"

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace pzrt::cuda::attn {

constexpr int kThreads = 128;
// Dynamic shared memory per block: what the host emulator allows and what
// leaves an H100 room for two blocks per SM with small head dims.
constexpr size_t kMaxSharedBytes = 99 * 1024;
constexpr size_t kDefaultSharedBytes = 48 * 1024; // above it: cudaFuncSetAttribute

// What the forward kernel writes.
enum FwdMode : int {
  kFwdOut = 0,   // out = softmax(S) V; NaN rows where the CPU gives NaN
  kFwdStats = 1, // lse and Drow of every row, for the backward
  kFwdBlock = 2, // ring attention: merge into (acc, lse)
};

// One call's arguments, passed to every kernel by value.
struct Params {
  const float *q, *k, *v;
  const void *mask;
  int maskKind;
  int64_t ms[4]; // mask strides over [B, H, Sq, Sk]
  const float *bias;
  int64_t bs[4];                // bias strides
  const int64_t *qPos, *kPos;   // block form: key j dropped when kPos[j] > qPos[i]
  int causal;                   // plain form: key j dropped when j > i
  int blockForm;                // 1: pz.attention_block's row rules (no NaN poisoning)
  int mode;                     // FwdMode of the forward kernel
  float scale;
  float nan;                    // a quiet NaN (set on the host)
  int64_t B, H, Hkv, G, Sq, Sk; // G = H / Hkv
  int D, Dv;
  int Bq, Bk; // this kernel's tile
  float *out;                   // kFwdOut: out; kFwdBlock: acc_out
  const float *accIn, *lseIn;   // kFwdBlock
  float *lseOut;                // kFwdBlock
  const float *dout;
  float *lse, *drow;            // kFwdStats writes them; the backward reads them
  float *dq, *dk, *dv, *dbias;
};

__device__ inline int64_t minI64(int64_t a, int64_t b) { return a < b ? a : b; }

// Rows [row0, row0 + rows) of a row-major matrix with `cols` columns and
// `nRows` rows into dst (leading dimension ld); rows past nRows read as 0.
__device__ inline void loadRows(float *dst, int ld, const float *src, int64_t row0, int64_t nRows,
                                int rows, int cols) {
  for (int e = threadIdx.x; e < rows * cols; e += blockDim.x) {
    int r = e / cols, c = e % cols;
    dst[r * ld + c] = row0 + r < nRows ? src[(row0 + r) * cols + c] : 0.0f;
  }
}

// The score of query i and key j from dot = q_i . k_j: scale * dot + bias,
// then the mask, causal and position drops (-inf), in the CPU's order.
__device__ inline float maskedScore(const Params &p, int64_t b, int64_t h, int64_t i, int64_t j,
                                    float dot) {
  float s = p.scale * dot;
  if (p.bias)
    s += p.bias[b * p.bs[0] + h * p.bs[1] + i * p.bs[2] + j * p.bs[3]];
  int64_t m = b * p.ms[0] + h * p.ms[1] + i * p.ms[2] + j * p.ms[3];
  if (p.maskKind == PZRT_MASK_BOOL && !static_cast<const uint8_t *>(p.mask)[m])
    s = -INFINITY;
  else if (p.maskKind == PZRT_MASK_ADD)
    s += static_cast<const float *>(p.mask)[m];
  if (p.causal && j > i)
    s = -INFINITY;
  if (p.qPos && p.kPos[j] > p.qPos[i])
    s = -INFINITY;
  return s;
}

// The score of tile element (r, c): query i0 + r against key j0 + c, from
// the q tile Qs (ld ldq) and k tile Ks (ld ldk); -inf outside [Sq) x [Sk).
__device__ inline float tileScore(const Params &p, int64_t b, int64_t h, int64_t i0, int64_t j0,
                                  int r, int c, const float *Qs, int ldq, const float *Ks,
                                  int ldk) {
  int64_t i = i0 + r, j = j0 + c;
  if (i >= p.Sq || j >= p.Sk)
    return -INFINITY;
  const float *qr = Qs + r * ldq, *kr = Ks + c * ldk;
  float dot = 0.0f;
  for (int d = 0; d < p.D; ++d)
    dot += qr[d] * kr[d];
  return maskedScore(p, b, h, i, j, dot);
}

// The backward's probability and score gradient of tile element (r, c):
// P = exp(S - lse) and dS = P * (dout_i . v_j - Drow_i), both 0 for a row
// with lse = -inf (rows past Sq get that) and outside [Sq) x [Sk). A NaN
// lse (a row the forward made NaN) gives NaN.
struct ProbGrad {
  float p, ds;
};
__device__ inline ProbGrad tileProbGrad(const Params &p, int64_t b, int64_t h, int64_t i0,
                                        int64_t j0, int r, int c, const float *Qs, int ldq,
                                        const float *Ks, int ldk, const float *dOs, int ldo,
                                        const float *Vs, int ldv, const float *lse,
                                        const float *drow) {
  ProbGrad g = {0.0f, 0.0f};
  if (lse[r] == -INFINITY || i0 + r >= p.Sq || j0 + c >= p.Sk)
    return g;
  float s = tileScore(p, b, h, i0, j0, r, c, Qs, ldq, Ks, ldk);
  g.p = expf(s - lse[r]);
  const float *gr = dOs + r * ldo, *vr = Vs + c * ldv;
  float dp = 0.0f;
  for (int d = 0; d < p.Dv; ++d)
    dp += gr[d] * vr[d];
  g.ds = g.p * (dp - drow[r]);
  return g;
}

// Loads the backward's per-row statistics of rows [i0, i0 + Bq) of head
// (b, h): rows past Sq get lse = -inf (no probability) and Drow = 0.
__device__ inline void loadRowStats(const Params &p, int64_t bh, int64_t i0, float *lse,
                                    float *drow) {
  for (int r = threadIdx.x; r < p.Bq; r += blockDim.x) {
    bool in = i0 + r < p.Sq;
    lse[r] = in ? p.lse[bh * p.Sq + i0 + r] : -INFINITY;
    drow[r] = in ? p.drow[bh * p.Sq + i0 + r] : 0.0f;
  }
}

// ---- host side (attention_fwd.cu, attention_bwd.cu, attention_bias_bwd.cu)

// The tiles tried, largest first; a kernel takes the first whose shared
// memory (sharedFloats(Bq, Bk, D, Dv) floats) fits kMaxSharedBytes.
// Returns false when none does (head dims far beyond 256).
template <typename SharedFloats>
inline bool pickTile(SharedFloats sharedFloats, int D, int Dv, int &Bq, int &Bk, size_t &bytes) {
  static const int kTiles[][2] = {{64, 64}, {64, 32}, {32, 32}, {32, 16}, {16, 16}, {8, 8}};
  for (const auto &t : kTiles) {
    bytes = sharedFloats(t[0], t[1], D, Dv) * sizeof(float);
    if (bytes <= kMaxSharedBytes) {
      Bq = t[0];
      Bk = t[1];
      return true;
    }
  }
  return false;
}

// Each launches on `stream` (a cudaStream_t) and returns 0, or -1 with an
// error naming `fn` and the kernel.
// 0 for cudaSuccess, else -1 with "fn: what: <CUDA's error>".
int cudaStatus(const char *fn, const char *what, cudaError_t err);
// After a launch: cudaStatus of cudaGetLastError().
inline int launchStatus(const char *fn, const char *kernel) {
  return cudaStatus(fn, kernel, cudaGetLastError());
}
// Raises the kernel's dynamic shared memory limit when `bytes` passes the
// default 48 KiB; 0 or -1 like launchStatus.
template <typename Kernel>
inline int allowShared(const char *fn, const char *kernel, Kernel *k, size_t bytes) {
  if (bytes <= kDefaultSharedBytes)
    return 0;
  cudaError_t err = cudaFuncSetAttribute(reinterpret_cast<const void *>(k),
                                         cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(bytes));
  return cudaStatus(fn, kernel, err);
}

// attention_api.cu, shared with attention_block_api.cu:
// the context's compute stream (a cudaStream_t), or NULL with an error;
void *computeStream(const char *fn, pzrt_step_ctx *ctx);
// the size and mask checks of both forms;
int checkSizes(const char *fn, int64_t B, int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk,
               int64_t D, int64_t Dv, int maskKind, const int64_t *maskStrides);
// the Params of the arguments (no bias, no causal, pointers to outputs NULL).
Params makeParams(const float *q, const float *k, const float *v, const void *mask, int maskKind,
                  const int64_t *maskStrides, double scale, int64_t B, int64_t H, int64_t Hkv,
                  int64_t Sq, int64_t Sk, int64_t D, int64_t Dv);

int launchForward(const char *fn, Params p, void *stream);
int launchRowDots(const char *fn, Params p, const float *out, void *stream); // Drow = dout . out
int launchBackward(const char *fn, Params p, void *stream);                   // dq, dk, dv
int launchBiasBackward(const char *fn, Params p, int64_t biasNumel, void *stream);
int launchFill(const char *fn, float *x, int64_t n, float value, void *stream);

} // namespace pzrt::cuda::attn

#endif // PZRT_SRC_CUDA_ATTENTION_TILE_CUH
