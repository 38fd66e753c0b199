//===- VJPShape.cpp - VJPs of the shape and data-movement ops -------------===//

#include "VJPUtils.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::detail;

/// Cotangent of a single-tensor-operand op whose first operand is the one
/// that gets a gradient; the other operands (indices, conditions) get none.
template <typename D>
static LogicalResult firstOperandVJP(Operation *op, OpBuilder &b,
                                     ArrayRef<Value> grads,
                                     SmallVectorImpl<Value> &out, D d) {
  out.assign(op->getNumOperands(), Value());
  if (!grads[0] || !isDifferentiable(op->getOperand(0)))
    return success();
  GradBuilder gb(b, op);
  out[0] = d(gb, grads[0]);
  return success(gb.ok());
}

static LogicalResult needStatic(Operation *op, Type t) {
  if (!llvm::cast<RankedTensorType>(t).hasStaticShape())
    return op->emitOpError() << "needs static shapes to differentiate, got "
                             << t;
  return success();
}

LogicalResult ReshapeOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                  SmallVectorImpl<Value> &out) {
  if (failed(needStatic(*this, getInput().getType())))
    return failure();
  return firstOperandVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return ReshapeOp::create(
        b, gb.loc(), g, b.getDenseI64ArrayAttr(getInput().getType().getShape()));
  });
}

LogicalResult TransposeOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                    SmallVectorImpl<Value> &out) {
  SmallVector<int64_t> inverse(getPermutation().size());
  for (auto [i, p] : llvm::enumerate(getPermutation()))
    inverse[p] = i;
  return firstOperandVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return TransposeOp::create(b, gb.loc(), g, b.getDenseI64ArrayAttr(inverse));
  });
}

LogicalResult BroadcastOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                    SmallVectorImpl<Value> &out) {
  return firstOperandVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return gb.sumToShape(g, getInput().getType());
  });
}

LogicalResult SliceOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                SmallVectorImpl<Value> &out) {
  if (failed(needStatic(*this, getInput().getType())))
    return failure();
  return firstOperandVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return SliceGradOp::create(
        b, gb.loc(), g, b.getDenseI64ArrayAttr(getInput().getType().getShape()),
        getStartsAttr(), getEndsAttr(), getStepsAttr());
  });
}

LogicalResult ConcatOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                 SmallVectorImpl<Value> &out) {
  out.assign(getNumOperands(), Value());
  Value g = grads[0];
  if (!g || !isDifferentiable(getResult()))
    return success();
  if (failed(needStatic(*this, getType())))
    return failure();
  GradBuilder gb(b, *this);
  auto type = llvm::cast<RankedTensorType>(getType());
  SmallVector<int64_t> starts(type.getRank(), 0), ends(type.getShape()),
      steps(type.getRank(), 1);
  int64_t axis = getAxis(), offset = 0;
  for (auto [i, in] : llvm::enumerate(getInputs())) {
    int64_t size = llvm::cast<RankedTensorType>(in.getType()).getDimSize(axis);
    starts[axis] = offset;
    ends[axis] = offset + size;
    offset += size;
    out[i] = SliceOp::create(b, gb.loc(), g, b.getDenseI64ArrayAttr(starts),
                             b.getDenseI64ArrayAttr(ends),
                             b.getDenseI64ArrayAttr(steps));
  }
  return success();
}

LogicalResult GatherOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                 SmallVectorImpl<Value> &out) {
  if (failed(needStatic(*this, getInput().getType())))
    return failure();
  return firstOperandVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return GatherGradOp::create(
        b, gb.loc(), g, getIndices(),
        b.getDenseI64ArrayAttr(getInput().getType().getShape()), getAxisAttr());
  });
}

