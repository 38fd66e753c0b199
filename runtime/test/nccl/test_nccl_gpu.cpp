// The NCCL communicator on GPUs (ctest label "gpu"). Every test skips where
// cudaGetDeviceCount reports no device, so the suite passes, untested, on
// machines without one. One GPU: a 1-rank communicator in this process. Two
// or more: one probe process per GPU, bootstrapped over the TCP rendezvous
// (and over MPI when mpirun is there), checking every collective against
// values computed on the host, and a timeout that must end rank 0 with 124.
#include "comm/comm_impl.h"
#include "nccl/nccl_checks.h"
#include "nccl/nccl_test_util.h"

#include "pzrt/error.h"

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <string>

namespace {

using pzrt::test::probeCommand;
using pzrt::test::runCommand;

int visibleDevices() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

#define REQUIRE_GPUS(k)                                                                            \
  do {                                                                                             \
    int have_ = visibleDevices();                                                                  \
    if (have_ < (k))                                                                               \
      GTEST_SKIP() << "needs " << (k) << " CUDA device(s), " << have_ << " visible";              \
  } while (0)

TEST(NcclGpu, OneRankCollectives) {
  REQUIRE_GPUS(1);
  pzrt::test::LauncherEnvGuard env;
  pzrt_comm *c = pzrt::createNcclComm(0);
  ASSERT_NE(c, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_comm_rank(c), 0);
  EXPECT_EQ(pzrt_comm_size(c), 1);
  EXPECT_EQ(pzrt_comm_is_mpi(c), 0);
  EXPECT_EQ(pzrt::test::Checker(c).run(), "");
  pzrt_comm_destroy(c);
}

TEST(NcclGpu, DeviceOutOfRangeIsRefused) {
  REQUIRE_GPUS(1);
  pzrt::test::LauncherEnvGuard env;
  EXPECT_EQ(pzrt::createNcclComm(visibleDevices()), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("are visible"), std::string::npos)
      << pzrt_last_error();
}

TEST(NcclGpu, TwoRanksOverTcpRendezvous) {
  REQUIRE_GPUS(2);
  std::string out = pzrt::test::torchrunJob(2, {{}, {}}, "check");
  EXPECT_NE(out.find("rank 0 exit 0"), std::string::npos) << out;
  EXPECT_NE(out.find("rank 1 exit 0"), std::string::npos) << out;
  EXPECT_NE(out.find("ok: rank 0 of 2"), std::string::npos) << out;
  EXPECT_NE(out.find("ok: rank 1 of 2"), std::string::npos) << out;
}

TEST(NcclGpu, FourRanksOverTcpRendezvous) {
  REQUIRE_GPUS(4);
  std::string out = pzrt::test::torchrunJob(4, {{}, {}, {}, {}}, "check");
  for (int r = 0; r < 4; ++r)
    EXPECT_NE(out.find("rank " + std::to_string(r) + " exit 0"), std::string::npos) << out;
}

TEST(NcclGpu, TwoRanksOverMpi) {
  REQUIRE_GPUS(2);
  if (runCommand("command -v mpirun >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "no mpirun";
  std::string out;
  int rc = runCommand("timeout -k 5 120 mpirun --allow-run-as-root --oversubscribe -np 2 " +
                          std::string(PZRT_TEST_NCCL_PROBE) + " check --mpi 2>&1",
                      &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("ok: rank 1 of 2"), std::string::npos) << out;
}

TEST(NcclGpu, MissingPeerTimesOutNamingTheCollective) {
  REQUIRE_GPUS(2);
  std::string out =
      pzrt::test::torchrunJob(2, {{"PZRT_COMM_TIMEOUT=5"}, {"PZRT_COMM_TIMEOUT=5"}}, "timeout");
  EXPECT_NE(out.find("rank 0 exit 124"), std::string::npos) << out;
  EXPECT_NE(out.find("pzrt: rank 0 (of 2): all_reduce on communicator 'world'"), std::string::npos)
      << out;
  EXPECT_NE(out.find("timed out after"), std::string::npos) << out;
}

} // namespace
