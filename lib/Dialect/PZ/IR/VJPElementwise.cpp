//===- VJPElementwise.cpp - VJPs of elementwise, softmax and reductions ---===//

#include "VJPUtils.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::detail;

//===----------------------------------------------------------------------===//
// Binary ops: d/dlhs and d/drhs, summed back over broadcast dims.
//===----------------------------------------------------------------------===//

/// Shared shape of the binary VJPs: `dl` and `dr` compute the full-shape
/// cotangents; integer operands get none.
template <typename Op, typename L, typename R>
static LogicalResult binaryVJP(Op op, OpBuilder &b, ArrayRef<Value> grads,
                               SmallVectorImpl<Value> &out, L dl, R dr) {
  out.assign(2, Value());
  Value g = grads[0];
  if (!g || !isDifferentiable(op.getResult()))
    return success();
  GradBuilder gb(b, op);
  out[0] = gb.sumToShape(dl(gb, g), op.getLhs().getType());
  out[1] = gb.sumToShape(dr(gb, g), op.getRhs().getType());
  return success(gb.ok());
}

LogicalResult AddOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  return binaryVJP(
      *this, b, grads, out, [](GradBuilder &, Value g) { return g; },
      [](GradBuilder &, Value g) { return g; });
}

LogicalResult SubOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  return binaryVJP(
      *this, b, grads, out, [](GradBuilder &, Value g) { return g; },
      [](GradBuilder &gb, Value g) { return gb.neg(g); });
}

LogicalResult MulOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  return binaryVJP(
      *this, b, grads, out,
      [&](GradBuilder &gb, Value g) { return gb.mul(g, getRhs()); },
      [&](GradBuilder &gb, Value g) { return gb.mul(g, getLhs()); });
}

LogicalResult DivOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  // d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b.
  return binaryVJP(
      *this, b, grads, out,
      [&](GradBuilder &gb, Value g) { return gb.div(g, getRhs()); },
      [&](GradBuilder &gb, Value g) {
        return gb.neg(gb.div(gb.mul(g, getResult()), getRhs()));
      });
}

LogicalResult PowOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  // d(a^b)/da = b * a^(b-1), and 0 where b == 0;
  // d(a^b)/db = a^b * log(a), and 0 where a == 0 and b >= 0.
  // The zeros are PyTorch's: they replace 0 * inf = NaN at a == 0.
  auto cmp = [](GradBuilder &gb, ComparePredicate p, Value x, double v) {
    return CompareOp::create(gb.builder(), gb.loc(), p, x, gb.scalar(x, v))
        .getResult();
  };
  auto where = [](GradBuilder &gb, Value c, Value t, Value f) {
    return WhereOp::create(gb.builder(), gb.loc(), c, t, f).getResult();
  };
  return binaryVJP(
      *this, b, grads, out,
      [&](GradBuilder &gb, Value g) {
        Value bm1 = gb.sub(getRhs(), gb.scalar(getRhs(), 1.0));
        Value p = PowOp::create(gb.builder(), gb.loc(), getLhs(), bm1);
        Value d = gb.mul(g, gb.mul(getRhs(), p));
        return where(gb, cmp(gb, ComparePredicate::eq, getRhs(), 0.0),
                     gb.scalar(g, 0.0), d);
      },
      [&](GradBuilder &gb, Value g) {
        Value lg = LogOp::create(gb.builder(), gb.loc(), getLhs());
        Value d = gb.mul(g, gb.mul(getResult(), lg));
        Value zero = gb.scalar(g, 0.0);
        Value nonNegExp = cmp(gb, ComparePredicate::ge, getRhs(), 0.0);
        return where(gb, cmp(gb, ComparePredicate::eq, getLhs(), 0.0),
                     where(gb, nonNegExp, zero, d), d);
      });
}

