//===- ShardingModels.cpp - upstream ShardingInterface on pz ops ----------===//
//
// Registers the external models of `shard::ShardingInterface` on pz ops:
// the box-shaped ops (BoxModels.cpp: loop iterators, indexing maps, and a
// partition that runs the op on the local shards and, when a reduction loop
// is split over grid axes, all-reduces each result over those axes with its
// reason `pz.comm`: "tp.partial_sum" (the axes' names on the program's
// grid) and the op's source) and the shape ops (ShapeModels.cpp).
//
// Numpy broadcasting that stretches a size-1 dim has no affine map (the
// upstream interface takes no constants): such an op has no maps, so the
// propagation cannot choose for it, but its partition checks the given
// shardings and runs. Ops without a model (attention, cross-entropy,
// embedding, the gradient ops, ...) are the next slice
// (docs/design/0013-sharding-rules.md).
//
//===----------------------------------------------------------------------===//

#include "pz/Dialect/PZ/Sharding/ShardingModels.h"

#include "ShardingUtils.h"

#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::pz;

namespace {
/// Attaches the models when pz loads, and loads what their partitions
/// create (shard collectives with pzrt reasons).
struct PZShardingExtension : public DialectExtension<PZShardingExtension, PZDialect> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(PZShardingExtension)

  void apply(MLIRContext *ctx, PZDialect *) const final {
    ctx->loadDialect<shard::ShardDialect, pzrt::PZRTDialect>();
    sharding::attachBoxModels(ctx);
    sharding::attachShapeModels(ctx);
    sharding::attachVocabModels(ctx);
  }
};
} // namespace

void mlir::pz::registerShardingInterfaceExternalModels(DialectRegistry &registry) {
  registry.addExtensions<PZShardingExtension>();
}
