//===- Elementwise.cpp - elementwise, logic, where, cast and their grads --===//

#include "Kernels.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "llvm/ADT/APFloat.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp;
using namespace mlir::pz::interp::detail;

/// `f(lhs, rhs)` elementwise with numpy broadcasting on operands 0 and 1.
template <typename F>
static LogicalResult binary(Operation *op, Env &env, F f) {
  const HostTensor &a = env.get(op->getOperand(0));
  const HostTensor &b = env.get(op->getOperand(1));
  auto shape = broadcastShapes(a.shape, b.shape);
  if (failed(shape))
    return op->emitError() << "interpreter: operand shapes "
                           << shapeStr(a.shape) << " and " << shapeStr(b.shape)
                           << " do not broadcast";
  std::vector<int64_t> oa = broadcastOffsets(a.shape, *shape);
  std::vector<int64_t> ob = broadcastOffsets(b.shape, *shape);
  std::vector<double> out(oa.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = f(a.data[oa[i]], b.data[ob[i]]);
  return env.define(op->getResult(0), std::move(*shape), std::move(out));
}

/// `f(x)` elementwise on operand 0.
template <typename F> static LogicalResult unary(Operation *op, Env &env, F f) {
  const HostTensor &x = env.get(op->getOperand(0));
  std::vector<double> out(x.data.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = f(x.data[i]);
  return env.define(op->getResult(0), x.shape, std::move(out));
}

static double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

static double gelu(double x, GeluApproximation approx) {
  if (approx == GeluApproximation::erf)
    return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
  double c = std::sqrt(2.0 / M_PI);
  return 0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x)));
}

/// d gelu(x) / dx for the given form.
static double geluDerivative(double x, GeluApproximation approx) {
  if (approx == GeluApproximation::erf)
    return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))) +
           x * std::exp(-0.5 * x * x) / std::sqrt(2.0 * M_PI);
  double c = std::sqrt(2.0 / M_PI), a = 0.044715;
  double t = std::tanh(c * (x + a * x * x * x));
  return 0.5 * (1.0 + t) +
         0.5 * x * (1.0 - t * t) * c * (1.0 + 3.0 * a * x * x);
}

//===----------------------------------------------------------------------===//
// Binary arithmetic
//===----------------------------------------------------------------------===//

static LogicalResult evalDiv(Operation *op, Env &env) {
  if (!isIntegerValue(op->getResult(0)))
    return binary(op, env, [](double a, double b) { return a / b; });
  bool divByZero = false;
  LogicalResult r = binary(op, env, [&](double a, double b) {
    if (b == 0.0) {
      divByZero = true;
      return 0.0;
    }
    return std::trunc(a / b);
  });
  if (divByZero)
    return op->emitError() << "interpreter: integer division by zero";
  return r;
}

//===----------------------------------------------------------------------===//
// Compare, not, where
//===----------------------------------------------------------------------===//

static LogicalResult evalCompare(Operation *op, Env &env) {
  ComparePredicate pred = llvm::cast<CompareOp>(op).getPredicate();
  return binary(op, env, [pred](double a, double b) {
    bool r = false;
    switch (pred) {
    case ComparePredicate::eq:
      r = a == b;
      break;
    case ComparePredicate::lt:
      r = a < b;
      break;
    case ComparePredicate::le:
      r = a <= b;
      break;
    case ComparePredicate::gt:
      r = a > b;
      break;
    case ComparePredicate::ge:
      r = a >= b;
      break;
    }
    return r ? 1.0 : 0.0;
  });
}

