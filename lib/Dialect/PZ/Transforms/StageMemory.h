//===- StageMemory.h - what a pipeline stage holds, estimated ---*- C++ -*-===//
//
// pz-split-stages with a memory limit: before autodiff and the plan passes,
// an estimate of the bytes a run of @forward's ops holds as one stage.
//   parameters x (the parameter, its gradient, a gradient accumulator when
//     the step accumulates micro-batches, the optimizer states), each
//     divided by dp_shard as ZeRO shards it;
//   + the activations one micro-batch keeps, times the micro-batches the
//     schedule table has in flight on the stage (GPipe: all; 1F1B:
//     min(m, pp - rank); zb adds its weight slots) plus a half for the
//     step's working memory.
// The activations kept are the stage's activations (values computed from
// the data and the parameters) that an op whose gradient reads its operands
// reads (not a sum, a view, a slice, a cast): what autodiff saves, before
// the fusion and the memory plan share buffers. The exact plan
// (report.json, compile --memory-limit) checks the result.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_TRANSFORMS_STAGEMEMORY_H
#define PZ_DIALECT_PZ_TRANSFORMS_STAGEMEMORY_H

#include "pz/Plan/Plan.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <vector>

namespace mlir::pz {

class StageMemory {
public:
  /// `ops`: @forward's ops in order; `activations`: its activation values.
  StageMemory(func::FuncOp fn, llvm::ArrayRef<Operation *> ops,
              const llvm::DenseMap<Operation *, size_t> &index,
              const llvm::DenseSet<Value> &activations, const Plan &plan,
              int64_t optimizerStates);

  /// The estimated bytes of ops [begin, end) as pipeline stage `stage`.
  double estimate(size_t begin, size_t end, int64_t stage) const;
  /// The part of it for parameters and their gradients and states, and the
  /// activations of one micro-batch.
  double parameterBytes(size_t begin, size_t end) const;
  double activationBytes(size_t begin, size_t end) const;
  /// The micro-batches whose activations the stage keeps at once, and
  /// (zb) those whose W is still to run: the schedule table's counts.
  std::pair<int64_t, int64_t> inFlight(int64_t stage) const;

private:
  /// Per parameter: its bytes and the sorted positions of the ops that
  /// read it (through its casts).
  std::vector<std::pair<double, std::vector<size_t>>> params;
  std::vector<double> prefixActivations; // of ops[0 .. i)
  double perParameterByte = 0;
  Plan plan;
};

} // namespace mlir::pz

#endif