/// torch.maximum's and torch.minimum's backward: the cotangent goes to the
/// operand that `wins` (is larger for max, smaller for min), and half of it
/// to each operand where they are equal.
template <typename Op>
static LogicalResult extremumVJP(Op op, OpBuilder &b, ArrayRef<Value> grads,
                                 SmallVectorImpl<Value> &out,
                                 ComparePredicate wins) {
  auto share = [&](GradBuilder &gb, Value g, Value self, Value other) {
    OpBuilder &ob = gb.builder();
    Value zero = gb.scalar(g, 0.0);
    Value won = CompareOp::create(ob, gb.loc(), wins, self, other);
    Value tie =
        CompareOp::create(ob, gb.loc(), ComparePredicate::eq, self, other);
    Value half = gb.mul(g, gb.scalar(g, 0.5));
    Value onTie = WhereOp::create(ob, gb.loc(), tie, half, zero);
    return WhereOp::create(ob, gb.loc(), won, g, onTie).getResult();
  };
  return binaryVJP(
      op, b, grads, out,
      [&](GradBuilder &gb, Value g) {
        return share(gb, g, op.getLhs(), op.getRhs());
      },
      [&](GradBuilder &gb, Value g) {
        return share(gb, g, op.getRhs(), op.getLhs());
      });
}

LogicalResult MaxOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  return extremumVJP(*this, b, grads, out, ComparePredicate::gt);
}

LogicalResult MinOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  return extremumVJP(*this, b, grads, out, ComparePredicate::lt);
}

//===----------------------------------------------------------------------===//
// Unary ops
//===----------------------------------------------------------------------===//

/// Shared shape of the unary VJPs: `d` maps the result cotangent to the
/// input cotangent.
template <typename Op, typename D>
static LogicalResult unaryVJP(Op op, OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out, D d) {
  out.assign(op->getNumOperands(), Value());
  if (!grads[0] || !isDifferentiable(op.getInput()))
    return success();
  GradBuilder gb(b, op);
  out[0] = d(gb, grads[0]);
  return success(gb.ok());
}

LogicalResult NegOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  return unaryVJP(*this, b, grads, out,
                  [](GradBuilder &gb, Value g) { return gb.neg(g); });
}

LogicalResult ExpOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return gb.mul(g, getResult());
  });
}

LogicalResult LogOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return gb.div(g, getInput());
  });
}

LogicalResult SqrtOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                               SmallVectorImpl<Value> &out) {
  // d sqrt(x) = 1 / (2 sqrt(x)).
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return gb.div(g, gb.mul(getResult(), gb.scalar(g, 2.0)));
  });
}

LogicalResult RsqrtOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                SmallVectorImpl<Value> &out) {
  // d x^(-1/2) = -1/2 x^(-3/2) = -1/2 y^3.
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    Value y = getResult();
    Value y3 = gb.mul(gb.mul(y, y), y);
    return gb.mul(g, gb.mul(y3, gb.scalar(g, -0.5)));
  });
}

LogicalResult TanhOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                               SmallVectorImpl<Value> &out) {
  // d tanh(x) = 1 - y^2.
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    Value y = getResult();
    return gb.mul(g, gb.sub(gb.scalar(g, 1.0), gb.mul(y, y)));
  });
}

LogicalResult ErfOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  // d erf(x) = 2/sqrt(pi) exp(-x^2).
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    Value x = getInput();
    Value e = ExpOp::create(gb.builder(), gb.loc(), gb.neg(gb.mul(x, x)));
    return gb.mul(g, gb.mul(e, gb.scalar(g, 2.0 / std::sqrt(M_PI))));
  });
}

LogicalResult SinOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  // d sin(x) = cos(x).
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return gb.mul(g, CosOp::create(gb.builder(), gb.loc(), getInput()));
  });
}

LogicalResult CosOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  // d cos(x) = -sin(x).
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return gb.neg(
        gb.mul(g, SinOp::create(gb.builder(), gb.loc(), getInput())));
  });
}

LogicalResult AbsOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                              SmallVectorImpl<Value> &out) {
  // d |x| = sign(x), 0 at 0 (PyTorch's).
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return gb.mul(g, SignOp::create(gb.builder(), gb.loc(), getInput()));
  });
}

