// Softmax and log-softmax along the last axis, forward and backward: one
// block per row, fp32 sums reduced in a fixed order (kernel_util.cuh). The
// CPU kernels (src/cpu/softmax.cpp) sum in double; these agree with them
// within the fp32 rounding of a row sum.
#include "pzrt/cuda_prelude.h"

#include "cuda/kernel_util.cuh"

namespace {

using namespace pzrt::cudak;

// An all -inf row gives a zero row, as on the CPU.
__global__ void softmaxFwdKernel(const float *x, float *y, int64_t rows, int64_t cols) {
  __shared__ float red[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    float m = -INFINITY;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      m = fmaxf(m, xr[j]);
    m = blockMax(m, red);
    if (m == -INFINITY) { // uniform over the block: m is the block's
      for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
        yr[j] = 0.0f;
      continue;
    }
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
      float e = expf(xr[j] - m);
      yr[j] = e; // read back below by the same thread
      s += e;
    }
    float inv = 1.0f / blockSum(s, red);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      yr[j] *= inv;
  }
}

// dx = y * (dy - sum(dy * y))
__global__ void softmaxBwdKernel(const float *y, const float *dy, float *dx, int64_t rows,
                                 int64_t cols) {
  __shared__ float red[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *yr = y + r * cols, *gr = dy + r * cols;
    float *dr = dx + r * cols;
    float dot = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      dot += yr[j] * gr[j];
    dot = blockSum(dot, red);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      dr[j] = yr[j] * (gr[j] - dot);
  }
}

// y = x - lse. An all -inf row has lse = -inf and gives -inf - -inf = NaN,
// as the CPU kernel computes it.
__global__ void logSoftmaxFwdKernel(const float *x, float *y, int64_t rows, int64_t cols) {
  __shared__ float red[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *xr = x + r * cols;
    float *yr = y + r * cols;
    float lse = blockRowLogSumExp(xr, cols, red);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      yr[j] = xr[j] - lse;
  }
}

// dx = dy - exp(y) * sum(dy)
__global__ void logSoftmaxBwdKernel(const float *y, const float *dy, float *dx, int64_t rows,
                                   int64_t cols) {
  __shared__ float red[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const float *yr = y + r * cols, *gr = dy + r * cols;
    float *dr = dx + r * cols;
    float s = 0.0f;
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      s += gr[j];
    s = blockSum(s, red);
    for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
      dr[j] = gr[j] - expf(yr[j]) * s;
  }
}

// The CPU kernels take any rows x cols >= 0; so do these, plus pointer checks.
int checkRows(const char *fn, const void *a, const void *b, const void *c, int64_t rows,
              int64_t cols) {
  if (rows < 0 || cols < 0)
    return pzrt::fail("%s: bad shape rows=%lld cols=%lld", fn, (long long)rows,
                      (long long)cols);
  if (rows > 0 && cols > 0 && (!a || !b || !c))
    return pzrt::fail("%s: NULL buffer for a %lld x %lld input", fn, (long long)rows,
                      (long long)cols);
  return 0;
}

// Launches one of the kernels above, one block per row.
template <typename Kernel, typename... Args>
int launchRows(pzrt_step_ctx *ctx, const char *fn, const char *name, Kernel kernel,
               int64_t rows, int64_t cols, Args... args) {
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  if (rows == 0 || cols == 0)
    return 0;
  PZ_LAUNCH(rowBlocks(rows), rowThreads(cols), 0, stream, (*kernel))(args..., rows, cols);
  return checkLaunch(fn, name);
}

} // namespace

extern "C" {

int pzrt_cuda_softmax_fwd(pzrt_step_ctx *ctx, const float *x, float *y, int64_t rows,
                          int64_t cols) {
  const char *fn = "cuda_softmax_fwd";
  if (checkRows(fn, x, y, y, rows, cols))
    return -1;
  return launchRows(ctx, fn, "softmaxFwdKernel", softmaxFwdKernel, rows, cols, x, y);
}

int pzrt_cuda_softmax_bwd(pzrt_step_ctx *ctx, const float *y, const float *dy, float *dx,
                          int64_t rows, int64_t cols) {
  const char *fn = "cuda_softmax_bwd";
  if (checkRows(fn, y, dy, dx, rows, cols))
    return -1;
  return launchRows(ctx, fn, "softmaxBwdKernel", softmaxBwdKernel, rows, cols, y, dy, dx);
}

int pzrt_cuda_log_softmax_fwd(pzrt_step_ctx *ctx, const float *x, float *y, int64_t rows,
                              int64_t cols) {
  const char *fn = "cuda_log_softmax_fwd";
  if (checkRows(fn, x, y, y, rows, cols))
    return -1;
  return launchRows(ctx, fn, "logSoftmaxFwdKernel", logSoftmaxFwdKernel, rows, cols, x, y);
}

int pzrt_cuda_log_softmax_bwd(pzrt_step_ctx *ctx, const float *y, const float *dy, float *dx,
                              int64_t rows, int64_t cols) {
  const char *fn = "cuda_log_softmax_bwd";
  if (checkRows(fn, y, dy, dx, rows, cols))
    return -1;
  return launchRows(ctx, fn, "logSoftmaxBwdKernel", logSoftmaxBwdKernel, rows, cols, y, dy,
                    dx);
}

} // extern "C"
