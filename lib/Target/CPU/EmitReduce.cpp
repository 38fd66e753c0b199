//===- EmitReduce.cpp - reductions, cumsum and the reduce_max gradient ----===//
//
// A reduction is one loop nest over the kept dims (the result, in order)
// around one over the reduced dims; sums accumulate in double. Reducing
// leading dims (bias gradients) instead sweeps rows into a column
// accumulator so that memory is read contiguously.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cpp;

using FE = KernelEmitter;

namespace {
/// Loops over the kept (`k*`) and reduced (`r*`) dims of an input shape.
struct ReduceLoops {
  std::vector<int64_t> shape, strides;
  std::vector<bool> reduced;
  int64_t count = 1; // elements per slice

  ReduceLoops(ArrayRef<int64_t> s, ArrayRef<int64_t> axes)
      : shape(s.begin(), s.end()), strides(FE::stridesOf(s)), reduced(s.size(), false) {
    for (int64_t a : axes) {
      reduced[a] = true;
      count *= s[a];
    }
  }
  /// Opens the loops of one kind; returns how many were opened.
  int open(llvm::raw_ostream &os, bool ofReduced, int indent) const {
    int n = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      if (reduced[d] == ofReduced) {
        os << std::string(indent + 2 * n, ' ') << "for (int64_t " << (ofReduced ? 'r' : 'k') << d
           << " = 0; " << (ofReduced ? 'r' : 'k') << d << " < " << shape[d] << "; ++"
           << (ofReduced ? 'r' : 'k') << d << ") {\n";
        ++n;
      }
    return n;
  }
  static void close(llvm::raw_ostream &os, int n, int indent) {
    for (int i = n - 1; i >= 0; --i)
      os << std::string(indent + 2 * i, ' ') << "}\n";
  }
  /// The input offset of the current (k, r) indices.
  std::string offset() const {
    std::string e = "0";
    for (size_t d = 0; d < shape.size(); ++d)
      e += std::string(" + ") + (reduced[d] ? 'r' : 'k') + std::to_string(d) + " * " +
           std::to_string(strides[d]);
    return e;
  }
  bool leadingOnly() const {
    bool seenKept = false;
    for (bool r : reduced) {
      if (!r)
        seenKept = true;
      else if (seenKept)
        return false;
    }
    return true;
  }
};
} // namespace

static void emitReduce(Operation *op, Value x, Value y, ArrayRef<int64_t> axes, char kind,
                       FE &e) {
  ReduceLoops l(FE::shape(x), axes);
  Type et = FE::elementType(x);
  bool isFloat = llvm::isa<FloatType>(et);
  // Integer sums accumulate modulo 2^64 (unsigned, so without overflow)
  // and wrap to the element type when stored.
  std::string T = FE::cType(et), acc = isFloat ? "double" : "uint64_t";
  std::string X = e.name(x), Y = e.name(y);
  std::string finish = kind == 'm' ? " / (double)" + std::to_string(l.count) : "";
  llvm::raw_ostream &os = e.out();
  int64_t cols = FE::numel(y);
  if (kind != 'x' && isFloat && l.leadingOnly() && cols <= (1 << 16)) {
    int64_t rows = l.count;
    os << "    { static double acc[" << cols << "];\n"
       << "      for (int64_t j = 0; j < " << cols << "; ++j) acc[j] = 0;\n"
       << "      for (int64_t r = 0; r < " << rows << "; ++r) {\n"
       << "        const " << T << " *row = " << X << " + r * " << cols << ";\n"
       << "        for (int64_t j = 0; j < " << cols << "; ++j) acc[j] += row[j];\n      }\n"
       << "      for (int64_t j = 0; j < " << cols << "; ++j) " << Y << "[j] = (" << T
       << ")(acc[j]" << finish << ");\n    }\n";
    return;
  }
  os << "    { int64_t o = 0;\n";
  int nk = l.open(os, false, 6);
  std::string ind(6 + 2 * nk, ' ');
  if (kind == 'x')
    os << ind << T << " m = " << (isFloat ? "-INFINITY" : "std::numeric_limits<" + T + ">::lowest()")
       << ";\n";
  else
    os << ind << acc << " s = 0;\n";
  int nr = l.open(os, true, 6 + 2 * nk);
  std::string ind2(6 + 2 * (nk + nr), ' ');
  os << ind2 << T << " v = " << X << "[" << l.offset() << "];\n";
  if (kind == 'x')
    os << ind2 << "if (v != v || v > m) m = (m != m) ? m : v;\n";
  else
    os << ind2 << "s += v;\n";
  ReduceLoops::close(os, nr, 6 + 2 * nk);
  os << ind << Y << "[o++] = " << (kind == 'x' ? "m" : "(" + T + ")(s" + finish + ")") << ";\n";
  ReduceLoops::close(os, nk, 6);
  os << "    }\n";
}

