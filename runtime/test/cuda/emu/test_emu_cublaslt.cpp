// The fake cuBLASLt's epilogues (src/cuda/emu/fake_cublaslt.cpp) against
// NVIDIA's documented semantics, called through the cuBLASLt API itself
// (not pzrt's GEMM): column-major D = epilogue(alpha op(A) op(B) + beta C),
// where CUBLASLT_EPILOGUE_BIAS adds bias[i] to row i of D (a vector of D's
// rows, the same for every matrix of a batch when BIAS_BATCH_STRIDE is 0)
// after alpha and beta, and CUBLASLT_EPILOGUE_GELU_BIAS then applies GELU's
// tanh form to that sum, in the compute type (fp32). Emulator-only (ctest
// pzrt-cuda-emu-unit): on a GPU, pzrt-cuda-gpu checks the real library.
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace {

struct Problem {
  int64_t m = 5, n = 3, k = 4; // m != n: a bias along the wrong dim fails
  int32_t batch = 1;
  float alpha = 2.0f, beta = 0.5f;
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
};

// Inputs are multiples of 1/8 in [-2, 2]: every product and sum below is
// exact in fp32, so the bias epilogue's result is exactly the reference.
float value(int64_t i) { return static_cast<float>((i * 7 + 3) % 33 - 16) / 8.0f; }

// Runs D = epilogue(alpha A B + beta C + bias) with A m x k, B k x n, C and
// D m x n, column-major (ld = rows), batches stride rows*cols apart.
std::vector<float> run(const Problem &p, const std::vector<float> &a, const std::vector<float> &b,
                       const std::vector<float> &c, const std::vector<float> &bias) {
  cublasLtHandle_t h;
  EXPECT_EQ(cublasLtCreate(&h), CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulDesc_t desc;
  EXPECT_EQ(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &p.epilogue,
                                           sizeof p.epilogue),
            CUBLAS_STATUS_SUCCESS);
  const void *biasPtr = bias.data();
  EXPECT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &biasPtr,
                                           sizeof biasPtr),
            CUBLAS_STATUS_SUCCESS);
  auto layout = [&](uint64_t rows, uint64_t cols) {
    cublasLtMatrixLayout_t l;
    EXPECT_EQ(cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, rows, cols, static_cast<int64_t>(rows)),
              CUBLAS_STATUS_SUCCESS);
    int64_t stride = static_cast<int64_t>(rows * cols);
    EXPECT_EQ(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &p.batch,
                                               sizeof p.batch),
              CUBLAS_STATUS_SUCCESS);
    EXPECT_EQ(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                               &stride, sizeof stride),
              CUBLAS_STATUS_SUCCESS);
    return l;
  };
  cublasLtMatrixLayout_t la = layout(p.m, p.k), lb = layout(p.k, p.n), lc = layout(p.m, p.n),
                         ld = layout(p.m, p.n);
  std::vector<float> d(c.size(), NAN);
  EXPECT_EQ(cublasLtMatmul(h, desc, &p.alpha, a.data(), la, b.data(), lb, &p.beta, c.data(), lc,
                           d.data(), ld, nullptr, nullptr, 0, nullptr),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  for (cublasLtMatrixLayout_t l : {la, lb, lc, ld})
    cublasLtMatrixLayoutDestroy(l);
  cublasLtMatmulDescDestroy(desc);
  cublasLtDestroy(h);
  return d;
}

// The reference, in double: element (i, j) of matrix t.
double reference(const Problem &p, const std::vector<float> &a, const std::vector<float> &b,
                 const std::vector<float> &c, const std::vector<float> &bias, int64_t t,
                 int64_t i, int64_t j) {
  double s = 0;
  for (int64_t q = 0; q < p.k; ++q)
    s += double(a[t * p.m * p.k + i + q * p.m]) * b[t * p.k * p.n + q + j * p.k];
  return p.alpha * s + p.beta * double(c[t * p.m * p.n + i + j * p.m]) + bias[i];
}

double geluTanh(double v) {
  return 0.5 * v * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
}

struct Inputs {
  std::vector<float> a, b, c, bias;
  explicit Inputs(const Problem &p)
      : a(p.m * p.k * p.batch), b(p.k * p.n * p.batch), c(p.m * p.n * p.batch), bias(p.m) {
    int64_t next = 0;
    for (std::vector<float> *v : {&a, &b, &c, &bias})
      for (float &x : *v)
        x = value(next++);
  }
};

TEST(CudaEmuCublasLt, BiasPerRowOfDAfterAlphaAndBeta) {
  Problem p;
  p.batch = 2; // BIAS_BATCH_STRIDE unset (0): one bias for both matrices
  Inputs in(p);
  std::vector<float> d = run(p, in.a, in.b, in.c, in.bias);
  for (int64_t t = 0; t < p.batch; ++t)
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j)
        EXPECT_EQ(d[t * p.m * p.n + i + j * p.m], reference(p, in.a, in.b, in.c, in.bias, t, i, j))
            << "matrix " << t << " row " << i << " column " << j;
}

// GELU's tanh form of the biased sum. Tolerance: the sum is exact in fp32
// (see value()); GELU evaluated in fp32 errs by a few ulp of its terms
// (|v| <= 6 here), 2e-6 |v| + 1e-6 bounds that. The erf form differs from
// the tanh form by 1e-4 to 5e-4 for 1 < |v| < 3, and a bias added after the
// GELU errs by O(|bias|): both fail.
TEST(CudaEmuCublasLt, GeluBiasIsTanhGeluOfTheBiasedSum) {
  Problem p;
  p.epilogue = CUBLASLT_EPILOGUE_GELU_BIAS;
  p.alpha = 0.25f, p.beta = 0.0f; // beta 0: C is not read
  Inputs in(p);
  std::vector<float> d = run(p, in.a, in.b, in.c, in.bias);
  int near2 = 0;
  for (int64_t i = 0; i < p.m; ++i)
    for (int64_t j = 0; j < p.n; ++j) {
      double v = reference(p, in.a, in.b, in.c, in.bias, 0, i, j);
      near2 += std::fabs(std::fabs(v) - 2.0) < 1.5;
      EXPECT_NEAR(d[i + j * p.m], geluTanh(v), 2e-6 * std::fabs(v) + 1e-6)
          << "row " << i << " column " << j << " pre-activation " << v;
    }
  EXPECT_GT(near2, 0) << "no pre-activation where tanh and erf GELU differ most";
}

} // namespace
