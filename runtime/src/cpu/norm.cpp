// Layer norm and RMS norm along the last axis, forward and backward.
#include "pzrt/kernels.h"

#include "core/internal.h"

#include <cmath>
#include <vector>

using pzrt::fail;

namespace {
int checkShape(const char *fn, int64_t rows, int64_t cols) {
  if (rows < 0 || cols <= 0)
    return fail("%s: bad shape rows=%lld cols=%lld", fn, (long long)rows, (long long)cols);
  return 0;
}
} // namespace

extern "C" {

int pzrt_layer_norm_fwd(const float *x, const float *gamma, const float *beta, float *y,
                        float *mean, float *rstd, int64_t rows, int64_t cols, float eps) {
  if (checkShape("layer_norm_fwd", rows, cols))
    return -1;
  for (int64_t i = 0; i < rows; ++i) {
    const float *xr = x + i * cols;
    float *yr = y + i * cols;
    double mu = 0;
    for (int64_t j = 0; j < cols; ++j)
      mu += xr[j];
    mu /= static_cast<double>(cols);
    double var = 0;
    for (int64_t j = 0; j < cols; ++j) {
      double d = xr[j] - mu;
      var += d * d;
    }
    var /= static_cast<double>(cols);
    double rs = 1.0 / std::sqrt(var + eps);
    for (int64_t j = 0; j < cols; ++j) {
      double v = (xr[j] - mu) * rs;
      if (gamma)
        v *= gamma[j];
      if (beta)
        v += beta[j];
      yr[j] = static_cast<float>(v);
    }
    if (mean)
      mean[i] = static_cast<float>(mu);
    if (rstd)
      rstd[i] = static_cast<float>(rs);
  }
  return 0;
}

int pzrt_layer_norm_bwd(const float *dy, const float *x, const float *gamma, const float *mean,
                        const float *rstd, float *dx, float *dgamma, float *dbeta, int64_t rows,
                        int64_t cols) {
  if (checkShape("layer_norm_bwd", rows, cols))
    return -1;
  if (!mean || !rstd)
    return fail("layer_norm_bwd: the saved mean and rstd are required");
  std::vector<double> dg(dgamma ? static_cast<size_t>(cols) : 0, 0.0);
  std::vector<double> db(dbeta ? static_cast<size_t>(cols) : 0, 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    const float *xr = x + i * cols, *gr = dy + i * cols;
    float *dr = dx + i * cols;
    double mu = mean[i], rs = rstd[i];
    double sumG = 0, sumGX = 0; // sums of g and g*xhat, g = dy*gamma
    for (int64_t j = 0; j < cols; ++j) {
      double xhat = (xr[j] - mu) * rs;
      double g = gamma ? static_cast<double>(gr[j]) * gamma[j] : gr[j];
      sumG += g;
      sumGX += g * xhat;
      if (dgamma)
        dg[static_cast<size_t>(j)] += static_cast<double>(gr[j]) * xhat;
      if (dbeta)
        db[static_cast<size_t>(j)] += gr[j];
    }
    double inv = 1.0 / static_cast<double>(cols);
    for (int64_t j = 0; j < cols; ++j) {
      double xhat = (xr[j] - mu) * rs;
      double g = gamma ? static_cast<double>(gr[j]) * gamma[j] : gr[j];
      dr[j] = static_cast<float>(rs * (g - sumG * inv - xhat * sumGX * inv));
    }
  }
  for (int64_t j = 0; j < cols; ++j) {
    if (dgamma)
      dgamma[j] = static_cast<float>(dg[static_cast<size_t>(j)]);
    if (dbeta)
      dbeta[j] = static_cast<float>(db[static_cast<size_t>(j)]);
  }
  return 0;
}

int pzrt_rms_norm_fwd(const float *x, const float *gamma, float *y, float *rstd, int64_t rows,
                      int64_t cols, float eps) {
  if (checkShape("rms_norm_fwd", rows, cols))
    return -1;
  for (int64_t i = 0; i < rows; ++i) {
    const float *xr = x + i * cols;
    float *yr = y + i * cols;
    double ss = 0;
    for (int64_t j = 0; j < cols; ++j)
      ss += static_cast<double>(xr[j]) * xr[j];
    double rs = 1.0 / std::sqrt(ss / static_cast<double>(cols) + eps);
    for (int64_t j = 0; j < cols; ++j)
      yr[j] = static_cast<float>(xr[j] * rs * (gamma ? gamma[j] : 1.0f));
    if (rstd)
      rstd[i] = static_cast<float>(rs);
  }
  return 0;
}

int pzrt_rms_norm_bwd(const float *dy, const float *x, const float *gamma, const float *rstd,
                      float *dx, float *dgamma, int64_t rows, int64_t cols) {
  if (checkShape("rms_norm_bwd", rows, cols))
    return -1;
  if (!rstd)
    return fail("rms_norm_bwd: the saved rstd is required");
  std::vector<double> dg(dgamma ? static_cast<size_t>(cols) : 0, 0.0);
  for (int64_t i = 0; i < rows; ++i) {
    const float *xr = x + i * cols, *gr = dy + i * cols;
    float *dr = dx + i * cols;
    double rs = rstd[i];
    double sumGX = 0;
    for (int64_t j = 0; j < cols; ++j) {
      double xhat = xr[j] * rs;
      double g = gamma ? static_cast<double>(gr[j]) * gamma[j] : gr[j];
      sumGX += g * xhat;
      if (dgamma)
        dg[static_cast<size_t>(j)] += static_cast<double>(gr[j]) * xhat;
    }
    double inv = 1.0 / static_cast<double>(cols);
    for (int64_t j = 0; j < cols; ++j) {
      double xhat = xr[j] * rs;
      double g = gamma ? static_cast<double>(gr[j]) * gamma[j] : gr[j];
      dr[j] = static_cast<float>(rs * (g - xhat * sumGX * inv));
    }
  }
  if (dgamma)
    for (int64_t j = 0; j < cols; ++j)
      dgamma[j] = static_cast<float>(dg[static_cast<size_t>(j)]);
  return 0;
}

} // extern "C"