static LogicalResult evalWhere(Operation *op, Env &env) {
  auto where = llvm::cast<WhereOp>(op);
  const HostTensor &c = env.get(where.getCondition());
  const HostTensor &a = env.get(where.getOnTrue());
  const HostTensor &b = env.get(where.getOnFalse());
  auto ab = broadcastShapes(a.shape, b.shape);
  FailureOr<std::vector<int64_t>> shape = failure();
  if (succeeded(ab))
    shape = broadcastShapes(c.shape, *ab);
  if (failed(shape))
    return op->emitError() << "interpreter: shapes " << shapeStr(c.shape)
                           << ", " << shapeStr(a.shape) << " and "
                           << shapeStr(b.shape) << " do not broadcast";
  std::vector<int64_t> oc = broadcastOffsets(c.shape, *shape);
  std::vector<int64_t> oa = broadcastOffsets(a.shape, *shape);
  std::vector<int64_t> ob = broadcastOffsets(b.shape, *shape);
  std::vector<double> out(oc.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = c.data[oc[i]] != 0.0 ? a.data[oa[i]] : b.data[ob[i]];
  return env.define(where.getResult(), std::move(*shape), std::move(out));
}

//===----------------------------------------------------------------------===//
// cast
//===----------------------------------------------------------------------===//

static LogicalResult evalCast(Operation *op, Env &env) {
  auto cast = llvm::cast<CastOp>(op);
  const HostTensor &x = env.get(cast.getInput());
  Type dst = cast.getDtype();
  std::vector<double> out(x.data.size());
  if (auto ft = llvm::dyn_cast<FloatType>(dst)) {
    // Round to nearest even in the destination format.
    for (size_t i = 0; i < out.size(); ++i) {
      llvm::APFloat v(x.data[i]);
      bool losesInfo = false;
      v.convert(ft.getFloatSemantics(), llvm::APFloat::rmNearestTiesToEven,
                &losesInfo);
      out[i] = v.convertToDouble();
    }
  } else {
    // Integers wrap modulo 2^width (Env::define); floats truncate toward
    // zero first, and must lie in the range of i64 (of ui64 for ui64),
    // outside which ONNX defines no result.
    auto it = llvm::cast<IntegerType>(dst);
    bool fromFloat = llvm::isa<FloatType>(elementTypeOf(cast.getInput()));
    double top = it.isUnsigned() && it.getWidth() == 64 ? 0x1p64 : 0x1p63;
    for (size_t i = 0; i < out.size(); ++i) {
      double v = x.data[i];
      if (it.getWidth() == 1) {
        out[i] = v != 0.0 ? 1.0 : 0.0;
        continue;
      }
      double t = std::trunc(v);
      if (fromFloat && (!std::isfinite(t) || t < -0x1p63 || t >= top))
        return op->emitError() << "interpreter: element " << i << " ("
                               << numStr(v) << ") does not convert to " << dst;
      out[i] = wrapToType(t, it);
    }
  }
  return env.define(cast.getResult(), x.shape, std::move(out));
}

//===----------------------------------------------------------------------===//
// Registration
//===----------------------------------------------------------------------===//

void mlir::pz::interp::detail::registerElementwiseKernels(KernelTable &t) {
  add<AddOp>(t, [](Operation *op, Env &env) {
    return binary(op, env, [](double a, double b) { return a + b; });
  });
  add<SubOp>(t, [](Operation *op, Env &env) {
    return binary(op, env, [](double a, double b) { return a - b; });
  });
  add<MulOp>(t, [](Operation *op, Env &env) {
    return binary(op, env, [](double a, double b) { return a * b; });
  });
  add<DivOp>(t, evalDiv);
  // numpy's maximum/minimum: a NaN on either side gives NaN.
  add<MaxOp>(t, [](Operation *op, Env &env) {
    return binary(op, env, [](double a, double b) {
      return std::isnan(a) || a >= b ? a : b;
    });
  });
  add<MinOp>(t, [](Operation *op, Env &env) {
    return binary(op, env, [](double a, double b) {
      return std::isnan(a) || a <= b ? a : b;
    });
  });
  add<PowOp>(t, [](Operation *op, Env &env) {
    return binary(op, env, [](double a, double b) { return std::pow(a, b); });
  });

  add<NegOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) { return -x; });
  });
  add<ExpOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) { return std::exp(x); });
  });
  add<LogOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) { return std::log(x); });
  });
  add<SqrtOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) { return std::sqrt(x); });
  });
  add<RsqrtOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) { return 1.0 / std::sqrt(x); });
  });
  add<TanhOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) { return std::tanh(x); });
  });
  add<ErfOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) { return std::erf(x); });
  });
  add<SinOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) { return std::sin(x); });
  });
  add<CosOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) { return std::cos(x); });
  });
  // Integer results wrap when defined (|INT_MIN| is INT_MIN).
  add<AbsOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) { return std::fabs(x); });
  });
  add<SignOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) {
      return x > 0.0 ? 1.0 : x < 0.0 ? -1.0 : x; // 0, -0 and NaN stay
    });
  });
  add<ReluOp>(t, [](Operation *op, Env &env) {
    // NaN stays NaN, as torch.relu.
    return unary(op, env, [](double x) { return x > 0.0 || x != x ? x : 0.0; });
  });
  add<SigmoidOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) { return sigmoid(x); });
  });
  add<SiluOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) { return x * sigmoid(x); });
  });
  add<GeluOp>(t, [](Operation *op, Env &env) {
    GeluApproximation approx = llvm::cast<GeluOp>(op).getApproximate();
    return unary(op, env, [approx](double x) { return gelu(x, approx); });
  });

  // Operand 0 is the cotangent, operand 1 the forward input.
  add<GeluGradOp>(t, [](Operation *op, Env &env) {
    GeluApproximation approx = llvm::cast<GeluGradOp>(op).getApproximate();
    return binary(op, env, [approx](double g, double x) {
      return g * geluDerivative(x, approx);
    });
  });
  add<ReluGradOp>(t, [](Operation *op, Env &env) {
    return binary(op, env,
                  [](double g, double x) { return x > 0.0 ? g : 0.0; });
  });

  add<CompareOp>(t, evalCompare);
  add<NotOp>(t, [](Operation *op, Env &env) {
    return unary(op, env, [](double x) { return x != 0.0 ? 0.0 : 1.0; });
  });
  add<WhereOp>(t, evalWhere);
  add<CastOp>(t, evalCast);
}
