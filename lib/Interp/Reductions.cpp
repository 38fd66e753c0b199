//===- Reductions.cpp - reduce_*, reduce_max_grad, softmax, log_softmax ---===//

#include "Kernels.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp;
using namespace mlir::pz::interp::detail;

static LogicalResult checkAxes(Operation *op, ArrayRef<int64_t> axes,
                               int64_t rank) {
  if (axes.empty())
    return op->emitError() << "interpreter: no axes to reduce";
  for (auto [i, a] : llvm::enumerate(axes)) {
    if (failed(checkAxis(op, a, rank)))
      return failure();
    if (i && axes[i - 1] >= a)
      return op->emitError() << "interpreter: axes must be sorted and unique";
  }
  return success();
}

enum class ReduceKind { Sum, Mean, Max };

/// The slice maxima of `x` over `axes` (NaN when a slice holds one, as
/// torch.amax), indexed by reductionOffsets.
static std::vector<double> sliceMax(const HostTensor &x,
                                    ArrayRef<int64_t> offsets, int64_t slices) {
  std::vector<double> max(slices, -INFINITY);
  for (size_t i = 0; i < x.data.size(); ++i) {
    double v = x.data[i], &m = max[offsets[i]];
    if (std::isnan(v) || v > m)
      m = std::isnan(m) ? m : v;
  }
  return max;
}

template <typename OpTy>
static LogicalResult evalReduce(Operation *op, Env &env, ReduceKind kind) {
  auto reduce = llvm::cast<OpTy>(op);
  const HostTensor &x = env.get(reduce.getInput());
  ArrayRef<int64_t> axes = reduce.getAxes();
  if (failed(checkAxes(op, axes, x.getRank())))
    return failure();
  std::vector<int64_t> shape =
      reducedShape(x.shape, axes, reduce.getKeepdims());
  std::vector<int64_t> offsets = reductionOffsets(x.shape, axes);
  int64_t slices = numElements(shape);
  std::vector<double> out;
  if (kind == ReduceKind::Max) {
    out = sliceMax(x, offsets, slices);
  } else {
    out.assign(slices, 0.0);
    for (size_t i = 0; i < x.data.size(); ++i)
      out[offsets[i]] += x.data[i];
    if (kind == ReduceKind::Mean) {
      double count = static_cast<double>(x.data.size()) /
                     static_cast<double>(std::max<int64_t>(slices, 1));
      for (double &v : out)
        v /= count;
    }
  }
  return env.define(reduce.getResult(), std::move(shape), std::move(out));
}

static LogicalResult evalReduceMaxGrad(Operation *op, Env &env) {
  auto grad = llvm::cast<ReduceMaxGradOp>(op);
  const HostTensor &g = env.get(grad.getGrad());
  const HostTensor &x = env.get(grad.getInput());
  ArrayRef<int64_t> axes = grad.getAxes();
  if (failed(checkAxes(op, axes, x.getRank())))
    return failure();
  std::vector<int64_t> reduced =
      reducedShape(x.shape, axes, grad.getKeepdims());
  if (g.shape != reduced)
    return op->emitError() << "interpreter: grad has shape "
                           << shapeStr(g.shape) << " but the reduction of "
                           << shapeStr(x.shape) << " has shape "
                           << shapeStr(reduced);
  std::vector<int64_t> offsets = reductionOffsets(x.shape, axes);
  std::vector<double> max = sliceMax(x, offsets, g.data.size());
  std::vector<double> ties(max.size(), 0.0);
  for (size_t i = 0; i < x.data.size(); ++i)
    if (x.data[i] == max[offsets[i]])
      ties[offsets[i]] += 1.0;
  std::vector<double> out(x.data.size(), 0.0);
  for (size_t i = 0; i < x.data.size(); ++i)
    if (x.data[i] == max[offsets[i]])
      out[i] = g.data[offsets[i]] / ties[offsets[i]];
  return env.define(grad.getResult(), x.shape, std::move(out));
}

