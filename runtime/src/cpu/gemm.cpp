// GEMM through cblas_sgemm, plus a strided batched loop.
#include "pzrt/kernels.h"

#include "core/internal.h"

#include <cblas.h>
#include <climits>

using pzrt::fail;

namespace {

int checkGemm(const char *fn, int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a,
              int64_t lda, const float *b, int64_t ldb, const float *c, int64_t ldc) {
  return pzrt::checkGemmArgs(fn, ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
}

void gemm(int ta, int tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
          int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
  if (m == 0 || n == 0)
    return;
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              static_cast<int>(m), static_cast<int>(n), static_cast<int>(k), alpha, a,
              static_cast<int>(lda), b, static_cast<int>(ldb), beta, c, static_cast<int>(ldc));
}

} // namespace

extern "C" {

int pzrt_sgemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c,
               int64_t ldc) {
  if (checkGemm("sgemm", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc))
    return -1;
  gemm(trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  return 0;
}

int pzrt_sgemm_strided_batched(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                               float alpha, const float *a, int64_t lda, int64_t stride_a,
                               const float *b, int64_t ldb, int64_t stride_b, float beta, float *c,
                               int64_t ldc, int64_t stride_c, int64_t batch) {
  if (checkGemm("sgemm_strided_batched", trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc))
    return -1;
  if (batch < 0 || stride_a < 0 || stride_b < 0 || stride_c < 0)
    return fail("sgemm_strided_batched: negative batch or stride");
  if (batch > 1 && stride_c < m * ldc - (ldc - n))
    return fail("sgemm_strided_batched: stride_c=%lld makes output matrices overlap (needs >= "
                "%lld)",
                (long long)stride_c, (long long)(m * ldc - (ldc - n)));
  for (int64_t i = 0; i < batch; ++i)
    gemm(trans_a, trans_b, m, n, k, alpha, a + i * stride_a, lda, b + i * stride_b, ldb, beta,
         c + i * stride_c, ldc);
  return 0;
}

} // extern "C"
