//===- EmitNN.cpp - matmul, softmax, norms, attention and the loss --------===//
//
// These ops call runtime kernels (runtime/include/pzrt/kernels.h): OpenBLAS
// GEMMs, and softmax, norms, attention and cross-entropy written once,
// numerically carefully, in the runtime. Softmax along an inner axis is the
// one case emitted as a loop.
//
//===----------------------------------------------------------------------===//

#include "KernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Target/TargetInfo.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cpp;

using FE = KernelEmitter;

static int64_t product(ArrayRef<int64_t> s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i)
    p *= s[i];
  return p;
}

/// The pzrt_dtype of a 16-bit float type.
static const char *halfDtype(Type t) { return t.isBF16() ? "PZRT_BF16" : "PZRT_F16"; }

LogicalResult cpp::emitWidened(Operation *op, FE &e,
                               const std::function<LogicalResult()> &emitKernel) {
  std::vector<TargetInfo::Widened> widened = TargetInfo::get("cpu")->widenedValues(op);
  for (Value v : llvm::concat<Value>(op->getOperands(), op->getResults())) {
    Type t = FE::elementType(v);
    if (llvm::isa<FloatType>(t) && !t.isF32() && !t.isBF16() && !t.isF16())
      return op->emitError() << "CPU backend: " << op->getName()
                             << " computes in f32 only (bf16 and f16 through f32 copies); got "
                             << v.getType();
  }
  if (widened.empty())
    return emitKernel();
  std::vector<std::string> narrow, origs;
  for (const TargetInfo::Widened &w : widened) {
    std::string var = e.freshName("w"), orig = e.name(w.value);
    origs.push_back(orig);
    std::string n = std::to_string(FE::numel(w.value));
    e.out() << "  float *" << var << " = (float *)(" << e.workspace(op) << " + " << w.offset
            << ");\n";
    std::string dtype = halfDtype(FE::elementType(w.value));
    if (!w.isResult)
      e.checkCall(op, "pzrt_widen_to_f32(" + dtype + ", " + orig + ", " + var + ", " + n + ")");
    else
      narrow.push_back("pzrt_narrow_from_f32(" + dtype + ", " + var + ", " + orig + ", " + n +
                       ")");
    e.setName(w.value, var);
  }
  LogicalResult r = emitKernel();
  for (const std::string &call : narrow)
    e.checkCall(op, call);
  for (auto [w, orig] : llvm::zip(widened, origs))
    e.setName(w.value, orig);
  return r;
}

static LogicalResult emitMatmul(MatmulOp mm, FE &e) {
  ArrayRef<int64_t> as = FE::shape(mm.getLhs()), bs = FE::shape(mm.getRhs());
  if (as.size() < 2 || bs.size() < 2)
    return mm.emitError() << "CPU backend: matmul operands need rank >= 2";
  bool ta = mm.getTransposeLhs(), tb = mm.getTransposeRhs();
  int64_t a0 = as[as.size() - 2], a1 = as.back(), b0 = bs[bs.size() - 2], b1 = bs.back();
  int64_t m = ta ? a1 : a0, k = ta ? a0 : a1, n = tb ? b0 : b1;
  std::string A = e.name(mm.getLhs()), B = e.name(mm.getRhs()), C = e.name(mm.getResult());
  std::string t = std::to_string(ta) + ", " + std::to_string(tb) + ", ";
  std::string common = std::to_string(k) + ", 1.0f, ";
  if (bs.size() == 2 && !ta) {
    // Fold the lhs batch into the rows: one GEMM.
    int64_t rows = FE::numel(mm.getLhs()) / std::max<int64_t>(k, 1);
    e.checkCall(mm, "pzrt_sgemm(" + t + std::to_string(rows) + ", " + std::to_string(n) + ", " +
                        common + A + ", " + std::to_string(a1) + ", " + B + ", " +
                        std::to_string(b1) + ", 0.0f, " + C + ", " + std::to_string(n) + ")");
    return success();
  }
  ArrayRef<int64_t> ba = as.drop_back(2), bb = bs.drop_back(2);
  ArrayRef<int64_t> outShape = FE::shape(mm.getResult());
  ArrayRef<int64_t> bo = outShape.drop_back(2);
  std::vector<int64_t> sa = FE::broadcastStrides(ba, bo), sb = FE::broadcastStrides(bb, bo);
  for (int64_t &s : sa)
    s *= a0 * a1;
  for (int64_t &s : sb)
    s *= b0 * b1;
  std::vector<int64_t> sc = FE::stridesOf(bo);
  for (int64_t &s : sc)
    s *= m * n;
  std::string where = FE::where(mm);
  e.emitStridedLoop(bo, {{"&" + A, 0, sa}, {"&" + B, 0, sb}, {"&" + C, 0, sc}},
                    [&](ArrayRef<std::string> p) {
                      return "if (pzrt_sgemm(" + t + std::to_string(m) + ", " +
                             std::to_string(n) + ", " + common + p[0] + ", " +
                             std::to_string(a1) + ", " + p[1] + ", " + std::to_string(b1) +
                             ", 0.0f, " + p[2] + ", " + std::to_string(n) +
                             ") != 0) return pz_fail(\"" + where + "\");";
                    });
  return success();
}

