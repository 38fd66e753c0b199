//===- PartitionCleanup.cpp - after shard-partition, before lowering ------===//
//
// PartitionCleanup.h. Each rewrite keeps the function's meaning: it only
// changes which collectives compute it.
//
//===----------------------------------------------------------------------===//

#include "PartitionCleanup.h"
#include "ZeroUtils.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <functional>

using namespace mlir;
using namespace mlir::pz;

namespace {

constexpr StringLiteral kComm = "pz.comm";

RankedTensorType permuted(RankedTensorType t, ArrayRef<int64_t> perm) {
  SmallVector<int64_t> shape;
  for (int64_t d : perm)
    shape.push_back(t.getDimSize(d));
  return t.clone(shape);
}

/// The permutation that brings dim k first, and its inverse.
std::pair<SmallVector<int64_t>, SmallVector<int64_t>> dimFirst(int64_t k, int64_t rank) {
  SmallVector<int64_t> perm = {k}, inverse(rank);
  for (int64_t d = 0; d < rank; ++d)
    if (d != k)
      perm.push_back(d);
  for (auto [i, d] : llvm::enumerate(perm))
    inverse[d] = static_cast<int64_t>(i);
  return {perm, inverse};
}

Value transposed(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> perm) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  return TransposeOp::create(b, loc, permuted(t, perm), v, b.getDenseI64ArrayAttr(perm))
      .getResult();
}

/// Whether two collectives compute the same thing of (possibly different)
/// inputs: one kind, grid, axes, reduction and dim.
bool sameCollective(Operation *a, Operation *b) {
  if (a->getName() != b->getName() || a->getResultTypes() != b->getResultTypes())
    return false;
  for (StringRef attr : {"grid", "grid_axes", "reduction", "scatter_axis", "gather_axis",
                         "slice_axis"})
    if (a->getAttr(attr) != b->getAttr(attr))
      return false;
  return true;
}

/// The reason `r` with its kind's leading "tp." replaced by "sp.".
pzrt::ReasonAttr sequenceReason(pzrt::ReasonAttr r) {
  if (!r || !r.getKind().starts_with("tp."))
    return r;
  return pzrt::ReasonAttr::get(r.getContext(), ("sp." + r.getKind().drop_front(3)).str(),
                               r.getSource());
}

} // namespace

