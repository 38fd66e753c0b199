//===- Gather.cpp - gather(_elements), embedding, scatter(-add)s ---------===//

#include "Kernels.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp;
using namespace mlir::pz::interp::detail;

/// Checks that every index lies in [0, size); emits at `op` otherwise.
static LogicalResult checkIndices(Operation *op, const HostTensor &indices,
                                  int64_t size, StringRef what) {
  for (auto [i, v] : llvm::enumerate(indices.data))
    if (!(v >= 0 && v < static_cast<double>(size)))
      return op->emitError()
             << "interpreter: " << what << " " << numStr(v) << " (element " << i
             << ") is out of range [0, " << size << ")";
  return success();
}

namespace {
/// The index arithmetic of a gather over `axis` of `inShape`: the result is
/// `inShape[:axis] + indices.shape + inShape[axis+1:]`, and its block
/// (outer o, index k) is the input's block (o, indices[k]), `inner` long.
struct GatherLayout {
  int64_t outer, size, inner, count;
  std::vector<int64_t> outShape;

  GatherLayout(ArrayRef<int64_t> inShape, ArrayRef<int64_t> idxShape,
               int64_t axis)
      : outer(prodRange(inShape, 0, axis)), size(inShape[axis]),
        inner(prodRange(inShape, axis + 1, inShape.size())),
        count(numElements(idxShape)) {
    outShape.assign(inShape.begin(), inShape.begin() + axis);
    outShape.insert(outShape.end(), idxShape.begin(), idxShape.end());
    outShape.insert(outShape.end(), inShape.begin() + axis + 1, inShape.end());
  }
  int64_t inOffset(int64_t o, int64_t index) const {
    return (o * size + index) * inner;
  }
  int64_t outOffset(int64_t o, int64_t k) const {
    return (o * count + k) * inner;
  }
};
} // namespace

static LogicalResult evalGather(Operation *op, Env &env) {
  auto gather = llvm::cast<GatherOp>(op);
  const HostTensor &x = env.get(gather.getInput());
  const HostTensor &idx = env.get(gather.getIndices());
  int64_t axis = gather.getAxis();
  if (failed(checkAxis(op, axis, x.getRank())))
    return failure();
  if (failed(checkIndices(op, idx, x.shape[axis], "index")))
    return failure();
  GatherLayout l(x.shape, idx.shape, axis);
  std::vector<double> out(numElements(l.outShape));
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t k = 0; k < l.count; ++k)
      std::copy_n(x.data.begin() +
                      l.inOffset(o, static_cast<int64_t>(idx.data[k])),
                  l.inner, out.begin() + l.outOffset(o, k));
  return env.define(gather.getResult(), std::move(l.outShape), std::move(out));
}

static LogicalResult evalGatherGrad(Operation *op, Env &env) {
  auto grad = llvm::cast<GatherGradOp>(op);
  const HostTensor &g = env.get(grad.getGrad());
  const HostTensor &idx = env.get(grad.getIndices());
  ArrayRef<int64_t> inShape = grad.getInputShape();
  int64_t axis = grad.getAxis();
  if (failed(checkAxis(op, axis, inShape.size())))
    return failure();
  if (llvm::any_of(inShape, [](int64_t d) { return d < 0; }))
    return op->emitError() << "interpreter: bad input_shape";
  if (failed(checkIndices(op, idx, inShape[axis], "index")))
    return failure();
  GatherLayout l(inShape, idx.shape, axis);
  if (g.shape != l.outShape)
    return op->emitError() << "interpreter: grad has shape "
                           << shapeStr(g.shape) << " but the gather has "
                           << shapeStr(l.outShape);
  std::vector<double> out(numElements(inShape), 0.0);
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t k = 0; k < l.count; ++k)
      for (int64_t i = 0; i < l.inner; ++i)
        out[l.inOffset(o, static_cast<int64_t>(idx.data[k])) + i] +=
            g.data[l.outOffset(o, k) + i];
  return env.define(grad.getResult(),
                    std::vector<int64_t>(inShape.begin(), inShape.end()),
                    std::move(out));
}

static LogicalResult evalEmbedding(Operation *op, Env &env) {
  auto emb = llvm::cast<EmbeddingOp>(op);
  const HostTensor &table = env.get(emb.getTable());
  const HostTensor &ids = env.get(emb.getIds());
  if (table.getRank() != 2)
    return op->emitError() << "interpreter: the table must have rank 2";
  if (failed(checkIndices(op, ids, table.shape[0], "id")))
    return failure();
  int64_t dim = table.shape[1];
  std::vector<int64_t> shape = ids.shape;
  shape.push_back(dim);
  std::vector<double> out(numElements(shape));
  for (size_t k = 0; k < ids.data.size(); ++k)
    std::copy_n(table.data.begin() + static_cast<int64_t>(ids.data[k]) * dim,
                dim, out.begin() + k * dim);
  return env.define(emb.getResult(), std::move(shape), std::move(out));
}

