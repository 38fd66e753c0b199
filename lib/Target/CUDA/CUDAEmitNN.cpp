//===- CUDAEmitNN.cpp - matmul, softmax, norms, attention, loss, GELU -----===//
//
// These ops call the runtime: cuBLASLt GEMMs (pzrt/cuda.h) and the CUDA
// kernels of pzrt/cuda_kernels.h, with the CPU backend's arguments (the
// same dims, strides, eps, ignore_index). bf16/f16 GEMM operands go to
// cuBLASLt as they are (fp32 accumulation); the other kernels compute in
// fp32 on fp32 copies in the op's workspace (TargetInfo::widenedValues of
// "cuda"). Softmax along an inner axis is a gather-form kernel, one thread
// per (outer, inner) column, as the CPU's loop.
//
//===----------------------------------------------------------------------===//

#include "CUDAKernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Target/TargetInfo.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cuda;

using E = Emitter;
using csrc::floatLiteral;
using csrc::intList;

static std::string str(int64_t v) { return std::to_string(v); }

static int64_t product(ArrayRef<int64_t> s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i)
    p *= s[i];
  return p;
}

static std::string dtypeOf(Type t) {
  return t.isBF16() ? "PZRT_BF16" : t.isF16() ? "PZRT_F16" : "PZRT_F32";
}

LogicalResult cuda::emitWidened(Operation *op, E &e,
                                const std::function<LogicalResult()> &emitKernel) {
  for (Value v : llvm::concat<Value>(op->getOperands(), op->getResults())) {
    Type t = E::elementType(v);
    if (llvm::isa<FloatType>(t) && !t.isF32() && !t.isBF16() && !t.isF16())
      return op->emitError() << "CUDA backend: " << op->getName()
                             << " computes in f32 only (bf16 and f16 through f32 copies); got "
                             << v.getType();
  }
  std::vector<TargetInfo::Widened> widened = TargetInfo::get("cuda")->widenedValues(op);
  std::vector<std::string> narrow;
  std::vector<std::pair<std::string, std::string>> origs;
  for (const TargetInfo::Widened &w : widened) {
    std::string var = e.freshName("w"), orig = e.name(w.value);
    origs.push_back(e.rawName(w.value));
    std::string n = str(E::numel(w.value)), dtype = dtypeOf(E::elementType(w.value));
    e.host() << "  float *" << var << " = (float *)(" << e.workspace() << " + " << w.offset
             << ");\n";
    if (!w.isResult)
      e.checkCall(op, "pzrt_cuda_widen_to_f32(ctx, " + dtype + ", " + orig + ", " + var + ", " +
                          n + ")");
    else
      narrow.push_back("pzrt_cuda_narrow_from_f32(ctx, " + dtype + ", " + var + ", " + orig +
                       ", " + n + ")");
    e.setName(w.value, var, "float");
  }
  LogicalResult r = emitKernel();
  for (const std::string &call : narrow)
    e.checkCall(op, call);
  for (auto [w, orig] : llvm::zip(widened, origs))
    e.setName(w.value, orig.first, orig.second);
  return r;
}

