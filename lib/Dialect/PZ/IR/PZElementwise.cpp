//===- PZElementwise.cpp - elementwise, softmax and reduction ops ---------===//

#include "ShapeUtils.h"
#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::detail;

//===----------------------------------------------------------------------===//
// Binary ops
//===----------------------------------------------------------------------===//

static LogicalResult inferBinary(MaybeLoc loc, Value lhs, Value rhs,
                                 SmallVectorImpl<Type> &inferred) {
  auto l = rankedOrError(loc, lhs, "lhs");
  auto r = rankedOrError(loc, rhs, "rhs");
  if (!l || !r)
    return failure();
  SmallVector<int64_t> shape;
  if (failed(broadcastOrError(loc, l.getShape(), r.getShape(), shape)))
    return failure();
  inferred.push_back(RankedTensorType::get(shape, l.getElementType()));
  return success();
}

#define PZ_BINARY_INFER(OP)                                                    \
  LogicalResult OP::inferReturnTypes(MLIRContext *, MaybeLoc loc,             \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &inferred) {        \
    return inferBinary(loc, adaptor.getLhs(), adaptor.getRhs(), inferred);     \
  }
PZ_BINARY_INFER(AddOp)
PZ_BINARY_INFER(SubOp)
PZ_BINARY_INFER(MulOp)
PZ_BINARY_INFER(DivOp)
PZ_BINARY_INFER(PowOp)
PZ_BINARY_INFER(MaxOp)
PZ_BINARY_INFER(MinOp)
#undef PZ_BINARY_INFER

/// x + 0 -> x and x * 1 -> x, when x has the result type and the constant
/// cannot enlarge it (each constant dim is 1 or equals x's static dim).
static OpFoldResult foldIdentity(Value lhs, Value rhs, Type resultType,
                                 double identity) {
  auto fitsInside = [](Type c, Type x) {
    auto ct = llvm::cast<RankedTensorType>(c);
    auto xt = llvm::cast<RankedTensorType>(x);
    if (ct.getRank() > xt.getRank())
      return false;
    for (int64_t i = 1; i <= ct.getRank(); ++i) {
      int64_t cd = ct.getDimSize(ct.getRank() - i);
      int64_t xd = xt.getDimSize(xt.getRank() - i);
      if (cd != 1 && cd != xd)
        return false;
    }
    return true;
  };
  auto isIdentity = [&](Value v, Value other) {
    DenseElementsAttr attr;
    if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
        !fitsInside(v.getType(), other.getType()))
      return false;
    if (llvm::isa<FloatType>(attr.getElementType()))
      return attr.getSplatValue<APFloat>().convertToDouble() == identity;
    return attr.getSplatValue<APInt>().getSExtValue() ==
           static_cast<int64_t>(identity);
  };
  if (lhs.getType() == resultType && isIdentity(rhs, lhs))
    return lhs;
  if (rhs.getType() == resultType && isIdentity(lhs, rhs))
    return rhs;
  return {};
}

OpFoldResult AddOp::fold(FoldAdaptor) {
  return foldIdentity(getLhs(), getRhs(), getType(), 0.0);
}

OpFoldResult MulOp::fold(FoldAdaptor) {
  return foldIdentity(getLhs(), getRhs(), getType(), 1.0);
}

//===----------------------------------------------------------------------===//
// Unary ops
//===----------------------------------------------------------------------===//

OpFoldResult NegOp::fold(FoldAdaptor) {
  if (auto inner = getInput().getDefiningOp<NegOp>())
    return inner.getInput();
  return {};
}

LogicalResult SoftmaxOp::verify() {
  return checkAxis(getLoc(), getAxis(), getType().getRank());
}

LogicalResult LogSoftmaxOp::verify() {
  return checkAxis(getLoc(), getAxis(), getType().getRank());
}

LogicalResult CumSumOp::verify() {
  return checkAxis(getLoc(), getAxis(), getType().getRank());
}

