//===- StepFunctions.h - the forward part of a step function ---*- C++ -*-===//
//
// Shared by pz-recompute and pz-split-forward-backward: which ops of
// @forward_backward make its forward pass.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_DIALECT_PZ_TRANSFORMS_STEPFUNCTIONS_H
#define PZ_LIB_DIALECT_PZ_TRANSFORMS_STEPFUNCTIONS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"

namespace mlir::pz {
/// Whether result i of a step function is a forward output: the loss (a
/// pz.output) or the activation a pipeline stage sends (pz.pipe =
/// "activation").
bool isForwardResult(func::FuncOp fn, unsigned i);
/// The ops the forward outputs need: the forward pass. Every other op of
/// the body belongs to the backward pass.
llvm::DenseSet<Operation *> forwardOps(func::FuncOp fn);
} // namespace mlir::pz

#endif
