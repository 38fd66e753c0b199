// The NCCL communicator where no GPU is visible (every CI machine, and any
// machine with CUDA_VISIBLE_DEVICES=''): creating it must fail with a message
// naming the rank, returning NULL / exiting non-zero, never crashing.
#include "comm/comm_impl.h"
#include "nccl/nccl_test_util.h"

#include "pzrt/error.h"

#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <string>

namespace {

using pzrt::test::probeCommand;
using pzrt::test::runCommand;

TEST(NcclNoDevice, ProbeFailsCleanly) {
  // The variable is set before CUDA starts in the probe, so every GPU is
  // hidden even on a machine that has some.
  std::string out;
  int rc = runCommand(probeCommand({"CUDA_VISIBLE_DEVICES="}, "create 2>&1"), &out);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("pzrt-nccl-probe: no CUDA device visible to rank 0 (CUDA_VISIBLE_DEVICES='')"),
            std::string::npos)
      << out;
}

TEST(NcclNoDevice, NamesTheRankOfATorchrunLaunch) {
  // Rank 3 of 4 fails at its device check, before the rendezvous (nobody
  // listens on the port: waiting there would take the timeout).
  std::string out;
  int rc = runCommand(probeCommand({"CUDA_VISIBLE_DEVICES=", "RANK=3", "WORLD_SIZE=4",
                                    "LOCAL_RANK=1", "LOCAL_WORLD_SIZE=2", "MASTER_ADDR=127.0.0.1",
                                    "MASTER_PORT=" + std::to_string(pzrt::test::unusedPort()),
                                    "PZRT_JOB_TOKEN=t", "PZRT_COMM_TIMEOUT=20"},
                                   "check 2>&1", 10),
                      &out);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("no CUDA device visible to rank 3 (CUDA_VISIBLE_DEVICES='')"),
            std::string::npos)
      << out;
}

TEST(NcclNoDevice, InProcessReturnsNull) {
  int n = 0;
  if (cudaGetDeviceCount(&n) == cudaSuccess && n > 0)
    GTEST_SKIP() << n << " CUDA device(s) visible: see NcclNoDevice.ProbeFailsCleanly";
  pzrt::test::LauncherEnvGuard env;
  pzrt_clear_error();
  pzrt_comm *c = pzrt::createNcclComm();
  EXPECT_EQ(c, nullptr);
  std::string e = pzrt_last_error();
  EXPECT_NE(e.find("no CUDA device visible to rank 0 (CUDA_VISIBLE_DEVICES"), std::string::npos)
      << e;
  if (c)
    pzrt_comm_destroy(c);
}

} // namespace