LogicalResult DropoutOp::verify() {
  double rate = getRate().convertToDouble();
  if (!(rate >= 0.0 && rate < 1.0))
    return emitOpError() << "rate must satisfy 0 <= rate < 1, got " << rate;
  bool split = !getIndices().empty();
  if (split != getGlobalShape().has_value() || split != getSplitDims().has_value())
    return emitOpError() << "indices, global_shape and split_dims come together";
  if (!split)
    return success();
  auto t = llvm::dyn_cast<RankedTensorType>(getInput().getType());
  ArrayRef<int64_t> global = *getGlobalShape(), dims = *getSplitDims();
  if (!t || !t.hasStaticShape() || t.getNumElements() == 0 ||
      t.getRank() != static_cast<int64_t>(global.size()))
    return emitOpError() << "a split input must be static and not empty, of the rank of "
                            "global_shape ("
                         << global.size() << ")";
  if (dims.size() != getIndices().size())
    return emitOpError() << "has " << getIndices().size() << " indices for " << dims.size()
                         << " split_dims";
  for (auto [k, d] : llvm::enumerate(dims)) {
    if (d < 0 || d >= t.getRank() || (k && d <= dims[k - 1]))
      return emitOpError() << "split_dims must increase within the input's dims, got " << d;
    auto idx = llvm::cast<RankedTensorType>(getIndices()[k].getType());
    if (idx.getDimSize(0) != t.getDimSize(d))
      return emitOpError() << "indices " << k << " has " << idx.getDimSize(0)
                           << " entries for the input's dim " << d << " of "
                           << t.getDimSize(d);
  }
  for (int64_t d = 0; d < t.getRank(); ++d) {
    bool fits = llvm::is_contained(dims, d) ? t.getDimSize(d) <= global[d]
                                            : t.getDimSize(d) == global[d];
    if (!fits)
      return emitOpError() << "the input's dim " << d << " (" << t.getDimSize(d)
                           << ") is not a block of global_shape's (" << global[d] << ")";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

static LogicalResult inferReduce(MaybeLoc loc, Value input,
                                 ArrayRef<int64_t> axes, bool keepdims,
                                 SmallVectorImpl<Type> &inferred) {
  auto t = rankedOrError(loc, input, "input");
  if (!t)
    return failure();
  if (axes.empty())
    return emitOptionalError(loc, "expects at least one axis to reduce");
  for (auto [i, axis] : llvm::enumerate(axes)) {
    if (failed(checkAxis(loc, axis, t.getRank())))
      return failure();
    if (i && axes[i - 1] >= axis)
      return emitOptionalError(loc, "axes must be sorted and unique, got ",
                               listStr(axes));
  }
  SmallVector<int64_t> shape;
  for (auto [d, size] : llvm::enumerate(t.getShape())) {
    if (!llvm::is_contained(axes, static_cast<int64_t>(d)))
      shape.push_back(size);
    else if (keepdims)
      shape.push_back(1);
  }
  inferred.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

#define PZ_REDUCE_INFER(OP)                                                    \
  LogicalResult OP::inferReturnTypes(MLIRContext *, MaybeLoc loc,             \
                                     Adaptor adaptor,                          \
                                     SmallVectorImpl<Type> &inferred) {        \
    return inferReduce(loc, adaptor.getInput(), adaptor.getAxes(),             \
                       adaptor.getKeepdims(), inferred);                       \
  }
PZ_REDUCE_INFER(ReduceSumOp)
PZ_REDUCE_INFER(ReduceMeanOp)
PZ_REDUCE_INFER(ReduceMaxOp)
#undef PZ_REDUCE_INFER

LogicalResult AllFiniteOp::inferReturnTypes(MLIRContext *ctx, MaybeLoc, Adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  inferred.push_back(RankedTensorType::get({}, IntegerType::get(ctx, 1)));
  return success();
}

//===----------------------------------------------------------------------===//
// ShardChunkOp
//===----------------------------------------------------------------------===//

LogicalResult ShardChunkOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                             Adaptor adaptor, SmallVectorImpl<Type> &inferred) {
  auto t = llvm::dyn_cast<RankedTensorType>(adaptor.getInput().getType());
  int64_t chunks = adaptor.getChunks();
  if (!t || t.getRank() != 1 || !t.hasStaticShape())
    return emitOptionalError(loc, "pz.shard_chunk: the input must be a static 1-D tensor");
  if (chunks < 1)
    return emitOptionalError(loc, "pz.shard_chunk: chunks must be >= 1, got ", chunks);
  int64_t n = t.getDimSize(0);
  inferred.push_back(RankedTensorType::get({(n + chunks - 1) / chunks}, t.getElementType()));
  return success();
}

LogicalResult ShardChunkOp::verify() {
  if (getGridAxes().empty())
    return emitOpError() << "needs at least one grid axis";
  for (int16_t a : getGridAxes())
    if (a < 0)
      return emitOpError() << "grid axis " << a << " is negative";
  return success();
}