/// cuBLASLt on the operands' own dtype (fp32 accumulation), in the plan's
/// GEMM workspace. A batch whose operands each step by one stride is one
/// strided-batched call; other broadcasts loop over the batch on the host.
static LogicalResult emitMatmul(MatmulOp mm, E &e) {
  ArrayRef<int64_t> as = E::shape(mm.getLhs()), bs = E::shape(mm.getRhs());
  if (as.size() < 2 || bs.size() < 2)
    return mm.emitError() << "CUDA backend: matmul operands need rank >= 2";
  Type at = E::elementType(mm.getLhs()), ct = E::elementType(mm.getResult());
  if (at != E::elementType(mm.getRhs()) || !(at.isF32() || at.isBF16() || at.isF16()) ||
      !(ct == at || ct.isF32()))
    return mm.emitError() << "CUDA backend: matmul takes two f32, bf16 or f16 operands of one "
                             "type and gives that type or f32";
  bool ta = mm.getTransposeLhs(), tb = mm.getTransposeRhs();
  int64_t a0 = as[as.size() - 2], a1 = as.back(), b0 = bs[bs.size() - 2], b1 = bs.back();
  int64_t m = ta ? a1 : a0, k = ta ? a0 : a1, n = tb ? b0 : b1;
  // A kernel of convert-pz-to-pzrt's GEMM-epilogue groups (on "cuda") holds
  // the matmul, its bias add and maybe a tanh GELU: one GEMM writes the
  // last op's result. Elsewhere the matmul's result is returned, and the
  // add (its only use) is not there.
  std::optional<TargetInfo::GemmEpilogue> epi = TargetInfo::gemmEpilogue(mm);
  Value dst = epi ? Value(epi->last()->getResult(0)) : Value(mm.getResult());
  std::string A = e.name(mm.getLhs()), B = e.name(mm.getRhs()), C = e.name(dst);
  std::string epilogue = "PZRT_CUDA_EPILOGUE_NONE", bias = "NULL";
  if (epi) {
    epilogue = epi->gelu ? "PZRT_CUDA_EPILOGUE_GELU_BIAS" : "PZRT_CUDA_EPILOGUE_BIAS";
    bias = e.name(epi->bias);
    e.markEmitted(epi->add);
    if (epi->gelu)
      e.markEmitted(epi->gelu);
  }
  if (k == 0) { // cuBLASLt has no empty product: C = 0
    e.host() << "  err = cudaMemsetAsync(" << C << ", 0, " << E::numel(mm.getResult()) << " * sizeof(*"
             << C << "), stream);\n  if (err != cudaSuccess) "
             << e.failStmt(mm, "cudaMemsetAsync failed") << "\n";
    return success();
  }
  std::string t = str(ta) + ", " + str(tb) + ", ";
  std::string types = dtypeOf(at), out = dtypeOf(ct);
  std::string tail = ", " + epilogue + ", " + bias + ", " + e.workspace() +
                     ", PZRT_CUDA_GEMM_WORKSPACE_BYTES)";
  std::string stream = "ctx->streams[0], ";
  if ((bs.size() == 2 && !ta) || (as.size() == 2 && bs.size() == 2)) {
    // Fold the lhs batch into the rows: one GEMM.
    int64_t rows = ta ? m : E::numel(mm.getLhs()) / std::max<int64_t>(k, 1);
    e.checkCall(mm, "pzrt_cuda_gemm(" + stream + t + str(rows) + ", " + str(n) + ", " + str(k) +
                        ", 1.0f, " + A + ", " + str(a1) + ", " + B + ", " + str(b1) + ", " +
                        types + ", 0.0f, " + C + ", " + str(n) + ", " + out + tail);
    return success();
  }
  if (epi) // gemmEpilogue() accepts one-GEMM matmuls only
    return mm.emitError() << "CUDA backend: a GEMM epilogue on a batched matmul";
  ArrayRef<int64_t> ba = as.drop_back(2), bb = bs.drop_back(2);
  ArrayRef<int64_t> bo = E::shape(mm.getResult()).drop_back(2);
  int64_t batch = product(bo, 0, bo.size());
  // Per batch dim, each operand's element stride (0 where broadcast).
  auto batchStrides = [&](ArrayRef<int64_t> in, int64_t mat) {
    std::vector<int64_t> inSt = E::stridesOf(in), s(bo.size(), 0);
    size_t lead = bo.size() - in.size();
    for (size_t d = 0; d < in.size(); ++d)
      s[lead + d] = in[d] == 1 && bo[lead + d] != 1 ? 0 : inSt[d] * mat;
    return s;
  };
  std::vector<int64_t> sa = batchStrides(ba, a0 * a1), sb = batchStrides(bb, b0 * b1);
  std::vector<int64_t> full = E::stridesOf(bo);
  // One stride per operand: the batch is contiguous (or wholly broadcast).
  auto uniform = [&](const std::vector<int64_t> &s, int64_t mat, int64_t &stride) {
    bool dense = true, none = true;
    for (size_t d = 0; d < bo.size(); ++d) {
      if (bo[d] == 1)
        continue;
      dense &= s[d] == full[d] * mat;
      none &= s[d] == 0;
    }
    stride = none ? 0 : mat;
    return dense || none;
  };
  int64_t strideA, strideB;
  if (uniform(sa, a0 * a1, strideA) && uniform(sb, b0 * b1, strideB)) {
    e.checkCall(mm, "pzrt_cuda_gemm_strided_batched(" + stream + t + str(m) + ", " + str(n) +
                        ", " + str(k) + ", 1.0f, " + A + ", " + str(a1) + ", " + str(strideA) +
                        ", " + B + ", " + str(b1) + ", " + str(strideB) + ", " + types +
                        ", 0.0f, " + C + ", " + str(n) + ", " + str(m * n) + ", " + out + ", " +
                        str(batch) + tail);
    return success();
  }
  // Mixed broadcasts ([2, 1] x [1, 3]): one GEMM per matrix of C.
  std::string offA = "0", offB = "0";
  for (size_t d = 0; d < bo.size(); ++d) {
    std::string c = "((t / " + str(full[d]) + ") % " + str(bo[d]) + ")";
    offA += " + " + c + " * " + str(sa[d]);
    offB += " + " + c + " * " + str(sb[d]);
  }
  e.host() << "  for (int64_t t = 0; t < " << batch << "; ++t)\n  ";
  e.checkCall(mm, "pzrt_cuda_gemm(" + stream + t + str(m) + ", " + str(n) + ", " + str(k) +
                      ", 1.0f, " + A + " + " + offA + ", " + str(a1) + ", " + B + " + " + offB +
                      ", " + str(b1) + ", " + types + ", 0.0f, " + C + " + t * " + str(m * n) +
                      ", " + str(n) + ", " + out + tail);
  return success();
}

