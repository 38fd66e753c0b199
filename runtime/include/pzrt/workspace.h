/* pzrt/workspace.h - scratch sizes of the kernels, without the kernels.
 *
 * Part of pzrt_core (no BLAS, MPI or device dependency), so that the compiler
 * plans the same workspaces the kernels use.
 */
#ifndef PZRT_WORKSPACE_H
#define PZRT_WORKSPACE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Query rows the attention kernels handle at a time: the workspace holds
 * that many rows of scores (and in the backward as many of dP). */
#define PZRT_ATTENTION_ROW_BLOCK 64

/* Bytes of workspace pzrt_attention_fwd (backward = 0) or
 * pzrt_attention_bwd (backward = 1) needs for these dims: 0 when Sq or Sk is
 * not positive. */
size_t pzrt_attention_workspace_bytes(int64_t B, int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk,
                                      int64_t D, int64_t Dv, int backward);

/* Bytes of workspace pzrt_attention_block_fwd (backward = 0) or
 * pzrt_attention_block_bwd (backward = 1) needs for these dims: the Sq x Sk
 * scores of one (batch, head), rounded up to 64 bytes (twice in the
 * backward); 0 when Sq or Sk is not positive. */
size_t pzrt_attention_block_workspace_bytes(int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                                            int64_t Sk, int64_t D, int64_t Dv, int backward);

/* The same for the CUDA backend's attention kernels (pzrt/cuda_kernels.h),
 * with the same arguments. No CUDA needed: the compiler's memory plan calls
 * them. The forwards need none (0); pzrt_cuda_attention_bwd and _bias_bwd
 * need 2 * B*H*Sq floats (the row log-sum-exp and dout . out they
 * recompute), pzrt_cuda_attention_block_bwd B*H*Sq floats (dout . out);
 * 0 when B, H, Sq or Sk is not positive. */
size_t pzrt_cuda_attention_workspace_bytes(int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                                           int64_t Sk, int64_t D, int64_t Dv, int backward);
size_t pzrt_cuda_attention_block_workspace_bytes(int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                                                 int64_t Sk, int64_t D, int64_t Dv,
                                                 int backward);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_WORKSPACE_H */
