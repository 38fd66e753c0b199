// bf16/f16 <-> fp32 copies of mixed precision (pzrt_widen_to_f32 and
// pzrt_narrow_from_f32 on the GPU), with the CPU's conversions
// (pzrt/half_bits.h): both backends narrow every float to the same bits.
#include "pzrt/cuda_prelude.h"

#include "pzrt/half_bits.h"
#include "cuda/kernel_util.cuh"

#include <cstring>

namespace {

using namespace pzrt::cudak;

using pzrt::halfbits::bf16ToF32;
using pzrt::halfbits::f16ToF32;
using pzrt::halfbits::f32ToBf16;
using pzrt::halfbits::f32ToF16;

template <bool kBf16>
__global__ void widenKernel(const uint16_t *src, float *dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = kBf16 ? bf16ToF32(src[i]) : f16ToF32(src[i]);
}

template <bool kBf16>
__global__ void narrowKernel(const float *src, uint16_t *dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = kBf16 ? f32ToBf16(src[i]) : f32ToF16(src[i]);
}

// The CPU's checks and messages (src/core/types.cpp), under this name.
int checkConvert(const char *fn, pzrt_dtype dtype, const void *a, const void *b, int64_t n) {
  if (n < 0 || (dtype != PZRT_BF16 && dtype != PZRT_F16))
    return pzrt::fail("%s: expected a bf16 or f16 buffer and n >= 0 (got %s, %lld)", fn,
                      pzrt_dtype_name(dtype), (long long)n);
  if (n > 0 && (!a || !b))
    return pzrt::fail("%s: NULL buffer for %lld elements", fn, (long long)n);
  return 0;
}

} // namespace

extern "C" {

int pzrt_cuda_widen_to_f32(pzrt_step_ctx *ctx, pzrt_dtype src_dtype, const void *src, float *dst,
                           int64_t n) {
  const char *fn = "cuda_widen_to_f32";
  if (checkConvert(fn, src_dtype, src, dst, n))
    return -1;
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  if (n == 0)
    return 0;
  const uint16_t *s = static_cast<const uint16_t *>(src);
  if (src_dtype == PZRT_BF16)
    PZ_LAUNCH(eltBlocks(n), kEltThreads, 0, stream, widenKernel<true>)(s, dst, n);
  else
    PZ_LAUNCH(eltBlocks(n), kEltThreads, 0, stream, widenKernel<false>)(s, dst, n);
  return checkLaunch(fn, "widenKernel");
}

int pzrt_cuda_narrow_from_f32(pzrt_step_ctx *ctx, pzrt_dtype dst_dtype, const float *src,
                              void *dst, int64_t n) {
  const char *fn = "cuda_narrow_from_f32";
  if (checkConvert(fn, dst_dtype, src, dst, n))
    return -1;
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  if (n == 0)
    return 0;
  uint16_t *d = static_cast<uint16_t *>(dst);
  if (dst_dtype == PZRT_BF16)
    PZ_LAUNCH(eltBlocks(n), kEltThreads, 0, stream, narrowKernel<true>)(src, d, n);
  else
    PZ_LAUNCH(eltBlocks(n), kEltThreads, 0, stream, narrowKernel<false>)(src, d, n);
  return checkLaunch(fn, "narrowKernel");
}

} // extern "C"
