//===- StepFunctions.h - the forward part of a step function ---*- C++ -*-===//
//
// Shared by pz-split-stages, pz-recompute and pz-split-forward-backward:
// which ops of @forward_backward make its forward pass, and where one
// activation alone is live (the cut points between layers).
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_DIALECT_PZ_TRANSFORMS_STEPFUNCTIONS_H
#define PZ_LIB_DIALECT_PZ_TRANSFORMS_STEPFUNCTIONS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"

#include <map>

namespace mlir::pz {
/// Whether result i of a step function is a forward output: the loss (a
/// pz.output) or the activation a pipeline stage sends (pz.pipe =
/// "activation").
bool isForwardResult(func::FuncOp fn, unsigned i);
/// Whether argument i of fn is a data input (pz.input, not a scalar role).
bool isDataInput(func::FuncOp fn, unsigned i);
/// The ops of fn's body that its results `results` need.
llvm::DenseSet<Operation *> opsNeededBy(func::FuncOp fn, ArrayRef<unsigned> results);
/// The ops the forward outputs need: the forward pass. Every other op of
/// the body belongs to the backward pass.
llvm::DenseSet<Operation *> forwardOps(func::FuncOp fn);
/// Where exactly one activation is live among `ops` (ops of fn's body, in
/// order): position c (before ops[c], 0 < c < ops.size()) -> that value. An
/// activation is computed from both the parameters and the data (a data
/// input; a pipeline stage's activation input counts as both). It is live
/// from after its op (an argument: from the start) to its last reader in
/// `ops`, or to the end when it is `liveOut`, which is never a cut's value.
/// `activations`, when given, receives every activation among them.
std::map<size_t, Value> aloneLive(func::FuncOp fn, ArrayRef<Operation *> ops,
                                  Value liveOut = {},
                                  llvm::DenseSet<Value> *activations = nullptr);
} // namespace mlir::pz

#endif
