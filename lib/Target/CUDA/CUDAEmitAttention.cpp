//===- CUDAEmitAttention.cpp - attention and its ring-attention blocks ----===//
//
// The calls of pzrt_cuda_attention_* with the CPU backend's arguments: the
// dims (B, H, Hkv, Sq, Sk, D, Dv), the scale, the mask's kind and its
// broadcast strides over [B, H, Sq, Sk] (host arrays, passed by value),
// the bias's likewise, and the op's planned workspace, which the "cuda"
// target sizes with pzrt_cuda_attention_workspace_bytes.
//
//===----------------------------------------------------------------------===//

#include "CUDAKernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cuda;

using E = Emitter;
using csrc::floatLiteral;
using csrc::intList;

/// Strides of `in` broadcast (numpy rules) to `out` (0 on broadcast dims).
static std::vector<int64_t> broadcastStrides(ArrayRef<int64_t> in, ArrayRef<int64_t> out) {
  std::vector<int64_t> inStrides = E::stridesOf(in);
  std::vector<int64_t> s(out.size(), 0);
  size_t lead = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d)
    s[lead + d] = in[d] == 1 && out[lead + d] != 1 ? 0 : inStrides[d];
  return s;
}

namespace {
/// What the calls share: the dims, the scale, the mask's kind; the call
/// sits in a block declaring the mask's strides `ms` (and the bias's `bs`).
struct AttentionCall {
  int64_t dims[7];
  double scale;
  std::string kind = "PZRT_MASK_NONE", maskStrides = "{0, 0, 0, 0}";

  AttentionCall(Value q, Value k, Value v, Value mask, std::optional<double> scaleAttr) {
    ArrayRef<int64_t> qs = E::shape(q), ks = E::shape(k), vs = E::shape(v);
    int64_t d[7] = {qs[0], qs[1], ks[1], qs[2], ks[2], qs[3], vs[3]};
    std::copy(d, d + 7, dims);
    scale = scaleAttr ? *scaleAttr : 1.0 / std::sqrt(static_cast<double>(dims[5]));
    if (mask) {
      kind = E::elementType(mask).isInteger(1) ? "PZRT_MASK_BOOL" : "PZRT_MASK_ADD";
      maskStrides = intList(broadcastStrides(E::shape(mask), scoreShape()));
    }
  }
  std::vector<int64_t> scoreShape() const { return {dims[0], dims[1], dims[3], dims[4]}; }
  /// ", scale, B, H, Hkv, Sq, Sk, D, Dv"
  std::string scaleAndDims() const {
    std::string s = ", " + floatLiteral(scale, false);
    for (int64_t d : dims)
      s += ", " + std::to_string(d);
    return s;
  }
  void call(Operation *op, E &e, Value bias, const std::string &call) const {
    e.host() << "  {\n    static const int64_t ms[4] = " << maskStrides << ";\n";
    if (bias)
      e.host() << "    static const int64_t bs[4] = "
               << intList(broadcastStrides(E::shape(bias), scoreShape())) << ";\n";
    e.host() << "  ";
    e.checkCall(op, call);
    e.host() << "  }\n";
  }
};
} // namespace

static std::string orNull(E &e, Value v) { return v ? e.name(v) : "NULL"; }

template <class OpT> static std::optional<double> scaleOf(OpT op) {
  if (auto s = op.getScaleAttr())
    return s.getValueAsDouble();
  return std::nullopt;
}

