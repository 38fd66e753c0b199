// GELU (erf and tanh forms) and dropout, elementwise on the GPU.
//
// GELU computes in fp32 (erff, tanhf, expf) where the CPU's
// src/cpu/gelu.cpp computes in double: the results agree within a few fp32
// ulp of the terms (the 1 + erf(...) cancellation for large negative x
// included), not bit for bit.
//
// Dropout draws from the CPU's Philox-4x32-10 stream (src/core/philox.cpp):
// element e of the stream is word e % 4 of the block counter {e/4, step} under
// the key seed. Each thread generates one block of four words, so the masks
// and the scaled values (one fp32 product) are the CPU backend's bit for bit.
#include "pzrt/cuda_prelude.h"

#include "cuda/kernel_util.cuh"

namespace {

using namespace pzrt::cudak;

constexpr float kSqrt1_2 = 0.70710678118654752440f;     // 1/sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;  // 1/sqrt(2*pi)
constexpr float kSqrt2OverPi = 0.79788456080286535588f; // sqrt(2/pi)
constexpr float kCoef = 0.044715f;

template <bool kTanh>
__global__ void geluFwdKernel(const float *x, float *y, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float v = x[i];
    y[i] = kTanh ? 0.5f * v * (1.0f + tanhf(kSqrt2OverPi * (v + kCoef * v * v * v)))
                 : 0.5f * v * (1.0f + erff(v * kSqrt1_2));
  }
}

template <bool kTanh>
__global__ void geluBwdKernel(const float *x, const float *dy, float *dx, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float v = x[i];
    float d;
    if (kTanh) {
      const float t = tanhf(kSqrt2OverPi * (v + kCoef * v * v * v));
      d = 0.5f * (1.0f + t) +
          0.5f * v * (1.0f - t * t) * kSqrt2OverPi * (1.0f + 3.0f * kCoef * v * v);
    } else {
      d = 0.5f * (1.0f + erff(v * kSqrt1_2)) + v * kInvSqrt2Pi * expf(-0.5f * v * v);
    }
    dx[i] = dy[i] * d;
  }
}

// Philox-4x32-10 (Salmon et al., SC'11), as src/core/philox.cpp.
__host__ __device__ inline void philox(uint32_t c[4], uint32_t k0, uint32_t k1) {
  for (int r = 0; r < 10; ++r) {
    const uint64_t p0 = uint64_t(0xD2511F53u) * c[0], p1 = uint64_t(0xCD9E8D57u) * c[2];
    const uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
    const uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
    const uint32_t n0 = hi1 ^ c[1] ^ k0, n2 = hi0 ^ c[3] ^ k1;
    c[0] = n0;
    c[1] = lo1;
    c[2] = n2;
    c[3] = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
}

// Thread b handles Philox block first + b, the elements of [offset, offset +
// n) among its four: y = keep ? x * scale : 0, keep = u >= p (p < 1). With
// stepPtr the step is read on the device (the device-step form, which a
// CUDA graph replays with the step the host published since).
template <bool kMask>
__global__ void dropoutKernel(const float *x, float *y, uint8_t *mask, int64_t n, float p,
                              float scale, uint64_t seed, uint64_t step, const int64_t *stepPtr,
                              uint64_t offset) {
  if (stepPtr)
    step = static_cast<uint64_t>(*stepPtr);
  const uint64_t first = offset >> 2, blocks = ((offset + uint64_t(n) - 1) >> 2) - first + 1;
  for (uint64_t b = blockIdx.x * uint64_t(blockDim.x) + threadIdx.x; b < blocks;
       b += uint64_t(gridDim.x) * blockDim.x) {
    const uint64_t block = first + b;
    uint32_t c[4] = {uint32_t(block), uint32_t(block >> 32), uint32_t(step), uint32_t(step >> 32)};
    philox(c, uint32_t(seed), uint32_t(seed >> 32));
    for (unsigned lane = 0; lane < 4; ++lane) {
      const uint64_t e = block * 4 + lane;
      if (e < offset || e - offset >= uint64_t(n))
        continue;
      const int64_t i = int64_t(e - offset);
      const float u = static_cast<float>(c[lane] >> 8) * (1.0f / 16777216.0f);
      const bool keep = u >= p && p < 1.0f;
      y[i] = keep ? x[i] * scale : 0.0f;
      if (kMask)
        mask[i] = keep ? 1 : 0;
    }
  }
}

int checkElt(const char *fn, const void *a, const void *b, const void *c, int64_t n) {
  if (n < 0)
    return pzrt::fail("%s: negative element count %lld", fn, (long long)n);
  if (n > 0 && (!a || !b || !c))
    return pzrt::fail("%s: NULL buffer for %lld elements", fn, (long long)n);
  return 0;
}

int dropout(pzrt_step_ctx *ctx, const char *fn, const float *x, float *y, uint8_t *mask,
            int64_t n, float p, uint64_t seed, uint64_t step, const int64_t *stepPtr,
            uint64_t offset) {
  if (checkElt(fn, x, y, y, n))
    return -1;
  if (!(p >= 0.0f && p <= 1.0f))
    return pzrt::fail("%s: probability %g is outside [0, 1]", fn, static_cast<double>(p));
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  if (n == 0)
    return 0;
  const float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
  const int64_t blocks = int64_t((((offset + uint64_t(n) - 1) >> 2) - (offset >> 2)) + 1);
  if (mask)
    PZ_LAUNCH(eltBlocks(blocks), kEltThreads, 0, stream, dropoutKernel<true>)(
        x, y, mask, n, p, scale, seed, step, stepPtr, offset);
  else
    PZ_LAUNCH(eltBlocks(blocks), kEltThreads, 0, stream, dropoutKernel<false>)(
        x, y, mask, n, p, scale, seed, step, stepPtr, offset);
  return checkLaunch(fn, "dropoutKernel");
}

} // namespace