static void emitReduceMaxGrad(ReduceMaxGradOp g, FE &e) {
  ReduceLoops l(FE::shape(g.getInput()), g.getAxes());
  std::string X = e.name(g.getInput()), G = e.name(g.getGrad()), R = e.name(g.getResult());
  llvm::raw_ostream &os = e.out();
  os << "    { int64_t o = 0;\n";
  int nk = l.open(os, false, 6);
  std::string ind(6 + 2 * nk, ' ');
  os << ind << "float m = -INFINITY; double ties = 0;\n";
  int nr = l.open(os, true, 6 + 2 * nk);
  std::string ind2(6 + 2 * (nk + nr), ' ');
  os << ind2 << "float v = " << X << "[" << l.offset() << "];\n"
     << ind2 << "if (v != v || v > m) m = (m != m) ? m : v;\n";
  ReduceLoops::close(os, nr, 6 + 2 * nk);
  nr = l.open(os, true, 6 + 2 * nk);
  os << ind2 << "ties += " << X << "[" << l.offset() << "] == m;\n";
  ReduceLoops::close(os, nr, 6 + 2 * nk);
  nr = l.open(os, true, 6 + 2 * nk);
  os << ind2 << "int64_t at = " << l.offset() << ";\n"
     << ind2 << R << "[at] = " << X << "[at] == m ? (float)(" << G << "[o] / ties) : 0.0f;\n";
  ReduceLoops::close(os, nr, 6 + 2 * nk);
  os << ind << "++o;\n";
  ReduceLoops::close(os, nk, 6);
  os << "    }\n";
}

/// Cumulative sums: for every (outer, inner) position one running sum along
/// the axis, in double for floats and modulo 2^64 for integers (stored
/// wrapped to the element type), as the interpreter computes them.
static void emitCumSum(CumSumOp c, FE &e) {
  ArrayRef<int64_t> shape = FE::shape(c.getInput());
  int64_t axis = c.getAxis(), n = shape[axis], outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  for (int64_t d = axis + 1; d < static_cast<int64_t>(shape.size()); ++d)
    inner *= shape[d];
  Type et = FE::elementType(c.getInput());
  bool isFloat = llvm::isa<FloatType>(et);
  std::string T = FE::cType(et), acc = isFloat ? "double" : "uint64_t";
  // Signed elements widen through int64_t so that they sign-extend.
  std::string load = isFloat ? "(double)" : et.isUnsignedInteger() ? "(uint64_t)" : "(uint64_t)(int64_t)";
  std::string X = e.name(c.getInput()), Y = e.name(c.getResult());
  std::string k = c.getReverse() ? "(" + std::to_string(n - 1) + " - k)" : "k";
  std::string store = Y + "[at] = (" + T + ")s;";
  e.out() << "    for (int64_t o = 0; o < " << outer << "; ++o)\n"
          << "      for (int64_t i = 0; i < " << inner << "; ++i) {\n"
          << "        " << acc << " s = 0;\n"
          << "        for (int64_t k = 0; k < " << n << "; ++k) {\n"
          << "          int64_t at = (o * " << n << " + " << k << ") * " << inner << " + i;\n"
          << "          " << (c.getExclusive() ? store + " s += " + load + X + "[at];"
                                               : "s += " + load + X + "[at]; " + store)
          << "\n        }\n      }\n";
}

LogicalResult cpp::emitReduceOp(Operation *op, FE &e, bool &handled) {
  handled = true;
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<ReduceSumOp>([&](ReduceSumOp r) {
        emitReduce(op, r.getInput(), r.getResult(), r.getAxes(), 's', e);
        return success();
      })
      .Case<ReduceMeanOp>([&](ReduceMeanOp r) {
        emitReduce(op, r.getInput(), r.getResult(), r.getAxes(), 'm', e);
        return success();
      })
      .Case<ReduceMaxOp>([&](ReduceMaxOp r) {
        emitReduce(op, r.getInput(), r.getResult(), r.getAxes(), 'x', e);
        return success();
      })
      .Case<CumSumOp>([&](CumSumOp c) {
        emitCumSum(c, e);
        return success();
      })
      .Case<AllFiniteOp>([&](AllFiniteOp f) {
        std::string x = e.name(f.getInput());
        int64_t n = FE::numel(f.getInput());
        if (FE::elementType(f.getInput()).isF32()) {
          // Inf or NaN: every exponent bit set. An OR over the bits is one
          // vector loop, where isfinite through double is one element at a
          // time.
          e.out() << "    { uint32_t bad = 0;\n      for (int64_t i = 0; i < " << n
                  << "; ++i) { uint32_t u; std::memcpy(&u, &" << x
                  << "[i], 4); bad |= (~u & 0x7f800000u) == 0; }\n      "
                  << e.name(f.getResult()) << "[0] = bad ? 0 : 1; }\n";
          return success();
        }
        // Every float type converts to double exactly.
        e.out() << "    { uint8_t ok = 1;\n      for (int64_t i = 0; i < " << n
                << "; ++i) ok &= std::isfinite((double)" << x << "[i]) ? 1 : 0;\n      "
                << e.name(f.getResult()) << "[0] = ok; }\n";
        return success();
      })
      .Case<ReduceMaxGradOp>([&](ReduceMaxGradOp g) -> LogicalResult {
        if (!FE::elementType(g.getInput()).isF32())
          return op->emitError() << "CPU backend: reduce_max_grad computes in f32 only";
        emitReduceMaxGrad(g, e);
        return success();
      })
      .Default([&](Operation *) {
        handled = false;
        return success();
      });
}
