// The emulator exposes a missing barrier: alternate blocks run their
// threads in opposite orders (0019), so a read of another thread's write
// without __syncthreads sees a stale value in one of them.
#include "selftest.h"

#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <vector>

namespace {

TEST(CudaEmuOrder, AMissingBarrierReadsStaleValues) {
  if (!pz_selftest::emulated())
    GTEST_SKIP() << "checks the emulator itself (on a GPU the planted race is unpredictable)";
  const int blocks = 4, threads = 64;
  int *seen = nullptr;
  ASSERT_EQ(cudaMalloc(&seen, sizeof(int) * blocks * threads), cudaSuccess);
  ASSERT_EQ(pz_selftest::missingBarrier(seen, blocks, threads), cudaSuccess);
  std::vector<int> host(blocks * threads);
  ASSERT_EQ(cudaMemcpy(host.data(), seen, sizeof(int) * host.size(), cudaMemcpyDeviceToHost),
            cudaSuccess);
  cudaFree(seen);
  int stale = 0;
  for (int b = 0; b < blocks; ++b)
    for (int t = 1; t < threads; ++t)
      stale += host[b * threads + t] != b + 1;
  // Blocks 1 and 3 run thread 0 last: their 63 other threads read before
  // the write. Blocks 0 and 2 run it first and read the right value.
  EXPECT_EQ(stale, 2 * (threads - 1));
}

} // namespace
