// AdamW and SGD steps with torch.optim semantics (the CPU's
// src/cpu/optim.cpp, on the GPU), one thread per element.
//
// The host computes the step's scalars in double exactly as the CPU kernels
// do, and the device repeats the CPU's fp32 operations in the same order with
// explicitly rounded intrinsics (__fmul_rn & co. do not contract into FMAs;
// the CPU's std::fma are __fmaf_rn), so each update is the CPU backend's bit
// for bit.
//
// One launch per parameter tensor here; optim_multi.cu updates many tensors
// per launch with the same per-element math (optim_util.cuh).
#include "pzrt/cuda_prelude.h"

#include "cuda/kernel_util.cuh"
#include "cuda/optim_util.cuh"

namespace {

using namespace pzrt::cudak;

__global__ void adamwKernel(float *p, const float *g, float *m, float *v, int64_t n,
                            AdamWScalars s) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    adamwElement(p, g, m, v, i, s);
}

// The device-scalar form: lr and step are read on the device (a CUDA graph
// replays the launch with whatever the host wrote there since). Thread 0
// of each block computes the scalars once; a step below 1 or a negative or
// NaN lr (which the host form refuses) leaves the tensors unchanged and
// sets *bad (the caller's check word, see pzrt_cuda_check_word).
__global__ void adamwDevKernel(float *p, const float *g, float *m, float *v, int64_t n,
                               const float *lr, const int64_t *step, double beta1, double beta2,
                               double eps, double weight_decay, int *bad, int badId) {
  __shared__ AdamWScalars s;
  __shared__ int ok;
  if (!adamwDevScalars(s, ok, lr, step, beta1, beta2, eps, weight_decay, bad, badId))
    return;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    adamwElement(p, g, m, v, i, s);
}

struct SgdScalars {
  float wd, mom, omd, negLr;
  bool decay, momentum, nesterov, first;
};

__global__ void sgdKernel(float *p, const float *g, float *buf, int64_t n, SgdScalars s) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float d = g[i];
    if (s.decay)
      d = fmaRn(p[i], s.wd, d); // grad.add(param, alpha=weight_decay)
    if (s.momentum) {
      const float b = s.first ? d : fmaRn(d, s.omd, mulRn(buf[i], s.mom));
      buf[i] = b;
      d = s.nesterov ? fmaRn(b, s.mom, d) : b;
    }
    p[i] = fmaRn(d, s.negLr, p[i]); // param.add_(d_p, alpha=-lr)
  }
}

// The device-scalar form: -lr rounded to float from the device's lr slot
// (a float, so the host form's double -> float rounding is the identity).
__global__ void sgdDevKernel(float *p, const float *g, float *buf, int64_t n, SgdScalars s,
                             const float *lr) {
  s.negLr = -*lr;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    float d = g[i];
    if (s.decay)
      d = fmaRn(p[i], s.wd, d);
    if (s.momentum) {
      const float b = s.first ? d : fmaRn(d, s.omd, mulRn(buf[i], s.mom));
      buf[i] = b;
      d = s.nesterov ? fmaRn(b, s.mom, d) : b;
    }
    p[i] = fmaRn(d, s.negLr, p[i]);
  }
}

} // namespace

extern "C" {

int pzrt_cuda_adamw_step(pzrt_step_ctx *ctx, float *p, const float *g, float *m, float *v,
                         int64_t n, double lr, double beta1, double beta2, double eps,
                         double weight_decay, int64_t step) {
  const char *fn = "cuda_adamw_step";
  if (step < 1)
    return pzrt::fail("%s: step %lld must count from 1", fn, (long long)step);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0) || !(lr >= 0))
    return pzrt::fail("%s: invalid hyper-parameters lr=%g betas=(%g, %g) eps=%g", fn, lr, beta1,
                      beta2, eps);
  if (n < 0)
    return pzrt::fail("%s: negative element count %lld", fn, (long long)n);
  if (n > 0 && (!p || !g || !m || !v))
    return pzrt::fail("%s: NULL parameter, gradient or moment for %lld elements", fn,
                      (long long)n);
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  if (n == 0)
    return 0;
  // The CPU kernel's scalars, computed the same way (as torch 1.13 does).
  const AdamWScalars s = adamwScalars(lr, beta1, beta2, eps, weight_decay, step);
  PZ_LAUNCH(eltBlocks(n), kEltThreads, 0, stream, adamwKernel)(p, g, m, v, n, s);
  return checkLaunch(fn, "adamwKernel");
}

