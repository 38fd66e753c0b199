//===- Layers.h - the forward ops of a named layer --------------*- C++ -*-===//
//
// A layer name L, as the plan gives it (recompute: [h.0, h.2]), names the
// parameters "L.*". Used by pz-recompute to find the ops of a listed layer
// in @forward_backward after the plan passes, where a parameter may be
// read through values computed from parameters alone (a transpose, a
// ZeRO-3 gather and its unpacking).
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_DIALECT_PZ_TRANSFORMS_LAYERS_H
#define PZ_LIB_DIALECT_PZ_TRANSFORMS_LAYERS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <map>
#include <optional>

namespace mlir::pz {
/// Whether fn has an argument that is a parameter of layer `name` (its
/// pz.param starts with "name.").
bool hasLayerParam(func::FuncOp fn, StringRef name);

/// The positions [begin, end) among `ops` (forward ops of fn, in order;
/// `cuts` their cut points, aloneLive) that make layer `name`: from the cut
/// point at or before the first op that reads a parameter of the layer to
/// where the next layer starts, the cut point at or before the next op that
/// reads another parameter (the first cut after the layer's last op when
/// there is none between; the end for the last layer). Ops between two
/// layers (an activation, a residual add) belong to the first. The layer's
/// input is the value alone live at `begin`, its output the one alone live
/// at `end`. nullopt when no op of `ops` reads a parameter of the layer.
std::optional<std::pair<size_t, size_t>> layerSpan(func::FuncOp fn, ArrayRef<Operation *> ops,
                                                   const std::map<size_t, Value> &cuts,
                                                   StringRef name);
} // namespace mlir::pz

#endif
