//===- DataParallelUtils.h - shared by the data-parallel plan passes ------===//
//
// The program's grid, gradient buckets and reasons that pz-data-parallel
// (DDP) and pz-zero (ZeRO, HSDP) share.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_DIALECT_PZ_TRANSFORMS_DATAPARALLELUTILS_H
#define PZ_LIB_DIALECT_PZ_TRANSFORMS_DATAPARALLELUTILS_H

#include "pz/Dialect/PZ/IR/PZDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Shard/IR/ShardOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::pz::dp {

/// Grid axes of @world: pp x dp_replicate x dp_shard x cp x tp.
constexpr int16_t kDpReplicateAxis = 1;
constexpr int16_t kDpShardAxis = 2;

/// The discardable attributes a collective carries: its reason
/// (#pzrt.reason) and the gradients or parameters it moves.
constexpr llvm::StringLiteral kCommAttrName = "pz.comm";
constexpr llvm::StringLiteral kBucketAttrName = "pz.bucket";

/// The program's one grid, @world, created when absent; an error at the
/// symbol when it exists with another shape or is not a grid.
FailureOr<shard::GridOp> getOrCreateWorldGrid(ModuleOp module, const Plan &plan,
                                              StringRef pass);

/// The gradient name of a value of @finalize_grads: its block argument's
/// pz.grad or pz.accum, found through the ops that scale it.
StringAttr gradName(func::FuncOp fn, Value v);

/// The op of a step function's body that yields its loss result
/// (#pz.role<loss>): the forward pass ends there. Null for none.
Operation *lossOp(func::FuncOp fn);

/// The parameter a step-function argument or result belongs to: its
/// pz.param, pz.grad or pz.accum name, or the name after "KIND:" of its
/// pz.state; empty for none.
StringRef paramOf(DictionaryAttr attrs);

/// A tensor to communicate: its name and its bytes as communicated.
struct BucketItem {
  Type elementType;
  int64_t bytes = 0;
};

/// Items in reverse order (the order a backward pass finishes gradients),
/// a new bucket when the next would pass `capBytes` or changes the element
/// type; an item larger than the cap gets a bucket of its own (cap 0: every
/// item does). Returns the item indices of each bucket.
SmallVector<SmallVector<unsigned>> makeBuckets(ArrayRef<BucketItem> items, int64_t capBytes);

/// The bytes of one element of `t`.
inline int64_t elementBytes(Type t) { return (t.getIntOrFloatBitWidth() + 7) / 8; }

} // namespace mlir::pz::dp

#endif // PZ_LIB_DIALECT_PZ_TRANSFORMS_DATAPARALLELUTILS_H
