//===- VocabModels.cpp - sharding models over a split vocabulary ----------===//
//
// Megatron's vocab-parallel embedding and cross-entropy: the table (and the
// logits) split on the vocabulary over one grid axis, each rank holding the
// c = V / n consecutive ids from k c, k its coordinate on the axis (the
// function's `tp_index` argument, #pz.role<tp_index>).
//
//  * pz.embedding: each rank looks up the ids it holds (others read row 0
//    and are zeroed) and the rows are all-reduced: every rank gets them all.
//  * pz.embedding_grad: each rank scatters the cotangent rows of the ids it
//    holds into its block of the table's gradient; nothing communicates.
//  * pz.cross_entropy: the logits' max, the sum of exp(logits - max) and
//    the label's logit are all-reduced over the axis ([tokens] each: max,
//    sum, sum); no rank ever holds a whole row of logits.
//  * pz.cross_entropy_grad: max and sum again, then each rank's block of
//    softmax - onehot.
//  * A padded vocabulary (pz.valid_classes = V < n c): the classes from V
//    on are masked out of the max, the sum and the gradient.
//
// docs/design/0014-tensor-parallel.md.
//
//===----------------------------------------------------------------------===//

#include "ShardingUtils.h"

#include "pz/Dialect/PZ/Sharding/SplitRules.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::sharding;
using namespace mlir::shard;

namespace {

/// Builds the local computation of one partitioned op.
struct Local {
  OpBuilder &b;
  Location loc;
  Operation *op;

  Value constant(RankedTensorType t, Attribute value) {
    return ConstantOp::create(b, loc, t, DenseElementsAttr::get(t, value)).getResult();
  }
  Value scalarI64(int64_t v) {
    return constant(RankedTensorType::get({}, b.getI64Type()), b.getI64IntegerAttr(v));
  }
  Value scalarF(Type elem, double v) {
    return constant(RankedTensorType::get({}, elem), b.getFloatAttr(elem, v));
  }
  Value cmp(ComparePredicate p, Value l, Value r) {
    return CompareOp::create(b, loc, ComparePredicateAttr::get(b.getContext(), p), l, r)
        .getResult();
  }
  Value cast(Value v, Type elem) {
    auto t = llvm::cast<RankedTensorType>(v.getType());
    return CastOp::create(b, loc, t.clone(elem), v, TypeAttr::get(elem)).getResult();
  }
  Value reshape(Value v, ArrayRef<int64_t> shape) {
    auto t = llvm::cast<RankedTensorType>(v.getType());
    return ReshapeOp::create(b, loc, RankedTensorType::get(shape, t.getElementType()), v,
                             b.getDenseI64ArrayAttr(shape))
        .getResult();
  }
  /// Sums or maxes the last dim with the dim kept (size 1).
  template <typename Reduce>
  Value reduceLast(Value v) {
    auto t = llvm::cast<RankedTensorType>(v.getType());
    SmallVector<int64_t> shape(t.getShape());
    shape.back() = 1;
    return Reduce::create(b, loc, t.clone(shape), v, b.getDenseI64ArrayAttr({t.getRank() - 1}),
                          b.getUnitAttr())
        .getResult();
  }
  Value allReduce(Value v, FlatSymbolRefAttr grid, ArrayRef<GridAxis> axes, ReductionKind kind,
                  StringRef reason) {
    return sharding::allReduce(b, loc, v, grid, axes, kind, reason, op);
  }

  /// Ids of the whole vocabulary made relative to this rank's block of c
  /// (ids - k c): in [0, c) for the ids the rank holds.
  FailureOr<Value> offsetIds(Value ids, int64_t c) {
    FailureOr<Value> offset = blockStart(c, llvm::cast<RankedTensorType>(ids.getType()));
    if (failed(offset))
      return failure();
    return SubOp::create(b, loc, ids, *offset).getResult();
  }

