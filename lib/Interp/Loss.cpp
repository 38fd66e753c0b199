//===- Loss.cpp - cross_entropy and cross_entropy_grad --------------------===//
//
// Per token t with label y != ignore_index: loss_t = logsumexp(logits_t) -
// logits_t[y]. `mean` divides the sum by the count of tokens not ignored (a
// mean over no token is 0/0 = NaN, as PyTorch), `sum` adds, `none` keeps
// the per-token losses (0 where ignored). The gradient with respect to the
// logits is (softmax(logits_t) - onehot(y)) * grad_t, zero on ignored
// tokens, divided by the count for `mean`.
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
struct Tokens {
  int64_t count = 0, classes = 0;
  /// Tokens whose label is not ignore_index.
  int64_t valid = 0;
};
} // namespace

/// Checks the label shape and range.
static FailureOr<Tokens> checkLabels(Operation *op, const HostTensor &logits,
                                     const HostTensor &labels,
                                     int64_t ignoreIndex) {
  if (logits.getRank() < 1)
    return op->emitError() << "interpreter: logits need a class dim";
  std::vector<int64_t> tokenShape(logits.shape.begin(), logits.shape.end() - 1);
  if (labels.shape != tokenShape)
    return op->emitError() << "interpreter: labels have shape "
                           << shapeStr(labels.shape)
                           << " but the logits' token dims are "
                           << shapeStr(tokenShape);
  Tokens t;
  t.count = numElements(tokenShape);
  t.classes = logits.shape.back();
  for (int64_t i = 0; i < t.count; ++i) {
    double y = labels.data[i];
    if (y == static_cast<double>(ignoreIndex))
      continue;
    if (!(y >= 0 && y < static_cast<double>(t.classes)))
      return op->emitError() << "interpreter: label " << numStr(y) << " (token "
                             << i << ") is out of range [0, " << t.classes
                             << ") and is not the ignore_index " << ignoreIndex;
    ++t.valid;
  }
  return t;
}

static double logSumExp(const double *x, int64_t n) {
  double max = -INFINITY;
  for (int64_t i = 0; i < n; ++i)
    max = std::max(max, x[i]);
  if (std::isinf(max))
    return max;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += std::exp(x[i] - max);
  return max + std::log(sum);
}

static LogicalResult evalCrossEntropy(Operation *op, Env &env) {
  auto ce = llvm::cast<CrossEntropyOp>(op);
  const HostTensor &logits = env.get(ce.getLogits());
  const HostTensor &labels = env.get(ce.getLabels());
  int64_t ignore = ce.getIgnoreIndex();
  FailureOr<Tokens> t = checkLabels(op, logits, labels, ignore);
  if (failed(t))
    return failure();
  std::vector<double> perToken(t->count, 0.0);
  double sum = 0;
  for (int64_t i = 0; i < t->count; ++i) {
    if (labels.data[i] == static_cast<double>(ignore))
      continue;
    const double *row = logits.data.data() + i * t->classes;
    perToken[i] =
        logSumExp(row, t->classes) - row[static_cast<int64_t>(labels.data[i])];
    sum += perToken[i];
  }
  switch (ce.getReduction()) {
  case Reduction::none:
    return env.define(ce.getResult(), labels.shape, std::move(perToken));
  case Reduction::sum:
    return env.define(ce.getResult(), {}, {sum});
  case Reduction::mean:
    return env.define(ce.getResult(), {},
                      {sum / static_cast<double>(t->valid)});
  }
  llvm_unreachable("unknown reduction");
}

static LogicalResult evalCrossEntropyGrad(Operation *op, Env &env) {
  auto grad = llvm::cast<CrossEntropyGradOp>(op);
  const HostTensor &g = env.get(grad.getGrad());
  const HostTensor &logits = env.get(grad.getLogits());
  const HostTensor &labels = env.get(grad.getLabels());
  int64_t ignore = grad.getIgnoreIndex();
  FailureOr<Tokens> t = checkLabels(op, logits, labels, ignore);
  if (failed(t))
    return failure();
  Reduction reduction = grad.getReduction();
  bool perToken = reduction == Reduction::none;
  if (perToken ? g.shape != labels.shape : g.getNumElements() != 1)
    return op->emitError() << "interpreter: grad has shape "
                           << shapeStr(g.shape) << "; expected "
                           << (perToken ? shapeStr(labels.shape)
                                        : std::string("one element"));
  double divisor =
      reduction == Reduction::mean ? static_cast<double>(t->valid) : 1.0;
  std::vector<double> out(logits.data.size(), 0.0);
  for (int64_t i = 0; i < t->count; ++i) {
    if (labels.data[i] == static_cast<double>(ignore))
      continue;
    double gi = (perToken ? g.data[i] : g.data[0]) / divisor;
    const double *row = logits.data.data() + i * t->classes;
    double *dst = out.data() + i * t->classes;
    softmaxRow(row, dst, t->classes, 1);
    dst[static_cast<int64_t>(labels.data[i])] -= 1.0;
    for (int64_t c = 0; c < t->classes; ++c)
      dst[c] *= gi;
  }
  return env.define(grad.getResult(), logits.shape, std::move(out));
}

void mlir::pz::interp::detail::registerLossKernels(KernelTable &t) {
  add<CrossEntropyOp>(t, evalCrossEntropy);
  add<CrossEntropyGradOp>(t, evalCrossEntropyGrad);
}
