//===- PZRTDialect.h - the runtime-call dialect ---------------------------===//

#ifndef PZ_DIALECT_PZRT_IR_PZRTDIALECT_H
#define PZ_DIALECT_PZRT_IR_PZRTDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"

#include "pz/Dialect/PZRT/IR/PZRTDialect.h.inc"
#include "pz/Dialect/PZRT/IR/PZRTEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "pz/Dialect/PZRT/IR/PZRTAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "pz/Dialect/PZRT/IR/PZRTTypes.h.inc"

namespace mlir::pzrt {
/// The grid axes in grid order, outermost first (DESIGN.md: one grid per
/// program, `pp x dp_replicate x dp_shard x cp x tp`).
llvm::ArrayRef<llvm::StringRef> gridAxisNames();
} // namespace mlir::pzrt

#endif // PZ_DIALECT_PZRT_IR_PZRTDIALECT_H
