// Layer norm and RMS norm along the last axis, forward and backward with
// recomputed statistics (the CPU's src/cpu/norm.cpp, on the GPU). One
// template serves both: RMS norm is layer norm with mean 0 and no beta.
//
// Statistics are fp32, two-pass (the mean, then the mean of squared
// deviations), each pass a block reduction in a fixed order; mean and rstd are
// floats, as the CPU rounds them before its backward uses them.
//
// The backward has no workspace argument, yet dgamma/dbeta need each row's
// statistics in a pass over columns. Rather than a scratch buffer, the rows
// of dx hold them between kernels:
// 1. rowBwdKernel, one block per row: statistics and dx. With dgamma or
//    dbeta wanted (and cols >= kStash), it leaves the row's stash in its first
//    kStash entries of dx instead of their dx: (mean, rstd, a, b) for layer
//    norm, (rstd, b) for RMS norm, where dx = rstd * (g - a - xhat * b).
// 2. colSumKernel, one block per kColGroup columns: its 32 row lanes each sum
//    every 32nd row in row order, then one thread per column adds the 32 lane
//    sums in lane order. Deterministic, no atomics, no scratch.
// 3. fixStashKernel, one thread per row: the first kStash dx of the row from
//    its stash, with the same expression as kernel 1.
// Rows shorter than kStash keep no stash; kernel 2 then recomputes their
// statistics serially, which may differ from kernel 1's in the last bit.
// dx must not alias x or dy (as on the CPU, which reads dy after writing dx).
#include "pzrt/cuda_prelude.h"

#include "cuda/kernel_util.cuh"

namespace {

using namespace pzrt::cudak;

constexpr int kColGroup = 8;  // 8 floats: one 32-byte sector per row
constexpr int kRowLanes = 32; // kColGroup * kRowLanes = 256 threads
template <bool kLayer> constexpr int64_t kStash = kLayer ? 4 : 2;

// mean (0 for RMS norm) and rstd of one row, by the whole block.
template <bool kLayer>
__device__ inline void rowStats(const float *xr, int64_t cols, float eps, float *red, float &mu,
                                float &rs) {
  const float n = static_cast<float>(cols);
  mu = 0.0f;
  if (kLayer) {
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      s += xr[j];
    mu = blockSum(s, red) / n;
  }
  float q = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
    float d = xr[j] - mu;
    q += d * d;
  }
  rs = 1.0f / sqrtf(blockSum(q, red) / n + eps);
}

// The same statistics by one thread, for rows shorter than kStash.
template <bool kLayer>
__device__ inline void rowStatsSerial(const float *xr, int64_t cols, float eps, float &mu,
                                      float &rs) {
  const float n = static_cast<float>(cols);
  mu = 0.0f;
  if (kLayer) {
    float s = 0.0f;
    for (int64_t j = 0; j < cols; ++j)
      s += xr[j];
    mu = s / n;
  }
  float q = 0.0f;
  for (int64_t j = 0; j < cols; ++j) {
    float d = xr[j] - mu;
    q += d * d;
  }
  rs = 1.0f / sqrtf(q / n + eps);
}

__device__ inline float normDx(float xv, float dyv, const float *gamma, int64_t j, float mu,
                               float rs, float a, float b) {
  const float g = gamma ? dyv * gamma[j] : dyv;
  const float xhat = (xv - mu) * rs;
  return rs * (g - a - xhat * b);
}

template <bool kLayer>
__global__ void fwdKernel(const float *x, const float *gamma, const float *beta, float *y,
                          float *mean, float *rstd, int64_t rows, int64_t cols, float eps) {
  __shared__ float red[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    float mu, rs;
    rowStats<kLayer>(xr, cols, eps, red, mu, rs);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      float v = (xr[j] - mu) * rs;
      if (gamma)
        v *= gamma[j];
      if (kLayer && beta)
        v += beta[j];
      yr[j] = v;
    }
    if (threadIdx.x == 0) {
      if (kLayer && mean)
        mean[r] = mu;
      if (rstd)
        rstd[r] = rs;
    }
  }
}

