//===- Shape.cpp - reshape, transpose, broadcast, slice, concat, ... ------===//

#include "Kernels.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp;
using namespace mlir::pz::interp::detail;

static std::string listStr(ArrayRef<int64_t> xs) {
  std::string s = "[";
  for (auto [i, x] : llvm::enumerate(xs))
    s += (i ? ", " : "") + std::to_string(x);
  return s + "]";
}

static LogicalResult evalReshape(Operation *op, Env &env) {
  auto reshape = llvm::cast<ReshapeOp>(op);
  const HostTensor &x = env.get(reshape.getInput());
  std::vector<int64_t> shape(reshape.getShape().begin(),
                             reshape.getShape().end());
  int64_t known = 1, inferIdx = -1;
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (d == -1 && inferIdx < 0)
      inferIdx = i;
    else if (d >= 0)
      known *= d;
    else
      return op->emitError()
             << "interpreter: bad reshape target " << listStr(shape);
  }
  int64_t total = x.getNumElements();
  if (inferIdx >= 0 && known != 0 && total % known == 0)
    shape[inferIdx] = total / known;
  if (numElements(shape) != total)
    return op->emitError() << "interpreter: cannot reshape "
                           << shapeStr(x.shape) << " (" << total
                           << " elements) into " << listStr(reshape.getShape());
  return env.define(reshape.getResult(), std::move(shape), x.data);
}

static LogicalResult evalTranspose(Operation *op, Env &env) {
  auto transpose = llvm::cast<TransposeOp>(op);
  const HostTensor &x = env.get(transpose.getInput());
  ArrayRef<int64_t> perm = transpose.getPermutation();
  std::vector<bool> seen(x.getRank(), false);
  bool ok = static_cast<int64_t>(perm.size()) == x.getRank();
  for (int64_t p : perm) {
    ok = ok && p >= 0 && p < x.getRank() && !seen[p];
    if (ok)
      seen[p] = true;
  }
  if (!ok)
    return op->emitError() << "interpreter: " << listStr(perm)
                           << " is not a permutation of the dims of "
                           << shapeStr(x.shape);
  std::vector<int64_t> inStrides = stridesOf(x.shape), shape;
  for (int64_t p : perm)
    shape.push_back(x.shape[p]);
  std::vector<double> out;
  out.reserve(x.data.size());
  forEachIndex(shape, [&](ArrayRef<int64_t> idx) {
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d)
      off += idx[d] * inStrides[perm[d]];
    out.push_back(x.data[off]);
  });
  return env.define(transpose.getResult(), std::move(shape), std::move(out));
}

