//===- EmitElementwise.cpp - element-map ops and fused loops --------------===//
//
// Every element-map op becomes one loop nest over the result's shape; each
// operand is read through broadcast strides, and dims that all operands walk
// contiguously collapse, so same-shape operands give one flat loop the C++
// compiler vectorizes. A pz.fused op is one loop nest over its domain whose
// body computes each inner value into a scalar of its own element type, so
// it rounds exactly as the separate ops would. Math is in the element type
// (std:: overloads; 16-bit floats compute in float), as PyTorch computes
// fp32 ops in fp32.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cpp;

using FE = KernelEmitter;

static std::string lit(Type t, double v) {
  return t.isF32() ? floatLiteral(v, true) : "(" + FE::cType(t) + ")" + floatLiteral(v, false);
}

/// Whether the op is an integer division (which checks for a zero divisor
/// through the flag `pz_div0`).
static bool isIntegerDiv(Operation *op) {
  return llvm::isa<DivOp>(op) && !llvm::isa<FloatType>(FE::elementType(op->getResult(0)));
}

/// The C expression of one element of an element-map op's result, given the
/// expressions of its operands' elements.
static std::string elementExpr(Operation *op, ArrayRef<std::string> a) {
  Type et = FE::elementType(op->getResult(0));
  std::string T = FE::cType(et);
  bool isFloat = llvm::isa<FloatType>(et);
  auto call = [&](const char *fn) { return std::string(fn) + "(" + a[0] + ")"; };
  // Integer +, -, * and negation wrap modulo 2^width: they run in an
  // unsigned type at least as wide as int, so that neither a signed
  // overflow nor the promotion of narrow types to int (uint16_t * uint16_t)
  // is undefined, and the store back to T keeps the low bits.
  std::string U = isFloat ? "" : et.getIntOrFloatBitWidth() > 32 ? "uint64_t" : "uint32_t";
  auto arith = [&](const char *sym) {
    if (isFloat)
      return "(" + a[0] + " " + sym + " " + a[1] + ")";
    return "(" + T + ")((" + U + ")" + a[0] + " " + sym + " (" + U + ")" + a[1] + ")";
  };
  return llvm::TypeSwitch<Operation *, std::string>(op)
      .Case<AddOp>([&](auto) { return arith("+"); })
      .Case<SubOp>([&](auto) { return arith("-"); })
      .Case<MulOp>([&](auto) { return arith("*"); })
      .Case<DivOp>([&](auto) {
        if (isFloat)
          return "(" + a[0] + " / " + a[1] + ")";
        // Signed MIN / -1 wraps to MIN (the quotient 2^(width-1) wraps)
        // instead of trapping.
        std::string q = "(" + T + ")(" + a[0] + " / " + a[1] + ")";
        if (!et.isUnsignedInteger())
          q = "(" + a[1] + " == -1 ? (" + T + ")(0u - (" + U + ")" + a[0] + ") : " + q + ")";
        return "(" + a[1] + " == 0 ? (pz_div0 = 1, (" + T + ")0) : " + q + ")";
      })
      .Case<MaxOp, MinOp>([&](Operation *o) {
        // numpy's maximum/minimum: a NaN on either side gives NaN (the
        // comparison is false when b is NaN, so b is taken).
        std::string keep = "(" + a[0] + (llvm::isa<MaxOp>(o) ? " >= " : " <= ") + a[1] + ")";
        if (isFloat)
          keep = "(" + a[0] + " != " + a[0] + " || " + keep + ")";
        return "(" + keep + " ? " + a[0] + " : " + a[1] + ")";
      })
      .Case<PowOp>([&](auto) {
        if (isFloat)
          return "std::pow(" + a[0] + ", " + a[1] + ")";
        return "(" + T + ")std::pow((double)" + a[0] + ", (double)" + a[1] + ")";
      })
      .Case<NegOp>([&](auto) {
        if (isFloat)
          return "(-" + a[0] + ")";
        return "(" + T + ")(0u - (" + U + ")" + a[0] + ")";
      })
      .Case<ExpOp>([&](auto) { return call("std::exp"); })
      .Case<LogOp>([&](auto) { return call("std::log"); })
      .Case<SqrtOp>([&](auto) { return call("std::sqrt"); })
      .Case<RsqrtOp>([&](auto) { return "(" + lit(et, 1.0) + " / std::sqrt(" + a[0] + "))"; })
      .Case<TanhOp>([&](auto) { return call("std::tanh"); })
      .Case<ErfOp>([&](auto) { return call("std::erf"); })
      .Case<SinOp>([&](auto) { return call("std::sin"); })
      .Case<CosOp>([&](auto) { return call("std::cos"); })
      .Case<AbsOp>([&](auto) {
        if (isFloat)
          return call("std::fabs");
        if (et.isUnsignedInteger())
          return a[0];
        return "(" + a[0] + " < 0 ? (" + T + ")(0u - (" + U + ")" + a[0] + ") : " + a[0] + ")";
      })
      .Case<SignOp>([&](auto) {
        std::string zero = isFloat ? lit(et, 0.0) : "(" + T + ")0";
        std::string one = isFloat ? lit(et, 1.0) : "(" + T + ")1";
        std::string minus = isFloat ? lit(et, -1.0) : "(" + T + ")-1";
        if (et.isUnsignedInteger())
          return "(" + a[0] + " > 0 ? " + one + " : " + zero + ")";
        // NaN stays NaN (the comparisons are false, a[0] passes through).
        return "(" + a[0] + " > " + zero + " ? " + one + " : " + a[0] + " < " + zero + " ? " +
               minus + " : " + a[0] + ")";
      })
      .Case<ReluOp>([&](auto) {
        std::string zero = lit(et, 0.0);
        return "((" + a[0] + " > " + zero + " || " + a[0] + " != " + a[0] + ") ? " + a[0] +
               " : " + zero + ")";
      })
      .Case<SigmoidOp>([&](auto) {
        std::string one = lit(et, 1.0);
        return "(" + one + " / (" + one + " + std::exp(-" + a[0] + ")))";
      })
      .Case<SiluOp>([&](auto) {
        return "(" + a[0] + " / (" + lit(et, 1.0) + " + std::exp(-" + a[0] + ")))";
      })
      .Case<ReluGradOp>([&](auto) {
        std::string zero = lit(et, 0.0);
        return "(" + a[1] + " > " + zero + " ? " + a[0] + " : " + zero + ")";
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
        return "(uint8_t)(" + a[0] + " " + sym + " " + a[1] + ")";
      })
      .Case<NotOp>([&](auto) { return "(uint8_t)(" + a[0] + " == 0)"; })
      .Case<WhereOp>([&](auto) { return "(" + a[0] + " ? " + a[1] + " : " + a[2] + ")"; })
      .Case<CastOp>([&](CastOp c) {
        Type from = FE::elementType(c.getInput());
        if (et.isInteger(1))
          return "(uint8_t)(" + a[0] + " != 0)";
        // Floats to integers truncate toward zero and then wrap like the
        // integer conversions (through int64_t; ui64 takes [2^63, 2^64)
        // directly), as the interpreter does.
        if (llvm::isa<FloatType>(from) && !isFloat) {
          std::string t = "std::trunc(" + a[0] + ")";
          if (et.isUnsignedInteger(64))
            return "(" + t + " >= 0x1p63 ? (uint64_t)" + t + " : (uint64_t)(int64_t)" + t + ")";
          if (et.isInteger(64))
            return "(" + T + ")" + t;
          return "(" + T + ")(int64_t)" + t;
        }
        return "(" + T + ")" + a[0];
      })
      .Case<BroadcastOp>([&](auto) { return a[0]; })
      .Default([&](Operation *) { return std::string(); });
}