template <bool kLayer>
__global__ void rowBwdKernel(const float *dy, const float *x, const float *gamma, float *dx,
                             int64_t rows, int64_t cols, float eps, bool stash) {
  __shared__ float red[32];
  const float invCols = 1.0f / static_cast<float>(cols);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *xr = x + r * cols, *gr = dy + r * cols;
    float *dr = dx + r * cols;
    float mu, rs;
    rowStats<kLayer>(xr, cols, eps, red, mu, rs);
    float sg = 0.0f, sgx = 0.0f; // sums of g and g * xhat, g = dy * gamma
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      const float g = gamma ? gr[j] * gamma[j] : gr[j];
      sg += g;
      sgx += g * ((xr[j] - mu) * rs);
    }
    const float a = kLayer ? blockSum(sg, red) * invCols : 0.0f;
    const float b = blockSum(sgx, red) * invCols;
    for (int64_t j = (stash ? kStash<kLayer> : 0) + threadIdx.x; j < cols; j += blockDim.x)
      dr[j] = normDx(xr[j], gr[j], gamma, j, mu, rs, a, b);
    if (stash && threadIdx.x == 0) {
      if (kLayer) {
        dr[0] = mu;
        dr[1] = rs;
        dr[2] = a;
        dr[3] = b;
      } else {
        dr[0] = rs;
        dr[1] = b;
      }
    }
  }
}

template <bool kLayer>
__global__ void colSumKernel(const float *dy, const float *x, const float *dx, int64_t rows,
                             int64_t cols, float eps, bool stash, float *dgamma, float *dbeta) {
  __shared__ float partG[kRowLanes][kColGroup], partB[kRowLanes][kColGroup];
  const unsigned tx = threadIdx.x % kColGroup, ty = threadIdx.x / kColGroup;
  const int64_t groups = (cols + kColGroup - 1) / kColGroup;
  for (int64_t grp = blockIdx.x; grp < groups; grp += gridDim.x) {
    const int64_t c = grp * kColGroup + tx;
    float dg = 0.0f, db = 0.0f;
    if (c < cols)
      for (int64_t r = ty; r < rows; r += kRowLanes) {
        const float *xr = x + r * cols, *st = dx + r * cols;
        float mu, rs;
        if (!stash)
          rowStatsSerial<kLayer>(xr, cols, eps, mu, rs);
        else if (kLayer)
          mu = st[0], rs = st[1];
        else
          mu = 0.0f, rs = st[0];
        const float g = dy[r * cols + c];
        dg += g * ((xr[c] - mu) * rs);
        db += g;
      }
    __syncthreads(); // the previous group's lane sums are read
    partG[ty][tx] = dg;
    partB[ty][tx] = db;
    __syncthreads();
    if (ty == 0 && c < cols) {
      for (int lane = 1; lane < kRowLanes; ++lane) {
        dg += partG[lane][tx];
        db += partB[lane][tx];
      }
      if (dgamma)
        dgamma[c] = dg;
      if (kLayer && dbeta)
        dbeta[c] = db;
    }
  }
}

template <bool kLayer>
__global__ void fixStashKernel(const float *dy, const float *x, const float *gamma, float *dx,
                               int64_t rows, int64_t cols) {
  for (int64_t r = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; r < rows;
       r += int64_t(gridDim.x) * blockDim.x) {
    const float *xr = x + r * cols, *gr = dy + r * cols;
    float *dr = dx + r * cols;
    float mu = 0.0f, rs, a = 0.0f, b;
    if (kLayer)
      mu = dr[0], rs = dr[1], a = dr[2], b = dr[3];
    else
      rs = dr[0], b = dr[1];
    for (int64_t j = 0; j < kStash<kLayer>; ++j)
      dr[j] = normDx(xr[j], gr[j], gamma, j, mu, rs, a, b);
  }
}

int checkNorm(const char *fn, const void *x, const void *y, int64_t rows, int64_t cols) {
  if (rows < 0 || cols <= 0)
    return pzrt::fail("%s: bad shape rows=%lld cols=%lld", fn, (long long)rows, (long long)cols);
  if (rows > 0 && (!x || !y))
    return pzrt::fail("%s: NULL input or output for %lld rows", fn, (long long)rows);
  return 0;
}