/// Softmax or log-softmax along `axis`, max-subtracted.
template <typename OpTy>
static LogicalResult evalSoftmax(Operation *op, Env &env, bool log) {
  auto softmax = llvm::cast<OpTy>(op);
  const HostTensor &x = env.get(softmax.getInput());
  int64_t axis = softmax.getAxis();
  if (failed(checkAxis(op, axis, x.getRank())))
    return failure();
  int64_t outer = prodRange(x.shape, 0, axis), n = x.shape[axis];
  int64_t inner = prodRange(x.shape, axis + 1, x.getRank());
  std::vector<double> out(x.data.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      const double *row = x.data.data() + o * n * inner + in;
      double *dst = out.data() + o * n * inner + in;
      if (!log) {
        softmaxRow(row, dst, n, inner);
        continue;
      }
      double max = -INFINITY;
      for (int64_t i = 0; i < n; ++i)
        max = std::max(max, row[i * inner]);
      double sum = 0;
      for (int64_t i = 0; i < n; ++i)
        sum += std::exp(row[i * inner] - max);
      double lse = max + std::log(sum);
      for (int64_t i = 0; i < n; ++i)
        dst[i * inner] = row[i * inner] - lse;
    }
  }
  return env.define(softmax.getResult(), x.shape, std::move(out));
}

/// Cumulative sums along `axis`: inclusive or exclusive, forward or from the
/// end. Integer sums wrap when the result is defined.
static LogicalResult evalCumSum(Operation *op, Env &env) {
  auto c = llvm::cast<CumSumOp>(op);
  const HostTensor &x = env.get(c.getInput());
  int64_t axis = c.getAxis();
  if (failed(checkAxis(op, axis, x.getRank())))
    return failure();
  int64_t outer = prodRange(x.shape, 0, axis), n = x.shape[axis];
  int64_t inner = prodRange(x.shape, axis + 1, x.getRank());
  bool exclusive = c.getExclusive(), reverse = c.getReverse();
  std::vector<double> out(x.data.size());
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t in = 0; in < inner; ++in) {
      double sum = 0;
      for (int64_t k = 0; k < n; ++k) {
        int64_t at = (o * n + (reverse ? n - 1 - k : k)) * inner + in;
        if (exclusive)
          out[at] = sum;
        sum += x.data[at];
        if (!exclusive)
          out[at] = sum;
      }
    }
  }
  return env.define(c.getResult(), x.shape, std::move(out));
}

static LogicalResult evalAllFinite(Operation *op, Env &env) {
  auto f = llvm::cast<AllFiniteOp>(op);
  const HostTensor &x = env.get(f.getInput());
  bool finite = true;
  for (double v : x.data)
    finite = finite && std::isfinite(v);
  return env.define(f.getResult(), {}, {finite ? 1.0 : 0.0});
}

void mlir::pz::interp::detail::registerReductionKernels(KernelTable &t) {
  add<AllFiniteOp>(t, evalAllFinite);
  add<CumSumOp>(t, evalCumSum);
  add<ReduceSumOp>(t, [](Operation *op, Env &env) {
    return evalReduce<ReduceSumOp>(op, env, ReduceKind::Sum);
  });
  add<ReduceMeanOp>(t, [](Operation *op, Env &env) {
    return evalReduce<ReduceMeanOp>(op, env, ReduceKind::Mean);
  });
  add<ReduceMaxOp>(t, [](Operation *op, Env &env) {
    return evalReduce<ReduceMaxOp>(op, env, ReduceKind::Max);
  });
  add<ReduceMaxGradOp>(t, evalReduceMaxGrad);
  add<SoftmaxOp>(t, [](Operation *op, Env &env) {
    return evalSoftmax<SoftmaxOp>(op, env, /*log=*/false);
  });
  add<LogSoftmaxOp>(t, [](Operation *op, Env &env) {
    return evalSoftmax<LogSoftmaxOp>(op, env, /*log=*/true);
  });
}
