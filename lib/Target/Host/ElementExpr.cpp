//===- ElementExpr.cpp - scalar C expressions of element maps -------------===//
//
// Math is in the element type (std:: overloads; 16-bit floats compute in
// float), as PyTorch computes fp32 ops in fp32.
//
//===----------------------------------------------------------------------===//

#include "pz/Target/ElementExpr.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Target/CSource.h"

#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pz;
using csrc::floatLiteral;

static bool isHalf(Type t) { return t.isF16() || t.isBF16(); }

static Type elementTypeOf(Value v) { return getElementTypeOrSelf(v.getType()); }

/// Whether the op is an integer division (which checks for a zero divisor
/// through the flag `pz_div0`).
bool mlir::pz::isIntegerDiv(Operation *op) {
  return llvm::isa<DivOp>(op) && !llvm::isa<FloatType>(elementTypeOf(op->getResult(0)));
}

/// The C expression of one element of an element-map op's result, given the
/// expressions of its operands' elements.
std::string mlir::pz::elementExpr(Operation *op, ArrayRef<std::string> operands,
                                  const ElementExprStyle &style) {
  Type et = elementTypeOf(op->getResult(0));
  std::string T = style.cType(et);
  // Explicit 16-bit floats are read as float.
  std::vector<std::string> a(operands.begin(), operands.end());
  if (style.explicitHalf)
    for (auto [i, v] : llvm::enumerate(op->getOperands())) {
      Type t = elementTypeOf(v);
      if (i < a.size() && isHalf(t))
        a[i] = (t.isBF16() ? "__bfloat162float(" : "__half2float(") + a[i] + ")";
    }
  auto lit = [&](Type t, double v) {
    if (t.isF32() || (style.explicitHalf && isHalf(t)))
      return floatLiteral(v, true);
    return "(" + style.cType(t) + ")" + floatLiteral(v, false);
  };
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
        Type from = elementTypeOf(c.getInput());
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
        if (style.explicitHalf && isHalf(et))
          return std::string(et.isBF16() ? "__bfloat162float(pz_to_bf16(" : "__half2float(pz_to_f16(") +
                 operands[0] + "))";
        return "(" + T + ")" + a[0];
      })
      .Case<BroadcastOp>([&](auto) { return a[0]; })
      .Default([&](Operation *) { return std::string(); });
}

/// Whether elementExpr knows the op (placeholder operands).
bool mlir::pz::hasElementExpr(Operation *op) {
  ElementExprStyle s{[](Type) { return std::string("T"); }, false};
  return !elementExpr(op, {"x", "y", "z"}, s).empty();
}

std::string mlir::pz::cTypeName(Type t, StringRef f16, StringRef bf16) {
  if (t.isF32())
    return "float";
  if (t.isF64())
    return "double";
  if (t.isF16())
    return f16.str();
  if (t.isBF16())
    return bf16.str();
  if (t.isUnsignedInteger())
    switch (t.getIntOrFloatBitWidth()) {
    case 8:
      return "uint8_t";
    case 16:
      return "uint16_t";
    case 32:
      return "uint32_t";
    case 64:
      return "uint64_t";
    default:
      return "";
    }
  if (t.isInteger(64))
    return "int64_t";
  if (t.isInteger(32))
    return "int32_t";
  if (t.isSignlessInteger(16))
    return "int16_t";
  if (t.isSignlessInteger(8))
    return "int8_t";
  if (t.isInteger(1))
    return "uint8_t";
  return "";
}
