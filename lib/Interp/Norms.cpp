//===- Norms.cpp - layer_norm, rms_norm and their gradients ---------------===//
//
// Both normalise each row `x` of `n = prod(shape[axis:])` elements:
//   layer_norm: y = (x - mean) * rstd * scale + bias,
//               rstd = 1 / sqrt(mean((x - mean)^2) + eps)  (biased variance)
//   rms_norm:   y = x * r * scale,  r = 1 / sqrt(mean(x^2) + eps)
// The gradients, with gs = grad * scale:
//   layer_norm: dx = rstd * (gs - mean(gs) - xhat * mean(gs * xhat)),
//               xhat = (x - mean) * rstd; dscale = sum_rows(grad * xhat),
//               dbias = sum_rows(grad)
//   rms_norm:   dx = r * gs - r^3 * x * mean(gs * x),
//               dscale = sum_rows(grad * x * r)
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp;
using namespace mlir::pz::interp::detail;

namespace {
/// The row layout of a normalisation and its affine operands.
struct NormRows {
  int64_t rows = 0, n = 0;
  const HostTensor *scale = nullptr, *bias = nullptr;
  double eps = 0;

  double scaleAt(int64_t j) const { return scale ? scale->data[j] : 1.0; }
  double biasAt(int64_t j) const { return bias ? bias->data[j] : 0.0; }
};
} // namespace

/// Checks the axis and the affine operands' shapes (`input.shape[axis:]`).
static FailureOr<NormRows> normRows(Operation *op, Env &env,
                                    const HostTensor &x, int64_t axis,
                                    double eps, Value scale, Value bias) {
  if (failed(checkAxis(op, axis, x.getRank())))
    return failure();
  NormRows r;
  r.rows = prodRange(x.shape, 0, axis);
  r.n = prodRange(x.shape, axis, x.getRank());
  r.eps = eps;
  ArrayRef<int64_t> normalized = ArrayRef<int64_t>(x.shape).drop_front(axis);
  for (auto [v, slot] :
       {std::make_pair(scale, &r.scale), std::make_pair(bias, &r.bias)}) {
    if (!v)
      continue;
    const HostTensor &t = env.get(v);
    if (ArrayRef<int64_t>(t.shape) != normalized)
      return op->emitError()
             << "interpreter: scale/bias has shape " << shapeStr(t.shape)
             << " but the normalised dims are " << shapeStr(normalized);
    *slot = &t;
  }
  return r;
}

/// Mean and 1/sqrt(var + eps) of row `row` (biased variance).
static std::pair<double, double> meanRstd(const double *x, int64_t n,
                                          double eps) {
  double mean = 0;
  for (int64_t j = 0; j < n; ++j)
    mean += x[j];
  mean /= static_cast<double>(n);
  double var = 0;
  for (int64_t j = 0; j < n; ++j)
    var += (x[j] - mean) * (x[j] - mean);
  var /= static_cast<double>(n);
  return {mean, 1.0 / std::sqrt(var + eps)};
}

/// 1/sqrt(mean(x^2) + eps).
static double rmsInverse(const double *x, int64_t n, double eps) {
  double ms = 0;
  for (int64_t j = 0; j < n; ++j)
    ms += x[j] * x[j];
  return 1.0 / std::sqrt(ms / static_cast<double>(n) + eps);
}

static LogicalResult evalLayerNorm(Operation *op, Env &env) {
  auto ln = llvm::cast<LayerNormOp>(op);
  const HostTensor &x = env.get(ln.getInput());
  auto r = normRows(op, env, x, ln.getAxis(), ln.getEpsilon().convertToDouble(),
                    ln.getScale(), ln.getBias());
  if (failed(r))
    return failure();
  std::vector<double> out(x.data.size());
  for (int64_t i = 0; i < r->rows; ++i) {
    const double *row = x.data.data() + i * r->n;
    auto [mean, rstd] = meanRstd(row, r->n, r->eps);
    for (int64_t j = 0; j < r->n; ++j)
      out[i * r->n + j] = (row[j] - mean) * rstd * r->scaleAt(j) + r->biasAt(j);
  }
  return env.define(ln.getResult(), x.shape, std::move(out));
}

static LogicalResult evalRMSNorm(Operation *op, Env &env) {
  auto rms = llvm::cast<RMSNormOp>(op);
  const HostTensor &x = env.get(rms.getInput());
  auto r = normRows(op, env, x, rms.getAxis(),
                    rms.getEpsilon().convertToDouble(), rms.getScale(), {});
  if (failed(r))
    return failure();
  std::vector<double> out(x.data.size());
  for (int64_t i = 0; i < r->rows; ++i) {
    const double *row = x.data.data() + i * r->n;
    double inv = rmsInverse(row, r->n, r->eps);
    for (int64_t j = 0; j < r->n; ++j)
      out[i * r->n + j] = row[j] * inv * r->scaleAt(j);
  }
  return env.define(rms.getResult(), x.shape, std::move(out));
}

