//===- StageMemory.cpp - what a pipeline stage holds, estimated -----------===//

#include "StageMemory.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Plan/PipelineSchedule.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::pz;

static double bytesOf(Value v) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  if (!t || !t.hasStaticShape())
    return 0.0;
  Type e = t.getElementType();
  double width = e.isIntOrFloat() ? std::max<unsigned>(e.getIntOrFloatBitWidth(), 8) / 8 : 0;
  return width * static_cast<double>(t.getNumElements());
}

/// The ops that compute an activation from `v`, looking through the ops
/// that compute from the parameters alone (casts to the compute type, a
/// weight's transpose): each stage that reads those clones them.
static void readers(Value v, const llvm::DenseSet<Value> &activations,
                    SmallVectorImpl<Operation *> &out) {
  for (Operation *user : v.getUsers()) {
    bool computesActivation = user->getNumResults() == 0;
    for (Value r : user->getResults())
      computesActivation |= activations.contains(r);
    if (computesActivation) {
      out.push_back(user);
      continue;
    }
    for (Value r : user->getResults())
      readers(r, activations, out);
  }
}

StageMemory::StageMemory(func::FuncOp fn, ArrayRef<Operation *> ops,
                         const llvm::DenseMap<Operation *, size_t> &index,
                         const llvm::DenseSet<Value> &activations, const Plan &plan,
                         int64_t optimizerStates)
    : plan(plan) {
  for (BlockArgument a : fn.getArguments()) {
    if (!fn.getArgAttr(a.getArgNumber(), PZDialect::kParamAttrName))
      continue;
    SmallVector<Operation *> users;
    readers(a, activations, users);
    std::vector<size_t> at;
    for (Operation *u : users)
      if (auto it = index.find(u); it != index.end())
        at.push_back(it->second);
    llvm::sort(at);
    params.push_back({bytesOf(a), std::move(at)});
  }
  // An activation is kept for the backward pass when an op whose gradient
  // reads its operands reads it: not sums, negation, views, slices and
  // concatenations, casts and broadcasts (their gradients need no operand).
  auto keepsOperands = [](Operation *user) {
    return !llvm::isa<AddOp, SubOp, NegOp, ReshapeOp, TransposeOp, SliceOp, ConcatOp, CastOp,
                      BroadcastOp, ReduceSumOp, ReduceMeanOp, func::ReturnOp>(user);
  };
  prefixActivations.push_back(0);
  for (Operation *op : ops) {
    double b = 0;
    for (Value r : op->getResults())
      if (activations.contains(r) && llvm::any_of(r.getUsers(), keepsOperands))
        b += bytesOf(r);
    prefixActivations.push_back(prefixActivations.back() + b);
  }
  // ZeRO shards the optimizer states (1), then the gradients (2), then the
  // parameters (3) over dp_shard.
  const double shard = static_cast<double>(std::max<int64_t>(plan.dpShard, 1));
  auto by = [&](int64_t stage) { return plan.zero >= stage ? 1.0 / shard : 1.0; };
  perParameterByte = by(3) + by(2) * (plan.gradAccum > 1 ? 2.0 : 1.0) +
                     by(1) * static_cast<double>(optimizerStates);
}

double StageMemory::parameterBytes(size_t begin, size_t end) const {
  double sum = 0;
  for (const auto &[bytes, at] : params) {
    auto it = std::lower_bound(at.begin(), at.end(), begin);
    if (it != at.end() && *it < end)
      sum += bytes;
  }
  return sum * perParameterByte;
}

double StageMemory::activationBytes(size_t begin, size_t end) const {
  return prefixActivations[end] - prefixActivations[begin];
}

std::pair<int64_t, int64_t> StageMemory::inFlight(int64_t stage) const {
  std::vector<StageAction> table = pipelineSchedule(
      plan.schedule, plan.pp, stage, std::max<int64_t>(plan.gradAccum, 1));
  return {pz::inFlight(table), weightInFlight(table)};
}

double StageMemory::estimate(size_t begin, size_t end, int64_t stage) const {
  // The step's working memory (the arena of one forward and backward) is
  // about half a micro-batch's kept activations: 0.36-0.49 of them in the
  // memory plans of GPT-2 and Llama (docs/design/0016). A zb stage's weight
  // slots keep W's inputs, about as much again per slot.
  auto [slots, weightSlots] = inFlight(stage);
  return parameterBytes(begin, end) +
         activationBytes(begin, end) * (static_cast<double>(slots + weightSlots) + 0.5);
}
