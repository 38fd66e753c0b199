//===- ElementwiseOps.cpp - arithmetic, comparisons, Where, Cast ----------===//
//
// Add, Sub, Mul, Div, Pow; the unary math ops (Sin, Cos, Abs, Sign among
// them); Equal, Less, Greater,
// LessOrEqual, GreaterOrEqual, Not; Where and Cast. ONNX broadcasting is
// numpy's, as in the pz dialect.
//
//===----------------------------------------------------------------------===//

#include "OpRegistry.h"
#include "ShapeHelpers.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::onnx;

//===----------------------------------------------------------------------===//
// Host evaluation with broadcasting
//===----------------------------------------------------------------------===//

/// Evaluates `fn(out, outIndex, inputOffsets)` over the broadcast shape of
/// `ins` and sets output 0 to the result of type `outType`.
static FailureOr<bool> foldBroadcast(
    NodeContext &ctx, ArrayRef<const HostTensor *> ins, DataType outType,
    function_ref<LogicalResult(HostTensor &, int64_t, ArrayRef<int64_t>)> fn) {
  SmallVector<int64_t> shape(ins.front()->getShape());
  for (const HostTensor *t : ins.drop_front()) {
    FailureOr<SmallVector<int64_t>> b =
        broadcastShapes(ctx, shape, t->getShape());
    if (failed(b))
      return failure();
    shape = *b;
  }
  if (foldableElementCount(shape) < 0)
    return false; // too large for the host: emit the op instead
  HostTensor out(outType, shape);
  SmallVector<SmallVector<int64_t>> strides;
  for (const HostTensor *t : ins)
    strides.push_back(stridesOf(t->getShape()));
  SmallVector<int64_t> idx(shape.size(), 0), offsets(ins.size());
  for (int64_t o = 0, n = out.size(); o < n; ++o) {
    for (auto [k, t] : llvm::enumerate(ins))
      offsets[k] = broadcastOffset(idx, t->getShape(), strides[k]);
    if (failed(fn(out, o, offsets)))
      return failure();
    nextIndex(idx, shape);
  }
  ctx.setOutput(0, std::move(out));
  return true;
}

/// Both inputs of a binary op must share an element type (Pow excepted).
static LogicalResult checkSameType(NodeContext &ctx) {
  DataType a = ctx.getDataType(0), b = ctx.getDataType(1);
  if (a != b)
    return ctx.emitError() << ctx.getNode().opType
                           << " inputs have different element types "
                           << dataTypeName(a) << " and " << dataTypeName(b);
  return success();
}

enum class Arith { Add, Sub, Mul, Div, Pow };

template <Arith K> static FailureOr<bool> foldArith(NodeContext &ctx) {
  if (K != Arith::Pow && failed(checkSameType(ctx)))
    return failure();
  const HostTensor *a = ctx.getConstant(0), *b = ctx.getConstant(1);
  bool isFloat = a->isFloat();
  if (a->isBool())
    return false; // the lowering reports the type
  return foldBroadcast(
      ctx, {a, b}, a->getType(),
      [&](HostTensor &out, int64_t o, ArrayRef<int64_t> off) -> LogicalResult {
        if (isFloat || K == Arith::Pow) {
          double x = a->getDouble(off[0]), y = b->getDouble(off[1]);
          double r = K == Arith::Add   ? x + y
                     : K == Arith::Sub ? x - y
                     : K == Arith::Mul ? x * y
                     : K == Arith::Div ? x / y
                                       : std::pow(x, y);
          out.setDouble(o, r);
          return success();
        }
        int64_t x = a->getInt(off[0]), y = b->getInt(off[1]);
        if (K == Arith::Div && y == 0)
          return ctx.emitError() << "Div divides an integer by zero";
        // Wrapping arithmetic, as the integer types of ONNX do (setInt
        // wraps to the width); UINT64 elements are their bits.
        uint64_t ux = x, uy = y;
        int64_t r = K == Arith::Add   ? static_cast<int64_t>(ux + uy)
                    : K == Arith::Sub ? static_cast<int64_t>(ux - uy)
                    : K == Arith::Mul ? static_cast<int64_t>(ux * uy)
                    : a->getType() == DataType::UInt64
                        ? static_cast<int64_t>(ux / uy)
                    : (x == INT64_MIN && y == -1) ? x
                                                  : x / y;
        out.setInt(o, r);
        return success();
      });
}

