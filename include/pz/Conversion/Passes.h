//===- Passes.h - conversions between the pz levels -----------------------===//

#ifndef PZ_CONVERSION_PASSES_H
#define PZ_CONVERSION_PASSES_H

#include "pz/Dialect/PZRT/IR/PZRTOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::pz {

#define GEN_PASS_DECL
#include "pz/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "pz/Conversion/Passes.h.inc"

} // namespace mlir::pz

#endif // PZ_CONVERSION_PASSES_H
