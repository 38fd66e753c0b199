//===- Optimizer.cpp - sgd_update and adamw_update ------------------------===//
//
// The updates follow torch.optim (1.13, single-tensor path) operation by
// operation, in double:
//   SGD:   d = g + wd * p;  buf = momentum * buf + d (d when momentum is 0);
//          p = p - lr * buf
//   AdamW: p = p * (1 - lr * wd);  m = b1 * m + (1 - b1) * g;
//          v = b2 * v + (1 - b2) * g * g;
//          p = p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp;
using namespace mlir::pz::interp::detail;

/// The single value of a scalar operand.
static FailureOr<double> scalarOf(Operation *op, const HostTensor &t,
                                  StringRef what) {
  if (t.getNumElements() != 1)
    return op->emitError() << "interpreter: " << what
                           << " must have one element, got shape "
                           << shapeStr(t.shape);
  return t.data[0];
}

/// Checks that every tensor in `ts` has `ts[0]`'s shape.
static LogicalResult sameShapes(Operation *op,
                                ArrayRef<const HostTensor *> ts) {
  for (const HostTensor *t : ts.drop_front())
    if (t->shape != ts.front()->shape)
      return op->emitError()
             << "interpreter: operand shapes differ: "
             << shapeStr(ts.front()->shape) << " and " << shapeStr(t->shape);
  return success();
}

static LogicalResult evalSGD(Operation *op, Env &env) {
  auto sgd = llvm::cast<SGDUpdateOp>(op);
  const HostTensor &p = env.get(sgd.getParam());
  const HostTensor &g = env.get(sgd.getGrad());
  const HostTensor &buf = env.get(sgd.getMomentumBuffer());
  FailureOr<double> lr = scalarOf(op, env.get(sgd.getLr()), "lr");
  if (failed(lr) || failed(sameShapes(op, {&p, &g, &buf})))
    return failure();
  double momentum = sgd.getMomentum().convertToDouble();
  double wd = sgd.getWeightDecay().convertToDouble();
  std::vector<double> newP(p.data.size()), newBuf(p.data.size());
  for (size_t i = 0; i < p.data.size(); ++i) {
    double d = g.data[i] + wd * p.data[i];
    newBuf[i] = momentum != 0.0 ? momentum * buf.data[i] + d : d;
    newP[i] = p.data[i] - *lr * newBuf[i];
  }
  if (failed(env.define(sgd.getNewParam(), p.shape, std::move(newP))))
    return failure();
  return env.define(sgd.getNewMomentumBuffer(), p.shape, std::move(newBuf));
}

static LogicalResult evalAdamW(Operation *op, Env &env) {
  auto adam = llvm::cast<AdamWUpdateOp>(op);
  const HostTensor &p = env.get(adam.getParam());
  const HostTensor &g = env.get(adam.getGrad());
  const HostTensor &m = env.get(adam.getExpAvg());
  const HostTensor &v = env.get(adam.getExpAvgSq());
  FailureOr<double> lr = scalarOf(op, env.get(adam.getLr()), "lr");
  FailureOr<double> step = scalarOf(op, env.get(adam.getStep()), "step");
  if (failed(lr) || failed(step) || failed(sameShapes(op, {&p, &g, &m, &v})))
    return failure();
  if (*step < 1)
    return op->emitError() << "interpreter: adamw step counts from 1, got "
                           << *step;
  double b1 = adam.getBeta1().convertToDouble();
  double b2 = adam.getBeta2().convertToDouble();
  double eps = adam.getEps().convertToDouble();
  double wd = adam.getWeightDecay().convertToDouble();
  double stepSize = *lr / (1.0 - std::pow(b1, *step));
  double bc2Sqrt = std::sqrt(1.0 - std::pow(b2, *step));
  std::vector<double> newP(p.data.size()), newM(p.data.size()),
      newV(p.data.size());
  for (size_t i = 0; i < p.data.size(); ++i) {
    double gi = g.data[i];
    newM[i] = m.data[i] * b1 + (1.0 - b1) * gi;
    newV[i] = v.data[i] * b2 + (1.0 - b2) * gi * gi;
    double denom = std::sqrt(newV[i]) / bc2Sqrt + eps;
    newP[i] = p.data[i] * (1.0 - *lr * wd) - stepSize * (newM[i] / denom);
  }
  if (failed(env.define(adam.getNewParam(), p.shape, std::move(newP))) ||
      failed(env.define(adam.getNewExpAvg(), p.shape, std::move(newM))))
    return failure();
  return env.define(adam.getNewExpAvgSq(), p.shape, std::move(newV));
}

void mlir::pz::interp::detail::registerOptimizerKernels(KernelTable &t) {
  add<SGDUpdateOp>(t, evalSGD);
  add<AdamWUpdateOp>(t, evalAdamW);
}
