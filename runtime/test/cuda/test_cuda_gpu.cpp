// The CUDA device's tests that need a GPU (ctest pzrt-cuda-gpu, label gpu).
// Each skips where cudaGetDeviceCount finds no device.
#include "pzrt/cuda.h"
#include "pzrt/error.h"
#include "pzrt/types.h"

#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

#define SKIP_WITHOUT_GPU()                                                                         \
  do {                                                                                             \
    if (pzrt_cuda_device_count() == 0)                                                             \
      GTEST_SKIP() << "no CUDA device: " << pzrt_last_error();                                     \
  } while (0)

// A device buffer of the arena allocation, freed at scope exit.
struct DeviceBuffer {
  pzrt_device *device;
  void *ptr = nullptr;
  DeviceBuffer(pzrt_device *device, size_t bytes) : device(device) {
    EXPECT_EQ(pzrt_cuda_arena_alloc(device, bytes, &ptr), 0) << pzrt_last_error();
  }
  ~DeviceBuffer() { pzrt_cuda_free(device, ptr); }
};

TEST(CudaGpuDevice, ReadWriteRoundTrip) {
  SKIP_WITHOUT_GPU();
  pzrt_device *dev = pzrt_device_cuda(0);
  ASSERT_NE(dev, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_device_is_cuda(dev), 1);
  EXPECT_EQ(std::string(pzrt_device_name(dev)).rfind("cuda:0 (", 0), 0u);
  EXPECT_EQ(pzrt_device_cuda(0), dev); // one per ordinal
  EXPECT_EQ(pzrt_device_cuda(pzrt_cuda_device_count()), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("no such device"), std::string::npos);

  const size_t n = (1 << 20) + 3; // not a multiple of anything
  DeviceBuffer buf(dev, n * sizeof(float));
  ASSERT_NE(buf.ptr, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(buf.ptr) % 256, 0u);
  std::vector<float> in(n), out(n, -1.0f);
  for (size_t i = 0; i < n; ++i)
    in[i] = static_cast<float>(i) * 0.5f;
  ASSERT_EQ(pzrt_device_write(dev, buf.ptr, in.data(), n * sizeof(float)), 0)
      << pzrt_last_error();
  ASSERT_EQ(pzrt_device_read(dev, out.data(), buf.ptr, n * sizeof(float)), 0)
      << pzrt_last_error();
  EXPECT_EQ(std::memcmp(in.data(), out.data(), n * sizeof(float)), 0);
  // An offset into the arena, as the plan's buffers are.
  float x = 0;
  ASSERT_EQ(pzrt_device_read(dev, &x, static_cast<float *>(buf.ptr) + 1001, sizeof x), 0);
  EXPECT_EQ(x, 500.5f);
}

TEST(CudaGpuDevice, ErrorsNameTheCall) {
  SKIP_WITHOUT_GPU();
  pzrt_device *dev = pzrt_device_cuda(0);
  ASSERT_NE(dev, nullptr);
  void *p = nullptr;
  // More than any GPU has: cudaMalloc fails, and says so.
  EXPECT_EQ(pzrt_cuda_arena_alloc(dev, size_t(1) << 60, &p), -1);
  std::string msg = pzrt_last_error();
  EXPECT_NE(msg.find("cudaMalloc of the arena's"), std::string::npos) << msg;
  EXPECT_NE(msg.find("cudaErrorMemoryAllocation"), std::string::npos) << msg;
  // The error is not sticky: the device still works.
  DeviceBuffer ok(dev, 1024);
  EXPECT_NE(ok.ptr, nullptr);
}

