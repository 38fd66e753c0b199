//===- ShapeOps.cpp - Reshape, Squeeze, Unsqueeze, Flatten, Transpose, Expand //
//
// The reshaping ops all become `pz.reshape` (a no-op reshape emits
// nothing), Transpose becomes `pz.transpose` and Expand `pz.broadcast`.
// Their shape and axes inputs must be known constants.
//
//===----------------------------------------------------------------------===//

#include "OpRegistry.h"
#include "ShapeHelpers.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Support/Limits.h"

#include "llvm/Support/CheckedArithmetic.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::onnx;

/// Emits `pz.reshape` of input 0 to `target`.
static LogicalResult emitReshape(NodeContext &ctx, ArrayRef<int64_t> target) {
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(x))
    return failure();
  FailureOr<Value> r = reshapeValue(ctx, *x, target);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

/// Reshaping ops compute their target shape from the input's shape and
/// their attributes or constant inputs; folding and lowering share it.
using TargetFn = FailureOr<SmallVector<int64_t>> (*)(NodeContext &ctx);

template <TargetFn Target>
static FailureOr<bool> foldReshapeLike(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> target = Target(ctx);
  if (failed(target))
    return failure();
  ctx.setOutput(0, ctx.getConstant(0)->reshaped(*target));
  return true;
}

template <TargetFn Target>
static LogicalResult lowerReshapeLike(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> target = Target(ctx);
  if (failed(target))
    return failure();
  return emitReshape(ctx, *target);
}

static FailureOr<SmallVector<int64_t>> reshapeShape(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> spec = ctx.getConstantInts(1, "shape");
  FailureOr<int64_t> allowZero = ctx.getInt("allowzero", 0);
  if (failed(spec) || failed(allowZero))
    return failure();
  return reshapeTarget(ctx, ctx.getShape(0), *spec, *allowZero != 0);
}

/// The axes of Squeeze and Unsqueeze: input 1 (opset 13) or, in older
/// models, the `axes` attribute. Nullopt when neither is given.
static FailureOr<std::optional<SmallVector<int64_t>>>
axesOperand(NodeContext &ctx) {
  if (ctx.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> axes = ctx.getConstantInts(1, "axes");
    if (failed(axes))
      return failure();
    return std::optional<SmallVector<int64_t>>(*axes);
  }
  return ctx.getInts("axes");
}

static FailureOr<SmallVector<int64_t>> squeezeShape(NodeContext &ctx) {
  SmallVector<int64_t> shape = ctx.getShape(0);
  auto axes = axesOperand(ctx);
  if (failed(axes))
    return failure();
  SmallVector<int64_t> drop;
  if (*axes) {
    FailureOr<SmallVector<int64_t>> n =
        normalizeAxes(ctx, **axes, shape.size());
    if (failed(n))
      return failure();
    drop = *n;
  } else {
    if (failed(ctx.requireStatic(shape, "its input (no axes given)")))
      return failure();
    for (auto [d, size] : llvm::enumerate(shape))
      if (size == 1)
        drop.push_back(d);
  }
  SmallVector<int64_t> out;
  for (auto [d, size] : llvm::enumerate(shape)) {
    if (!llvm::is_contained(drop, static_cast<int64_t>(d))) {
      out.push_back(size);
      continue;
    }
    if (size != 1 && !ShapedType::isDynamic(size))
      return ctx.emitError() << "Squeeze dim " << d << " of "
                             << shapeString(shape) << " is not 1";
  }
  return out;
}

static FailureOr<SmallVector<int64_t>> unsqueezeShape(NodeContext &ctx) {
  SmallVector<int64_t> shape = ctx.getShape(0);
  auto axes = axesOperand(ctx);
  if (failed(axes))
    return failure();
  if (!*axes)
    return ctx.emitError() << "Unsqueeze needs axes";
  int64_t rank = shape.size() + (*axes)->size();
  FailureOr<SmallVector<int64_t>> n = normalizeAxes(ctx, **axes, rank);
  if (failed(n))
    return failure();
  SmallVector<int64_t> out;
  auto it = shape.begin();
  for (int64_t d = 0; d < rank; ++d)
    out.push_back(llvm::is_contained(*n, d) ? 1 : *it++);
  return out;
}

