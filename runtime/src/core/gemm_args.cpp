// The argument checks every GEMM of the runtime makes (CPU and CUDA): sizes,
// leading dimensions of row-major matrices, and pointers.
#include "core/internal.h"

#include <climits>

int pzrt::checkGemmArgs(const char *fn, int ta, int tb, int64_t m, int64_t n, int64_t k,
                        const void *a, int64_t lda, const void *b, int64_t ldb, const void *c,
                        int64_t ldc) {
  if (m < 0 || n < 0 || k < 0)
    return fail("%s: negative size m=%lld n=%lld k=%lld", fn, (long long)m, (long long)n,
                (long long)k);
  // BLAS takes int sizes; cuBLASLt's are 64-bit but its batch count is
  // 32-bit: one limit for every size.
  if (m > INT_MAX || n > INT_MAX || k > INT_MAX || lda > INT_MAX || ldb > INT_MAX ||
      ldc > INT_MAX)
    return fail("%s: sizes beyond INT_MAX are not supported", fn);
  int64_t aCols = ta ? m : k, bCols = tb ? k : n;
  if (lda < (aCols > 1 ? aCols : 1))
    return fail("%s: lda=%lld is smaller than the %lld columns of A%s", fn, (long long)lda,
                (long long)aCols, ta ? " (stored transposed)" : "");
  if (ldb < (bCols > 1 ? bCols : 1))
    return fail("%s: ldb=%lld is smaller than the %lld columns of B%s", fn, (long long)ldb,
                (long long)bCols, tb ? " (stored transposed)" : "");
  if (ldc < (n > 1 ? n : 1))
    return fail("%s: ldc=%lld is smaller than n=%lld", fn, (long long)ldc, (long long)n);
  if ((m && n && !c) || (m && n && k && (!a || !b)))
    return fail("%s: NULL matrix pointer", fn);
  return 0;
}
