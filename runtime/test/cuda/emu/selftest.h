// The emulator's test kernels (selftest_kernels.cu), each behind a host
// function that launches it and returns cudaGetLastError(). The same
// source builds with nvcc (pzrt_cuda_selftest) and for the host emulator
// (pzrt_cuda_selftest_emu); test_emu.cpp runs against either.
#ifndef PZRT_TEST_CUDA_EMU_SELFTEST_H
#define PZRT_TEST_CUDA_EMU_SELFTEST_H

#include <cuda_runtime_api.h>

#include <cstddef>

namespace pz_selftest {

// True when built for the host emulator.
bool emulated();

// Block b sums x[b*n .. b*n+n) with `threads` threads (any count 1..1024)
// through static shared memory and __syncthreads: out[b].
cudaError_t blockSum(const float *x, float *out, int n, int threads, int blocks);

// Per thread, kWarpOuts values (x is one value per thread, blocks x threads):
// 0 sum over the warp by __shfl_down_sync (lane 0's is the sum),
// 1 sum by __shfl_xor_sync (every lane), 2 inclusive prefix sum by
// __shfl_up_sync, 3 lane 7's value by __shfl_sync, 4 the value of lane
// (lane+3)%16 within 16-lane segments (__shfl_sync, width 16),
// 5 __shfl_xor_sync with laneMask 1 and width 8 on a double,
// 6 __ballot_sync(x > 0) as float bits, 7 __any_sync(x > 5) +
// 2 __all_sync(x > -100).
constexpr int kWarpOuts = 8;
cudaError_t warpOps(const float *x, float *out, int threads, int blocks);

// hist[k % bins] += 1 (atomicAdd int), *sum += x (atomicAdd float),
// *maxKey = max (atomicMax), *casCount += 1 by an atomicCAS loop.
cudaError_t atomics(const int *keys, int n, int *hist, int bins, float *sum, int *maxKey,
                    unsigned long long *casCount);

// Each block reverses its chunk of `threads` values through dynamic shared
// memory of sharedBytes (>= threads floats).
cudaError_t reverseChunks(const float *x, float *y, int threads, int blocks, size_t sharedBytes);

// Dynamic shared memory beyond 48 KiB: after opting in when optIn.
// out[0] = sum of the block's 0..threads-1 written to the last floats.
cudaError_t bigShared(float *out, size_t sharedBytes, bool optIn);

// y[i] += a * x[i], grid-stride.
cudaError_t axpy(float a, const float *x, float *y, int n, int blocks, int threads,
                 cudaStream_t stream);

// out[0] = 1 from any launch configuration (for the configuration checks).
cudaError_t touch(dim3 grid, dim3 block, size_t sharedBytes, float *out);

// As touch, but returns cudaPeekAtLastError(): the error stays set.
cudaError_t touchPeek(dim3 grid, dim3 block, size_t sharedBytes, float *out);

// out[linear global thread] = blockIdx/threadIdx/blockDim/gridDim packed.
cudaError_t indices(unsigned *out, dim3 grid, dim3 block);

// A kernel whose threads 16..31 return before __syncthreads (UB on a GPU;
// the emulator aborts).
cudaError_t divergentBarrier();
// A shuffle over half a warp (the emulator runs full warps only: aborts).
cudaError_t partialMask(float *out);

// x[i] += 1 on `stream` (graph capture tests).
cudaError_t addOne(float *x, int n, cudaStream_t stream);

// A __device__ array, read by a kernel: out[i] = table[i] * 2.
float *deviceTable(); // its address (cudaGetSymbolAddress)
cudaError_t setDeviceTable(const float *host, int n); // cudaMemcpyToSymbol
cudaError_t readTable(float *out, int n);

// One block: out[0] = __syncthreads_count(t % 3 == 0), out[1] =
// __syncthreads_count(t % 2 == 0), out[2] = __syncthreads_and(t < 2000),
// out[3] = __syncthreads_and(t != 5), out[4] = __syncthreads_or(t == threads-1),
// out[5] = __syncthreads_or(t > threads), as seen by the last thread.
cudaError_t syncthreadsReductions(int threads, int *out);

// `iterations` __syncthreads in one block of `threads`: out[t] = iterations.
cudaError_t barrierLoop(int threads, int iterations, int *out);

// A kernel with a planted race (no barrier between thread 0's write to
// shared memory and the others' reads): seen[b * threads + t] is what
// thread t of block b read, block b's value being b + 1.
cudaError_t missingBarrier(int *seen, int blocks, int threads);

} // namespace pz_selftest

#endif // PZRT_TEST_CUDA_EMU_SELFTEST_H