template <bool kLayer>
int normFwd(pzrt_step_ctx *ctx, const char *fn, const float *x, const float *gamma,
            const float *beta, float *y, float *mean, float *rstd, int64_t rows, int64_t cols,
            float eps) {
  if (checkNorm(fn, x, y, rows, cols))
    return -1;
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  if (rows == 0)
    return 0;
  PZ_LAUNCH(rowBlocks(rows), rowThreads(cols), 0, stream, fwdKernel<kLayer>)(
      x, gamma, beta, y, mean, rstd, rows, cols, eps);
  return checkLaunch(fn, "fwdKernel");
}

template <bool kLayer>
int normBwd(pzrt_step_ctx *ctx, const char *fn, const float *dy, const float *x,
            const float *gamma, float *dx, float *dgamma, float *dbeta, int64_t rows,
            int64_t cols, float eps) {
  if (checkNorm(fn, x, dx, rows, cols))
    return -1;
  if (rows > 0 && !dy)
    return pzrt::fail("%s: NULL dy for %lld rows", fn, (long long)rows);
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  const bool sums = dgamma || (kLayer && dbeta);
  const bool stash = sums && cols >= kStash<kLayer>;
  if (rows > 0) {
    PZ_LAUNCH(rowBlocks(rows), rowThreads(cols), 0, stream, rowBwdKernel<kLayer>)(
        dy, x, gamma, dx, rows, cols, eps, stash);
    if (checkLaunch(fn, "rowBwdKernel"))
      return -1;
  }
  if (sums) { // also for rows == 0: the sums over no rows are zeros
    const int64_t groups = (cols + kColGroup - 1) / kColGroup;
    const unsigned blocks = static_cast<unsigned>(groups < kMaxRowBlocks ? groups : kMaxRowBlocks);
    const float *dxStash = dx;
    PZ_LAUNCH(blocks, kColGroup * kRowLanes, 0, stream, colSumKernel<kLayer>)(
        dy, x, dxStash, rows, cols, eps, stash, dgamma, dbeta);
    if (checkLaunch(fn, "colSumKernel"))
      return -1;
  }
  if (stash && rows > 0) {
    PZ_LAUNCH(eltBlocks(rows), kEltThreads, 0, stream, fixStashKernel<kLayer>)(dy, x, gamma, dx,
                                                                               rows, cols);
    if (checkLaunch(fn, "fixStashKernel"))
      return -1;
  }
  return 0;
}

} // namespace

extern "C" {

int pzrt_cuda_layer_norm_fwd(pzrt_step_ctx *ctx, const float *x, const float *gamma,
                             const float *beta, float *y, float *mean, float *rstd, int64_t rows,
                             int64_t cols, float eps) {
  return normFwd<true>(ctx, "cuda_layer_norm_fwd", x, gamma, beta, y, mean, rstd, rows, cols,
                       eps);
}

int pzrt_cuda_layer_norm_bwd_recompute(pzrt_step_ctx *ctx, const float *dy, const float *x,
                                       const float *gamma, float *dx, float *dgamma,
                                       float *dbeta, int64_t rows, int64_t cols, float eps) {
  return normBwd<true>(ctx, "cuda_layer_norm_bwd_recompute", dy, x, gamma, dx, dgamma, dbeta,
                       rows, cols, eps);
}

int pzrt_cuda_rms_norm_fwd(pzrt_step_ctx *ctx, const float *x, const float *gamma, float *y,
                           float *rstd, int64_t rows, int64_t cols, float eps) {
  return normFwd<false>(ctx, "cuda_rms_norm_fwd", x, gamma, nullptr, y, nullptr, rstd, rows,
                        cols, eps);
}

int pzrt_cuda_rms_norm_bwd_recompute(pzrt_step_ctx *ctx, const float *dy, const float *x,
                                     const float *gamma, float *dx, float *dgamma, int64_t rows,
                                     int64_t cols, float eps) {
  return normBwd<false>(ctx, "cuda_rms_norm_bwd_recompute", dy, x, gamma, dx, dgamma, nullptr,
                        rows, cols, eps);
}

} // extern "C"
