// comm_nccl.cpp's control flow without a GPU, against the host-memory fake
// of CUDA and NCCL (fake_cuda_nccl.cpp): the collectives' argument glue on a
// 1-rank communicator, the unique id's way to every rank over the TCP
// rendezvous and over MPI, and the failure paths (no device, a collective
// that never completes or fails asynchronously, a communicator that never
// connects), each of which must end with a message, not a hang or a crash.
#include "comm/comm_impl.h"
#include "nccl/nccl_checks.h"
#include "nccl/nccl_test_util.h"

#include "pzrt/error.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <regex>
#include <set>
#include <string>

namespace {

using pzrt::test::probeCommand;
using pzrt::test::runCommand;
using pzrt::test::torchrunJob;

class NcclFake : public ::testing::Test {
protected:
  void SetUp() override {
    for (const char *v : {"PZRT_FAKE_NCCL", "PZRT_FAKE_CUDA_DEVICES", "PZRT_COMM_TIMEOUT"})
      unsetenv(v);
  }
  pzrt::test::LauncherEnvGuard env_;
};

// The ids each rank's fake init logged ("fake-nccl: init 'world' rank R of N id HEX").
std::set<std::string> idsIn(const std::string &out, int size, int *inits) {
  std::set<std::string> ids;
  std::regex re("fake-nccl: init 'world' rank [0-9]+ of " + std::to_string(size) +
                " id ([0-9a-f]{32})\n");
  *inits = 0;
  for (std::sregex_iterator it(out.begin(), out.end(), re), end; it != end; ++it) {
    ids.insert((*it)[1]);
    ++*inits;
  }
  return ids;
}

TEST_F(NcclFake, OneRankCollectivesReachNcclIntact) {
  pzrt_comm *c = pzrt::createNcclComm();
  ASSERT_NE(c, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_comm_size(c), 1);
  EXPECT_STREQ(pzrt_comm_name(c), "world");
  EXPECT_EQ(pzrt::test::Checker(c).run(), "");
  pzrt_comm_destroy(c);
}

TEST_F(NcclFake, NoDeviceAndADeviceOutOfRange) {
  setenv("PZRT_FAKE_CUDA_DEVICES", "0", 1);
  EXPECT_EQ(pzrt::createNcclComm(), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("no CUDA device visible to rank 0 (CUDA_VISIBLE_"),
            std::string::npos)
      << pzrt_last_error();
  setenv("PZRT_FAKE_CUDA_DEVICES", "2", 1);
  EXPECT_EQ(pzrt::createNcclComm(2), nullptr);
  EXPECT_NE(
      std::string(pzrt_last_error()).find("rank 0: CUDA device 2 requested, but 2 are visible"),
      std::string::npos)
      << pzrt_last_error();
}

TEST_F(NcclFake, TimeoutAbortsEveryCommunicatorAndExits124) {
  std::string out;
  int rc = runCommand(probeCommand({"PZRT_FAKE_NCCL=hang", "PZRT_COMM_TIMEOUT=0.3"},
                                   "timeout 2>&1", 20),
                      &out);
  EXPECT_EQ(rc, 124) << out;
  EXPECT_NE(out.find("pzrt: rank 0 (of 1): all_reduce on communicator 'world' (rank 0 of 1, 1024 "
                     "elements of F32, NCCL on CUDA device 0) timed out after"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("fake-nccl: abort 'world'"), std::string::npos) << out;
  EXPECT_NE(out.find("fake-nccl: abort 'sub'"), std::string::npos) << out;
}

// A collective enqueued on a stream (a compiled program's transfer) returns
// at once; the host's next wait for the device polls it through the wait
// watch, which ends the process naming it, or lets the wait go on.
TEST_F(NcclFake, EnqueuedCollectiveIsWatchedWhileTheHostWaits) {
  std::string out;
  int rc = runCommand(probeCommand({"PZRT_COMM_TIMEOUT=0.3"}, "enqueued 2>&1", 20), &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("issued\nwaited\n"), std::string::npos) << out;

  rc = runCommand(probeCommand({"PZRT_FAKE_NCCL=hang", "PZRT_COMM_TIMEOUT=0.3"},
                               "enqueued 2>&1", 20),
                  &out);
  EXPECT_EQ(rc, 124) << out;
  EXPECT_NE(out.find("issued\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("waited"), std::string::npos) << out;
  EXPECT_NE(out.find("pzrt: rank 0 (of 1): all_reduce on communicator 'world' (rank 0 of 1, 1024 "
                     "elements of F32, NCCL on CUDA device 0) timed out after 0.3"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("fake-nccl: abort 'world'"), std::string::npos) << out;

  rc = runCommand(probeCommand({"PZRT_FAKE_NCCL=asyncerror"}, "enqueued 2>&1", 20), &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("issued\n"), std::string::npos) << out;
  EXPECT_NE(out.find("all_reduce on communicator 'world' (rank 0 of 1, 1024 elements of F32, "
                     "NCCL on CUDA device 0) failed: remote process exited"),
            std::string::npos)
      << out;
}

TEST_F(NcclFake, AsyncErrorAbortsAndExits1) {
  std::string out;
  int rc = runCommand(probeCommand({"PZRT_FAKE_NCCL=asyncerror"}, "timeout 2>&1", 20), &out);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("pzrt: rank 0 (of 1): all_reduce on communicator 'world' (rank 0 of 1, 1024 "
                     "elements of F32, NCCL on CUDA device 0) failed: remote process exited or "
                     "there was a network error (fake peer died)"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("fake-nccl: abort 'world'"), std::string::npos) << out;
}

TEST_F(NcclFake, CommunicatorThatNeverConnectsTimesOut) {
  std::string out;
  int rc = runCommand(probeCommand({"PZRT_FAKE_NCCL=inithang", "PZRT_COMM_TIMEOUT=0.3"},
                                   "create 2>&1", 20),
                      &out);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("rank 0 (of 1): NCCL communicator 'world' on CUDA device 0 did not connect "
                     "within"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("fake-nccl: abort 'world'"), std::string::npos) << out;
}

TEST_F(NcclFake, UniqueIdReachesEveryRankOverTcp) {
  for (int size : {2, 4}) {
    std::string out = torchrunJob(size, std::vector<std::vector<std::string>>(size), "create", 30);
    int inits = 0;
    std::set<std::string> ids = idsIn(out, size, &inits);
    EXPECT_EQ(inits, size) << out;
    EXPECT_EQ(ids.size(), 1u) << "the ranks got different ids:\n" << out;
    for (int r = 0; r < size; ++r)
      EXPECT_NE(out.find("rank " + std::to_string(r) + " exit 0"), std::string::npos) << out;
  }
}

// Launched without MPI, a program's NCCL world takes its id from the TCP
// host communicator (the rendezvous on MASTER_PORT is that communicator's).
TEST_F(NcclFake, UniqueIdReachesEveryRankOverTheTcpHostComm) {
  for (int size : {2, 3}) {
    std::string out =
        torchrunJob(size, std::vector<std::vector<std::string>>(size), "create --host", 30);
    int inits = 0;
    std::set<std::string> ids = idsIn(out, size, &inits);
    EXPECT_EQ(inits, size) << out;
    EXPECT_EQ(ids.size(), 1u) << "the ranks got different ids:\n" << out;
    for (int r = 0; r < size; ++r)
      EXPECT_NE(out.find("rank " + std::to_string(r) + " exit 0"), std::string::npos) << out;
  }
}

TEST_F(NcclFake, MissingRankEndsTheBootstrapNamingIt) {
  std::string out = torchrunJob(3, {{"PZRT_COMM_TIMEOUT=0.5"}, {"PZRT_COMM_TIMEOUT=0.5"}},
                                "create", 30);
  EXPECT_NE(out.find("rank 0 exit 2"), std::string::npos) << out;
  EXPECT_NE(out.find("rank 1 exit 2"), std::string::npos) << out;
  EXPECT_NE(out.find("(rank 0 of 3) timed out after"), std::string::npos) << out;
  EXPECT_NE(out.find("rank(s) 2 did not arrive"), std::string::npos) << out;
  EXPECT_EQ(out.find("fake-nccl: init"), std::string::npos) << "NCCL started anyway:\n" << out;
}

TEST_F(NcclFake, WrongTokenIsRejected) {
  std::string out = torchrunJob(
      2, {{"PZRT_COMM_TIMEOUT=0.5"}, {"PZRT_COMM_TIMEOUT=0.5", "PZRT_JOB_TOKEN=other"}}, "create",
      30);
  EXPECT_NE(out.find("rank 1 exit 2"), std::string::npos) << out;
  EXPECT_NE(out.find("rank 1 (of 2): rank 0 at MASTER_ADDR=127.0.0.1:"), std::string::npos) << out;
  EXPECT_NE(out.find("wrong job token"), std::string::npos) << out;
  EXPECT_NE(out.find("rank 0 exit 2"), std::string::npos) << out;
}

TEST_F(NcclFake, MultiRankWithoutTokenIsRefused) {
  std::string out = torchrunJob(2, {{"PZRT_JOB_TOKEN="}, {"PZRT_JOB_TOKEN="}}, "create", 30);
  EXPECT_NE(out.find("rank 0 (of 2): PZRT_JOB_TOKEN is not set"), std::string::npos) << out;
  EXPECT_NE(out.find("rank 1 (of 2): PZRT_JOB_TOKEN is not set"), std::string::npos) << out;
}

TEST_F(NcclFake, UniqueIdReachesEveryRankOverMpi) {
  std::string out;
  int rc = runCommand(std::string("timeout -k 5 60 ") + PZRT_TEST_MPIEXEC +
                          " --allow-run-as-root --oversubscribe -np 2 " + PZRT_TEST_NCCL_PROBE +
                          " create --mpi 2>&1",
                      &out);
  EXPECT_EQ(rc, 0) << out;
  int inits = 0;
  std::set<std::string> ids = idsIn(out, 2, &inits);
  EXPECT_EQ(inits, 2) << out;
  EXPECT_EQ(ids.size(), 1u) << "the ranks got different ids:\n" << out;
}

} // namespace
