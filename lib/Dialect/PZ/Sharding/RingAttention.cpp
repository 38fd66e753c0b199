//===- RingAttention.cpp - context parallelism's ring attention -----------===//
//
// pz.attention (and its gradient) with the query's and the key's sequences
// split alike over one grid axis (cp, in the zigzag layout) partitions into
// a ring of n steps over the axis's n ranks. Each rank keeps its queries;
// the key and value blocks (with their tokens' positions, for a causal
// attention, and a key mask's block) go around the ring with shard.shift,
// one rank further per step (cp.ring_kv_shift), and each step merges its
// block into the running output and log-sum-exp (pz.attention_block, the
// online softmax). No rank holds more than two key/value blocks.
//
// The gradient runs the ring again: each step gives the query's cotangent
// a part and the block its key and value cotangents, which travel with the
// block (cp.ring_kv_grad_shift) and are back on their rank after n shifts.
// It reads the forward ring's output and log-sum-exp (the forward op with
// the same operands was partitioned first), or runs the forward ring again
// when there is none.
//
// Positions: the rank's query and key positions are its blocks of the
// whole sequence's positions (an all_slice of [0, S), which pz-tensor-
// parallel's zigzag pass puts in the zigzag order like every other split
// of the sequence). docs/design/0015-context-parallel.md.
//
//===----------------------------------------------------------------------===//

#include "ShardingUtils.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

#include "mlir/IR/IRMapping.h"

#include <limits>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::sharding;
using namespace mlir::shard;

namespace {

/// `v` without the shard.shard annotations on it.
Value unannotated(Value v) {
  while (auto s = v.getDefiningOp<ShardOp>())
    v = s.getSrc();
  return v;
}

struct Ring {
  OpBuilder &b;
  Location loc;
  Operation *op;
  GridOp grid;
  GridAxis axis;
  int64_t n;

  Value constant(RankedTensorType t, Attribute v) {
    return ConstantOp::create(b, loc, t, DenseElementsAttr::get(t, v)).getResult();
  }

  /// The rank's block of the positions [0, size) along the axis.
  Value positions(int64_t size) { return blockIndices(b, loc, grid, size, {axis}); }

  /// `v` from the rank one step before on the ring: shift `step` of
  /// `total` of its kind.
  Value shift(Value v, StringRef kind, int64_t step, int64_t total, StringRef what) {
    if (!v)
      return v;
    auto s = ShiftOp::create(b, loc, v.getType(), FlatSymbolRefAttr::get(grid.getSymNameAttr()),
                             b.getDenseI16ArrayAttr({axis}), v,
                             b.getIndexAttr(axis),
                             b.getIntegerAttr(b.getIntegerType(64), 1), b.getUnitAttr());
    std::string source = "step " + std::to_string(step) + " of " + std::to_string(total) +
                         ", " + what.str() + " " + sourceOf(op);
    s->setAttr("pz.comm", pzrt::ReasonAttr::get(b.getContext(), kind, source));
    return s.getResult();
  }
};

/// The key-side values of one ring step: the block and what travels with it.
struct KvBlock {
  Value key, value, positions, mask;
};

/// The block of the rank one step before: shift `step` of the ring's n - 1.
KvBlock shifted(Ring &r, const KvBlock &blk, int64_t step, StringRef what) {
  auto one = [&](Value v) { return r.shift(v, "cp.ring_kv_shift", step, r.n - 1, what); };
  return {one(blk.key), one(blk.value), one(blk.positions), one(blk.mask)};
}

/// The forward ring: the output and log-sum-exp over every block.
std::pair<Value, Value> forwardRing(Ring &r, Value q, KvBlock blk, Value qPos, FloatAttr scale,
                                    bool backward) {
  auto qt = llvm::cast<RankedTensorType>(q.getType());
  auto vt = llvm::cast<RankedTensorType>(blk.value.getType());
  auto accType = qt.clone({qt.getDimSize(0), qt.getDimSize(1), qt.getDimSize(2), vt.getDimSize(3)});
  auto lseType = qt.clone(accType.getShape().drop_back());
  Type elem = qt.getElementType();
  Value acc = r.constant(accType, r.b.getFloatAttr(elem, 0.0));
  Value lse = r.constant(lseType, r.b.getFloatAttr(elem, -std::numeric_limits<double>::infinity()));
  StringRef what = backward ? "recomputed" : "forward";
  for (int64_t i = 0; i < r.n; ++i) {
    if (i > 0)
      blk = shifted(r, blk, i, what);
    auto step = AttentionBlockOp::create(r.b, r.loc, accType, lseType, q, blk.key, blk.value, acc,
                                         lse, qPos, blk.positions, blk.mask, scale);
    acc = step.getResult();
    lse = step.getResultLse();
  }
  return {acc, lse};
}

/// The ring's output with NaN rows where no key was kept anywhere (lse
/// still -inf), as pz.attention gives (the softmax of a row of -inf).
Value nanWhereNoKey(Ring &r, Value acc, Value lse) {
  auto lt = llvm::cast<RankedTensorType>(lse.getType());
  Type elem = lt.getElementType();
  auto scalar = RankedTensorType::get({}, elem);
  Value none = CompareOp::create(
                   r.b, r.loc, ComparePredicateAttr::get(r.b.getContext(), ComparePredicate::eq),
                   lse, r.constant(scalar, r.b.getFloatAttr(elem, -std::numeric_limits<double>::infinity())))
                   .getResult();
  SmallVector<int64_t> column(lt.getShape());
  column.push_back(1);
  auto colType = RankedTensorType::get(column, r.b.getI1Type());
  none = ReshapeOp::create(r.b, r.loc, colType, none, r.b.getDenseI64ArrayAttr(column)).getResult();
  Value nan = r.constant(scalar, r.b.getFloatAttr(elem, std::numeric_limits<double>::quiet_NaN()));
  return WhereOp::create(r.b, r.loc, none, nan, acc).getResult();
}

} // namespace

