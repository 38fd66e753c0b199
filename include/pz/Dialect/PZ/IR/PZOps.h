//===- PZOps.h - pz dialect operations ------------------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZOPS_H
#define PZ_DIALECT_PZ_IR_PZOPS_H

#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/Dialect/PZ/IR/PZTraits.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "pz/Dialect/PZ/IR/PZInterfaces.h.inc"

#define GET_OP_CLASSES
#include "pz/Dialect/PZ/IR/PZOps.h.inc"

#endif // PZ_DIALECT_PZ_IR_PZOPS_H
