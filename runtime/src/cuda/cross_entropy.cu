// Cross-entropy over logits [rows x vocab] with int64 labels, forward and
// backward (the CPU's src/cpu/softmax.cpp, on the GPU).
//
// Forward, in two kernels on the compute stream:
// 1. one block per row: the row's log-sum-exp in fp32 (0 for an ignored
//    row, NaN for a bad label) into lse, or into a stream-ordered scratch
//    of `rows` floats when the caller passes no lse;
// 2. one block of kSumThreads threads: thread t sums the rows t, t + 256,
//    ... in double, in row order, then a shared-memory tree in a fixed order
//    sums the threads. loss_sum and n_valid are written, not accumulated, and
//    the same inputs give the same bits on every run (no atomics).
//
// A label outside [0, vocab) that is not the ignore index is an error on the
// CPU. Here the labels are device memory, read only by the kernels, so the
// error is reported in the results: n_valid = -(first bad row + 1) and
// loss_sum = NaN (forward), a NaN row of dlogits (backward). The compiled
// program's next kernel turns the negative count into the op's check
// (lib/Target/CUDA/CUDAEmitLoss.cpp), reported after the function; the
// message does not name the row, which stays on the device.
#include "pzrt/cuda_prelude.h"

#include "cuda/kernel_util.cuh"

namespace {

using namespace pzrt::cudak;

constexpr int kSumThreads = 256;

__device__ inline bool badLabel(int64_t lab, int64_t vocab) { return lab < 0 || lab >= vocab; }

__global__ void ceRowLseKernel(const float *logits, const int64_t *labels, int64_t rows,
                               int64_t vocab, int64_t ignore_index, float *lse) {
  __shared__ float red[32];
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t lab = labels[r];
    if (lab == ignore_index || badLabel(lab, vocab)) {
      if (threadIdx.x == 0)
        lse[r] = lab == ignore_index ? 0.0f : NAN;
      continue;
    }
    float l = blockRowLogSumExp(logits + r * vocab, vocab, red);
    if (threadIdx.x == 0)
      lse[r] = l;
  }
}

__global__ void ceSumKernel(const float *logits, const int64_t *labels, const float *lse,
                            int64_t rows, int64_t vocab, int64_t ignore_index, double *loss_sum,
                            int64_t *n_valid) {
  __shared__ double sum[kSumThreads];
  __shared__ long long count[kSumThreads], bad[kSumThreads];
  const unsigned t = threadIdx.x;
  double s = 0.0;
  long long c = 0, b = rows; // b: the first bad row of this thread (rows: none)
  for (int64_t r = t; r < rows; r += kSumThreads) {
    const int64_t lab = labels[r];
    if (lab == ignore_index)
      continue;
    if (badLabel(lab, vocab)) {
      b = b < r ? b : r;
      continue;
    }
    s += static_cast<double>(lse[r]) - static_cast<double>(logits[r * vocab + lab]);
    ++c;
  }
  sum[t] = s;
  count[t] = c;
  bad[t] = b;
  for (unsigned half = kSumThreads / 2; half > 0; half >>= 1) {
    __syncthreads();
    if (t < half) {
      sum[t] += sum[t + half];
      count[t] += count[t + half];
      bad[t] = bad[t] < bad[t + half] ? bad[t] : bad[t + half];
    }
  }
  if (t == 0) {
    const bool anyBad = bad[0] < rows;
    if (loss_sum)
      *loss_sum = anyBad ? NAN : sum[0];
    if (n_valid)
      *n_valid = anyBad ? -(bad[0] + 1) : count[0];
  }
}

// dlogits = grad_scale * (softmax - onehot(label)); 0 for an ignored row.
// With scalePtr, grad_scale is (float)*scalePtr, read on the device (the
// device-scalar form, which a CUDA graph replays with the current scale).
__global__ void ceBwdKernel(const float *logits, const int64_t *labels, const float *lse,
                            int64_t rows, int64_t vocab, int64_t ignore_index, float grad_scale,
                            const double *scalePtr, float *dlogits) {
  __shared__ float red[32];
  if (scalePtr)
    grad_scale = static_cast<float>(*scalePtr);
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const int64_t lab = labels[r];
    const float *xr = logits + r * vocab;
    float *dr = dlogits + r * vocab;
    if (lab == ignore_index || badLabel(lab, vocab)) {
      const float fill = lab == ignore_index ? 0.0f : NAN;
      for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x)
        dr[j] = fill;
      continue;
    }
    const float l = lse ? lse[r] : blockRowLogSumExp(xr, vocab, red);
    for (int64_t j = threadIdx.x; j < vocab; j += blockDim.x) {
      float p = expf(xr[j] - l);
      dr[j] = grad_scale * (j == lab ? p - 1.0f : p);
    }
  }
}

