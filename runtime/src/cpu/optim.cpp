// AdamW and SGD with torch.optim semantics, gradient-norm helpers.
#include "pzrt/kernels.h"

#include "core/internal.h"
#include "core/simd_clones.h"

#include <cmath>

using pzrt::fail;

extern "C" {

PZRT_SIMD_CLONES int pzrt_adamw_step(float *p, const float *g, float *m, float *v, int64_t n, double lr,
                    double beta1, double beta2, double eps, double weight_decay, int64_t step) {
  if (step < 1)
    return fail("adamw_step: step %lld must count from 1", (long long)step);
  if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps >= 0) || !(lr >= 0))
    return fail("adamw_step: invalid hyper-parameters lr=%g betas=(%g, %g) eps=%g", lr, beta1,
                beta2, eps);
  // The same scalars, computed the way torch 1.13 computes them in Python.
  const double t = static_cast<double>(step);
  const float decay = static_cast<float>(1.0 - lr * weight_decay);
  const double bc1 = 1.0 - std::pow(beta1, t);
  const double bc2 = 1.0 - std::pow(beta2, t);
  const float negStep = static_cast<float>(-(lr / bc1));
  const float bc2Sqrt = static_cast<float>(std::sqrt(bc2));
  const float b1 = static_cast<float>(beta1), omb1 = static_cast<float>(1.0 - beta1);
  const float b2 = static_cast<float>(beta2), omb2 = static_cast<float>(1.0 - beta2);
  const float epsf = static_cast<float>(eps);
  // torch's CPU kernels fuse "a + alpha * b" (add with alpha, addcmul) into
  // one FMA; std::fma reproduces that rounding bit for bit.
  for (int64_t i = 0; i < n; ++i) {
    float pi = p[i] * decay;                     // param.mul_(1 - lr * wd)
    float mi = std::fma(g[i], omb1, m[i] * b1);  // exp_avg.mul_(b1).add_(g, alpha=1-b1)
    float vi = std::fma(omb2 * g[i], g[i], v[i] * b2); // exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2)
    float denom = std::sqrt(vi) / bc2Sqrt + epsf; // (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps)
    p[i] = pi + negStep * mi / denom;            // param.addcdiv_(exp_avg, denom, -step_size)
    m[i] = mi;
    v[i] = vi;
  }
  return 0;
}

PZRT_SIMD_CLONES int pzrt_sgd_step(float *p, const float *g, float *buf, int64_t n, double lr, double momentum,
                  double dampening, double weight_decay, int nesterov, int64_t step) {
  if (momentum != 0 && !buf)
    return fail("sgd_step: momentum %g needs a momentum buffer", momentum);
  if (nesterov && (momentum <= 0 || dampening != 0))
    return fail("sgd_step: Nesterov momentum requires a momentum and zero dampening");
  const float wd = static_cast<float>(weight_decay);
  const float mom = static_cast<float>(momentum);
  const float omd = static_cast<float>(1.0 - dampening);
  const float negLr = static_cast<float>(-lr);
  const bool first = step <= 1;
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i];
    if (weight_decay != 0)
      d = std::fma(p[i], wd, d); // grad.add(param, alpha=weight_decay)
    if (momentum != 0) {
      float b = first ? d : std::fma(d, omd, buf[i] * mom); // buf.mul_(m).add_(d, alpha=1-damp)
      buf[i] = b;
      d = nesterov ? std::fma(b, mom, d) : b; // d.add(buf, alpha=momentum)
    }
    p[i] = std::fma(d, negLr, p[i]); // param.add_(d_p, alpha=-lr)
  }
  return 0;
}

double pzrt_sum_squares(const float *x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i)
    s += static_cast<double>(x[i]) * x[i];
  return s;
}

PZRT_SIMD_CLONES void pzrt_scale(float *x, int64_t n, float s) {
  for (int64_t i = 0; i < n; ++i)
    x[i] *= s;
}

float pzrt_clip_coef(double total_norm, double max_norm) {
  float c = static_cast<float>(max_norm) / (static_cast<float>(total_norm) + 1e-6f);
  return c < 1.0f ? c : 1.0f;
}

} // extern "C"
