//===- BoxModels.cpp - sharding models of the box-shaped pz ops -----------===//
//
// Loop iterators and indexing maps of the pz ops whose iteration space is a
// box (element maps, matmul, transpose, sums over axes, softmax and the
// norms), and their partitions (docs/design/0013-sharding-rules.md).
//
//===----------------------------------------------------------------------===//

#include "ShardingUtils.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::sharding;
using namespace mlir::shard;

namespace {

using utils::IteratorType;

/// Element maps: one parallel loop per result dim; operands broadcast into
/// them numpy-style. The partition needs no maps: each operand dim must be
/// split as the result dim it broadcasts to, a stretched size-1 dim not at
/// all; then the op runs on the local shards as it is.
template <typename Op>
struct ElementMapModel : public ShardingInterface::ExternalModel<ElementMapModel<Op>, Op> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    if (failed(checkBroadcastSplits(op, operandShardings, resultShardings[0])))
      return failure();
    partitionTriviallyShardableOperation(*op, partitionedOperands, operandShardings,
                                         resultShardings, partitionMap, symbolTable, builder);
    return success();
  }
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    RankedTensorType r = rankedType(op->getResult(0));
    if (!r)
      return {};
    return SmallVector<IteratorType>(r.getRank(), IteratorType::parallel);
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    RankedTensorType r = rankedType(op->getResult(0));
    if (!r)
      return {};
    SmallVector<AffineMap> maps;
    for (Value v : op->getOperands()) {
      RankedTensorType t = rankedType(v);
      std::optional<AffineMap> m = t ? broadcastMap(t, r, r.getRank(), 0) : std::nullopt;
      if (!m)
        return {};
      maps.push_back(*m);
    }
    for (Value v : op->getResults()) {
      if (rankedType(v) != r)
        return {};
      maps.push_back(AffineMap::getMultiDimIdentityMap(r.getRank(), op->getContext()));
    }
    return maps;
  }
};

/// pz.dropout: an element map of its input; a block of a split value
/// (sequence parallelism's hidden states, attention probabilities split by
/// heads, context parallelism's zigzag chunks) draws the masks of its
/// elements' indices in the whole value: the block form, with each split
/// dim's indices (blockIndices).
struct DropoutModel : public ShardingInterface::ExternalModel<DropoutModel, DropoutOp> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    auto d = llvm::cast<DropoutOp>(op);
    RankedTensorType whole = rankedType(d.getInput());
    const Sharding &s = operandShardings[0];
    if (failed(checkBroadcastSplits(op, operandShardings, resultShardings[0])))
      return failure();
    SmallVector<int64_t> dims;
    for (int64_t k = 0; whole && k < whole.getRank(); ++k)
      if (!splitOf(s, k).empty())
        dims.push_back(k);
    if (dims.empty()) {
      partitionTriviallyShardableOperation(*op, partitionedOperands, operandShardings,
                                           resultShardings, partitionMap, symbolTable, builder);
      return success();
    }
    auto grid = symbolTable.lookupNearestSymbolFrom<GridOp>(op, s.getGridAttr());
    if (!grid || !d.getIndices().empty())
      return op->emitOpError() << "can be split only once, on a grid";
    FailureOr<RankedTensorType> local = localType(op, d.getInput(), s, symbolTable);
    if (failed(local))
      return failure();
    SmallVector<Value> indices;
    for (int64_t k : dims)
      indices.push_back(
          blockIndices(builder, op->getLoc(), grid, whole.getDimSize(k), splitOf(s, k)));
    auto block = DropoutOp::create(builder, op->getLoc(), *local, partitionedOperands[0], indices,
                                   d.getRateAttr(), d.getSeedAttr(),
                                   builder.getDenseI64ArrayAttr(whole.getShape()),
                                   builder.getDenseI64ArrayAttr(dims));
    partitionMap.map(op->getResult(0), block.getResult());
    return success();
  }
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    return ElementMapModel<DropoutOp>().getLoopIteratorTypes(op);
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    return ElementMapModel<DropoutOp>().getIndexingMaps(op);
  }
};

