// The emulator's test kernels (see selftest.h): ordinary CUDA, written
// only with what pzrt/cuda_prelude.h promises, built by nvcc and by the
// host compiler for the emulator.
#include "pzrt/cuda_prelude.h"

#include "selftest.h"

namespace pz_selftest {
namespace {

constexpr unsigned kFull = 0xffffffffu;

__global__ void blockSumKernel(const float *x, float *out, int n) {
  __shared__ float partial[1024];
  const int t = threadIdx.x;
  float v = 0.0f;
  for (int i = t; i < n; i += blockDim.x)
    v += x[blockIdx.x * n + i];
  partial[t] = v;
  __syncthreads();
  // A tree over any thread count: halve the next power of two.
  int width = 1;
  while (width < static_cast<int>(blockDim.x))
    width *= 2;
  for (int half = width / 2; half > 0; half /= 2) {
    if (t < half && t + half < static_cast<int>(blockDim.x))
      partial[t] += partial[t + half];
    __syncthreads();
  }
  if (t == 0)
    out[blockIdx.x] = partial[0];
}

__global__ void warpOpsKernel(const float *x, float *out) {
  const int g = blockIdx.x * blockDim.x + threadIdx.x;
  const int lane = threadIdx.x % warpSize;
  const float v = x[g];
  float *o = out + g * kWarpOuts;

  float down = v;
  for (int off = 16; off > 0; off /= 2)
    down += __shfl_down_sync(kFull, down, off);
  o[0] = down;

  float bfly = v;
  for (int mask = 16; mask > 0; mask /= 2)
    bfly += __shfl_xor_sync(kFull, bfly, mask);
  o[1] = bfly;

  float scan = v;
  for (int off = 1; off < 32; off *= 2) {
    float up = __shfl_up_sync(kFull, scan, off);
    if (lane >= off)
      scan += up;
  }
  o[2] = scan;

  o[3] = __shfl_sync(kFull, v, 7);
  o[4] = __shfl_sync(kFull, v, (lane + 3) % 16, 16);
  o[5] = static_cast<float>(__shfl_xor_sync(kFull, static_cast<double>(v), 1, 8));

  unsigned ballot = __ballot_sync(kFull, v > 0.0f);
  o[6] = __uint_as_float(ballot);
  o[7] = (__any_sync(kFull, v > 5.0f) ? 1.0f : 0.0f) +
         (__all_sync(kFull, v > -100.0f) ? 2.0f : 0.0f);
}

__global__ void atomicsKernel(const int *keys, int n, int *hist, int bins, float *sum,
                              int *maxKey, unsigned long long *casCount) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x) {
    const int k = keys[i];
    atomicAdd(&hist[k % bins], 1);
    atomicAdd(sum, static_cast<float>(k));
    atomicMax(maxKey, k);
    unsigned long long old = *casCount, seen;
    do {
      seen = old;
      old = atomicCAS(casCount, seen, seen + 1);
    } while (old != seen);
  }
}

__global__ void reverseKernel(const float *x, float *y) {
  PZ_DYNAMIC_SHARED(float, buf);
  const int t = threadIdx.x, base = blockIdx.x * blockDim.x;
  buf[t] = x[base + t];
  __syncthreads();
  y[base + t] = buf[blockDim.x - 1 - t];
}

__global__ void bigSharedKernel(float *out, int floats) {
  PZ_DYNAMIC_SHARED(float, buf);
  const int t = threadIdx.x;
  // The last blockDim.x floats of the allocation: all of it is usable.
  buf[floats - 1 - t] = static_cast<float>(t);
  __syncthreads();
  if (t == 0) {
    float s = 0.0f;
    for (int i = 0; i < static_cast<int>(blockDim.x); ++i)
      s += buf[floats - 1 - i];
    out[0] = s;
  }
}

__global__ void axpyKernel(float a, const float *x, float *y, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
    y[i] += a * x[i];
}

__global__ void touchKernel(float *out) {
  if (threadIdx.x == 0 && blockIdx.x == 0)
    out[0] = 1.0f;
}

__global__ void indicesKernel(unsigned *out) {
  const unsigned block = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  const unsigned threads = blockDim.x * blockDim.y * blockDim.z;
  const unsigned t = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  // Bits: thread (x 4, y 3, z 2), block (x 2, y 2, z 2).
  out[block * threads + t] = threadIdx.x | threadIdx.y << 4 | threadIdx.z << 7 |
                             blockIdx.x << 9 | blockIdx.y << 11 | blockIdx.z << 13;
}

__global__ void divergentBarrierKernel() {
  if (threadIdx.x >= 16)
    return;
  __syncthreads();
}

__global__ void partialMaskKernel(float *out) {
  float v = static_cast<float>(threadIdx.x);
  if (threadIdx.x < 16)
    v = __shfl_down_sync(0x0000ffffu, v, 1);
  out[threadIdx.x] = v;
}

__global__ void addOneKernel(float *x, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    x[i] += 1.0f;
}

__device__ float table[64];

__global__ void readTableKernel(float *out, int n) {
  const int i = threadIdx.x;
  if (i < n)
    out[i] = table[i] * 2.0f;
}

