// What the AdamW kernels share (optim.cu's one tensor per launch,
// optim_multi.cu's many): the explicitly rounded fp32 operations, the step's
// scalars and the per-element update. One definition, so that every form
// updates a tensor bit for bit alike. Included after kernel_util.cuh.
#ifndef PZRT_SRC_CUDA_OPTIM_UTIL_CUH
#define PZRT_SRC_CUDA_OPTIM_UTIL_CUH

#include "cuda/kernel_util.cuh"

namespace pzrt::cudak {

// Single-rounding fp32 operations. On the host (the emulator) the compiler
// does not contract them either: the runtime builds with -std=c++17, whose
// default is -ffp-contract=off.
__device__ inline float mulRn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
__device__ inline float addRn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
__device__ inline float divRn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fdiv_rn(a, b);
#else
  return a / b;
#endif
}
__device__ inline float sqrtRn(float a) {
#ifdef __CUDA_ARCH__
  return __fsqrt_rn(a);
#else
  return sqrtf(a);
#endif
}
__device__ inline float fmaRn(float a, float b, float c) {
#ifdef __CUDA_ARCH__
  return __fmaf_rn(a, b, c);
#else
  return fmaf(a, b, c);
#endif
}

struct AdamWScalars {
  float decay, negStep, bc2Sqrt, b1, omb1, b2, omb2, eps;
};

// One element of the AdamW update (torch 1.13's order of fp32 operations),
// shared by every AdamW kernel so that they update bit for bit alike.
__device__ inline void adamwElement(float *p, const float *g, float *m, float *v, int64_t i,
                                    const AdamWScalars &s) {
  const float gi = g[i];
  const float pi = mulRn(p[i], s.decay);                            // param.mul_(1 - lr * wd)
  const float mi = fmaRn(gi, s.omb1, mulRn(m[i], s.b1));            // exp_avg.mul_.add_
  const float vi = fmaRn(mulRn(s.omb2, gi), gi, mulRn(v[i], s.b2)); // exp_avg_sq.mul_.addcmul_
  const float denom = addRn(divRn(sqrtRn(vi), s.bc2Sqrt), s.eps);
  p[i] = addRn(pi, divRn(mulRn(s.negStep, mi), denom)); // param.addcdiv_(m, denom, -step)
  m[i] = mi;
  v[i] = vi;
}

// The CPU kernel's scalars from the host values, in double (as torch 1.13).
__host__ __device__ inline AdamWScalars adamwScalars(double lr, double beta1, double beta2,
                                                     double eps, double weight_decay,
                                                     int64_t step) {
  const double t = static_cast<double>(step);
  AdamWScalars s;
  s.decay = static_cast<float>(1.0 - lr * weight_decay);
  s.negStep = static_cast<float>(-(lr / (1.0 - pow(beta1, t))));
  s.bc2Sqrt = static_cast<float>(sqrt(1.0 - pow(beta2, t)));
  s.b1 = static_cast<float>(beta1);
  s.omb1 = static_cast<float>(1.0 - beta1);
  s.b2 = static_cast<float>(beta2);
  s.omb2 = static_cast<float>(1.0 - beta2);
  s.eps = static_cast<float>(eps);
  return s;
}

// The device-scalar kernels' prologue: thread 0 computes the step's scalars
// into the block's shared `s` (and `ok`, also the kernel's __shared__) from
// the device slots. A step below 1 or a
// negative or NaN lr (which the host form refuses) returns false in every
// thread, so the tensors stay unchanged, and block 0 records badId in *bad
// (the caller's check word, see pzrt_cuda_check_word). Call it from every
// thread of the block.
__device__ inline bool adamwDevScalars(AdamWScalars &s, int &ok, const float *lr,
                                       const int64_t *step, double beta1, double beta2,
                                       double eps, double weight_decay, int *bad, int badId) {
  if (threadIdx.x == 0) {
    const double l = static_cast<double>(*lr);
    ok = *step >= 1 && l >= 0;
    if (ok)
      s = adamwScalars(l, beta1, beta2, eps, weight_decay, *step);
    else if (blockIdx.x == 0 && bad)
      pz_flag(bad, badId);
  }
  __syncthreads();
  return ok != 0;
}

} // namespace pzrt::cudak

#endif // PZRT_SRC_CUDA_OPTIM_UTIL_CUH
