//===- CUDAEmitShape.cpp - transposes, slices, concat, gathers, scatters --===//
//
// Every shape op in gather form: element i of the result reads the element
// of its operand it comes from, so each output is written once, without
// atomics, in any order. scatter_elements gathers too: an output element
// walks the indices of its column along the axis in order, so the last
// write wins and accumulations sum in the CPU's order. The gradients of
// gather and embedding scatter-add many rows into one; they zero their
// fp32 result and add with atomicAdd (pz_atomic_add), whose order on a GPU
// varies, so their sums vary in the last bits from run to run (a gather
// form would loop over every index per output element: too slow for a
// vocabulary). An index out of range records the op's check (pz_flag);
// the launcher reads it and fails as the CPU backend does.
//
//===----------------------------------------------------------------------===//

#include "CUDAKernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cuda;

using E = Emitter;

static std::string str(int64_t v) { return std::to_string(v); }

/// A kernel of op over `result` with its first parameter the result.
static GridKernel resultKernel(E &e, Value result) {
  GridKernel k;
  e.param(k, result, false);
  k.n = E::numel(result);
  return k;
}

/// Reads index `ptr[at]` into `int64_t j`, flagging (and giving the
/// element `fallback`) one outside [0, n), or [-n, n) wrapped when
/// `negative`.
static std::string readIndex(Value indices, const std::string &ptr, const std::string &at,
                             int64_t n, bool negative, const std::string &onBad) {
  bool isUnsigned = E::elementType(indices).isUnsignedInteger();
  std::string s;
  if (isUnsigned)
    s = "  if (" + ptr + "[" + at + "] >= " + str(n) + "u) { pz_flag(pz_bad, pz_check); " + onBad + " }\n" +
        "  int64_t j = (int64_t)" + ptr + "[" + at + "];\n";
  else if (negative)
    s = "  int64_t j = (int64_t)" + ptr + "[" + at + "];\n  if (j < -" + str(n) + " || j >= " +
        str(n) + ") { pz_flag(pz_bad, pz_check); " + onBad + " }\n  if (j < 0) j += " + str(n) + ";\n";
  else
    s = "  int64_t j = (int64_t)" + ptr + "[" + at + "];\n  if (j < 0 || j >= " + str(n) +
        ") { pz_flag(pz_bad, pz_check); " + onBad + " }\n";
  return s;
}

/// Two more spaces before each line of `s`.
static std::string indented(const std::string &s) {
  std::string out;
  for (llvm::StringRef line : llvm::split(llvm::StringRef(s).rtrim('\n'), '\n'))
    out += "  " + line.str() + "\n";
  return out;
}

static std::string rangeMsg(Value indices, int64_t n, bool negative, const char *what) {
  bool neg = negative && !E::elementType(indices).isUnsignedInteger();
  return std::string("an ") + what + " is out of range [" + (neg ? "-" + str(n) : "0") + ", " +
         str(n) + ")";
}

static void outerSizeInner(ArrayRef<int64_t> shape, int64_t axis, int64_t &outer,
                           int64_t &size, int64_t &inner) {
  outer = inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  for (size_t d = axis + 1; d < shape.size(); ++d)
    inner *= shape[d];
  size = shape[axis];
}

/// Zeroes `result` (an fp32 accumulator) and scatter-adds `grad`'s rows:
/// element i of grad (outer x count x inner) goes to row idx[k] of size.
static LogicalResult emitScatterAdd(Operation *op, E &e, Value result, Value grad,
                                    Value indices, int64_t outer, int64_t size, int64_t count,
                                    int64_t inner, const char *what) {
  if (e.typeOf(result) != "float")
    return op->emitError() << "CUDA backend: " << op->getName()
                           << " accumulates in f32 only (bf16 and f16 through f32 copies)";
  GridKernel z = resultKernel(e, result);
  z.body = "  " + z.ptr[result] + "[i] = 0.0f;\n";
  e.launch(op, std::move(z));
  GridKernel k;
  std::string R = e.param(k, result, false), G = e.param(k, grad, true),
              I = e.param(k, indices, true);
  k.n = outer * count * inner;
  k.body = "  int64_t o = i / " + str(count * inner) + ", k = (i / " + str(inner) + ") % " +
           str(count) + ", c = i % " + str(inner) + ";\n" +
           readIndex(indices, I, "k", size, false, "return;") + "  pz_atomic_add(&" + R +
           "[(o * " + str(size) + " + j) * " + str(inner) + " + c], (float)" +
           E::load(E::elementType(grad), G + "[i]") + ");\n";
  k.check = rangeMsg(indices, size, false, what);
  e.launch(op, std::move(k));
  return success();
}

