// Scratch sizes of the kernels (pzrt/workspace.h).
#include "pzrt/workspace.h"

namespace {
// `rows` x Sk floats rounded up to 64 bytes, twice for a backward.
size_t scoreBlocks(int64_t rows, int64_t Sk, int backward) {
  const size_t align = 64;
  size_t block = static_cast<size_t>(rows * Sk) * sizeof(float);
  block = (block + align - 1) / align * align;
  return backward ? 2 * block : block;
}
} // namespace

extern "C" size_t pzrt_attention_workspace_bytes(int64_t, int64_t, int64_t, int64_t Sq,
                                                 int64_t Sk, int64_t, int64_t, int backward) {
  if (Sq <= 0 || Sk <= 0)
    return 0;
  return scoreBlocks(Sq < PZRT_ATTENTION_ROW_BLOCK ? Sq : PZRT_ATTENTION_ROW_BLOCK, Sk, backward);
}

// One (batch, head)'s scores (and probabilities' gradient) at a time.
extern "C" size_t pzrt_attention_block_workspace_bytes(int64_t, int64_t, int64_t, int64_t Sq,
                                                       int64_t Sk, int64_t, int64_t,
                                                       int backward) {
  if (Sq <= 0 || Sk <= 0)
    return 0;
  return scoreBlocks(Sq, Sk, backward);
}

// The CUDA kernels (runtime/src/cuda/attention_*.cu) keep their tiles in
// shared memory. The forward needs nothing; the backward keeps the row lse
// and then Drow = dout . out, one float per query row each, which its stats
// pass recomputes (it is given neither out nor lse).
extern "C" size_t pzrt_cuda_attention_workspace_bytes(int64_t B, int64_t H, int64_t, int64_t Sq,
                                                      int64_t Sk, int64_t, int64_t,
                                                      int backward) {
  if (!backward || B <= 0 || H <= 0 || Sq <= 0 || Sk <= 0)
    return 0;
  return 2 * static_cast<size_t>(B * H * Sq) * sizeof(float);
}

// The block forward needs nothing; the block backward, given out and lse,
// keeps Drow = dout . out, one float per query row.
extern "C" size_t pzrt_cuda_attention_block_workspace_bytes(int64_t B, int64_t H, int64_t,
                                                            int64_t Sq, int64_t Sk, int64_t,
                                                            int64_t, int backward) {
  if (!backward || B <= 0 || H <= 0 || Sq <= 0 || Sk <= 0)
    return 0;
  return static_cast<size_t>(B * H * Sq) * sizeof(float);
}