TEST(CudaGpuDevice, StreamsAndEvents) {
  SKIP_WITHOUT_GPU();
  pzrt_device *dev = pzrt_device_cuda(0);
  ASSERT_NE(dev, nullptr);
  const size_t bytes = 64 << 20; // long enough that ordering matters
  DeviceBuffer x(dev, bytes), y(dev, bytes), z(dev, bytes);
  std::vector<uint8_t> in(bytes), out(bytes);
  for (size_t i = 0; i < bytes; ++i)
    in[i] = static_cast<uint8_t>(i * 7 + 3);
  ASSERT_EQ(pzrt_device_write(dev, x.ptr, in.data(), bytes), 0);

  pzrt_stream *compute = pzrt_stream_create(dev), *comm = pzrt_stream_create(dev);
  ASSERT_TRUE(compute && comm) << pzrt_last_error();
  auto handle = [](pzrt_stream *s) {
    return static_cast<cudaStream_t>(pzrt_cuda_stream_handle(s));
  };
  ASSERT_NE(handle(compute), nullptr);
  ASSERT_NE(handle(compute), handle(comm));
  pzrt_cuda_event *done = pzrt_cuda_event_create(dev);
  ASSERT_NE(done, nullptr) << pzrt_last_error();

  // compute: x -> y; comm waits for it, then y -> z.
  ASSERT_EQ(cudaMemcpyAsync(y.ptr, x.ptr, bytes, cudaMemcpyDeviceToDevice, handle(compute)),
            cudaSuccess);
  ASSERT_EQ(pzrt_cuda_event_record(done, compute), 0) << pzrt_last_error();
  ASSERT_EQ(pzrt_cuda_stream_wait_event(comm, done), 0) << pzrt_last_error();
  ASSERT_EQ(cudaMemcpyAsync(z.ptr, y.ptr, bytes, cudaMemcpyDeviceToDevice, handle(comm)),
            cudaSuccess);
  ASSERT_EQ(pzrt_stream_synchronize(comm), 0) << pzrt_last_error();
  EXPECT_EQ(pzrt_cuda_event_query(done), 1);
  ASSERT_EQ(pzrt_cuda_event_synchronize(done), 0);
  ASSERT_EQ(pzrt_device_read(dev, out.data(), z.ptr, bytes), 0);
  EXPECT_EQ(std::memcmp(in.data(), out.data(), bytes), 0);

  pzrt_cuda_event_destroy(done);
  pzrt_stream_destroy(comm);
  pzrt_stream_destroy(compute);
}

// ---- the GEMM against a host reference ----

float roundTo(pzrt_dtype t, float x) {
  switch (t) {
  case PZRT_BF16:
    return pzrt_bf16_to_f32(pzrt_f32_to_bf16(x));
  case PZRT_F16:
    return pzrt_f16_to_f32(pzrt_f32_to_f16(x));
  default:
    return x;
  }
}

// Host values (already representable in `t`) as t's bytes, and back.
std::vector<uint8_t> encode(pzrt_dtype t, const std::vector<float> &v) {
  std::vector<uint8_t> out(v.size() * pzrt_dtype_size(t));
  if (t == PZRT_F32)
    std::memcpy(out.data(), v.data(), out.size());
  else
    EXPECT_EQ(pzrt_narrow_from_f32(t, v.data(), out.data(), static_cast<int64_t>(v.size())), 0);
  return out;
}
std::vector<float> decode(pzrt_dtype t, const std::vector<uint8_t> &bytes) {
  std::vector<float> out(bytes.size() / pzrt_dtype_size(t));
  if (t == PZRT_F32)
    std::memcpy(out.data(), bytes.data(), bytes.size());
  else
    EXPECT_EQ(pzrt_widen_to_f32(t, bytes.data(), out.data(), static_cast<int64_t>(out.size())),
              0);
  return out;
}

double geluTanh(double v) {
  return 0.5 * v * (1.0 + std::tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));
}

struct Case {
  int ta = 0, tb = 0;
  int64_t m = 37, n = 29, k = 64, pad = 3; // ld = columns + pad
  float alpha = 0.75f, beta = 0.5f;
  pzrt_dtype in = PZRT_F32, out = PZRT_F32;
  int epilogue = PZRT_CUDA_EPILOGUE_NONE;
  int64_t batch = 1; // > 1: the strided-batched call, B broadcast when broadcastB
  bool broadcastB = false;
  int64_t offset = 0; // elements: A, B and C start this far into their buffers
};

std::string describe(const Case &c) {
  return "ta=" + std::to_string(c.ta) + " tb=" + std::to_string(c.tb) + " in=" +
         std::to_string(c.in) + " out=" + std::to_string(c.out) + " epilogue=" +
         std::to_string(c.epilogue) + " batch=" + std::to_string(c.batch);
}

