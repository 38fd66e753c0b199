//===- CUDAEmitReduce.cpp - reductions, cumsum and reduce_max's gradient --===//
//
// Gather form, as the CPU backend sums: element i of the result loops over
// its reduced extent in row-major order, accumulating in double (floats)
// or modulo 2^64 (integers), and rounds once. Same order, same type: the
// same bits as the CPU. A long reduction with few outputs first sums runs
// of 4096 elements into planned partials on many threads and combines them
// in order (deterministic, within one rounding of the CPU). One thread per
// output is still slow for long rows; block reductions with warp shuffles
// (decision 2) are the next step, with fp32 accumulation and a tolerance
// instead of equality.
//
//===----------------------------------------------------------------------===//

#include "CUDAKernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Target/TargetInfo.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cuda;

using E = Emitter;

static std::string str(int64_t v) { return std::to_string(v); }

namespace {
/// The kept (k<d>) and reduced (r<d>) dims of an input shape.
struct Slice {
  std::vector<int64_t> shape, strides;
  std::vector<bool> reduced;

  Slice(ArrayRef<int64_t> s, ArrayRef<int64_t> axes)
      : shape(s.begin(), s.end()), strides(E::stridesOf(s)), reduced(s.size(), false) {
    for (int64_t a : axes)
      reduced[a] = true;
  }
  /// Declares k<d> of the kept dims from the flat index `idx` of the
  /// result (the kept dims, row-major).
  std::string keptCoords(StringRef idx) const {
    std::vector<int64_t> kept;
    for (size_t d = 0; d < shape.size(); ++d)
      if (!reduced[d])
        kept.push_back(shape[d]);
    std::string s = E::coords(kept, idx, "q");
    int j = 0;
    for (size_t d = 0; d < shape.size(); ++d)
      if (!reduced[d])
        s += "  int64_t k" + str(d) + " = q" + str(j++) + ";\n";
    return s;
  }
  /// Declares k<d> of every dim from the flat index of an input element.
  std::string allCoords(StringRef idx) const {
    std::string s = E::coords(shape, idx, "q");
    for (size_t d = 0; d < shape.size(); ++d)
      if (!reduced[d])
        s += "  int64_t k" + str(d) + " = q" + str(d) + ";\n";
    return s;
  }
  /// Loops over the reduced dims (outermost first, as the CPU) around
  /// `body`, which may use `at`, the input offset.
  std::string loop(const std::string &body) const {
    std::string s, close, at = "0";
    int n = 0;
    for (size_t d = 0; d < shape.size(); ++d) {
      at += std::string(" + ") + (reduced[d] ? "r" : "k") + str(d) + " * " + str(strides[d]);
      if (!reduced[d])
        continue;
      s += std::string(2 + 2 * n, ' ') + "for (int64_t r" + str(d) + " = 0; r" + str(d) + " < " +
           str(shape[d]) + "; ++r" + str(d) + ") {\n";
      close = std::string(2 + 2 * n, ' ') + "}\n" + close;
      ++n;
    }
    std::string ind(2 + 2 * n, ' ');
    return s + ind + "int64_t at = " + at + ";\n" + ind + body + "\n" + close;
  }
};
} // namespace

/// The lowest value of an integer type (the start of a max).
static std::string lowest(Type t) {
  if (t.isUnsignedInteger() || t.isInteger(1))
    return "0";
  switch (t.getIntOrFloatBitWidth()) {
  case 8: return "INT8_MIN";
  case 16: return "INT16_MIN";
  case 32: return "INT32_MIN";
  default: return "INT64_MIN";
  }
}

/// Stores an accumulator (double or uint64_t) as t: 16-bit floats round
/// once from the double (pz_to_bf16 / pz_to_f16), others convert.
static std::string storeAcc(Type t, const std::string &acc) {
  if (t.isBF16() || t.isF16())
    return E::store(t, acc);
  return "(" + E::cType(t) + ")(" + acc + ")";
}

/// Two more spaces before each line.
static std::string indent(const std::string &s) {
  std::string out;
  for (size_t b = 0, e; b < s.size(); b = e + 1) {
    e = s.find('\n', b);
    if (e == std::string::npos)
      e = s.size();
    out += "  " + s.substr(b, e - b) + "\n";
  }
  return out;
}

/// The accumulator of a reduction of t: double for float sums, uint64_t
/// for integer sums (modulo 2^64), t itself for a max (float for 16-bit
/// floats).
static std::string accType(Type t, char kind) {
  bool isFloat = llvm::isa<FloatType>(t);
  if (kind != 'x')
    return isFloat ? "double" : "uint64_t";
  return t.isF64() ? "double" : isFloat ? "float" : E::cType(t);
}

