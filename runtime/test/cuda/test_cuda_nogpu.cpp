// The CUDA device's tests that need no GPU (ctest pzrt-cuda): the cuBLASLt
// loader's errors, the GEMM's argument checks (made before any CUDA call)
// and pzrt_device_cuda without a device.
#include "cuda/cublaslt.h"
#include "pzrt/cuda.h"
#include "pzrt/error.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

TEST(CudaLoader, MissingLibraryNamesItAndThePlacesSearched) {
  pzrt::cuda::CublasLt table;
  ASSERT_EQ(pzrt::cuda::loadCublasLt("libpzrt-no-such-cublasLt.so.13", table), -1);
  std::string msg = pzrt_last_error();
  EXPECT_NE(msg.find("cannot load libpzrt-no-such-cublasLt.so.13"), std::string::npos) << msg;
  // The bundled copy next to the executable, then dlopen's own search.
  EXPECT_NE(msg.find("/lib/libpzrt-no-such-cublasLt.so.13"), std::string::npos) << msg;
  EXPECT_NE(msg.find("LD_LIBRARY_PATH="), std::string::npos) << msg;
  EXPECT_EQ(table.cublasLtMatmul, nullptr);
}

TEST(CudaLoader, MissingSymbolNamesItAndTheLibrary) {
  // libm exists everywhere and has none of cuBLASLt's symbols.
  pzrt::cuda::CublasLt table;
  ASSERT_EQ(pzrt::cuda::loadCublasLt("libm.so.6", table), -1);
  std::string msg = pzrt_last_error();
  EXPECT_NE(msg.find("libm.so.6 has no symbol cublasLtCreate"), std::string::npos) << msg;
  EXPECT_EQ(table.cublasLtCreate, nullptr); // nothing half-filled
}

TEST(CudaLoader, EnvironmentVariableChoosesTheLibrary) {
  pzrt::cuda::forgetCublasLtForTest();
  setenv("PZRT_CUBLASLT_LIBRARY", "libpzrt-env-cublasLt.so.13", 1);
  EXPECT_EQ(pzrt_cuda_load_cublaslt(), -1);
  std::string msg = pzrt_last_error();
  unsetenv("PZRT_CUBLASLT_LIBRARY");
  EXPECT_NE(msg.find("cannot load libpzrt-env-cublasLt.so.13"), std::string::npos) << msg;
  pzrt::cuda::forgetCublasLtForTest();
}

// The real library, where the toolkit is installed: every symbol of the
// table resolves (no GPU needed to load it).
TEST(CudaLoader, LoadsTheToolkitsCublasLt) {
  pzrt::cuda::CublasLt table;
  if (pzrt::cuda::loadCublasLt(pzrt::cuda::kCublasLtLibrary, table) != 0)
    GTEST_SKIP() << "no libcublasLt.so.13 here: " << pzrt_last_error();
  EXPECT_NE(table.cublasLtMatmul, nullptr);
  EXPECT_NE(table.cublasLtMatmulAlgoGetHeuristic, nullptr);
  EXPECT_STREQ(table.cublasLtGetStatusName(CUBLAS_STATUS_NOT_SUPPORTED),
               "CUBLAS_STATUS_NOT_SUPPORTED");
}