/// Softmax / log-softmax along `axis`.
static LogicalResult emitSoftmax(Operation *op, Value x, Value y, int64_t axis, bool log, FE &e) {
  ArrayRef<int64_t> s = FE::shape(x);
  int64_t outer = product(s, 0, axis), n = s[axis], inner = product(s, axis + 1, s.size());
  if (inner == 1) {
    e.out() << "    " << (log ? "pzrt_log_softmax_fwd(" : "pzrt_softmax_fwd(") << e.name(x) << ", "
            << e.name(y) << ", " << outer << ", " << n << ");\n";
    return success();
  }
  // An inner axis: max-subtracted, sums in double.
  e.out() << "    for (int64_t o = 0; o < " << outer << "; ++o)\n"
          << "      for (int64_t in = 0; in < " << inner << "; ++in) {\n"
          << "        const float *r = " << e.name(x) << " + o * " << n * inner << " + in;\n"
          << "        float *d = " << e.name(y) << " + o * " << n * inner << " + in;\n"
          << "        float mx = -INFINITY;\n"
          << "        for (int64_t i = 0; i < " << n << "; ++i) mx = r[i * " << inner
          << "] > mx ? r[i * " << inner << "] : mx;\n"
          << "        double sum = 0;\n"
          << "        for (int64_t i = 0; i < " << n << "; ++i) sum += std::exp((double)r[i * "
          << inner << "] - mx);\n";
  if (log)
    e.out() << "        double lse = mx + std::log(sum);\n"
            << "        for (int64_t i = 0; i < " << n << "; ++i) d[i * " << inner
            << "] = (float)(r[i * " << inner << "] - lse);\n";
  else
    e.out() << "        for (int64_t i = 0; i < " << n << "; ++i) d[i * " << inner
            << "] = mx == -INFINITY ? 0.0f : (float)(std::exp((double)r[i * " << inner
            << "] - mx) / sum);\n";
  e.out() << "      }\n";
  return success();
}

static std::string orNull(FE &e, Value v) { return v ? e.name(v) : "NULL"; }

static std::string epsLit(double eps) { return floatLiteral(eps, true); }

namespace {
/// What the attention kernels' calls share: the dims (B, H, Hkv, Sq, Sk,
/// D, Dv), the scale, and the mask's kind; `open` writes the block that
/// declares the mask's strides (ms), `close` ends it after the call.
struct AttentionCall {
  int64_t dims[7];
  double scale;
  std::string kind = "PZRT_MASK_NONE";

  AttentionCall(Value q, Value k, Value v, Value mask, std::optional<double> scaleAttr, FE &e) {
    ArrayRef<int64_t> qs = FE::shape(q), ks = FE::shape(k), vs = FE::shape(v);
    int64_t d[7] = {qs[0], qs[1], ks[1], qs[2], ks[2], qs[3], vs[3]};
    std::copy(d, d + 7, dims);
    scale = scaleAttr ? *scaleAttr : 1.0 / std::sqrt(static_cast<double>(dims[5]));
    std::string strides = "{0, 0, 0, 0}";
    if (mask) {
      kind = FE::elementType(mask).isInteger(1) ? "PZRT_MASK_BOOL" : "PZRT_MASK_ADD";
      strides =
          intList(FE::broadcastStrides(FE::shape(mask), {dims[0], dims[1], dims[3], dims[4]}));
    }
    e.out() << "    { static const int64_t ms[4] = " << strides << ";\n";
  }
  /// ", D0, D1, ..., D6"
  std::string dimList() const {
    std::string s;
    for (int64_t d : dims)
      s += ", " + std::to_string(d);
    return s;
  }
  static void call(Operation *op, FE &e, const std::string &call) {
    e.out() << "  ";
    e.checkCall(op, call);
    e.out() << "    }\n";
  }
};
} // namespace

