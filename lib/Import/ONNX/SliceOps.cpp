//===- SliceOps.cpp - Slice, Split, Concat, Trilu -------------------------===//
//
// Data movement by constant positions: Slice and Split become `pz.slice`
// (clamped as ONNX clamps), Concat `pz.concat`, Trilu `pz.trilu`.
//
//===----------------------------------------------------------------------===//

#include "OpRegistry.h"
#include "ShapeHelpers.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::onnx;

/// Copies the box (per-dim start, step, count) of `in` into a new tensor.
static HostTensor sliceHost(const HostTensor &in, const SliceBox &box) {
  HostTensor out(in.getType(), box.counts);
  SmallVector<int64_t> strides = stridesOf(in.getShape());
  SmallVector<int64_t> idx(box.counts.size(), 0);
  for (int64_t o = 0, n = out.size(); o < n; ++o) {
    int64_t src = 0;
    for (size_t d = 0; d < idx.size(); ++d)
      src += (box.starts[d] + idx[d] * box.steps[d]) * strides[d];
    out.copyFrom(o, in, src);
    nextIndex(idx, box.counts);
  }
  return out;
}

/// Emits `pz.slice` of `x` for a box (steps of either sign). A dim that takes
/// at most one element gets step 1, so that a slice which takes every
/// element in order is no slice at all.
static FailureOr<Value> emitSlice(NodeContext &ctx, Value x,
                                  const SliceBox &box) {
  auto type = llvm::cast<RankedTensorType>(x.getType());
  if (failed(ctx.requireStatic(type.getShape(), "the sliced input")))
    return failure();
  SmallVector<int64_t> starts(box.starts), ends, steps(box.steps);
  for (size_t d = 0; d < box.counts.size(); ++d) {
    int64_t count = box.counts[d];
    if (count <= 1) {
      steps[d] = 1;
      if (count == 0)
        starts[d] = 0;
    }
    // One past the last element taken, in the direction of the step.
    ends.push_back(count == 0 ? starts[d]
                              : starts[d] + (count - 1) * steps[d] +
                                    (steps[d] > 0 ? 1 : -1));
  }
  if (ArrayRef<int64_t>(box.counts) == type.getShape() &&
      llvm::all_of(steps, [](int64_t s) { return s == 1; }))
    return x;
  return ctx.create<SliceOp>(x, starts, ends, steps);
}

//===----------------------------------------------------------------------===//
// Slice
//===----------------------------------------------------------------------===//

static FailureOr<SliceBox> sliceBox(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> starts = ctx.getConstantInts(1, "starts");
  FailureOr<SmallVector<int64_t>> ends = ctx.getConstantInts(2, "ends");
  if (failed(starts) || failed(ends))
    return failure();
  std::optional<SmallVector<int64_t>> axes, steps;
  if (ctx.hasInput(3)) {
    auto a = ctx.getConstantInts(3, "axes");
    if (failed(a))
      return failure();
    axes = *a;
  }
  if (ctx.hasInput(4)) {
    auto s = ctx.getConstantInts(4, "steps");
    if (failed(s))
      return failure();
    steps = *s;
  }
  auto ref = [](const std::optional<SmallVector<int64_t>> &v) {
    return v ? std::optional<ArrayRef<int64_t>>(*v) : std::nullopt;
  };
  return computeSlice(ctx, ctx.getShape(0), *starts, *ends, ref(axes),
                      ref(steps));
}

static FailureOr<bool> foldSlice(NodeContext &ctx) {
  FailureOr<SliceBox> box = sliceBox(ctx);
  if (failed(box))
    return failure();
  ctx.setOutput(0, sliceHost(*ctx.getConstant(0), *box));
  return true;
}

static LogicalResult lowerSlice(NodeContext &ctx) {
  FailureOr<SliceBox> box = sliceBox(ctx);
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(box) || failed(x))
    return failure();
  FailureOr<Value> r = emitSlice(ctx, *x, *box);
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// Split
//===----------------------------------------------------------------------===//

