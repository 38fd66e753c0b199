//===- AttentionBlock.cpp - one block of ring attention, and its gradient -===//
//
// pz.attention_block: with S = scale * Q K^T (+ mask; an i1 mask, and a key
// position after the query's, drop the score) over the block's keys and l
// the log-sum-exp of a row's kept scores,
//   lse' = logaddexp(lse, l),  acc' = acc e^(lse - lse') + sum_j e^(S_j - lse') V_j,
// a row with nothing kept so far staying acc 0, lse -inf.
// pz.attention_block_grad, with the whole attention's out and lse:
//   P = e^(S - lse),  D = rowsum(dO * out),  dV = P^T dO,
//   dS = P * (dO V^T - D),  dQ = scale dS K,  dK = scale dS^T Q
// (dK, dV summed over the query heads sharing a kv head).
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
/// The scores of one block, [B, H, Sq, Sk], -inf where dropped.
struct BlockScores {
  int64_t b, h, hkv, sq, sk, d, dv;
  double scale;
  std::vector<double> s;

  int64_t kvHead(int64_t head) const { return head / (h / hkv); }
  int64_t row(int64_t bi, int64_t hi, int64_t i) const { return (bi * h + hi) * sq + i; }
  int64_t kvRow(int64_t bi, int64_t hk, int64_t j) const { return (bi * hkv + hk) * sk + j; }
};

template <typename OpTy>
LogicalResult scores(OpTy op, Env &env, BlockScores &r) {
  const HostTensor &q = env.get(op.getQuery());
  const HostTensor &k = env.get(op.getKey());
  const HostTensor &v = env.get(op.getValue());
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4 || k.shape[1] < 1 ||
      q.shape[1] % k.shape[1] != 0)
    return op.emitError() << "interpreter: incompatible attention block shapes "
                          << shapeStr(q.shape) << ", " << shapeStr(k.shape) << ", "
                          << shapeStr(v.shape);
  r = {q.shape[0], q.shape[1], k.shape[1], q.shape[2], k.shape[2], q.shape[3], v.shape[3], 0.0, {}};
  std::optional<APFloat> scaleAttr = op.getScale();
  r.scale = scaleAttr ? scaleAttr->convertToDouble() : 1.0 / std::sqrt(static_cast<double>(r.d));
  std::vector<int64_t> shape = {r.b, r.h, r.sq, r.sk};
  const HostTensor *mask = nullptr;
  std::vector<int64_t> maskOffsets;
  bool boolMask = false;
  if (Value m = op.getMask()) {
    mask = &env.get(m);
    auto joint = broadcastShapes(mask->shape, shape);
    if (mask->getRank() > 4 || failed(joint) || *joint != shape)
      return op.emitError() << "interpreter: mask of shape " << shapeStr(mask->shape)
                            << " does not broadcast to " << shapeStr(shape);
    maskOffsets = broadcastOffsets(mask->shape, shape);
    boolMask = elementTypeOf(m).isInteger(1);
  }
  const HostTensor *qp = op.getQueryPositions() ? &env.get(op.getQueryPositions()) : nullptr;
  const HostTensor *kp = op.getKeyPositions() ? &env.get(op.getKeyPositions()) : nullptr;
  r.s.assign(numElements(shape), 0.0);
  for (int64_t bi = 0; bi < r.b; ++bi)
    for (int64_t hi = 0; hi < r.h; ++hi)
      for (int64_t i = 0; i < r.sq; ++i)
        for (int64_t j = 0; j < r.sk; ++j) {
          int64_t at = r.row(bi, hi, i) * r.sk + j;
          const double *qrow = q.data.data() + r.row(bi, hi, i) * r.d;
          const double *krow = k.data.data() + r.kvRow(bi, r.kvHead(hi), j) * r.d;
          double s = 0;
          for (int64_t c = 0; c < r.d; ++c)
            s += qrow[c] * krow[c];
          s *= r.scale;
          if (mask) {
            double mv = mask->data[maskOffsets[at]];
            s = !boolMask ? s + mv : mv == 0.0 ? -INFINITY : s;
          }
          if (qp && kp->data[j] > qp->data[i])
            s = -INFINITY;
          r.s[at] = s;
        }
  return success();
}

double logAddExp(double a, double b) {
  if (a == -INFINITY)
    return b;
  if (b == -INFINITY)
    return a;
  double m = std::max(a, b);
  return m + std::log(std::exp(a - m) + std::exp(b - m));
}
} // namespace

