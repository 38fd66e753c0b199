/* pzrt/cuda_kernels.h - the runtime's CUDA kernels, which compiled programs
 * of the CUDA backend call (docs/design/0018-cuda-backend.md, decision 2).
 *
 * Built only with PZ_ENABLE_CUDA (library pzrt_cuda). Each function is the
 * CUDA form of the CPU kernel of the same name without `cuda_`
 * (pzrt/kernels.h, pzrt/types.h), with the same arguments, meaning and
 * checks, plus the step context first: it launches on the context's compute
 * stream (pzrt_cuda_compute_stream(ctx)) and returns at once. Every pointer
 * is device memory of ctx's device, scalar results included (loss_sum,
 * n_valid). Math is fp32 with fp32 accumulation where the CPU accumulates in
 * double, except where a comment says otherwise; the CUDA backend compares
 * with the CPU backend within the written tolerances (1e-4 fp32 over 20
 * steps, 2e-2 bf16), not bit for bit.
 *
 * Returns 0, or -1 with pzrt_last_error() naming the function and the
 * failing check or CUDA call (a launch error included).
 */
#ifndef PZRT_CUDA_KERNELS_H
#define PZRT_CUDA_KERNELS_H

#include "pzrt/kernels.h"
#include "pzrt/train.h"
#include "pzrt/types.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- dtype conversion (the widened copies of mixed precision) ---- */
int pzrt_cuda_widen_to_f32(pzrt_step_ctx *ctx, pzrt_dtype src_dtype, const void *src, float *dst,
                           int64_t n);
int pzrt_cuda_narrow_from_f32(pzrt_step_ctx *ctx, pzrt_dtype dst_dtype, const float *src,
                              void *dst, int64_t n);

/* ---- softmax family, along the last axis ---- */
int pzrt_cuda_softmax_fwd(pzrt_step_ctx *ctx, const float *x, float *y, int64_t rows,
                          int64_t cols);
int pzrt_cuda_softmax_bwd(pzrt_step_ctx *ctx, const float *y, const float *dy, float *dx,
                          int64_t rows, int64_t cols);
int pzrt_cuda_log_softmax_fwd(pzrt_step_ctx *ctx, const float *x, float *y, int64_t rows,
                              int64_t cols);
int pzrt_cuda_log_softmax_bwd(pzrt_step_ctx *ctx, const float *y, const float *dy, float *dx,
                              int64_t rows, int64_t cols);

/* ---- cross-entropy; loss_sum (one double) and n_valid (one int64) are
 * device memory, written (not accumulated) with a deterministic reduction:
 * the same inputs give the same bits on every run. ---- */
int pzrt_cuda_cross_entropy_fwd(pzrt_step_ctx *ctx, const float *logits, const int64_t *labels,
                                int64_t rows, int64_t vocab, int64_t ignore_index, float *lse,
                                double *loss_sum, int64_t *n_valid);
int pzrt_cuda_cross_entropy_bwd(pzrt_step_ctx *ctx, const float *logits, const int64_t *labels,
                                const float *lse, int64_t rows, int64_t vocab,
                                int64_t ignore_index, float grad_scale, float *dlogits);
/* The same with the scale read on the device: grad_scale is one double in
 * device memory, rounded to float there (as the host form's caller rounds
 * it), so that a CUDA graph replays the call with the current scale. */
int pzrt_cuda_cross_entropy_bwd_dev(pzrt_step_ctx *ctx, const float *logits,
                                    const int64_t *labels, const float *lse, int64_t rows,
                                    int64_t vocab, int64_t ignore_index,
                                    const double *grad_scale, float *dlogits);

/* ---- normalization over the last axis ---- */
int pzrt_cuda_layer_norm_fwd(pzrt_step_ctx *ctx, const float *x, const float *gamma,
                             const float *beta, float *y, float *mean, float *rstd, int64_t rows,
                             int64_t cols, float eps);
/* dgamma/dbeta (nullable) are overwritten with the sums over rows, summed in
 * a fixed order (deterministic). */
int pzrt_cuda_layer_norm_bwd_recompute(pzrt_step_ctx *ctx, const float *dy, const float *x,
                                       const float *gamma, float *dx, float *dgamma,
                                       float *dbeta, int64_t rows, int64_t cols, float eps);
int pzrt_cuda_rms_norm_fwd(pzrt_step_ctx *ctx, const float *x, const float *gamma, float *y,
                           float *rstd, int64_t rows, int64_t cols, float eps);
int pzrt_cuda_rms_norm_bwd_recompute(pzrt_step_ctx *ctx, const float *dy, const float *x,
                                     const float *gamma, float *dx, float *dgamma, int64_t rows,
                                     int64_t cols, float eps);

/* ---- GELU; approximate = 0: erf form, 1: tanh form ---- */
int pzrt_cuda_gelu_fwd(pzrt_step_ctx *ctx, const float *x, float *y, int64_t n, int approximate);
int pzrt_cuda_gelu_bwd(pzrt_step_ctx *ctx, const float *x, const float *dy, float *dx, int64_t n,
                       int approximate);

/* ---- dropout: the CPU's Philox-4x32-10 stream, so the masks are the CPU
 * backend's bit for bit ---- */
int pzrt_cuda_dropout_fwd(pzrt_step_ctx *ctx, const float *x, float *y, uint8_t *mask, int64_t n,
                          float p, uint64_t seed, uint64_t step, uint64_t offset);
int pzrt_cuda_dropout_bwd(pzrt_step_ctx *ctx, const float *dy, float *dx, int64_t n, float p,
                          uint64_t seed, uint64_t step, uint64_t offset);
/* The forward with the step read on the device (one int64, e.g.
 * pzrt_cuda_step_word), which compiled programs call so that a CUDA graph
 * replays it with the current step. The same masks. */
