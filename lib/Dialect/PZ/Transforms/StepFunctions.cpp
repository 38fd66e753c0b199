//===- StepFunctions.cpp - the forward part of a step function ------------===//

#include "StepFunctions.h"

#include "pz/Dialect/PZ/IR/PZDialect.h"

using namespace mlir;
using namespace mlir::pz;

bool mlir::pz::isForwardResult(func::FuncOp fn, unsigned i) {
  auto pipe = fn.getResultAttrOfType<StringAttr>(i, PZDialect::kPipeAttrName);
  return (pipe && pipe.getValue() == "activation") ||
         fn.getResultAttr(i, PZDialect::kOutputAttrName);
}

bool mlir::pz::isDataInput(func::FuncOp fn, unsigned i) {
  return fn.getArgAttr(i, PZDialect::kInputAttrName) && !fn.getArgAttr(i, PZDialect::kRoleAttrName);
}

llvm::DenseSet<Operation *> mlir::pz::opsNeededBy(func::FuncOp fn, ArrayRef<unsigned> results) {
  llvm::DenseSet<Operation *> needed;
  Operation *ret = fn.getBody().front().getTerminator();
  SmallVector<Value> work;
  for (unsigned i : results)
    work.push_back(ret->getOperand(i));
  while (!work.empty()) {
    Operation *op = work.pop_back_val().getDefiningOp();
    if (op && needed.insert(op).second)
      work.append(op->operand_begin(), op->operand_end());
  }
  return needed;
}

llvm::DenseSet<Operation *> mlir::pz::forwardOps(func::FuncOp fn) {
  SmallVector<unsigned> results;
  for (unsigned i = 0; i < fn.getNumResults(); ++i)
    if (isForwardResult(fn, i))
      results.push_back(i);
  return opsNeededBy(fn, results);
}

std::map<size_t, Value> mlir::pz::aloneLive(func::FuncOp fn, ArrayRef<Operation *> ops,
                                            Value liveOut, llvm::DenseSet<Value> *activations) {
  enum : uint8_t { kParams = 1, kData = 2 };
  llvm::DenseMap<Value, uint8_t> origin;
  for (BlockArgument a : fn.getArguments()) {
    unsigned i = a.getArgNumber();
    if (fn.getArgAttr(i, PZDialect::kParamAttrName))
      origin[a] = kParams;
    else if (fn.getArgAttr(i, PZDialect::kPipeAttrName))
      origin[a] = kParams | kData; // a pipeline stage's activation input
    else if (isDataInput(fn, i))
      origin[a] = kData;
  }
  llvm::DenseMap<Operation *, size_t> index;
  for (auto [i, op] : llvm::enumerate(ops)) {
    index[op] = i;
    uint8_t o = 0;
    for (Value v : op->getOperands())
      o |= origin.lookup(v);
    for (Value r : op->getResults())
      origin[r] = o;
  }
  size_t n = ops.size();
  SmallVector<int> live(n + 1, 0);
  SmallVector<Value> only(n + 1);
  Block &body = fn.getBody().front();
  auto span = [&](Value r, size_t first) {
    if (origin.lookup(r) != (kParams | kData))
      return;
    if (activations)
      activations->insert(r);
    size_t last = r == liveOut ? n : 0;
    for (Operation *user : r.getUsers())
      if (Operation *top = body.findAncestorOpInBlock(*user); top && index.count(top))
        last = std::max(last, index.lookup(top));
    for (size_t c = first; c <= last; ++c) {
      ++live[c];
      only[c] = r;
    }
  };
  for (BlockArgument a : fn.getArguments())
    span(a, 0);
  for (auto [i, op] : llvm::enumerate(ops))
    for (Value r : op->getResults())
      span(r, i + 1);
  std::map<size_t, Value> cuts;
  for (size_t c = 1; c < n; ++c)
    if (live[c] == 1 && only[c] != liveOut)
      cuts[c] = only[c];
  return cuts;
}
