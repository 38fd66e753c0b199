//===- ZeroUtils.h - flat, padded parameter chunks for pz-zero ------------===//
//
// How pz-zero lays a parameter out over the n ranks of dp_shard (flattened,
// zero-padded to n x c, rank k owning [k c, (k+1) c)), and the IR that packs
// tensors into a bucket for a reduce-scatter and unpacks an all-gather.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_DIALECT_PZ_TRANSFORMS_ZEROUTILS_H
#define PZ_LIB_DIALECT_PZ_TRANSFORMS_ZEROUTILS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::pz::zero {

/// How one parameter is sharded: N elements in chunks of c.
struct Layout {
  StringAttr name;
  RankedTensorType type; // the parameter's (and its gradient's) type
  int64_t numel = 0;
  int64_t chunk = 0;     // c = ceil(numel / n)
  Type elem() const { return type.getElementType(); }
  RankedTensorType chunkType() const { return RankedTensorType::get({chunk}, elem()); }
};

Value flatten(OpBuilder &b, Location loc, Value v, int64_t numel);
Value slice1D(OpBuilder &b, Location loc, Value v, int64_t begin, int64_t end);
Value concat1D(OpBuilder &b, Location loc, ArrayRef<Value> parts);
Value scalarConstant(OpBuilder &b, Location loc, Type elem, double v);

/// The bucket a reduce-scatter over n ranks hands each rank its chunks
/// from: every tensor (of `layouts`, whole) flattened and zero-padded to
/// n x c, then chunk k of every tensor at position k (n x sum c elements).
Value packForScatter(OpBuilder &b, Location loc, ArrayRef<Value> whole,
                     ArrayRef<const Layout *> layouts, int64_t n);

/// The whole tensors of an all-gather over n ranks of the chunks of
/// `layouts`, concatenated in that order on every rank.
SmallVector<Value> unpackGathered(OpBuilder &b, Location loc, Value gathered,
                                  ArrayRef<const Layout *> layouts, int64_t n);

/// After the values `chunked` (arguments, or the results of pz.shard_chunk)
/// became chunks: sets the result type of every op that reads them,
/// transitively, to what its operands infer. A whole-tensor sum becomes the
/// sum of the chunk; a partial reduction, or an op that cannot infer its
/// types, is an error at the op (it has no meaning on flat chunks). The
/// function type follows the return.
LogicalResult retype(func::FuncOp fn, StringRef pass, ArrayRef<Value> chunked);

} // namespace mlir::pz::zero

#endif // PZ_LIB_DIALECT_PZ_TRANSFORMS_ZEROUTILS_H
