// Softmax, log-softmax and cross-entropy along the last axis.
#include "pzrt/kernels.h"

#include "core/internal.h"
#include "core/simd_clones.h"
#include "cpu/vexp.h"

#include <cmath>
#include <limits>

using pzrt::fail;

namespace {

float rowMax(const float *x, int64_t cols) {
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < cols; ++j)
    m = x[j] > m ? x[j] : m;
  return m;
}

// out[j] = exp(x[j] - shift) in double.
PZRT_SIMD_CLONES void expShifted(const float *x, int64_t n, double shift, double *out) {
  for (int64_t j = 0; j < n; ++j)
    out[j] = pzrt::cpu::pzrtExp(static_cast<double>(x[j]) - shift);
}

// log(sum(exp(x))) of one row, computed as max + log(sum(exp(x - max))) in double:
// the exponentials a block at a time (one vector loop), summed in order.
double rowLogSumExp(const float *x, int64_t cols) {
  float m = rowMax(x, cols);
  if (std::isinf(m) && m < 0)
    return -std::numeric_limits<double>::infinity();
  constexpr int64_t kBlock = 512;
  double e[kBlock];
  double s = 0;
  for (int64_t j0 = 0; j0 < cols; j0 += kBlock) {
    int64_t n = cols - j0 < kBlock ? cols - j0 : kBlock;
    expShifted(x + j0, n, m, e);
    for (int64_t j = 0; j < n; ++j)
      s += e[j];
  }
  return static_cast<double>(m) + std::log(s);
}

// out[j] = scale * exp(x[j] - shift), rounded once to float.
PZRT_SIMD_CLONES void scaledExp(const float *x, int64_t n, double shift, float scale,
                                float *out) {
  for (int64_t j = 0; j < n; ++j)
    out[j] = static_cast<float>(scale * pzrt::cpu::pzrtExp(static_cast<double>(x[j]) - shift));
}

} // namespace

extern "C" {

void pzrt_softmax_fwd(const float *x, float *y, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    const float *xr = x + i * cols;
    float *yr = y + i * cols;
    float m = rowMax(xr, cols);
    if (std::isinf(m) && m < 0) {
      for (int64_t j = 0; j < cols; ++j)
        yr[j] = 0.0f;
      continue;
    }
    double s = 0;
    for (int64_t j = 0; j < cols; ++j) {
      float e = std::exp(xr[j] - m);
      yr[j] = e;
      s += e;
    }
    float inv = static_cast<float>(1.0 / s);
    for (int64_t j = 0; j < cols; ++j)
      yr[j] *= inv;
  }
}

void pzrt_softmax_bwd(const float *y, const float *dy, float *dx, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    const float *yr = y + i * cols, *gr = dy + i * cols;
    float *dr = dx + i * cols;
    double dot = 0;
    for (int64_t j = 0; j < cols; ++j)
      dot += static_cast<double>(yr[j]) * gr[j];
    float d = static_cast<float>(dot);
    for (int64_t j = 0; j < cols; ++j)
      dr[j] = yr[j] * (gr[j] - d);
  }
}

void pzrt_log_softmax_fwd(const float *x, float *y, int64_t rows, int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    const float *xr = x + i * cols;
    float *yr = y + i * cols;
    double lse = rowLogSumExp(xr, cols);
    for (int64_t j = 0; j < cols; ++j)
      yr[j] = static_cast<float>(xr[j] - lse);
  }
}

void pzrt_log_softmax_bwd(const float *y, const float *dy, float *dx, int64_t rows,
                          int64_t cols) {
  for (int64_t i = 0; i < rows; ++i) {
    const float *yr = y + i * cols, *gr = dy + i * cols;
    float *dr = dx + i * cols;
    double s = 0;
    for (int64_t j = 0; j < cols; ++j)
      s += gr[j];
    for (int64_t j = 0; j < cols; ++j)
      dr[j] = static_cast<float>(gr[j] - std::exp(static_cast<double>(yr[j])) * s);
  }
}

int pzrt_cross_entropy_fwd(const float *logits, const int64_t *labels, int64_t rows,
                           int64_t vocab, int64_t ignore_index, float *lse, double *loss_sum,
                           int64_t *n_valid) {
  if (rows < 0 || vocab <= 0)
    return fail("cross_entropy_fwd: bad shape rows=%lld vocab=%lld", (long long)rows,
                (long long)vocab);
  double sum = 0;
  int64_t valid = 0;
  for (int64_t i = 0; i < rows; ++i) {
    int64_t lab = labels[i];
    const float *xr = logits + i * vocab;
    if (lab == ignore_index) {
      if (lse)
        lse[i] = 0.0f;
      continue;
    }
    if (lab < 0 || lab >= vocab)
      return fail("cross_entropy_fwd: label %lld at row %lld is outside [0, %lld) and is not the "
                  "ignore index %lld",
                  (long long)lab, (long long)i, (long long)vocab, (long long)ignore_index);
    double l = rowLogSumExp(xr, vocab);
    if (lse)
      lse[i] = static_cast<float>(l);
    sum += l - xr[lab];
    ++valid;
  }
  if (loss_sum)
    *loss_sum = sum;
  if (n_valid)
    *n_valid = valid;
  return 0;
}

int pzrt_cross_entropy_bwd(const float *logits, const int64_t *labels, const float *lse,
                           int64_t rows, int64_t vocab, int64_t ignore_index, float grad_scale,
                           float *dlogits) {
  if (rows < 0 || vocab <= 0)
    return fail("cross_entropy_bwd: bad shape rows=%lld vocab=%lld", (long long)rows,
                (long long)vocab);
  for (int64_t i = 0; i < rows; ++i) {
    int64_t lab = labels[i];
    const float *xr = logits + i * vocab;
    float *dr = dlogits + i * vocab;
    if (lab == ignore_index) {
      for (int64_t j = 0; j < vocab; ++j)
        dr[j] = 0.0f;
      continue;
    }
    if (lab < 0 || lab >= vocab)
      return fail("cross_entropy_bwd: label %lld at row %lld is outside [0, %lld) and is not the "
                  "ignore index %lld",
                  (long long)lab, (long long)i, (long long)vocab, (long long)ignore_index);
    double l = lse ? static_cast<double>(lse[i]) : rowLogSumExp(xr, vocab);
    scaledExp(xr, vocab, l, grad_scale, dr);
    dr[lab] = static_cast<float>(static_cast<double>(grad_scale) *
                                 (pzrt::cpu::pzrtExp(static_cast<double>(xr[lab]) - l) - 1.0));
  }
  return 0;
}

} // extern "C"