int pzrt_cuda_dropout_fwd_dev(pzrt_step_ctx *ctx, const float *x, float *y, uint8_t *mask,
                              int64_t n, float p, uint64_t seed, const int64_t *step,
                              uint64_t offset);

/* ---- optimizers (torch.optim semantics). Here lr and step are host
 * values, as for the CPU kernels, and the bias corrections are computed in
 * double on the host; compiled programs call the device-scalar forms below.
 * The update math is fp32. ---- */
int pzrt_cuda_adamw_step(pzrt_step_ctx *ctx, float *p, const float *g, float *m, float *v,
                         int64_t n, double lr, double beta1, double beta2, double eps,
                         double weight_decay, int64_t step);
int pzrt_cuda_sgd_step(pzrt_step_ctx *ctx, float *p, const float *g, float *buf, int64_t n,
                       double lr, double momentum, double dampening, double weight_decay,
                       int nesterov, int64_t step);

/* The device-scalar forms, which compiled programs call: lr (one float) and
 * step (one int64) are the step context's scalar slots in device memory,
 * read by the kernel, so no host synchronization is needed and a CUDA graph
 * replays the call with the values the host wrote since. AdamW's bias
 * corrections are computed on the device in double (pow and sqrt), once per
 * block. Under the emulator that is glibc's pow: bit for bit the host form.
 * On a GPU CUDA's double pow errs by up to 2 ulp (of a double), so a scalar
 * may round to the neighbouring float where the double lies within 2 ulp of
 * a float rounding boundary: at most 1 ulp (2^-24) on the step size or the
 * bias correction, then the update's own fp32 operations.
 * A step below 1 or a negative or NaN lr (refused by the host form) leaves
 * the tensors unchanged and records bad_id in *bad (pz_flag; bad may be
 * NULL). SGD's step only tells the first step (host value: the compiler
 * passes a constant). */
int pzrt_cuda_adamw_step_dev(pzrt_step_ctx *ctx, float *p, const float *g, float *m, float *v,
                             int64_t n, const float *lr, const int64_t *step, double beta1,
                             double beta2, double eps, double weight_decay, int *bad,
                             int bad_id);
/* pzrt_cuda_adamw_step_dev on `count` tensors (p[i], g[i], m[i], v[i] of
 * n[i] elements; host arrays) sharing lr, step and the hyper-parameters, in
 * a few launches (a multi-tensor apply: each block updates one chunk of one
 * tensor). Each tensor's update is pzrt_cuda_adamw_step_dev's bit for bit;
 * the bad step and lr are handled the same way. The arrays are read before
 * the call returns. */
int pzrt_cuda_adamw_multi_dev(pzrt_step_ctx *ctx, int count, float *const *p,
                              const float *const *g, float *const *m, float *const *v,
                              const int64_t *n, const float *lr, const int64_t *step,
                              double beta1, double beta2, double eps, double weight_decay,
                              int *bad, int bad_id);
int pzrt_cuda_sgd_step_dev(pzrt_step_ctx *ctx, float *p, const float *g, float *buf, int64_t n,
                           const float *lr, double momentum, double dampening,
                           double weight_decay, int nesterov, int64_t step);

/* ---- scaled dot-product attention (pz.attention), the CPU's arguments;
 * mask, bias and their strides as in pzrt/kernels.h. Workspaces: the sizes
 * pzrt/workspace.h gives for the CUDA kernels (pzrt_cuda_attention_*), which
 * the compiler's memory plan reserves. ---- */
int pzrt_cuda_attention_fwd(pzrt_step_ctx *ctx, const float *q, const float *k, const float *v,
                            const void *mask, int mask_kind, const int64_t mask_strides[4],
                            const float *bias, const int64_t bias_strides[4], int causal,
                            double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                            int64_t Sk, int64_t D, int64_t Dv, float *out, void *workspace);
int pzrt_cuda_attention_bwd(pzrt_step_ctx *ctx, const float *dout, const float *q,
                            const float *k, const float *v, const void *mask, int mask_kind,
                            const int64_t mask_strides[4], const float *bias,
                            const int64_t bias_strides[4], int causal, double scale, int64_t B,
                            int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D,
                            int64_t Dv, float *dq, float *dk, float *dv, void *workspace);
int pzrt_cuda_attention_bias_bwd(pzrt_step_ctx *ctx, const float *dout, const float *q,
                                 const float *k, const float *v, const void *mask, int mask_kind,
                                 const int64_t mask_strides[4], const float *bias,
                                 const int64_t bias_strides[4], int64_t bias_numel, int causal,
                                 double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                                 int64_t Sk, int64_t D, int64_t Dv, float *dbias,
                                 void *workspace);
/* One block of ring attention (pz.attention_block), the CPU's contract. */
int pzrt_cuda_attention_block_fwd(pzrt_step_ctx *ctx, const float *q, const float *k,
                                  const float *v, const int64_t *q_pos, const int64_t *k_pos,
                                  const void *mask, int mask_kind, const int64_t mask_strides[4],
                                  double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                                  int64_t Sk, int64_t D, int64_t Dv, const float *acc_in,
                                  const float *lse_in, float *acc_out, float *lse_out,
                                  void *workspace);
int pzrt_cuda_attention_block_bwd(pzrt_step_ctx *ctx, const float *dout, const float *q,
                                  const float *k, const float *v, const float *out,
                                  const float *lse, const int64_t *q_pos, const int64_t *k_pos,
                                  const void *mask, int mask_kind, const int64_t mask_strides[4],
                                  double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                                  int64_t Sk, int64_t D, int64_t Dv, float *dq, float *dk,
                                  float *dv, void *workspace);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_CUDA_KERNELS_H */
