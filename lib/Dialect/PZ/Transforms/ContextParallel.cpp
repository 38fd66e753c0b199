//===- ContextParallel.cpp - cp's rewrites around the tp walk -------------===//
//
// See ContextParallel.h and docs/design/0015-context-parallel.md.
//
//===----------------------------------------------------------------------===//

#include "ContextParallel.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Sharding/SplitRules.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pz;

SmallVector<int64_t> pz::zigzagOrder(int64_t seq, int64_t n) {
  int64_t h = seq / (2 * n);
  SmallVector<int64_t> order;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c : {r, 2 * n - 1 - r})
      for (int64_t i = 0; i < h; ++i)
        order.push_back(c * h + i);
  return order;
}

LogicalResult pz::makeCausalMasksExplicit(func::FuncOp fn, StringRef pass) {
  llvm::DenseMap<std::pair<int64_t, int64_t>, Value> masks;
  auto maskFor = [&](Operation *op, int64_t sq, int64_t sk) {
    Value &m = masks[{sq, sk}];
    if (m)
      return m;
    OpBuilder b(fn.getBody());
    auto t = RankedTensorType::get({sq, sk}, b.getI1Type());
    SmallVector<bool> keep;
    for (int64_t i = 0; i < sq; ++i)
      for (int64_t j = 0; j < sk; ++j)
        keep.push_back(j <= i);
    m = ConstantOp::create(b, op->getLoc(), t, DenseElementsAttr::get(t, keep)).getResult();
    return m;
  };
  auto rewrite = [&](auto a) -> LogicalResult {
    if (!a.getCausal() || a->hasAttr(sharding::kRingAttrName))
      return success();
    if (a.getMask())
      return a.emitError() << pass << ": causal attention with a mask under cp (plan key 'cp') "
                                      "is not built";
    auto q = llvm::cast<RankedTensorType>(a.getQuery().getType());
    auto k = llvm::cast<RankedTensorType>(a.getKey().getType());
    a.getMaskMutable().assign(maskFor(a, q.getDimSize(2), k.getDimSize(2)));
    a.setCausal(false);
    return success();
  };
  WalkResult r = fn.walk([&](Operation *op) {
    LogicalResult ok = success();
    if (auto a = llvm::dyn_cast<AttentionOp>(op))
      ok = rewrite(a);
    else if (auto g = llvm::dyn_cast<AttentionGradOp>(op))
      ok = rewrite(g);
    return failed(ok) ? WalkResult::interrupt() : WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

namespace {
/// `v`'s producer when it is a reshape of a value of `shape`.
Value unflattened(Value v, ArrayRef<int64_t> shape) {
  auto r = v.getDefiningOp<ReshapeOp>();
  if (!r)
    return {};
  auto t = llvm::cast<RankedTensorType>(r.getInput().getType());
  return t.getShape() == shape ? r.getInput() : Value();
}

/// The unflattened logits and labels of a loss over flattened ones.
std::pair<Value, Value> lossInputs(Value logits, Value labels) {
  auto r = logits.getDefiningOp<ReshapeOp>();
  if (!r)
    return {};
  auto t = llvm::cast<RankedTensorType>(r.getInput().getType());
  auto flat = llvm::cast<RankedTensorType>(logits.getType());
  if (t.getRank() <= flat.getRank() || t.getShape().back() != flat.getShape().back())
    return {};
  Value l = unflattened(labels, t.getShape().drop_back());
  return l ? std::make_pair(r.getInput(), l) : std::pair<Value, Value>();
}
} // namespace

void pz::foldLossReshapes(func::FuncOp fn) {
  fn.walk([&](CrossEntropyOp ce) {
    auto [logits, labels] = lossInputs(ce.getLogits(), ce.getLabels());
    if (!logits || ce.getReduction() == Reduction::none)
      return;
    ce.getLogitsMutable().assign(logits);
    ce.getLabelsMutable().assign(labels);
  });
  fn.walk([&](CrossEntropyGradOp g) {
    auto [logits, labels] = lossInputs(g.getLogits(), g.getLabels());
    if (!logits || g.getReduction() == Reduction::none)
      return;
    OpBuilder b(g);
    auto flat = llvm::cast<RankedTensorType>(g.getType());
    auto unflat = CrossEntropyGradOp::create(b, g.getLoc(), logits.getType(), g.getGrad(),
                                             logits, labels, g.getReduction(),
                                             g.getIgnoreIndex());
    // (pz.valid_classes: a padded vocabulary's mask)
    unflat->setDiscardableAttrs(g->getDiscardableAttrDictionary());
    Value whole = unflat.getResult();
    Value back = ReshapeOp::create(b, g.getLoc(), flat, whole,
                                   b.getDenseI64ArrayAttr(flat.getShape()))
                     .getResult();
    g.replaceAllUsesWith(back);
    g.erase();
  });
  // reshape(reshape(x)) is one reshape of x, or x.
  SmallVector<ReshapeOp> reshapes;
  fn.walk([&](ReshapeOp r) { reshapes.push_back(r); });
  for (ReshapeOp r : reshapes) {
    auto inner = r.getInput().getDefiningOp<ReshapeOp>();
    if (!inner)
      continue;
    if (inner.getInput().getType() == r.getType()) {
      r.replaceAllUsesWith(inner.getInput());
      r.erase();
    } else {
      r.getInputMutable().assign(inner.getInput());
    }
    if (inner->use_empty())
      inner.erase();
  }
  // The flattened logits and labels nothing reads any more.
  SmallVector<ReshapeOp> dead;
  fn.walk([&](ReshapeOp r) {
    if (r->use_empty())
      dead.push_back(r);
  });
  for (ReshapeOp r : dead)
    r.erase();
}

namespace {
/// `v` permuted along `dim` by `order` (result element i is input element
/// order[i]).
Value permute(OpBuilder &b, Location loc, Value v, int64_t dim, ArrayRef<int64_t> order) {
  auto t = RankedTensorType::get({static_cast<int64_t>(order.size())}, b.getI64Type());
  Value idx = ConstantOp::create(b, loc, t, DenseElementsAttr::get(t, order)).getResult();
  return pz::GatherOp::create(b, loc, v.getType(), v, idx, b.getI64IntegerAttr(dim)).getResult();
}
} // namespace

LogicalResult pz::zigzagSequence(func::FuncOp fn, int16_t axis, int64_t n, int64_t seq,
                                 StringRef pass) {
  SmallVector<int64_t> order = zigzagOrder(seq, n), inverse(order.size());
  for (auto [i, p] : llvm::enumerate(order))
    inverse[p] = static_cast<int64_t>(i);
  SmallVector<Operation *> ops;
  fn.walk([&](Operation *op) {
    if (llvm::isa<shard::AllSliceOp, shard::AllGatherOp, shard::ReduceScatterOp,
                  shard::AllToAllOp>(op))
      ops.push_back(op);
  });
  for (Operation *op : ops) {
    ArrayRef<int16_t> axes = llvm::cast<DenseI16ArrayAttr>(op->getAttr("grid_axes")).asArrayRef();
    if (!llvm::is_contained(axes, axis))
      continue;
    if (axes.size() != 1 || llvm::isa<shard::AllToAllOp>(op))
      return op->emitError() << pass << ": a collective over cp and other axes, or an "
                                        "all-to-all over cp, is not built (plan key 'cp')";
    StringRef dimName = llvm::TypeSwitch<Operation *, StringRef>(op)
                            .Case([](shard::AllSliceOp) { return "slice_axis"; })
                            .Case([](shard::AllGatherOp) { return "gather_axis"; })
                            .Default([](Operation *) { return "scatter_axis"; });
    int64_t d = llvm::cast<IntegerAttr>(op->getAttr(dimName)).getInt();
    bool gather = llvm::isa<shard::AllGatherOp>(op);
    auto whole = llvm::cast<RankedTensorType>((gather ? op->getResult(0) : op->getOperand(0))
                                                  .getType());
    if (whole.getDimSize(d) != seq)
      return op->emitError() << pass << ": a collective over cp along dim " << d << " of "
                             << whole << ", which is not the sequence of " << seq
                             << " tokens (plan key 'cp'; a rule's error)";
    OpBuilder b(op);
    if (!gather) {
      op->setOperand(0, permute(b, op->getLoc(), op->getOperand(0), d, order));
      continue;
    }
    b.setInsertionPointAfter(op);
    Value back = permute(b, op->getLoc(), op->getResult(0), d, inverse);
    op->getResult(0).replaceAllUsesExcept(back, back.getDefiningOp());
  }
  return success();
}