static LogicalResult emitAttention(Operation *op, Value q, Value k, Value v, Value mask,
                                   Value bias, bool causal, std::optional<double> scaleAttr,
                                   FE &e, const std::string &outs) {
  AttentionCall a(q, k, v, mask, scaleAttr, e);
  std::string biasArgs = "NULL, NULL, ";
  if (bias) {
    e.out() << "      static const int64_t bs[4] = "
            << intList(FE::broadcastStrides(FE::shape(bias),
                                            {a.dims[0], a.dims[1], a.dims[3], a.dims[4]}))
            << ";\n";
    biasArgs = e.name(bias) + ", bs, ";
  }
  std::string call = std::string(outs.empty() ? "pzrt_attention_fwd(" : "pzrt_attention_bwd(");
  call += outs.empty() ? "" : outs.substr(0, outs.find('|')) + ", ";
  call += e.name(q) + ", " + e.name(k) + ", " + e.name(v) + ", " + orNull(e, mask) + ", " +
          a.kind + ", ms, " + biasArgs + std::to_string(causal ? 1 : 0) + ", " +
          floatLiteral(a.scale, false) + a.dimList();
  call += ", " + (outs.empty() ? e.name(op->getResult(0)) : outs.substr(outs.find('|') + 1)) +
          ", " + e.workspace(op) + ")";
  AttentionCall::call(op, e, call);
  return success();
}

/// pz.attention_bias_grad: the bias's cotangent, its strides over
/// [B, H, Sq, Sk] as the forward's.
static LogicalResult emitAttentionBiasGrad(AttentionBiasGradOp g, FE &e) {
  std::optional<double> scale;
  if (auto s = g.getScaleAttr())
    scale = s.getValueAsDouble();
  Value q = g.getQuery(), k = g.getKey(), v = g.getValue(), mask = g.getMask(), bias = g.getBias();
  AttentionCall a(q, k, v, mask, scale, e);
  e.out() << "      static const int64_t bs[4] = "
          << intList(FE::broadcastStrides(FE::shape(bias),
                                          {a.dims[0], a.dims[1], a.dims[3], a.dims[4]}))
          << ";\n";
  std::string call = "pzrt_attention_bias_bwd(" + e.name(g.getGrad()) + ", " + e.name(q) + ", " +
                     e.name(k) + ", " + e.name(v) + ", " + orNull(e, mask) + ", " + a.kind +
                     ", ms, " + e.name(bias) + ", bs, " + std::to_string(FE::numel(bias)) + ", " +
                     std::to_string(g.getCausal() ? 1 : 0) + ", " +
                     floatLiteral(a.scale, false) + a.dimList() + ", " +
                     e.name(g.getGradBias()) + ", " + e.workspace(g) + ")";
  AttentionCall::call(g, e, call);
  return success();
}

/// One block of ring attention, forward (no `grad`) or backward: `tail` is
/// "operands after v|the outputs".
static LogicalResult emitAttentionBlock(Operation *op, Value grad, Value q, Value k, Value v,
                                        Value qPos, Value kPos, Value mask,
                                        std::optional<double> scaleAttr, FE &e,
                                        const std::string &tail) {
  AttentionCall a(q, k, v, mask, scaleAttr, e);
  std::string call = grad ? "pzrt_attention_block_bwd(" + e.name(grad) + ", "
                          : std::string("pzrt_attention_block_fwd(");
  call += e.name(q) + ", " + e.name(k) + ", " + e.name(v) + ", " + tail.substr(0, tail.find('|')) +
          orNull(e, qPos) + ", " + orNull(e, kPos) + ", " + orNull(e, mask) + ", " + a.kind +
          ", ms, " + floatLiteral(a.scale, false) + a.dimList();
  call += ", " + tail.substr(tail.find('|') + 1) + ", " + e.workspace(op) + ")";
  AttentionCall::call(op, e, call);
  return success();
}