LogicalResult cuda::emitAttentionOp(Operation *op, E &e) {
  std::string ws = ", " + e.workspace() + ")";
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<AttentionOp>([&](AttentionOp a) {
        AttentionCall c(a.getQuery(), a.getKey(), a.getValue(), a.getMask(), scaleOf(a));
        c.call(op, e, a.getBias(),
               "pzrt_cuda_attention_fwd(ctx, " + e.name(a.getQuery()) + ", " +
                   e.name(a.getKey()) + ", " + e.name(a.getValue()) + ", " +
                   orNull(e, a.getMask()) + ", " + c.kind + ", ms, " +
                   (a.getBias() ? e.name(a.getBias()) + ", bs, " : "NULL, NULL, ") +
                   std::to_string(a.getCausal() ? 1 : 0) + c.scaleAndDims() + ", " +
                   e.name(a.getResult()) + ws);
        return success();
      })
      .Case<AttentionGradOp>([&](AttentionGradOp a) {
        AttentionCall c(a.getQuery(), a.getKey(), a.getValue(), a.getMask(), scaleOf(a));
        c.call(op, e, a.getBias(),
               "pzrt_cuda_attention_bwd(ctx, " + e.name(a.getGrad()) + ", " +
                   e.name(a.getQuery()) + ", " + e.name(a.getKey()) + ", " +
                   e.name(a.getValue()) + ", " + orNull(e, a.getMask()) + ", " + c.kind +
                   ", ms, " + (a.getBias() ? e.name(a.getBias()) + ", bs, " : "NULL, NULL, ") +
                   std::to_string(a.getCausal() ? 1 : 0) + c.scaleAndDims() + ", " +
                   e.name(a.getGradQuery()) + ", " + e.name(a.getGradKey()) + ", " +
                   e.name(a.getGradValue()) + ws);
        return success();
      })
      .Case<AttentionBiasGradOp>([&](AttentionBiasGradOp g) {
        AttentionCall c(g.getQuery(), g.getKey(), g.getValue(), g.getMask(), scaleOf(g));
        c.call(op, e, g.getBias(),
               "pzrt_cuda_attention_bias_bwd(ctx, " + e.name(g.getGrad()) + ", " +
                   e.name(g.getQuery()) + ", " + e.name(g.getKey()) + ", " +
                   e.name(g.getValue()) + ", " + orNull(e, g.getMask()) + ", " + c.kind +
                   ", ms, " + e.name(g.getBias()) + ", bs, " +
                   std::to_string(E::numel(g.getBias())) + ", " +
                   std::to_string(g.getCausal() ? 1 : 0) + c.scaleAndDims() + ", " +
                   e.name(g.getGradBias()) + ws);
        return success();
      })
      .Case<AttentionBlockOp>([&](AttentionBlockOp a) {
        AttentionCall c(a.getQuery(), a.getKey(), a.getValue(), a.getMask(), scaleOf(a));
        c.call(op, e, Value(),
               "pzrt_cuda_attention_block_fwd(ctx, " + e.name(a.getQuery()) + ", " +
                   e.name(a.getKey()) + ", " + e.name(a.getValue()) + ", " +
                   orNull(e, a.getQueryPositions()) + ", " + orNull(e, a.getKeyPositions()) +
                   ", " + orNull(e, a.getMask()) + ", " + c.kind + ", ms" + c.scaleAndDims() +
                   ", " + e.name(a.getAcc()) + ", " + e.name(a.getLse()) + ", " +
                   e.name(a.getResult()) + ", " + e.name(a.getResultLse()) + ws);
        return success();
      })
      .Case<AttentionBlockGradOp>([&](AttentionBlockGradOp a) {
        AttentionCall c(a.getQuery(), a.getKey(), a.getValue(), a.getMask(), scaleOf(a));
        c.call(op, e, Value(),
               "pzrt_cuda_attention_block_bwd(ctx, " + e.name(a.getGrad()) + ", " +
                   e.name(a.getQuery()) + ", " + e.name(a.getKey()) + ", " +
                   e.name(a.getValue()) + ", " + e.name(a.getOut()) + ", " +
                   e.name(a.getLse()) + ", " + orNull(e, a.getQueryPositions()) + ", " +
                   orNull(e, a.getKeyPositions()) + ", " + orNull(e, a.getMask()) + ", " +
                   c.kind + ", ms" + c.scaleAndDims() + ", " + e.name(a.getGradQuery()) + ", " +
                   e.name(a.getGradKey()) + ", " + e.name(a.getGradValue()) + ws);
        return success();
      })
      .Default([&](Operation *) {
        return op->emitError() << "CUDA backend: not an attention op: " << op->getName();
      });
}