static LogicalResult evalEmbeddingGrad(Operation *op, Env &env) {
  auto grad = llvm::cast<EmbeddingGradOp>(op);
  const HostTensor &g = env.get(grad.getGrad());
  const HostTensor &ids = env.get(grad.getIds());
  int64_t vocab = grad.getVocab();
  if (vocab < 1 || g.getRank() < 1)
    return op->emitError() << "interpreter: needs vocab >= 1 and a grad of "
                              "rank >= 1";
  int64_t dim = g.shape.back();
  std::vector<int64_t> expected = ids.shape;
  expected.push_back(dim);
  if (g.shape != expected)
    return op->emitError() << "interpreter: grad has shape "
                           << shapeStr(g.shape) << " but the ids need "
                           << shapeStr(expected);
  if (failed(checkIndices(op, ids, vocab, "id")))
    return failure();
  std::vector<double> out(vocab * dim, 0.0);
  for (size_t k = 0; k < ids.data.size(); ++k)
    for (int64_t d = 0; d < dim; ++d)
      out[static_cast<int64_t>(ids.data[k]) * dim + d] += g.data[k * dim + d];
  return env.define(grad.getResult(), {vocab, dim}, std::move(out));
}

/// For each element of `indices` (row-major), the offset in a tensor of
/// shape `inShape` of the element with that position and its index on
/// `axis` (negative indices count from the end). Fails at `op` on an index
/// out of [-n, n).
static FailureOr<std::vector<int64_t>>
elementOffsets(Operation *op, const HostTensor &indices,
               ArrayRef<int64_t> inShape, int64_t axis) {
  std::vector<int64_t> inStrides = stridesOf(inShape);
  int64_t n = inShape[axis];
  std::vector<int64_t> offsets;
  offsets.reserve(indices.data.size());
  bool bad = false;
  forEachIndex(indices.shape, [&](ArrayRef<int64_t> p) {
    if (bad)
      return;
    double v = indices.data[offsets.size()];
    if (!(v >= -static_cast<double>(n) && v < static_cast<double>(n))) {
      op->emitError() << "interpreter: index " << numStr(v) << " (element "
                      << offsets.size() << ") is out of range [" << -n << ", "
                      << n << ")";
      bad = true;
      return;
    }
    int64_t k = static_cast<int64_t>(v) + (v < 0 ? n : 0);
    int64_t off = 0;
    for (size_t d = 0; d < p.size(); ++d)
      off += (static_cast<int64_t>(d) == axis ? k : p[d]) * inStrides[d];
    offsets.push_back(off);
  });
  if (bad)
    return failure();
  return offsets;
}

static LogicalResult evalGatherElements(Operation *op, Env &env) {
  auto g = llvm::cast<GatherElementsOp>(op);
  const HostTensor &x = env.get(g.getInput());
  const HostTensor &idx = env.get(g.getIndices());
  auto offsets = elementOffsets(op, idx, x.shape, g.getAxis());
  if (failed(offsets))
    return failure();
  std::vector<double> out;
  out.reserve(offsets->size());
  for (int64_t o : *offsets)
    out.push_back(x.data[o]);
  return env.define(g.getResult(), idx.shape, std::move(out));
}

static LogicalResult evalScatterElements(Operation *op, Env &env) {
  auto s = llvm::cast<ScatterElementsOp>(op);
  const HostTensor &x = env.get(s.getInput());
  const HostTensor &idx = env.get(s.getIndices());
  const HostTensor &upd = env.get(s.getUpdates());
  if (upd.shape != idx.shape)
    return op->emitError() << "interpreter: updates " << shapeStr(upd.shape)
                           << " and indices " << shapeStr(idx.shape)
                           << " differ";
  auto offsets = elementOffsets(op, idx, x.shape, s.getAxis());
  if (failed(offsets))
    return failure();
  std::vector<double> out = x.data;
  for (auto [k, o] : llvm::enumerate(*offsets))
    out[o] = s.getAccumulate() ? out[o] + upd.data[k] : upd.data[k];
  return env.define(s.getResult(), x.shape, std::move(out));
}

void mlir::pz::interp::detail::registerGatherKernels(KernelTable &t) {
  add<GatherOp>(t, evalGather);
  add<GatherElementsOp>(t, evalGatherElements);
  add<ScatterElementsOp>(t, evalScatterElements);
  add<GatherGradOp>(t, evalGatherGrad);
  add<EmbeddingOp>(t, evalEmbedding);
  add<EmbeddingGradOp>(t, evalEmbeddingGrad);
}
