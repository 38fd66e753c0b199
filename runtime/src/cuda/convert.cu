// bf16/f16 <-> fp32 copies of mixed precision (pzrt_widen_to_f32 and
// pzrt_narrow_from_f32 on the GPU). The conversions are src/core/types.cpp's
// bit manipulations, not cuda_bf16.h's intrinsics: those turn every NaN into
// one canonical NaN, where the CPU keeps the sign and the payload's top bits;
// with the same code both backends narrow every float to the same bits.
#include "pzrt/cuda_prelude.h"

#include "cuda/kernel_util.cuh"

#include <cstring>

namespace {

using namespace pzrt::cudak;

__host__ __device__ inline uint32_t floatBits(float f) {
#ifdef __CUDA_ARCH__
  return __float_as_uint(f);
#else
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
#endif
}

__host__ __device__ inline float bitsFloat(uint32_t u) {
#ifdef __CUDA_ARCH__
  return __uint_as_float(u);
#else
  float f;
  std::memcpy(&f, &u, 4);
  return f;
#endif
}

// pzrt_f32_to_bf16: round to nearest, ties to even; NaN stays a quiet NaN
// of the same sign.
__host__ __device__ inline uint16_t toBf16(float x) {
  uint32_t u = floatBits(x);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return static_cast<uint16_t>((u >> 16) | 0x0040u);
  uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>((u + rounding) >> 16);
}

__host__ __device__ inline float fromBf16(uint16_t x) {
  return bitsFloat(static_cast<uint32_t>(x) << 16);
}

// pzrt_f32_to_f16, line for line.
__host__ __device__ inline uint16_t toF16(float x) {
  uint32_t u = floatBits(x);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  uint32_t absu = u & 0x7fffffffu;
  if (absu > 0x7f800000u) // NaN
    return static_cast<uint16_t>(sign | 0x7e00u);
  if (absu >= 0x477ff000u) // rounds to >= 65536 (or inf): infinity
    return static_cast<uint16_t>(sign | 0x7c00u);
  int exp = static_cast<int>(absu >> 23) - 127;
  uint32_t mant = (absu & 0x7fffffu) | 0x800000u;
  if (exp >= -14) {
    uint32_t rest = mant & 0x1fffu, half = 0x1000u;
    uint32_t m = mant >> 13;
    if (rest > half || (rest == half && (m & 1u)))
      ++m;
    uint32_t bits = (static_cast<uint32_t>(exp + 15) << 10) + (m - 0x400u);
    return static_cast<uint16_t>(sign | bits);
  }
  if (exp < -25)
    return sign;
  uint32_t shift = static_cast<uint32_t>(-exp - 14 + 13); // 14..24
  uint32_t m = mant >> shift;
  uint32_t rest = mant & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (rest > half || (rest == half && (m & 1u)))
    ++m;
  return static_cast<uint16_t>(sign | m);
}

// pzrt_f16_to_f32 (exact).
__host__ __device__ inline float fromF16(uint16_t x) {
  uint32_t sign = static_cast<uint32_t>(x & 0x8000u) << 16;
  uint32_t exp = (x >> 10) & 0x1fu;
  uint32_t mant = x & 0x3ffu;
  if (exp == 0x1f)
    return bitsFloat(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) {
    if (mant == 0)
      return bitsFloat(sign);
    float v = static_cast<float>(mant) * (1.0f / 16777216.0f); // mant * 2^-24
    return sign ? -v : v;
  }
  return bitsFloat(sign | ((exp + 112u) << 23) | (mant << 13));
}

template <bool kBf16>
__global__ void widenKernel(const uint16_t *src, float *dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = kBf16 ? fromBf16(src[i]) : fromF16(src[i]);
}

template <bool kBf16>
__global__ void narrowKernel(const float *src, uint16_t *dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = kBf16 ? toBf16(src[i]) : toF16(src[i]);
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