extern "C" {

int pzrt_cuda_gelu_fwd(pzrt_step_ctx *ctx, const float *x, float *y, int64_t n, int approximate) {
  const char *fn = "cuda_gelu_fwd";
  if (checkElt(fn, x, y, y, n))
    return -1;
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  if (n == 0)
    return 0;
  if (approximate)
    PZ_LAUNCH(eltBlocks(n), kEltThreads, 0, stream, geluFwdKernel<true>)(x, y, n);
  else
    PZ_LAUNCH(eltBlocks(n), kEltThreads, 0, stream, geluFwdKernel<false>)(x, y, n);
  return checkLaunch(fn, "geluFwdKernel");
}

int pzrt_cuda_gelu_bwd(pzrt_step_ctx *ctx, const float *x, const float *dy, float *dx, int64_t n,
                       int approximate) {
  const char *fn = "cuda_gelu_bwd";
  if (checkElt(fn, x, dy, dx, n))
    return -1;
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  if (n == 0)
    return 0;
  if (approximate)
    PZ_LAUNCH(eltBlocks(n), kEltThreads, 0, stream, geluBwdKernel<true>)(x, dy, dx, n);
  else
    PZ_LAUNCH(eltBlocks(n), kEltThreads, 0, stream, geluBwdKernel<false>)(x, dy, dx, n);
  return checkLaunch(fn, "geluBwdKernel");
}

int pzrt_cuda_dropout_fwd(pzrt_step_ctx *ctx, const float *x, float *y, uint8_t *mask, int64_t n,
                          float p, uint64_t seed, uint64_t step, uint64_t offset) {
  return dropout(ctx, "cuda_dropout_fwd", x, y, mask, n, p, seed, step, nullptr, offset);
}

int pzrt_cuda_dropout_fwd_dev(pzrt_step_ctx *ctx, const float *x, float *y, uint8_t *mask,
                              int64_t n, float p, uint64_t seed, const int64_t *step,
                              uint64_t offset) {
  if (!step)
    return pzrt::fail("cuda_dropout_fwd_dev: NULL step");
  return dropout(ctx, "cuda_dropout_fwd_dev", x, y, mask, n, p, seed, 0, step, offset);
}

// The forward's kernel without a mask: dx = keep ? dy * scale : 0.
int pzrt_cuda_dropout_bwd(pzrt_step_ctx *ctx, const float *dy, float *dx, int64_t n, float p,
                          uint64_t seed, uint64_t step, uint64_t offset) {
  return dropout(ctx, "cuda_dropout_bwd", dy, dx, nullptr, n, p, seed, step, nullptr, offset);
}

} // extern "C"
