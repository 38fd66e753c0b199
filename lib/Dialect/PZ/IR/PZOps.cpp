//===- PZOps.cpp - ODS-generated op definitions ---------------------------===//
//
// The hand-written parts live by concern: PZElementwise.cpp,
// PZShapeOps.cpp and PZNNOps.cpp.
//
//===----------------------------------------------------------------------===//

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#define GET_OP_CLASSES
#include "pz/Dialect/PZ/IR/PZOps.cpp.inc"
