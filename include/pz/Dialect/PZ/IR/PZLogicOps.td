//===- PZLogicOps.td - comparisons and boolean ops ------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZLOGICOPS_TD
#define PZ_DIALECT_PZ_IR_PZLOGICOPS_TD

include "pz/Dialect/PZ/IR/PZBase.td"

#endif // PZ_DIALECT_PZ_IR_PZLOGICOPS_TD
