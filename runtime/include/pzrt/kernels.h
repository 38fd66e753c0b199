/* pzrt/kernels.h - fp32 CPU kernels.
 *
 * All matrices are row-major and contiguous unless a leading dimension says
 * otherwise. "rows x cols" kernels work along the last axis (cols). Functions
 * returning int give 0, or -1 with pzrt_last_error() on bad arguments.
 */
#ifndef PZRT_KERNELS_H
#define PZRT_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "pzrt/workspace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- GEMM (cblas_sgemm) ---- */
/* C[m x n] = alpha * op(A) * op(B) + beta * C, op(X) = X or X^T.
 * op(A) is m x k, op(B) is k x n. lda/ldb/ldc are the row strides of A, B, C
 * as stored (A is m x k, or k x m when trans_a). */
int pzrt_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
               int64_t ldc);
/* batch GEMMs; matrix i starts at a + i*stride_a (likewise b, c). A stride of
 * 0 broadcasts one matrix over the batch. */
int pzrt_sgemm_strided_batched(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                               float alpha, const float *a, int64_t lda, int64_t stride_a,
                               const float *b, int64_t ldb, int64_t stride_b, float beta, float *c,
                               int64_t ldc, int64_t stride_c, int64_t batch);
/* The same GEMM on bf16 A and B (2-byte values), C in fp32: exact products,
 * fp32 accumulation. Through oneDNN's dnnl_gemm_bf16bf16f32 (libdnnl.so.2,
 * opened at the first call; its bf16 kernels use AVX-512 bf16 units) when
 * it loads and supports this CPU; otherwise A's a_count and B's b_count
 * elements are widened into a_scratch and b_scratch and pzrt_sgemm runs on
 * them. PZRT_CPU_BF16_GEMM=onednn requires oneDNN (an error without it),
 * =fp32 always widens; PZRT_DNNL_LIBRARY names another file to open. */
int pzrt_gemm_bf16(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
                   const uint16_t *a, int64_t lda, const uint16_t *b, int64_t ldb, float beta,
                   float *c, int64_t ldc, float *a_scratch, int64_t a_count, float *b_scratch,
                   int64_t b_count);
/* Which path pzrt_gemm_bf16 takes in this process: "oneDNN" or "fp32" (it
 * chooses on the first call of either function; NULL with a pzrt error when
 * PZRT_CPU_BF16_GEMM is invalid or asks for a oneDNN that does not load). */
const char *pzrt_gemm_bf16_path(void);
/* Sets the BLAS thread count: OpenBLAS's, looked up among the process's
 * symbols (a no-op where the program links no OpenBLAS, or another BLAS),
 * and oneDNN's OpenMP threads for the bf16 GEMM. */
void pzrt_blas_set_threads(int n);
/* At startup, before the kernels run: checks PZRT_CPU_BF16_GEMM (0, or -1
 * with a pzrt error naming it) and sets OMP_WAIT_POLICY=PASSIVE unless it
 * is set, so that oneDNN's OpenMP threads sleep between GEMMs instead of
 * spinning against the rest of the step (libgomp reads it when oneDNN
 * loads it). */
int pzrt_cpu_prepare_env(void);

/* ---- softmax family, along the last axis ---- */
/* Rows whose entries are all -inf give a zero row (softmax) or a NaN row
 * (log: -inf - (-inf), as torch.log_softmax gives). */
void pzrt_softmax_fwd(const float *x, float *y, int64_t rows, int64_t cols);
/* dx = y * (dy - sum(dy * y)) */
void pzrt_softmax_bwd(const float *y, const float *dy, float *dx, int64_t rows, int64_t cols);
void pzrt_log_softmax_fwd(const float *x, float *y, int64_t rows, int64_t cols);
/* dx = dy - exp(y) * sum(dy), y = log_softmax output */
void pzrt_log_softmax_bwd(const float *y, const float *dy, float *dx, int64_t rows, int64_t cols);

