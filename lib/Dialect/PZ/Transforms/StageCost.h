//===- StageCost.h - the cost the pipeline split balances ------*- C++ -*-===//
//
// FLOPs of one op's forward and backward, for pz-split-stages: a matmul
// 2mnk forward and twice that backward; attention 4 b h s_q s_k d forward
// and 2.5 times that backward; any other op one FLOP per result element
// forward and two backward. Only the ratios between ops matter to the
// split.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_TRANSFORMS_STAGECOST_H
#define PZ_DIALECT_PZ_TRANSFORMS_STAGECOST_H

#include "mlir/IR/Operation.h"

namespace mlir::pz {
/// Forward plus backward FLOPs of `op` on one micro-batch.
double stageCost(Operation *op);
} // namespace mlir::pz

#endif