LogicalResult pz::verifyPartitioned(func::FuncOp fn, StringRef pass) {
  WalkResult r = fn.walk([&](Operation *op) {
    if (auto c = llvm::dyn_cast<tensor::CastOp>(op)) {
      op->emitError() << pass << ": shard-partition left a cast from " << c.getSource().getType()
                      << " to " << c.getType()
                      << ", a reshard it cannot do (LLVM 22's reshards of several axes or of a "
                         "dim the axes do not divide are wrong); the plan cannot split this value";
      return WalkResult::interrupt();
    }
    if (op->getDialect() && op->getDialect()->getNamespace() == "shard" &&
        !llvm::isa<shard::GridOp, shard::AllReduceOp, shard::AllGatherOp,
                   shard::ReduceScatterOp, shard::AllSliceOp, shard::ShiftOp>(op)) {
      op->emitError() << pass << ": shard-partition left '" << op->getName()
                      << "', which the program cannot run";
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

void pz::removeIdentityCasts(func::FuncOp fn) {
  fn.walk([](tensor::CastOp c) {
    if (c.getSource().getType() == c.getType()) {
      c.replaceAllUsesWith(c.getSource());
      c.erase();
    }
  });
}

void pz::scatterPartialSums(func::FuncOp fn) {
  SmallVector<shard::AllReduceOp> sums;
  fn.walk([&](shard::AllReduceOp r) {
    if (r.getReduction() == shard::ReductionKind::Sum && !r->use_empty())
      sums.push_back(r);
  });
  for (shard::AllReduceOp r : sums) {
    SmallVector<shard::AllSliceOp> slices;
    for (Operation *user : r->getUsers()) {
      auto s = llvm::dyn_cast<shard::AllSliceOp>(user);
      if (!s || s.getGridAttr() != r.getGridAttr() || s.getGridAxes() != r.getGridAxes() ||
          (!slices.empty() && !sameCollective(s, slices.front())))
        break;
      slices.push_back(s);
    }
    if (slices.empty() || slices.size() != static_cast<size_t>(llvm::range_size(r->getUsers())))
      continue;
    OpBuilder b(r);
    auto scatter = shard::ReduceScatterOp::create(
        b, r.getLoc(), slices.front().getType(), r.getGridAttr(), r.getGridAxesAttr(),
        r.getInput(), r.getReductionAttr(), slices.front().getSliceAxisAttr());
    if (auto reason = r->getAttrOfType<pzrt::ReasonAttr>(kComm))
      scatter->setAttr(kComm, sequenceReason(reason));
    for (shard::AllSliceOp s : slices) {
      s.replaceAllUsesWith(scatter.getResult());
      s.erase();
    }
    r.erase();
  }
}

void pz::sinkAllReduces(func::FuncOp fn) {
  SmallVector<shard::AllReduceOp> sums;
  fn.walk([&](shard::AllReduceOp r) {
    if (r.getReduction() == shard::ReductionKind::Sum)
      sums.push_back(r);
  });
  for (shard::AllReduceOp r : sums) {
    while (r->hasOneUse() && llvm::isa<ReduceSumOp, ReshapeOp>(*r->user_begin()) &&
           r->user_begin()->getOperand(0) == r.getResult()) {
      Operation *user = *r->user_begin();
      OpBuilder b(user);
      Operation *local = b.clone(*user);
      local->setOperand(0, r.getInput());
      Operation *moved = b.clone(*r);
      moved->setOperand(0, local->getResult(0));
      moved->getResult(0).setType(local->getResult(0).getType());
      user->replaceAllUsesWith(moved);
      user->erase();
      r.erase();
      r = llvm::cast<shard::AllReduceOp>(moved);
    }
  }
}

void pz::combinePartialSums(func::FuncOp fn) {
  auto sameType = [](AddOp a) {
    return a.getLhs().getType() == a.getType() && a.getRhs().getType() == a.getType();
  };
  auto inner = [&](Value v, Type t) {
    auto a = v.getDefiningOp<AddOp>();
    return a && a->hasOneUse() && a.getType() == t && sameType(a) ? a : AddOp();
  };
  SmallVector<AddOp> roots;
  fn.walk([&](AddOp a) {
    if (!sameType(a))
      return;
    bool absorbed = a->hasOneUse() && llvm::isa<AddOp>(*a->user_begin()) &&
                    inner(a.getResult(), a.getType());
    if (!absorbed || !sameType(llvm::cast<AddOp>(*a->user_begin())) ||
        llvm::cast<AddOp>(*a->user_begin()).getType() != a.getType())
      roots.push_back(a);
  });
  auto isSum = [](Operation *op) {
    if (auto r = llvm::dyn_cast_or_null<shard::AllReduceOp>(op))
      return r.getReduction() == shard::ReductionKind::Sum;
    if (auto r = llvm::dyn_cast_or_null<shard::ReduceScatterOp>(op))
      return r.getReduction() == shard::ReductionKind::Sum;
    return false;
  };
  for (AddOp root : roots) {
    SmallVector<Value> leaves;
    SmallVector<Operation *> tree;
    std::function<void(Value)> collect = [&](Value v) {
      if (AddOp a = inner(v, root.getType()); a && a != root) {
        tree.push_back(a);
        collect(a.getLhs());
        collect(a.getRhs());
        return;
      }
      leaves.push_back(v);
    };
    collect(root.getLhs());
    collect(root.getRhs());
    SmallVector<Operation *> sums;
    SmallVector<Value> rest;
    for (Value v : leaves) {
      Operation *r = v.getDefiningOp();
      bool fits = isSum(r) && r->hasOneUse() && r->getResult(0).getType() == root.getType() &&
                  (sums.empty() || sameCollective(r, sums[0]));
      if (fits)
        sums.push_back(r);
      else
        rest.push_back(v);
    }
    if (sums.size() < 2)
      continue;
    OpBuilder b(root);
    Location loc = root.getLoc();
    Value partial = sums[0]->getOperand(0);
    std::string source;
    for (auto [i, r] : llvm::enumerate(sums)) {
      if (i)
        partial = AddOp::create(b, loc, partial.getType(), partial, r->getOperand(0)).getResult();
      if (auto reason = r->getAttrOfType<pzrt::ReasonAttr>(kComm))
        if (!llvm::is_contained(llvm::split(source, " + "), reason.getSource()))
          source += (source.empty() ? "" : " + ") + reason.getSource().str();
    }
    Operation *all = b.clone(*sums[0]);
    all->setLoc(loc);
    all->setOperand(0, partial);
    if (auto reason = sums[0]->getAttrOfType<pzrt::ReasonAttr>(kComm))
      all->setAttr(kComm, pzrt::ReasonAttr::get(fn.getContext(), reason.getKind(), source));
    Value total;
    for (Value v : rest)
      total = total ? AddOp::create(b, loc, root.getType(), total, v).getResult() : v;
    Value communicated = all->getResult(0);
    total = total ? AddOp::create(b, loc, root.getType(), total, communicated).getResult()
                  : communicated;
    root.replaceAllUsesWith(total);
    root.erase();
    for (Operation *op : tree)
      op->erase();
    for (Operation *r : sums)
      r->erase();
  }
}

void pz::mergeIdenticalCollectives(func::FuncOp fn) {
  SmallVector<Operation *> ops;
  fn.walk([&](Operation *op) {
    if (llvm::isa<shard::AllGatherOp, shard::AllSliceOp>(op))
      ops.push_back(op);
  });
  // In one block, in program order: the first of each kind of a value
  // dominates the others.
  for (Operation *op : ops) {
    for (Operation *user : llvm::make_early_inc_range(op->getOperand(0).getUsers())) {
      if (user == op || user->getBlock() != op->getBlock() || !user->isBeforeInBlock(op) ||
          !sameCollective(user, op))
        continue;
      op->replaceAllUsesWith(user);
      op->erase();
      break;
    }
  }
}

void pz::regatherAfter(func::FuncOp fn, Operation *boundary) {
  if (!boundary)
    return;
  SmallVector<shard::AllGatherOp> gathers;
  fn.walk([&](shard::AllGatherOp g) {
    if (g->getBlock() == boundary->getBlock() && g->isBeforeInBlock(boundary))
      gathers.push_back(g);
  });
  for (shard::AllGatherOp g : gathers) {
    SmallVector<OpOperand *> later;
    for (OpOperand &use : g->getUses())
      if (Operation *user = use.getOwner();
          user->getBlock() == boundary->getBlock() && boundary->isBeforeInBlock(user))
        later.push_back(&use);
    if (later.empty())
      continue;
    Operation *first = later.front()->getOwner();
    for (OpOperand *use : later)
      if (use->getOwner()->isBeforeInBlock(first))
        first = use->getOwner();
    OpBuilder b(first);
    Operation *again = b.clone(*g);
    for (OpOperand *use : later)
      use->set(again->getResult(0));
  }
}

void pz::lowerAllSlices(func::FuncOp fn) {
  SmallVector<shard::AllSliceOp> slices;
  fn.walk([&](shard::AllSliceOp s) { slices.push_back(s); });
  for (shard::AllSliceOp s : slices) {
    auto grid = SymbolTable::lookupNearestSymbolFrom<shard::GridOp>(s, s.getGridAttr());
    int64_t chunks = 1;
    for (shard::GridAxis a : s.getGridAxes())
      chunks *= grid.getShape()[a];
    auto in = llvm::cast<RankedTensorType>(s.getInput().getType());
    auto out = llvm::cast<RankedTensorType>(s.getType());
    int64_t k = s.getSliceAxis().getSExtValue();
    auto [perm, inverse] = dimFirst(k, in.getRank());
    OpBuilder b(s);
    Location loc = s.getLoc();
    Value v = k ? transposed(b, loc, s.getInput(), perm) : s.getInput();
    v = zero::flatten(b, loc, v, in.getNumElements());
    auto chunk = RankedTensorType::get({out.getNumElements()}, in.getElementType());
    v = ShardChunkOp::create(b, loc, chunk, v, s.getGridAttr(), s.getGridAxesAttr(),
                             b.getI64IntegerAttr(chunks))
            .getResult();
    RankedTensorType block = permuted(out, perm);
    v = ReshapeOp::create(b, loc, block, v, b.getDenseI64ArrayAttr(block.getShape())).getResult();
    if (k)
      v = transposed(b, loc, v, inverse);
    s.replaceAllUsesWith(v);
    s.erase();
  }
}

void pz::collectivesAlongDimZero(func::FuncOp fn) {
  SmallVector<Operation *> ops;
  fn.walk([&](Operation *op) {
    if (auto g = llvm::dyn_cast<shard::AllGatherOp>(op); g && g.getGatherAxis().getSExtValue())
      ops.push_back(op);
    if (auto r = llvm::dyn_cast<shard::ReduceScatterOp>(op);
        r && r.getScatterAxis().getSExtValue())
      ops.push_back(op);
  });
  for (Operation *op : ops) {
    StringRef axisName = llvm::isa<shard::AllGatherOp>(op) ? "gather_axis" : "scatter_axis";
    int64_t k = llvm::cast<IntegerAttr>(op->getAttr(axisName)).getInt();
    auto in = llvm::cast<RankedTensorType>(op->getOperand(0).getType());
    auto out = llvm::cast<RankedTensorType>(op->getResult(0).getType());
    auto [perm, inverse] = dimFirst(k, in.getRank());
    OpBuilder b(op);
    Value front = transposed(b, op->getLoc(), op->getOperand(0), perm);
    Operation *moved = b.clone(*op);
    moved->setOperand(0, front);
    moved->getResult(0).setType(permuted(out, perm));
    moved->setAttr(axisName, b.getIndexAttr(0));
    Value back = transposed(b, op->getLoc(), moved->getResult(0), inverse);
    op->getResult(0).replaceAllUsesWith(back);
    op->erase();
  }
}