/* ---- cross-entropy over logits [rows x vocab] with int64 labels ---- */
/* Rows whose label equals ignore_index (use -100) are skipped. Writes the sum
 * of the per-row losses to *loss_sum and the number of counted rows to
 * *n_valid; the mean loss is loss_sum / n_valid (torch's reduction='mean').
 * lse (nullable, rows entries) receives each row's log-sum-exp for the
 * backward pass. A label outside [0, vocab) that is not ignore_index is an
 * error naming the row. */
int pzrt_cross_entropy_fwd(const float *logits, const int64_t *labels, int64_t rows,
                           int64_t vocab, int64_t ignore_index, float *lse, double *loss_sum,
                           int64_t *n_valid);
/* dlogits = grad_scale * (softmax(logits) - onehot(label)) for counted rows
 * and 0 for ignored rows. For the mean loss pass grad_scale = dloss / n_valid.
 * lse may be NULL (recomputed). */
int pzrt_cross_entropy_bwd(const float *logits, const int64_t *labels, const float *lse,
                           int64_t rows, int64_t vocab, int64_t ignore_index, float grad_scale,
                           float *dlogits);

/* ---- normalization over the last axis (statistics in double) ---- */
/* y = (x - mean) * rstd * gamma + beta; gamma/beta may be NULL (1 and 0).
 * mean/rstd (rows entries each, nullable) are saved for the backward. */
int pzrt_layer_norm_fwd(const float *x, const float *gamma, const float *beta, float *y,
                        float *mean, float *rstd, int64_t rows, int64_t cols, float eps);
/* dgamma/dbeta (nullable) are overwritten with the sums over rows. */
int pzrt_layer_norm_bwd(const float *dy, const float *x, const float *gamma, const float *mean,
                        const float *rstd, float *dx, float *dgamma, float *dbeta, int64_t rows,
                        int64_t cols);
/* y = x * rstd * gamma, rstd = 1/sqrt(mean(x^2) + eps). */
int pzrt_rms_norm_fwd(const float *x, const float *gamma, float *y, float *rstd, int64_t rows,
                      int64_t cols, float eps);
int pzrt_rms_norm_bwd(const float *dy, const float *x, const float *gamma, const float *rstd,
                      float *dx, float *dgamma, int64_t rows, int64_t cols);

/* ---- GELU; approximate = 0: erf form, 1: tanh form ---- */
void pzrt_gelu_fwd(const float *x, float *y, int64_t n, int approximate);
void pzrt_gelu_bwd(const float *x, const float *dy, float *dx, int64_t n, int approximate);

/* ---- counter-based RNG: Philox-4x32-10 ---- */
void pzrt_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* out[i] is uniform in [0, 1) (24 random bits) for element index offset+i.
 * Element e uses Philox block ctr = {e/4 low, e/4 high, step low, step high},
 * key = {seed low, seed high}, word e%4; so the stream is keyed by seed and
 * counted by (step, element index), independent of how it is chunked. */
void pzrt_rand_uniform(uint64_t seed, uint64_t step, uint64_t offset, float *out, int64_t n);
/* Element i is kept when its uniform (index offset+i) is >= p; kept values are
 * scaled by 1/(1-p). mask (nullable) gets 1 for kept, 0 for dropped.
 * p must be in [0, 1]; p == 1 drops everything. */
int pzrt_dropout_fwd(const float *x, float *y, uint8_t *mask, int64_t n, float p, uint64_t seed,
                     uint64_t step, uint64_t offset);
/* Regenerates the same mask from (seed, step, offset): dx = dy * keep/(1-p). */
int pzrt_dropout_bwd(const float *dy, float *dx, int64_t n, float p, uint64_t seed, uint64_t step,
                     uint64_t offset);

/* ---- optimizers (torch.optim semantics, operation order of torch 1.13) ---- */
/* One torch.optim.AdamW step (amsgrad off), step counting from 1:
 *   p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
 *   p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
 * Scalars are computed in double as Python computes them. */
int pzrt_adamw_step(float *p, const float *g, float *m, float *v, int64_t n, double lr,
                    double beta1, double beta2, double eps, double weight_decay, int64_t step);