/// pz.all_finite: each rank checks its own shard (a rank-local flag; the
/// driver ORs the flags of all ranks before it acts on them).
struct LocalCheckModel : public ShardingInterface::ExternalModel<LocalCheckModel, AllFiniteOp> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    partitionTriviallyShardableOperation(*op, partitionedOperands, operandShardings,
                                         resultShardings, partitionMap, symbolTable, builder);
    return success();
  }
};

/// pz.matmul: loops (batch..., m, n, k), k a reduction; batch dims
/// broadcast numpy-style, transposes swap an operand's trailing pair.
struct MatmulModel : public PartialSumModel<MatmulModel, MatmulOp> {
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    RankedTensorType r = rankedType(op->getResult(0));
    if (!r)
      return {};
    SmallVector<IteratorType> types(r.getRank(), IteratorType::parallel);
    types.push_back(IteratorType::reduction);
    return types;
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto mm = llvm::cast<MatmulOp>(op);
    RankedTensorType l = rankedType(mm.getLhs()), rt = rankedType(mm.getRhs()),
                     r = rankedType(mm.getResult());
    if (!l || !rt || !r)
      return {};
    MLIRContext *ctx = op->getContext();
    unsigned batch = r.getRank() - 2, numLoops = r.getRank() + 1;
    AffineExpr m = getAffineDimExpr(batch, ctx), n = getAffineDimExpr(batch + 1, ctx),
               k = getAffineDimExpr(batch + 2, ctx);
    auto operandMap = [&](RankedTensorType t, AffineExpr first,
                          AffineExpr second) -> std::optional<AffineMap> {
      // The batch dims broadcast into the result's; the trailing pair maps
      // to (first, second).
      auto batchType = RankedTensorType::get(t.getShape().drop_back(2), t.getElementType());
      auto resultBatch = RankedTensorType::get(r.getShape().drop_back(2), r.getElementType());
      std::optional<AffineMap> b = broadcastMap(batchType, resultBatch, numLoops, 0);
      if (!b)
        return std::nullopt;
      SmallVector<AffineExpr> exprs(b->getResults());
      exprs.push_back(first);
      exprs.push_back(second);
      return AffineMap::get(numLoops, 0, exprs, ctx);
    };
    std::optional<AffineMap> lm =
        mm.getTransposeLhs() ? operandMap(l, k, m) : operandMap(l, m, k);
    std::optional<AffineMap> rm =
        mm.getTransposeRhs() ? operandMap(rt, n, k) : operandMap(rt, k, n);
    if (!lm || !rm)
      return {};
    SmallVector<AffineExpr> out;
    for (unsigned i = 0; i < batch; ++i)
      out.push_back(getAffineDimExpr(i, ctx));
    out.push_back(m);
    out.push_back(n);
    return {*lm, *rm, AffineMap::get(numLoops, 0, out, ctx)};
  }
};

/// pz.transpose: one parallel loop per input dim; result dim i is loop
/// permutation[i].
struct TransposeModel : public PartialSumModel<TransposeModel, TransposeOp> {
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    RankedTensorType t = rankedType(op->getOperand(0));
    if (!t)
      return {};
    return SmallVector<IteratorType>(t.getRank(), IteratorType::parallel);
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto tr = llvm::cast<TransposeOp>(op);
    RankedTensorType t = rankedType(tr.getInput());
    if (!t)
      return {};
    SmallVector<unsigned> perm;
    for (int64_t p : tr.getPermutation())
      perm.push_back(static_cast<unsigned>(p));
    return {AffineMap::getMultiDimIdentityMap(t.getRank(), op->getContext()),
            AffineMap::getPermutationMap(perm, op->getContext())};
  }
};