static LogicalResult evalBroadcast(Operation *op, Env &env) {
  auto broadcast = llvm::cast<BroadcastOp>(op);
  const HostTensor &x = env.get(broadcast.getInput());
  std::vector<int64_t> shape(broadcast.getShape().begin(),
                             broadcast.getShape().end());
  auto joint = broadcastShapes(x.shape, shape);
  if (failed(joint) || *joint != shape)
    return op->emitError() << "interpreter: cannot broadcast "
                           << shapeStr(x.shape) << " to " << listStr(shape);
  std::vector<int64_t> offsets = broadcastOffsets(x.shape, shape);
  std::vector<double> out(offsets.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = x.data[offsets[i]];
  return env.define(broadcast.getResult(), std::move(shape), std::move(out));
}

/// The shape of a strided box and, for each of its elements, the offset in
/// a tensor of shape `in`. Emits at `op` when the box does not fit.
static LogicalResult
sliceOffsets(Operation *op, ArrayRef<int64_t> in, ArrayRef<int64_t> starts,
             ArrayRef<int64_t> ends, ArrayRef<int64_t> steps,
             std::vector<int64_t> &shape, std::vector<int64_t> &offsets) {
  size_t rank = in.size();
  if (starts.size() != rank || ends.size() != rank || steps.size() != rank)
    return op->emitError() << "interpreter: starts, ends and steps need "
                           << rank << " entries each";
  shape.clear();
  for (size_t d = 0; d < rank; ++d) {
    // A positive step walks up from start to below end, a negative one down
    // from start to above end.
    bool fits = false;
    if (steps[d] > 0)
      fits = 0 <= starts[d] && starts[d] <= ends[d] && ends[d] <= in[d];
    else if (steps[d] < 0)
      fits = -1 <= ends[d] && ends[d] <= starts[d] && starts[d] < in[d];
    if (!fits)
      return op->emitError()
             << "interpreter: slice start " << starts[d] << ", end " << ends[d]
             << ", step " << steps[d] << " on dim " << d
             << " does not fit size " << in[d];
    // ceil(span / |step|), in unsigned arithmetic so that no step overflows.
    uint64_t span = steps[d] > 0 ? ends[d] - starts[d] : starts[d] - ends[d];
    uint64_t magnitude =
        steps[d] > 0 ? uint64_t(steps[d]) : uint64_t(0) - uint64_t(steps[d]);
    shape.push_back(span == 0 ? 0 : int64_t((span - 1) / magnitude + 1));
  }
  std::vector<int64_t> strides = stridesOf(in);
  offsets.clear();
  forEachIndex(shape, [&](ArrayRef<int64_t> idx) {
    int64_t off = 0;
    for (size_t d = 0; d < rank; ++d)
      off += (starts[d] + idx[d] * steps[d]) * strides[d];
    offsets.push_back(off);
  });
  return success();
}

static LogicalResult evalSlice(Operation *op, Env &env) {
  auto slice = llvm::cast<SliceOp>(op);
  const HostTensor &x = env.get(slice.getInput());
  std::vector<int64_t> shape, offsets;
  if (failed(sliceOffsets(op, x.shape, slice.getStarts(), slice.getEnds(),
                          slice.getSteps(), shape, offsets)))
    return failure();
  std::vector<double> out(offsets.size());
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = x.data[offsets[i]];
  return env.define(slice.getResult(), std::move(shape), std::move(out));
}

/// The interpreter runs one process, which is rank 0 of every group of the
/// grid: its chunk is the first, zero-padded.
static LogicalResult evalShardChunk(Operation *op, Env &env) {
  auto c = llvm::cast<ShardChunkOp>(op);
  const HostTensor &x = env.get(c.getInput());
  int64_t n = llvm::cast<RankedTensorType>(c.getResult().getType()).getDimSize(0);
  std::vector<double> out(static_cast<size_t>(n), 0.0);
  for (int64_t i = 0; i < n && i < static_cast<int64_t>(x.data.size()); ++i)
    out[i] = x.data[i];
  return env.define(c.getResult(), {n}, std::move(out));
}

static LogicalResult evalSliceGrad(Operation *op, Env &env) {
  auto grad = llvm::cast<SliceGradOp>(op);
  const HostTensor &g = env.get(grad.getGrad());
  ArrayRef<int64_t> inShape = grad.getInputShape();
  if (llvm::any_of(inShape, [](int64_t d) { return d < 0; }))
    return op->emitError() << "interpreter: bad input_shape "
                           << listStr(inShape);
  std::vector<int64_t> shape, offsets;
  if (failed(sliceOffsets(op, inShape, grad.getStarts(), grad.getEnds(),
                          grad.getSteps(), shape, offsets)))
    return failure();
  if (shape != g.shape)
    return op->emitError() << "interpreter: grad has shape "
                           << shapeStr(g.shape) << " but the slice has "
                           << shapeStr(shape);
  std::vector<double> out(numElements(inShape), 0.0);
  for (size_t i = 0; i < offsets.size(); ++i)
    out[offsets[i]] = g.data[i];
  return env.define(grad.getResult(),
                    std::vector<int64_t>(inShape.begin(), inShape.end()),
                    std::move(out));
}

static LogicalResult evalConcat(Operation *op, Env &env) {
  auto concat = llvm::cast<ConcatOp>(op);
  const HostTensor &first = env.get(concat.getInputs().front());
  int64_t axis = concat.getAxis(), rank = first.getRank();
  if (failed(checkAxis(op, axis, rank)))
    return failure();
  std::vector<int64_t> shape = first.shape;
  shape[axis] = 0;
  for (Value v : concat.getInputs()) {
    const HostTensor &t = env.get(v);
    bool ok = t.getRank() == rank;
    for (int64_t d = 0; ok && d < rank; ++d)
      ok = d == axis || t.shape[d] == first.shape[d];
    if (!ok)
      return op->emitError()
             << "interpreter: cannot concatenate " << shapeStr(t.shape)
             << " with " << shapeStr(first.shape) << " on axis " << axis;
    shape[axis] += t.shape[axis];
  }
  int64_t outer = prodRange(shape, 0, axis);
  int64_t inner = prodRange(shape, axis + 1, rank);
  std::vector<double> out;
  out.reserve(numElements(shape));
  for (int64_t o = 0; o < outer; ++o) {
    for (Value v : concat.getInputs()) {
      const HostTensor &t = env.get(v);
      int64_t chunk = t.shape[axis] * inner;
      auto begin = t.data.begin() + o * chunk;
      out.insert(out.end(), begin, begin + chunk);
    }
  }
  return env.define(concat.getResult(), std::move(shape), std::move(out));
}

static LogicalResult evalConstant(Operation *op, Env &env) {
  auto constant = llvm::cast<ConstantOp>(op);
  auto attr = llvm::dyn_cast<ElementsAttr>(constant.getValue());
  if (!attr)
    return op->emitError() << "interpreter: constant value is not an "
                              "elements attribute";
  std::string error;
  FailureOr<HostTensor> t = fromElementsAttr(attr, error);
  if (failed(t))
    return op->emitError() << "interpreter: " << error;
  return env.define(constant.getResult(), std::move(*t));
}

static LogicalResult evalTrilu(Operation *op, Env &env) {
  auto trilu = llvm::cast<TriluOp>(op);
  const HostTensor &x = env.get(trilu.getInput());
  if (x.getRank() < 2)
    return op->emitError() << "interpreter: trilu needs rank >= 2";
  int64_t rows = x.shape[x.getRank() - 2], cols = x.shape[x.getRank() - 1];
  int64_t diag = trilu.getDiagonal();
  bool upper = trilu.getUpper();
  std::vector<double> out(x.data.size());
  for (size_t e = 0; e < out.size(); ++e) {
    int64_t j = static_cast<int64_t>(e) % cols;
    int64_t i = (static_cast<int64_t>(e) / cols) % rows;
    bool keep = upper ? j - i >= diag : j - i <= diag;
    out[e] = keep ? x.data[e] : 0.0;
  }
  return env.define(trilu.getResult(), x.shape, std::move(out));
}

void mlir::pz::interp::detail::registerShapeKernels(KernelTable &t) {
  add<ReshapeOp>(t, evalReshape);
  add<TransposeOp>(t, evalTranspose);
  add<BroadcastOp>(t, evalBroadcast);
  add<SliceOp>(t, evalSlice);
  add<SliceGradOp>(t, evalSliceGrad);
  add<ShardChunkOp>(t, evalShardChunk);
  add<ConcatOp>(t, evalConcat);
  add<ConstantOp>(t, evalConstant);
  add<TriluOp>(t, evalTrilu);
}
