//===- Attention.cpp - scaled dot-product attention and its gradient ------===//
//
// For query head h of batch b (kv head h / (H / Hkv)):
//   S = scale * Q K^T + bias + mask   (the bias and a float mask add; an
//                                      i1 mask and `causal` set dropped
//                                      positions to -inf)
//   P = softmax(S) along the key axis,   O = P V
// and, given dO:
//   dV = P^T dO (summed over the query heads sharing a kv head),
//   dP = dO V^T,  dS = P * (dP - rowsum(dP * P)),
//   dQ = scale * dS K,  dK = scale * dS^T Q (summed like dV),
//   dBias = P * (dP - rowsum(dP * P)) summed over the dims the bias
//           broadcasts along (pz.attention_bias_grad).
// A row whose every position is dropped is NaN, as PyTorch's math backend.
//
//===----------------------------------------------------------------------===//

#include "Kernels.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include <cmath>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp;
using namespace mlir::pz::interp::detail;

namespace {
struct AttentionDims {
  int64_t b, h, hkv, sq, sk, d, dv;
  double scale;

  int64_t kvHead(int64_t head) const { return head / (h / hkv); }
  /// Offset of row `row` of head `head` of batch `batch` in a
  /// [B, heads, seq, width] tensor.
  static int64_t at(int64_t batch, int64_t heads, int64_t head, int64_t seq,
                    int64_t row, int64_t width) {
    return ((batch * heads + head) * seq + row) * width;
  }
};
} // namespace

/// Checks the operand shapes and computes the probabilities P, shaped
/// [B, H, Sq, Sk].
template <typename OpTy>
static LogicalResult probabilities(OpTy op, Env &env, AttentionDims &dims,
                                   std::vector<double> &p) {
  const HostTensor &q = env.get(op.getQuery());
  const HostTensor &k = env.get(op.getKey());
  const HostTensor &v = env.get(op.getValue());
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return op.emitError() << "interpreter: query, key and value need rank 4";
  dims = {q.shape[0], q.shape[1], k.shape[1], q.shape[2],
          k.shape[2], q.shape[3], v.shape[3], 0.0};
  if (k.shape[0] != dims.b || v.shape[0] != dims.b || v.shape[1] != dims.hkv ||
      v.shape[2] != dims.sk || k.shape[3] != dims.d || dims.hkv < 1 ||
      dims.h % dims.hkv != 0)
    return op.emitError() << "interpreter: incompatible attention shapes "
                          << shapeStr(q.shape) << ", " << shapeStr(k.shape)
                          << ", " << shapeStr(v.shape);
  std::optional<APFloat> scaleAttr = op.getScale();
  dims.scale = scaleAttr ? scaleAttr->convertToDouble()
                         : 1.0 / std::sqrt(static_cast<double>(dims.d));

  std::vector<int64_t> scores = {dims.b, dims.h, dims.sq, dims.sk};
  std::vector<int64_t> maskOffsets;
  const HostTensor *mask = nullptr;
  bool boolMask = false;
  if (Value m = op.getMask()) {
    mask = &env.get(m);
    auto joint = broadcastShapes(mask->shape, scores);
    if (mask->getRank() > 4 || failed(joint) || *joint != scores)
      return op.emitError()
             << "interpreter: mask of shape " << shapeStr(mask->shape)
             << " does not broadcast to " << shapeStr(scores);
    maskOffsets = broadcastOffsets(mask->shape, scores);
    boolMask = elementTypeOf(m).isInteger(1);
  }

  std::vector<int64_t> biasOffsets;
  const HostTensor *bias = nullptr;
  if (Value bv = op.getBias()) {
    bias = &env.get(bv);
    auto joint = broadcastShapes(bias->shape, scores);
    if (bias->getRank() > 4 || failed(joint) || *joint != scores)
      return op.emitError()
             << "interpreter: bias of shape " << shapeStr(bias->shape)
             << " does not broadcast to " << shapeStr(scores);
    biasOffsets = broadcastOffsets(bias->shape, scores);
  }

  p.assign(numElements(scores), 0.0);
  for (int64_t bi = 0; bi < dims.b; ++bi) {
    for (int64_t hi = 0; hi < dims.h; ++hi) {
      int64_t hk = dims.kvHead(hi);
      for (int64_t i = 0; i < dims.sq; ++i) {
        const double *qrow =
            q.data.data() +
            AttentionDims::at(bi, dims.h, hi, dims.sq, i, dims.d);
        int64_t rowOff = AttentionDims::at(bi, dims.h, hi, dims.sq, i, dims.sk);
        for (int64_t j = 0; j < dims.sk; ++j) {
          const double *krow =
              k.data.data() +
              AttentionDims::at(bi, dims.hkv, hk, dims.sk, j, dims.d);
          double s = 0;
          for (int64_t c = 0; c < dims.d; ++c)
            s += qrow[c] * krow[c];
          s *= dims.scale;
          if (bias)
            s += bias->data[biasOffsets[rowOff + j]];
          if (mask) {
            double mv = mask->data[maskOffsets[rowOff + j]];
            if (!boolMask)
              s += mv;
            else if (mv == 0.0)
              s = -INFINITY;
          }
          if (op.getCausal() && j > i)
            s = -INFINITY;
          p[rowOff + j] = s;
        }
        softmaxRow(p.data() + rowOff, p.data() + rowOff, dims.sk, 1);
      }
    }
  }
  return success();
}

