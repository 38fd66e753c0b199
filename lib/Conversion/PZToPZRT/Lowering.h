//===- Lowering.h - the rules of convert-pz-to-pzrt -------------*- C++ -*-===//
//
// One pz function becomes one host function. The rules, one per kind of op:
//   * compute ops   -> a kernel in @kernels + pzrt.dispatch      (Kernels.cpp)
//   * pz.constant   -> memref.global + memref.get_global          (Globals.cpp)
//   * views         -> memref.reinterpret_cast                     (Views.cpp)
//   * shard.all_reduce -> pzrt.all_reduce on its axes' group  (Collectives.cpp)
//   * func.return   -> memref.copy of what was not written in place
//                                                                (PZToPZRT.cpp)
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_CONVERSION_PZTOPZRT_LOWERING_H
#define PZ_LIB_CONVERSION_PZTOPZRT_LOWERING_H

#include "pz/Dialect/PZRT/IR/PZRTOps.h"
#include "pz/Target/TargetInfo.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::pz::lowering {

/// The buffer type of a ranked tensor type: same shape and element type,
/// row-major.
MemRefType bufferType(Type tensorType);

/// Views change a value's type, not its bytes: pz.reshape, tensor.cast.
bool isViewOp(Operation *op);

/// Upstream shard collectives (shard.all_reduce), lowered to pzrt
/// transfers (Collectives.cpp).
bool isCollectiveOp(Operation *op);

/// Ops whose kernel may read and overwrite the same buffer (the optimizer
/// updates, which update in place; element maps, which read each element
/// before writing it; all-reduces).
bool updatesInPlace(Operation *op);

/// Outlines ops into kernels of the @kernels module.
class KernelOutliner {
public:
  KernelOutliner(ModuleOp kernels, const TargetInfo &target)
      : kernels(kernels), target(target), table(kernels) {}
  /// A kernel computing `op` from its operands, named after the host
  /// function, the op's position and its mnemonic. Sets
  /// pzrt.workspace_bytes when the target's kernel needs scratch memory.
  FailureOr<func::FuncOp> outline(Operation *op, StringRef hostName, unsigned index);
  /// One kernel computing the independent `ops` (the same kind, no
  /// workspace) in order; its arguments are their distinct operands, in
  /// order of first use (`operands`), its results theirs, in order.
  FailureOr<func::FuncOp> outlineGroup(ArrayRef<Operation *> ops, StringRef hostName,
                                       unsigned index, SmallVectorImpl<Value> &operands);
  /// One kernel computing the chain `ops` (a matmul and its epilogue ops,
  /// TargetInfo::gemmEpilogue), each using the one before: its arguments
  /// are `operands` (the chain's operands from outside it), its result the
  /// last op's; its workspace the largest of the ops'.
  FailureOr<func::FuncOp> outlineChain(ArrayRef<Operation *> ops, ArrayRef<Value> operands,
                                       StringRef hostName, unsigned index);
  /// The workspace bytes of `kernel` (0: none).
  static int64_t workspaceOf(func::FuncOp kernel);

private:
  ModuleOp kernels;
  const TargetInfo &target;
  SymbolTable table;
};

/// Constants as module globals, one per distinct (type, value).
class GlobalBuilder {
public:
  explicit GlobalBuilder(ModuleOp module) : module(module), table(module) {}
  FailureOr<memref::GlobalOp> global(Operation *constant, StringRef hostName);

private:
  ModuleOp module;
  SymbolTable table;
  llvm::DenseMap<Attribute, memref::GlobalOp> byValue;
  Operation *last = nullptr;
  unsigned next = 0;
};

/// Lowers one pz function into a host function placed before it.
class FunctionLowering {
public:
  FunctionLowering(func::FuncOp src, KernelOutliner &kernels, GlobalBuilder &globals,
                   const TargetInfo &target)
      : src(src), kernels(kernels), globals(globals), target(target), b(src) {}
  LogicalResult run();
  func::FuncOp hostFunction() const { return host; }

private:
  LogicalResult planOutputs(func::ReturnOp ret);
  LogicalResult lowerOp(Operation *op);
  LogicalResult lowerCompute(Operation *op);
  /// The run of pz.adamw_update ops from `op` that one kernel can update
  /// (AdamWGroups.cpp); {op} alone when the target does not group them.
  SmallVector<Operation *> adamwGroup(Operation *op);
  /// Lowers `ops` (from adamwGroup) as one kernel and one dispatch.
  LogicalResult lowerGroup(ArrayRef<Operation *> ops);
  /// A matmul and the ops of its GEMM epilogue (GemmEpilogues.cpp); {op}
  /// alone when the target does not group them or there is none.
  SmallVector<Operation *> gemmEpilogueGroup(Operation *op);
  /// Lowers `ops` (from gemmEpilogueGroup) as one kernel and one dispatch
  /// writing the last op's result only.
  LogicalResult lowerGemmEpilogue(ArrayRef<Operation *> ops);
  LogicalResult lowerConstant(Operation *op);
  LogicalResult lowerView(Operation *op);
  LogicalResult lowerCollective(Operation *op);
  Value resultBufferOf(Operation *op, Value result, Value inPlaceSrc);
  LogicalResult lowerReturn(func::ReturnOp ret);
  Value outputBuffer(unsigned result);

  func::FuncOp src, host;
  KernelOutliner &kernels;
  GlobalBuilder &globals;
  const TargetInfo &target;
  OpBuilder b;
  unsigned dispatches = 0;
  /// The buffer holding each tensor value.
  llvm::DenseMap<Value, Value> buffers;
  /// Values written straight into an out-parameter or a tied argument.
  llvm::DenseMap<Value, Value> directOutput;
  /// Per result: the host argument receiving it (an out-parameter number
  /// >= 0, or -1 - n for a result tied to argument n).
  SmallVector<int64_t> resultBuffer;
  llvm::DenseMap<unsigned, Value> prefixViews; // outputBuffer's views
};

} // namespace mlir::pz::lowering

#endif // PZ_LIB_CONVERSION_PZTOPZRT_LOWERING_H
