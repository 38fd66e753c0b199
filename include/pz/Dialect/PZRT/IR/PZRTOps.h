//===- PZRTOps.h - pzrt operations ----------------------------------------===//

#ifndef PZ_DIALECT_PZRT_IR_PZRTOPS_H
#define PZ_DIALECT_PZRT_IR_PZRTOPS_H

#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "pz/Dialect/PZRT/IR/PZRTOps.h.inc"

#endif // PZ_DIALECT_PZRT_IR_PZRTOPS_H