int checkCe(const char *fn, const float *logits, const int64_t *labels, int64_t rows,
            int64_t vocab) {
  if (rows < 0 || vocab <= 0)
    return pzrt::fail("%s: bad shape rows=%lld vocab=%lld", fn, (long long)rows,
                      (long long)vocab);
  if (rows > 0 && (!logits || !labels))
    return pzrt::fail("%s: NULL logits or labels for %lld rows", fn, (long long)rows);
  return 0;
}

int cudaFail(const char *fn, const char *call, cudaError_t err) {
  return pzrt::fail("%s: %s: %s (%s)", fn, call, cudaGetErrorString(err), cudaGetErrorName(err));
}

} // namespace

extern "C" {

int pzrt_cuda_cross_entropy_fwd(pzrt_step_ctx *ctx, const float *logits, const int64_t *labels,
                                int64_t rows, int64_t vocab, int64_t ignore_index, float *lse,
                                double *loss_sum, int64_t *n_valid) {
  const char *fn = "cuda_cross_entropy_fwd";
  if (checkCe(fn, logits, labels, rows, vocab))
    return -1;
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  const bool sums = loss_sum || n_valid;
  if ((rows == 0 || !lse) && !sums)
    return 0;
  // Without the caller's lse, the row log-sum-exps pass through a scratch of
  // `rows` floats that the stream orders (cudaMallocAsync; a CUDA graph
  // captures it as an allocation node). The CUDA emitter avoids it by
  // passing a planned lse buffer.
  float *rowLse = lse;
  cudaError_t err;
  if (!rowLse && rows > 0 &&
      (err = cudaMallocAsync(reinterpret_cast<void **>(&rowLse), rows * sizeof(float),
                             stream)) != cudaSuccess)
    return cudaFail(fn, "cudaMallocAsync of the row log-sum-exp scratch", err);
  int rc = 0;
  if (rows > 0) {
    PZ_LAUNCH(rowBlocks(rows), rowThreads(vocab), 0, stream, ceRowLseKernel)(
        logits, labels, rows, vocab, ignore_index, rowLse);
    rc = checkLaunch(fn, "ceRowLseKernel");
  }
  if (rc == 0 && sums) {
    const float *lseIn = rowLse;
    PZ_LAUNCH(1, kSumThreads, 0, stream, ceSumKernel)(logits, labels, lseIn, rows, vocab,
                                                       ignore_index, loss_sum, n_valid);
    rc = checkLaunch(fn, "ceSumKernel");
  }
  if (rowLse && rowLse != lse && (err = cudaFreeAsync(rowLse, stream)) != cudaSuccess && rc == 0)
    rc = cudaFail(fn, "cudaFreeAsync of the row log-sum-exp scratch", err);
  return rc;
}

int pzrt_cuda_cross_entropy_bwd(pzrt_step_ctx *ctx, const float *logits, const int64_t *labels,
                                const float *lse, int64_t rows, int64_t vocab,
                                int64_t ignore_index, float grad_scale, float *dlogits) {
  const char *fn = "cuda_cross_entropy_bwd";
  if (checkCe(fn, logits, labels, rows, vocab))
    return -1;
  if (rows > 0 && !dlogits)
    return pzrt::fail("%s: NULL dlogits for %lld rows", fn, (long long)rows);
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  if (rows == 0)
    return 0;
  PZ_LAUNCH(rowBlocks(rows), rowThreads(vocab), 0, stream, ceBwdKernel)(
      logits, labels, lse, rows, vocab, ignore_index, grad_scale, nullptr, dlogits);
  return checkLaunch(fn, "ceBwdKernel");
}

int pzrt_cuda_cross_entropy_bwd_dev(pzrt_step_ctx *ctx, const float *logits,
                                    const int64_t *labels, const float *lse, int64_t rows,
                                    int64_t vocab, int64_t ignore_index,
                                    const double *grad_scale, float *dlogits) {
  const char *fn = "cuda_cross_entropy_bwd_dev";
  if (checkCe(fn, logits, labels, rows, vocab))
    return -1;
  if (rows > 0 && !dlogits)
    return pzrt::fail("%s: NULL dlogits for %lld rows", fn, (long long)rows);
  if (!grad_scale)
    return pzrt::fail("%s: NULL gradient scale", fn);
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  if (rows == 0)
    return 0;
  PZ_LAUNCH(rowBlocks(rows), rowThreads(vocab), 0, stream, ceBwdKernel)(
      logits, labels, lse, rows, vocab, ignore_index, 0.0f, grad_scale, dlogits);
  return checkLaunch(fn, "ceBwdKernel");
}

} // extern "C"
