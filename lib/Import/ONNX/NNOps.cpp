//===- NNOps.cpp - MatMul, Gemm, softmax, CumSum, reductions, norms, Dropout ===//

#include "OpRegistry.h"
#include "ShapeHelpers.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "llvm/Support/xxhash.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::onnx;

/// A rank-0 constant of input `like`'s element type.
static FailureOr<Value> scalarLike(NodeContext &ctx, unsigned like, double v) {
  HostTensor t(ctx.getDataType(like), {});
  t.setDouble(0, v);
  return ctx.materialize(t, ctx.getLoc());
}

//===----------------------------------------------------------------------===//
// MatMul, Gemm
//===----------------------------------------------------------------------===//

/// numpy matmul: a 1-D lhs gets a leading 1, a 1-D rhs a trailing 1, and
/// the result drops them again.
static LogicalResult lowerMatMul(NodeContext &ctx) {
  FailureOr<Value> a = ctx.getValue(0), b = ctx.getValue(1);
  if (failed(a) || failed(b))
    return failure();
  SmallVector<int64_t> sa = ctx.getShape(0), sb = ctx.getShape(1);
  if (sa.empty() || sb.empty())
    return ctx.emitError() << "MatMul inputs must have rank >= 1, got "
                           << shapeString(sa) << " and " << shapeString(sb);
  bool vecA = sa.size() == 1, vecB = sb.size() == 1;
  if (vecA)
    a = reshapeValue(ctx, *a, {1, sa[0]});
  if (vecB)
    b = reshapeValue(ctx, *b, {sb[0], 1});
  if (failed(a) || failed(b))
    return failure();
  FailureOr<Value> r = ctx.create<MatmulOp>(*a, *b, false, false);
  if (failed(r))
    return failure();
  if (vecA || vecB) {
    SmallVector<int64_t> shape(
        llvm::cast<RankedTensorType>(r->getType()).getShape());
    if (vecB)
      shape.erase(shape.end() - 1);
    if (vecA)
      shape.erase(shape.end() - 1 - (vecB ? 0 : 1));
    r = reshapeValue(ctx, *r, shape);
    if (failed(r))
      return failure();
  }
  ctx.setOutput(0, *r);
  return success();
}

/// alpha * op(A) op(B) + beta * C.
static LogicalResult lowerGemm(NodeContext &ctx) {
  FailureOr<double> alpha = ctx.getFloat("alpha", 1.0);
  FailureOr<double> beta = ctx.getFloat("beta", 1.0);
  FailureOr<int64_t> transA = ctx.getInt("transA", 0);
  FailureOr<int64_t> transB = ctx.getInt("transB", 0);
  if (failed(alpha) || failed(beta) || failed(transA) || failed(transB))
    return failure();
  if (ctx.getShape(0).size() != 2 || ctx.getShape(1).size() != 2)
    return ctx.emitError() << "Gemm needs rank-2 A and B, got "
                           << shapeString(ctx.getShape(0)) << " and "
                           << shapeString(ctx.getShape(1));
  FailureOr<Value> a = ctx.getValue(0), b = ctx.getValue(1);
  if (failed(a) || failed(b))
    return failure();
  FailureOr<Value> y = ctx.create<MatmulOp>(*a, *b, *transA != 0, *transB != 0);
  if (succeeded(y) && *alpha != 1.0) {
    FailureOr<Value> s = scalarLike(ctx, 0, *alpha);
    y = succeeded(s) ? ctx.create<MulOp>(*y, *s) : s;
  }
  if (succeeded(y) && ctx.hasInput(2) && *beta != 0.0) {
    FailureOr<Value> c = ctx.getValue(2);
    if (succeeded(c) && *beta != 1.0) {
      FailureOr<Value> s = scalarLike(ctx, 2, *beta);
      c = succeeded(s) ? ctx.create<MulOp>(*c, *s) : s;
    }
    y = succeeded(c) ? ctx.create<AddOp>(*y, *c) : c;
  }
  if (failed(y))
    return failure();
  ctx.setOutput(0, *y);
  return success();
}

