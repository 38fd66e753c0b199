//===- CppEmitter.h - pz step functions to C++ on the pzrt runtime -*- C++ -*-===//
//
// The CPU backend's emitter. It takes a module after pz-plan-memory and
// writes C++ that calls the runtime (runtime/include/pzrt) on buffers at the
// planned arena offsets: GEMMs, norms, softmax, attention, the loss and the
// optimizer go to pzrt kernels; elementwise ops, broadcasts, transposes,
// slices, gathers and reductions become loops over static shapes.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_TARGET_CPP_CPPEMITTER_H
#define PZ_TARGET_CPP_CPPEMITTER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::pz {

/// One tensor the program reads or keeps (parameter, input, state).
struct ProgramTensor {
  std::string name;
  Type elementType;
  std::vector<int64_t> shape;
  /// The tensor's bytes; -1 beyond kMaxTensorBytes (pz/Support/Limits.h).
  int64_t bytes() const;
};

/// What the train program is, for report.json and the driver.
struct TrainProgramInfo {
  std::vector<ProgramTensor> params, inputs, states;
  int64_t arenaBytes = 0, arenaPeakBytes = 0;
  int64_t paramBytes = 0, gradBytes = 0, stateBytes = 0, dataBytes = 0,
          workspaceBytes = 0;
  int64_t peakBytes = 0; // the predicted pzrt_mem_peak_total()
  int64_t vocab = 0;
  std::string lossName;
};

struct TrainProgramOptions {
  std::string modelName;
  std::string initFile; // relative to the executable; empty: none
  std::string planJson = "{}";
  /// Checked against the runtime's int32_t fields when emitted; the step's
  /// data (each input x grad_accum x dp ranks) must stay within
  /// kMaxTotalBytes, as the runtime forms that product.
  int64_t gradAccum = 1;
  int64_t worldSize = 1;
  int64_t dpSize = 1;
};

/// Emits the complete train program (step functions, the pzrt_model and
/// main) for a module holding @forward_backward and @optimizer_step after
/// pz-plan-memory. Errors are reported at the offending op.
LogicalResult emitTrainProgram(ModuleOp module, const TrainProgramOptions &opts,
                               llvm::raw_ostream &os, TrainProgramInfo &info);

/// Emits a program that runs one function on .npy files:
/// `run --input NAME=x.npy ... --output-dir D` writes RESULTNAME.npy files.
LogicalResult emitRunProgram(ModuleOp module, func::FuncOp fn, llvm::raw_ostream &os);

/// Emits one function as `static int NAME(pzrt_step_ctx *ctx,
/// void *const *args, void *const *results)`. resultAliasesArg[i] is the
/// argument whose buffer result i may be written over (-1: none); the
/// emitter checks that such an update is safe. Globals (constant data) go to
/// `globals`, the function to `os`.
LogicalResult emitStepFunction(func::FuncOp fn, llvm::StringRef cName,
                               llvm::ArrayRef<int> resultAliasesArg,
                               llvm::raw_ostream &globals, llvm::raw_ostream &os);

} // namespace mlir::pz

#endif // PZ_TARGET_CPP_CPPEMITTER_H
