// The multi-tensor AdamW with its chunk size as a parameter, so that the
// tests can split small tensors into many chunks and fill a launch's block
// table (pzrt_cuda_adamw_multi_dev uses kAdamWChunk).
#ifndef PZRT_SRC_CUDA_OPTIM_MULTI_H
#define PZRT_SRC_CUDA_OPTIM_MULTI_H

#include "pzrt/cuda_kernels.h"

#include <cstdint>

namespace pzrt::cudak {

/// Elements per block of the multi-tensor AdamW (256 per thread).
constexpr int64_t kAdamWChunk = 65536;
/// Tensors and blocks in one launch's by-value table.
constexpr int kAdamWMultiTensors = 48;
constexpr int kAdamWMultiBlocks = 320;

int adamwMultiChunked(pzrt_step_ctx *ctx, int count, float *const *p, const float *const *g,
                      float *const *m, float *const *v, const int64_t *n, const float *lr,
                      const int64_t *step, double beta1, double beta2, double eps,
                      double weight_decay, int *bad, int bad_id, int64_t chunk);

} // namespace pzrt::cudak

#endif // PZRT_SRC_CUDA_OPTIM_MULTI_H