//===----------------------------------------------------------------------===//
// Softmax, LogSoftmax
//===----------------------------------------------------------------------===//

template <typename OpTy> static LogicalResult lowerSoftmax(NodeContext &ctx) {
  FailureOr<int64_t> axisAttr = ctx.getInt("axis", -1);
  if (failed(axisAttr))
    return failure();
  FailureOr<int64_t> axis =
      normalizeAxis(ctx, *axisAttr, ctx.getShape(0).size());
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(axis) || failed(x))
    return failure();
  FailureOr<Value> r = ctx.create<OpTy>(*x, static_cast<uint64_t>(*axis));
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

/// CumSum takes its axis as input 1 (a scalar or one-element tensor, known
/// at import time) and `exclusive` and `reverse` as 0/1 attributes.
static LogicalResult lowerCumSum(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> axisIn = ctx.getConstantInts(1, "axis");
  FailureOr<int64_t> exclusive = ctx.getInt("exclusive", 0);
  FailureOr<int64_t> reverse = ctx.getInt("reverse", 0);
  if (failed(axisIn) || failed(exclusive) || failed(reverse))
    return failure();
  if (axisIn->size() != 1)
    return ctx.emitError() << "CumSum axis must be a single integer, got "
                           << axisIn->size() << " values";
  FailureOr<int64_t> axis =
      normalizeAxis(ctx, axisIn->front(), ctx.getShape(0).size());
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(axis) || failed(x))
    return failure();
  FailureOr<Value> r = ctx.create<CumSumOp>(
      *x, static_cast<uint64_t>(*axis), *exclusive != 0, *reverse != 0);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