/* One torch.optim.SGD step: d = g + wd*p; with momentum, buf = d on step 1,
 * else buf = momentum*buf + (1-dampening)*d; d = nesterov ? d + momentum*buf
 * : buf; p -= lr*d. buf may be NULL when momentum == 0. */
int pzrt_sgd_step(float *p, const float *g, float *buf, int64_t n, double lr, double momentum,
                  double dampening, double weight_decay, int nesterov, int64_t step);
/* Sum of squares in double (for the global gradient norm). */
double pzrt_sum_squares(const float *x, int64_t n);
void pzrt_scale(float *x, int64_t n, float s);
/* torch.nn.utils.clip_grad_norm_'s factor: min(1, max_norm/(total_norm+1e-6)). */
float pzrt_clip_coef(double total_norm, double max_norm);

/* ---- normalization backward with recomputed statistics ---- */
/* The same results (bit for bit) as pzrt_layer_norm_fwd with this eps (for
 * mean/rstd, rounded to float as it saves them) followed by
 * pzrt_layer_norm_bwd / pzrt_rms_norm_bwd. gamma may be NULL (1); dgamma and
 * dbeta (nullable) are overwritten with the sums over rows, accumulated in
 * double in row order. No heap allocation: per-column double accumulators
 * live on the stack in chunks of 2048 columns (wider rows recompute the row
 * statistics once per extra chunk). */
int pzrt_layer_norm_bwd_recompute(const float *dy, const float *x, const float *gamma,
                                  float *dx, float *dgamma, float *dbeta, int64_t rows,
                                  int64_t cols, float eps);
int pzrt_rms_norm_bwd_recompute(const float *dy, const float *x, const float *gamma, float *dx,
                                float *dgamma, int64_t rows, int64_t cols, float eps);

/* ---- scaled dot-product attention (the compiler's pz.attention) ---- */
/* query [B,H,Sq,D], key [B,Hkv,Sk,D], value [B,Hkv,Sk,Dv], out [B,H,Sq,Dv],
 * all contiguous row-major; H must be a multiple of Hkv (query head h uses kv
 * head h / (H/Hkv)). out = softmax(scale * Q K^T + bias + mask) V along the
 * keys. bias (NULL: none) is float, added to the scaled scores before the
 * mask (an additive position bias such as ALiBi); its gradient is
 * pzrt_attention_bias_bwd's.
 * causal: key j is dropped for query i when j > i (top-left aligned).
 * PZRT_MASK_BOOL: mask is uint8, nonzero keeps the position, zero drops it;
 * PZRT_MASK_ADD: mask is float, added to the scaled scores.
 * A row with every position dropped (or a NaN/+inf score) gives NaN, as the
 * interpreter (and PyTorch's math backend): a NaN output row; in the backward
 * a NaN dq row and all-NaN dk and dv for that kv head.
 * The backward recomputes the probabilities from q, k, v (same mask, causal
 * and scale) and overwrites dq, dk, dv; dk/dv sum over the query heads that
 * share a kv head. The mask gets no gradient.
 * Neither allocates memory. Returns 0, or -1 with pzrt_last_error() on bad
 * sizes or pointers. */
typedef enum { PZRT_MASK_NONE = 0, PZRT_MASK_BOOL = 1, PZRT_MASK_ADD = 2 } pzrt_mask_kind;
/* mask_strides: element strides of the mask over [B,H,Sq,Sk] (0 broadcasts that axis); ignored for PZRT_MASK_NONE.
 * bias_strides: the same for the bias; ignored when bias is NULL.
 * workspace: at least pzrt_attention_workspace_bytes(...) bytes, 64-byte aligned, owned by the caller. */
