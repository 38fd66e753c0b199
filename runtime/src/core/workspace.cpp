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

// Until the CUDA attention kernels exist, they reserve what the CPU kernels do.
extern "C" size_t pzrt_cuda_attention_workspace_bytes(int64_t B, int64_t H, int64_t Hkv,
                                                      int64_t Sq, int64_t Sk, int64_t D,
                                                      int64_t Dv, int backward) {
  return pzrt_attention_workspace_bytes(B, H, Hkv, Sq, Sk, D, Dv, backward);
}

extern "C" size_t pzrt_cuda_attention_block_workspace_bytes(int64_t B, int64_t H, int64_t Hkv,
                                                            int64_t Sq, int64_t Sk, int64_t D,
                                                            int64_t Dv, int backward) {
  return pzrt_attention_block_workspace_bytes(B, H, Hkv, Sq, Sk, D, Dv, backward);
}
