//===- FusionReport.h - why an attention was not fused ----------*- C++ -*-===//
//
// For `parallelize inspect MODEL --fusion`: the attention pattern of
// pz-fuse-patterns (FuseAttention.cpp), explained.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_TRANSFORMS_FUSIONREPORT_H
#define PZ_DIALECT_PZ_TRANSFORMS_FUSIONREPORT_H

#include "pz/Dialect/PZ/IR/PZOps.h"

#include <string>

namespace mlir::pz::fuse {

/// Why pz-fuse-patterns left `softmax` out of a pz.attention: the first
/// step of the attention pattern it does not match.
std::string whyAttentionNotFused(SoftmaxOp softmax);

} // namespace mlir::pz::fuse

#endif // PZ_DIALECT_PZ_TRANSFORMS_FUSIONREPORT_H
