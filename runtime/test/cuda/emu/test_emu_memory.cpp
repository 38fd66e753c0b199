// The host emulator's device memory (src/cuda/emu/protect.cpp): cudaMalloc's
// memory is out of the host's reach except for the emulated device's own
// work, so host code that dereferences a device pointer (fine on host
// memory, a fault on a GPU) dies here too. Emulator-only (ctest
// pzrt-cuda-emu-unit).
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <unistd.h>
#include <vector>

namespace {

bool protectionOn() {
  const char *env = std::getenv("PZRT_EMU_PROTECT");
  return !(env && std::strcmp(env, "0") == 0);
}

TEST(CudaEmuMemory, DeviceWorkReachesDeviceMemory) {
  constexpr size_t n = 3000; // not a whole page
  unsigned char *d = nullptr, *e = nullptr;
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void **>(&d), n), cudaSuccess);
  ASSERT_EQ(cudaMalloc(reinterpret_cast<void **>(&e), n), cudaSuccess);
  // Whole pages of its own: the protection covers nothing else.
  EXPECT_EQ(reinterpret_cast<uintptr_t>(d) % static_cast<uintptr_t>(sysconf(_SC_PAGESIZE)), 0u);
  ASSERT_EQ(cudaMemset(d, 7, n), cudaSuccess);
  std::vector<unsigned char> host(n), back(n);
  ASSERT_EQ(cudaMemcpy(host.data(), d, n, cudaMemcpyDeviceToHost), cudaSuccess);
  EXPECT_EQ(host, std::vector<unsigned char>(n, 7));
  for (size_t i = 0; i < n; ++i)
    host[i] = static_cast<unsigned char>(i * 31);
  ASSERT_EQ(cudaMemcpy(d, host.data(), n, cudaMemcpyHostToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(e, d, n, cudaMemcpyDeviceToDevice), cudaSuccess);
  ASSERT_EQ(cudaMemcpy(back.data(), e, n, cudaMemcpyDefault), cudaSuccess);
  EXPECT_EQ(back, host);
  EXPECT_EQ(cudaFree(d), cudaSuccess);
  EXPECT_EQ(cudaFree(e), cudaSuccess);
}

using CudaEmuMemoryDeathTest = ::testing::Test;

TEST(CudaEmuMemoryDeathTest, HostAccessToDeviceMemoryFaults) {
  if (!protectionOn())
    GTEST_SKIP() << "PZRT_EMU_PROTECT=0";
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  // A read and a write, after device work on the buffer (which must leave
  // it protected again).
  EXPECT_EXIT(
      {
        void *d = nullptr;
        float one = 1;
        if (cudaMalloc(&d, 4) != cudaSuccess ||
            cudaMemcpy(d, &one, 4, cudaMemcpyHostToDevice) != cudaSuccess)
          std::exit(2);
        std::exit(static_cast<int>(*static_cast<volatile float *>(d)));
      },
      ::testing::KilledBySignal(SIGSEGV), "");
  EXPECT_EXIT(
      {
        void *d = nullptr;
        if (cudaMalloc(&d, 1 << 20) != cudaSuccess || cudaMemset(d, 0, 1 << 20) != cudaSuccess)
          std::exit(2);
        static_cast<volatile char *>(d)[12345] = 1;
        std::exit(0);
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}

TEST(CudaEmuMemory, ManagedAndPinnedMemoryStayReachable) {
  int *m = nullptr, *h = nullptr;
  ASSERT_EQ(cudaMallocManaged(reinterpret_cast<void **>(&m), 64 * sizeof(int)), cudaSuccess);
  ASSERT_EQ(cudaMallocHost(reinterpret_cast<void **>(&h), 64 * sizeof(int)), cudaSuccess);
  for (int i = 0; i < 64; ++i)
    h[i] = i;
  ASSERT_EQ(cudaMemcpy(m, h, 64 * sizeof(int), cudaMemcpyDefault), cudaSuccess);
  for (int i = 0; i < 64; ++i)
    EXPECT_EQ(m[i], i);
  EXPECT_EQ(cudaFree(m), cudaSuccess);
  EXPECT_EQ(cudaFreeHost(h), cudaSuccess);
}

TEST(CudaEmuMemory, MemGetInfoCountsLiveAllocations) {
  size_t free0 = 0, total = 0, free1 = 0, free2 = 0;
  ASSERT_EQ(cudaMemGetInfo(&free0, &total), cudaSuccess);
  void *d = nullptr, *m = nullptr;
  ASSERT_EQ(cudaMalloc(&d, 1 << 20), cudaSuccess);
  ASSERT_EQ(cudaMallocManaged(&m, 1 << 16), cudaSuccess);
  ASSERT_EQ(cudaMemGetInfo(&free1, &total), cudaSuccess);
  EXPECT_EQ(free0 - free1, size_t(1 << 20) + (1 << 16));
  EXPECT_EQ(cudaFree(d), cudaSuccess);
  EXPECT_EQ(cudaFree(m), cudaSuccess);
  ASSERT_EQ(cudaMemGetInfo(&free2, &total), cudaSuccess);
  EXPECT_EQ(free2, free0);
}

} // namespace