/// Whether elementExpr knows the op (placeholder operands).
static bool hasElementExpr(Operation *op) {
  return !elementExpr(op, {"x", "y", "z"}).empty();
}

/// Wraps the loop of ops that may divide integers by zero in the flag's
/// scope and its check.
static void withDiv0Flag(Operation *op, FE &e, bool needed, const std::function<void()> &loop) {
  if (needed)
    e.out() << "    { int pz_div0 = 0;\n";
  loop();
  if (needed)
    e.out() << "    if (pz_div0) " << e.failStmt(op, "integer division by zero") << " }\n";
}

/// result[i] = f(operands[i]...) with broadcasting.
static void emitMap(Operation *op, FE &e) {
  Value r = op->getResult(0);
  ArrayRef<int64_t> outShape = FE::shape(r);
  std::vector<StridedRef> refs;
  refs.push_back({e.name(r), 0, FE::stridesOf(outShape)});
  for (Value v : op->getOperands())
    refs.push_back({e.name(v), 0, FE::broadcastStrides(FE::shape(v), outShape)});
  withDiv0Flag(op, e, isIntegerDiv(op), [&] {
    e.emitStridedLoop(outShape, refs, [&](ArrayRef<std::string> idx) {
      return idx[0] + " = " + elementExpr(op, idx.drop_front()) + ";";
    });
  });
}