  /// k c, the first id of this rank's block, as a scalar of t's elements.
  FailureOr<Value> blockStart(int64_t c, RankedTensorType t) {
    FailureOr<Value> k = tpCoordinate(op, b);
    if (failed(k))
      return failure();
    Value offset = MulOp::create(b, loc, *k, scalarI64(c)).getResult();
    if (t.getElementType() != b.getI64Type())
      offset = cast(offset, t.getElementType());
    return offset;
  }

  /// For ids of the whole vocabulary: the ids of this rank's block of c
  /// (out-of-block ids read 0) and, as floats of `elem`, 1 where the id is
  /// in the block.
  FailureOr<std::pair<Value, Value>> localIds(Value ids, int64_t c, Type elem) {
    FailureOr<Value> local = offsetIds(ids, c);
    if (failed(local))
      return failure();
    auto t = llvm::cast<RankedTensorType>(ids.getType());
    Value zero = constant(RankedTensorType::get({}, t.getElementType()),
                          b.getIntegerAttr(t.getElementType(), 0));
    Value size = constant(RankedTensorType::get({}, t.getElementType()),
                          b.getIntegerAttr(t.getElementType(), c));
    Value ge = cmp(ComparePredicate::ge, *local, zero), lt = cmp(ComparePredicate::lt, *local, size);
    Value safe = WhereOp::create(b, loc, ge, WhereOp::create(b, loc, lt, *local, zero).getResult(),
                                 zero)
                     .getResult();
    Value in = MulOp::create(b, loc, cast(ge, elem), cast(lt, elem)).getResult();
    return std::make_pair(safe, in);
  }
};

/// The grid axes splitting dim `d` of `s` (one axis, or none).
ArrayRef<GridAxis> vocabAxes(const Sharding &s, int64_t d) { return splitOf(s, d); }

LogicalResult refuse(Operation *op, const Twine &why) {
  return op->emitOpError() << "cannot be partitioned: " << why;
}

/// The grid axes splitting the token dims (all but the last) of `rows`,
/// which `tokens` (ids or labels, one dim fewer) must be split as too: the
/// sequence over cp (context parallelism). Fails unless they agree.
FailureOr<SmallVector<GridAxis>> tokenAxes(Operation *op, const Sharding &rows, int64_t rank,
                                           const Sharding &tokens) {
  SmallVector<GridAxis> axes;
  for (int64_t d = 0; d + 1 < rank; ++d) {
    if (splitOf(rows, d) != splitOf(tokens, d))
      return refuse(op, "its ids (or labels) must be split as the rows along the tokens");
    llvm::append_range(axes, splitOf(rows, d));
  }
  llvm::sort(axes);
  return axes;
}

struct EmbeddingModel : public ShardingInterface::ExternalModel<EmbeddingModel, EmbeddingOp> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    auto e = llvm::cast<EmbeddingOp>(op);
    ArrayRef<GridAxis> axes = vocabAxes(operandShardings[0], 0);
    int64_t rank = rankedType(e.getResult()).getRank();
    if (!splitOf(operandShardings[0], 1).empty() || !splitOf(resultShardings[0], rank - 1).empty())
      return refuse(op, "only the table's vocabulary and the tokens may be split (the rows' "
                        "columns whole)");
    if (failed(tokenAxes(op, resultShardings[0], rank, operandShardings[1])))
      return failure();
    FailureOr<RankedTensorType> rowsType = localType(op, e.getResult(), resultShardings[0],
                                                     symbolTable);
    if (failed(rowsType))
      return failure();
    if (axes.empty()) {
      // padding_idx is read by the VJP only, and autodiff has run: the
      // local lookup does not carry it (its rows are not the table's).
      partitionMap.map(e.getResult(),
                       EmbeddingOp::create(builder, op->getLoc(), *rowsType,
                                           partitionedOperands[0], partitionedOperands[1],
                                           IntegerAttr())
                           .getResult());
      return success();
    }
    auto table = llvm::cast<RankedTensorType>(partitionedOperands[0].getType());
    Local l{builder, op->getLoc(), op};
    auto ids = l.localIds(partitionedOperands[1], table.getDimSize(0), table.getElementType());
    if (failed(ids))
      return failure();
    Value rows = EmbeddingOp::create(builder, op->getLoc(), *rowsType, partitionedOperands[0],
                                     ids->first, IntegerAttr())
                     .getResult();
    SmallVector<int64_t> maskShape(rowsType->getShape());
    maskShape.back() = 1;
    Value masked =
        MulOp::create(builder, op->getLoc(), rows, l.reshape(ids->second, maskShape)).getResult();
    partitionMap.map(e.getResult(),
                     l.allReduce(masked, operandShardings[0].getGridAttr(), axes,
                                 ReductionKind::Sum, "tp.vocab_parallel_embedding"));
    return success();
  }
};

