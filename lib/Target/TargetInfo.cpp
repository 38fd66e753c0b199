//===- TargetInfo.cpp - what the lowering needs to know of a backend ------===//

#include "pz/Target/TargetInfo.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "pzrt/cuda.h" // PZRT_CUDA_GEMM_WORKSPACE_BYTES (declarations only, no CUDA)
#include "pzrt/workspace.h"

using namespace mlir;
using namespace mlir::pz;

std::optional<TargetInfo> TargetInfo::get(StringRef backend) {
  if (backend == "cpu")
    return TargetInfo("cpu");
  if (backend == "cuda")
    return TargetInfo("cuda");
  return std::nullopt;
}

int64_t TargetInfo::storageBytes(Type t) const {
  if (t.isF32() || t.isInteger(32))
    return 4;
  if (t.isF64() || t.isInteger(64))
    return 8;
  if (t.isF16() || t.isBF16() || t.isInteger(16))
    return 2;
  if (t.isInteger(1) || t.isInteger(8))
    return 1;
  return 0;
}

/// The attention dims [B, H, Hkv, Sq, Sk, D, Dv] of a query/key/value triple.
static void attentionDims(Value q, Value k, Value v, int64_t dims[7]) {
  auto qt = llvm::cast<RankedTensorType>(q.getType());
  auto kt = llvm::cast<RankedTensorType>(k.getType());
  auto vt = llvm::cast<RankedTensorType>(v.getType());
  dims[0] = qt.getDimSize(0);
  dims[1] = qt.getDimSize(1);
  dims[2] = kt.getDimSize(1);
  dims[3] = qt.getDimSize(2);
  dims[4] = kt.getDimSize(2);
  dims[5] = qt.getDimSize(3);
  dims[6] = vt.getDimSize(3);
}

bool TargetInfo::computesInF32(Operation *op) {
  return llvm::isa<GatherGradOp, EmbeddingGradOp, MatmulOp, SoftmaxOp, LogSoftmaxOp, LayerNormOp, RMSNormOp, LayerNormGradOp,
                   RMSNormGradOp, AttentionOp, AttentionGradOp, AttentionBiasGradOp,
                   AttentionBlockOp, AttentionBlockGradOp, CrossEntropyOp, CrossEntropyGradOp, GeluOp,
                   GeluGradOp>(op);
}

static int64_t alignUp(int64_t n, int64_t a) { return (n + a - 1) / a * a; }

static bool needsWidening(Value v) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  return t && (t.getElementType().isBF16() || t.getElementType().isF16());
}

std::vector<TargetInfo::Widened> TargetInfo::widenedValues(Operation *op) const {
  std::vector<Widened> out;
  if (!computesInF32(op))
    return out;
  // cuBLASLt multiplies bf16/f16 operands as they are (fp32 accumulation):
  // the CUDA backend widens everything but matmul.
  if (backendName == "cuda" && llvm::isa<MatmulOp>(op))
    return out;
  int64_t kernel = kernelWorkspaceBytes(op);
  if (kernel < 0)
    return out;
  int64_t offset = alignUp(kernel, arenaAlignment());
  auto add = [&](Value v, bool isResult) {
    if (!needsWidening(v))
      return;
    for (const Widened &w : out)
      if (w.value == v)
        return;
    out.push_back({v, isResult, offset});
    int64_t n = llvm::cast<RankedTensorType>(v.getType()).getNumElements();
    offset += alignUp(4 * n, arenaAlignment());
  };
  for (Value v : op->getOperands())
    add(v, false);
  for (Value v : op->getResults())
    add(v, true);
  return out;
}

int64_t TargetInfo::workspaceBytes(Operation *op) const {
  int64_t kernel = kernelWorkspaceBytes(op);
  std::vector<Widened> widened = widenedValues(op);
  if (kernel < 0 || widened.empty())
    return kernel;
  const Widened &last = widened.back();
  int64_t n = llvm::cast<RankedTensorType>(last.value.getType()).getNumElements();
  return last.offset + alignUp(4 * n, arenaAlignment());
}

int64_t TargetInfo::cudaReducePartials(Operation *op) {
  Value x;
  ArrayRef<int64_t> axes;
  if (auto r = llvm::dyn_cast<ReduceSumOp>(op)) {
    x = r.getInput();
    axes = r.getAxes();
  } else if (auto r = llvm::dyn_cast<ReduceMeanOp>(op)) {
    x = r.getInput();
    axes = r.getAxes();
  } else if (auto r = llvm::dyn_cast<ReduceMaxOp>(op)) {
    x = r.getInput();
    axes = r.getAxes();
  } else {
    return 1;
  }
  auto t = llvm::cast<RankedTensorType>(x.getType());
  int64_t count = 1;
  for (int64_t a : axes)
    count *= t.getDimSize(a);
  int64_t outputs = count ? t.getNumElements() / count : 0;
  // Enough outputs fill the GPU with one thread each; a short reduction
  // is cheap on one.
  if (count < 16 * kCudaReduceChunk || outputs > 4096)
    return 1;
  return (count + kCudaReduceChunk - 1) / kCudaReduceChunk;
}

