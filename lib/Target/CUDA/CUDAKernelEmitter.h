//===- CUDAKernelEmitter.h - one kernel of the CUDA backend ------*- C++ -*-===//
//
// A kernel of the @kernels module holds one pz op (or one pz.fused loop). The
// CUDA backend prints it as
//   static int CNAME(pzrt_step_ctx *ctx, void *const *b)
// a host launcher on the step's compute stream, preceded by the device code
// it launches. Two kinds of op:
// - gather form (element maps, fused loops, shape ops, reductions): one
//   `__host__ __device__ CNAME_k_at(int64_t i, <pointers>)` per output
//   element (or per independent row), called by a grid-stride __global__
//   kernel. The _at functions are what test/Utils/cuda_host_check.py runs
//   on the host against the CPU backend.
// - runtime calls (matmul through cuBLASLt, norms, softmax, attention, the
//   loss, dropout, the optimizers): pzrt/cuda_kernels.h, on fp32 copies of
//   bf16/f16 values (TargetInfo::widenedValues of the "cuda" target).
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_TARGET_CUDA_CUDAKERNELEMITTER_H
#define PZ_LIB_TARGET_CUDA_CUDAKERNELEMITTER_H

#include "pz/Target/CSource.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <string>
#include <vector>

namespace mlir::pz::cuda {

/// One gather-form kernel: `body` computes element i (of `n`) through the
/// pointer parameters; `check` (if not empty) is the error reported when
/// the body recorded pz_flag(pz_bad, pz_check) (an index out of range, a
/// zero divisor): the op's check, read after the function.
struct GridKernel {
  std::vector<std::pair<std::string, std::string>> params; // type, name
  std::vector<std::string> launchArgs;
  llvm::DenseMap<Value, std::string> ptr;
  std::string body;
  int64_t n = 0;
  std::string check;
};

class CUDAKernelEmitter {
public:
  CUDAKernelEmitter(llvm::raw_ostream &os, llvm::StringRef cName) : os(os), cName(cName) {}

  /// Emits `kernel`: its device code, then its launcher `cName`.
  LogicalResult emit(func::FuncOp kernel);

  // ---- for the op emitters ----
  static std::string cType(Type elementType);
  static llvm::ArrayRef<int64_t> shape(Value v) {
    return llvm::cast<ShapedType>(v.getType()).getShape();
  }
  static int64_t numel(Value v) { return llvm::cast<ShapedType>(v.getType()).getNumElements(); }
  static Type elementType(Value v) { return llvm::cast<ShapedType>(v.getType()).getElementType(); }
  static std::vector<int64_t> stridesOf(llvm::ArrayRef<int64_t> shape);
  static std::string where(Operation *op) { return csrc::where(op); }
  /// Rounds a float/double expression to the stored type t.
  static std::string store(Type t, const std::string &expr);
  /// A 16-bit float read as float (other types as they are).
  static std::string load(Type t, const std::string &expr);
  /// The zero of t.
  static std::string zero(Type t);
  /// Statements declaring `int64_t PREFIX<d>`, the coordinates in `shape`
  /// (row-major) of the flat index `idx`; dims of 1 are 0.
  static std::string coords(llvm::ArrayRef<int64_t> shape, llvm::StringRef idx,
                            llvm::StringRef prefix);

  /// Host expression of v's device pointer, typed (an fp32 copy while
  /// widened).
  std::string name(Value v) const {
    auto [raw, type] = names.lookup(v);
    return "(" + type + " *)" + raw;
  }
  /// The C element type of name(v).
  std::string typeOf(Value v) const { return names.lookup(v).second; }
  /// Makes name(v) `(type *)raw` (an fp32 copy) until set back.
  void setName(Value v, const std::string &raw, const std::string &type) {
    names[v] = {raw, type};
  }
  std::pair<std::string, std::string> rawName(Value v) const { return names.lookup(v); }
  std::string freshName(llvm::StringRef prefix) {
    return prefix.str() + std::to_string(nextId++);
  }
  /// `char *` host expression of the op's planned workspace (NULL if none).
  std::string workspace() const { return "((char *)" + workspaceVar + ")"; }
  bool hasWorkspace() const { return workspaceVar != "NULL"; }

  /// The launcher's body (host code, inside `static int CNAME(...) {`).
  llvm::raw_ostream &host() { return hostOS; }
  /// `if (CALL != 0) return <error naming the op and pzrt_last_error()>;`
  void checkCall(Operation *op, llvm::StringRef call);
  /// Host statements declaring `int *pz_bad` (the device's check word) and
  /// `pz_check_id`, op's check reporting "WHERE: check"; inside a block.
  void checkWord(Operation *op, llvm::StringRef check);
  /// Ops an earlier op's emitter printed with its own (consecutive AdamW
  /// updates in one multi-tensor call): skipped when met.
  void markEmitted(Operation *op) { emitted.insert(op); }
  bool wasEmitted(Operation *op) const { return emitted.contains(op); }
  /// A statement returning -1 with the error "<op's where>: what".
  std::string failStmt(Operation *op, llvm::StringRef what) const;

  /// The parameter of `k` for v (added once): its name in the body.
  std::string param(GridKernel &k, Value v, bool isConst);
  /// A parameter of `k` with an explicit type and host argument.
  std::string param(GridKernel &k, const std::string &type, const std::string &arg);
  /// Prints k's _at function and kernel, and its launch into the launcher.
  void launch(Operation *op, GridKernel k);

private:
  llvm::raw_ostream &os;
  std::string cName;
  std::string hostText;
  llvm::raw_string_ostream hostOS{hostText};
  llvm::DenseMap<Value, std::pair<std::string, std::string>> names;
  std::string workspaceVar = "NULL";
  int nextId = 0;
  int nextKernel = 0;
  llvm::DenseSet<Operation *> emitted;
};

using Emitter = CUDAKernelEmitter;

LogicalResult emitMapOp(Operation *op, Emitter &e, bool &handled);
LogicalResult emitShapeOp(Operation *op, Emitter &e, bool &handled);
LogicalResult emitReduceOp(Operation *op, Emitter &e, bool &handled);
LogicalResult emitNNOp(Operation *op, Emitter &e, bool &handled);
LogicalResult emitTrainingOp(Operation *op, Emitter &e, bool &handled);
/// The fp32 calls of the attention ops and of the loss (inside emitWidened).
LogicalResult emitAttentionOp(Operation *op, Emitter &e);
LogicalResult emitCrossEntropyOp(Operation *op, Emitter &e);
/// Runs `emitKernel` on fp32 copies of op's bf16/f16 values
/// (TargetInfo::get("cuda")->widenedValues): widens operands into the
/// workspace before, narrows results after.
LogicalResult emitWidened(Operation *op, Emitter &e,
                          const std::function<LogicalResult()> &emitKernel);

} // namespace mlir::pz::cuda

#endif // PZ_LIB_TARGET_CUDA_CUDAKERNELEMITTER_H
