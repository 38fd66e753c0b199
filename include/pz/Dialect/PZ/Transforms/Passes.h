//===- Passes.h - pz dialect passes ---------------------------------------===//

#ifndef PZ_DIALECT_PZ_TRANSFORMS_PASSES_H
#define PZ_DIALECT_PZ_TRANSFORMS_PASSES_H

#include "pz/Support/RoundTripDouble.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::pz {

#define GEN_PASS_DECL
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"

} // namespace mlir::pz

#endif // PZ_DIALECT_PZ_TRANSFORMS_PASSES_H