/// Softmax / log-softmax along `axis`: the runtime's row kernels for the
/// last axis; for an inner axis one thread per column, as the CPU's loop
/// (max-subtracted, sums in double).
static LogicalResult emitSoftmax(Operation *op, Value x, Value y, int64_t axis, bool log, E &e) {
  ArrayRef<int64_t> s = E::shape(x);
  int64_t outer = product(s, 0, axis), n = s[axis], inner = product(s, axis + 1, s.size());
  if (inner == 1) {
    e.checkCall(op, std::string(log ? "pzrt_cuda_log_softmax_fwd(" : "pzrt_cuda_softmax_fwd(") +
                        "ctx, " + e.name(x) + ", " + e.name(y) + ", " + str(outer) + ", " +
                        str(n) + ")");
    return success();
  }
  GridKernel k;
  std::string Y = e.param(k, y, false), X = e.param(k, x, true);
  k.n = outer * inner;
  std::string in = str(inner);
  k.body = "  int64_t o = i / " + in + ", c = i % " + in + ";\n  const float *r = " + X +
           " + o * " + str(n * inner) + " + c;\n  float *d = " + Y + " + o * " +
           str(n * inner) + " + c;\n  float mx = -INFINITY;\n  for (int64_t t = 0; t < " +
           str(n) + "; ++t) mx = r[t * " + in + "] > mx ? r[t * " + in +
           "] : mx;\n  double sum = 0;\n  for (int64_t t = 0; t < " + str(n) +
           "; ++t) sum += exp((double)r[t * " + in + "] - mx);\n";
  if (log)
    k.body += "  double lse = mx + ::log(sum);\n  for (int64_t t = 0; t < " + str(n) +
              "; ++t) d[t * " + in + "] = (float)(r[t * " + in + "] - lse);\n";
  else
    k.body += "  for (int64_t t = 0; t < " + str(n) + "; ++t) d[t * " + in +
              "] = mx == -INFINITY ? 0.0f : (float)(exp((double)r[t * " + in +
              "] - mx) / sum);\n";
  e.launch(op, std::move(k));
  return success();
}

static std::string orNull(E &e, Value v) { return v ? e.name(v) : "NULL"; }

