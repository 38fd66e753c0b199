//===- ShardingModels.h - upstream ShardingInterface on pz ops ------------===//
//
// External models of `shard::ShardingInterface` for pz ops, so that the
// upstream `shard-partition` pass can partition pz programs whose values
// the plan has annotated (docs/design/0013-sharding-rules.md).
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_SHARDING_SHARDINGMODELS_H
#define PZ_DIALECT_PZ_SHARDING_SHARDINGMODELS_H

namespace mlir {
class DialectRegistry;
namespace pz {
void registerShardingInterfaceExternalModels(DialectRegistry &registry);
} // namespace pz
} // namespace mlir

#endif // PZ_DIALECT_PZ_SHARDING_SHARDINGMODELS_H
