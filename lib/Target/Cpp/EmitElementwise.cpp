//===- EmitElementwise.cpp - elementwise ops as loops over static shapes --===//
//
// Every elementwise op becomes one loop nest over the result's shape; each
// operand is read through broadcast strides, and dims that all operands walk
// contiguously collapse, so same-shape operands give one flat loop the C++
// compiler vectorizes. Math is in the element type (std:: overloads), as
// PyTorch computes fp32 ops in fp32.
//
//===----------------------------------------------------------------------===//

#include "FunctionEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cpp;

using ExprFn = std::function<std::string(ArrayRef<std::string>)>;

/// result[i] = f(operands[i]...) with broadcasting.
static void emitMap(Operation *op, FunctionEmitter &e, ValueRange operands, const ExprFn &f) {
  Value r = op->getResult(0);
  ArrayRef<int64_t> outShape = FunctionEmitter::shape(r);
  std::vector<StridedRef> refs;
  refs.push_back({e.name(r), 0, FunctionEmitter::stridesOf(outShape)});
  for (Value v : operands)
    refs.push_back({e.name(v), 0,
                    FunctionEmitter::broadcastStrides(FunctionEmitter::shape(v), outShape)});
  e.emitStridedLoop(outShape, refs, [&](ArrayRef<std::string> idx) {
    return idx[0] + " = " + f(idx.drop_front()) + ";";
  });
}

static std::string lit(Type t, double v) {
  return t.isF32() ? floatLiteral(v, true) : "(" + FunctionEmitter::cType(t) + ")" + floatLiteral(v, false);
}