/// pz.reduce_sum: one loop per input dim, the summed ones reductions; with
/// keepdims, one more parallel loop per summed dim for its size-1 result
/// dim (the interface takes no constant exprs), which is never split.
struct ReduceSumModel : public PartialSumModel<ReduceSumModel, ReduceSumOp> {
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    auto sum = llvm::cast<ReduceSumOp>(op);
    RankedTensorType t = rankedType(sum.getInput());
    if (!t)
      return {};
    SmallVector<IteratorType> types(t.getRank(), IteratorType::parallel);
    for (int64_t a : sum.getAxes())
      if (a >= 0 && a < t.getRank())
        types[a] = IteratorType::reduction;
    if (sum.getKeepdims())
      types.append(sum.getAxes().size(), IteratorType::parallel);
    return types;
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    auto sum = llvm::cast<ReduceSumOp>(op);
    RankedTensorType t = rankedType(sum.getInput());
    if (!t)
      return {};
    MLIRContext *ctx = op->getContext();
    unsigned numLoops = t.getRank() + (sum.getKeepdims() ? sum.getAxes().size() : 0);
    SmallVector<AffineExpr> in, out;
    unsigned extra = t.getRank();
    for (int64_t i = 0; i < t.getRank(); ++i) {
      in.push_back(getAffineDimExpr(i, ctx));
      if (!llvm::is_contained(sum.getAxes(), i))
        out.push_back(getAffineDimExpr(i, ctx));
      else if (sum.getKeepdims())
        out.push_back(getAffineDimExpr(extra++, ctx));
    }
    return {AffineMap::get(numLoops, 0, in, ctx), AffineMap::get(numLoops, 0, out, ctx)};
  }
};

/// The dims an op normalizes over: softmax's axis, a norm's trailing dims.
SmallVector<int64_t> normalizedDims(Operation *op, int64_t rank) {
  SmallVector<int64_t> dims;
  if (auto s = llvm::dyn_cast<SoftmaxOp>(op))
    dims.push_back(s.getAxis());
  else if (auto s = llvm::dyn_cast<LogSoftmaxOp>(op))
    dims.push_back(s.getAxis());
  else {
    int64_t from = llvm::isa<LayerNormOp>(op) ? llvm::cast<LayerNormOp>(op).getAxis()
                                              : llvm::cast<RMSNormOp>(op).getAxis();
    for (int64_t d = from; d < rank; ++d)
      dims.push_back(d);
  }
  return dims;
}

/// Softmax, log-softmax and the norms: one loop per input dim, the
/// normalized ones reductions; scale and bias index the trailing dims. The
/// rules do not split a normalized dim (that needs the statistics
/// all-reduced); the partition refuses it and otherwise runs the op on
/// the local rows.
template <typename Op>
struct NormalizeModel : public ShardingInterface::ExternalModel<NormalizeModel<Op>, Op> {
  SmallVector<IteratorType> getLoopIteratorTypes(Operation *op) const {
    RankedTensorType t = rankedType(op->getOperand(0));
    if (!t)
      return {};
    SmallVector<IteratorType> types(t.getRank(), IteratorType::parallel);
    for (int64_t d : normalizedDims(op, t.getRank()))
      if (d >= 0 && d < t.getRank())
        types[d] = IteratorType::reduction;
    return types;
  }
  SmallVector<AffineMap> getIndexingMaps(Operation *op) const {
    RankedTensorType t = rankedType(op->getOperand(0));
    if (!t)
      return {};
    MLIRContext *ctx = op->getContext();
    AffineMap id = AffineMap::getMultiDimIdentityMap(t.getRank(), ctx);
    SmallVector<AffineMap> maps{id};
    for (Value v : op->getOperands().drop_front()) {
      RankedTensorType p = rankedType(v);
      std::optional<AffineMap> m = p ? broadcastMap(p, t, t.getRank(), 0) : std::nullopt;
      if (!m)
        return {};
      maps.push_back(*m);
    }
    maps.push_back(id);
    return maps;
  }
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    RankedTensorType t = rankedType(op->getOperand(0));
    if (!t)
      return op->emitOpError() << "cannot be partitioned: its input is not a ranked tensor";
    for (int64_t d : normalizedDims(op, t.getRank()))
      if (!splitOf(operandShardings[0], d).empty() || !splitOf(resultShardings[0], d).empty())
        return op->emitOpError() << "cannot be partitioned: it normalizes over dim " << d
                                 << ", which is split (the rules keep normalized dims whole)";
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (splitOf(operandShardings[0], d) != splitOf(resultShardings[0], d))
        return op->emitOpError() << "cannot be partitioned: input and result dim " << d
                                 << " are split differently";
    for (size_t i = 1; i < operandShardings.size(); ++i)
      if (operandShardings[i] && !isFullReplication(operandShardings[i]))
        return op->emitOpError() << "cannot be partitioned: operand " << i
                                 << " (scale or bias) must be whole";
    partitionTriviallyShardableOperation(*op, partitionedOperands, operandShardings,
                                         resultShardings, partitionMap, symbolTable, builder);
    return success();
  }
};

