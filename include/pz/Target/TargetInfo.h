//===- TargetInfo.h - what the lowering needs to know of a backend -*- C++ -*-===//
//
// The facts of a backend that decide the runtime-call level: how many bytes an
// element takes in its buffers, the alignment of arena buffers, and the
// scratch memory its kernels need. The conversion to pzrt and the memory plan
// read them from here rather than from the runtime's kernels.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_TARGET_TARGETINFO_H
#define PZ_TARGET_TARGETINFO_H

#include "mlir/IR/Operation.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <vector>

namespace mlir::pz {

class TargetInfo {
public:
  /// The target of a backend name ("cpu", "cuda"), or none.
  static std::optional<TargetInfo> get(llvm::StringRef backend);

  llvm::StringRef name() const { return backendName; }
  /// Arena buffers start at multiples of this many bytes.
  int64_t arenaAlignment() const { return 64; }
  /// Bytes of one element in a buffer (i1 as one byte); 0 when the target
  /// cannot store the type.
  int64_t storageBytes(Type elementType) const;
  /// Scratch bytes the kernel of `op` needs beyond its results (0 for most
  /// ops): its own scratch, then the fp32 copies of widenedValues(op), each
  /// at its offset; -1 when the size overflows.
  int64_t workspaceBytes(Operation *op) const;

  /// Whether convert-pz-to-pzrt outlines a run of consecutive, independent
  /// pz.adamw_update ops sharing their scalars into one kernel, which the
  /// backend updates in one multi-tensor call (the CUDA backend's
  /// pzrt_cuda_adamw_multi_dev: a few launches instead of one per tensor).
  bool groupsAdamWUpdates() const { return backendName == "cuda"; }

  /// Whether convert-pz-to-pzrt outlines a matmul with the bias add (and
  /// tanh GELU) of gemmEpilogue() into one kernel, which the backend runs as
  /// one GEMM with a bias or GELU-bias epilogue (the CUDA backend's
  /// cuBLASLt epilogues: one pass over the output instead of two or three).
  bool groupsGemmEpilogues() const { return backendName == "cuda"; }

  /// The ops after a matmul that a cuBLASLt epilogue can compute instead:
  /// `add` of a 1-D bias along the result's last dim, and `gelu`, a tanh
  /// GELU of that sum (null when not fused).
  struct GemmEpilogue {
    Operation *add = nullptr;
    Value bias;
    Operation *gelu = nullptr;
    /// The op whose result the fused GEMM writes.
    Operation *last() const { return gelu ? gelu : add; }
  };
  /// The epilogue of `matmul`, or none. Legal only when the results stay
  /// those of the unfused ops up to fp32 rounding order:
  ///  - the matmul is one GEMM (2-D, or a batch folded into the rows of a
  ///    2-D rhs), k > 0, and gives f32: a 16-bit output would be rounded once
  ///    instead of twice (after the GEMM and after the add);
  ///  - the add comes right after it and is its only use; the bias is a
  ///    1-D f32 tensor of the result's last dim (one value per column of
  ///    the row-major result: cuBLASLt's bias per row of column-major D);
  ///  - the GELU (tanh only: CUBLASLT_EPILOGUE_GELU is the tanh form) comes
  ///    right after the add and is its only use, so the pre-activation is
  ///    not needed elsewhere (not saved for the backward).
  static std::optional<GemmEpilogue> gemmEpilogue(Operation *matmul);

  /// Whether the CPU backend computes `op` in fp32 only: matmul, softmax,
  /// the norms, attention, GELU and the loss, forward and backward, and the
  /// scatter-adds of gather's and embedding's gradients (which accumulate
  /// many rows into one).
  static bool computesInF32(Operation *op);
  /// How many partial results per output the CUDA backend's reduce_sum,
  /// reduce_mean or reduce_max of `op` computes first (each over a
  /// contiguous run of kCudaReduceChunk reduced elements, in order), so
  /// that a long reduction runs on many threads; 1 (none) for short
  /// reductions, reductions with many outputs, and other ops. The partials
  /// (8 bytes each) are the op's workspace on "cuda".
  static int64_t cudaReducePartials(Operation *op);
  static constexpr int64_t kCudaReduceChunk = 4096;
  /// One operand or result of an fp32-only kernel held in another float type
  /// (bf16, f16): the kernel reads or writes an fp32 copy of it at `offset`
  /// bytes into the op's workspace.
  struct Widened {
    Value value;
    bool isResult;
    int64_t offset;
  };
  /// The fp32 copies `op` needs on this target, operands first, each value
  /// once; empty when every float operand and result is f32 already. The
  /// CPU backend widens bf16/fp16 values to fp32 around its kernels: a GEMM
  /// of widened bf16 operands forms the same exact products and
  /// accumulates them in fp32, and norms and softmax accumulate in fp32.
  /// The CUDA backend widens the same ops except matmul, whose bf16/f16
  /// operands cuBLASLt takes as they are (CUBLAS_COMPUTE_32F).
  std::vector<Widened> widenedValues(Operation *op) const;

private:
  /// The scratch of the kernel itself (without the widened copies). On
  /// "cuda": PZRT_CUDA_GEMM_WORKSPACE_BYTES per matmul, the CUDA attention
  /// kernels' sizes, and cross-entropy's device scalars.
  int64_t kernelWorkspaceBytes(Operation *op) const;
  explicit TargetInfo(llvm::StringRef name) : backendName(name) {}
  llvm::StringRef backendName;
};

} // namespace mlir::pz

#endif // PZ_TARGET_TARGETINFO_H