int pzrt_attention_fwd(const float *q, const float *k, const float *v, const void *mask, int mask_kind, const int64_t mask_strides[4], const float *bias, const int64_t bias_strides[4], int causal, double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D, int64_t Dv, float *out, void *workspace);
int pzrt_attention_bwd(const float *dout, const float *q, const float *k, const float *v, const void *mask, int mask_kind, const int64_t mask_strides[4], const float *bias, const int64_t bias_strides[4], int causal, double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D, int64_t Dv, float *dq, float *dk, float *dv, void *workspace);
/* The bias's gradient (pz.attention_bias_grad): dS = P * (dP - rowsum(dP * P))
 * summed into dbias (bias_numel floats, overwritten; the bias's strides map
 * [B,H,Sq,Sk] onto it, 0 summing a broadcast axis). Sums accumulate in float.
 * workspace: pzrt_attention_workspace_bytes(..., 1) bytes. */
int pzrt_attention_bias_bwd(const float *dout, const float *q, const float *k, const float *v, const void *mask, int mask_kind, const int64_t mask_strides[4], const float *bias, const int64_t bias_strides[4], int64_t bias_numel, int causal, double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq, int64_t Sk, int64_t D, int64_t Dv, float *dbias, void *workspace);

/* ---- one block of ring attention (the compiler's pz.attention_block) ----
 * query [B,H,Sq,D], key [B,Hkv,Sk,D], value [B,Hkv,Sk,Dv]: one block of the keys.
 * acc_in/acc_out [B,H,Sq,Dv] and lse_in/lse_out [B,H,Sq]: the running output
 * (already normalized over the keys seen so far) and the log-sum-exp of those
 * keys' scores (start: acc 0, lse -inf). out may alias in (row-wise update).
 * S = scale * Q K^T (+ mask); q_pos [Sq] and k_pos [Sk] (int64, both or neither;
 * NULL: no causal mask): key j is dropped for query i when k_pos[j] > q_pos[i].
 * A bool mask drops where zero; a float mask adds (same as pzrt_attention_fwd);
 * mask and mask_strides describe this block's Sk columns.
 * Per row: l = logsumexp over the block's kept keys (-inf if none kept);
 * lse_out = logaddexp(lse_in, l); acc_out = acc_in * exp(lse_in - lse_out)
 *   + softmax_block(S) V * exp(l - lse_out); a row with no kept key in this block
 * and lse_in = -inf stays acc 0, lse -inf (no NaN). acc_in is not read where
 * lse_in is -inf.
 * workspace: at least pzrt_attention_block_workspace_bytes(..., 0) bytes.
 * Returns 0, or -1 with pzrt_last_error() on bad sizes or pointers. */
int pzrt_attention_block_fwd(const float *q, const float *k, const float *v,
                             const int64_t *q_pos, const int64_t *k_pos,
                             const void *mask, int mask_kind, const int64_t mask_strides[4],
                             double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                             int64_t Sk, int64_t D, int64_t Dv,
                             const float *acc_in, const float *lse_in,
                             float *acc_out, float *lse_out, void *workspace);
/* The backward of one block given the FINAL output `out` [B,H,Sq,Dv] and `lse`
 * [B,H,Sq] of the whole attention (over every block): P = exp(S - lse) (dropped
 * positions 0), Drow_i = sum_c dout[i,c] * out[i,c],
 * dV = P^T dout, dP = dout V^T, dS = P * (dP - Drow),
 * dq = scale * dS K (this block's part, overwritten),
 * dk = scale * dS^T Q, dv = P^T dout (overwritten; summed over the query heads
 * that share a kv head). Rows with lse = -inf contribute nothing (their P and
 * dS rows are zero). workspace: at least
 * pzrt_attention_block_workspace_bytes(..., 1) bytes. Neither kernel allocates. */
int pzrt_attention_block_bwd(const float *dout, const float *q, const float *k, const float *v,
                             const float *out, const float *lse,
                             const int64_t *q_pos, const int64_t *k_pos,
                             const void *mask, int mask_kind, const int64_t mask_strides[4],
                             double scale, int64_t B, int64_t H, int64_t Hkv, int64_t Sq,
                             int64_t Sk, int64_t D, int64_t Dv,
                             float *dq, float *dk, float *dv, void *workspace);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_KERNELS_H */