/// The gradients of the norms: the input's gradient on the local rows (the
/// normalized dims whole, as in the forward norm); the scale's and bias's
/// gradients sum over all rows, so with split rows they are all-reduced over
/// the rows' grid axes (sequence parallelism splits rows over tp).
template <typename Op>
struct NormGradModel : public ShardingInterface::ExternalModel<NormGradModel<Op>, Op> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    auto g = llvm::cast<Op>(op);
    RankedTensorType t = rankedType(g.getInput());
    if (!t)
      return op->emitOpError() << "cannot be partitioned: its input is not a ranked tensor";
    int64_t axis = g.getAxis();
    // grad (0), input (1) and grad_input (result 0) are split alike, the
    // normalized dims whole; scale and the parameter gradients whole.
    SmallVector<GridAxis> rows;
    for (int64_t d = 0; d < t.getRank(); ++d) {
      ArrayRef<GridAxis> s = splitOf(operandShardings[1], d);
      if (splitOf(operandShardings[0], d) != s || splitOf(resultShardings[0], d) != s)
        return op->emitOpError() << "cannot be partitioned: the cotangent, the input and its "
                                    "gradient must be split alike (dim "
                                 << d << ")";
      if (d >= axis && !s.empty())
        return op->emitOpError() << "cannot be partitioned: it normalizes over dim " << d
                                 << ", which is split (the rules keep normalized dims whole)";
      rows.append(s.begin(), s.end());
    }
    for (size_t i = 2; i < operandShardings.size(); ++i)
      if (operandShardings[i] && !isFullReplication(operandShardings[i]))
        return op->emitOpError() << "cannot be partitioned: the scale must be whole";
    for (size_t i = 1; i < resultShardings.size(); ++i)
      if (resultShardings[i] && !isFullReplication(resultShardings[i]))
        return op->emitOpError() << "cannot be partitioned: result " << i
                                 << " (a parameter's gradient) must be whole";
    partitionTriviallyShardableOperation(*op, partitionedOperands, operandShardings,
                                         resultShardings, partitionMap, symbolTable, builder);
    if (rows.empty())
      return success();
    llvm::sort(rows);
    for (Value r : op->getResults().drop_front())
      sumPartialResult(op, r, operandShardings[1].getGridAttr(), rows, partitionMap,
                       symbolTable, builder);
    return success();
  }
};

