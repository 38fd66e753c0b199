//===- MemoryPlan.h - buffers, liveness and arena offsets -------*- C++ -*-===//
//
// The static memory plan of one step function. Every tensor value of the
// function body is one of:
//   - an argument (the caller's memory: parameters, inputs, states);
//   - a constant (static data in the program);
//   - a view of another value (pz.reshape, tensor.cast: same bytes, new type);
//   - an output (returned once and not a view: written straight into the
//     caller's result buffer);
//   - an arena buffer, live from the op that defines it to the last op that
//     reads it or any view of it.
// Ops that need scratch memory (pz.attention, pz.attention_grad) get one
// workspace buffer live during the op only. pz-plan-memory assigns arena
// offsets (64-byte aligned) and records them as attributes; the C++ emitter
// recomputes the same liveness to place acquire/release calls.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_TRANSFORMS_MEMORYPLAN_H
#define PZ_DIALECT_PZ_TRANSFORMS_MEMORYPLAN_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"

#include <cstdint>
#include <vector>

namespace mlir::pz {

/// Attribute names of the plan.
inline constexpr const char kBuffersAttrName[] = "pz.buffers";     // per result offset, -1: none
inline constexpr const char kWorkspaceAttrName[] = "pz.workspace"; // [offset, bytes]
inline constexpr const char kMemoryPlanAttrName[] = "pz.memory_plan"; // on func.func

inline constexpr int64_t kArenaAlignment = 64;

enum class ValueKind { Argument, Constant, View, Output, Arena };

struct PlannedBuffer {
  Value value;          // null for a workspace
  Operation *owner;     // the defining op (or the op using the workspace)
  int64_t bytes = 0;    // aligned size
  int64_t start = 0;    // index of the first op it is live at
  int64_t end = 0;      // index of the last op it is live at
  int64_t offset = -1;  // arena offset once placed
};

struct FunctionMemory {
  std::vector<Operation *> ops;                 // the body in order
  llvm::DenseMap<Operation *, int64_t> index;   // op -> position in ops
  llvm::DenseMap<Value, ValueKind> kind;        // every tensor value
  llvm::DenseMap<Value, Value> viewRoot;        // view -> the value owning its bytes
  llvm::DenseMap<Value, unsigned> outputIndex;  // Output values -> result number
  std::vector<PlannedBuffer> buffers;           // arena buffers and workspaces
  llvm::DenseMap<Value, size_t> bufferOf;       // Arena value -> buffers index
  llvm::DenseMap<Operation *, size_t> workspaceOf;
  int64_t arenaBytes = 0; // highest end offset
  int64_t peakBytes = 0;  // largest sum of live buffer sizes at one op
};

/// Bytes of one element as the CPU backend stores it (i1 as one byte);
/// 0 for a type it cannot store.
int64_t storageBytes(Type elementType);

/// Scratch bytes an op needs beyond its results (0 for most ops).
int64_t workspaceBytes(Operation *op);

/// Classifies the values of `fn` and computes the live ranges. Fails (with a
/// diagnostic) on dynamic shapes, unsupported element types or a body that
/// is not one block.
FailureOr<FunctionMemory> analyzeFunctionMemory(func::FuncOp fn);

/// Places every buffer at the lowest offset that does not overlap a buffer
/// live at the same time (largest buffers first), and sets arenaBytes and
/// peakBytes.
void assignOffsets(FunctionMemory &mem);

} // namespace mlir::pz

#endif // PZ_DIALECT_PZ_TRANSFORMS_MEMORYPLAN_H