static LogicalResult evalAttention(Operation *op, Env &env) {
  auto attn = llvm::cast<AttentionOp>(op);
  AttentionDims dims{};
  std::vector<double> p;
  if (failed(probabilities(attn, env, dims, p)))
    return failure();
  const HostTensor &v = env.get(attn.getValue());
  std::vector<int64_t> shape = {dims.b, dims.h, dims.sq, dims.dv};
  std::vector<double> out(numElements(shape), 0.0);
  for (int64_t bi = 0; bi < dims.b; ++bi)
    for (int64_t hi = 0; hi < dims.h; ++hi)
      for (int64_t i = 0; i < dims.sq; ++i) {
        double *orow =
            out.data() + AttentionDims::at(bi, dims.h, hi, dims.sq, i, dims.dv);
        const double *prow =
            p.data() + AttentionDims::at(bi, dims.h, hi, dims.sq, i, dims.sk);
        for (int64_t j = 0; j < dims.sk; ++j) {
          const double *vrow =
              v.data.data() + AttentionDims::at(bi, dims.hkv, dims.kvHead(hi),
                                                dims.sk, j, dims.dv);
          for (int64_t c = 0; c < dims.dv; ++c)
            orow[c] += prow[j] * vrow[c];
        }
      }
  return env.define(attn.getResult(), std::move(shape), std::move(out));
}