/// pz.attention and pz.attention_grad with the heads split (Megatron's
/// tensor parallelism) and the batch split or not: every query-shaped
/// value ([B, H, Sq, D]: query, result, its cotangent, the query's
/// gradient) and every key/value-shaped one ([B, Hkv, Sk, D]) is split as
/// the query on B and on the heads, and whole along the sequence and the
/// head dim; a mask broadcasting to [B, H, Sq, Sk] likewise (a stretched
/// dim whole). With H and Hkv split alike over n ranks, each rank's query
/// heads read exactly its kv heads, so the op runs on the local heads.
///
/// With more ranks than kv heads (n a multiple of Hkv), the key and value
/// are whole (every rank computes them all; Megatron replicates the kv
/// heads): each rank picks the kv head its H / n query heads share, head
/// k Hkv / n for its coordinate k on the heads' axis (the function's
/// tp_index), and runs the op on it. The gradient's key and value
/// cotangents, the rank's head placed among zeros, are summed over the
/// axis (`tp.kv_replica_grad`): every rank gets them whole.
template <typename Op>
struct AttentionModel : public ShardingInterface::ExternalModel<AttentionModel<Op>, Op> {
  LogicalResult partition(Operation *op, ArrayRef<Value> partitionedOperands,
                          ArrayRef<Sharding> operandShardings,
                          ArrayRef<Sharding> resultShardings, IRMapping &partitionMap,
                          SymbolTableCollection &symbolTable, OpBuilder &builder) const {
    auto attn = llvm::cast<Op>(op);
    Value query = attn.getQuery(), mask = attn.getMask(), bias = attn.getBias();
    // A bias splits as a (non-ring) mask: batch and heads as the query's
    // unless it broadcasts them, its query dim as the query's sequence.
    auto maskLike = [&](Value v) { return v && (v == mask || v == bias); };
    // The query's operand index, and the sharding every value follows.
    unsigned qi = llvm::find(op->getOperands(), query) - op->getOperands().begin();
    const Sharding &qs = operandShardings[qi];
    // Query-shaped values may split their sequence (context parallelism);
    // key/value-shaped ones are whole along theirs.
    ArrayRef<GridAxis> context = splitOf(qs, 2);
    SmallVector<ArrayRef<GridAxis>> want = {splitOf(qs, 0), splitOf(qs, 1), {}, {}};
    unsigned ki = llvm::find(op->getOperands(), attn.getKey()) - op->getOperands().begin();
    // Ring attention: the keys' sequence split as the queries' (one axis).
    bool ring = !context.empty() && splitOf(operandShardings[ki], 2) == context;
    int64_t kvHeads = rankedType(attn.getKey()).getDimSize(1), n = 1;
    for (GridAxis a : want[1])
      n *= symbolTable.lookupNearestSymbolFrom<GridOp>(op, qs.getGridAttr()).getShape()[a];
    // (One axis: the rank's coordinate on it is the function's tp_index.)
    bool replicated = want[1].size() == 1 && isUnsplit(operandShardings[ki]) &&
                      kvHeads % n != 0 && n % kvHeads == 0;
    // The key, the value and the gradient's dk, dv.
    auto isKvShaped = [&](Value v) {
      if (v == attn.getKey() || v == attn.getValue())
        return true;
      auto r = llvm::dyn_cast<OpResult>(v);
      return r && r.getOwner() == op && r.getResultNumber() > 0;
    };
    auto isKv = [&](Value v) { return replicated && isKvShaped(v); };
    auto check = [&](Value v, const Sharding &s, const Twine &what) -> LogicalResult {
      if (isKv(v)) {
        if (isUnsplit(s))
          return success();
        return op->emitOpError() << "cannot be partitioned: " << what
                                 << " must be whole (the kv heads are replicated)";
      }
      RankedTensorType t = rankedType(v);
      if (!t)
        return op->emitOpError() << "cannot be partitioned: " << what << " is not ranked";
      int64_t lead = 4 - t.getRank();
      RankedTensorType q4 = rankedType(query);
      for (int64_t d = 0; d < t.getRank(); ++d) {
        int64_t j = lead + d;
        bool stretched = maskLike(v) && t.getDimSize(d) == 1 &&
                         (j < 3 ? q4.getDimSize(j) : rankedType(attn.getKey()).getDimSize(2)) != 1;
        ArrayRef<GridAxis> expect = stretched || j < 0 ? ArrayRef<GridAxis>() : want[j];
        // The query's sequence, the key/value gradients' (scattered), and
        // in a ring the keys' and a key mask's.
        bool result = llvm::isa<OpResult>(v) && v.getDefiningOp() == op;
        if (!stretched && ((j == 2 && (maskLike(v) ? !ring : !isKvShaped(v) || result || ring)) ||
                           (j == 3 && v == mask && ring)))
          expect = context;
        if (splitOf(s, d) != expect)
          return op->emitOpError() << "cannot be partitioned: " << what << " dim " << d
                                   << " must be split as the query's batch and heads (and "
                                      "query sequence) and be whole elsewhere";
      }
      return success(succeeded(localType(op, v, s, symbolTable)));
    };
    for (auto [i, v] : llvm::enumerate(op->getOperands()))
      if (failed(check(v, operandShardings[i], "operand " + Twine(i))))
        return failure();
    for (auto [i, v] : llvm::enumerate(op->getResults()))
      if (failed(check(v, resultShardings[i], "result " + Twine(i))))
        return failure();
    if (ring) {
      if (context.size() != 1 || replicated)
        return op->emitOpError() << "cannot be partitioned: a ring runs over one grid axis, "
                                    "with the kv heads split as the query's";
      return partitionRingAttention(
          op, partitionedOperands, symbolTable.lookupNearestSymbolFrom<GridOp>(op, qs.getGridAttr()),
          context[0], partitionMap, builder);
    }
    if (replicated) {
      if (failed(partitionReplicatedKv(attn, partitionedOperands, qs, want[1], n, kvHeads,
                                       partitionMap, builder)))
        return failure();
    } else if (!context.empty() && op->getNumResults() > 1) {
      // The gradient on whole keys and values: dk and dv whole, as k and v.
      IRMapping local;
      for (auto [v, pv] : llvm::zip(op->getOperands(), partitionedOperands))
        local.map(v, pv);
      Operation *run = builder.clone(*op, local);
      for (OpResult r : run->getResults())
        r.setType(run->getOperand(r.getResultNumber() + 1).getType());
      for (auto [r, lr] : llvm::zip(op->getResults(), run->getResults()))
        partitionMap.map(r, lr);
    } else {
      partitionTriviallyShardableOperation(*op, partitionedOperands, operandShardings,
                                           resultShardings, partitionMap, symbolTable, builder);
    }
    // Context parallelism: each rank's queries give a part of every key's
    // and value's gradient, summed over the query sequence's axes and, when
    // they are wanted split along the sequence, scattered (an all-reduce
    // and an all_slice, one reduce-scatter after PartitionCleanup).
    auto grid = symbolTable.lookupNearestSymbolFrom<GridOp>(op, qs.getGridAttr());
    for (unsigned i = 1; i < op->getNumResults() && !context.empty(); ++i) {
      Value r = op->getResult(i);
      Value sum = allReduce(builder, op->getLoc(), partitionMap.lookup(r), qs.getGridAttr(),
                            context, ReductionKind::Sum, "cp.kv_grad", op);
      if (!splitOf(resultShardings[i], 2).empty())
        sum = AllSliceOp::create(builder, op->getLoc(), sum, grid, context, 2).getResult();
      partitionMap.map(r, sum);
    }
    return success();
  }

private:
  static LogicalResult partitionReplicatedKv(Op attn, ArrayRef<Value> partitionedOperands,
                                             const Sharding &qs, ArrayRef<GridAxis> axes,
                                             int64_t n, int64_t kvHeads, IRMapping &partitionMap,
                                             OpBuilder &b) {
    Operation *op = attn.getOperation();
    Location loc = op->getLoc();
    FailureOr<Value> k = tpCoordinate(op, b);
    if (failed(k))
      return failure();
    // head[k] = k Hkv / n, looked up rather than divided.
    auto i64 = b.getI64Type();
    auto tableType = RankedTensorType::get({n}, i64);
    SmallVector<int64_t> heads;
    for (int64_t j = 0; j < n; ++j)
      heads.push_back(j * kvHeads / n);
    Value table =
        ConstantOp::create(b, loc, tableType, DenseElementsAttr::get(tableType, ArrayRef(heads)));
    auto one = RankedTensorType::get({1}, i64);
    Value kk = ReshapeOp::create(b, loc, one, *k, b.getDenseI64ArrayAttr({1}));
    Value head = pz::GatherOp::create(b, loc, one, table, kk, b.getI64IntegerAttr(0));
    IRMapping local;
    for (auto [v, pv] : llvm::zip(op->getOperands(), partitionedOperands)) {
      if (v != attn.getKey() && v != attn.getValue()) {
        local.map(v, pv);
        continue;
      }
      SmallVector<int64_t> shape(rankedType(v).getShape());
      shape[1] = 1;
      auto mine = pz::GatherOp::create(b, loc, rankedType(v).clone(shape), pv, head,
                                      b.getI64IntegerAttr(1));
      local.map(v, mine.getResult());
    }
    // The local result types: the gradient's are its query's, key's and
    // value's; the attention's is the query's with the value's head dim.
    Operation *run = b.clone(*op, local);
    if (op->getNumResults() == 1) {
      SmallVector<int64_t> shape(rankedType(run->getOperand(0)).getShape());
      shape.back() = rankedType(run->getOperand(2)).getShape().back();
      run->getResult(0).setType(rankedType(op->getResult(0)).clone(shape));
      partitionMap.map(op->getResult(0), run->getResult(0));
      return success();
    }
    for (OpResult r : run->getResults())
      r.setType(run->getOperand(r.getResultNumber() + 1).getType());
    partitionMap.map(op->getResult(0), run->getResult(0));
    // dk, dv: the rank's head among zeros, summed over the axis.
    auto iotaType = RankedTensorType::get({1, kvHeads, 1, 1}, i64);
    SmallVector<int64_t> iota;
    for (int64_t j = 0; j < kvHeads; ++j)
      iota.push_back(j);
    Value all = ConstantOp::create(b, loc, iotaType,
                                   DenseElementsAttr::get(iotaType, ArrayRef(iota)));
    Value mine = CompareOp::create(b, loc, ComparePredicateAttr::get(b.getContext(),
                                                                     ComparePredicate::eq),
                                   all, head);
    for (unsigned i = 1; i < op->getNumResults(); ++i) {
      auto whole = rankedType(op->getResult(i));
      Type elem = whole.getElementType();
      auto zeroType = RankedTensorType::get({}, elem);
      Value zero = ConstantOp::create(
          b, loc, zeroType, DenseElementsAttr::get(zeroType, b.getFloatAttr(elem, 0.0)));
      Value placed = WhereOp::create(b, loc, whole, mine, run->getResult(i), zero);
      partitionMap.map(op->getResult(i), allReduce(b, loc, placed, qs.getGridAttr(), axes,
                                                   ReductionKind::Sum, "tp.kv_replica_grad", op));
    }
    return success();
  }
};