static LogicalResult emitCrossEntropy(Operation *op, Value logits, Value labels, Value grad,
                                      Reduction red, int64_t ignore, FE &e) {
  if (!FE::elementType(labels).isInteger(64))
    return op->emitError() << "CPU backend: cross-entropy labels must be i64";
  ArrayRef<int64_t> s = FE::shape(logits);
  int64_t classes = s.back(), rows = FE::numel(logits) / std::max<int64_t>(classes, 1);
  std::string L = e.name(logits), Y = e.name(labels), R = e.name(op->getResult(0));
  std::string ig = std::to_string(ignore), where = FE::where(op);
  std::string fail = "return pz_fail(\"" + where + "\");";
  auto cnt = std::to_string(classes);
  if (!grad) {
    if (red == Reduction::none) {
      e.out() << "    for (int64_t r = 0; r < " << rows << "; ++r) {\n"
              << "      double s = 0; int64_t nv = 0;\n"
              << "      if (pzrt_cross_entropy_fwd(" << L << " + r * " << classes << ", " << Y
              << " + r, 1, " << cnt << ", " << ig << ", NULL, &s, &nv) != 0) " << fail << "\n"
              << "      " << R << "[r] = (float)s;\n    }\n";
      return success();
    }
    e.out() << "    { double s = 0; int64_t nv = 0;\n"
            << "      if (pzrt_cross_entropy_fwd(" << L << ", " << Y << ", " << rows << ", " << cnt
            << ", " << ig << ", NULL, &s, &nv) != 0) " << fail << "\n"
            << "      " << R << "[0] = (float)("
            << (red == Reduction::mean ? "s / (double)nv" : "s") << "); }\n";
    return success();
  }
  std::string G = e.name(grad);
  if (red == Reduction::none) {
    e.out() << "    for (int64_t r = 0; r < " << rows << "; ++r)\n"
            << "      if (pzrt_cross_entropy_bwd(" << L << " + r * " << classes << ", " << Y
            << " + r, NULL, 1, " << cnt << ", " << ig << ", " << G << "[r], " << R << " + r * "
            << classes << ") != 0) " << fail << "\n";
    return success();
  }
  e.out() << "    { double scale = " << G << "[0];\n";
  if (red == Reduction::mean)
    e.out() << "      int64_t nv = 0;\n      for (int64_t r = 0; r < " << rows
            << "; ++r) nv += " << Y << "[r] != " << ig << ";\n      scale /= (double)nv;\n";
  e.out() << "      if (pzrt_cross_entropy_bwd(" << L << ", " << Y << ", NULL, " << rows << ", "
          << cnt << ", " << ig << ", (float)scale, " << R << ") != 0) " << fail << " }\n";
  return success();
}

static LogicalResult emitF32Kernel(Operation *op, FE &e);

/// A matmul of bf16 operands into a bf16 result that is one GEMM: the rhs
/// one matrix (its batch dims, if any, all 1), and the lhs either not
/// transposed (its batch folded into the rows) or one matrix too.
/// pzrt_gemm_bf16 reads the operands as they are (oneDNN where it loads)
/// into the result's fp32 copy, which is rounded back once. The operands'
/// fp32 copies stay planned: they are its fallback's scratch.
static bool isBf16Gemm(Operation *op) {
  auto mm = llvm::dyn_cast<MatmulOp>(op);
  if (!mm || !FE::elementType(mm.getLhs()).isBF16() || !FE::elementType(mm.getRhs()).isBF16() ||
      !FE::elementType(mm.getResult()).isBF16())
    return false;
  ArrayRef<int64_t> as = FE::shape(mm.getLhs()), bs = FE::shape(mm.getRhs());
  if (as.size() < 2 || bs.size() < 2 || product(bs, 0, bs.size() - 2) != 1)
    return false;
  return !mm.getTransposeLhs() || product(as, 0, as.size() - 2) == 1;
}

