//===- RoundTripDouble.h - a pass option double that prints exactly -*- C++ -*-===//
//
// MLIR prints a `double` pass option through raw_ostream, with 7 significant
// digits (`lr=3.141593e-04`), so a printed pipeline (--dump-pass-pipeline,
// `parallelize compile --print-pipeline`, crash reproducers) would replay with
// a different value than it ran with. A pass option of this type holds a
// double and prints the shortest decimal form that reads back to the same
// bits (at most 17 significant digits). It converts to and from double, so
// pass code reads it as one.
//
// Header only: the pass libraries and the tools use it without a link
// dependency.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_SUPPORT_ROUNDTRIPDOUBLE_H
#define PZ_SUPPORT_ROUNDTRIPDOUBLE_H

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace mlir::pz {

struct RoundTripDouble {
  double value = 0;

  RoundTripDouble() = default;
  RoundTripDouble(double v) : value(v) {}
  operator double() const { return value; }
};

/// The shortest "%.Ng" form (N = 15..17) that strtod reads back to `v`.
inline std::string formatRoundTrip(double v) {
  char text[40];
  for (int digits = 15; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, v);
    if (std::strtod(text, nullptr) == v)
      break;
  }
  return text;
}

inline llvm::raw_ostream &operator<<(llvm::raw_ostream &os, RoundTripDouble d) {
  return os << formatRoundTrip(d.value);
}

} // namespace mlir::pz

namespace llvm::cl {

/// Option values keep a copy of the default (to print it in --help).
template <>
struct OptionValue<mlir::pz::RoundTripDouble> final
    : OptionValueCopy<mlir::pz::RoundTripDouble> {
  using WrapperType = mlir::pz::RoundTripDouble;

  OptionValue() = default;
  OptionValue(const mlir::pz::RoundTripDouble &v) { this->setValue(v); }
  template <class DT> OptionValue &operator=(const DT &v) {
    this->setValue(v);
    return *this;
  }
};

/// Parses a number as cl::parser<double> does (strtod).
template <>
class parser<mlir::pz::RoundTripDouble>
    : public basic_parser<mlir::pz::RoundTripDouble> {
public:
  parser(Option &o) : basic_parser(o) {}

  bool parse(Option &o, StringRef argName, StringRef arg,
             mlir::pz::RoundTripDouble &value) {
    if (!llvm::to_float(arg, value.value))
      return o.error("'" + arg + "' value invalid for floating point argument!");
    return false;
  }

  StringRef getValueName() const override { return "number"; }

  void printOptionDiff(const Option &o, mlir::pz::RoundTripDouble value,
                       const OptionValue<mlir::pz::RoundTripDouble> &defaultValue,
                       size_t globalWidth) const {
    printOptionName(o, globalWidth);
    outs() << "= " << value;
    if (defaultValue.hasValue())
      outs() << " (default: " << defaultValue.getValue() << ")";
    outs() << "\n";
  }
};

} // namespace llvm::cl

#endif // PZ_SUPPORT_ROUNDTRIPDOUBLE_H