// Runs one GEMM on the device and checks every element against a double
// reference on the same (rounded) inputs. The tolerance, per element:
//   tol x (sum_p |a_ip b_pj| x |alpha| + |beta c_ij| + |bias_j|)
// where tol = 1e-5: fp32 accumulation of k <= 128 exact products, in any
// order, errs by at most about k x 2^-24 <= 7.6e-6 of that scale (the
// products of bf16 or f16 inputs are exact in fp32, so the same bound holds
// for them; a 16-bit accumulator would miss it by orders of magnitude). A
// bf16 or f16 output adds its one rounding, 2^-8 (bf16) or 2^-11 (f16) of
// |ref|. GELU: its slope is at most 1.13, so the input's error passes about
// as is; its tanh may be the hardware's approximation (tanh.approx.f32,
// relative error about 2^-11), which moves 0.5 v tanh(.) by up to
// 0.5 |v| 2^-11: 0.5 |v| 2^-10 more. A wrong layout or bias errs by O(1).
void runCase(const Case &c) {
  SCOPED_TRACE(describe(c));
  pzrt_device *dev = pzrt_device_cuda(0);
  ASSERT_NE(dev, nullptr);
  const int64_t aRows = c.ta ? c.k : c.m, aCols = c.ta ? c.m : c.k;
  const int64_t bRows = c.tb ? c.n : c.k, bCols = c.tb ? c.k : c.n;
  const int64_t lda = aCols + c.pad, ldb = bCols + c.pad, ldc = c.n + c.pad;
  const int64_t strideA = aRows * lda, strideB = c.broadcastB ? 0 : bRows * ldb,
                strideC = c.m * ldc;
  const int64_t batchB = c.broadcastB ? 1 : c.batch;
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto fill = [&](size_t n, pzrt_dtype t) {
    std::vector<float> v(n);
    for (float &x : v)
      x = roundTo(t, u(rng));
    return v;
  };
  std::vector<float> a = fill(strideA * c.batch, c.in), b = fill(bRows * ldb * batchB, c.in),
                     c0 = fill(strideC * c.batch, c.out), bias = fill(c.n, c.out);

  pzrt_stream *stream = pzrt_stream_create(dev);
  ASSERT_NE(stream, nullptr);
  std::vector<uint8_t> aBytes = encode(c.in, a), bBytes = encode(c.in, b),
                       cBytes = encode(c.out, c0), biasBytes = encode(c.out, bias);
  const size_t inSize = pzrt_dtype_size(c.in), outSize = pzrt_dtype_size(c.out);
  const size_t inOff = c.offset * inSize, outOff = c.offset * outSize;
  DeviceBuffer dA(dev, aBytes.size() + inOff), dB(dev, bBytes.size() + inOff),
      dC(dev, cBytes.size() + outOff), dBias(dev, biasBytes.size()),
      work(dev, PZRT_CUDA_GEMM_WORKSPACE_BYTES);
  char *pA = static_cast<char *>(dA.ptr) + inOff, *pB = static_cast<char *>(dB.ptr) + inOff,
       *pC = static_cast<char *>(dC.ptr) + outOff;
  ASSERT_EQ(pzrt_device_write(dev, pA, aBytes.data(), aBytes.size()), 0);
  ASSERT_EQ(pzrt_device_write(dev, pB, bBytes.data(), bBytes.size()), 0);
  ASSERT_EQ(pzrt_device_write(dev, pC, cBytes.data(), cBytes.size()), 0);
  ASSERT_EQ(pzrt_device_write(dev, dBias.ptr, biasBytes.data(), biasBytes.size()), 0);
  const void *biasPtr = c.epilogue == PZRT_CUDA_EPILOGUE_NONE ? nullptr : dBias.ptr;
  int rc = c.batch == 1
               ? pzrt_cuda_gemm(stream, c.ta, c.tb, c.m, c.n, c.k, c.alpha, pA, lda, pB, ldb,
                                c.in, c.beta, pC, ldc, c.out, c.epilogue, biasPtr, work.ptr,
                                PZRT_CUDA_GEMM_WORKSPACE_BYTES)
               : pzrt_cuda_gemm_strided_batched(
                     stream, c.ta, c.tb, c.m, c.n, c.k, c.alpha, pA, lda, strideA, pB, ldb,
                     strideB, c.in, c.beta, pC, ldc, strideC, c.out, c.batch, c.epilogue,
                     biasPtr, work.ptr, PZRT_CUDA_GEMM_WORKSPACE_BYTES);
  ASSERT_EQ(rc, 0) << pzrt_last_error();
  ASSERT_EQ(pzrt_stream_synchronize(stream), 0) << pzrt_last_error();
  ASSERT_EQ(pzrt_device_read(dev, cBytes.data(), pC, cBytes.size()), 0);
  pzrt_stream_destroy(stream);
  std::vector<float> got = decode(c.out, cBytes);

  const double outRound = c.out == PZRT_BF16 ? 1.0 / 256 : c.out == PZRT_F16 ? 1.0 / 2048 : 0.0;
  int bad = 0;
  for (int64_t bi = 0; bi < c.batch; ++bi)
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = 0; j < c.n; ++j) {
        double sum = 0, scale = 0;
        for (int64_t p = 0; p < c.k; ++p) {
          double x = a[bi * strideA + (c.ta ? p * lda + i : i * lda + p)];
          double y = b[bi * strideB + (c.tb ? j * ldb + p : p * ldb + j)];
          sum += x * y;
          scale += std::fabs(x * y);
        }
        double cOld = c0[bi * strideC + i * ldc + j];
        double ref = c.alpha * sum + c.beta * cOld;
        scale = std::fabs(c.alpha) * scale + std::fabs(c.beta * cOld);
        if (c.epilogue != PZRT_CUDA_EPILOGUE_NONE) {
          ref += bias[j];
          scale += std::fabs(bias[j]);
        }
        double tol = 1e-5 * scale;
        if (c.epilogue == PZRT_CUDA_EPILOGUE_GELU_BIAS) {
          tol = 1.13 * tol + 0.5 * std::fabs(ref) / 1024;
          ref = geluTanh(ref);
        }
        tol += outRound * std::fabs(ref);
        double v = got[bi * strideC + i * ldc + j];
        if (!(std::fabs(v - ref) <= tol) && bad++ < 5)
          ADD_FAILURE() << "C[" << bi << "][" << i << "][" << j << "] = " << v << ", expected "
                        << ref << " within " << tol;
      }
  EXPECT_EQ(bad, 0);
  // The padding between rows is untouched.
  for (int64_t bi = 0; bi < c.batch; ++bi)
    for (int64_t i = 0; i < c.m; ++i)
      for (int64_t j = c.n; j < ldc; ++j)
        EXPECT_EQ(got[bi * strideC + i * ldc + j], c0[bi * strideC + i * ldc + j]);
}