int pzrt_cuda_adamw_step_dev(pzrt_step_ctx *ctx, float *p, const float *g, float *m, float *v,
                             int64_t n, const float *lr, const int64_t *step, double beta1,
                             double beta2, double eps, double weight_decay, int *bad,
                             int bad_id) {
  const char *fn = "cuda_adamw_step_dev";
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0))
    return pzrt::fail("%s: invalid hyper-parameters betas=(%g, %g) eps=%g", fn, beta1, beta2,
                      eps);
  if (n < 0)
    return pzrt::fail("%s: negative element count %lld", fn, (long long)n);
  if (!lr || !step)
    return pzrt::fail("%s: NULL learning rate or step slot", fn);
  if (n > 0 && (!p || !g || !m || !v))
    return pzrt::fail("%s: NULL parameter, gradient or moment for %lld elements", fn,
                      (long long)n);
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  if (n == 0)
    return 0;
  PZ_LAUNCH(eltBlocks(n), kEltThreads, 0, stream, adamwDevKernel)(
      p, g, m, v, n, lr, step, beta1, beta2, eps, weight_decay, bad, bad_id);
  return checkLaunch(fn, "adamwDevKernel");
}

int pzrt_cuda_sgd_step(pzrt_step_ctx *ctx, float *p, const float *g, float *buf, int64_t n,
                       double lr, double momentum, double dampening, double weight_decay,
                       int nesterov, int64_t step) {
  const char *fn = "cuda_sgd_step";
  if (momentum != 0 && !buf)
    return pzrt::fail("%s: momentum %g needs a momentum buffer", fn, momentum);
  if (nesterov && (momentum <= 0 || dampening != 0))
    return pzrt::fail("%s: Nesterov momentum requires a momentum and zero dampening", fn);
  if (n < 0)
    return pzrt::fail("%s: negative element count %lld", fn, (long long)n);
  if (n > 0 && (!p || !g))
    return pzrt::fail("%s: NULL parameter or gradient for %lld elements", fn, (long long)n);
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  if (n == 0)
    return 0;
  SgdScalars s;
  s.wd = static_cast<float>(weight_decay);
  s.mom = static_cast<float>(momentum);
  s.omd = static_cast<float>(1.0 - dampening);
  s.negLr = static_cast<float>(-lr);
  s.decay = weight_decay != 0;
  s.momentum = momentum != 0;
  s.nesterov = nesterov != 0;
  s.first = step <= 1;
  PZ_LAUNCH(eltBlocks(n), kEltThreads, 0, stream, sgdKernel)(p, g, buf, n, s);
  return checkLaunch(fn, "sgdKernel");
}

int pzrt_cuda_sgd_step_dev(pzrt_step_ctx *ctx, float *p, const float *g, float *buf, int64_t n,
                           const float *lr, double momentum, double dampening,
                           double weight_decay, int nesterov, int64_t step) {
  const char *fn = "cuda_sgd_step_dev";
  if (momentum != 0 && !buf)
    return pzrt::fail("%s: momentum %g needs a momentum buffer", fn, momentum);
  if (nesterov && (momentum <= 0 || dampening != 0))
    return pzrt::fail("%s: Nesterov momentum requires a momentum and zero dampening", fn);
  if (n < 0)
    return pzrt::fail("%s: negative element count %lld", fn, (long long)n);
  if (!lr)
    return pzrt::fail("%s: NULL learning rate slot", fn);
  if (n > 0 && (!p || !g))
    return pzrt::fail("%s: NULL parameter or gradient for %lld elements", fn, (long long)n);
  cudaStream_t stream = computeStream(ctx, fn);
  if (!stream)
    return -1;
  if (n == 0)
    return 0;
  SgdScalars s;
  s.wd = static_cast<float>(weight_decay);
  s.mom = static_cast<float>(momentum);
  s.omd = static_cast<float>(1.0 - dampening);
  s.negLr = 0; // from *lr on the device
  s.decay = weight_decay != 0;
  s.momentum = momentum != 0;
  s.nesterov = nesterov != 0;
  s.first = step <= 1;
  PZ_LAUNCH(eltBlocks(n), kEltThreads, 0, stream, sgdDevKernel)(p, g, buf, n, s, lr);
  return checkLaunch(fn, "sgdDevKernel");
}

} // extern "C"