/// The grad operand must have the input's shape.
static LogicalResult checkGradShape(Operation *op, const HostTensor &g,
                                    const HostTensor &x) {
  if (g.shape == x.shape)
    return success();
  return op->emitError() << "interpreter: grad has shape " << shapeStr(g.shape)
                         << " but the input has " << shapeStr(x.shape);
}

static LogicalResult evalLayerNormGrad(Operation *op, Env &env) {
  auto lg = llvm::cast<LayerNormGradOp>(op);
  const HostTensor &g = env.get(lg.getGrad());
  const HostTensor &x = env.get(lg.getInput());
  auto r = normRows(op, env, x, lg.getAxis(), lg.getEpsilon().convertToDouble(),
                    lg.getScale(), {});
  if (failed(r) || failed(checkGradShape(op, g, x)))
    return failure();
  int64_t n = r->n;
  std::vector<double> dx(x.data.size()), dscale(n, 0.0), dbias(n, 0.0);
  std::vector<double> xhat(n), gs(n);
  for (int64_t i = 0; i < r->rows; ++i) {
    const double *row = x.data.data() + i * n;
    const double *grow = g.data.data() + i * n;
    auto [mean, rstd] = meanRstd(row, n, r->eps);
    double meanGs = 0, meanGsXhat = 0;
    for (int64_t j = 0; j < n; ++j) {
      xhat[j] = (row[j] - mean) * rstd;
      gs[j] = grow[j] * r->scaleAt(j);
      meanGs += gs[j];
      meanGsXhat += gs[j] * xhat[j];
      dscale[j] += grow[j] * xhat[j];
      dbias[j] += grow[j];
    }
    meanGs /= static_cast<double>(n);
    meanGsXhat /= static_cast<double>(n);
    for (int64_t j = 0; j < n; ++j)
      dx[i * n + j] = rstd * (gs[j] - meanGs - xhat[j] * meanGsXhat);
  }
  std::vector<int64_t> normalized(x.shape.begin() + lg.getAxis(),
                                  x.shape.end());
  if (failed(env.define(lg.getGradInput(), x.shape, std::move(dx))) ||
      failed(env.define(lg.getGradScale(), normalized, std::move(dscale))))
    return failure();
  return env.define(lg.getGradBias(), normalized, std::move(dbias));
}

static LogicalResult evalRMSNormGrad(Operation *op, Env &env) {
  auto rg = llvm::cast<RMSNormGradOp>(op);
  const HostTensor &g = env.get(rg.getGrad());
  const HostTensor &x = env.get(rg.getInput());
  auto r = normRows(op, env, x, rg.getAxis(), rg.getEpsilon().convertToDouble(),
                    rg.getScale(), {});
  if (failed(r) || failed(checkGradShape(op, g, x)))
    return failure();
  int64_t n = r->n;
  std::vector<double> dx(x.data.size()), dscale(n, 0.0);
  for (int64_t i = 0; i < r->rows; ++i) {
    const double *row = x.data.data() + i * n;
    const double *grow = g.data.data() + i * n;
    double inv = rmsInverse(row, n, r->eps);
    double meanGsX = 0;
    for (int64_t j = 0; j < n; ++j) {
      meanGsX += grow[j] * r->scaleAt(j) * row[j];
      dscale[j] += grow[j] * row[j] * inv;
    }
    meanGsX /= static_cast<double>(n);
    for (int64_t j = 0; j < n; ++j)
      dx[i * n + j] =
          inv * grow[j] * r->scaleAt(j) - inv * inv * inv * row[j] * meanGsX;
  }
  std::vector<int64_t> normalized(x.shape.begin() + rg.getAxis(),
                                  x.shape.end());
  if (failed(env.define(rg.getGradInput(), x.shape, std::move(dx))))
    return failure();
  return env.define(rg.getGradScale(), normalized, std::move(dscale));
}

void mlir::pz::interp::detail::registerNormKernels(KernelTable &t) {
  add<LayerNormOp>(t, evalLayerNorm);
  add<RMSNormOp>(t, evalRMSNorm);
  add<LayerNormGradOp>(t, evalLayerNormGrad);
  add<RMSNormGradOp>(t, evalRMSNormGrad);
}
