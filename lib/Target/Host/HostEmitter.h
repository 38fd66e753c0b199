//===- HostEmitter.h - host functions of a pzrt module as C++ ---*- C++ -*-===//
//
// The part of every program that every backend shares: the device code the
// backend emits (globals, kernels), then each host function as
//   static int pzh_NAME(pzrt_step_ctx *ctx, void *const *args)
// whose args[] are the function's arguments in order (out-parameters last).
// Buffers are `void *` (host or device memory alike); the host code only
// computes addresses, calls kernels and the runtime, and never touches data.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_TARGET_HOST_HOSTEMITTER_H
#define PZ_LIB_TARGET_HOST_HOSTEMITTER_H

#include "pz/Target/Emitter.h"
#include "pz/Target/TargetInfo.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::pz::host {

/// The bit mask of a list of grid axis names (pzrt_grid_axis bits).
uint32_t axesMask(ArrayAttr axes);

class HostProgram {
public:
  HostProgram(ModuleOp module, DeviceEmitter &device, const TargetInfo &target)
      : module(module), device(device), target(target) {}

  /// Prints the includes (unless `prelude` is false), the device code and
  /// every host function.
  LogicalResult emit(llvm::raw_ostream &os, bool prelude = true);
  /// The includes alone: once per file when several programs share it.
  static void emitPrelude(DeviceEmitter &device, llvm::raw_ostream &os);

  /// The C name of a host function.
  static std::string cName(func::FuncOp fn) { return "pzh_" + fn.getSymName().str(); }

  /// The host functions (not the kernels), in module order.
  std::vector<func::FuncOp> hostFunctions();

  /// The communicator groups the host code uses, as bit masks of grid axes
  /// (bit a for axis a of pzrt_grid_axis); transfers name a group by its
  /// index here (ctx->comms[i]). Set by emit().
  const std::vector<uint32_t> &commGroups() const { return groups; }

  /// The #pzrt.memory_plan values of a host function (0 without a plan).
  static int64_t arenaBytes(func::FuncOp fn);
  static int64_t arenaPeakBytes(func::FuncOp fn);

private:
  LogicalResult emitFunction(func::FuncOp fn, llvm::raw_ostream &os);

  ModuleOp module;
  DeviceEmitter &device;
  const TargetInfo &target;
  llvm::StringMap<std::string> globalRefs; // memref.global symbol -> address
  llvm::StringMap<std::string> kernelNames; // kernel symbol -> C name
  std::vector<uint32_t> groups;
};

} // namespace mlir::pz::host

#endif // PZ_LIB_TARGET_HOST_HOSTEMITTER_H