/// One loop over the domain: inner values are scalars, yielded ones stored.
static LogicalResult emitFused(FusedOp f, FE &e) {
  ArrayRef<int64_t> domain = f.getDomain();
  Block &body = f.getBody().front();
  auto yield = llvm::cast<YieldOp>(body.getTerminator());
  std::vector<StridedRef> refs;
  for (Value r : f.getResults())
    refs.push_back({e.name(r), 0, FE::stridesOf(domain)});
  for (Value in : f.getInputs())
    refs.push_back({e.name(in), 0, FE::broadcastStrides(FE::shape(in), domain)});
  bool div0 = false;
  for (Operation &op : body.without_terminator()) {
    if (!hasElementExpr(&op))
      return op.emitError() << "CPU backend: no element expression for " << op.getName();
    div0 |= isIntegerDiv(&op);
  }
  withDiv0Flag(f, e, div0, [&] {
    e.emitStridedLoop(domain, refs, [&](ArrayRef<std::string> idx) {
      llvm::DenseMap<Value, std::string> scalar;
      for (auto [i, arg] : llvm::enumerate(body.getArguments()))
        scalar[arg] = idx[f.getNumResults() + i];
      std::string s = "{";
      for (Operation &op : body.without_terminator()) {
        std::vector<std::string> args;
        for (Value v : op.getOperands())
          args.push_back(scalar.lookup(v));
        std::string t = "t" + std::to_string(scalar.size());
        s += " " + FE::cType(FE::elementType(op.getResult(0))) + " " + t + " = " +
             elementExpr(&op, args) + ";";
        scalar[op.getResult(0)] = t;
      }
      for (auto [i, v] : llvm::enumerate(yield.getValues()))
        s += " " + idx[i] + " = " + scalar.lookup(v) + ";";
      return s + " }";
    });
  });
  return success();
}

/// GELU through the runtime's fp32 kernels (bf16/f16 widened around them).
static LogicalResult emitGelu(GeluOp g, FE &e) {
  int approx = g.getApproximate() == GeluApproximation::erf ? 0 : 1;
  e.out() << "    pzrt_gelu_fwd(" << e.name(g.getInput()) << ", " << e.name(g.getResult())
          << ", " << FE::numel(g.getResult()) << ", " << approx << ");\n";
  return success();
}

static LogicalResult emitGeluGrad(GeluGradOp g, FE &e) {
  if (g.getGrad().getType() != g.getInput().getType())
    return g.emitError() << "CPU backend: gelu_grad needs operands of one type";
  int approx = g.getApproximate() == GeluApproximation::erf ? 0 : 1;
  e.out() << "    pzrt_gelu_bwd(" << e.name(g.getInput()) << ", " << e.name(g.getGrad()) << ", "
          << e.name(g.getResult()) << ", " << FE::numel(g.getResult()) << ", " << approx
          << ");\n";
  return success();
}

LogicalResult cpp::emitElementwiseOp(Operation *op, FE &e, bool &handled) {
  handled = true;
  if (op->hasTrait<traits::ElementMap>()) {
    if (!hasElementExpr(op))
      return op->emitError() << "CPU backend: no element expression for " << op->getName();
    emitMap(op, e);
    return success();
  }
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<FusedOp>([&](FusedOp f) { return emitFused(f, e); })
      .Case<GeluOp>([&](GeluOp g) {
        return emitWidened(op, e, [&] { return emitGelu(g, e); });
      })
      .Case<GeluGradOp>([&](GeluGradOp g) {
        return emitWidened(op, e, [&] { return emitGeluGrad(g, e); });
      })
      .Default([&](Operation *) {
        handled = false;
        return success();
      });
}