TEST(CudaGpuGemm, F32AllTransposes) {
  SKIP_WITHOUT_GPU();
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      Case c;
      c.ta = ta, c.tb = tb;
      runCase(c);
    }
}

TEST(CudaGpuGemm, Bf16AndF16InputsFp32Accumulation) {
  SKIP_WITHOUT_GPU();
  for (pzrt_dtype in : {PZRT_BF16, PZRT_F16})
    for (pzrt_dtype out : {PZRT_F32, in})
      for (int t = 0; t < 2; ++t) {
        Case c;
        c.in = in, c.out = out, c.ta = t, c.tb = 1 - t;
        c.k = 128; // long sums: fp32 accumulation, not 16-bit, passes 1e-5
        runCase(c);
      }
}

TEST(CudaGpuGemm, StridedBatched) {
  SKIP_WITHOUT_GPU();
  Case c;
  c.batch = 3;
  runCase(c);
  c.broadcastB = true; // one weight for every matrix, as in a batched linear
  c.tb = 1;
  runCase(c);
  c.in = c.out = PZRT_BF16;
  c.ta = 1;
  runCase(c);
}

// Buffers of the memory plan are offsets into the arena, not 256-byte
// aligned: the heuristic is told each matrix's alignment.
TEST(CudaGpuGemm, UnalignedMatrices) {
  SKIP_WITHOUT_GPU();
  for (pzrt_dtype in : {PZRT_F32, PZRT_BF16}) {
    Case c;
    c.in = c.out = in;
    c.offset = 1; // 4 or 2 bytes past the allocation's 256-byte boundary
    runCase(c);
    c.batch = 2, c.pad = 1; // odd strides too
    runCase(c);
  }
}

TEST(CudaGpuGemm, BiasAndGeluEpilogues) {
  SKIP_WITHOUT_GPU();
  for (int epilogue : {PZRT_CUDA_EPILOGUE_BIAS, PZRT_CUDA_EPILOGUE_GELU_BIAS})
    for (pzrt_dtype in : {PZRT_F32, PZRT_BF16}) {
      Case c;
      c.epilogue = epilogue, c.in = in, c.tb = 1;
      c.beta = 0.0f; // a linear layer's forward
      runCase(c);
      c.out = in;
      c.batch = 2, c.broadcastB = true;
      runCase(c);
    }
}

TEST(CudaGpuGemm, EmptyShapesDoNothing) {
  SKIP_WITHOUT_GPU();
  pzrt_device *dev = pzrt_device_cuda(0);
  pzrt_stream *stream = pzrt_stream_create(dev);
  EXPECT_EQ(pzrt_cuda_gemm(stream, 0, 0, 0, 3, 2, 1.0f, nullptr, 2, nullptr, 3, PZRT_F32, 0.0f,
                           nullptr, 3, PZRT_F32, 0, nullptr, nullptr, 0),
            0)
      << pzrt_last_error();
  pzrt_stream_destroy(stream);
}

} // namespace