/// Context parallelism splits the cotangent's rows: each rank's gradient
/// sums its tokens' rows, a partial sum over those axes.
struct EmbeddingGradModel
    : public ShardingInterface::ExternalModel<EmbeddingGradModel, EmbeddingGradOp> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    auto g = llvm::cast<EmbeddingGradOp>(op);
    ArrayRef<GridAxis> axes = vocabAxes(resultShardings[0], 0);
    int64_t rank = rankedType(g.getGrad()).getRank();
    if (!splitOf(resultShardings[0], 1).empty() || !splitOf(operandShardings[0], rank - 1).empty())
      return refuse(op, "only the gradient's vocabulary and the tokens may be split (the "
                        "columns whole)");
    FailureOr<SmallVector<GridAxis>> rows =
        tokenAxes(op, operandShardings[0], rank, operandShardings[1]);
    if (failed(rows))
      return failure();
    FailureOr<RankedTensorType> local = localType(op, g.getResult(), resultShardings[0], symbolTable);
    if (failed(local))
      return failure();
    Value cotangent = partitionedOperands[0], ids = partitionedOperands[1];
    Local l{builder, op->getLoc(), op};
    if (!axes.empty()) {
      auto in = l.localIds(ids, local->getDimSize(0), local->getElementType());
      if (failed(in))
        return failure();
      auto gradType = llvm::cast<RankedTensorType>(cotangent.getType());
      SmallVector<int64_t> maskShape(gradType.getShape());
      maskShape.back() = 1;
      cotangent = MulOp::create(builder, op->getLoc(), cotangent, l.reshape(in->second, maskShape))
                      .getResult();
      ids = in->first;
    }
    Value part = EmbeddingGradOp::create(builder, op->getLoc(), *local, cotangent, ids,
                                         builder.getI64IntegerAttr(local->getDimSize(0)))
                     .getResult();
    partitionMap.map(g.getResult(), part);
    if (!rows->empty())
      sumPartialResult(op, g.getResult(), operandShardings[0].getGridAttr(), *rows, partitionMap,
                       symbolTable, builder);
    return success();
  }
};

/// What the cross-entropy and its gradient share: per token, the max of
/// the row and the sum of exp(logits - max) over all ranks (kept dims);
/// where the label is, in this rank's block (i1, [tokens..., c]); the valid
/// (not ignored) tokens (i1) and their count. Selections use pz.where, never
/// a product with a mask, so that a non-finite logit elsewhere in the row or
/// on an ignored token does not leak in (as the op reads only the label's
/// logit and skips ignored tokens).
struct SoftmaxParts {
  Value max, sum, hit, valid, count;
};

/// Sums every dim of `v` (a rank-0 value is its own sum).
Value sumAll(Local &l, Value v) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  if (t.getRank() == 0)
    return v;
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < t.getRank(); ++d)
    all.push_back(d);
  return ReduceSumOp::create(l.b, l.loc, RankedTensorType::get({}, t.getElementType()), v,
                             l.b.getDenseI64ArrayAttr(all), UnitAttr())
      .getResult();
}

