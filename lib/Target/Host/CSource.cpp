//===- CSource.cpp - C/C++ source text helpers for the emitters -----------===//

#include "pz/Target/CSource.h"

#include "pz/Support/Limits.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::pz;

std::string csrc::cString(StringRef s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += (c >= 32 && c < 127) ? c : '?';
  }
  return out + "\"";
}

std::string csrc::floatLiteral(double v, bool isFloat) {
  if (std::isnan(v))
    return isFloat ? "NAN" : "(double)NAN";
  if (std::isinf(v))
    return std::string(v < 0 ? "-" : "") + (isFloat ? "INFINITY" : "(double)INFINITY");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a%s", v, isFloat ? "f" : "");
  return buf;
}

std::string csrc::intList(ArrayRef<int64_t> values) {
  std::string s = "{";
  for (auto [i, v] : llvm::enumerate(values)) {
    if (i)
      s += ", ";
    s += v == INT64_MIN ? "INT64_MIN" : "INT64_C(" + std::to_string(v) + ")";
  }
  return s + "}";
}

std::string csrc::dtypeName(Type e) {
  return e.isF32() ? "PZRT_F32" : e.isF64() ? "PZRT_F64" : e.isF16() ? "PZRT_F16"
         : e.isBF16() ? "PZRT_BF16" : e.isUnsignedInteger(8) ? "PZRT_U8"
         : e.isUnsignedInteger(16) ? "PZRT_U16" : e.isUnsignedInteger(32) ? "PZRT_U32"
         : e.isUnsignedInteger(64) ? "PZRT_U64" : e.isSignlessInteger(64) ? "PZRT_I64"
         : e.isSignlessInteger(32) ? "PZRT_I32" : e.isSignlessInteger(1) ? "PZRT_U8"
         : e.isSignlessInteger(16) ? "PZRT_I16" : e.isSignlessInteger(8) ? "PZRT_I8"
                                                                         : "";
}

FailureOr<std::string> csrc::tensorSpec(Location loc, StringRef name, Type type) {
  auto t = llvm::cast<ShapedType>(type);
  std::string dtype = dtypeName(t.getElementType());
  if (dtype.empty())
    return emitError(loc) << "no runtime dtype for " << t.getElementType();
  if (t.getRank() > 8)
    return emitError(loc) << "rank " << t.getRank() << " exceeds the runtime's 8";
  // The runtime sizes its buffers from these shapes: they must be static and
  // within the tensor bound, so that its products cannot overflow.
  if (!t.hasStaticShape() || !boundedElementCount(t.getShape()))
    return emitError(loc) << "'" << name << "' has type " << type
                          << ", which is dynamic or holds more than " << kMaxTensorElements
                          << " elements";
  return "{" + cString(name) + ", " + dtype + ", " + std::to_string(t.getRank()) + ", " +
         intList(t.getShape()) + "}";
}

std::string csrc::where(Operation *op) {
  std::string s;
  llvm::raw_string_ostream ss(s);
  Location loc = op->getLoc();
  if (auto fused = llvm::dyn_cast<FusedLoc>(loc))
    loc = fused.getLocations().front();
  if (auto n = llvm::dyn_cast<NameLoc>(loc))
    ss << n.getName().getValue();
  else
    loc.print(ss);
  std::string out = op->getName().getStringRef().str() + " '" + s + "'";
  // Keep the literal printable inside a C string.
  std::string esc;
  for (char c : out) {
    if (c == '"' || c == '\\')
      esc += '\\';
    esc += (c >= 32 && c < 127) ? c : '?';
  }
  return esc;
}

std::string csrc::elementLiteral(DenseElementsAttr attr, int64_t i) {
  Type et = attr.getElementType();
  if (llvm::isa<FloatType>(et)) {
    double v = attr.isSplat() ? attr.getSplatValue<APFloat>().convertToDouble()
                              : (*(attr.value_begin<APFloat>() + i)).convertToDouble();
    return floatLiteral(v, et.isF32());
  }
  APInt v = attr.isSplat() ? attr.getSplatValue<APInt>() : *(attr.value_begin<APInt>() + i);
  if (et.isInteger(1))
    return v.isZero() ? "0" : "1";
  if (et.isUnsignedInteger())
    return "UINT64_C(" + std::to_string(v.getZExtValue()) + ")";
  int64_t s = v.getSExtValue();
  return s == INT64_MIN ? "INT64_MIN" : "INT64_C(" + std::to_string(s) + ")";
}