static FailureOr<SmallVector<int64_t>> flattenShape(NodeContext &ctx) {
  SmallVector<int64_t> shape = ctx.getShape(0);
  int64_t rank = shape.size();
  FailureOr<int64_t> axis = ctx.getInt("axis", 1);
  if (failed(axis))
    return failure();
  if (*axis < -rank || *axis > rank)
    return ctx.emitError() << "Flatten axis " << *axis
                           << " is out of range for rank " << rank;
  int64_t a = *axis < 0 ? *axis + rank : *axis;
  auto product = [&](ArrayRef<int64_t> dims) {
    int64_t p = 1;
    for (int64_t d : dims) {
      if (ShapedType::isDynamic(d))
        return ShapedType::kDynamic;
      p *= d;
    }
    return p;
  };
  ArrayRef<int64_t> dims(shape);
  return SmallVector<int64_t>{product(dims.take_front(a)),
                              product(dims.drop_front(a))};
}

//===----------------------------------------------------------------------===//
// Transpose
//===----------------------------------------------------------------------===//

static FailureOr<SmallVector<int64_t>> transposePerm(NodeContext &ctx) {
  int64_t rank = ctx.getShape(0).size();
  auto perm = ctx.getInts("perm");
  if (failed(perm))
    return failure();
  SmallVector<int64_t> p;
  if (*perm) {
    p = **perm;
  } else {
    for (int64_t d = rank - 1; d >= 0; --d)
      p.push_back(d);
  }
  SmallVector<int64_t> sorted(p);
  llvm::sort(sorted);
  if (static_cast<int64_t>(p.size()) != rank ||
      !llvm::equal(sorted, llvm::seq<int64_t>(0, rank)))
    return ctx.emitError() << "Transpose perm " << listString(p)
                           << " is not a permutation of the " << rank
                           << " dims";
  return p;
}

static FailureOr<bool> foldTranspose(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> perm = transposePerm(ctx);
  if (failed(perm))
    return failure();
  const HostTensor *in = ctx.getConstant(0);
  ArrayRef<int64_t> inShape = in->getShape();
  SmallVector<int64_t> outShape;
  for (int64_t p : *perm)
    outShape.push_back(inShape[p]);
  SmallVector<int64_t> inStrides = stridesOf(inShape);
  HostTensor out(in->getType(), outShape);
  SmallVector<int64_t> idx(outShape.size(), 0);
  for (int64_t o = 0, n = out.size(); o < n; ++o) {
    int64_t src = 0;
    for (auto [d, p] : llvm::enumerate(*perm))
      src += idx[d] * inStrides[p];
    out.copyFrom(o, *in, src);
    nextIndex(idx, outShape);
  }
  ctx.setOutput(0, std::move(out));
  return true;
}

static LogicalResult lowerTranspose(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> perm = transposePerm(ctx);
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(perm) || failed(x))
    return failure();
  if (llvm::equal(*perm, llvm::seq<int64_t>(0, perm->size()))) {
    ctx.setOutput(0, *x);
    return success();
  }
  FailureOr<Value> r = ctx.create<TransposeOp>(*x, *perm);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// Expand
//===----------------------------------------------------------------------===//

static FailureOr<SmallVector<int64_t>> expandShape(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> shape = ctx.getConstantInts(1, "shape");
  if (failed(shape))
    return failure();
  for (int64_t d : *shape)
    if (d < 0)
      return ctx.emitError()
             << "Expand shape " << listString(*shape) << " has a negative dim";
  return broadcastShapes(ctx, ctx.getShape(0), *shape);
}

static FailureOr<bool> foldExpand(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> shape = expandShape(ctx);
  if (failed(shape))
    return failure();
  if (foldableElementCount(*shape) < 0)
    return false;
  const HostTensor *in = ctx.getConstant(0);
  SmallVector<int64_t> inStrides = stridesOf(in->getShape());
  HostTensor out(in->getType(), *shape);
  SmallVector<int64_t> idx(shape->size(), 0);
  for (int64_t o = 0, n = out.size(); o < n; ++o) {
    out.copyFrom(o, *in, broadcastOffset(idx, in->getShape(), inStrides));
    nextIndex(idx, *shape);
  }
  ctx.setOutput(0, std::move(out));
  return true;
}

