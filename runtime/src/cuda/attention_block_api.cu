// pzrt_cuda_attention_block_fwd / _bwd (pzrt/cuda_kernels.h), one block of
// ring attention: the CPU kernels' checks (runtime/src/cpu/attention_block.cpp),
// then the kernels of attention_fwd.cu (kFwdBlock: the online-softmax merge
// into the running acc and lse) and attention_bwd.cu (with the final out and
// lse given, the workspace holds only Drow = dout . out [B*H*Sq]).
#include "pzrt/cuda_prelude.h"

#include "core/internal.h"
#include "cuda/attention_tile.cuh"
#include "pzrt/cuda_kernels.h"
#include "pzrt/workspace.h"

#include <cstdint>

using pzrt::fail;
using namespace pzrt::cuda::attn;

namespace {

// attention_block.cpp's setUp: fills p and checks what both directions share.
int setUpBlock(const char *fn, Params &p, const float *q, const float *k, const float *v,
               const int64_t *qPos, const int64_t *kPos, const void *mask, int maskKind,
               const int64_t *maskStrides, double scale, int64_t B, int64_t H, int64_t Hkv,
               int64_t Sq, int64_t Sk, int64_t D, int64_t Dv, const void *workspace,
               int backward) {
  if (checkSizes(fn, B, H, Hkv, Sq, Sk, D, Dv, maskKind, maskStrides))
    return -1;
  p = makeParams(q, k, v, mask, maskKind, maskStrides, scale, B, H, Hkv, Sq, Sk, D, Dv);
  p.blockForm = 1;
  const bool work = B * H * Sq > 0 && Sk > 0;
  if (!work)
    return 0;
  if (maskKind != PZRT_MASK_NONE && !mask)
    return fail("%s: NULL mask with mask kind %d", fn, maskKind);
  if ((qPos == nullptr) != (kPos == nullptr))
    return fail("%s: q_pos and k_pos must be both given or both NULL", fn);
  if ((D > 0 && (!q || !k)) || (Dv > 0 && !v))
    return fail("%s: NULL query, key or value", fn);
  size_t bytes = pzrt_cuda_attention_block_workspace_bytes(B, H, Hkv, Sq, Sk, D, Dv, backward);
  if (bytes > 0 && !workspace)
    return fail("%s: NULL workspace (needs %zu bytes)", fn, bytes);
  if (reinterpret_cast<uintptr_t>(workspace) % alignof(float) != 0)
    return fail("%s: misaligned workspace", fn);
  p.qPos = qPos;
  p.kPos = kPos;
  return 0;
}

} // namespace

extern "C" {

int pzrt_cuda_attention_block_fwd(pzrt_step_ctx *ctx, const float *q, const float *k,
                                  const float *v, const int64_t *q_pos, const int64_t *k_pos,
                                  const void *mask, int mask_kind, const int64_t mask_strides[4],
                                  double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                                  int64_t Sk, int64_t D, int64_t Dv, const float *acc_in,
                                  const float *lse_in, float *acc_out, float *lse_out,
                                  void *workspace) {
  const char *fn = "pzrt_cuda_attention_block_fwd";
  Params p;
  if (setUpBlock(fn, p, q, k, v, q_pos, k_pos, mask, mask_kind, mask_strides, scale, B, H, Hkv,
                 Sq, Sk, D, Dv, workspace, 0))
    return -1;
  if (B * H * Sq > 0 && (!lse_in || !lse_out))
    return fail("%s: NULL lse_in or lse_out", fn);
  if (B * H * Sq * Dv > 0 && (!acc_in || !acc_out))
    return fail("%s: NULL acc_in or acc_out", fn);
  if (B * H * Sq == 0)
    return 0;
  void *stream = computeStream(fn, ctx);
  if (!stream)
    return -1;
  p.mode = kFwdBlock;
  p.accIn = acc_in;
  p.lseIn = lse_in;
  p.out = acc_out;
  p.lseOut = lse_out;
  if (Sk == 0) { // no keys: the kernel walks no key tile and passes (acc, lse) on
    p.k = p.v = nullptr;
  }
  return launchForward(fn, p, stream);
}

int pzrt_cuda_attention_block_bwd(pzrt_step_ctx *ctx, const float *dout, const float *q,
                                  const float *k, const float *v, const float *out,
                                  const float *lse, const int64_t *q_pos, const int64_t *k_pos,
                                  const void *mask, int mask_kind, const int64_t mask_strides[4],
                                  double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                                  int64_t Sk, int64_t D, int64_t Dv, float *dq, float *dk,
                                  float *dv, void *workspace) {
  const char *fn = "pzrt_cuda_attention_block_bwd";
  Params p;
  if (setUpBlock(fn, p, q, k, v, q_pos, k_pos, mask, mask_kind, mask_strides, scale, B, H, Hkv,
                 Sq, Sk, D, Dv, workspace, 1))
    return -1;
  const bool work = B * H * Sq > 0 && Sk > 0;
  const int64_t nq = B * H * Sq * D, nk = B * Hkv * Sk * D, nv = B * Hkv * Sk * Dv;
  if ((nq > 0 && !dq) || (nk > 0 && !dk) || (nv > 0 && !dv))
    return fail("%s: NULL gradient pointer", fn);
  if (work && (!lse || (Dv > 0 && (!dout || !out))))
    return fail("%s: NULL dout, out or lse", fn);
  if (nq + nk + nv == 0)
    return 0;
  void *stream = computeStream(fn, ctx);
  if (!stream)
    return -1;
  if (!work) // no scores: zero gradients (dq too: no keys in this block)
    return launchFill(fn, dq, nq, 0.0f, stream) || launchFill(fn, dk, nk, 0.0f, stream) ||
                   launchFill(fn, dv, nv, 0.0f, stream)
               ? -1
               : 0;
  p.dout = dout;
  p.lse = const_cast<float *>(lse); // read only: the backward kernels never write lse
  p.drow = static_cast<float *>(workspace);
  if (launchRowDots(fn, p, out, stream))
    return -1;
  p.dq = dq;
  p.dk = dk;
  p.dv = dv;
  return launchBackward(fn, p, stream);
}

} // extern "C"