static LogicalResult emitF32Kernel(Operation *op, E &e) {
  auto rowsCols = [](Value x, int64_t axis) {
    ArrayRef<int64_t> s = E::shape(x);
    return std::make_pair(product(s, 0, axis), product(s, axis, s.size()));
  };
  auto eps = [](APFloat v) { return floatLiteral(v.convertToDouble(), true); };
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<SoftmaxOp>([&](SoftmaxOp s) {
        return emitSoftmax(op, s.getInput(), s.getResult(), s.getAxis(), false, e);
      })
      .Case<LogSoftmaxOp>([&](LogSoftmaxOp s) {
        return emitSoftmax(op, s.getInput(), s.getResult(), s.getAxis(), true, e);
      })
      .Case<LayerNormOp>([&](LayerNormOp ln) {
        auto [rows, cols] = rowsCols(ln.getInput(), ln.getAxis());
        e.checkCall(op, "pzrt_cuda_layer_norm_fwd(ctx, " + e.name(ln.getInput()) + ", " +
                            orNull(e, ln.getScale()) + ", " + orNull(e, ln.getBias()) + ", " +
                            e.name(ln.getResult()) + ", NULL, NULL, " + str(rows) + ", " +
                            str(cols) + ", " + eps(ln.getEpsilon()) + ")");
        return success();
      })
      .Case<RMSNormOp>([&](RMSNormOp rn) {
        auto [rows, cols] = rowsCols(rn.getInput(), rn.getAxis());
        e.checkCall(op, "pzrt_cuda_rms_norm_fwd(ctx, " + e.name(rn.getInput()) + ", " +
                            orNull(e, rn.getScale()) + ", " + e.name(rn.getResult()) +
                            ", NULL, " + str(rows) + ", " + str(cols) + ", " +
                            eps(rn.getEpsilon()) + ")");
        return success();
      })
      .Case<LayerNormGradOp>([&](LayerNormGradOp g) {
        auto [rows, cols] = rowsCols(g.getInput(), g.getAxis());
        e.checkCall(op, "pzrt_cuda_layer_norm_bwd_recompute(ctx, " + e.name(g.getGrad()) + ", " +
                            e.name(g.getInput()) + ", " + orNull(e, g.getScale()) + ", " +
                            e.name(g.getGradInput()) + ", " + e.name(g.getGradScale()) + ", " +
                            e.name(g.getGradBias()) + ", " + str(rows) + ", " + str(cols) +
                            ", " + eps(g.getEpsilon()) + ")");
        return success();
      })
      .Case<RMSNormGradOp>([&](RMSNormGradOp g) {
        auto [rows, cols] = rowsCols(g.getInput(), g.getAxis());
        e.checkCall(op, "pzrt_cuda_rms_norm_bwd_recompute(ctx, " + e.name(g.getGrad()) + ", " +
                            e.name(g.getInput()) + ", " + orNull(e, g.getScale()) + ", " +
                            e.name(g.getGradInput()) + ", " + e.name(g.getGradScale()) + ", " +
                            str(rows) + ", " + str(cols) + ", " + eps(g.getEpsilon()) + ")");
        return success();
      })
      .Case<GeluOp>([&](GeluOp g) {
        int approx = g.getApproximate() == GeluApproximation::erf ? 0 : 1;
        e.checkCall(op, "pzrt_cuda_gelu_fwd(ctx, " + e.name(g.getInput()) + ", " +
                            e.name(g.getResult()) + ", " + str(E::numel(g.getResult())) + ", " +
                            str(approx) + ")");
        return success();
      })
      .Case<GeluGradOp>([&](GeluGradOp g) -> LogicalResult {
        if (g.getGrad().getType() != g.getInput().getType())
          return g.emitError() << "CUDA backend: gelu_grad needs operands of one type";
        int approx = g.getApproximate() == GeluApproximation::erf ? 0 : 1;
        e.checkCall(op, "pzrt_cuda_gelu_bwd(ctx, " + e.name(g.getInput()) + ", " +
                            e.name(g.getGrad()) + ", " + e.name(g.getResult()) + ", " +
                            str(E::numel(g.getResult())) + ", " + str(approx) + ")");
        return success();
      })
      .Case<AttentionOp, AttentionGradOp, AttentionBiasGradOp, AttentionBlockOp,
            AttentionBlockGradOp>([&](Operation *) { return emitAttentionOp(op, e); })
      .Case<CrossEntropyOp, CrossEntropyGradOp>(
          [&](Operation *) { return emitCrossEntropyOp(op, e); })
      .Default([&](Operation *) {
        return op->emitError() << "CUDA backend: no fp32 kernel call for " << op->getName();
      });
}

LogicalResult cuda::emitNNOp(Operation *op, E &e, bool &handled) {
  handled = true;
  if (auto mm = llvm::dyn_cast<MatmulOp>(op))
    return emitMatmul(mm, e);
  if (!llvm::isa<SoftmaxOp, LogSoftmaxOp, LayerNormOp, RMSNormOp, LayerNormGradOp, RMSNormGradOp,
                 AttentionOp, AttentionGradOp, AttentionBiasGradOp, AttentionBlockOp,
                 AttentionBlockGradOp, CrossEntropyOp, CrossEntropyGradOp, GeluOp,
                 GeluGradOp>(op)) {
    handled = false;
    return success();
  }
  return emitWidened(op, e, [&] { return emitF32Kernel(op, e); });
}
