//===- FuseElementwise.cpp - element-map chains into pz.fused loops -------===//

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::pz {
#define GEN_PASS_DEF_FUSEELEMENTWISEPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-fuse-elementwise"

using namespace mlir;
using namespace mlir::pz;

namespace {

/// An op the fused loop can compute: an element map with one statically
/// shaped result.
bool isFusible(Operation *op) {
  if (!op->hasTrait<traits::ElementMap>() || op->getNumResults() != 1)
    return false;
  auto t = llvm::dyn_cast<RankedTensorType>(op->getResult(0).getType());
  return t && t.hasStaticShape();
}

ArrayRef<int64_t> domainOf(Operation *op) {
  return llvm::cast<RankedTensorType>(op->getResult(0).getType()).getShape();
}

struct Group {
  SmallVector<Operation *> ops; // in block order; the last is where it goes
  llvm::SmallPtrSet<Operation *, 8> members;
};

/// Whether `op` may join `g`: no group value is read, outside the group, by
/// an op before `op` (the fused op will sit where `op` is).
bool canJoin(const Group &g, Operation *op) {
  for (Operation *m : g.ops)
    for (Operation *user : m->getResult(0).getUsers())
      if (user != op && !g.members.contains(user) && user->isBeforeInBlock(op))
        return false;
  return true;
}

/// Replaces the group's ops by one pz.fused op at the place of its last op.
void buildFused(const Group &g) {
  Operation *last = g.ops.back();
  llvm::SetVector<Value> inputs;
  SmallVector<Value> outputs;
  for (Operation *m : g.ops) {
    for (Value v : m->getOperands()) {
      Operation *def = v.getDefiningOp();
      if (!def || !g.members.contains(def))
        inputs.insert(v);
    }
    Value r = m->getResult(0);
    if (llvm::any_of(r.getUsers(), [&](Operation *u) { return !g.members.contains(u); }))
      outputs.push_back(r);
  }
  OpBuilder b(last);
  auto fused = FusedOp::create(b, last->getLoc(), ValueRange(outputs).getTypes(),
                               inputs.getArrayRef());
  Block *body = b.createBlock(&fused.getBody());
  IRMapping map;
  for (Value in : inputs)
    map.map(in, body->addArgument(in.getType(), in.getLoc()));
  for (Operation *m : g.ops)
    b.clone(*m, map);
  SmallVector<Value> yielded;
  for (Value v : outputs)
    yielded.push_back(map.lookup(v));
  YieldOp::create(b, last->getLoc(), yielded);
  for (auto [v, r] : llvm::zip(outputs, fused.getResults()))
    v.replaceUsesWithIf(r, [&](OpOperand &u) { return !g.members.contains(u.getOwner()); });
  for (Operation *m : llvm::reverse(g.ops))
    m->erase();
}

void fuseBlock(Block &block) {
  std::vector<Group> groups;
  llvm::DenseMap<Operation *, size_t> groupOf;
  for (Operation &op : block) {
    if (!isFusible(&op))
      continue;
    // The most recent group among the producers with this op's shape.
    std::optional<size_t> best;
    for (Value v : op.getOperands()) {
      Operation *def = v.getDefiningOp();
      auto it = def ? groupOf.find(def) : groupOf.end();
      if (it == groupOf.end() || domainOf(def) != domainOf(&op))
        continue;
      if (!best || groups[*best].ops.back()->isBeforeInBlock(groups[it->second].ops.back()))
        best = it->second;
    }
    if (!best || !canJoin(groups[*best], &op)) {
      best = groups.size();
      groups.emplace_back();
    }
    groups[*best].ops.push_back(&op);
    groups[*best].members.insert(&op);
    groupOf[&op] = *best;
  }
  for (const Group &g : groups)
    if (g.ops.size() > 1)
      buildFused(g);
}

struct FuseElementwisePass
    : public mlir::pz::impl::FuseElementwisePassBase<FuseElementwisePass> {
  using Base::Base;

  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>())
      if (!fn.isExternal())
        for (Block &block : fn.getBody())
          fuseBlock(block);
  }
};

} // namespace