static std::string accInit(Type t, char kind) {
  if (kind != 'x')
    return "0";
  return llvm::isa<FloatType>(t) ? "-INFINITY" : lowest(t);
}

/// `m`/`s` combined with the value `v` (already of the accumulator's type
/// for a max, or to be widened for a sum). NaN wins a max, as on the CPU.
static std::string accumulate(Type t, char kind, const std::string &v) {
  if (kind == 'x')
    return "{ " + accType(t, kind) + " v = " + v + "; if (v != v || v > s) s = (s != s) ? s : v; }";
  if (llvm::isa<FloatType>(t))
    return "s += (double)" + v + ";";
  if (t.isUnsignedInteger() || t.isInteger(1))
    return "s += (uint64_t)" + v + ";";
  return "s += (uint64_t)(int64_t)" + v + ";";
}

/// The stored result of the accumulator `s`.
static std::string finish(Type t, char kind, int64_t count) {
  if (kind == 'x')
    return llvm::isa<FloatType>(t) ? E::store(t, "s") : "s";
  return storeAcc(t, kind == 'm' ? "s / (double)" + str(count) : "s");
}

static void emitReduce(Operation *op, Value x, Value y, ArrayRef<int64_t> axes, char kind,
                       E &e) {
  Slice l(E::shape(x), axes);
  int64_t count = 1;
  for (int64_t a : axes)
    count *= E::shape(x)[a];
  Type et = E::elementType(x);
  std::string acc = accType(et, kind), v = E::load(et, "X[at]");
  int64_t parts = TargetInfo::cudaReducePartials(op);
  if (parts > 1) {
    // A long reduction: partials over runs of kCudaReduceChunk reduced
    // elements (in the CPU's order within each), combined in order by one
    // thread per output. Deterministic; a sum may differ from the CPU's
    // sequential double sum in its last double bits, rarely in the stored
    // float's. A max is exact.
    int64_t chunk = TargetInfo::kCudaReduceChunk;
    std::vector<int64_t> rs;
    for (size_t d = 0; d < l.shape.size(); ++d)
      if (l.reduced[d])
        rs.push_back(l.shape[d]);
    std::string partTy = acc == "float" ? "double" : acc;
    std::string ws = "(" + partTy + " *)" + e.workspace();
    GridKernel k1;
    std::string P = e.param(k1, partTy + " *__restrict__", ws), X = e.param(k1, x, true);
    k1.n = E::numel(y) * parts;
    std::string at = "0";
    int j = 0;
    for (size_t d = 0; d < l.shape.size(); ++d)
      at += " + " + (l.reduced[d] ? "u" + str(j++) : "k" + str(d)) + " * " + str(l.strides[d]);
    std::string loadT = E::load(et, X + "[at]");
    k1.body = "  int64_t o = i / " + str(parts) + ", part = i % " + str(parts) + ";\n" +
              l.keptCoords("o") + "  int64_t end = part * " + str(chunk) + " + " + str(chunk) +
              ";\n  if (end > " + str(count) + ") end = " + str(count) + ";\n  " + acc + " s = " +
              accInit(et, kind) + ";\n  for (int64_t t = part * " + str(chunk) +
              "; t < end; ++t) {\n" + indent(E::coords(rs, "t", "u")) + "    int64_t at = " + at +
              ";\n    " + accumulate(et, kind, loadT) + "\n  }\n  " + P + "[i] = s;\n";
    e.launch(op, std::move(k1));
    GridKernel k2;
    std::string Y = e.param(k2, y, false),
                Q = e.param(k2, "const " + partTy + " *__restrict__", ws);
    k2.n = E::numel(y);
    k2.body = "  " + acc + " s = " + accInit(et, kind) + ";\n  for (int64_t part = 0; part < " +
              str(parts) + "; ++part) " +
              accumulate(kind == 'x' || llvm::isa<FloatType>(et)
                             ? et
                             : IntegerType::get(et.getContext(), 64, IntegerType::Unsigned),
                         kind, "(" + acc + ")" + Q + "[i * " + str(parts) + " + part]") +
              "\n  " + Y + "[i] = " + finish(et, kind, count) + ";\n";
    e.launch(op, std::move(k2));
    return;
  }
  GridKernel k;
  std::string Y = e.param(k, y, false), X = e.param(k, x, true);
  k.n = E::numel(y);
  k.body = l.keptCoords("i") + "  " + acc + " s = " + accInit(et, kind) + ";\n" +
           l.loop(accumulate(et, kind, E::load(et, X + "[at]"))) + "  " + Y + "[i] = " +
           finish(et, kind, count) + ";\n";
  e.launch(op, std::move(k));
}