/// Where the labels are not `ignoreIndex` (i1, the labels' shape).
Value validTokens(Local &l, Value labels, int64_t ignoreIndex) {
  auto t = llvm::cast<RankedTensorType>(labels.getType());
  Value ignore = l.constant(RankedTensorType::get({}, t.getElementType()),
                            l.b.getIntegerAttr(t.getElementType(), ignoreIndex));
  return NotOp::create(l.b, l.loc, l.cmp(ComparePredicate::eq, labels, ignore)).getResult();
}

FailureOr<SoftmaxParts> softmaxParts(Local &l, Value &logits, Value labels, int64_t ignoreIndex,
                                     FlatSymbolRefAttr grid, ArrayRef<GridAxis> axes) {
  auto t = llvm::cast<RankedTensorType>(logits.getType());
  Type elem = t.getElementType();
  int64_t c = t.getShape().back();
  auto labelType = llvm::cast<RankedTensorType>(labels.getType());
  auto iotaType = RankedTensorType::get({c}, labelType.getElementType());
  SmallVector<Attribute> iota;
  for (int64_t i = 0; i < c; ++i)
    iota.push_back(l.b.getIntegerAttr(labelType.getElementType(), i));
  Value range =
      ConstantOp::create(l.b, l.loc, iotaType, DenseElementsAttr::get(iotaType, iota)).getResult();
  // A padded vocabulary (VocabPadding.h): the classes from the real count
  // on take the lowest float, so that they add nothing to the sum of exp
  // and get a zero gradient; `logits` becomes the masked logits.
  if (auto real = l.op->getAttrOfType<IntegerAttr>(kValidClassesAttrName)) {
    FailureOr<Value> start = l.blockStart(c, labelType);
    if (failed(start))
      return failure();
    Value count = l.constant(RankedTensorType::get({}, labelType.getElementType()),
                             l.b.getIntegerAttr(labelType.getElementType(), real.getInt()));
    Value isReal = l.cmp(ComparePredicate::lt, range,
                        SubOp::create(l.b, l.loc, count, *start).getResult());
    auto sem = &llvm::cast<FloatType>(elem).getFloatSemantics();
    Value lowest = l.constant(RankedTensorType::get({}, elem),
                              l.b.getFloatAttr(elem, llvm::APFloat::getLargest(*sem, true)));
    logits = WhereOp::create(l.b, l.loc, isReal, logits, lowest).getResult();
  }
  SoftmaxParts p;
  p.max = l.allReduce(l.reduceLast<ReduceMaxOp>(logits), grid, axes, ReductionKind::Max,
                      "tp.vocab_parallel_max");
  Value shifted = SubOp::create(l.b, l.loc, logits, p.max).getResult();
  Value e = ExpOp::create(l.b, l.loc, shifted).getResult();
  p.sum = l.allReduce(l.reduceLast<ReduceSumOp>(e), grid, axes, ReductionKind::Sum,
                      "tp.vocab_parallel_sum_exp");
  FailureOr<Value> local = l.offsetIds(labels, c);
  if (failed(local))
    return failure();
  SmallVector<int64_t> column(labelType.getShape());
  column.push_back(1);
  // An id outside [0, c) (another rank's, or ignored) matches no column.
  p.hit = l.cmp(ComparePredicate::eq, l.reshape(*local, column), range);
  p.valid = validTokens(l, labels, ignoreIndex);
  p.count = sumAll(l, l.cast(p.valid, elem));
  return p;
}

