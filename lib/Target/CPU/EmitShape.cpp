//===- EmitShape.cpp - transposes, slices, concat, gathers, scatters -----===//

#include "KernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cpp;

using FE = KernelEmitter;

static std::string copyBody(ArrayRef<std::string> idx) { return idx[0] + " = " + idx[1] + ";"; }

/// dst = 0 over n elements.
/// Zeroes v's buffer (sized by its C variable, which may be an fp32 copy).
static void emitZero(FE &e, Value v) {
  e.out() << "    memset(" << e.name(v) << ", 0, " << FE::numel(v) << " * sizeof(*" << e.name(v)
          << "));\n";
}

/// Base offset and strides of a [starts, ends) step slice of `shape`.
static StridedRef sliceRef(std::string ptr, ArrayRef<int64_t> shape, ArrayRef<int64_t> starts,
                           ArrayRef<int64_t> steps) {
  std::vector<int64_t> st = FE::stridesOf(shape);
  StridedRef r{std::move(ptr), 0, {}};
  for (size_t d = 0; d < shape.size(); ++d) {
    r.base += starts[d] * st[d];
    r.strides.push_back(st[d] * steps[d]);
  }
  return r;
}

static void emitIndexCheck(Operation *op, FE &e, Value indices, int64_t size, const char *what) {
  e.out() << "    for (int64_t k = 0; k < " << FE::numel(indices) << "; ++k)\n      if ("
          << e.name(indices) << "[k] < 0 || " << e.name(indices) << "[k] >= " << size << ") "
          << e.failStmt(op, std::string(what) + " %lld (element %lld) is out of range [0, " +
                                std::to_string(size) + ")",
                        "(long long)" + e.name(indices) + "[k], (long long)k")
          << "\n";
}

/// outer x size x inner of a gather along `axis` of `shape`.
static void gatherLayout(ArrayRef<int64_t> shape, int64_t axis, int64_t &outer, int64_t &size,
                         int64_t &inner) {
  outer = inner = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  for (size_t d = axis + 1; d < shape.size(); ++d)
    inner *= shape[d];
  size = shape[axis];
}

/// The loop of gather_elements / scatter_elements: for each element k of
/// `indices` (row-major), `at` is the offset in `input` of the element at
/// k's position with k's index on `axis` (negative indices count from the
/// end; one outside [-n, n) fails); `body` uses k and at.
static void emitElementsLoop(Operation *op, FE &e, Value input, Value indices, int64_t axis,
                             const std::string &body) {
  ArrayRef<int64_t> idxShape = FE::shape(indices), inShape = FE::shape(input);
  std::vector<int64_t> inStrides = FE::stridesOf(inShape);
  int64_t n = inShape[axis];
  std::string I = e.name(indices), N = std::to_string(n);
  bool isUnsigned = FE::elementType(indices).isUnsignedInteger();
  std::string range = isUnsigned ? "[0, " + N + ")" : "[-" + N + ", " + N + ")";
  std::string fail = e.failStmt(op, "index %lld (element %lld) is out of range " + range,
                                "(long long)" + I + "[k], (long long)k");
  llvm::raw_ostream &os = e.out();
  os << "    for (int64_t k = 0; k < " << FE::numel(indices) << "; ++k) {\n";
  if (isUnsigned)
    os << "      if (" << I << "[k] >= " << N << "u) " << fail << "\n"
       << "      int64_t j = (int64_t)" << I << "[k];\n";
  else
    os << "      int64_t j = (int64_t)" << I << "[k];\n"
       << "      if (j < -" << N << " || j >= " << N << ") " << fail << "\n"
       << "      if (j < 0) j += " << N << ";\n";
  os << "      int64_t r = k, at = 0;\n";
  for (int64_t d = static_cast<int64_t>(idxShape.size()) - 1; d >= 0; --d)
    os << "      at += (" << (d == axis ? "j" : "r % " + std::to_string(idxShape[d])) << ") * "
       << inStrides[d] << "; r /= " << idxShape[d] << ";\n";
  os << "      " << body << "\n    }\n";
}

