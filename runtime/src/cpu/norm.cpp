// Layer norm and RMS norm along the last axis, forward and backward.
#include "pzrt/kernels.h"

#include "core/internal.h"

#include <cmath>

using pzrt::fail;

namespace {
int checkShape(const char *fn, int64_t rows, int64_t cols) {
  if (rows < 0 || cols <= 0)
    return fail("%s: bad shape rows=%lld cols=%lld", fn, (long long)rows, (long long)cols);
  return 0;
}

// Row statistics exactly as the forward computes them (in double).
void layerNormStats(const float *xr, int64_t cols, float eps, double &mu, double &rs) {
  mu = 0;
  for (int64_t j = 0; j < cols; ++j)
    mu += xr[j];
  mu /= static_cast<double>(cols);
  double var = 0;
  for (int64_t j = 0; j < cols; ++j) {
    double d = xr[j] - mu;
    var += d * d;
  }
  var /= static_cast<double>(cols);
  rs = 1.0 / std::sqrt(var + eps);
}

double rmsNormStat(const float *xr, int64_t cols, float eps) {
  double ss = 0;
  for (int64_t j = 0; j < cols; ++j)
    ss += static_cast<double>(xr[j]) * xr[j];
  return 1.0 / std::sqrt(ss / static_cast<double>(cols) + eps);
}

// Where the backward gets a row's statistics: the forward's saved (float)
// values, or recomputed as the forward does and rounded to float as it saves
// them, so that both give the same bits.
struct SavedStats {
  const float *mean, *rstd;
  void layerNorm(int64_t i, const float *, int64_t, double &mu, double &rs) const {
    mu = mean[i];
    rs = rstd[i];
  }
  double rms(int64_t i, const float *, int64_t) const { return rstd[i]; }
};

struct RecomputedStats {
  float eps;
  void layerNorm(int64_t, const float *xr, int64_t cols, double &mu, double &rs) const {
    double m, r;
    layerNormStats(xr, cols, eps, m, r);
    mu = static_cast<float>(m);
    rs = static_cast<float>(r);
  }
  double rms(int64_t, const float *xr, int64_t cols) const {
    return static_cast<float>(rmsNormStat(xr, cols, eps));
  }
};

// dgamma/dbeta are summed over rows in double, per column in row order, into
// stack buffers of kColChunk columns: no heap allocation. Rows wider than
// kColChunk take one more pass over the rows (recomputing the statistics when
// they are not saved) for each further chunk of columns.
constexpr int64_t kColChunk = 2048;

template <typename Stats>
void layerNormBwd(const float *dy, const float *x, const float *gamma, const Stats &stats,
                  float *dx, float *dgamma, float *dbeta, int64_t rows, int64_t cols) {
  double dg[kColChunk], db[kColChunk];
  for (int64_t c0 = 0; c0 < cols; c0 += kColChunk) {
    bool first = c0 == 0, sums = dgamma || dbeta;
    if (!first && !sums)
      break;
    int64_t c1 = cols - c0 > kColChunk ? c0 + kColChunk : cols;
    for (int64_t j = 0; j < c1 - c0; ++j)
      dg[j] = db[j] = 0.0;
    for (int64_t i = 0; i < rows; ++i) {
      const float *xr = x + i * cols, *gr = dy + i * cols;
      double mu, rs;
      stats.layerNorm(i, xr, cols, mu, rs);
      if (first) {
        float *dr = dx + i * cols;
        double sumG = 0, sumGX = 0; // sums of g and g*xhat, g = dy*gamma
        for (int64_t j = 0; j < cols; ++j) {
          double xhat = (xr[j] - mu) * rs;
          double g = gamma ? static_cast<double>(gr[j]) * gamma[j] : gr[j];
          sumG += g;
          sumGX += g * xhat;
        }
        double inv = 1.0 / static_cast<double>(cols);
        for (int64_t j = 0; j < cols; ++j) {
          double xhat = (xr[j] - mu) * rs;
          double g = gamma ? static_cast<double>(gr[j]) * gamma[j] : gr[j];
          dr[j] = static_cast<float>(rs * (g - sumG * inv - xhat * sumGX * inv));
        }
      }
      if (sums)
        for (int64_t j = c0; j < c1; ++j) {
          double xhat = (xr[j] - mu) * rs;
          dg[j - c0] += static_cast<double>(gr[j]) * xhat;
          db[j - c0] += gr[j];
        }
    }
    for (int64_t j = c0; j < c1; ++j) {
      if (dgamma)
        dgamma[j] = static_cast<float>(dg[j - c0]);
      if (dbeta)
        dbeta[j] = static_cast<float>(db[j - c0]);
    }
  }
}

template <typename Stats>
void rmsNormBwd(const float *dy, const float *x, const float *gamma, const Stats &stats,
                float *dx, float *dgamma, int64_t rows, int64_t cols) {
  double dg[kColChunk];
  for (int64_t c0 = 0; c0 < cols; c0 += kColChunk) {
    bool first = c0 == 0;
    if (!first && !dgamma)
      break;
    int64_t c1 = cols - c0 > kColChunk ? c0 + kColChunk : cols;
    for (int64_t j = 0; j < c1 - c0; ++j)
      dg[j] = 0.0;
    for (int64_t i = 0; i < rows; ++i) {
      const float *xr = x + i * cols, *gr = dy + i * cols;
      double rs = stats.rms(i, xr, cols);
      if (first) {
        float *dr = dx + i * cols;
        double sumGX = 0;
        for (int64_t j = 0; j < cols; ++j) {
          double xhat = xr[j] * rs;
          double g = gamma ? static_cast<double>(gr[j]) * gamma[j] : gr[j];
          sumGX += g * xhat;
        }
        double inv = 1.0 / static_cast<double>(cols);
        for (int64_t j = 0; j < cols; ++j) {
          double xhat = xr[j] * rs;
          double g = gamma ? static_cast<double>(gr[j]) * gamma[j] : gr[j];
          dr[j] = static_cast<float>(rs * (g - xhat * sumGX * inv));
        }
      }
      if (dgamma)
        for (int64_t j = c0; j < c1; ++j) {
          double xhat = xr[j] * rs;
          dg[j - c0] += static_cast<double>(gr[j]) * xhat;
        }
    }
    if (dgamma)
      for (int64_t j = c0; j < c1; ++j)
        dgamma[j] = static_cast<float>(dg[j - c0]);
  }
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
    double mu, rs;
    layerNormStats(xr, cols, eps, mu, rs);
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
  if (rows > 0 && (!mean || !rstd))
    return fail("layer_norm_bwd: the saved mean and rstd are required (or use "
                "pzrt_layer_norm_bwd_recompute)");
  layerNormBwd(dy, x, gamma, SavedStats{mean, rstd}, dx, dgamma, dbeta, rows, cols);
  return 0;
}

int pzrt_layer_norm_bwd_recompute(const float *dy, const float *x, const float *gamma,
                                  float *dx, float *dgamma, float *dbeta, int64_t rows,
                                  int64_t cols, float eps) {
  if (checkShape("layer_norm_bwd_recompute", rows, cols))
    return -1;
  layerNormBwd(dy, x, gamma, RecomputedStats{eps}, dx, dgamma, dbeta, rows, cols);
  return 0;
}

int pzrt_rms_norm_fwd(const float *x, const float *gamma, float *y, float *rstd, int64_t rows,
                      int64_t cols, float eps) {
  if (checkShape("rms_norm_fwd", rows, cols))
    return -1;
  for (int64_t i = 0; i < rows; ++i) {
    const float *xr = x + i * cols;
    float *yr = y + i * cols;
    double rs = rmsNormStat(xr, cols, eps);
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
  if (rows > 0 && !rstd)
    return fail("rms_norm_bwd: the saved rstd is required (or use pzrt_rms_norm_bwd_recompute)");
  rmsNormBwd(dy, x, gamma, SavedStats{nullptr, rstd}, dx, dgamma, rows, cols);
  return 0;
}

int pzrt_rms_norm_bwd_recompute(const float *dy, const float *x, const float *gamma, float *dx,
                                float *dgamma, int64_t rows, int64_t cols, float eps) {
  if (checkShape("rms_norm_bwd_recompute", rows, cols))
    return -1;
  rmsNormBwd(dy, x, gamma, RecomputedStats{eps}, dx, dgamma, rows, cols);
  return 0;
}

} // extern "C"