static LogicalResult emitBf16Gemm(MatmulOp mm, FE &e) {
  std::vector<TargetInfo::Widened> widened = TargetInfo::get("cpu")->widenedValues(mm);
  auto copyOf = [&](Value v) {
    for (const TargetInfo::Widened &w : widened)
      if (w.value == v)
        return "(float *)(" + e.workspace(mm) + " + " + std::to_string(w.offset) + ")";
    return std::string("NULL");
  };
  ArrayRef<int64_t> as = FE::shape(mm.getLhs()), bs = FE::shape(mm.getRhs());
  bool ta = mm.getTransposeLhs(), tb = mm.getTransposeRhs();
  int64_t a0 = as[as.size() - 2], a1 = as.back(), b0 = bs[bs.size() - 2], b1 = bs.back();
  int64_t k = ta ? a0 : a1, n = tb ? b0 : b1;
  int64_t rows = ta ? a1 : FE::numel(mm.getLhs()) / std::max<int64_t>(k, 1);
  std::string c = e.freshName("w");
  e.out() << "  float *" << c << " = " << copyOf(mm.getResult()) << ";\n";
  e.checkCall(mm, "pzrt_gemm_bf16(" + std::to_string(ta) + ", " + std::to_string(tb) + ", " +
                      std::to_string(rows) + ", " + std::to_string(n) + ", " +
                      std::to_string(k) + ", 1.0f, (const uint16_t *)" + e.name(mm.getLhs()) +
                      ", " + std::to_string(a1) + ", (const uint16_t *)" + e.name(mm.getRhs()) +
                      ", " + std::to_string(b1) + ", 0.0f, " + c + ", " + std::to_string(n) +
                      ", " + copyOf(mm.getLhs()) + ", " + std::to_string(FE::numel(mm.getLhs())) +
                      ", " + copyOf(mm.getRhs()) + ", " +
                      std::to_string(FE::numel(mm.getRhs())) + ")");
  e.checkCall(mm, "pzrt_narrow_from_f32(PZRT_BF16, " + c + ", " + e.name(mm.getResult()) + ", " +
                      std::to_string(FE::numel(mm.getResult())) + ")");
  return success();
}

LogicalResult cpp::emitNNOp(Operation *op, FE &e, bool &handled) {
  handled = true;
  if (!llvm::isa<MatmulOp, SoftmaxOp, LogSoftmaxOp, LayerNormOp, RMSNormOp, LayerNormGradOp,
                 RMSNormGradOp, AttentionOp, AttentionGradOp, AttentionBiasGradOp,
                 AttentionBlockOp, AttentionBlockGradOp, CrossEntropyOp,
                 CrossEntropyGradOp>(op)) {
    handled = false;
    return success();
  }
  if (isBf16Gemm(op))
    return emitBf16Gemm(llvm::cast<MatmulOp>(op), e);
  return emitWidened(op, e, [&] { return emitF32Kernel(op, e); });
}