LogicalResult EmbeddingOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                    SmallVectorImpl<Value> &out) {
  int64_t vocab = getTable().getType().getDimSize(0);
  if (ShapedType::isDynamic(vocab))
    return emitOpError() << "needs a static vocabulary size to differentiate";
  std::optional<int64_t> pad = getPaddingIdx();
  auto ids = getIds().getType();
  if (pad && llvm::count_if(ids.getShape(), ShapedType::isDynamic) > 1)
    return emitOpError() << "needs at most one dynamic dim in its ids to "
                            "differentiate with a padding_idx, got "
                         << ids;
  return firstOperandVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    if (pad) {
      // nn.Embedding(padding_idx=p): the tokens whose id is p send nothing
      // to row p (PyTorch's embedding_dense_backward skips them). Their
      // cotangent rows are zeroed before the scatter, token by token.
      SmallVector<int64_t> column(ids.getShape());
      for (int64_t &d : column)
        if (ShapedType::isDynamic(d))
          d = -1;
      column.push_back(1);
      Value isPad = CompareOp::create(b, gb.loc(), ComparePredicate::eq,
                                      getIds(), gb.scalar(getIds(), *pad));
      Value col = ReshapeOp::create(b, gb.loc(), isPad,
                                    b.getDenseI64ArrayAttr(column));
      g = WhereOp::create(b, gb.loc(), col, gb.scalar(g, 0.0), g);
    }
    return EmbeddingGradOp::create(b, gb.loc(), g, getIds(),
                                   b.getI64IntegerAttr(vocab));
  });
}

LogicalResult WhereOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                SmallVectorImpl<Value> &out) {
  out.assign(3, Value());
  Value g = grads[0];
  if (!g || !isDifferentiable(getResult()))
    return success();
  GradBuilder gb(b, *this);
  Value zero = gb.scalar(g, 0.0);
  Value c = getCondition();
  out[1] = gb.sumToShape(WhereOp::create(b, gb.loc(), c, g, zero),
                         getOnTrue().getType());
  out[2] = gb.sumToShape(WhereOp::create(b, gb.loc(), c, zero, g),
                         getOnFalse().getType());
  return success(gb.ok());
}

LogicalResult CastOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                               SmallVectorImpl<Value> &out) {
  out.assign(1, Value());
  if (!grads[0] || !isDifferentiable(getInput()) ||
      !isDifferentiable(getResult()))
    return success();
  GradBuilder gb(b, *this);
  out[0] = CastOp::create(b, gb.loc(), grads[0],
                          TypeAttr::get(getInput().getType().getElementType()));
  return success();
}

LogicalResult ConstantOp::buildVJP(OpBuilder &, ArrayRef<Value>,
                                   SmallVectorImpl<Value> &out) {
  out.clear();
  return success();
}

/// Zeros of the static type `t`.
static Value zerosOf(OpBuilder &b, Location loc, Type t) {
  auto type = llvm::cast<RankedTensorType>(t);
  Attribute zero = b.getZeroAttr(type.getElementType());
  return ConstantOp::create(b, loc, DenseElementsAttr::get(type, zero))
      .getResult();
}

LogicalResult GatherElementsOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                         SmallVectorImpl<Value> &out) {
  // Each picked element's cotangent goes back to where it came from;
  // repeated indices add up.
  if (failed(needStatic(*this, getInput().getType())))
    return failure();
  return firstOperandVJP(*this, b, grads, out, [&](GradBuilder &gb, Value g) {
    return ScatterElementsOp::create(b, gb.loc(),
                                     zerosOf(b, gb.loc(), getInput().getType()),
                                     getIndices(), g, getAxis(),
                                     /*accumulate=*/true)
        .getResult();
  });
}

LogicalResult ScatterElementsOp::buildVJP(OpBuilder &b,
                                          ArrayRef<Value> grads,
                                          SmallVectorImpl<Value> &out) {
  // d input: the cotangent, zeroed where an update overwrote the element
  // (kept everywhere when the updates add); d updates: the cotangent at
  // each update's target (PyTorch's scatter/scatter_add backward).
  out.assign(3, Value());
  Value g = grads[0];
  if (!g || !isDifferentiable(getResult()))
    return success();
  if (failed(needStatic(*this, getUpdates().getType())))
    return failure();
  GradBuilder gb(b, *this);
  Location loc = gb.loc();
  if (getAccumulate())
    out[0] = g;
  else
    out[0] = ScatterElementsOp::create(b, loc, g, getIndices(),
                                       zerosOf(b, loc, getUpdates().getType()),
                                       getAxis(), /*accumulate=*/false)
                 .getResult();
  out[2] = GatherElementsOp::create(b, loc, g, getIndices(), getAxis())
               .getResult();
  return success();
}
