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

llvm::DenseSet<Operation *> mlir::pz::forwardOps(func::FuncOp fn) {
  llvm::DenseSet<Operation *> forward;
  Operation *ret = fn.getBody().front().getTerminator();
  SmallVector<Value> work;
  for (unsigned i = 0; i < fn.getNumResults(); ++i)
    if (isForwardResult(fn, i))
      work.push_back(ret->getOperand(i));
  while (!work.empty()) {
    Operation *op = work.pop_back_val().getDefiningOp();
    if (op && forward.insert(op).second)
      work.append(op->operand_begin(), op->operand_end());
  }
  return forward;
}