template <typename OpTy> static LogicalResult lowerArith(NodeContext &ctx) {
  if (failed(checkSameType(ctx)))
    return failure();
  FailureOr<Value> a = ctx.getValue(0), b = ctx.getValue(1);
  if (failed(a) || failed(b))
    return failure();
  FailureOr<Value> r = ctx.create<OpTy>(*a, *b);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

/// Input `i` converted to the float element type `elem`.
static FailureOr<Value> valueAsFloat(NodeContext &ctx, unsigned i, Type elem) {
  if (const HostTensor *c = ctx.getConstant(i)) {
    HostTensor t(fromMLIRType(elem), c->getShape());
    for (int64_t k = 0, n = c->size(); k < n; ++k)
      t.setDouble(k, c->getDouble(k));
    return ctx.materialize(t, ctx.getLoc());
  }
  FailureOr<Value> v = ctx.getValue(i);
  if (failed(v) ||
      llvm::cast<RankedTensorType>(v->getType()).getElementType() == elem)
    return v;
  return ctx.create<CastOp>(*v, elem);
}

/// Pow allows an exponent of another type; pz.pow takes floats of one type.
/// An integer base is raised in f64 and cast back.
static LogicalResult lowerPow(NodeContext &ctx) {
  DataType baseType = ctx.getDataType(0);
  Type base = toMLIRType(ctx.getContext(), baseType);
  if (!base)
    return ctx.emitError() << "Pow base has element type "
                           << dataTypeName(baseType)
                           << ", which the pz dialect does not have";
  Type compute =
      isFloatType(baseType) ? base : Float64Type::get(ctx.getContext());
  FailureOr<Value> x = valueAsFloat(ctx, 0, compute);
  FailureOr<Value> y = valueAsFloat(ctx, 1, compute);
  if (failed(x) || failed(y))
    return failure();
  FailureOr<Value> r = ctx.create<PowOp>(*x, *y);
  if (succeeded(r) && compute != base)
    r = ctx.create<CastOp>(*r, base);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// Unary ops
//===----------------------------------------------------------------------===//

enum class Unary { Sqrt, Exp, Log, Tanh, Erf, Sigmoid, Relu, Neg, Recip };

template <Unary K> static FailureOr<bool> foldUnary(NodeContext &ctx) {
  const HostTensor *a = ctx.getConstant(0);
  bool isFloat = a->isFloat();
  if (!isFloat && K != Unary::Relu && K != Unary::Neg)
    return false; // the lowering reports the type
  return foldBroadcast(
      ctx, {a}, a->getType(),
      [&](HostTensor &out, int64_t o, ArrayRef<int64_t> off) -> LogicalResult {
        if (!isFloat) {
          int64_t x = a->getInt(off[0]);
          out.setInt(o, K == Unary::Neg
                            ? static_cast<int64_t>(0 - static_cast<uint64_t>(x))
                        : a->isUnsigned() ? x
                                          : std::max<int64_t>(x, 0));
          return success();
        }
        double x = a->getDouble(off[0]);
        double r = K == Unary::Sqrt      ? std::sqrt(x)
                   : K == Unary::Exp     ? std::exp(x)
                   : K == Unary::Log     ? std::log(x)
                   : K == Unary::Tanh    ? std::tanh(x)
                   : K == Unary::Erf     ? std::erf(x)
                   : K == Unary::Sigmoid ? 1.0 / (1.0 + std::exp(-x))
                   : K == Unary::Relu    ? std::max(x, 0.0)
                   : K == Unary::Neg     ? -x
                                         : 1.0 / x;
        out.setDouble(o, r);
        return success();
      });
}

template <typename OpTy> static LogicalResult lowerUnary(NodeContext &ctx) {
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(x))
    return failure();
  FailureOr<Value> r = ctx.create<OpTy>(*x);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

/// Reciprocal is `1 / x`.
static LogicalResult lowerReciprocal(NodeContext &ctx) {
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(x))
    return failure();
  HostTensor one(ctx.getDataType(0), {});
  one.setDouble(0, 1.0);
  FailureOr<Value> c = ctx.materialize(one, ctx.getLoc());
  if (failed(c))
    return failure();
  FailureOr<Value> r = ctx.create<DivOp>(*c, *x);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// Comparisons and Not
//===----------------------------------------------------------------------===//

template <ComparePredicate P>
static FailureOr<bool> foldCompare(NodeContext &ctx) {
  if (failed(checkSameType(ctx)))
    return failure();
  const HostTensor *a = ctx.getConstant(0), *b = ctx.getConstant(1);
  bool isFloat = a->isFloat();
  return foldBroadcast(
      ctx, {a, b}, DataType::Bool,
      [&](HostTensor &out, int64_t o, ArrayRef<int64_t> off) -> LogicalResult {
        auto cmp = [](auto x, auto y) {
          switch (P) {
          case ComparePredicate::eq:
            return x == y;
          case ComparePredicate::lt:
            return x < y;
          case ComparePredicate::le:
            return x <= y;
          case ComparePredicate::gt:
            return x > y;
          case ComparePredicate::ge:
            return x >= y;
          }
          return false;
        };
        bool r = isFloat ? cmp(a->getDouble(off[0]), b->getDouble(off[1]))
                 : a->getType() == DataType::UInt64
                     ? cmp(static_cast<uint64_t>(a->getInt(off[0])),
                           static_cast<uint64_t>(b->getInt(off[1])))
                     : cmp(a->getInt(off[0]), b->getInt(off[1]));
        out.setInt(o, r);
        return success();
      });
}

template <ComparePredicate P>
static LogicalResult lowerCompare(NodeContext &ctx) {
  if (failed(checkSameType(ctx)))
    return failure();
  FailureOr<Value> a = ctx.getValue(0), b = ctx.getValue(1);
  if (failed(a) || failed(b))
    return failure();
  FailureOr<Value> r = ctx.create<CompareOp>(P, *a, *b);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

static FailureOr<bool> foldNot(NodeContext &ctx) {
  const HostTensor *a = ctx.getConstant(0);
  if (!a->isBool())
    return false;
  HostTensor out = *a;
  for (int64_t i = 0, n = out.size(); i < n; ++i)
    out.setInt(i, !a->getInt(i));
  ctx.setOutput(0, std::move(out));
  return true;
}

/// Or and And on BOOL tensors, with broadcasting.
static LogicalResult checkLogicTypes(NodeContext &ctx) {
  for (unsigned i = 0; i < 2; ++i)
    if (ctx.getDataType(i) != DataType::Bool)
      return ctx.emitError() << ctx.getNode().opType << " input " << i
                             << " must be BOOL, got "
                             << dataTypeName(ctx.getDataType(i));
  return success();
}

template <bool IsOr>
static FailureOr<bool> foldLogic(NodeContext &ctx) {
  if (failed(checkLogicTypes(ctx)))
    return failure();
  const HostTensor *a = ctx.getConstant(0), *b = ctx.getConstant(1);
  return foldBroadcast(
      ctx, {a, b}, DataType::Bool,
      [&](HostTensor &out, int64_t o, ArrayRef<int64_t> off) -> LogicalResult {
        bool x = a->getInt(off[0]) != 0, y = b->getInt(off[1]) != 0;
        out.setInt(o, IsOr ? (x || y) : (x && y));
        return success();
      });
}

/// `a or b` is where(a, a, b), `a and b` is where(a, b, a): one pz.where,
/// which broadcasts as ONNX does.
template <bool IsOr>
static LogicalResult lowerLogic(NodeContext &ctx) {
  if (failed(checkLogicTypes(ctx)))
    return failure();
  FailureOr<Value> a = ctx.getValue(0), b = ctx.getValue(1);
  if (failed(a) || failed(b))
    return failure();
  FailureOr<Value> r = IsOr ? ctx.create<WhereOp>(*a, *a, *b)
                            : ctx.create<WhereOp>(*a, *b, *a);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// Where and Cast
//===----------------------------------------------------------------------===//

static LogicalResult checkWhereTypes(NodeContext &ctx) {
  if (ctx.getDataType(0) != DataType::Bool)
    return ctx.emitError() << "Where condition must be BOOL, got "
                           << dataTypeName(ctx.getDataType(0));
  if (ctx.getDataType(1) != ctx.getDataType(2))
    return ctx.emitError() << "Where values have different element types "
                           << dataTypeName(ctx.getDataType(1)) << " and "
                           << dataTypeName(ctx.getDataType(2));
  return success();
}

static FailureOr<bool> foldWhere(NodeContext &ctx) {
  if (failed(checkWhereTypes(ctx)))
    return failure();
  const HostTensor *c = ctx.getConstant(0), *x = ctx.getConstant(1),
                   *y = ctx.getConstant(2);
  return foldBroadcast(
      ctx, {c, x, y}, x->getType(),
      [&](HostTensor &out, int64_t o, ArrayRef<int64_t> off) -> LogicalResult {
        const HostTensor *src = c->getInt(off[0]) ? x : y;
        int64_t k = c->getInt(off[0]) ? off[1] : off[2];
        if (src->isFloat())
          out.setDouble(o, src->getDouble(k));
        else
          out.setInt(o, src->getInt(k));
        return success();
      });
}

static LogicalResult lowerWhere(NodeContext &ctx) {
  if (failed(checkWhereTypes(ctx)))
    return failure();
  FailureOr<Value> c = ctx.getValue(0), x = ctx.getValue(1),
                   y = ctx.getValue(2);
  if (failed(c) || failed(x) || failed(y))
    return failure();
  FailureOr<Value> r = ctx.create<WhereOp>(*c, *x, *y);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

/// The `to` attribute of Cast.
static FailureOr<DataType> castTarget(NodeContext &ctx) {
  FailureOr<int64_t> to = ctx.getInt("to", -1);
  if (failed(to))
    return failure();
  if (!ctx.hasAttr("to"))
    return ctx.emitError() << "Cast has no 'to' attribute";
  return static_cast<DataType>(*to);
}

static FailureOr<bool> foldCast(NodeContext &ctx) {
  FailureOr<DataType> to = castTarget(ctx);
  if (failed(to))
    return failure();
  if (!isFloatType(*to) && !isIntegerType(*to) && *to != DataType::Bool)
    return false; // the lowering reports the type
  const HostTensor *a = ctx.getConstant(0);
  HostTensor out(*to, a->getShape());
  for (int64_t i = 0, n = a->size(); i < n; ++i) {
    if (!a->isFloat()) {
      // Integers wrap to the target's width (setInt); to a float type they
      // convert by value (a UINT64 element counts up to 2^64 - 1).
      if (isFloatType(*to))
        out.setDouble(i, a->getDouble(i));
      else
        out.setInt(i, a->getInt(i));
      continue;
    }
    double v = a->getDouble(i);
    if (isFloatType(*to))
      out.setDouble(i, v);
    else if (*to == DataType::Bool)
      out.setInt(i, v != 0.0);
    else if (*to == DataType::UInt64 && v >= 0x1p63 && v < 0x1p64)
      out.setDouble(i, std::trunc(v)); // above INT64_MAX, still in range
    else // truncate toward zero, then wrap; out-of-range values saturate
      out.setInt(i, std::isnan(v)  ? 0
                    : v >= 9.2e18  ? INT64_MAX
                    : v <= -9.2e18 ? INT64_MIN
                                   : static_cast<int64_t>(v));
  }
  ctx.setOutput(0, std::move(out));
  return true;
}

static LogicalResult lowerCast(NodeContext &ctx) {
  FailureOr<DataType> to = castTarget(ctx);
  if (failed(to))
    return failure();
  Type elem = toMLIRType(ctx.getContext(), *to);
  if (!elem)
    return ctx.emitError() << "Cast to " << dataTypeName(*to)
                           << ": the pz dialect has no such element type";
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(x))
    return failure();
  if (llvm::cast<RankedTensorType>(x->getType()).getElementType() == elem) {
    ctx.setOutput(0, *x);
    return success();
  }
  FailureOr<Value> r = ctx.create<CastOp>(*x, elem);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// Max, Min, Clip
//===----------------------------------------------------------------------===//

/// All inputs given share input 0's element type.
static LogicalResult checkAllSameType(NodeContext &ctx) {
  DataType t = ctx.getDataType(0);
  for (unsigned i = 1; i < ctx.getNumInputs(); ++i)
    if (ctx.hasInput(i) && ctx.getDataType(i) != t)
      return ctx.emitError()
             << ctx.getNode().opType << " input " << i << " has element type "
             << dataTypeName(ctx.getDataType(i)) << ", input 0 "
             << dataTypeName(t) << "; they must be equal";
  return success();
}

/// Whether element `i` of `a` is above (`Max`) or below (`Min`) element `j`
/// of `b`, or equal, compared exactly: integers as integers (UINT64 as its
/// bits, unsigned), floats as doubles. A NaN `a` is kept, a NaN `b` taken.
static bool keepsFirst(bool isMax, const HostTensor &a, int64_t i,
                       const HostTensor &b, int64_t j) {
  if (a.isFloat()) {
    double x = a.getDouble(i), y = b.getDouble(j);
    return std::isnan(x) || (isMax ? x >= y : x <= y);
  }
  if (a.getType() == DataType::UInt64) {
    uint64_t x = a.getInt(i), y = b.getInt(j);
    return isMax ? x >= y : x <= y;
  }
  int64_t x = a.getInt(i), y = b.getInt(j);
  return isMax ? x >= y : x <= y;
}

/// Max and Min on constants, on the host and exactly (an INT64_MAX bound in
/// a shape computation stays itself; the interpreter's doubles would not).
template <bool IsMax> static FailureOr<bool> foldExtremum(NodeContext &ctx) {
  if (failed(checkAllSameType(ctx)))
    return failure();
  SmallVector<const HostTensor *> ins;
  for (unsigned i = 0; i < ctx.getNumInputs(); ++i)
    if (ctx.hasInput(i))
      ins.push_back(ctx.getConstant(i));
  if (ins.front()->isBool())
    return false; // the lowering reports the type
  return foldBroadcast(
      ctx, ins, ins.front()->getType(),
      [&](HostTensor &out, int64_t o, ArrayRef<int64_t> off) -> LogicalResult {
        unsigned best = 0;
        for (unsigned k = 1; k < ins.size(); ++k)
          if (!keepsFirst(IsMax, *ins[best], off[best], *ins[k], off[k]))
            best = k;
        out.copyFrom(o, *ins[best], off[best]);
        return success();
      });
}

/// Max and Min: `pz.max` / `pz.min` chained over the inputs, in order (one
/// input is itself). A chain splits a tie's gradient as torch.maximum does
/// pairwise.
template <typename OpTy> static LogicalResult lowerExtremum(NodeContext &ctx) {
  if (failed(checkAllSameType(ctx)))
    return failure();
  FailureOr<Value> acc = ctx.getValue(0);
  if (failed(acc))
    return failure();
  for (unsigned i = 1; i < ctx.getNumInputs(); ++i) {
    if (!ctx.hasInput(i))
      continue;
    FailureOr<Value> v = ctx.getValue(i);
    if (failed(v))
      return failure();
    acc = ctx.create<OpTy>(*acc, *v);
    if (failed(acc))
      return failure();
  }
  ctx.setOutput(0, *acc);
  return success();
}

/// Clip's optional bounds (inputs 1 and 2) hold one element each.
static LogicalResult checkClipBounds(NodeContext &ctx) {
  if (failed(checkAllSameType(ctx)))
    return failure();
  for (unsigned i = 1; i < 3; ++i) {
    if (!ctx.hasInput(i))
      continue;
    SmallVector<int64_t> s = ctx.getShape(i);
    if (s.size() > ctx.getShape(0).size() ||
        llvm::any_of(s, [](int64_t d) { return d != 1; }))
      return ctx.emitError()
             << "Clip " << (i == 1 ? "min" : "max")
             << " must be a scalar (one element, of rank at most the input's)";
  }
  return success();
}

/// `a[i] < b[j]`, exactly (false when either is NaN).
static bool lessThan(const HostTensor &a, int64_t i, const HostTensor &b,
                     int64_t j) {
  if (a.isFloat())
    return a.getDouble(i) < b.getDouble(j);
  if (a.getType() == DataType::UInt64)
    return static_cast<uint64_t>(a.getInt(i)) <
           static_cast<uint64_t>(b.getInt(j));
  return a.getInt(i) < b.getInt(j);
}

/// Clip on constants, exactly, as the lowering computes it: `lo` where
/// `x < lo`, then `hi` where that is `> hi`.
static FailureOr<bool> foldClip(NodeContext &ctx) {
  if (failed(checkClipBounds(ctx)))
    return failure();
  const HostTensor *x = ctx.getConstant(0);
  const HostTensor *lo = ctx.hasInput(1) ? ctx.getConstant(1) : nullptr;
  const HostTensor *hi = ctx.hasInput(2) ? ctx.getConstant(2) : nullptr;
  if (x->isBool())
    return false;
  return foldBroadcast(
      ctx, {x}, x->getType(),
      [&](HostTensor &out, int64_t o, ArrayRef<int64_t> off) -> LogicalResult {
        const HostTensor *v = x;
        int64_t at = off[0];
        if (lo && lessThan(*v, at, *lo, 0)) {
          v = lo;
          at = 0;
        }
        if (hi && lessThan(*hi, 0, *v, at)) {
          v = hi;
          at = 0;
        }
        out.copyFrom(o, *v, at);
        return success();
      });
}

/// Clip is `t = where(x < lo, lo, x)`, then `where(t > hi, hi, t)`:
/// numpy.clip for bounds that are not NaN (a NaN x is kept; hi wins where
/// lo > hi), and the where VJPs give x the cotangent where lo <= x <= hi,
/// torch.clamp's gradient. A NaN bound bounds nothing (numpy gives NaN).
static LogicalResult lowerClip(NodeContext &ctx) {
  if (failed(checkClipBounds(ctx)))
    return failure();
  FailureOr<Value> y = ctx.getValue(0);
  if (failed(y))
    return failure();
  for (unsigned i = 1; i < 3; ++i) {
    if (!ctx.hasInput(i))
      continue;
    FailureOr<Value> bound = ctx.getValue(i);
    if (failed(bound))
      return failure();
    FailureOr<Value> out = ctx.create<CompareOp>(
        i == 1 ? ComparePredicate::lt : ComparePredicate::gt, *y, *bound);
    if (failed(out))
      return failure();
    y = ctx.create<WhereOp>(*out, *bound, *y);
    if (failed(y))
      return failure();
  }
  ctx.setOutput(0, *y);
  return success();
}

void mlir::pz::onnx::registerElementwiseOps(OpRegistry &r) {
  r.add("Add", foldArith<Arith::Add>, lowerArith<AddOp>, 2);
  r.add("Sub", foldArith<Arith::Sub>, lowerArith<SubOp>, 2);
  r.add("Mul", foldArith<Arith::Mul>, lowerArith<MulOp>, 2);
  r.add("Div", foldArith<Arith::Div>, lowerArith<DivOp>, 2);
  r.add("Pow", foldArith<Arith::Pow>, lowerPow, 2);
  r.add("Max", foldExtremum<true>, lowerExtremum<MaxOp>);
  r.add("Min", foldExtremum<false>, lowerExtremum<MinOp>);
  r.add("Clip", foldClip, lowerClip);
  r.add("Sqrt", foldUnary<Unary::Sqrt>, lowerUnary<SqrtOp>);
  r.add("Exp", foldUnary<Unary::Exp>, lowerUnary<ExpOp>);
  r.add("Log", foldUnary<Unary::Log>, lowerUnary<LogOp>);
  r.add("Tanh", foldUnary<Unary::Tanh>, lowerUnary<TanhOp>);
  r.add("Erf", foldUnary<Unary::Erf>, lowerUnary<ErfOp>);
  // Folded on constants by the reference interpreter (InterpFold.cpp).
  r.add("Sin", nullptr, lowerUnary<SinOp>);
  r.add("Cos", nullptr, lowerUnary<CosOp>);
  r.add("Abs", nullptr, lowerUnary<AbsOp>);
  r.add("Sign", nullptr, lowerUnary<SignOp>);
  r.add("Sigmoid", foldUnary<Unary::Sigmoid>, lowerUnary<SigmoidOp>);
  r.add("Relu", foldUnary<Unary::Relu>, lowerUnary<ReluOp>);
  r.add("Neg", foldUnary<Unary::Neg>, lowerUnary<NegOp>);
  r.add("Reciprocal", foldUnary<Unary::Recip>, lowerReciprocal);
  r.add("Equal", foldCompare<ComparePredicate::eq>,
        lowerCompare<ComparePredicate::eq>, 2);
  r.add("Less", foldCompare<ComparePredicate::lt>,
        lowerCompare<ComparePredicate::lt>, 2);
  r.add("LessOrEqual", foldCompare<ComparePredicate::le>,
        lowerCompare<ComparePredicate::le>, 2);
  r.add("Greater", foldCompare<ComparePredicate::gt>,
        lowerCompare<ComparePredicate::gt>, 2);
  r.add("GreaterOrEqual", foldCompare<ComparePredicate::ge>,
        lowerCompare<ComparePredicate::ge>, 2);
  r.add("Not", foldNot, lowerUnary<NotOp>);
  r.add("Or", foldLogic<true>, lowerLogic<true>, 2);
  r.add("And", foldLogic<false>, lowerLogic<false>, 2);
  r.add("Where", foldWhere, lowerWhere, 3);
  r.add("Cast", foldCast, lowerCast);
}
