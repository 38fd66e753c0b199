// Helpers of the CUDA kernel tests (test_cuda_kernels*.cpp): a step context on
// CUDA device 0, device buffers filled from and read into host vectors, and
// element-wise comparisons with written tolerances. The same tests build
// against the real CUDA runtime (pzrt_cuda: skipped without a GPU) and
// against the host emulator (pzrt_cuda_emu).
#ifndef PZRT_TEST_CUDA_KERNEL_TEST_UTIL_H
#define PZRT_TEST_CUDA_KERNEL_TEST_UTIL_H

#include "pzrt/cuda.h"
#include "pzrt/cuda_kernels.h"
#include "pzrt/error.h"
#include "pzrt/exec.h"
#include "pzrt/kernels.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace kt {

// A device buffer of n elements of T, freed at scope exit.
template <class T> struct Dev {
  pzrt_device *device = nullptr;
  void *ptr = nullptr;
  size_t n = 0;
  Dev(pzrt_device *d, size_t count) : device(d), n(count) {
    if (n) {
      EXPECT_EQ(pzrt_cuda_arena_alloc(device, n * sizeof(T), &ptr), 0) << pzrt_last_error();
    }
  }
  Dev(pzrt_device *d, const std::vector<T> &host) : Dev(d, host.size()) { write(host); }
  Dev(const Dev &) = delete;
  Dev &operator=(const Dev &) = delete;
  ~Dev() {
    if (ptr)
      pzrt_cuda_free(device, ptr);
  }
  T *get() const { return static_cast<T *>(ptr); }
  void write(const std::vector<T> &host) {
    ASSERT_EQ(host.size(), n);
    if (n) {
      ASSERT_EQ(pzrt_device_write(device, ptr, host.data(), n * sizeof(T)), 0)
          << pzrt_last_error();
    }
  }
  // Reads the buffer back (pzrt_device_read waits for the device's work).
  std::vector<T> read() const {
    std::vector<T> host(n);
    if (n) {
      EXPECT_EQ(pzrt_device_read(device, host.data(), ptr, n * sizeof(T)), 0)
          << pzrt_last_error();
    }
    return host;
  }
};

// A step context whose compute stream is a stream of CUDA device 0. Tests
// skip where there is no CUDA device (a real runtime without a GPU).
class CudaKernels : public ::testing::Test {
protected:
  void SetUp() override {
    if (pzrt_cuda_device_count() == 0)
      GTEST_SKIP() << "no CUDA device: " << pzrt_last_error();
    dev = pzrt_device_cuda(0);
    ASSERT_NE(dev, nullptr) << pzrt_last_error();
    stream = pzrt_stream_create(dev);
    ASSERT_NE(stream, nullptr) << pzrt_last_error();
    std::memset(&ctx, 0, sizeof ctx);
    ctx.device = dev;
    ctx.num_streams = 1;
    ctx.streams = &stream;
  }
  void TearDown() override {
    if (stream)
      pzrt_stream_destroy(stream);
  }
  pzrt_device *dev = nullptr;
  pzrt_stream *stream = nullptr;
  pzrt_step_ctx ctx;
};

inline std::vector<float> randn(size_t n, uint32_t seed, float mean = 0.0f, float sd = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> d(mean, sd);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(gen);
  return v;
}

inline std::vector<float> uniform(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float &x : v)
    x = d(gen);
  return v;
}

inline uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Expects |got[i] - ref[i]| <= tol(i) for every i (NaN where ref is NaN,
// the same infinity where it is infinite);
// reports the first few misses by index.
inline void expectNear(const std::vector<float> &got, const std::vector<float> &ref,
                       const std::function<double(size_t)> &tol, const std::string &what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  int misses = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    bool ok = std::isnan(ref[i])   ? std::isnan(got[i])
              : std::isinf(ref[i]) ? got[i] == ref[i]
                                   : std::fabs(double(got[i]) - double(ref[i])) <= tol(i);
    if (!ok && ++misses <= 5)
      ADD_FAILURE() << what << "[" << i << "]: got " << got[i] << ", CPU " << ref[i]
                    << ", tolerance " << tol(i);
  }
  EXPECT_EQ(misses, 0) << what << ": " << misses << " of " << ref.size() << " elements";
}

// Expects the same bits (each NaN compared by its bits too).
inline void expectBitEqual(const std::vector<float> &got, const std::vector<float> &ref,
                           const std::string &what) {
  ASSERT_EQ(got.size(), ref.size()) << what;
  int misses = 0;
  for (size_t i = 0; i < ref.size(); ++i)
    if (bitsOf(got[i]) != bitsOf(ref[i]) && ++misses <= 5)
      ADD_FAILURE() << what << "[" << i << "]: got " << got[i] << " (0x" << std::hex
                    << bitsOf(got[i]) << "), CPU " << ref[i] << " (0x" << bitsOf(ref[i])
                    << std::dec << ")";
  EXPECT_EQ(misses, 0) << what << ": " << misses << " of " << ref.size() << " elements";
}

} // namespace kt

#endif // PZRT_TEST_CUDA_KERNEL_TEST_UTIL_H
