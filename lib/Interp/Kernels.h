//===- Kernels.h - the interpreter's op kernels and their helpers ---------===//
//
// Each op family registers its kernels (one function per op name) in a
// table; the evaluation loop (Interpreter.cpp) looks them up by op name.
// A kernel reads its operands from the Env, computes in double and defines
// its results; on a bad input it emits an error at the op and fails.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_INTERP_KERNELS_H
#define PZ_LIB_INTERP_KERNELS_H

#include "pz/Interp/Interpreter.h"

#include "mlir/IR/Operation.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringMap.h"

#include <unordered_map>

namespace mlir::pz::interp::detail {

/// The values computed so far in one evaluation.
class Env {
public:
  explicit Env(const InterpOptions &opts) : opts(opts) {}

  const InterpOptions &options() const { return opts; }

  /// The tensor of a value defined earlier (an argument or a result). The
  /// reference stays valid while the value is defined: kernels read their
  /// operands by reference while they define several results.
  const HostTensor &get(Value v) const;
  bool has(Value v) const { return values.count(v); }

  /// Records `result`'s tensor. The element type is taken from the IR; the
  /// shape must have the type's rank and agree with its static dims, else
  /// an error is emitted at `result`'s op (or the function, for arguments).
  /// Integer values wrap into the element type's range (wrapToType).
  LogicalResult define(Value result, std::vector<int64_t> shape,
                       std::vector<double> data);
  LogicalResult define(Value result, HostTensor t) {
    return define(result, std::move(t.shape), std::move(t.data));
  }

  /// Drops a value nothing reads any more.
  void erase(Value v) { values.erase(v); }

private:
  const InterpOptions &opts;
  // Node-based, so that defining a value never moves the others (a
  // DenseMap rehash did, under the references that get() had handed out).
  struct ValueHash {
    size_t operator()(Value v) const { return mlir::hash_value(v); }
  };
  std::unordered_map<Value, HostTensor, ValueHash> values;
};

using Kernel = LogicalResult (*)(Operation *op, Env &env);
using KernelTable = llvm::StringMap<Kernel>;

// One per file; each registers its family's forward and gradient ops.
void registerElementwiseKernels(KernelTable &table);
void registerDropoutKernels(KernelTable &table);
void registerReductionKernels(KernelTable &table);
void registerNormKernels(KernelTable &table);
void registerShapeKernels(KernelTable &table);
void registerMatmulKernels(KernelTable &table);
void registerAttentionKernels(KernelTable &table);
void registerAttentionBlockKernels(KernelTable &table);
void registerLossKernels(KernelTable &table);
void registerGatherKernels(KernelTable &table);
void registerOptimizerKernels(KernelTable &table);
void registerFusionKernels(KernelTable &table);

/// Runs the kernel of `op` (its operands must be in `env`); fails with an
/// error at the op when it has no kernel.
LogicalResult evalOp(Operation *op, Env &env);

/// Registers `fn` as the kernel of `OpTy`.
template <typename OpTy> void add(KernelTable &table, Kernel fn) {
  table[OpTy::getOperationName()] = fn;
}

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

/// Row-major strides of `shape`.
std::vector<int64_t> stridesOf(ArrayRef<int64_t> shape);

/// Numpy broadcasting of two shapes; failure when they do not broadcast.
FailureOr<std::vector<int64_t>> broadcastShapes(ArrayRef<int64_t> a,
                                                ArrayRef<int64_t> b);

/// For each element of `out` (row-major), the offset of the element of a
/// tensor of shape `in` that numpy broadcasting maps to it. `out` must be a
/// broadcast of `in` (aligned from the right, dims equal or 1 in `in`).
std::vector<int64_t> broadcastOffsets(ArrayRef<int64_t> in,
                                      ArrayRef<int64_t> out);

/// Calls `fn(index)` for every multi-index of `shape`, row-major.
void forEachIndex(ArrayRef<int64_t> shape,
                  llvm::function_ref<void(ArrayRef<int64_t>)> fn);

/// A number for messages: integers without a fraction (`-1`), other values
/// as `%g`.
std::string numStr(double v);

/// `2x3` style (`scalar` for rank 0), for messages.
std::string shapeStr(ArrayRef<int64_t> shape);

/// `prod(shape[:axis])`, `prod(shape[axis:end])`, `prod(shape[end:])`.
int64_t prodRange(ArrayRef<int64_t> shape, int64_t begin, int64_t end);

/// The element type of a value's (tensor) type.
Type elementTypeOf(Value v);

/// True when `v`'s element type is an integer type (i1, i32, i64, ui8,
/// ui16, ui32, ui64).
bool isIntegerValue(Value v);

/// The shape of a reduction of `shape` over `axes`.
std::vector<int64_t> reducedShape(ArrayRef<int64_t> shape,
                                  ArrayRef<int64_t> axes, bool keepdims);

/// For each element of `shape` (row-major), the offset of its slice in the
/// reduction over `axes` (the same with or without kept dims).
std::vector<int64_t> reductionOffsets(ArrayRef<int64_t> shape,
                                      ArrayRef<int64_t> axes);

/// Checks `0 <= axis < rank` for an attribute; emits at `op` otherwise.
LogicalResult checkAxis(Operation *op, int64_t axis, int64_t rank,
                        StringRef what = "axis");

/// The softmax of `n` values spaced `stride` apart starting at `x`, written
/// to `y` with the same spacing (max-subtracted).
void softmaxRow(const double *x, double *y, int64_t n, int64_t stride);

} // namespace mlir::pz::interp::detail

#endif // PZ_LIB_INTERP_KERNELS_H