LogicalResult cpp::emitShapeOp(Operation *op, FE &e, bool &handled) {
  handled = true;
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<TransposeOp>([&](TransposeOp t) {
        ArrayRef<int64_t> in = FE::shape(t.getInput());
        std::vector<int64_t> inSt = FE::stridesOf(in);
        ArrayRef<int64_t> outShape = FE::shape(t.getResult());
        StridedRef src{e.name(t.getInput()), 0, {}};
        for (int64_t p : t.getPermutation())
          src.strides.push_back(inSt[p]);
        e.emitStridedLoop(outShape, {{e.name(t.getResult()), 0, FE::stridesOf(outShape)}, src},
                          copyBody);
        return success();
      })
      .Case<SliceOp>([&](SliceOp s) {
        ArrayRef<int64_t> outShape = FE::shape(s.getResult());
        e.emitStridedLoop(outShape,
                          {{e.name(s.getResult()), 0, FE::stridesOf(outShape)},
                           sliceRef(e.name(s.getInput()), FE::shape(s.getInput()), s.getStarts(),
                                    s.getSteps())},
                          copyBody);
        return success();
      })
      .Case<SliceGradOp>([&](SliceGradOp s) {
        emitZero(e, s.getResult());
        ArrayRef<int64_t> g = FE::shape(s.getGrad());
        e.emitStridedLoop(g,
                          {sliceRef(e.name(s.getResult()), s.getInputShape(), s.getStarts(),
                                    s.getSteps()),
                           {e.name(s.getGrad()), 0, FE::stridesOf(g)}},
                          copyBody);
        return success();
      })
      .Case<ConcatOp>([&](ConcatOp c) {
        ArrayRef<int64_t> outShape = FE::shape(c.getResult());
        std::vector<int64_t> outSt = FE::stridesOf(outShape);
        int64_t axis = c.getAxis(), at = 0;
        for (Value in : c.getInputs()) {
          ArrayRef<int64_t> s = FE::shape(in);
          e.emitStridedLoop(s, {{e.name(c.getResult()), at * outSt[axis], outSt},
                                {e.name(in), 0, FE::stridesOf(s)}},
                            copyBody);
          at += s[axis];
        }
        return success();
      })
      .Case<GatherOp>([&](GatherOp g) {
        int64_t outer, size, inner, count = FE::numel(g.getIndices());
        gatherLayout(FE::shape(g.getInput()), g.getAxis(), outer, size, inner);
        emitIndexCheck(op, e, g.getIndices(), size, "index");
        e.out() << "    for (int64_t o = 0; o < " << outer << "; ++o)\n"
                << "      for (int64_t k = 0; k < " << count << "; ++k)\n"
                << "        memcpy(" << e.name(g.getResult()) << " + (o * " << count
                << " + k) * " << inner << ", " << e.name(g.getInput()) << " + (o * " << size
                << " + " << e.name(g.getIndices()) << "[k]) * " << inner << ", "
                << inner * FE::storageBytes(FE::elementType(g.getInput())) << ");\n";
        return success();
      })
      .Case<GatherElementsOp>([&](GatherElementsOp g) {
        emitElementsLoop(op, e, g.getInput(), g.getIndices(), g.getAxis(),
                         e.name(g.getResult()) + "[k] = " + e.name(g.getInput()) + "[at];");
        return success();
      })
      .Case<ScatterElementsOp>([&](ScatterElementsOp s) {
        std::string Y = e.name(s.getResult());
        e.out() << "    memcpy(" << Y << ", " << e.name(s.getInput()) << ", "
                << FE::numel(s.getInput()) * FE::storageBytes(FE::elementType(s.getInput()))
                << ");\n";
        std::string u = e.name(s.getUpdates()) + "[k]", sum = Y + "[at] + " + u;
        Type et = FE::elementType(s.getInput());
        if (!llvm::isa<FloatType>(et)) // integer sums wrap, without overflow
          sum = "(" + FE::cType(et) + ")((uint64_t)" + Y + "[at] + (uint64_t)" + u + ")";
        emitElementsLoop(op, e, s.getInput(), s.getIndices(), s.getAxis(),
                         Y + "[at] = " + (s.getAccumulate() ? sum : u) + ";");
        return success();
      })
      .Case<GatherGradOp>([&](GatherGradOp g) {
        return emitWidened(op, e, [&]() -> LogicalResult {
        int64_t outer, size, inner, count = FE::numel(g.getIndices());
        gatherLayout(g.getInputShape(), g.getAxis(), outer, size, inner);
        emitIndexCheck(op, e, g.getIndices(), size, "index");
        emitZero(e, g.getResult());
        e.out() << "    for (int64_t o = 0; o < " << outer << "; ++o)\n"
                << "      for (int64_t k = 0; k < " << count << "; ++k)\n"
                << "        for (int64_t i = 0; i < " << inner << "; ++i)\n"
                << "          " << e.name(g.getResult()) << "[(o * " << size << " + "
                << e.name(g.getIndices()) << "[k]) * " << inner << " + i] += "
                << e.name(g.getGrad()) << "[(o * " << count << " + k) * " << inner << " + i];\n";
        return success();
        });
      })
      .Case<EmbeddingOp>([&](EmbeddingOp m) {
        ArrayRef<int64_t> table = FE::shape(m.getTable());
        emitIndexCheck(op, e, m.getIds(), table[0], "id");
        e.out() << "    for (int64_t k = 0; k < " << FE::numel(m.getIds()) << "; ++k)\n"
                << "      memcpy(" << e.name(m.getResult()) << " + k * " << table[1] << ", "
                << e.name(m.getTable()) << " + " << e.name(m.getIds()) << "[k] * " << table[1]
                << ", " << table[1] * FE::storageBytes(FE::elementType(m.getTable())) << ");\n";
        return success();
      })
      .Case<EmbeddingGradOp>([&](EmbeddingGradOp m) {
        return emitWidened(op, e, [&]() -> LogicalResult {
        int64_t dim = FE::shape(m.getGrad()).back();
        emitIndexCheck(op, e, m.getIds(), static_cast<int64_t>(m.getVocab()), "id");
        emitZero(e, m.getResult());
        e.out() << "    for (int64_t k = 0; k < " << FE::numel(m.getIds()) << "; ++k) {\n"
                << "      auto *dst = " << e.name(m.getResult()) << " + " << e.name(m.getIds())
                << "[k] * " << dim << ";\n      const auto *src = " << e.name(m.getGrad())
                << " + k * " << dim << ";\n"
                << "      for (int64_t d = 0; d < " << dim << "; ++d) dst[d] += src[d];\n    }\n";
        return success();
        });
      })
      .Case<TriluOp>([&](TriluOp t) {
        ArrayRef<int64_t> s = FE::shape(t.getInput());
        int64_t rows = s[s.size() - 2], cols = s.back();
        int64_t outer = FE::numel(t.getInput()) / std::max<int64_t>(rows * cols, 1);
        std::string keep = t.getUpper() ? "j - i >= " : "j - i <= ";
        keep += std::to_string(static_cast<int64_t>(t.getDiagonal()));
        e.out() << "    for (int64_t o = 0; o < " << outer << "; ++o)\n"
                << "      for (int64_t i = 0; i < " << rows << "; ++i)\n"
                << "        for (int64_t j = 0; j < " << cols << "; ++j) {\n"
                << "          int64_t at = (o * " << rows << " + i) * " << cols << " + j;\n"
                << "          " << e.name(t.getResult()) << "[at] = (" << keep << ") ? "
                << e.name(t.getInput()) << "[at] : 0;\n        }\n";
        return success();
      })
      .Default([&](Operation *) {
        handled = false;
        return success();
      });
}