static LogicalResult lowerExpand(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> shape = expandShape(ctx);
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(shape) || failed(x))
    return failure();
  if (llvm::cast<RankedTensorType>(x->getType()).getShape() ==
      ArrayRef<int64_t>(*shape)) {
    ctx.setOutput(0, *x);
    return success();
  }
  if (failed(ctx.requireStatic(*shape, "its result")))
    return failure();
  FailureOr<Value> r = ctx.create<BroadcastOp>(*x, *shape);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// Tile
//===----------------------------------------------------------------------===//

/// Tile repeats the whole input `repeats[d]` times along every dim d. It
/// is a broadcast between two reshapes: [d0, d1] -> [1, d0, 1, d1] ->
/// [r0, d0, r1, d1] -> [r0 * d0, r1 * d1], so that its gradient (a sum
/// over the repeats), interpretation and code are those of the three ops.
/// On constants the reference interpreter folds it (InterpFold.cpp).
static LogicalResult lowerTile(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> reps = ctx.getConstantInts(1, "repeats");
  if (failed(reps))
    return failure();
  SmallVector<int64_t> inShape = ctx.getShape(0);
  if (reps->size() != inShape.size())
    return ctx.emitError() << "Tile repeats " << listString(*reps) << " has "
                           << reps->size() << " entries, but the input has rank "
                           << inShape.size();
  for (int64_t r : *reps)
    if (r < 0)
      return ctx.emitError()
             << "Tile repeats " << listString(*reps) << " has a negative entry";
  if (failed(ctx.requireStatic(inShape, "its input")))
    return failure();
  SmallVector<int64_t> split, spread, outShape;
  for (auto [d, r] : llvm::zip(inShape, *reps)) {
    split.append({1, d});
    spread.append({r, d});
    std::optional<int64_t> n = llvm::checkedMul(r, d);
    if (!n)
      return ctx.emitError() << "Tile of " << shapeString(inShape) << " by "
                             << listString(*reps) << " overflows";
    outShape.push_back(*n);
  }
  if (!boundedElementCount(outShape))
    return ctx.emitError() << "Tile of " << shapeString(inShape) << " by "
                           << listString(*reps) << " gives "
                           << shapeString(outShape) << ", more than "
                           << kMaxTensorElements
                           << " (2^48) elements, the most a tensor may hold";
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(x))
    return failure();
  if (llvm::all_of(*reps, [](int64_t r) { return r == 1; })) {
    ctx.setOutput(0, *x);
    return success();
  }
  if (llvm::is_contained(outShape, 0)) {
    // Nothing to repeat: an empty constant of the result's shape.
    FailureOr<Value> c =
        ctx.materialize(HostTensor(ctx.getDataType(0), outShape), ctx.getLoc());
    if (failed(c))
      return failure();
    ctx.setOutput(0, *c);
    return success();
  }
  FailureOr<Value> r = ctx.create<ReshapeOp>(*x, split);
  if (succeeded(r))
    r = ctx.create<BroadcastOp>(*r, spread);
  if (succeeded(r))
    r = ctx.create<ReshapeOp>(*r, outShape);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

void mlir::pz::onnx::registerShapeOps(OpRegistry &r) {
  r.add("Reshape", foldReshapeLike<reshapeShape>,
        lowerReshapeLike<reshapeShape>, 2);
  r.add("Squeeze", foldReshapeLike<squeezeShape>,
        lowerReshapeLike<squeezeShape>);
  r.add("Unsqueeze", foldReshapeLike<unsqueezeShape>,
        lowerReshapeLike<unsqueezeShape>);
  r.add("Flatten", foldReshapeLike<flattenShape>,
        lowerReshapeLike<flattenShape>);
  r.add("Transpose", foldTranspose, lowerTranspose);
  r.add("Expand", foldExpand, lowerExpand, 2);
  r.add("Tile", nullptr, lowerTile, 2);
}
