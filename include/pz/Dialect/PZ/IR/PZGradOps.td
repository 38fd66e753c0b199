//===- PZGradOps.td - ops that only gradients use -------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZGRADOPS_TD
#define PZ_DIALECT_PZ_IR_PZGRADOPS_TD

include "pz/Dialect/PZ/IR/PZBase.td"

#endif // PZ_DIALECT_PZ_IR_PZGRADOPS_TD