/// gather_elements' and scatter_elements' offset in the input of index
/// element k (coordinates q<d> in the indices' shape) with j on `axis`.
static std::string elementsOffset(ArrayRef<int64_t> inShape, size_t rank, int64_t axis) {
  std::vector<int64_t> st = E::stridesOf(inShape);
  std::string at = "0";
  for (size_t d = 0; d < rank; ++d)
    at += " + " + (static_cast<int64_t>(d) == axis ? std::string("j") : "q" + str(d)) + " * " +
          str(st[d]);
  return at;
}

static LogicalResult emitScatterElements(ScatterElementsOp s, E &e) {
  Value in = s.getInput(), idx = s.getIndices(), upd = s.getUpdates(), y = s.getResult();
  GridKernel k = resultKernel(e, y);
  std::string Y = k.ptr[y], X = e.param(k, in, true), I = e.param(k, idx, true),
              U = e.param(k, upd, true);
  ArrayRef<int64_t> inShape = E::shape(in), idxShape = E::shape(idx);
  std::vector<int64_t> idxSt = E::stridesOf(idxShape);
  int64_t axis = s.getAxis();
  Type et = E::elementType(in);
  std::string T = E::cType(et);
  k.body = E::coords(inShape, "i", "c") + "  " + T + " y = " + X + "[i];\n";
  // Outside the indices' extent on another dim: no update reaches it.
  std::string base = "0", outside;
  for (size_t d = 0; d < inShape.size(); ++d) {
    if (static_cast<int64_t>(d) == axis)
      continue;
    outside += (outside.empty() ? "" : " || ") + ("c" + str(d)) + " >= " + str(idxShape[d]);
    base += " + c" + str(d) + " * " + str(idxSt[d]);
  }
  if (!outside.empty())
    k.body += "  if (" + outside + ") { " + Y + "[i] = y; return; }\n";
  std::string u = U + "[k]", sum;
  if (llvm::isa<FloatType>(et))
    sum = E::store(et, E::load(et, "y") + " + " + E::load(et, u));
  else // integer sums wrap, without overflow
    sum = "(" + T + ")((uint64_t)y + (uint64_t)" + u + ")";
  k.body += "  for (int64_t p = 0; p < " + str(idxShape[axis]) + "; ++p) {\n    int64_t k = " +
            base + " + p * " + str(idxSt[axis]) + ";\n" +
            indented(readIndex(idx, I, "k", inShape[axis], true, "continue;")) + "    if (j == c" +
            str(axis) + ") y = " + (s.getAccumulate() ? sum : u) + ";\n  }\n  " + Y +
            "[i] = y;\n";
  k.check = rangeMsg(idx, inShape[axis], true, "index");
  e.launch(s, std::move(k));
  return success();
}