/// The logits' class axes (`axes`) and token axes (`rows`, the labels
/// split alike: context parallelism).
template <typename Op>
LogicalResult checkLogits(Op op, ArrayRef<Sharding> operandShardings, unsigned logitsIndex,
                          unsigned labelsIndex, ArrayRef<GridAxis> &axes,
                          SmallVector<GridAxis> &rows) {
  auto t = llvm::cast<RankedTensorType>(op.getLogits().getType());
  FailureOr<SmallVector<GridAxis>> r = tokenAxes(op, operandShardings[logitsIndex], t.getRank(),
                                                 operandShardings[labelsIndex]);
  if (failed(r))
    return failure();
  rows = *r;
  axes = splitOf(operandShardings[logitsIndex], t.getRank() - 1);
  return success();
}

/// The count of the tokens not ignored, summed over the token axes.
Value globalCount(Local &l, Value count, FlatSymbolRefAttr grid, ArrayRef<GridAxis> rows) {
  return rows.empty() ? count
                      : l.allReduce(count, grid, rows, ReductionKind::Sum, "cp.loss_count");
}

/// The local labels' count of tokens not ignored, as a scalar of `elem`.
Value validCount(Local &l, Value labels, int64_t ignoreIndex, Type elem) {
  return sumAll(l, l.cast(validTokens(l, labels, ignoreIndex), elem));
}

/// Under context parallelism each rank holds its tokens' logits: the loss
/// (mean or sum) is the sum of every rank's, over the count of every
/// rank's tokens (the single rank's mean, however the ignored labels fall).
struct CrossEntropyModel
    : public ShardingInterface::ExternalModel<CrossEntropyModel, CrossEntropyOp> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    auto ce = llvm::cast<CrossEntropyOp>(op);
    ArrayRef<GridAxis> axes;
    SmallVector<GridAxis> rows;
    if (failed(checkLogits(ce, operandShardings, 0, 1, axes, rows)))
      return failure();
    if (axes.empty() && rows.empty()) {
      partitionFullyReplicatedOperation(*op, partitionedOperands, operandShardings,
                                        resultShardings, partitionMap, symbolTable, builder);
      return success();
    }
    Local l{builder, op->getLoc(), op};
    FlatSymbolRefAttr grid = operandShardings[0].getGridAttr();
    Value logits = partitionedOperands[0], labels = partitionedOperands[1];
    Type elem = llvm::cast<RankedTensorType>(logits.getType()).getElementType();
    auto labelType = llvm::cast<RankedTensorType>(labels.getType());
    Value losses, count;
    if (axes.empty()) {
      // Whole classes: the op on the rank's tokens.
      losses = CrossEntropyOp::create(builder, l.loc, labelType.clone(elem), logits, labels,
                                      Reduction::none, ce.getIgnoreIndex())
                   .getResult();
      count = validCount(l, labels, ce.getIgnoreIndex(), elem);
    } else {
      FailureOr<SoftmaxParts> p =
          softmaxParts(l, logits, labels, ce.getIgnoreIndex(), grid, axes);
      if (failed(p))
        return failure();
      Value zero = l.scalarF(elem, 0.0);
      Value target = l.allReduce(
          l.reduceLast<ReduceSumOp>(
              WhereOp::create(builder, l.loc, p->hit, logits, zero).getResult()),
          grid, axes, ReductionKind::Sum, "tp.vocab_parallel_target");
      // Per token: log(sum) + max - target, [tokens..., 1] -> [tokens...].
      Value lse = AddOp::create(builder, l.loc, LogOp::create(builder, l.loc, p->sum).getResult(),
                                p->max)
                      .getResult();
      Value perToken = l.reshape(SubOp::create(builder, l.loc, lse, target).getResult(),
                                 labelType.getShape());
      losses = WhereOp::create(builder, l.loc, p->valid, perToken, zero).getResult();
      count = p->count;
    }
    Value result = losses;
    if (ce.getReduction() != Reduction::none) {
      result = sumAll(l, losses);
      if (!rows.empty())
        result = l.allReduce(result, grid, rows, ReductionKind::Sum, "cp.loss_sum");
      if (ce.getReduction() == Reduction::mean)
        result = DivOp::create(builder, l.loc, result, globalCount(l, count, grid, rows))
                     .getResult();
    }
    partitionMap.map(ce.getResult(), result);
    return success();
  }
};

