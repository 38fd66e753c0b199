// GEMM against a naive double-precision loop.
#include "pzrt/error.h"
#include "pzrt/kernels.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace {

// C = alpha * op(A) op(B) + beta * C in double, A/B/C row-major with lds.
void refGemm(bool ta, bool tb, int m, int n, int k, double alpha, const float *a, int lda,
             const float *b, int ldb, double beta, float *c, int ldc) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double s = 0;
      for (int p = 0; p < k; ++p) {
        double av = ta ? a[p * lda + i] : a[i * lda + p];
        double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
        s += av * bv;
      }
      c[i * ldc + j] = static_cast<float>(alpha * s + beta * c[i * ldc + j]);
    }
}

struct GemmCase {
  int ta, tb;
};

class GemmTest : public ::testing::TestWithParam<GemmCase> {};

TEST_P(GemmTest, MatchesNaiveLoopWithPaddedStrides) {
  const int m = 7, n = 5, k = 9;
  const GemmCase c = GetParam();
  const int aRows = c.ta ? k : m, aCols = c.ta ? m : k;
  const int bRows = c.tb ? n : k, bCols = c.tb ? k : n;
  const int lda = aCols + 3, ldb = bCols + 2, ldc = n + 4;
  auto a = pzrt::test::uniformVec(static_cast<size_t>(aRows * lda), 1);
  auto b = pzrt::test::uniformVec(static_cast<size_t>(bRows * ldb), 2);
  auto out = pzrt::test::uniformVec(static_cast<size_t>(m * ldc), 3);
  auto ref = out;
  ASSERT_EQ(pzrt_sgemm(c.ta, c.tb, m, n, k, 0.75f, a.data(), lda, b.data(), ldb, -0.5f,
                       out.data(), ldc),
            0)
      << pzrt_last_error();
  refGemm(c.ta, c.tb, m, n, k, 0.75, a.data(), lda, b.data(), ldb, -0.5, ref.data(), ldc);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < ldc; ++j) // padding columns must be untouched
      EXPECT_NEAR(out[static_cast<size_t>(i * ldc + j)], ref[static_cast<size_t>(i * ldc + j)],
                  1e-5)
          << "at " << i << "," << j;
}

INSTANTIATE_TEST_SUITE_P(AllTransposes, GemmTest,
                         ::testing::Values(GemmCase{0, 0}, GemmCase{0, 1}, GemmCase{1, 0},
                                           GemmCase{1, 1}),
                         [](const ::testing::TestParamInfo<GemmCase> &info) {
                           return std::string(info.param.ta ? "T" : "N") +
                                  (info.param.tb ? "T" : "N");
                         });

TEST(Gemm, HandComputed) {
  // [1 2; 3 4] * [5 6; 7 8] = [19 22; 43 50]
  float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8}, c[4] = {0, 0, 0, 0};
  ASSERT_EQ(pzrt_sgemm(0, 0, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2), 0);
  EXPECT_EQ(c[0], 19);
  EXPECT_EQ(c[1], 22);
  EXPECT_EQ(c[2], 43);
  EXPECT_EQ(c[3], 50);
  // A^T * B = [1 3; 2 4] * [5 6; 7 8] = [26 30; 38 44]
  ASSERT_EQ(pzrt_sgemm(1, 0, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2), 0);
  EXPECT_EQ(c[0], 26);
  EXPECT_EQ(c[3], 44);
}

TEST(Gemm, StridedBatchedWithBroadcastWeight) {
  const int batch = 3, m = 4, n = 6, k = 5;
  auto a = pzrt::test::uniformVec(static_cast<size_t>(batch * m * k), 4);
  auto b = pzrt::test::uniformVec(static_cast<size_t>(k * n), 5); // stride 0: shared by the batch
  std::vector<float> c(static_cast<size_t>(batch * m * n), 0.0f), ref = c;
  ASSERT_EQ(pzrt_sgemm_strided_batched(0, 0, m, n, k, 1.0f, a.data(), k, m * k, b.data(), n, 0,
                                       0.0f, c.data(), n, m * n, batch),
            0)
      << pzrt_last_error();
  for (int i = 0; i < batch; ++i)
    refGemm(false, false, m, n, k, 1.0, a.data() + i * m * k, k, b.data(), n, 0.0,
            ref.data() + i * m * n, n);
  for (size_t i = 0; i < c.size(); ++i)
    EXPECT_NEAR(c[i], ref[i], 1e-5);
}

TEST(Gemm, BatchedTransposedAttentionScores) {
  // scores[b] = Q[b] K[b]^T, Q,K: [batch, seq, dim]
  const int batch = 2, s = 3, d = 4;
  auto q = pzrt::test::uniformVec(static_cast<size_t>(batch * s * d), 6);
  auto kk = pzrt::test::uniformVec(static_cast<size_t>(batch * s * d), 7);
  std::vector<float> out(static_cast<size_t>(batch * s * s)), ref(out.size(), 0.0f);
  ASSERT_EQ(pzrt_sgemm_strided_batched(0, 1, s, s, d, 0.5f, q.data(), d, s * d, kk.data(), d,
                                       s * d, 0.0f, out.data(), s, s * s, batch),
            0);
  for (int i = 0; i < batch; ++i)
    refGemm(false, true, s, s, d, 0.5, q.data() + i * s * d, d, kk.data() + i * s * d, d, 0.0,
            ref.data() + i * s * s, s);
  for (size_t i = 0; i < out.size(); ++i)
    EXPECT_NEAR(out[i], ref[i], 1e-5);
}

TEST(Gemm, RejectsBadLeadingDimensions) {
  float a[6] = {}, b[6] = {}, c[6] = {};
  EXPECT_EQ(pzrt_sgemm(0, 0, 2, 3, 2, 1.0f, a, 1, b, 3, 0.0f, c, 3), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("lda=1 is smaller than the 2 columns of A"),
            std::string::npos)
      << pzrt_last_error();
  EXPECT_EQ(pzrt_sgemm(0, 1, 2, 3, 2, 1.0f, a, 2, b, 1, 0.0f, c, 3), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("(stored transposed)"), std::string::npos);
  EXPECT_EQ(pzrt_sgemm(0, 0, -1, 3, 2, 1.0f, a, 2, b, 3, 0.0f, c, 3), -1);
  EXPECT_EQ(pzrt_sgemm_strided_batched(0, 0, 2, 3, 2, 1.0f, a, 2, 0, b, 3, 0, 0.0f, c, 3, 1, 2),
            -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("overlap"), std::string::npos);
}

} // namespace

#ifdef PZRT_HAVE_OPENBLAS
extern "C" int openblas_get_num_threads(void);
// pzrt_blas_set_threads finds OpenBLAS at run time (it links no BLAS, so
// that CUDA programs need none): here, where the GEMM links it, it sets it.
TEST(BlasThreads, ReachOpenBLASLinkedByTheGemm) {
  const int before = openblas_get_num_threads();
  pzrt_blas_set_threads(1);
  EXPECT_EQ(openblas_get_num_threads(), 1);
  pzrt_blas_set_threads(2);
  EXPECT_EQ(openblas_get_num_threads(), 2);
  pzrt_blas_set_threads(0); // ignored
  EXPECT_EQ(openblas_get_num_threads(), 2);
  pzrt_blas_set_threads(before);
}
#endif