LogicalResult cuda::emitShapeOp(Operation *op, E &e, bool &handled) {
  handled = true;
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<TransposeOp>([&](TransposeOp t) {
        GridKernel k = resultKernel(e, t.getResult());
        std::string X = e.param(k, t.getInput(), true);
        std::vector<int64_t> inSt = E::stridesOf(E::shape(t.getInput()));
        std::string at = "0";
        for (auto [d, p] : llvm::enumerate(t.getPermutation()))
          at += " + c" + str(d) + " * " + str(inSt[p]);
        k.body = E::coords(E::shape(t.getResult()), "i", "c") + "  " + k.ptr[t.getResult()] +
                 "[i] = " + X + "[" + at + "];\n";
        e.launch(op, std::move(k));
        return success();
      })
      .Case<SliceOp>([&](SliceOp s) {
        GridKernel k = resultKernel(e, s.getResult());
        std::string X = e.param(k, s.getInput(), true);
        std::vector<int64_t> inSt = E::stridesOf(E::shape(s.getInput()));
        std::string at = "0";
        for (size_t d = 0; d < inSt.size(); ++d)
          at += " + (" + str(s.getStarts()[d]) + " + c" + str(d) + " * " +
                str(s.getSteps()[d]) + ") * " + str(inSt[d]);
        k.body = E::coords(E::shape(s.getResult()), "i", "c") + "  " + k.ptr[s.getResult()] +
                 "[i] = " + X + "[" + at + "];\n";
        e.launch(op, std::move(k));
        return success();
      })
      .Case<SliceGradOp>([&](SliceGradOp s) {
        // Element i of the input's shape is in the slice when every
        // coordinate is start + q * step with q in [0, grad dim).
        Value r = s.getResult(), g = s.getGrad();
        GridKernel k = resultKernel(e, r);
        std::string G = e.param(k, g, true);
        ArrayRef<int64_t> gs = E::shape(g);
        std::vector<int64_t> gSt = E::stridesOf(gs);
        k.body = E::coords(s.getInputShape(), "i", "c") + "  int64_t q, at = 0;\n  bool hit = true;\n";
        for (size_t d = 0; d < gs.size(); ++d) {
          std::string st = str(s.getSteps()[d]);
          k.body += "  q = c" + str(d) + " - " + str(s.getStarts()[d]) + ";\n  hit = hit && q % " +
                    st + " == 0 && q / " + st + " >= 0 && q / " + st + " < " + str(gs[d]) +
                    ";\n  at += q / " + st + " * " + str(gSt[d]) + ";\n";
        }
        k.body += "  " + k.ptr[r] + "[i] = hit ? " + G + "[at] : " + E::zero(E::elementType(r)) +
                  ";\n";
        e.launch(op, std::move(k));
        return success();
      })
      .Case<ConcatOp>([&](ConcatOp c) {
        Value r = c.getResult();
        GridKernel k = resultKernel(e, r);
        int64_t axis = c.getAxis(), at = 0;
        ArrayRef<int64_t> outShape = E::shape(r);
        k.body = E::coords(outShape, "i", "c");
        for (Value in : c.getInputs()) {
          std::string X = e.param(k, in, true);
          ArrayRef<int64_t> s = E::shape(in);
          std::vector<int64_t> st = E::stridesOf(s);
          std::string off = "0";
          for (size_t d = 0; d < s.size(); ++d)
            off += " + " + (static_cast<int64_t>(d) == axis ? "(c" + str(d) + " - " + str(at) + ")"
                                                           : "c" + str(d)) +
                   " * " + str(st[d]);
          at += s[axis];
          k.body += "  if (c" + str(axis) + " < " + str(at) + ") { " + k.ptr[r] + "[i] = " + X +
                    "[" + off + "]; return; }\n";
        }
        e.launch(op, std::move(k));
        return success();
      })
      .Case<GatherOp>([&](GatherOp g) {
        int64_t outer, size, inner, count = E::numel(g.getIndices());
        outerSizeInner(E::shape(g.getInput()), g.getAxis(), outer, size, inner);
        Value r = g.getResult();
        GridKernel k = resultKernel(e, r);
        std::string X = e.param(k, g.getInput(), true), I = e.param(k, g.getIndices(), true);
        k.body = "  int64_t o = i / " + str(count * inner) + ", k = (i / " + str(inner) +
                 ") % " + str(count) + ", c = i % " + str(inner) + ";\n" +
                 readIndex(g.getIndices(), I, "k", size, false,
                           k.ptr[r] + "[i] = " + E::zero(E::elementType(r)) + "; return;") +
                 "  " + k.ptr[r] + "[i] = " + X + "[(o * " + str(size) + " + j) * " + str(inner) +
                 " + c];\n";
        k.check = rangeMsg(g.getIndices(), size, false, "index");
        e.launch(op, std::move(k));
        return success();
      })
      .Case<GatherElementsOp>([&](GatherElementsOp g) {
        Value r = g.getResult(), idx = g.getIndices();
        GridKernel k = resultKernel(e, r);
        std::string X = e.param(k, g.getInput(), true), I = e.param(k, idx, true);
        ArrayRef<int64_t> inShape = E::shape(g.getInput());
        int64_t n = inShape[g.getAxis()];
        k.body = E::coords(E::shape(idx), "i", "q") +
                 readIndex(idx, I, "i", n, true,
                           k.ptr[r] + "[i] = " + E::zero(E::elementType(r)) + "; return;") +
                 "  " + k.ptr[r] + "[i] = " + X + "[" +
                 elementsOffset(inShape, E::shape(idx).size(), g.getAxis()) + "];\n";
        k.check = rangeMsg(idx, n, true, "index");
        e.launch(op, std::move(k));
        return success();
      })
      .Case<ScatterElementsOp>([&](ScatterElementsOp s) { return emitScatterElements(s, e); })
      .Case<GatherGradOp>([&](GatherGradOp g) {
        return emitWidened(op, e, [&]() -> LogicalResult {
          int64_t outer, size, inner;
          outerSizeInner(g.getInputShape(), g.getAxis(), outer, size, inner);
          return emitScatterAdd(op, e, g.getResult(), g.getGrad(), g.getIndices(), outer, size,
                                E::numel(g.getIndices()), inner, "index");
        });
      })
      .Case<EmbeddingOp>([&](EmbeddingOp m) {
        Value r = m.getResult(), ids = m.getIds();
        ArrayRef<int64_t> table = E::shape(m.getTable());
        GridKernel k = resultKernel(e, r);
        std::string T = e.param(k, m.getTable(), true), I = e.param(k, ids, true);
        k.body = "  int64_t k = i / " + str(table[1]) + ", c = i % " + str(table[1]) + ";\n" +
                 readIndex(ids, I, "k", table[0], false,
                           k.ptr[r] + "[i] = " + E::zero(E::elementType(r)) + "; return;") +
                 "  " + k.ptr[r] + "[i] = " + T + "[j * " + str(table[1]) + " + c];\n";
        k.check = rangeMsg(ids, table[0], false, "id");
        e.launch(op, std::move(k));
        return success();
      })
      .Case<EmbeddingGradOp>([&](EmbeddingGradOp m) {
        return emitWidened(op, e, [&]() -> LogicalResult {
          int64_t dim = E::shape(m.getGrad()).back();
          return emitScatterAdd(op, e, m.getResult(), m.getGrad(), m.getIds(), 1,
                                static_cast<int64_t>(m.getVocab()), E::numel(m.getIds()), dim,
                                "id");
        });
      })
      .Case<TriluOp>([&](TriluOp t) {
        Value r = t.getResult();
        ArrayRef<int64_t> s = E::shape(t.getInput());
        int64_t rows = s[s.size() - 2], cols = s.back();
        GridKernel k = resultKernel(e, r);
        std::string X = e.param(k, t.getInput(), true);
        std::string keep = t.getUpper() ? "c - r >= " : "c - r <= ";
        keep += str(static_cast<int64_t>(t.getDiagonal()));
        k.body = "  int64_t r = (i / " + str(cols) + ") % " + str(rows) + ", c = i % " +
                 str(cols) + ";\n  " + k.ptr[r] + "[i] = (" + keep + ") ? " + X + "[i] : " +
                 E::zero(E::elementType(r)) + ";\n";
        e.launch(op, std::move(k));
        return success();
      })
      .Default([&](Operation *) {
        handled = false;
        return success();
      });
}