LogicalResult SignOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                               SmallVectorImpl<Value> &out) {
  // Zero (PyTorch's zeros): the input gets no cotangent.
  out.assign(1, Value());
  return success();
}

LogicalResult ReluOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                               SmallVectorImpl<Value> &out) {
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return ReluGradOp::create(gb.builder(), gb.loc(), g, getInput());
  });
}

LogicalResult SigmoidOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                  SmallVectorImpl<Value> &out) {
  // d sigmoid(x) = y (1 - y).
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    Value y = getResult();
    return gb.mul(g, gb.mul(y, gb.sub(gb.scalar(g, 1.0), y)));
  });
}

LogicalResult SiluOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                               SmallVectorImpl<Value> &out) {
  // d (x s(x)) = s (1 + x (1 - s)).
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    Value x = getInput();
    Value s = SigmoidOp::create(gb.builder(), gb.loc(), x);
    Value one = gb.scalar(g, 1.0);
    return gb.mul(g, gb.mul(s, gb.add(one, gb.mul(x, gb.sub(one, s)))));
  });
}

LogicalResult GeluOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                               SmallVectorImpl<Value> &out) {
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return GeluGradOp::create(gb.builder(), gb.loc(), g, getInput(),
                              getApproximate());
  });
}

LogicalResult DropoutOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                  SmallVectorImpl<Value> &out) {
  // The same seed, step and shape regenerate the same mask.
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return DropoutOp::create(gb.builder(), gb.loc(), g.getType(), g, getIndices(), getRateAttr(),
                             getSeedAttr(), getGlobalShapeAttr(), getSplitDimsAttr());
  });
}

//===----------------------------------------------------------------------===//
// Softmax family
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                  SmallVectorImpl<Value> &out) {
  // dx = y * (g - sum(g * y, axis)).
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    Value y = getResult();
    Value s = ReduceSumOp::create(gb.builder(), gb.loc(), gb.mul(g, y),
                                  gb.builder().getDenseI64ArrayAttr(getAxis()),
                                  gb.builder().getUnitAttr());
    return gb.mul(y, gb.sub(g, s));
  });
}

LogicalResult LogSoftmaxOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                     SmallVectorImpl<Value> &out) {
  // dx = g - exp(y) * sum(g, axis).
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    Value s = ReduceSumOp::create(gb.builder(), gb.loc(), g,
                                  gb.builder().getDenseI64ArrayAttr(getAxis()),
                                  gb.builder().getUnitAttr());
    Value p = ExpOp::create(gb.builder(), gb.loc(), getResult());
    return gb.sub(g, gb.mul(p, s));
  });
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

LogicalResult ReduceSumOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                    SmallVectorImpl<Value> &out) {
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return gb.unreduce(g, getInput().getType(), getAxes(), getKeepdims());
  });
}

LogicalResult ReduceMeanOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                     SmallVectorImpl<Value> &out) {
  auto type = getInput().getType();
  int64_t count = 1;
  for (int64_t a : getAxes()) {
    if (type.isDynamicDim(a))
      return emitOpError() << "needs a static size on reduced dim " << a
                           << " to differentiate";
    count *= type.getDimSize(a);
  }
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    Value scaled = gb.div(g, gb.scalar(g, static_cast<double>(count)));
    return gb.unreduce(scaled, type, getAxes(), getKeepdims());
  });
}

LogicalResult ReduceMaxOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                    SmallVectorImpl<Value> &out) {
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return ReduceMaxGradOp::create(gb.builder(), gb.loc(), g, getInput(),
                                   getAxesAttr(), getKeepdimsAttr());
  });
}

LogicalResult CumSumOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                 SmallVectorImpl<Value> &out) {
  // x_j enters the sums y_i of every i after it (before it, reversed):
  // dx is the sum of those g_i, the cumulative sum the other way round.
  return unaryVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return CumSumOp::create(gb.builder(), gb.loc(), g, getAxis(),
                            getExclusive(), !getReverse())
        .getResult();
  });
}
