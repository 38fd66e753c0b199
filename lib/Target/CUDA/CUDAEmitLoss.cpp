//===- CUDAEmitLoss.cpp - cross-entropy, forward and backward -------------===//
//
// pzrt_cuda_cross_entropy_fwd/bwd with the CPU backend's arguments. The
// CUDA kernels take the whole batch at once and write their scalars to
// device memory, so the op's workspace (the "cuda" target plans it, see
// TargetInfo::kernelWorkspaceBytes) holds them:
//   forward:  [0, 8) the loss sum (double), [8, 16) the valid rows (int64),
//             from 64 the rows' log-sum-exp (reduction none only);
//   backward: [0, 8) the gradient's scale (double).
// The forward's result is then a one-thread kernel (s / nv, as the CPU) or,
// for reduction none, one thread per row (lse - logit of the label, from
// the fp32 lse: within 2^-24 of the CPU's double). The backward's scale is
// computed by a one-thread kernel into the workspace and read there by
// pzrt_cuda_cross_entropy_bwd_dev on the device (no host synchronization,
// so a CUDA graph can capture it); for reduction none it scales each row
// after the call, one more rounding than the CPU's.
//
//===----------------------------------------------------------------------===//

#include "CUDAKernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cuda;

using E = Emitter;

static std::string str(int64_t v) { return std::to_string(v); }

static LogicalResult emitCrossEntropy(Operation *op, Value logits, Value labels, Value grad,
                                      Reduction red, int64_t ignore, E &e) {
  if (!E::elementType(labels).isInteger(64))
    return op->emitError() << "CUDA backend: cross-entropy labels must be i64";
  if (!e.hasWorkspace())
    return op->emitError() << "CUDA backend: cross-entropy needs its planned workspace "
                              "(convert-pz-to-pzrt{target=cuda})";
  ArrayRef<int64_t> s = E::shape(logits);
  int64_t classes = s.back(), rows = E::numel(logits) / std::max<int64_t>(classes, 1);
  Value result = op->getResult(0);
  std::string L = e.name(logits), Y = e.name(labels), R = e.name(result);
  std::string ws = e.workspace(), ig = str(ignore), V = str(classes);
  std::string sumPtr = "(double *)(" + ws + ")", nvPtr = "(int64_t *)(" + ws + " + 8)";
  if (!grad) {
    std::string lse = red == Reduction::none ? "(float *)(" + ws + " + 64)" : "NULL";
    e.checkCall(op, "pzrt_cuda_cross_entropy_fwd(ctx, " + L + ", " + Y + ", " + str(rows) +
                        ", " + V + ", " + ig + ", " + lse + ", " + sumPtr + ", " + nvPtr + ")");
    GridKernel k;
    std::string out = e.param(k, result, false);
    if (red == Reduction::none) {
      std::string X = e.param(k, logits, true), I = e.param(k, labels, true),
                  S = e.param(k, "const float *__restrict__", lse);
      k.n = rows;
      // A label outside the classes (not the ignore index) is the op's
      // check, as on the CPU, not a read out of bounds.
      k.body = "  int64_t lab = " + I + "[i];\n  if (lab != " + ig + " && (lab < 0 || lab >= " + V +
               ")) { pz_flag(pz_bad, pz_check); " + out + "[i] = NAN; return; }\n  " + out +
               "[i] = lab == " + ig + " ? 0.0f : (float)((double)" + S + "[i] - " + X + "[i * " +
               V + " + lab]);\n";
    } else {
      std::string S = e.param(k, "const double *__restrict__", sumPtr),
                  N = e.param(k, "const int64_t *__restrict__", nvPtr);
      k.n = 1;
      // pzrt_cuda_cross_entropy_fwd marks a bad label with a negative count
      // (-(first bad row + 1)): the op's check.
      k.body = "  if (" + N + "[0] < 0) { pz_flag(pz_bad, pz_check); " + out +
               "[0] = NAN; return; }\n  " + out + "[0] = (float)(" +
               (red == Reduction::mean ? S + "[0] / (double)" + N + "[0]" : S + "[0]") + ");\n";
    }
    k.check = "a label is outside [0, " + V + ") and is not the ignore index " + ig;
    e.launch(op, std::move(k));
    return success();
  }
  if (red == Reduction::none) {
    e.checkCall(op, "pzrt_cuda_cross_entropy_bwd(ctx, " + L + ", " + Y + ", NULL, " + str(rows) +
                        ", " + V + ", " + ig + ", 1.0f, " + R + ")");
    GridKernel k;
    std::string D = e.param(k, result, false), G = e.param(k, grad, true);
    k.n = rows * classes;
    k.body = "  " + D + "[i] = " + D + "[i] * " + G + "[i / " + V + "];\n";
    e.launch(op, std::move(k));
    return success();
  }
  // The scale, as the CPU computes it: the loss's gradient (over the valid
  // rows for a mean), in double.
  GridKernel k;
  std::string S = e.param(k, "double *__restrict__", sumPtr), G = e.param(k, grad, true),
              I = e.param(k, labels, true);
  k.n = 1;
  k.body = "  double scale = " + G + "[0];\n";
  if (red == Reduction::mean)
    k.body += "  int64_t nv = 0;\n  for (int64_t r = 0; r < " + str(rows) + "; ++r) nv += " + I +
              "[r] != " + ig + ";\n  scale /= (double)nv;\n";
  k.body += "  " + S + "[0] = scale;\n";
  e.launch(op, std::move(k));
  e.checkCall(op, "pzrt_cuda_cross_entropy_bwd_dev(ctx, " + L + ", " + Y + ", NULL, " +
                      str(rows) + ", " + V + ", " + ig + ", " + sumPtr + ", " + R + ")");
  return success();
}

LogicalResult cuda::emitCrossEntropyOp(Operation *op, E &e) {
  if (auto c = llvm::dyn_cast<CrossEntropyOp>(op))
    return emitCrossEntropy(op, c.getLogits(), c.getLabels(), Value(), c.getReduction(),
                            c.getIgnoreIndex(), e);
  auto c = llvm::cast<CrossEntropyGradOp>(op);
  return emitCrossEntropy(op, c.getLogits(), c.getLabels(), c.getGrad(), c.getReduction(),
                          c.getIgnoreIndex(), e);
}