/// ReduceSum (opset 13) and every reduction from opset 18 take the axes as
/// input 1; older ReduceMean and ReduceMax take an attribute.
template <typename OpTy> static LogicalResult lowerReduce(NodeContext &ctx) {
  int64_t rank = ctx.getShape(0).size();
  FailureOr<int64_t> keepdims = ctx.getInt("keepdims", 1);
  FailureOr<int64_t> noop = ctx.getInt("noop_with_empty_axes", 0);
  if (failed(keepdims) || failed(noop))
    return failure();
  SmallVector<int64_t> axes;
  if (ctx.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> in = ctx.getConstantInts(1, "axes");
    if (failed(in))
      return failure();
    axes = *in;
  } else {
    auto attr = ctx.getInts("axes");
    if (failed(attr))
      return failure();
    if (*attr)
      axes = **attr;
  }
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(x))
    return failure();
  if (axes.empty()) {
    if (*noop || rank == 0) {
      ctx.setOutput(0, *x);
      return success();
    }
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  FailureOr<SmallVector<int64_t>> norm = normalizeAxes(ctx, axes, rank);
  if (failed(norm))
    return failure();
  FailureOr<Value> r = ctx.create<OpTy>(*x, *norm, *keepdims != 0);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// LayerNormalization
//===----------------------------------------------------------------------===//

/// Scale and bias must have the normalised shape; a broadcastable one is
/// broadcast to it.
static FailureOr<Value> affineOperand(NodeContext &ctx, unsigned i,
                                      ArrayRef<int64_t> normalized) {
  FailureOr<Value> v = ctx.getValue(i);
  if (failed(v) ||
      llvm::cast<RankedTensorType>(v->getType()).getShape() == normalized)
    return v;
  if (failed(ctx.requireStatic(normalized, "the normalised dims")))
    return failure();
  FailureOr<SmallVector<int64_t>> shape =
      broadcastShapes(ctx, ctx.getShape(i), normalized);
  if (failed(shape))
    return failure();
  if (*shape != SmallVector<int64_t>(normalized))
    return ctx.emitError() << "LayerNormalization input " << i << " has shape "
                           << shapeString(ctx.getShape(i))
                           << ", which does not broadcast to the normalised "
                              "dims "
                           << shapeString(normalized);
  return ctx.create<BroadcastOp>(*v, normalized);
}

/// The optional outputs Mean and InvStdDev, computed in the stash type:
/// mean(x) and 1 / sqrt(mean((x - mean(x))^2) + eps) over the normalised
/// dims, with those dims kept as 1.
static LogicalResult layerNormStats(NodeContext &ctx, Value x, int64_t axis,
                                    double eps) {
  FailureOr<int64_t> stash = ctx.getInt("stash_type", 1);
  if (failed(stash))
    return failure();
  Type elem = toMLIRType(ctx.getContext(), static_cast<DataType>(*stash));
  if (!elem || !llvm::isa<FloatType>(elem))
    return ctx.emitError() << "LayerNormalization stash_type " << *stash
                           << " is not a float type of the pz dialect";
  FailureOr<Value> in = x;
  if (llvm::cast<RankedTensorType>(x.getType()).getElementType() != elem)
    in = ctx.create<CastOp>(x, elem);
  if (failed(in))
    return failure();
  SmallVector<int64_t> axes;
  for (int64_t d = axis, e = ctx.getShape(0).size(); d < e; ++d)
    axes.push_back(d);
  FailureOr<Value> mean = ctx.create<ReduceMeanOp>(*in, axes, true);
  if (failed(mean))
    return failure();
  ctx.setOutput(1, *mean);
  if (!ctx.isOutputUsed(2))
    return success();
  HostTensor epsT(fromMLIRType(elem), {});
  epsT.setDouble(0, eps);
  FailureOr<Value> d = ctx.create<SubOp>(*in, *mean);
  FailureOr<Value> sq = succeeded(d) ? ctx.create<MulOp>(*d, *d) : d;
  FailureOr<Value> var =
      succeeded(sq) ? ctx.create<ReduceMeanOp>(*sq, axes, true) : sq;
  FailureOr<Value> e = ctx.materialize(epsT, ctx.getLoc());
  if (failed(var) || failed(e))
    return failure();
  FailureOr<Value> sum = ctx.create<AddOp>(*var, *e);
  FailureOr<Value> inv = succeeded(sum) ? ctx.create<RsqrtOp>(*sum) : sum;
  if (failed(inv))
    return failure();
  ctx.setOutput(2, *inv);
  return success();
}

static LogicalResult lowerLayerNorm(NodeContext &ctx) {
  SmallVector<int64_t> shape = ctx.getShape(0);
  FailureOr<int64_t> axisAttr = ctx.getInt("axis", -1);
  FailureOr<double> eps = ctx.getFloat("epsilon", 1e-5);
  if (failed(axisAttr) || failed(eps))
    return failure();
  FailureOr<int64_t> axis = normalizeAxis(ctx, *axisAttr, shape.size());
  if (failed(axis))
    return failure();
  ArrayRef<int64_t> normalized = ArrayRef<int64_t>(shape).drop_front(*axis);
  FailureOr<Value> x = ctx.getValue(0);
  FailureOr<Value> scale = affineOperand(ctx, 1, normalized);
  FailureOr<Value> bias =
      ctx.hasInput(2) ? affineOperand(ctx, 2, normalized) : Value();
  if (failed(x) || failed(scale) || failed(bias))
    return failure();
  OpBuilder &b = ctx.getBuilder();
  FailureOr<Value> r = ctx.create<LayerNormOp>(
      *x, *scale, *bias, b.getI64IntegerAttr(*axis), b.getF64FloatAttr(*eps));
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  if (ctx.isOutputUsed(1) || ctx.isOutputUsed(2))
    return layerNormStats(ctx, *x, *axis, *eps);
  return success();
}

//===----------------------------------------------------------------------===//
// Dropout
//===----------------------------------------------------------------------===//

/// The ratio and training mode; both must be known at import time.
static FailureOr<std::pair<double, bool>> dropoutParams(NodeContext &ctx) {
  double ratio = 0.5;
  bool training = false;
  if (ctx.hasInput(1)) {
    const HostTensor *r = ctx.getConstant(1);
    if (!r || r->size() != 1)
      return ctx.emitError() << "Dropout needs a constant scalar ratio";
    ratio = r->getDouble(0);
  }
  if (ctx.hasInput(2)) {
    const HostTensor *t = ctx.getConstant(2);
    if (!t || t->size() != 1)
      return ctx.emitError() << "Dropout needs a constant training_mode";
    training = t->getInt(0) != 0;
  }
  if (!(ratio >= 0.0 && ratio < 1.0))
    return ctx.emitError() << "Dropout ratio " << ratio << " is outside [0, 1)";
  return std::make_pair(ratio, training);
}

/// Without training (or with ratio 0) Dropout is the identity and its mask
/// is all true.
static LogicalResult identityDropout(NodeContext &ctx, Value x) {
  ctx.setOutput(0, x);
  if (!ctx.isOutputUsed(1))
    return success();
  SmallVector<int64_t> shape = ctx.getShape(0);
  if (failed(ctx.requireStatic(shape, "its mask output")) ||
      foldableElementCount(shape) < 0)
    return ctx.emitError() << "Dropout mask of " << shapeString(shape)
                           << " is too large";
  HostTensor mask(DataType::Bool, shape);
  for (int64_t i = 0, n = mask.size(); i < n; ++i)
    mask.setInt(i, 1);
  ctx.setOutput(1, std::move(mask));
  return success();
}

static LogicalResult lowerDropout(NodeContext &ctx) {
  FailureOr<std::pair<double, bool>> p = dropoutParams(ctx);
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(p) || failed(x))
    return failure();
  auto [ratio, training] = *p;
  if (!training || ratio == 0.0)
    return identityDropout(ctx, *x);
  // Without a seed attribute, derive a stable one from the node name.
  FailureOr<int64_t> seed = ctx.getInt(
      "seed", static_cast<int64_t>(llvm::xxh3_64bits(ctx.getNode().name) >> 1));
  if (failed(seed))
    return failure();
  OpBuilder &b = ctx.getBuilder();
  FailureOr<Value> r = ctx.create<DropoutOp>(*x, /*indices=*/ValueRange(),
                                             b.getF64FloatAttr(ratio),
                                             b.getI64IntegerAttr(*seed), nullptr, nullptr);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  if (!ctx.isOutputUsed(1))
    return success();
  // The mask: the same seeded dropout (its mask depends only on the seed,
  // the step and the element index) applied to ones is > 0 where kept.
  SmallVector<int64_t> shape = ctx.getShape(0);
  if (failed(ctx.requireStatic(shape, "its mask output")))
    return failure();
  DataType dt =
      fromMLIRType(llvm::cast<RankedTensorType>(x->getType()).getElementType());
  HostTensor ones(dt, shape), zero(dt, {});
  for (int64_t i = 0, n = ones.size(); i < n; ++i)
    ones.setDouble(i, 1.0);
  FailureOr<Value> o = ctx.materialize(ones, ctx.getLoc());
  FailureOr<Value> z = ctx.materialize(zero, ctx.getLoc());
  if (failed(o) || failed(z))
    return failure();
  FailureOr<Value> kept = ctx.create<DropoutOp>(
      *o, /*indices=*/ValueRange(), b.getF64FloatAttr(ratio), b.getI64IntegerAttr(*seed),
      nullptr, nullptr);
  if (failed(kept))
    return failure();
  FailureOr<Value> mask = ctx.create<CompareOp>(ComparePredicate::gt, *kept, *z);
  if (failed(mask))
    return failure();
  ctx.setOutput(1, *mask);
  return success();
}

void mlir::pz::onnx::registerNNOps(OpRegistry &r) {
  r.add("MatMul", nullptr, lowerMatMul, 2);
  r.add("Gemm", nullptr, lowerGemm, 2);
  r.add("Softmax", nullptr, lowerSoftmax<SoftmaxOp>);
  r.add("LogSoftmax", nullptr, lowerSoftmax<LogSoftmaxOp>);
  r.add("CumSum", nullptr, lowerCumSum, 2);
  r.add("ReduceSum", nullptr, lowerReduce<ReduceSumOp>);
  r.add("ReduceMean", nullptr, lowerReduce<ReduceMeanOp>);
  r.add("ReduceMax", nullptr, lowerReduce<ReduceMaxOp>);
  r.add("LayerNormalization", nullptr, lowerLayerNorm, 2);
  r.add("Dropout", nullptr, lowerDropout);
}
