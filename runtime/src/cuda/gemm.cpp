// GEMM through cuBLASLt (pzrt/cuda.h), row-major as pzrt_sgemm.
//
// cuBLASLt is column-major. A row-major m x n matrix with row stride ld is,
// read column-major, its n x m transpose with the same ld, so
//   C = op(A) op(B)  (row-major)  is  C^T = op(B)^T op(A)^T  (column-major):
// the call passes B as cuBLASLt's A and A as its B, swaps m and n, and keeps
// the trans flags and leading dimensions. The bias, per column of the
// row-major C, is then per row of cuBLASLt's D, which is what
// CUBLASLT_EPILOGUE_BIAS broadcasts.
#include "pzrt/cuda.h"

#include "core/internal.h"
#include "cuda/cublaslt.h"
#include "cuda/device_cuda.h"
#include "pzrt/error.h"

#include <climits>

using pzrt::fail;

namespace pzrt::cuda {
namespace {

const char *dtypeName(pzrt_dtype t) {
  switch (t) {
  case PZRT_F32:
    return "f32";
  case PZRT_F16:
    return "f16";
  case PZRT_BF16:
    return "bf16";
  default:
    return "an unsupported dtype";
  }
}

// The checks of pzrt_sgemm (cpu/gemm.cpp), then the CUDA-only ones. All run
// before any CUDA or cuBLASLt call, so they hold without a GPU.
int checkGemm(const char *fn, int ta, int tb, int64_t m, int64_t n, int64_t k, const void *a,
              int64_t lda, const void *b, int64_t ldb, pzrt_dtype inType, const void *c,
              int64_t ldc, pzrt_dtype outType, int epilogue, const void *bias,
              const void *workspace, size_t workspaceBytes) {
  if (pzrt::checkGemmArgs(fn, ta, tb, m, n, k, a, lda, b, ldb, c, ldc))
    return -1;
  // CUDA only: what cuBLASLt computes with CUBLAS_COMPUTE_32F.
  if (inType != PZRT_F32 && inType != PZRT_BF16 && inType != PZRT_F16)
    return fail("%s: inputs of %s; f32, bf16 or f16 only", fn, dtypeName(inType));
  if (outType != PZRT_F32 && outType != inType)
    return fail("%s: %s inputs with %s output; the output is f32 or the inputs' dtype", fn,
                dtypeName(inType), dtypeName(outType));
  if (m && n && k == 0)
    return fail("%s: k=0 is not supported on CUDA (cuBLASLt has no empty product)", fn);
  if (epilogue != PZRT_CUDA_EPILOGUE_NONE && epilogue != PZRT_CUDA_EPILOGUE_BIAS &&
      epilogue != PZRT_CUDA_EPILOGUE_GELU_BIAS)
    return fail("%s: unknown epilogue %d", fn, epilogue);
  if (epilogue != PZRT_CUDA_EPILOGUE_NONE && m && n && !bias)
    return fail("%s: the %s epilogue needs a bias vector", fn,
                epilogue == PZRT_CUDA_EPILOGUE_BIAS ? "bias" : "GELU-bias");
  if (epilogue == PZRT_CUDA_EPILOGUE_NONE && bias)
    return fail("%s: a bias vector without a bias epilogue", fn);
  if (workspaceBytes && !workspace)
    return fail("%s: a NULL workspace of %zu bytes", fn, workspaceBytes);
  return 0;
}

cudaDataType_t cudaType(pzrt_dtype t) {
  switch (t) {
  case PZRT_BF16:
    return CUDA_R_16BF;
  case PZRT_F16:
    return CUDA_R_16F;
  default:
    return CUDA_R_32F;
  }
}

// Destroys cuBLASLt descriptors when the call returns, whichever way.
struct Descriptors {
  const CublasLt &lt;
  cublasLtMatmulDesc_t op = nullptr;
  cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
  cublasLtMatmulPreference_t pref = nullptr;
  explicit Descriptors(const CublasLt &lt) : lt(lt) {}
  ~Descriptors() {
    if (pref)
      lt.cublasLtMatmulPreferenceDestroy(pref);
    for (cublasLtMatrixLayout_t l : {a, b, c})
      if (l)
        lt.cublasLtMatrixLayoutDestroy(l);
    if (op)
      lt.cublasLtMatmulDescDestroy(op);
  }
};

// The alignment cuBLASLt may assume of a matrix: the largest power of two up
// to 256 that divides its address and, in a batch, its stride in bytes.
// The heuristic assumes 256 unless told (CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*),
// and the memory plan's buffers, offsets into the arena, need not be.
uint32_t alignment(const void *p, int64_t strideBytes) {
  uint64_t bits = reinterpret_cast<uintptr_t>(p) | static_cast<uint64_t>(strideBytes) | 256;
  return static_cast<uint32_t>(bits & (~bits + 1));
}

// The device's cuBLASLt handle, created on first use.
cublasLtHandle_t handle(const CublasLt &lt, CudaDevice &device) {
  std::lock_guard<std::mutex> lock(device.ltMutex);
  if (!device.ltHandle) {
    cublasLtHandle_t h = nullptr;
    if (checkLt(lt, lt.cublasLtCreate(&h), "cublasLtCreate"))
      return nullptr;
    device.ltHandle = h;
  }
  return static_cast<cublasLtHandle_t>(device.ltHandle);
}

// A column-major layout of `rows` x `cols` (ld), batched when batch > 1.
int layout(const CublasLt &lt, cublasLtMatrixLayout_t &out, cudaDataType_t type, int64_t rows,
           int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
  if (checkLt(lt, lt.cublasLtMatrixLayoutCreate(&out, type, rows, cols, ld),
              "cublasLtMatrixLayoutCreate"))
    return -1;
  if (batch <= 1)
    return 0;
  int32_t count = static_cast<int32_t>(batch);
  return checkLt(lt,
                 lt.cublasLtMatrixLayoutSetAttribute(out, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                     &count, sizeof count),
                 "cublasLtMatrixLayoutSetAttribute(BATCH_COUNT)") ||
                 checkLt(lt,
                         lt.cublasLtMatrixLayoutSetAttribute(
                             out, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride,
                             sizeof stride),
                         "cublasLtMatrixLayoutSetAttribute(STRIDED_BATCH_OFFSET)")
             ? -1
             : 0;
}

int gemm(const char *fn, pzrt_stream *stream, int ta, int tb, int64_t m, int64_t n, int64_t k,
         float alpha, const void *a, int64_t lda, int64_t strideA, const void *b, int64_t ldb,
         int64_t strideB, pzrt_dtype inType, float beta, void *c, int64_t ldc, int64_t strideC,
         pzrt_dtype outType, int64_t batch, int epilogue, const void *bias, void *workspace,
         size_t workspaceBytes) {
  if (checkGemm(fn, ta, tb, m, n, k, a, lda, b, ldb, inType, c, ldc, outType, epilogue, bias,
                workspace, workspaceBytes))
    return -1;
  if (batch < 0 || strideA < 0 || strideB < 0 || strideC < 0)
    return fail("%s: negative batch or stride", fn);
  if (batch > INT_MAX)
    return fail("%s: batch=%lld is beyond INT_MAX", fn, (long long)batch);
  if (batch > 1 && strideC < m * ldc - (ldc - n))
    return fail("%s: stride_c=%lld makes output matrices overlap (needs >= %lld)", fn,
                (long long)strideC, (long long)(m * ldc - (ldc - n)));
  if (!stream)
    return fail("%s: no stream", fn);
  CudaDevice *device = asCuda(stream->device);
  if (!device)
    return fail("%s: the stream is not a CUDA device's (it is %s's)", fn,
                pzrt_device_name(stream->device));
  if (m == 0 || n == 0 || batch == 0)
    return 0;

  const CublasLt *lt = cublasLt();
  if (!lt)
    return fail("%s: %s", fn, pzrt_last_error());
  if (makeCurrent(*device))
    return -1;
  cublasLtHandle_t h = handle(*lt, *device);
  if (!h)
    return -1;

  Descriptors d(*lt);
  // C^T = op(B)^T op(A)^T, column-major (see the top of the file).
  cublasOperation_t opA = tb ? CUBLAS_OP_T : CUBLAS_OP_N; // cuBLASLt's A is our B
  cublasOperation_t opB = ta ? CUBLAS_OP_T : CUBLAS_OP_N; // and its B our A
  if (checkLt(*lt, lt->cublasLtMatmulDescCreate(&d.op, CUBLAS_COMPUTE_32F, CUDA_R_32F),
              "cublasLtMatmulDescCreate") ||
      checkLt(*lt,
              lt->cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSA, &opA,
                                                 sizeof opA),
              "cublasLtMatmulDescSetAttribute(TRANSA)") ||
      checkLt(*lt,
              lt->cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_TRANSB, &opB,
                                                 sizeof opB),
              "cublasLtMatmulDescSetAttribute(TRANSB)"))
    return -1;
  if (epilogue != PZRT_CUDA_EPILOGUE_NONE) {
    cublasLtEpilogue_t e =
        epilogue == PZRT_CUDA_EPILOGUE_BIAS ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_GELU_BIAS;
    // The bias has the output's dtype (cuBLASLt's default), stated anyway.
    int32_t biasType = cudaType(outType);
    if (checkLt(*lt,
                lt->cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_EPILOGUE, &e,
                                                   sizeof e),
                "cublasLtMatmulDescSetAttribute(EPILOGUE)") ||
        checkLt(*lt,
                lt->cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                   &bias, sizeof bias),
                "cublasLtMatmulDescSetAttribute(BIAS_POINTER)") ||
        checkLt(*lt,
                lt->cublasLtMatmulDescSetAttribute(d.op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                                                   &biasType, sizeof biasType),
                "cublasLtMatmulDescSetAttribute(BIAS_DATA_TYPE)"))
      return -1;
  }
  // Each layout is the stored matrix read column-major: a row-major r x c
  // matrix is a column-major c x r one.
  const cudaDataType_t in = cudaType(inType), out = cudaType(outType);
  const int64_t bRows = tb ? n : k, bCols = tb ? k : n; // stored B, row-major
  const int64_t aRows = ta ? k : m, aCols = ta ? m : k; // stored A, row-major
  if (layout(*lt, d.a, in, bCols, bRows, ldb, batch, strideB) ||
      layout(*lt, d.b, in, aCols, aRows, lda, batch, strideA) ||
      layout(*lt, d.c, out, n, m, ldc, batch, strideC))
    return -1;

  uint64_t maxWorkspace = workspaceBytes;
  if (checkLt(*lt, lt->cublasLtMatmulPreferenceCreate(&d.pref), "cublasLtMatmulPreferenceCreate") ||
      checkLt(*lt,
              lt->cublasLtMatmulPreferenceSetAttribute(
                  d.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &maxWorkspace,
                  sizeof maxWorkspace),
              "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)"))
    return -1;
  const int64_t inSize = static_cast<int64_t>(pzrt_dtype_size(inType));
  const int64_t outSize = static_cast<int64_t>(pzrt_dtype_size(outType));
  const int64_t many = batch > 1 ? 1 : 0; // strides matter only in a batch
  const struct {
    cublasLtMatmulPreferenceAttributes_t attr;
    uint32_t bytes;
    const char *call;
  } aligns[] = {
      // cuBLASLt's A is our B, and its B our A.
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, alignment(b, many * strideB * inSize),
       "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_A_BYTES)"},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, alignment(a, many * strideA * inSize),
       "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_B_BYTES)"},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, alignment(c, many * strideC * outSize),
       "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_C_BYTES)"},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, alignment(c, many * strideC * outSize),
       "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT_D_BYTES)"},
  };
  for (const auto &align : aligns)
    if (checkLt(*lt,
                lt->cublasLtMatmulPreferenceSetAttribute(d.pref, align.attr, &align.bytes,
                                                         sizeof align.bytes),
                align.call))
      return -1;
  cublasLtMatmulHeuristicResult_t result = {};
  int found = 0;
  if (checkLt(*lt,
              lt->cublasLtMatmulAlgoGetHeuristic(h, d.op, d.a, d.b, d.c, d.c, d.pref, 1, &result,
                                                 &found),
              "cublasLtMatmulAlgoGetHeuristic"))
    return -1;
  if (found == 0)
    return fail("%s: cuBLASLt has no algorithm for m=%lld n=%lld k=%lld (%s in, %s out, "
                "batch %lld, workspace %zu bytes)",
                fn, (long long)m, (long long)n, (long long)k, dtypeName(inType),
                dtypeName(outType), (long long)batch, workspaceBytes);
  // D = C: beta reads the output in place.
  return checkLt(*lt,
                 lt->cublasLtMatmul(h, d.op, &alpha, b, d.a, a, d.b, &beta, c, d.c, c, d.c,
                                    &result.algo, workspace, workspaceBytes,
                                    static_cast<cudaStream_t>(stream->handle)),
                 "cublasLtMatmul");
}

} // namespace
} // namespace pzrt::cuda