TEST(CudaDevice, NoDeviceIsAClearError) {
  if (pzrt_cuda_device_count() > 0)
    GTEST_SKIP() << "a CUDA device is present";
  pzrt_clear_error();
  EXPECT_EQ(pzrt_device_cuda(0), nullptr);
  std::string msg = pzrt_last_error();
  EXPECT_NE(msg.find("pzrt_device_cuda(0): no CUDA device"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cudaGetDeviceCount"), std::string::npos) << msg;
}

TEST(CudaDevice, CpuDeviceIsNotCuda) {
  pzrt_device *cpu = pzrt_device_cpu();
  EXPECT_EQ(pzrt_device_is_cuda(cpu), 0);
  void *p = reinterpret_cast<void *>(1);
  EXPECT_EQ(pzrt_cuda_arena_alloc(cpu, 256, &p), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("not a CUDA device"), std::string::npos);
  // The CPU device's entry points still work on host memory.
  float x[4] = {1, 2, 3, 4}, y[4] = {};
  ASSERT_EQ(pzrt_device_write(cpu, y, x, sizeof x), 0);
  ASSERT_EQ(pzrt_device_read(cpu, x, y, sizeof x), 0);
  EXPECT_EQ(y[3], 4.0f);
  pzrt_stream *s = pzrt_stream_create(cpu);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(pzrt_stream_synchronize(s), 0);
  EXPECT_EQ(pzrt_cuda_stream_handle(s), nullptr);
  pzrt_stream_destroy(s);
}

// The CUDA backend's kernels launch on ctx->streams[0]; a context without a
// CUDA compute stream is an error, never the legacy default stream.
TEST(CudaDevice, ComputeStreamOfAStepContext) {
  EXPECT_EQ(pzrt_cuda_compute_stream(nullptr), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("no compute stream"), std::string::npos);
  pzrt_step_ctx ctx{};
  EXPECT_EQ(pzrt_cuda_compute_stream(&ctx), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("no compute stream"), std::string::npos);
  pzrt_stream *s = pzrt_stream_create(pzrt_device_cpu());
  ASSERT_NE(s, nullptr);
  pzrt_stream *const streams[] = {s};
  ctx.num_streams = 1;
  ctx.streams = streams;
  EXPECT_EQ(pzrt_cuda_compute_stream(&ctx), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("not a CUDA device's"), std::string::npos);
  pzrt_stream_destroy(s);
}

// A GEMM call's error, made with no stream: the argument checks must fire
// before the stream is even looked at, let alone CUDA.
struct Gemm {
  int ta = 0, tb = 0;
  int64_t m = 4, n = 3, k = 2, lda = 2, ldb = 3, ldc = 3;
  pzrt_dtype in = PZRT_F32, out = PZRT_F32;
  int epilogue = PZRT_CUDA_EPILOGUE_NONE;
  const void *bias = nullptr;
  void *workspace = nullptr;
  size_t workspaceBytes = 0;
  pzrt_stream *stream = nullptr;
  int64_t batch = 1, strideC = 12;
  std::string error(bool batched = false) const {
    static float buf[64];
    int rc = batched ? pzrt_cuda_gemm_strided_batched(stream, ta, tb, m, n, k, 1.0f, buf, lda, 0,
                                                      buf, ldb, 0, in, 0.0f, buf, ldc, strideC,
                                                      out, batch, epilogue, bias, workspace,
                                                      workspaceBytes)
                     : pzrt_cuda_gemm(stream, ta, tb, m, n, k, 1.0f, buf, lda, buf, ldb, in,
                                      0.0f, buf, ldc, out, epilogue, bias, workspace,
                                      workspaceBytes);
    return rc == 0 ? "(succeeded)" : pzrt_last_error();
  }
};

TEST(CudaGemmChecks, SizesAndLeadingDimensionsAsOnTheCpu) {
  Gemm g;
  g.k = -1;
  EXPECT_NE(g.error().find("cuda_gemm: negative size m=4 n=3 k=-1"), std::string::npos);
  g = Gemm();
  g.lda = 1;
  EXPECT_NE(g.error().find("lda=1 is smaller than the 2 columns of A"), std::string::npos);
  g = Gemm();
  g.ta = 1; // A stored k x m: 4 columns
  EXPECT_NE(g.error().find("lda=2 is smaller than the 4 columns of A (stored transposed)"),
            std::string::npos);
  g = Gemm();
  g.tb = 1, g.ldb = 1;
  EXPECT_NE(g.error().find("ldb=1 is smaller than the 2 columns of B (stored transposed)"),
            std::string::npos);
  g = Gemm();
  g.ldc = 2;
  EXPECT_NE(g.error().find("ldc=2 is smaller than n=3"), std::string::npos);
  g = Gemm();
  g.m = int64_t(1) << 31;
  EXPECT_NE(g.error().find("beyond INT_MAX"), std::string::npos);
}

TEST(CudaGemmChecks, NullMatrices) {
  float c[12] = {};
  EXPECT_EQ(pzrt_cuda_gemm(nullptr, 0, 0, 4, 3, 2, 1.0f, nullptr, 2, c, 3, PZRT_F32, 0.0f, c, 3,
                           PZRT_F32, 0, nullptr, nullptr, 0),
            -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("NULL matrix pointer"), std::string::npos);
}

TEST(CudaGemmChecks, DtypesEpiloguesAndWorkspace) {
  Gemm g;
  g.in = PZRT_I32;
  EXPECT_NE(g.error().find("f32, bf16 or f16 only"), std::string::npos) << g.error();
  g = Gemm();
  g.in = PZRT_BF16, g.out = PZRT_F16;
  EXPECT_NE(g.error().find("bf16 inputs with f16 output"), std::string::npos) << g.error();
  g = Gemm();
  g.in = PZRT_F32, g.out = PZRT_BF16;
  EXPECT_NE(g.error().find("f32 inputs with bf16 output"), std::string::npos) << g.error();
  g = Gemm();
  g.k = 0;
  EXPECT_NE(g.error().find("k=0 is not supported on CUDA"), std::string::npos);
  g = Gemm();
  g.epilogue = 7;
  EXPECT_NE(g.error().find("unknown epilogue 7"), std::string::npos);
  g = Gemm();
  g.epilogue = PZRT_CUDA_EPILOGUE_GELU_BIAS;
  EXPECT_NE(g.error().find("the GELU-bias epilogue needs a bias vector"), std::string::npos);
  g = Gemm();
  static float bias[3];
  g.bias = bias;
  EXPECT_NE(g.error().find("a bias vector without a bias epilogue"), std::string::npos);
  g = Gemm();
  g.workspaceBytes = PZRT_CUDA_GEMM_WORKSPACE_BYTES;
  EXPECT_NE(g.error().find("a NULL workspace of 33554432 bytes"), std::string::npos);
}

TEST(CudaGemmChecks, BatchAndStrides) {
  Gemm g;
  g.batch = -1;
  EXPECT_NE(g.error(true).find("cuda_gemm_strided_batched: negative batch or stride"),
            std::string::npos);
  g = Gemm();
  g.batch = 2, g.strideC = 11;
  EXPECT_NE(g.error(true).find("stride_c=11 makes output matrices overlap (needs >= 12)"),
            std::string::npos)
      << g.error(true);
}

TEST(CudaGemmChecks, StreamComesAfterTheArguments) {
  Gemm g;
  EXPECT_NE(g.error().find("cuda_gemm: no stream"), std::string::npos) << g.error();
  pzrt_stream *cpu = pzrt_stream_create(pzrt_device_cpu());
  g.stream = cpu;
  EXPECT_NE(g.error().find("the stream is not a CUDA device's (it is cpu's)"), std::string::npos)
      << g.error();
  pzrt_stream_destroy(cpu);
}

} // namespace