LogicalResult mlir::pz::sharding::partitionRingAttention(
    Operation *op, ArrayRef<Value> partitionedOperands, GridOp grid, GridAxis axis,
    IRMapping &partitionMap, OpBuilder &builder) {
  auto fwd = llvm::dyn_cast<AttentionOp>(op);
  auto grad = llvm::dyn_cast<AttentionGradOp>(op);
  auto local = [&](Value v) -> Value {
    if (!v)
      return v;
    auto it = llvm::find(op->getOperands(), v);
    return partitionedOperands[it - op->getOperands().begin()];
  };
  Value query = fwd ? fwd.getQuery() : grad.getQuery(), key = fwd ? fwd.getKey() : grad.getKey(),
        value = fwd ? fwd.getValue() : grad.getValue(), mask = fwd ? fwd.getMask() : grad.getMask();
  bool causal = fwd ? fwd.getCausal() : grad.getCausal();
  FloatAttr scale = fwd ? fwd.getScaleAttr() : grad.getScaleAttr();
  Ring r{builder, op->getLoc(), op, grid, axis, grid.getShape()[axis]};
  Value qPos, kPos;
  if (causal) {
    qPos = r.positions(rankedType(query).getDimSize(2));
    kPos = r.positions(rankedType(key).getDimSize(2));
  }
  KvBlock first{local(key), local(value), kPos, local(mask)};
  Value q = local(query);
  if (fwd) {
    auto [acc, lse] = forwardRing(r, q, first, qPos, scale, false);
    partitionMap.map(fwd.getResult(), nanWhereNoKey(r, acc, lse));
    return success();
  }
  // The forward ring's output and log-sum-exp: of the attention with the
  // same operands, partitioned before this gradient.
  Value out, lse;
  SmallVector<AttentionOp> readers;
  for (Operation &other : *op->getBlock())
    if (auto f = llvm::dyn_cast<AttentionOp>(other); f && unannotated(f.getQuery()) ==
                                                             unannotated(query))
      readers.push_back(f);
  auto same = [](Value a, Value b) { return (a ? unannotated(a) : a) == (b ? unannotated(b) : b); };
  for (AttentionOp f : readers) {
    if (!same(f.getKey(), key) || !same(f.getValue(), value) ||
        !same(f.getMask(), mask) || f.getCausal() != causal || f.getScaleAttr() != scale)
      continue;
    auto where = partitionMap.lookupOrNull(f.getResult()).getDefiningOp<WhereOp>();
    Value ring = where ? where->getOperand(2) : Value();
    if (auto last = ring ? ring.getDefiningOp<AttentionBlockOp>() : AttentionBlockOp())
      std::tie(out, lse) = std::make_pair(last.getResult(), last.getResultLse());
  }
  if (!out)
    std::tie(out, lse) = forwardRing(r, q, first, qPos, scale, true);
  Value g = local(grad.getGrad()), dq, dk, dv;
  KvBlock blk = first;
  for (int64_t i = 0; i < r.n; ++i) {
    if (i > 0) {
      blk = shifted(r, blk, i, "backward");
      dk = r.shift(dk, "cp.ring_kv_grad_shift", i, r.n, "backward");
      dv = r.shift(dv, "cp.ring_kv_grad_shift", i, r.n, "backward");
    }
    auto step = AttentionBlockGradOp::create(
        builder, r.loc, q.getType(), blk.key.getType(), blk.value.getType(), g, q, blk.key,
        blk.value, out, lse, qPos, blk.positions, blk.mask, scale);
    auto add = [&](Value sum, Value part) {
      return sum ? AddOp::create(builder, r.loc, sum, part).getResult() : part;
    };
    dq = add(dq, step.getGradQuery());
    dk = add(dk, step.getGradKey());
    dv = add(dv, step.getGradValue());
  }
  // After n - 1 steps each rank holds the sums of the block after its own;
  // one more shift brings every block's home.
  partitionMap.map(grad.getGradQuery(), dq);
  partitionMap.map(grad.getGradKey(), r.shift(dk, "cp.ring_kv_grad_shift", r.n, r.n, "backward"));
  partitionMap.map(grad.getGradValue(), r.shift(dv, "cp.ring_kv_grad_shift", r.n, r.n, "backward"));
  return success();
}