__global__ void syncthreadsReductionsKernel(int *out) {
  const int t = threadIdx.x, last = blockDim.x - 1;
  const int r0 = __syncthreads_count(t % 3 == 0);
  const int r1 = __syncthreads_count(t % 2 == 0);
  const int r2 = __syncthreads_and(t < 2000);
  const int r3 = __syncthreads_and(t != 5);
  const int r4 = __syncthreads_or(t == last);
  const int r5 = __syncthreads_or(t > last);
  if (t == last) {
    out[0] = r0, out[1] = r1, out[2] = r2 != 0, out[3] = r3 != 0, out[4] = r4 != 0;
    out[5] = r5 != 0;
  }
}

__global__ void barrierLoopKernel(int iterations, int *out) {
  int count = 0;
  for (int i = 0; i < iterations; ++i) {
    ++count;
    __syncthreads();
  }
  out[threadIdx.x] = count;
}

// Deliberately missing its barrier: thread 0 writes the block's value to
// shared memory and the other threads read it without __syncthreads.
__global__ void missingBarrierKernel(int *seen) {
  __shared__ int value;
  if (threadIdx.x == 0)
    value = static_cast<int>(blockIdx.x) + 1;
  // (no __syncthreads here: the defect the test plants)
  seen[blockIdx.x * blockDim.x + threadIdx.x] = value;
}

} // namespace

bool emulated() {
#if defined(PZ_CUDA_EMULATE)
  return true;
#else
  return false;
#endif
}

cudaError_t blockSum(const float *x, float *out, int n, int threads, int blocks) {
  PZ_LAUNCH(blocks, threads, 0, 0, blockSumKernel)(x, out, n);
  return cudaGetLastError();
}

cudaError_t warpOps(const float *x, float *out, int threads, int blocks) {
  PZ_LAUNCH(blocks, threads, 0, 0, warpOpsKernel)(x, out);
  return cudaGetLastError();
}

cudaError_t atomics(const int *keys, int n, int *hist, int bins, float *sum, int *maxKey,
                    unsigned long long *casCount) {
  PZ_LAUNCH(7, 96, 0, 0, atomicsKernel)(keys, n, hist, bins, sum, maxKey, casCount);
  return cudaGetLastError();
}

cudaError_t reverseChunks(const float *x, float *y, int threads, int blocks, size_t sharedBytes) {
  PZ_LAUNCH(blocks, threads, sharedBytes, 0, reverseKernel)(x, y);
  return cudaGetLastError();
}

cudaError_t bigShared(float *out, size_t sharedBytes, bool optIn) {
  if (optIn) {
    cudaError_t err = cudaFuncSetAttribute(bigSharedKernel,
                                           cudaFuncAttributeMaxDynamicSharedMemorySize,
                                           static_cast<int>(sharedBytes));
    if (err != cudaSuccess)
      return err;
  }
  PZ_LAUNCH(1, 128, sharedBytes, 0, bigSharedKernel)(out, static_cast<int>(sharedBytes / 4));
  return cudaGetLastError();
}

cudaError_t axpy(float a, const float *x, float *y, int n, int blocks, int threads,
                 cudaStream_t stream) {
  PZ_LAUNCH(blocks, threads, 0, stream, axpyKernel)(a, x, y, n);
  return cudaGetLastError();
}

cudaError_t touch(dim3 grid, dim3 block, size_t sharedBytes, float *out) {
  PZ_LAUNCH(grid, block, sharedBytes, 0, touchKernel)(out);
  return cudaGetLastError();
}

cudaError_t touchPeek(dim3 grid, dim3 block, size_t sharedBytes, float *out) {
  PZ_LAUNCH(grid, block, sharedBytes, 0, touchKernel)(out);
  return cudaPeekAtLastError();
}

cudaError_t indices(unsigned *out, dim3 grid, dim3 block) {
  PZ_LAUNCH(grid, block, 0, 0, indicesKernel)(out);
  return cudaGetLastError();
}

cudaError_t divergentBarrier() {
  PZ_LAUNCH(2, 32, 0, 0, divergentBarrierKernel)();
  return cudaGetLastError();
}

cudaError_t partialMask(float *out) {
  PZ_LAUNCH(1, 32, 0, 0, partialMaskKernel)(out);
  return cudaGetLastError();
}

cudaError_t addOne(float *x, int n, cudaStream_t stream) {
  PZ_LAUNCH((n + 127) / 128, 128, 0, stream, addOneKernel)(x, n);
  return cudaGetLastError();
}

float *deviceTable() {
  void *p = nullptr;
  return cudaGetSymbolAddress(&p, table) == cudaSuccess ? static_cast<float *>(p) : nullptr;
}

cudaError_t setDeviceTable(const float *host, int n) {
  return cudaMemcpyToSymbol(table, host, n * sizeof(float));
}

cudaError_t readTable(float *out, int n) {
  PZ_LAUNCH(1, 64, 0, 0, readTableKernel)(out, n);
  return cudaGetLastError();
}

cudaError_t syncthreadsReductions(int threads, int *out) {
  PZ_LAUNCH(1, threads, 0, 0, syncthreadsReductionsKernel)(out);
  return cudaGetLastError();
}

cudaError_t barrierLoop(int threads, int iterations, int *out) {
  PZ_LAUNCH(1, threads, 0, 0, barrierLoopKernel)(iterations, out);
  return cudaGetLastError();
}

cudaError_t missingBarrier(int *seen, int blocks, int threads) {
  PZ_LAUNCH(blocks, threads, 0, 0, missingBarrierKernel)(seen);
  return cudaGetLastError();
}

} // namespace pz_selftest
