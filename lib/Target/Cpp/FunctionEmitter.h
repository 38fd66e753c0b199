//===- FunctionEmitter.h - emitting one step function as C++ ----*- C++ -*-===//

#ifndef PZ_LIB_TARGET_CPP_FUNCTIONEMITTER_H
#define PZ_LIB_TARGET_CPP_FUNCTIONEMITTER_H

#include "pz/Dialect/PZ/Transforms/MemoryPlan.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/raw_ostream.h"

#include <functional>
#include <string>
#include <vector>

namespace mlir::pz::cpp {

/// One operand of a strided loop: a data pointer, a base offset and one
/// element stride per loop dim (0 broadcasts).
struct StridedRef {
  std::string ptr;
  int64_t base = 0;
  std::vector<int64_t> strides;
};

class FunctionEmitter {
public:
  FunctionEmitter(func::FuncOp fn, FunctionMemory &mem, llvm::raw_ostream &globals,
                  llvm::raw_ostream &os)
      : fn(fn), mem(mem), globals(globals), os(os) {}

  LogicalResult emit(llvm::StringRef cName, llvm::ArrayRef<int> resultAliasesArg);

  // ---- for the op emitters ----
  /// The C variable holding v's data (typed pointer).
  std::string name(Value v) const { return names.lookup(v); }
  /// C element type: float, double, pzrt::f16, pzrt::bf16, int64_t,
  /// int32_t, uint8_t (ui8 and i1), uint16_t, uint32_t, uint64_t.
  static std::string cType(Type elementType);
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
  std::string workspace(Operation *op) const;
  /// A C statement that records an error naming the op and returns -1.
  std::string failStmt(Operation *op, llvm::StringRef what) const;
  /// The same with printf arguments: `fmt` uses them after the op's name.
  std::string failStmt(Operation *op, llvm::StringRef fmt, llvm::StringRef args) const;
  /// `if (CALL != 0) return <error naming the op and pzrt_last_error()>;`
  void checkCall(Operation *op, llvm::StringRef call);
  /// The op's location as a short string (the ONNX node name if any).
  static std::string where(Operation *op);

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
  LogicalResult emitConstant(Operation *op, Value result);
  void declare(Value v, const std::string &expr);

  func::FuncOp fn;
  FunctionMemory &mem;
  llvm::raw_ostream &globals;
  llvm::raw_ostream &os;
  llvm::DenseMap<Value, std::string> names;
  int nextId = 0;
  std::string prefix;
};

/// Emits the C++ of one pz op (not constants, views or func.return).
LogicalResult emitOp(Operation *op, FunctionEmitter &e);
LogicalResult emitElementwiseOp(Operation *op, FunctionEmitter &e, bool &handled);
LogicalResult emitShapeOp(Operation *op, FunctionEmitter &e, bool &handled);
LogicalResult emitNNOp(Operation *op, FunctionEmitter &e, bool &handled);
LogicalResult emitTrainingOp(Operation *op, FunctionEmitter &e, bool &handled);
LogicalResult emitReduceOp(Operation *op, FunctionEmitter &e, bool &handled);

/// The includes and helpers every generated program starts with.
std::string programPrelude();
/// `{"name", PZRT_F32, 2, {3, 4}}`; fails for element types without a pzrt dtype.
FailureOr<std::string> tensorSpec(Location loc, llvm::StringRef name, Type type);
/// An entry of the function's pz.memory_plan (0 when it has none).
int64_t memoryPlanValue(func::FuncOp fn, llvm::StringRef key);
/// A C string literal.
std::string cString(llvm::StringRef s);

/// A C++ literal of a float/double value that reads back exactly.
std::string floatLiteral(double v, bool isFloat);
/// `{a, b, c}` of int64 values.
std::string intList(llvm::ArrayRef<int64_t> values);

} // namespace mlir::pz::cpp

#endif // PZ_LIB_TARGET_CPP_FUNCTIONEMITTER_H