LogicalResult cpp::emitElementwiseOp(Operation *op, FunctionEmitter &e, bool &handled) {
  handled = true;
  Type et = op->getNumResults() ? FunctionEmitter::elementType(op->getResult(0)) : Type();
  std::string T = et ? FunctionEmitter::cType(et) : "";
  bool isFloat = et && llvm::isa<FloatType>(et);
  auto binary = [&](const char *sym) {
    emitMap(op, e, op->getOperands(), [sym](ArrayRef<std::string> a) {
      return "(" + a[0] + " " + sym + " " + a[1] + ")";
    });
    return success();
  };
  auto unary = [&](std::function<std::string(const std::string &)> f) {
    emitMap(op, e, op->getOperands(), [f](ArrayRef<std::string> a) { return f(a[0]); });
    return success();
  };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<AddOp>([&](auto) { return binary("+"); })
      .Case<SubOp>([&](auto) { return binary("-"); })
      .Case<MulOp>([&](auto) { return binary("*"); })
      .Case<DivOp>([&](auto) -> LogicalResult {
        if (isFloat)
          return binary("/");
        e.out() << "    { int pz_div0 = 0;\n";
        emitMap(op, e, op->getOperands(), [T](ArrayRef<std::string> a) {
          return "(" + a[1] + " == 0 ? (pz_div0 = 1, (" + T + ")0) : (" + T + ")(" + a[0] +
                 " / " + a[1] + "))";
        });
        e.out() << "    if (pz_div0) " << e.failStmt(op, "integer division by zero")
                << " }\n";
        return success();
      })
      .Case<PowOp>([&](auto) {
        emitMap(op, e, op->getOperands(), [T, isFloat](ArrayRef<std::string> a) {
          if (isFloat)
            return "std::pow(" + a[0] + ", " + a[1] + ")";
          return "(" + T + ")std::pow((double)" + a[0] + ", (double)" + a[1] + ")";
        });
        return success();
      })
      .Case<NegOp>([&](auto) { return unary([](auto &a) { return "(-" + a + ")"; }); })
      .Case<ExpOp>([&](auto) { return unary([](auto &a) { return "std::exp(" + a + ")"; }); })
      .Case<LogOp>([&](auto) { return unary([](auto &a) { return "std::log(" + a + ")"; }); })
      .Case<SqrtOp>([&](auto) { return unary([](auto &a) { return "std::sqrt(" + a + ")"; }); })
      .Case<RsqrtOp>([&](auto) {
        std::string one = lit(et, 1.0);
        return unary([one](auto &a) { return "(" + one + " / std::sqrt(" + a + "))"; });
      })
      .Case<TanhOp>([&](auto) { return unary([](auto &a) { return "std::tanh(" + a + ")"; }); })
      .Case<ErfOp>([&](auto) { return unary([](auto &a) { return "std::erf(" + a + ")"; }); })
      .Case<ReluOp>([&](auto) {
        std::string zero = lit(et, 0.0);
        return unary([zero](auto &a) {
          return "((" + a + " > " + zero + " || " + a + " != " + a + ") ? " + a + " : " + zero + ")";
        });
      })
      .Case<SigmoidOp>([&](auto) {
        std::string one = lit(et, 1.0);
        return unary([one](auto &a) { return "(" + one + " / (" + one + " + std::exp(-" + a + ")))"; });
      })
      .Case<SiluOp>([&](auto) {
        std::string one = lit(et, 1.0);
        return unary([one](auto &a) { return "(" + a + " / (" + one + " + std::exp(-" + a + ")))"; });
      })
      .Case<GeluOp>([&](GeluOp g) -> LogicalResult {
        if (!et.isF32())
          return op->emitError() << "CPU backend: gelu computes in f32 only";
        int approx = g.getApproximate() == GeluApproximation::erf ? 0 : 1;
        e.out() << "    pzrt_gelu_fwd(" << e.name(g.getInput()) << ", " << e.name(g.getResult())
                << ", " << FunctionEmitter::numel(g.getResult()) << ", " << approx << ");\n";
        return success();
      })
      .Case<GeluGradOp>([&](GeluGradOp g) -> LogicalResult {
        if (!et.isF32() || g.getGrad().getType() != g.getInput().getType())
          return op->emitError() << "CPU backend: gelu_grad needs f32 operands of one shape";
        int approx = g.getApproximate() == GeluApproximation::erf ? 0 : 1;
        e.out() << "    pzrt_gelu_bwd(" << e.name(g.getInput()) << ", " << e.name(g.getGrad())
                << ", " << e.name(g.getResult()) << ", " << FunctionEmitter::numel(g.getResult())
                << ", " << approx << ");\n";
        return success();
      })
      .Case<ReluGradOp>([&](auto) {
        std::string zero = lit(et, 0.0);
        emitMap(op, e, op->getOperands(), [zero](ArrayRef<std::string> a) {
          return "(" + a[1] + " > " + zero + " ? " + a[0] + " : " + zero + ")";
        });
        return success();
      })
      .Case<CompareOp>([&](CompareOp c) {
        const char *sym = "==";
        switch (c.getPredicate()) {
        case ComparePredicate::eq: sym = "=="; break;
        case ComparePredicate::lt: sym = "<"; break;
        case ComparePredicate::le: sym = "<="; break;
        case ComparePredicate::gt: sym = ">"; break;
        case ComparePredicate::ge: sym = ">="; break;
        }
        std::string s = sym;
        emitMap(op, e, op->getOperands(), [s](ArrayRef<std::string> a) {
          return "(uint8_t)(" + a[0] + " " + s + " " + a[1] + ")";
        });
        return success();
      })
      .Case<NotOp>([&](auto) { return unary([](auto &a) { return "(uint8_t)(" + a + " == 0)"; }); })
      .Case<WhereOp>([&](auto) {
        emitMap(op, e, op->getOperands(), [](ArrayRef<std::string> a) {
          return "(" + a[0] + " ? " + a[1] + " : " + a[2] + ")";
        });
        return success();
      })
      .Case<CastOp>([&](CastOp c) -> LogicalResult {
        Type from = FunctionEmitter::elementType(c.getInput());
        if (et.isInteger(1))
          return unary([](auto &a) { return "(uint8_t)(" + a + " != 0)"; });
        if (llvm::isa<FloatType>(from) && !isFloat)
          return unary([T](auto &a) { return "(" + T + ")std::trunc(" + a + ")"; });
        return unary([T](auto &a) { return "(" + T + ")" + a; });
      })
      .Case<BroadcastOp>([&](auto) { return unary([](auto &a) { return a; }); })
      .Default([&](Operation *) {
        handled = false;
        return success();
      });
}