/// The call of op's fp32 runtime kernel.
static LogicalResult emitF32Kernel(Operation *op, FE &e) {
  auto rowsCols = [](Value x, int64_t axis) {
    ArrayRef<int64_t> s = FE::shape(x);
    return std::make_pair(product(s, 0, axis), product(s, axis, s.size()));
  };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<MatmulOp>([&](MatmulOp mm) { return emitMatmul(mm, e); })
      .Case<SoftmaxOp>([&](SoftmaxOp s) {
        return emitSoftmax(op, s.getInput(), s.getResult(), s.getAxis(), false, e);
      })
      .Case<LogSoftmaxOp>([&](LogSoftmaxOp s) {
        return emitSoftmax(op, s.getInput(), s.getResult(), s.getAxis(), true, e);
      })
      .Case<LayerNormOp>([&](LayerNormOp ln) {
        auto [rows, cols] = rowsCols(ln.getInput(), ln.getAxis());
        e.checkCall(op, "pzrt_layer_norm_fwd(" + e.name(ln.getInput()) + ", " +
                            orNull(e, ln.getScale()) + ", " + orNull(e, ln.getBias()) + ", " +
                            e.name(ln.getResult()) + ", NULL, NULL, " + std::to_string(rows) +
                            ", " + std::to_string(cols) + ", " +
                            epsLit(ln.getEpsilon().convertToDouble()) + ")");
        return success();
      })
      .Case<RMSNormOp>([&](RMSNormOp rn) {
        auto [rows, cols] = rowsCols(rn.getInput(), rn.getAxis());
        e.checkCall(op, "pzrt_rms_norm_fwd(" + e.name(rn.getInput()) + ", " +
                            orNull(e, rn.getScale()) + ", " + e.name(rn.getResult()) +
                            ", NULL, " + std::to_string(rows) + ", " + std::to_string(cols) +
                            ", " + epsLit(rn.getEpsilon().convertToDouble()) + ")");
        return success();
      })
      .Case<LayerNormGradOp>([&](LayerNormGradOp g) {
        auto [rows, cols] = rowsCols(g.getInput(), g.getAxis());
        e.checkCall(op, "pzrt_layer_norm_bwd_recompute(" + e.name(g.getGrad()) + ", " +
                            e.name(g.getInput()) + ", " + orNull(e, g.getScale()) + ", " +
                            e.name(g.getGradInput()) + ", " + e.name(g.getGradScale()) + ", " +
                            e.name(g.getGradBias()) + ", " + std::to_string(rows) + ", " +
                            std::to_string(cols) + ", " +
                            epsLit(g.getEpsilon().convertToDouble()) + ")");
        return success();
      })
      .Case<RMSNormGradOp>([&](RMSNormGradOp g) {
        auto [rows, cols] = rowsCols(g.getInput(), g.getAxis());
        e.checkCall(op, "pzrt_rms_norm_bwd_recompute(" + e.name(g.getGrad()) + ", " +
                            e.name(g.getInput()) + ", " + orNull(e, g.getScale()) + ", " +
                            e.name(g.getGradInput()) + ", " + e.name(g.getGradScale()) + ", " +
                            std::to_string(rows) + ", " + std::to_string(cols) + ", " +
                            epsLit(g.getEpsilon().convertToDouble()) + ")");
        return success();
      })
      .Case<AttentionOp>([&](AttentionOp a) {
        std::optional<double> scale;
        if (auto s = a.getScaleAttr())
          scale = s.getValueAsDouble();
        return emitAttention(op, a.getQuery(), a.getKey(), a.getValue(), a.getMask(),
                             a.getBias(), a.getCausal(), scale, e, "");
      })
      .Case<AttentionGradOp>([&](AttentionGradOp a) {
        std::optional<double> scale;
        if (auto s = a.getScaleAttr())
          scale = s.getValueAsDouble();
        std::string outs = e.name(a.getGrad()) + "|" + e.name(a.getGradQuery()) + ", " +
                           e.name(a.getGradKey()) + ", " + e.name(a.getGradValue());
        return emitAttention(op, a.getQuery(), a.getKey(), a.getValue(), a.getMask(),
                             a.getBias(), a.getCausal(), scale, e, outs);
      })
      .Case<AttentionBiasGradOp>([&](AttentionBiasGradOp a) { return emitAttentionBiasGrad(a, e); })
      .Case<AttentionBlockOp>([&](AttentionBlockOp a) {
        std::optional<double> scale;
        if (auto s = a.getScaleAttr())
          scale = s.getValueAsDouble();
        // (q, k, v, q_pos, k_pos, mask, ..., acc_in, lse_in, acc_out, lse_out)
        std::string tail = "|" + e.name(a.getAcc()) + ", " + e.name(a.getLse()) + ", " +
                           e.name(a.getResult()) + ", " + e.name(a.getResultLse());
        return emitAttentionBlock(op, Value(), a.getQuery(), a.getKey(), a.getValue(),
                                  a.getQueryPositions(), a.getKeyPositions(), a.getMask(), scale,
                                  e, tail);
      })
      .Case<AttentionBlockGradOp>([&](AttentionBlockGradOp a) {
        std::optional<double> scale;
        if (auto s = a.getScaleAttr())
          scale = s.getValueAsDouble();
        // (dout, q, k, v, out, lse, q_pos, k_pos, mask, ..., dq, dk, dv)
        std::string tail = e.name(a.getOut()) + ", " + e.name(a.getLse()) + ", |" +
                           e.name(a.getGradQuery()) + ", " + e.name(a.getGradKey()) + ", " +
                           e.name(a.getGradValue());
        return emitAttentionBlock(op, a.getGrad(), a.getQuery(), a.getKey(), a.getValue(),
                                  a.getQueryPositions(), a.getKeyPositions(), a.getMask(), scale,
                                  e, tail);
      })
      .Case<CrossEntropyOp>([&](CrossEntropyOp c) {
        return emitCrossEntropy(op, c.getLogits(), c.getLabels(), Value(), c.getReduction(),
                                c.getIgnoreIndex(), e);
      })
      .Case<CrossEntropyGradOp>([&](CrossEntropyGradOp c) {
        return emitCrossEntropy(op, c.getLogits(), c.getLabels(), c.getGrad(),
                                c.getReduction(), c.getIgnoreIndex(), e);
      })
      .Default([&](Operation *) {
        return op->emitError() << "CPU backend: no fp32 kernel call for " << op->getName();
      });
}
