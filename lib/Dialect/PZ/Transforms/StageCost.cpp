//===- StageCost.cpp - the cost the pipeline split balances ---------------===//

#include "StageCost.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

using namespace mlir;
using namespace mlir::pz;

/// The elements of a tensor, a dynamic dim (the batch, before
/// --input-shape fixes it) counting 1: a factor every op shares.
static double elements(Value v) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  if (!t)
    return 0.0;
  double n = 1;
  for (int64_t d : t.getShape())
    n *= ShapedType::isDynamic(d) ? 1.0 : static_cast<double>(d);
  return n;
}

double mlir::pz::stageCost(Operation *op) {
  if (auto mm = llvm::dyn_cast<MatmulOp>(op)) {
    auto lhs = llvm::cast<RankedTensorType>(mm.getLhs().getType());
    int64_t k = mm.getTransposeLhs() ? lhs.getShape()[lhs.getRank() - 2] : lhs.getShape().back();
    return 3 * 2 * elements(mm.getResult()) * (ShapedType::isDynamic(k) ? 1.0 : double(k));
  }
  if (llvm::isa<AttentionOp, AttentionBlockOp>(op)) {
    // scores and the weighted sum: 2 x 2 s_q s_k d per head and batch row.
    auto k = llvm::cast<RankedTensorType>(op->getOperand(1).getType());
    int64_t skDim = k.getShape()[k.getRank() - 2];
    double sk = ShapedType::isDynamic(skDim) ? 1.0 : static_cast<double>(skDim);
    return 3.5 * 4 * elements(op->getOperand(0)) * sk;
  }
  double n = 0;
  for (Value r : op->getResults())
    n += elements(r);
  return 3 * n;
}
