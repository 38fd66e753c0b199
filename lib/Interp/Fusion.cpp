//===- Fusion.cpp - pz.fused in the interpreter ---------------------------===//
//
// The body runs op by op on whole tensors, as the ops would run unfused;
// the fused op's results are the yielded values.

#include "Kernels.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp::detail;

static LogicalResult evalFused(Operation *op, Env &env) {
  auto fused = llvm::cast<FusedOp>(op);
  Block &body = fused.getBody().front();
  for (auto [arg, in] : llvm::zip(body.getArguments(), fused.getInputs()))
    if (failed(env.define(arg, env.get(in))))
      return failure();
  for (Operation &inner : body.without_terminator())
    if (failed(evalOp(&inner, env)))
      return failure();
  auto yield = llvm::cast<YieldOp>(body.getTerminator());
  for (auto [r, v] : llvm::zip(fused.getResults(), yield.getValues()))
    if (failed(env.define(r, env.get(v))))
      return failure();
  for (Value arg : body.getArguments())
    env.erase(arg);
  for (Operation &inner : body.without_terminator())
    env.erase(inner.getResult(0));
  return success();
}

void mlir::pz::interp::detail::registerFusionKernels(KernelTable &t) {
  add<FusedOp>(t, evalFused);
}
