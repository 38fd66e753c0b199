/* pzrt/cuda_prelude.h - what every CUDA source includes first: the runtime's
 * kernels (the .cu files of runtime/src/cuda) and the kernels of compiled programs.
 *
 * Compiled by nvcc, it includes the CUDA headers. Compiled by a host C++
 * compiler with PZ_CUDA_EMULATE defined, it includes the emulator
 * (pzrt/cuda_emulate.h), which runs the same kernel source on the host:
 * blocks one after another, the threads of a block as cooperative fibers
 * (docs/design/0019-cuda-emulation.md). That is how the CUDA backend is
 * tested without a GPU; it proves the kernels' indexing, synchronization
 * and arithmetic, not their speed or the GPU's own rounding of expf & co.
 *
 * Kernel sources use only what both sides provide:
 * - PZ_LAUNCH(grid, block, shared_bytes, stream, kernel)(args...): a launch;
 *   `kernel` may be a template-id with commas (it is the macro's last
 *   argument). Check cudaGetLastError() after it, as after <<<>>>.
 * - PZ_DYNAMIC_SHARED(T, name): declares `T *name`, the launch's dynamic
 *   shared memory (shared_bytes, 16-byte aligned).
 * - threadIdx, blockIdx, blockDim, gridDim, warpSize, __syncthreads(),
 *   __syncwarp(), __shfl_sync / __shfl_xor_sync / __shfl_down_sync /
 *   __shfl_up_sync over full warps, __ballot_sync, __any_sync, __all_sync,
 *   atomicAdd (float, double, int, unsigned int, unsigned long long),
 *   atomicMax / atomicMin (int), atomicCAS (int, unsigned long long),
 *   static __shared__ arrays, __device__ / __constant__ globals, __ldg,
 *   rsqrtf, __expf, __logf, __fdividef, __saturatef, the <cmath> float
 *   functions, and cuda_bf16.h / cuda_fp16.h conversions.
 */
#ifndef PZRT_CUDA_PRELUDE_H
#define PZRT_CUDA_PRELUDE_H

#if defined(PZ_CUDA_EMULATE)
#include "pzrt/cuda_emulate.h"
#define PZ_LAUNCH(grid, block, smem, stream, ...)                                                  \
  ::pz_emu::launcher(#__VA_ARGS__, (grid), (block), (smem), (stream), &__VA_ARGS__)
#define PZ_DYNAMIC_SHARED(T, name) T *name = static_cast<T *>(::pz_emu::dynamicShared())
#else
#include <cuda_runtime.h>
#define PZ_LAUNCH(grid, block, smem, stream, ...) __VA_ARGS__<<<(grid), (block), (smem), (stream)>>>
// One untyped array for every kernel: nvcc rejects `extern __shared__ T x[]`
// declared with different T in one translation unit.
#define PZ_DYNAMIC_SHARED(T, name)                                                                 \
  extern __shared__ __align__(16) unsigned char pz_dynamic_shared_[];                              \
  T *name = reinterpret_cast<T *>(pz_dynamic_shared_)
#endif

#include <cuda_bf16.h>
#include <cuda_fp16.h>

/* A failed device-side check (an index out of range, a zero divisor, a bad
 * optimizer step) records its id in the check word (pzrt_cuda_check_word):
 * the smallest id wins, which is the earliest check of the program (ids
 * count from 1 in the order the checks are first reached). Nothing is read
 * back here; the host reads the word when it synchronizes after a compiled
 * function (pzrt_device_check). Callable on the host too (the lit harness
 * runs kernels' element functions there, and the emulator runs a block's
 * threads one at a time). */
#define PZ_CHECK_NONE 0x7f7f7f7f /* the word's value without a failure: bytes 0x7f */
#if defined(__CUDACC__)
__host__ __device__
#endif
inline void pz_flag(int *word, int id) {
#if defined(__CUDA_ARCH__)
  atomicMin(word, id);
#else
  if (id < *word)
    *word = id;
#endif
}

#endif /* PZRT_CUDA_PRELUDE_H */