extern "C" {

int pzrt_cuda_gemm(pzrt_stream *stream, int trans_a, int trans_b, int64_t m, int64_t n,
                   int64_t k, float alpha, const void *a, int64_t lda, const void *b,
                   int64_t ldb, pzrt_dtype in_type, float beta, void *c, int64_t ldc,
                   pzrt_dtype out_type, int epilogue, const void *bias, void *workspace,
                   size_t workspace_bytes) {
  return pzrt::cuda::gemm("cuda_gemm", stream, trans_a, trans_b, m, n, k, alpha, a, lda, 0, b,
                          ldb, 0, in_type, beta, c, ldc, 0, out_type, 1, epilogue, bias,
                          workspace, workspace_bytes);
}

int pzrt_cuda_gemm_strided_batched(pzrt_stream *stream, int trans_a, int trans_b, int64_t m,
                                   int64_t n, int64_t k, float alpha, const void *a, int64_t lda,
                                   int64_t stride_a, const void *b, int64_t ldb,
                                   int64_t stride_b, pzrt_dtype in_type, float beta, void *c,
                                   int64_t ldc, int64_t stride_c, pzrt_dtype out_type,
                                   int64_t batch, int epilogue, const void *bias,
                                   void *workspace, size_t workspace_bytes) {
  return pzrt::cuda::gemm("cuda_gemm_strided_batched", stream, trans_a, trans_b, m, n, k, alpha,
                          a, lda, stride_a, b, ldb, stride_b, in_type, beta, c, ldc, stride_c,
                          out_type, batch, epilogue, bias, workspace, workspace_bytes);
}

} // extern "C"