struct CrossEntropyGradModel
    : public ShardingInterface::ExternalModel<CrossEntropyGradModel, CrossEntropyGradOp> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    auto g = llvm::cast<CrossEntropyGradOp>(op);
    ArrayRef<GridAxis> axes;
    SmallVector<GridAxis> rows;
    if (failed(checkLogits(g, operandShardings, 1, 2, axes, rows)))
      return failure();
    auto lt = llvm::cast<RankedTensorType>(g.getLogits().getType());
    if (g.getReduction() != Reduction::none && !isUnsplit(operandShardings[0]))
      return refuse(op, "its cotangent must be whole");
    for (int64_t d = 0; d < lt.getRank(); ++d)
      if (splitOf(resultShardings[0], d) != splitOf(operandShardings[1], d))
        return refuse(op, "its result must be split as the logits");
    if (axes.empty() && (rows.empty() || g.getReduction() == Reduction::none)) {
      partitionTriviallyShardableOperation(*op, partitionedOperands, operandShardings,
                                           resultShardings, partitionMap, symbolTable, builder);
      return success();
    }
    Local l{builder, op->getLoc(), op};
    FlatSymbolRefAttr grid = operandShardings[1].getGridAttr();
    Value seed = partitionedOperands[0], logits = partitionedOperands[1],
          labels = partitionedOperands[2];
    Type elem = llvm::cast<RankedTensorType>(logits.getType()).getElementType();
    if (axes.empty()) {
      // Whole classes, split tokens: the sum's gradient over the count of
      // every rank's tokens.
      Value sum = CrossEntropyGradOp::create(builder, l.loc, logits.getType(), seed, logits,
                                             labels, Reduction::sum, g.getIgnoreIndex())
                      .getResult();
      if (g.getReduction() == Reduction::mean)
        sum = DivOp::create(builder, l.loc, sum,
                            globalCount(l, validCount(l, labels, g.getIgnoreIndex(), elem), grid,
                                        rows))
                  .getResult();
      partitionMap.map(g.getResult(), sum);
      return success();
    }
    FailureOr<SoftmaxParts> p = softmaxParts(l, logits, labels, g.getIgnoreIndex(), grid, axes);
    if (failed(p))
      return failure();
    Value e = ExpOp::create(builder, l.loc, SubOp::create(builder, l.loc, logits, p->max))
                  .getResult();
    Value softmax = DivOp::create(builder, l.loc, e, p->sum).getResult();
    Value diff = SubOp::create(builder, l.loc, softmax, l.cast(p->hit, elem)).getResult();
    auto labelType = llvm::cast<RankedTensorType>(labels.getType());
    SmallVector<int64_t> column(labelType.getShape());
    column.push_back(1);
    Value scale = g.getReduction() == Reduction::none ? l.reshape(seed, column) : seed;
    if (g.getReduction() == Reduction::mean)
      scale = DivOp::create(builder, l.loc, scale, globalCount(l, p->count, grid, rows))
                  .getResult();
    Value scaled = MulOp::create(builder, l.loc, diff, scale).getResult();
    partitionMap.map(g.getResult(),
                     WhereOp::create(builder, l.loc, l.reshape(p->valid, column), scaled,
                                     l.scalarF(elem, 0.0))
                         .getResult());
    return success();
  }
};

} // namespace

void mlir::pz::sharding::attachVocabModels(MLIRContext *ctx) {
  EmbeddingOp::attachInterface<EmbeddingModel>(*ctx);
  EmbeddingGradOp::attachInterface<EmbeddingGradModel>(*ctx);
  CrossEntropyOp::attachInterface<CrossEntropyModel>(*ctx);
  CrossEntropyGradOp::attachInterface<CrossEntropyGradModel>(*ctx);
}