/// The boxes of Split's outputs along the split axis.
static FailureOr<SmallVector<SliceBox>> splitBoxes(NodeContext &ctx) {
  SmallVector<int64_t> shape = ctx.getShape(0);
  FailureOr<int64_t> axisAttr = ctx.getInt("axis", 0);
  if (failed(axisAttr))
    return failure();
  FailureOr<int64_t> axis = normalizeAxis(ctx, *axisAttr, shape.size());
  if (failed(axis))
    return failure();
  if (failed(ctx.requireStatic(shape, "its input")))
    return failure();
  int64_t dim = shape[*axis];
  int64_t n = ctx.getNumOutputs();
  SmallVector<int64_t> sizes;
  if (ctx.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> split = ctx.getConstantInts(1, "split");
    if (failed(split))
      return failure();
    sizes = *split;
  } else if (auto attr = ctx.getInts("split"); succeeded(attr) && *attr) {
    sizes = **attr;
  } else {
    FailureOr<int64_t> parts = ctx.getInt("num_outputs", n);
    if (failed(parts))
      return failure();
    if (*parts != n || n <= 0)
      return ctx.emitError() << "Split num_outputs " << *parts
                             << " differs from its " << n << " outputs";
    // Opset 18 allows a smaller last chunk; before, the split is even.
    int64_t chunk = (dim + n - 1) / n;
    if (ctx.getOpset() < 18 && dim % n != 0)
      return ctx.emitError()
             << "Split of dim " << dim << " into " << n << " equal parts";
    for (int64_t i = 0; i < n; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  int64_t total = 0;
  bool overflow = false;
  for (int64_t s : sizes) {
    if (s < 0)
      return ctx.emitError()
             << "Split sizes " << listString(sizes) << " have a negative entry";
    overflow |= llvm::AddOverflow(total, s, total);
  }
  if (static_cast<int64_t>(sizes.size()) != n || overflow || total != dim)
    return ctx.emitError() << "Split sizes " << listString(sizes)
                           << " do not cut dim " << *axis << " (" << dim
                           << ") into " << n << " outputs";
  SmallVector<SliceBox> boxes;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    SliceBox box;
    box.starts.assign(shape.size(), 0);
    box.steps.assign(shape.size(), 1);
    box.counts.assign(shape.begin(), shape.end());
    box.starts[*axis] = offset;
    box.counts[*axis] = s;
    offset += s;
    boxes.push_back(box);
  }
  return boxes;
}

static FailureOr<bool> foldSplit(NodeContext &ctx) {
  FailureOr<SmallVector<SliceBox>> boxes = splitBoxes(ctx);
  if (failed(boxes))
    return failure();
  for (auto [i, box] : llvm::enumerate(*boxes))
    ctx.setOutput(i, sliceHost(*ctx.getConstant(0), box));
  return true;
}

static LogicalResult lowerSplit(NodeContext &ctx) {
  FailureOr<SmallVector<SliceBox>> boxes = splitBoxes(ctx);
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(boxes) || failed(x))
    return failure();
  for (auto [i, box] : llvm::enumerate(*boxes)) {
    if (!ctx.isOutputUsed(i))
      continue;
    FailureOr<Value> r = emitSlice(ctx, *x, box);
    if (failed(r))
      return failure();
    ctx.setOutput(i, *r);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Concat
//===----------------------------------------------------------------------===//

static FailureOr<int64_t> concatAxis(NodeContext &ctx) {
  if (!ctx.hasAttr("axis"))
    return ctx.emitError() << "Concat has no 'axis' attribute";
  FailureOr<int64_t> axis = ctx.getInt("axis", 0);
  if (failed(axis))
    return failure();
  for (unsigned i = 1; i < ctx.getNumInputs(); ++i)
    if (ctx.hasInput(i) && ctx.getDataType(i) != ctx.getDataType(0))
      return ctx.emitError() << "Concat inputs have different element types";
  return normalizeAxis(ctx, *axis, ctx.getShape(0).size());
}

static FailureOr<bool> foldConcat(NodeContext &ctx) {
  FailureOr<int64_t> axis = concatAxis(ctx);
  if (failed(axis))
    return failure();
  SmallVector<const HostTensor *> ins;
  for (unsigned i = 0; i < ctx.getNumInputs(); ++i)
    if (ctx.hasInput(i))
      ins.push_back(ctx.getConstant(i));
  SmallVector<int64_t> shape(ins.front()->getShape());
  shape[*axis] = 0;
  for (const HostTensor *t : ins) {
    ArrayRef<int64_t> s = t->getShape();
    for (size_t d = 0; d < shape.size(); ++d)
      if (s.size() != shape.size() ||
          (static_cast<int64_t>(d) != *axis && s[d] != shape[d]))
        return ctx.emitError()
               << "Concat input shapes " << shapeString(ins.front()->getShape())
               << " and " << shapeString(s) << " differ off the axis";
    shape[*axis] += s[*axis];
  }
  HostTensor out(ins.front()->getType(), shape);
  // Rows of the outer dims, each made of one block per input.
  int64_t outer = 1;
  for (int64_t d = 0; d < *axis; ++d)
    outer *= shape[d];
  int64_t o = 0;
  for (int64_t row = 0; row < outer; ++row) {
    for (const HostTensor *t : ins) {
      int64_t block = t->size() / std::max<int64_t>(outer, 1);
      for (int64_t k = 0; k < block; ++k)
        out.copyFrom(o++, *t, row * block + k);
    }
  }
  ctx.setOutput(0, std::move(out));
  return true;
}

static LogicalResult lowerConcat(NodeContext &ctx) {
  FailureOr<int64_t> axis = concatAxis(ctx);
  if (failed(axis))
    return failure();
  SmallVector<Value> ins;
  for (unsigned i = 0; i < ctx.getNumInputs(); ++i) {
    if (!ctx.hasInput(i))
      continue;
    FailureOr<Value> v = ctx.getValue(i);
    if (failed(v))
      return failure();
    ins.push_back(*v);
  }
  if (ins.size() == 1) {
    ctx.setOutput(0, ins.front());
    return success();
  }
  FailureOr<Value> r =
      ctx.create<ConcatOp>(ValueRange(ins), static_cast<uint64_t>(*axis));
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

//===----------------------------------------------------------------------===//
// Trilu
//===----------------------------------------------------------------------===//

static FailureOr<std::pair<bool, int64_t>> triluParams(NodeContext &ctx) {
  FailureOr<int64_t> upper = ctx.getInt("upper", 1);
  if (failed(upper))
    return failure();
  int64_t k = 0;
  if (ctx.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> kv = ctx.getConstantInts(1, "k");
    if (failed(kv))
      return failure();
    if (kv->size() != 1)
      return ctx.emitError() << "Trilu k must be a scalar";
    k = kv->front();
  }
  if (ctx.getShape(0).size() < 2)
    return ctx.emitError() << "Trilu needs an input of rank >= 2";
  return std::make_pair(*upper != 0, k);
}

static FailureOr<bool> foldTrilu(NodeContext &ctx) {
  FailureOr<std::pair<bool, int64_t>> p = triluParams(ctx);
  if (failed(p))
    return failure();
  auto [upper, k] = *p;
  HostTensor out = *ctx.getConstant(0);
  ArrayRef<int64_t> shape = out.getShape();
  int64_t rows = shape[shape.size() - 2], cols = shape.back();
  for (int64_t i = 0, n = out.size(); i < n; ++i) {
    int64_t r = (i / cols) % rows, c = i % cols;
    bool keep = upper ? c - r >= k : c - r <= k;
    if (!keep)
      out.setInt(i, 0);
  }
  ctx.setOutput(0, std::move(out));
  return true;
}

static LogicalResult lowerTrilu(NodeContext &ctx) {
  FailureOr<std::pair<bool, int64_t>> p = triluParams(ctx);
  FailureOr<Value> x = ctx.getValue(0);
  if (failed(p) || failed(x))
    return failure();
  OpBuilder &b = ctx.getBuilder();
  FailureOr<Value> r =
      ctx.create<TriluOp>(*x, p->first ? b.getUnitAttr() : UnitAttr(),
                          b.getI64IntegerAttr(p->second));
  if (failed(r))
    return failure();
  ctx.setOutput(0, *r);
  return success();
}

void mlir::pz::onnx::registerSliceOps(OpRegistry &r) {
  r.add("Slice", foldSlice, lowerSlice, 3);
  r.add("Split", foldSplit, lowerSplit);
  r.add("Concat", foldConcat, lowerConcat);
  r.add("Trilu", foldTrilu, lowerTrilu);
}
