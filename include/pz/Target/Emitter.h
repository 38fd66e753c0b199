//===- Emitter.h - programs from the runtime-call level ---------*- C++ -*-===//
//
// The emitters print only pzrt-level modules (after convert-pz-to-pzrt,
// pzrt-plan-memory and pzrt-build-schedule). The host part -- host
// functions, their buffers, dispatches, copies and transfers, and the program
// tables of the runtime ABI -- is printed the same way for every backend
// (lib/Target/Host). Each backend supplies a DeviceEmitter for what runs on
// its device: the kernels of the @kernels module and the constant globals.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_TARGET_EMITTER_H
#define PZ_TARGET_EMITTER_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mlir::pz {

/// A backend's device code.
class DeviceEmitter {
public:
  virtual ~DeviceEmitter();
  /// The backend's name in messages ("CPU backend").
  virtual llvm::StringRef name() const = 0;
  /// Includes and helpers the device code needs.
  virtual std::string prelude() const = 0;
  /// The runtime entry the program's main() calls is this prefix followed by
  /// train_main, train_main_stages or run_main: "pzrt_" runs on the CPU
  /// device; a backend with its own device names entries that open it
  /// (pzrt/cuda.h's pzrt_cuda_train_main).
  virtual llvm::StringRef mainPrefix() const { return "pzrt_"; }
  /// Defines `static int CNAME(pzrt_step_ctx *ctx, void *const *b)` running
  /// `kernel` on b[] = its inputs, then its results, then its workspace.
  /// It returns 0, or -1 with pzrt_last_error() naming the op.
  virtual LogicalResult emitKernel(func::FuncOp kernel, llvm::StringRef cName,
                                   llvm::raw_ostream &os) = 0;
  /// Defines the data of a constant global; returns the C expression of its
  /// address (a `void *`) in host code.
  virtual FailureOr<std::string> emitGlobal(memref::GlobalOp global, llvm::StringRef cName,
                                            llvm::raw_ostream &os) = 0;
};

/// The CPU backend: C++ loops and calls of the runtime's CPU kernels.
std::unique_ptr<DeviceEmitter> createCPUDeviceEmitter();

/// The CUDA backend (so far element maps and fused loops only): CUDA C++
/// for nvcc; every other op is an error "CUDA backend: <op> is not built yet".
std::unique_ptr<DeviceEmitter> createCUDADeviceEmitter();

/// Prints the device prelude, the constant globals and the kernels of a
/// pzrt-level module (no host functions): what `parallelize-translate
/// --pzrt-kernels-to-cuda` prints.
LogicalResult emitDeviceCode(ModuleOp module, DeviceEmitter &device, llvm::raw_ostream &os);

/// One tensor the program reads or keeps (parameter, input, state).
struct ProgramTensor {
  std::string name;
  Type elementType;
  std::vector<int64_t> shape;       // this rank's (local) shape
  /// For a flat-sharded tensor (pz.flat_shard): the whole tensor's shape and
  /// the grid axes (bit mask) whose ranks each hold one chunk of it.
  std::vector<int64_t> globalShape;
  uint32_t shardAxes = 0;
  /// For a box-sharded tensor (pz.box_shard, tensor parallelism): per dim,
  /// the grid axes (bit mask) that split it in equal blocks (globalShape
  /// holds the whole shape); empty when not box-sharded.
  std::vector<uint32_t> dimAxes;
  /// pz.split_groups (pz-interleave-qkv): the split dim holds, per block
  /// of ranks, a share of each of this many parts of the stored dim; 0 when
  /// it is the stored layout.
  int64_t splitGroups = 0;
  int64_t bytes() const;
};

/// What the train program is, for report.json and the driver.
struct TrainProgramInfo {
  std::vector<ProgramTensor> params, inputs, states;
  /// A pipeline stage's saved set (per slot) and the tensors it sends; the
  /// pzrt_input_role of each input and output.
  std::vector<ProgramTensor> saved, outputs;
  std::vector<std::string> inputRoles, outputRoles;
  int64_t stage = -1, slots = 0; // -1: not a pipeline stage
  /// Per saved tensor: 0, in the micro-batch's slot (the forward's), or 1,
  /// in its weight slot (what a zb stage's B keeps for W); weight slots.
  std::vector<int> savedPools;
  int64_t weightSlots = 0;
  /// Bytes of the saved tensors of pool 0 and of pool 1 (per micro-batch).
  int64_t savedBytes = 0, weightSavedBytes = 0, outputBytes = 0;
  /// The stage's forward and backward FLOPs per micro-batch (pz-split-stages).
  int64_t stageFlops = 0;
  /// Its forwards and backwards in schedule order ("F0 F1 B0 ...").
  std::string computeOrder;
  /// Every stage's program, for a pipelined step (the fields above then
  /// describe stage 0, and the report reads these).
  std::vector<TrainProgramInfo> stages;
  int64_t arenaBytes = 0, arenaPeakBytes = 0;
  /// The activations one micro-batch's forward pass keeps for its backward
  /// pass (pz-saved-activations).
  int64_t savedActivationBytes = 0;
  int64_t paramBytes = 0, gradBytes = 0, stateBytes = 0, dataBytes = 0,
          workspaceBytes = 0;
  int64_t peakBytes = 0; // the predicted pzrt_mem_peak_total()
  int64_t vocab = 0;
  std::string lossName;
  /// Bytes one rank sends per step under the runtime's ring formulas
  /// (pzrt/comm.h), per collective kind and per reason kind, summed over the
  /// transfers of every function the schedule runs.
  std::map<std::string, int64_t> commBytesPerStep;
  std::map<std::string, int64_t> commBytesPerStepByReason;
  /// Every collective one step runs, in schedule order.
  struct Collective {
    std::string function; // the host function ("finalize_grads")
    int32_t microBatch = 0;
    std::string kind;     // "reduce_scatter"
    std::vector<std::string> axes;
    int64_t bytes = 0;    // sent per rank, as the runtime counts it
    std::string reason, source;
    std::vector<std::string> tensors; // what a bucket holds (pz.bucket)
  };
  std::vector<Collective> collectives;
};

struct TrainProgramOptions {
  std::string modelName;
  std::string initFile; // relative to the executable; empty: none
  std::string planJson = "{}";
};

/// Emits the complete train program (kernels, host functions, the program
/// tables and main) of a pzrt-level module. Errors are reported at the
/// offending op.
LogicalResult emitTrainProgram(ModuleOp module, DeviceEmitter &device,
                               const TrainProgramOptions &opts, llvm::raw_ostream &os,
                               TrainProgramInfo &info);

/// Emits a program that runs one host function on .npy files:
/// `run --input NAME=x.npy ... --output-dir D` writes RESULTNAME.npy files.
LogicalResult emitRunProgram(ModuleOp module, DeviceEmitter &device, func::FuncOp fn,
                             llvm::raw_ostream &os);

/// Emits the device code and host functions of a pzrt-level module (no
/// program tables, no main): what `parallelize-translate --pzrt-to-cpp`
/// prints, for tests and for reading.
LogicalResult emitHostProgram(ModuleOp module, DeviceEmitter &device, llvm::raw_ostream &os);

/// Registers the translations of parallelize-translate.
void registerPZTranslations();

} // namespace mlir::pz

#endif // PZ_TARGET_EMITTER_H