template <typename... Ops>
void attachElementMaps(MLIRContext *ctx) {
  (Ops::template attachInterface<ElementMapModel<Ops>>(*ctx), ...);
}

} // namespace

void mlir::pz::sharding::attachBoxModels(MLIRContext *ctx) {
  // Every element-map op but pz.broadcast (ShapeModels.cpp); pz.gelu and
  // its gradient, which are element maps too; the optimizer updates
  // (element maps over parameter-shaped values and scalars).
  attachElementMaps<AbsOp, AddOp, CastOp, CompareOp, CosOp, DivOp, ErfOp, ExpOp, LogOp, MaxOp, MinOp, MulOp,
                    NegOp, NotOp, PowOp, ReluGradOp, ReluOp, RsqrtOp, SigmoidOp, SignOp, SiluOp,
                    SinOp, SqrtOp, SubOp, TanhOp, WhereOp, GeluOp, GeluGradOp,
                    AdamWUpdateOp, SGDUpdateOp>(ctx);
  AllFiniteOp::attachInterface<LocalCheckModel>(*ctx);
  DropoutOp::attachInterface<DropoutModel>(*ctx);
  MatmulOp::attachInterface<MatmulModel>(*ctx);
  TransposeOp::attachInterface<TransposeModel>(*ctx);
  ReduceSumOp::attachInterface<ReduceSumModel>(*ctx);
  SoftmaxOp::attachInterface<NormalizeModel<SoftmaxOp>>(*ctx);
  LogSoftmaxOp::attachInterface<NormalizeModel<LogSoftmaxOp>>(*ctx);
  LayerNormOp::attachInterface<NormalizeModel<LayerNormOp>>(*ctx);
  RMSNormOp::attachInterface<NormalizeModel<RMSNormOp>>(*ctx);
  LayerNormGradOp::attachInterface<NormGradModel<LayerNormGradOp>>(*ctx);
  RMSNormGradOp::attachInterface<NormGradModel<RMSNormGradOp>>(*ctx);
  AttentionOp::attachInterface<AttentionModel<AttentionOp>>(*ctx);
  AttentionGradOp::attachInterface<AttentionModel<AttentionGradOp>>(*ctx);
}
