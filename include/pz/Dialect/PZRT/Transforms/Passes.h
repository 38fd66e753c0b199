//===- Passes.h - pzrt passes ---------------------------------------------===//

#ifndef PZ_DIALECT_PZRT_TRANSFORMS_PASSES_H
#define PZ_DIALECT_PZRT_TRANSFORMS_PASSES_H

#include "pz/Dialect/PZRT/IR/PZRTOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::pzrt {

#define GEN_PASS_DECL
#include "pz/Dialect/PZRT/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "pz/Dialect/PZRT/Transforms/Passes.h.inc"

} // namespace mlir::pzrt

#endif // PZ_DIALECT_PZRT_TRANSFORMS_PASSES_H