static LogicalResult emitReduceMaxGrad(ReduceMaxGradOp g, E &e) {
  if (!E::elementType(g.getInput()).isF32())
    return g.emitError() << "CUDA backend: reduce_max_grad computes in f32 only";
  Slice l(E::shape(g.getInput()), g.getAxes());
  GridKernel k;
  std::string R = e.param(k, g.getResult(), false), X = e.param(k, g.getInput(), true),
              G = e.param(k, g.getGrad(), true);
  k.n = E::numel(g.getResult());
  // The gradient's element o: the kept dims' flat index.
  std::string o = "0";
  {
    int64_t s = 1;
    for (int64_t d = static_cast<int64_t>(l.shape.size()) - 1; d >= 0; --d)
      if (!l.reduced[d]) {
        o += " + k" + str(d) + " * " + str(s);
        s *= l.shape[d];
      }
  }
  k.body = l.allCoords("i") + "  float m = -INFINITY; double ties = 0;\n" +
           l.loop("float v = " + X + "[at]; if (v != v || v > m) m = (m != m) ? m : v;") +
           l.loop("ties += " + X + "[at] == m;") + "  " + R + "[i] = " + X +
           "[i] == m ? (float)(" + G + "[" + o + "] / ties) : 0.0f;\n";
  e.launch(g, std::move(k));
  return success();
}

/// Running sums along the axis: element i sums its predecessors in order
/// (quadratic in the axis's length, and the CPU's bits).
static void emitCumSum(CumSumOp c, E &e) {
  ArrayRef<int64_t> shape = E::shape(c.getInput());
  int64_t axis = c.getAxis(), n = shape[axis], inner = 1;
  for (int64_t d = axis + 1; d < static_cast<int64_t>(shape.size()); ++d)
    inner *= shape[d];
  Type et = E::elementType(c.getInput());
  bool isFloat = llvm::isa<FloatType>(et);
  std::string T = E::cType(et), acc = isFloat ? "double" : "uint64_t";
  GridKernel k;
  std::string Y = e.param(k, c.getResult(), false), X = e.param(k, c.getInput(), true);
  k.n = E::numel(c.getResult());
  std::string load = isFloat ? "(double)" + E::load(et, X + "[base + t * " + str(inner) + "]")
                     : et.isUnsignedInteger()
                         ? "(uint64_t)" + X + "[base + t * " + str(inner) + "]"
                         : "(uint64_t)(int64_t)" + X + "[base + t * " + str(inner) + "]";
  // Position p along the axis; the sum runs over t from the start (or the
  // end, reversed) up to p, exclusive or not.
  std::string first = c.getReverse() ? str(n - 1) : "0";
  std::string cond = c.getReverse() ? (c.getExclusive() ? "t > p" : "t >= p")
                                    : (c.getExclusive() ? "t < p" : "t <= p");
  std::string step = c.getReverse() ? "--t" : "++t";
  k.body = "  int64_t p = (i / " + str(inner) + ") % " + str(n) + ";\n  int64_t base = i - p * " +
           str(inner) + ";\n  " + acc + " s = 0;\n  for (int64_t t = " + first + "; " + cond +
           "; " + step + ") s += " + load + ";\n  " + Y + "[i] = " +
           storeAcc(et, "s") + ";\n";
  e.launch(c, std::move(k));
}

LogicalResult cuda::emitReduceOp(Operation *op, E &e, bool &handled) {
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
        // 1, then every element that is not finite writes 0: the same
        // value from any thread in any order (every float type converts to
        // double exactly).
        Value y = f.getResult(), x = f.getInput();
        GridKernel one;
        one.body = "  " + e.param(one, y, false) + "[0] = 1;\n";
        one.n = 1;
        e.launch(op, std::move(one));
        GridKernel k;
        std::string Y = e.param(k, y, false), X = e.param(k, x, true);
        k.n = E::numel(x);
        k.body = "  if (!std::isfinite((double)" + E::load(E::elementType(x), X + "[i]") + ")) " + Y +
                 "[0] = 0;\n";
        e.launch(op, std::move(k));
        return success();
      })
      .Case<ReduceMaxGradOp>([&](ReduceMaxGradOp g) { return emitReduceMaxGrad(g, e); })
      .Default([&](Operation *) {
        handled = false;
        return success();
      });
}
