//===- InitAllDialects.h - every dialect the pz tools load ---------------===//

#ifndef PZ_INITALLDIALECTS_H
#define PZ_INITALLDIALECTS_H

#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/Dialect/PZ/Sharding/ShardingModels.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/ShardingInterfaceImpl.h"
#include "mlir/Dialect/Func/Extensions/ShardingExtensions.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/Dialect/Tensor/Extensions/ShardingExtensions.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectRegistry.h"

namespace mlir::pz {

/// Registers pz, pzrt, the upstream dialects our pipelines use (func,
/// tensor, arith, memref, shard), and the sharding-interface models (the
/// upstream ones and ours on pz ops).
inline void registerAllDialects(DialectRegistry &registry) {
  registry.insert<PZDialect, pzrt::PZRTDialect, func::FuncDialect, tensor::TensorDialect,
                  arith::ArithDialect, memref::MemRefDialect, shard::ShardDialect>();
  arith::registerShardingInterfaceExternalModels(registry);
  func::registerShardingInterfaceExternalModels(registry);
  tensor::registerShardingInterfaceExternalModels(registry);
  pz::registerShardingInterfaceExternalModels(registry);
}

} // namespace mlir::pz

#endif // PZ_INITALLDIALECTS_H