static LogicalResult evalAttentionGrad(Operation *op, Env &env) {
  auto grad = llvm::cast<AttentionGradOp>(op);
  AttentionDims dims{};
  std::vector<double> p;
  if (failed(probabilities(grad, env, dims, p)))
    return failure();
  const HostTensor &g = env.get(grad.getGrad());
  const HostTensor &q = env.get(grad.getQuery());
  const HostTensor &k = env.get(grad.getKey());
  const HostTensor &v = env.get(grad.getValue());
  if (g.shape != std::vector<int64_t>{dims.b, dims.h, dims.sq, dims.dv})
    return op->emitError() << "interpreter: grad has shape "
                           << shapeStr(g.shape)
                           << " but the attention output has "
                           << shapeStr({dims.b, dims.h, dims.sq, dims.dv});
  std::vector<double> dq(q.data.size(), 0.0), dk(k.data.size(), 0.0),
      dv(v.data.size(), 0.0), ds(dims.sk);
  auto at = AttentionDims::at;
  for (int64_t bi = 0; bi < dims.b; ++bi) {
    for (int64_t hi = 0; hi < dims.h; ++hi) {
      int64_t hk = dims.kvHead(hi);
      for (int64_t i = 0; i < dims.sq; ++i) {
        const double *prow = p.data() + at(bi, dims.h, hi, dims.sq, i, dims.sk);
        const double *grow =
            g.data.data() + at(bi, dims.h, hi, dims.sq, i, dims.dv);
        // dP and its P-weighted row sum.
        double rowsum = 0;
        for (int64_t j = 0; j < dims.sk; ++j) {
          int64_t vOff = at(bi, dims.hkv, hk, dims.sk, j, dims.dv);
          double dp = 0;
          for (int64_t c = 0; c < dims.dv; ++c) {
            dp += grow[c] * v.data[vOff + c];
            dv[vOff + c] += prow[j] * grow[c];
          }
          ds[j] = dp;
          rowsum += dp * prow[j];
        }
        int64_t qOff = at(bi, dims.h, hi, dims.sq, i, dims.d);
        for (int64_t j = 0; j < dims.sk; ++j) {
          double s = prow[j] * (ds[j] - rowsum) * dims.scale;
          int64_t kOff = at(bi, dims.hkv, hk, dims.sk, j, dims.d);
          for (int64_t c = 0; c < dims.d; ++c) {
            dq[qOff + c] += s * k.data[kOff + c];
            dk[kOff + c] += s * q.data[qOff + c];
          }
        }
      }
    }
  }
  if (failed(env.define(grad.getGradQuery(), q.shape, std::move(dq))) ||
      failed(env.define(grad.getGradKey(), k.shape, std::move(dk))))
    return failure();
  return env.define(grad.getGradValue(), v.shape, std::move(dv));
}

/// The bias's cotangent: dS = P * (dP - rowsum(dP * P)) summed into the
/// bias's elements (the dims it broadcasts along reduce).
static LogicalResult evalAttentionBiasGrad(Operation *op, Env &env) {
  auto grad = llvm::cast<AttentionBiasGradOp>(op);
  AttentionDims dims{};
  std::vector<double> p;
  if (failed(probabilities(grad, env, dims, p)))
    return failure();
  const HostTensor &g = env.get(grad.getGrad());
  const HostTensor &v = env.get(grad.getValue());
  const HostTensor &bias = env.get(grad.getBias());
  if (g.shape != std::vector<int64_t>{dims.b, dims.h, dims.sq, dims.dv})
    return op->emitError() << "interpreter: grad has shape " << shapeStr(g.shape)
                           << " but the attention output has "
                           << shapeStr({dims.b, dims.h, dims.sq, dims.dv});
  std::vector<int64_t> offsets =
      broadcastOffsets(bias.shape, {dims.b, dims.h, dims.sq, dims.sk});
  std::vector<double> db(bias.data.size(), 0.0), dp(dims.sk);
  auto at = AttentionDims::at;
  for (int64_t bi = 0; bi < dims.b; ++bi)
    for (int64_t hi = 0; hi < dims.h; ++hi)
      for (int64_t i = 0; i < dims.sq; ++i) {
        int64_t rowOff = at(bi, dims.h, hi, dims.sq, i, dims.sk);
        const double *prow = p.data() + rowOff;
        const double *grow = g.data.data() + at(bi, dims.h, hi, dims.sq, i, dims.dv);
        double rowsum = 0;
        for (int64_t j = 0; j < dims.sk; ++j) {
          int64_t vOff = at(bi, dims.hkv, dims.kvHead(hi), dims.sk, j, dims.dv);
          double d = 0;
          for (int64_t c = 0; c < dims.dv; ++c)
            d += grow[c] * v.data[vOff + c];
          dp[j] = d;
          rowsum += d * prow[j];
        }
        for (int64_t j = 0; j < dims.sk; ++j)
          db[offsets[rowOff + j]] += prow[j] * (dp[j] - rowsum);
      }
  return env.define(grad.getGradBias(), bias.shape, std::move(db));
}

void mlir::pz::interp::detail::registerAttentionKernels(KernelTable &t) {
  add<AttentionOp>(t, evalAttention);
  add<AttentionGradOp>(t, evalAttentionGrad);
  add<AttentionBiasGradOp>(t, evalAttentionBiasGrad);
}