static LogicalResult evalAttentionBlock(Operation *op, Env &env) {
  auto blk = llvm::cast<AttentionBlockOp>(op);
  BlockScores r;
  if (failed(scores(blk, env, r)))
    return failure();
  const HostTensor &v = env.get(blk.getValue());
  std::vector<double> acc = env.get(blk.getAcc()).data, lse = env.get(blk.getLse()).data;
  for (int64_t bi = 0; bi < r.b; ++bi)
    for (int64_t hi = 0; hi < r.h; ++hi)
      for (int64_t i = 0; i < r.sq; ++i) {
        int64_t row = r.row(bi, hi, i);
        const double *s = r.s.data() + row * r.sk;
        double l = -INFINITY;
        for (int64_t j = 0; j < r.sk; ++j)
          l = logAddExp(l, s[j]);
        double next = logAddExp(lse[row], l);
        if (next == -INFINITY)
          continue;
        double keep = lse[row] == -INFINITY ? 0.0 : std::exp(lse[row] - next);
        double *out = acc.data() + row * r.dv;
        for (int64_t c = 0; c < r.dv; ++c)
          out[c] *= keep;
        for (int64_t j = 0; j < r.sk; ++j) {
          if (s[j] == -INFINITY)
            continue;
          double p = std::exp(s[j] - next);
          const double *vrow = v.data.data() + r.kvRow(bi, r.kvHead(hi), j) * r.dv;
          for (int64_t c = 0; c < r.dv; ++c)
            out[c] += p * vrow[c];
        }
        lse[row] = next;
      }
  std::vector<int64_t> accShape = env.get(blk.getAcc()).shape, lseShape = env.get(blk.getLse()).shape;
  if (failed(env.define(blk.getResult(), std::move(accShape), std::move(acc))))
    return failure();
  return env.define(blk.getResultLse(), std::move(lseShape), std::move(lse));
}

static LogicalResult evalAttentionBlockGrad(Operation *op, Env &env) {
  auto grad = llvm::cast<AttentionBlockGradOp>(op);
  BlockScores r;
  if (failed(scores(grad, env, r)))
    return failure();
  const HostTensor &g = env.get(grad.getGrad()), &o = env.get(grad.getOut());
  const HostTensor &lse = env.get(grad.getLse());
  const HostTensor &q = env.get(grad.getQuery()), &k = env.get(grad.getKey());
  const HostTensor &v = env.get(grad.getValue());
  std::vector<double> dq(q.data.size(), 0.0), dk(k.data.size(), 0.0), dv(v.data.size(), 0.0);
  for (int64_t bi = 0; bi < r.b; ++bi)
    for (int64_t hi = 0; hi < r.h; ++hi)
      for (int64_t i = 0; i < r.sq; ++i) {
        int64_t row = r.row(bi, hi, i), hk = r.kvHead(hi);
        if (lse.data[row] == -INFINITY)
          continue;
        const double *grow = g.data.data() + row * r.dv, *orow = o.data.data() + row * r.dv;
        double drow = 0;
        for (int64_t c = 0; c < r.dv; ++c)
          drow += grow[c] * orow[c];
        for (int64_t j = 0; j < r.sk; ++j) {
          double s = r.s[row * r.sk + j];
          if (s == -INFINITY)
            continue;
          double p = std::exp(s - lse.data[row]), dp = 0;
          int64_t kv = r.kvRow(bi, hk, j);
          for (int64_t c = 0; c < r.dv; ++c) {
            dp += grow[c] * v.data[kv * r.dv + c];
            dv[kv * r.dv + c] += p * grow[c];
          }
          double ds = p * (dp - drow) * r.scale;
          for (int64_t c = 0; c < r.d; ++c) {
            dq[row * r.d + c] += ds * k.data[kv * r.d + c];
            dk[kv * r.d + c] += ds * q.data[row * r.d + c];
          }
        }
      }
  if (failed(env.define(grad.getGradQuery(), q.shape, std::move(dq))) ||
      failed(env.define(grad.getGradKey(), k.shape, std::move(dk))))
    return failure();
  return env.define(grad.getGradValue(), v.shape, std::move(dv));
}

void mlir::pz::interp::detail::registerAttentionBlockKernels(KernelTable &t) {
  add<AttentionBlockOp>(t, evalAttentionBlock);
  add<AttentionBlockGradOp>(t, evalAttentionBlockGrad);
}
