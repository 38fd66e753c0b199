// Scratch sizes of the kernels (pzrt/workspace.h).
#include "pzrt/workspace.h"

extern "C" size_t pzrt_attention_workspace_bytes(int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                                                 int64_t Sk, int64_t D, int64_t Dv,
                                                 int backward) {
  (void)B;
  (void)H;
  (void)Hkv;
  (void)D;
  (void)Dv;
  if (Sq <= 0 || Sk <= 0)
    return 0;
  const size_t align = 64;
  const int64_t rows = Sq < PZRT_ATTENTION_ROW_BLOCK ? Sq : PZRT_ATTENTION_ROW_BLOCK;
  size_t block = static_cast<size_t>(rows * Sk) * sizeof(float);
  block = (block + align - 1) / align * align;
  return backward ? 2 * block : block;
}

extern "C" size_t pzrt_attention_block_workspace_bytes(int64_t B, int64_t H, int64_t Hkv,
                                                       int64_t Sq, int64_t Sk, int64_t D,
                                                       int64_t Dv, int backward) {
  (void)B;
  (void)H;
  (void)Hkv;
  (void)D;
  (void)Dv;
  if (Sq <= 0 || Sk <= 0)
    return 0;
  const size_t align = 64;
  size_t block = static_cast<size_t>(Sq * Sk) * sizeof(float);
  block = (block + align - 1) / align * align;
  return backward ? 2 * block : block;
}
