//===- KernelEmitter.h - one kernel of the CPU backend as C++ ---*- C++ -*-===//
//
// A kernel of the @kernels module holds one pz op (or one pz.fused loop). The
// CPU backend prints it as
//   static int NAME(pzrt_step_ctx *ctx, void *const *b)
// with typed pointers to b[] (inputs, results, workspace) and the op's C++:
// a call of a runtime CPU kernel (GEMM, norms, attention, ...) or a loop nest
// over static shapes (element maps, shape ops, reductions).
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_TARGET_CPU_KERNELEMITTER_H
#define PZ_LIB_TARGET_CPU_KERNELEMITTER_H

#include "pz/Target/CSource.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <string>
#include <vector>

namespace mlir::pz::cpp {

using csrc::floatLiteral;
using csrc::intList;

/// One operand of a strided loop: a data pointer, a base offset and one
/// element stride per loop dim (0 broadcasts).
struct StridedRef {
  std::string ptr;
  int64_t base = 0;
  std::vector<int64_t> strides;
};

class KernelEmitter {
public:
  explicit KernelEmitter(llvm::raw_ostream &os) : os(os) {}

  /// Emits `kernel` as the C++ function `cName`.
  LogicalResult emit(func::FuncOp kernel, llvm::StringRef cName);

  // ---- for the op emitters ----
  /// The C variable holding v's data (typed pointer).
  std::string name(Value v) const { return names.lookup(v); }
  /// Makes `name(v)` answer `var` (an fp32 copy of v) until it is set back.
  void setName(Value v, const std::string &var) { names[v] = var; }
  /// A C variable name not used before in this kernel.
  std::string freshName(llvm::StringRef prefix) {
    return prefix.str() + std::to_string(nextId++);
  }
  /// C element type: float, double, pzrt::f16, pzrt::bf16, int64_t,
  /// int32_t, uint8_t (ui8 and i1), uint16_t, uint32_t, uint64_t.
  static std::string cType(Type elementType);
  /// Bytes of one element in a buffer (i1 as one byte).
  static int64_t storageBytes(Type elementType);
  static llvm::ArrayRef<int64_t> shape(Value v) {
    return llvm::cast<RankedTensorType>(v.getType()).getShape();
  }
  static int64_t numel(Value v) {
    return llvm::cast<RankedTensorType>(v.getType()).getNumElements();
  }
  static Type elementType(Value v) {
    return llvm::cast<RankedTensorType>(v.getType()).getElementType();
  }
  llvm::raw_ostream &out() { return os; }
  /// `char *` expression of the op's workspace.
  std::string workspace(Operation *op) const { return "((char *)" + workspaceVar + ")"; }
  /// A C statement that records an error naming the op and returns -1.
  std::string failStmt(Operation *op, llvm::StringRef what) const;
  /// The same with printf arguments: `fmt` uses them after the op's name.
  std::string failStmt(Operation *op, llvm::StringRef fmt, llvm::StringRef args) const;
  /// `if (CALL != 0) return <error naming the op and pzrt_last_error()>;`
  void checkCall(Operation *op, llvm::StringRef call);
  /// The op's location as a short string (the ONNX node name if any).
  static std::string where(Operation *op) { return csrc::where(op); }

  /// Emits loops over `dims` (collapsing dims that every ref walks
  /// contiguously); `body` gets the C index expression of each ref and
  /// returns one statement.
  void emitStridedLoop(llvm::ArrayRef<int64_t> dims, std::vector<StridedRef> refs,
                       const std::function<std::string(llvm::ArrayRef<std::string>)> &body);

  /// Row-major strides of a shape.
  static std::vector<int64_t> stridesOf(llvm::ArrayRef<int64_t> shape);
  /// Strides of `in` broadcast (numpy rules) to `out` (0 on broadcast dims).
  static std::vector<int64_t> broadcastStrides(llvm::ArrayRef<int64_t> in,
                                               llvm::ArrayRef<int64_t> out);

private:
  void declare(Value v, const std::string &expr);

  llvm::raw_ostream &os;
  llvm::DenseMap<Value, std::string> names;
  std::string workspaceVar = "NULL";
  int nextId = 0;
};

/// Emits the C++ of one pz op.
LogicalResult emitOp(Operation *op, KernelEmitter &e);
LogicalResult emitElementwiseOp(Operation *op, KernelEmitter &e, bool &handled);
LogicalResult emitShapeOp(Operation *op, KernelEmitter &e, bool &handled);
LogicalResult emitNNOp(Operation *op, KernelEmitter &e, bool &handled);
LogicalResult emitTrainingOp(Operation *op, KernelEmitter &e, bool &handled);
LogicalResult emitReduceOp(Operation *op, KernelEmitter &e, bool &handled);
/// Runs `emitKernel` (the call of an fp32-only kernel) on fp32 copies of
/// op's bf16/fp16 operands and results (TargetInfo::widenedValues): widens
/// the operands into the op's workspace first, rounds each result once after.
LogicalResult emitWidened(Operation *op, KernelEmitter &e,
                          const std::function<LogicalResult()> &emitKernel);

} // namespace mlir::pz::cpp

#endif // PZ_LIB_TARGET_CPU_KERNELEMITTER_H
