// What the runtime's CUDA kernels (runtime/src/cuda/*.cu) share: launch
// sizes, warp and block reductions with a fixed order, and the checks that
// turn a missing stream or a failed launch into a pzrt error naming the
// function. Included after pzrt/cuda_prelude.h, so that it compiles both with
// nvcc and as host C++ under the emulator (PZ_CUDA_EMULATE).
#ifndef PZRT_SRC_CUDA_KERNEL_UTIL_CUH
#define PZRT_SRC_CUDA_KERNEL_UTIL_CUH

#include "pzrt/cuda_prelude.h"

#include "pzrt/cuda.h"
#include "pzrt/cuda_kernels.h"
#include "pzrt/error.h"

#include "core/internal.h"

#include <cmath>
#include <cstdint>

namespace pzrt::cudak {

constexpr unsigned kFullMask = 0xffffffffu;
// Elementwise kernels: 256 threads, a grid-stride loop over at most this
// many blocks (about 8 resident blocks per SM on 132 SMs, rounded up).
constexpr int kEltThreads = 256;
constexpr int64_t kMaxEltBlocks = 4096;
// Row kernels: one block per row, a grid-stride loop over rows beyond this.
constexpr int64_t kMaxRowBlocks = int64_t(1) << 20;

// Blocks for an n-element grid-stride loop of kEltThreads threads (n > 0).
inline unsigned eltBlocks(int64_t n) {
  int64_t b = (n + kEltThreads - 1) / kEltThreads;
  return static_cast<unsigned>(b < kMaxEltBlocks ? b : kMaxEltBlocks);
}

// Threads for one block per row: a power of two from 32 to 1024, about 8
// elements per thread, so that short rows do not idle most of a block.
inline unsigned rowThreads(int64_t cols) {
  unsigned t = 32;
  while (t < 1024 && int64_t(t) * 8 < cols)
    t *= 2;
  return t;
}

inline unsigned rowBlocks(int64_t rows) {
  return static_cast<unsigned>(rows < kMaxRowBlocks ? rows : kMaxRowBlocks);
}

// The context's compute stream, or NULL with an error naming `fn`.
inline cudaStream_t computeStream(pzrt_step_ctx *ctx, const char *fn) {
  if (!ctx)
    return (pzrt::fail("%s: no step context", fn), nullptr);
  void *s = pzrt_cuda_compute_stream(ctx);
  if (!s) {
    std::string why = pzrt_last_error();
    return (pzrt::fail("%s: %s", fn, why.c_str()), nullptr);
  }
  return static_cast<cudaStream_t>(s);
}

// Call after each launch: a launch error (bad configuration, no kernel image
// for this GPU, an earlier asynchronous fault) becomes a pzrt error naming
// the function and the kernel.
inline int checkLaunch(const char *fn, const char *kernel) {
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess) // PZRT_CUDA_SYNC=1: a fault names this kernel
    return pzrt_cuda_sync_debug() ? pzrt_cuda_debug_sync(fn) : 0;
  return pzrt::fail("%s: launching %s: %s (%s)", fn, kernel, cudaGetErrorString(err),
                    cudaGetErrorName(err));
}

struct SumOp {
  __device__ float operator()(float a, float b) const { return a + b; }
};
// NaN-ignoring like the CPU's `x > m ? x : m` (fmaxf returns the non-NaN).
struct MaxOp {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// Reduces over the 32 lanes of a full warp with a butterfly: at each level
// a lane combines its value with its partner's, and both see the same two
// values, so every lane ends with the same bits (for commutative ops).
template <typename Op>
__device__ inline float warpReduce(float v, Op op) {
  for (int o = 16; o > 0; o >>= 1)
    v = op(v, __shfl_xor_sync(kFullMask, v, o));
  return v;
}

// Reduces over the block (blockDim.x a multiple of 32, at most 1024); every
// thread gets the same result. `red` is a __shared__ float[32] of the
// kernel. The order is fixed by blockDim.x alone, so results repeat bit for
// bit. Starts with a barrier, so back-to-back calls may share `red`; call it
// from every thread of the block.
template <typename Op>
__device__ inline float blockReduce(float v, Op op, float identity, float *red) {
  v = warpReduce(v, op);
  const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
  __syncthreads();
  if (lane == 0)
    red[warp] = v;
  __syncthreads();
  v = lane < (blockDim.x >> 5) ? red[lane] : identity;
  return warpReduce(v, op);
}

__device__ inline float blockSum(float v, float *red) { return blockReduce(v, SumOp(), 0.0f, red); }
__device__ inline float blockMax(float v, float *red) {
  return blockReduce(v, MaxOp(), -INFINITY, red);
}

// log(sum(exp(x))) of one row by the whole block, as max + log(sum(exp(x -
// max))) in fp32; -inf for a row of -inf (no exp of NaN). Every thread gets
// it.
__device__ inline float blockRowLogSumExp(const float *xr, int64_t cols, float *red) {
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
    m = fmaxf(m, xr[j]);
  m = blockMax(m, red);
  if (m == -INFINITY)
    return -INFINITY;
  float s = 0.0f;
  for (int64_t j = threadIdx.x; j < cols; j += blockDim.x)
    s += expf(xr[j] - m);
  s = blockSum(s, red);
  return m + logf(s);
}

} // namespace pzrt::cudak

#endif // PZRT_SRC_CUDA_KERNEL_UTIL_CUH