/// The CUDA backend's own scratch beyond attention's: the GEMM's planned
/// cuBLASLt workspace, and cross-entropy's device scalars (see
/// lib/Target/CUDA/CUDAEmitLoss.cpp): the loss sum and valid count (and,
/// for reduction none, the rows' log-sum-exp from byte 64) forward, the
/// gradient's scale backward.
static int64_t cudaScratchBytes(Operation *op) {
  if (llvm::isa<MatmulOp>(op))
    return static_cast<int64_t>(PZRT_CUDA_GEMM_WORKSPACE_BYTES);
  if (auto ce = llvm::dyn_cast<CrossEntropyOp>(op)) {
    if (ce.getReduction() != Reduction::none)
      return 64;
    auto t = llvm::cast<RankedTensorType>(ce.getLogits().getType());
    int64_t rows = t.getNumElements() / std::max<int64_t>(t.getShape().back(), 1);
    return 64 + alignUp(4 * rows, 64);
  }
  if (llvm::isa<CrossEntropyGradOp>(op))
    return 64;
  if (int64_t parts = TargetInfo::cudaReducePartials(op); parts > 1) {
    auto t = llvm::cast<RankedTensorType>(op->getResult(0).getType());
    return 8 * parts * t.getNumElements();
  }
  return 0;
}

int64_t TargetInfo::kernelWorkspaceBytes(Operation *op) const {
  bool cuda = backendName == "cuda";
  if (cuda && !llvm::isa<AttentionBlockOp, AttentionBlockGradOp, AttentionOp, AttentionGradOp,
                         AttentionBiasGradOp>(op))
    return cudaScratchBytes(op);
  int64_t d[7];
  int backward = 0;
  // One block of ring attention (context parallelism).
  if (auto blk = llvm::dyn_cast<AttentionBlockOp>(op)) {
    attentionDims(blk.getQuery(), blk.getKey(), blk.getValue(), d);
  } else if (auto blk = llvm::dyn_cast<AttentionBlockGradOp>(op)) {
    attentionDims(blk.getQuery(), blk.getKey(), blk.getValue(), d);
    backward = 1;
  }
  if (llvm::isa<AttentionBlockOp, AttentionBlockGradOp>(op)) {
    size_t bytes =
        cuda ? pzrt_cuda_attention_block_workspace_bytes(d[0], d[1], d[2], d[3], d[4], d[5], d[6],
                                                         backward)
             : pzrt_attention_block_workspace_bytes(d[0], d[1], d[2], d[3], d[4], d[5], d[6],
                                                    backward);
    return bytes > static_cast<size_t>(INT64_MAX / 2) ? -1 : static_cast<int64_t>(bytes);
  }
  if (auto att = llvm::dyn_cast<AttentionOp>(op)) {
    attentionDims(att.getQuery(), att.getKey(), att.getValue(), d);
  } else if (auto att = llvm::dyn_cast<AttentionGradOp>(op)) {
    attentionDims(att.getQuery(), att.getKey(), att.getValue(), d);
    backward = 1;
  } else if (auto att = llvm::dyn_cast<AttentionBiasGradOp>(op)) {
    attentionDims(att.getQuery(), att.getKey(), att.getValue(), d);
    backward = 1;
  } else {
    return 0;
  }
  size_t bytes =
      cuda ? pzrt_cuda_attention_workspace_bytes(d[0], d[1], d[2], d[3], d[4], d[5], d[6], backward)
           : pzrt_attention_workspace_bytes(d[0], d[1], d[2], d[3], d[4], d[5], d[6], backward);
  return bytes > static_cast<size_t>(INT64_MAX / 2) ? -1 : static_cast<int64_t>(bytes);
}

std::optional<TargetInfo::GemmEpilogue> TargetInfo::gemmEpilogue(Operation *op) {
  auto mm = llvm::dyn_cast<MatmulOp>(op);
  if (!mm)
    return std::nullopt;
  auto lt = llvm::dyn_cast<RankedTensorType>(mm.getLhs().getType());
  auto rt = llvm::dyn_cast<RankedTensorType>(mm.getRhs().getType());
  auto ct = llvm::dyn_cast<RankedTensorType>(mm.getResult().getType());
  if (!lt || !rt || !ct || !lt.hasStaticShape() || !rt.hasStaticShape() ||
      !ct.hasStaticShape() || lt.getRank() < 2 ||
      !llvm::isa<Float32Type, BFloat16Type, Float16Type>(ct.getElementType()))
    return std::nullopt;
  // In bf16/f16 the epilogue adds the bias (and applies GELU) to the fp32
  // sum and rounds once, where the separate add rounds the GEMM's result
  // first: one rounding fewer, as in Megatron's and torch's fused linear.
  // One GEMM: the CUDA emitter folds a batch into the rows only for a 2-D
  // rhs and an untransposed (or 2-D) lhs.
  bool ta = mm.getTransposeLhs();
  if (rt.getRank() != 2 || (ta && lt.getRank() != 2))
    return std::nullopt;
  int64_t k = ta ? lt.getDimSize(lt.getRank() - 2) : lt.getDimSize(lt.getRank() - 1);
  if (k == 0 || ct.getNumElements() == 0)
    return std::nullopt;

  Value c = mm.getResult();
  auto add = llvm::dyn_cast_or_null<AddOp>(mm->getNextNode());
  if (!add || !c.hasOneUse() || *c.user_begin() != add.getOperation() ||
      add.getResult().getType() != c.getType())
    return std::nullopt;
  Value bias = add.getLhs() == c ? add.getRhs() : add.getLhs();
  auto bt = llvm::dyn_cast<RankedTensorType>(bias.getType());
  if (bias == c || !bt || bt.getRank() != 1 || bt.getDimSize(0) != ct.getShape().back() ||
      bt.getElementType() != ct.getElementType())
    return std::nullopt;
  GemmEpilogue e;
  e.add = add;
  e.bias = bias;
  auto gelu = llvm::dyn_cast_or_null<GeluOp>(add->getNextNode());
  Value sum = add.getResult();
  if (gelu && gelu.getApproximate() == GeluApproximation::tanh && sum.hasOneUse() &&
      *sum.user_begin() == gelu.getOperation())
    e.gelu = gelu;
  return e;
}
