// pzrt/exec.h on n ranks: transfers of compiled host code run on the step
// context's communicator groups, in their blocking and asynchronous forms.
#include "mpi_common.h"

#include "pzrt/error.h"
#include "pzrt/exec.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

class ExecMpi : public ::testing::Test {
protected:
  void SetUp() override {
    n = pzrt_comm_size(gWorld);
    r = pzrt_comm_rank(gWorld);
    // Group 0: the whole world; group 1: each rank alone.
    comms[0] = pzrt_comm_split(gWorld, 0, r, "all");
    comms[1] = pzrt_comm_split(gWorld, r, 0, "self");
    ASSERT_TRUE(comms[0] && comms[1]);
    ctx.device = pzrt_device_cpu();
    ctx.comm = gWorld;
    ctx.num_comms = 2;
    ctx.comms = comms;
  }
  void TearDown() override {
    pzrt_comm_destroy(comms[0]);
    pzrt_comm_destroy(comms[1]);
  }
  int n = 0, r = 0;
  pzrt_comm *comms[2] = {nullptr, nullptr};
  pzrt_step_ctx ctx{};
};

TEST_F(ExecMpi, AllReduceOnAGroupBlockingAndAsync) {
  std::vector<float> x(64, static_cast<float>(r + 1)), y(64, 0.0f);
  ASSERT_EQ(pzrt_all_reduce_on(&ctx, 0, x.data(), y.data(), 64, PZRT_F32, PZRT_REDUCE_SUM,
                               "test.sum", 1, nullptr),
            0)
      << pzrt_last_error();
  for (float v : y)
    ASSERT_EQ(v, static_cast<float>(n * (n + 1) / 2));
  // Asynchronously, in place, on the one-rank group: the buffer is unchanged.
  pzrt_request *req = nullptr;
  ASSERT_EQ(pzrt_all_reduce_on(&ctx, 1, x.data(), x.data(), 64, PZRT_F32, PZRT_REDUCE_SUM,
                               "test.self", 1, &req),
            0);
  ASSERT_NE(req, nullptr);
  ASSERT_EQ(pzrt_wait(&ctx, req), 0);
  for (float v : x)
    ASSERT_EQ(v, static_cast<float>(r + 1));
}

TEST_F(ExecMpi, ReduceScatterAndAllGatherOnAGroup) {
  std::vector<float> full(4 * n), part(4);
  for (int i = 0; i < 4 * n; ++i)
    full[i] = static_cast<float>(i);
  ASSERT_EQ(pzrt_reduce_scatter_on(&ctx, 0, full.data(), part.data(), 4, PZRT_F32,
                                   PZRT_REDUCE_SUM, "test.scatter", 1, nullptr),
            0);
  for (int i = 0; i < 4; ++i)
    ASSERT_EQ(part[i], static_cast<float>(n * (4 * r + i)));
  std::vector<float> gathered(4 * n);
  ASSERT_EQ(pzrt_all_gather_on(&ctx, 0, part.data(), gathered.data(), 4, PZRT_F32, "test.gather",
                               1, nullptr),
            0);
  for (int i = 0; i < 4 * n; ++i)
    ASSERT_EQ(gathered[i], static_cast<float>(n * i));
}

// pzrt_chunk_on takes the chunk of this rank's rank in the group: on the
// world group, chunk r of 4 bytes of a 4n-1 byte buffer (the last padded
// with one zero); on the one-rank group, always the first chunk.
TEST_F(ExecMpi, ChunkOnTakesThisRanksChunkOfTheGroup) {
  std::vector<uint8_t> src;
  for (int i = 0; i < 4 * n - 1; ++i)
    src.push_back(static_cast<uint8_t>(i + 1));
  const uint64_t before = pzrt_comm_bytes_total();
  uint8_t dst[4];
  ASSERT_EQ(pzrt_chunk_on(&ctx, 0, src.data(), dst, src.size(), 4), 0) << pzrt_last_error();
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(dst[i], 4 * r + i < 4 * n - 1 ? 4 * r + i + 1 : 0) << "byte " << i;
  ASSERT_EQ(pzrt_chunk_on(&ctx, 1, src.data(), dst, src.size(), 4), 0);
  EXPECT_EQ(dst[3], 4);
  EXPECT_EQ(pzrt_comm_bytes_total(), before);
}

TEST_F(ExecMpi, SendToTheNextRankRecvFromThePrevious) {
  std::vector<int64_t> out(8, r), in(8, -1);
  // Even ranks send first, odd ranks receive first: no deadlock on blocking calls.
  auto send = [&] {
    ASSERT_EQ(pzrt_send_on(&ctx, 0, out.data(), 8, PZRT_I64, 1, "test.ring", 1, nullptr), 0);
  };
  auto recv = [&] {
    ASSERT_EQ(pzrt_recv_on(&ctx, 0, in.data(), 8, PZRT_I64, -1, "test.ring", 1, nullptr), 0);
  };
  if (r % 2 == 0) {
    send();
    recv();
  } else {
    recv();
    send();
  }
  for (int64_t v : in)
    ASSERT_EQ(v, (r + n - 1) % n);
}

// The files of the progress test: a rank says what it did by creating one,
// so that ranks coordinate without calling MPI.
std::string flagPath(const char *what, int rank) {
  const char *dir = std::getenv("PZRT_TEST_TMPDIR");
  std::string d = dir && *dir ? dir : "/tmp";
  mkdir(d.c_str(), 0755);
  return d + "/exec-progress-" + what + "-" + std::to_string(rank);
}
void touch(const std::string &path) {
  if (FILE *f = std::fopen(path.c_str(), "w"))
    std::fclose(f);
}
// Polls for a file without calling MPI; false after 60 s.
bool appears(const std::string &path) {
  for (int i = 0; i < 6000; ++i) {
    if (access(path.c_str(), F_OK) == 0)
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// An asynchronous all-reduce progresses while the rank that issued it calls
// no MPI at all: rank 0 issues it and then only polls the file system; the
// other ranks join it only after rank 0 says (by a file) that its call has
// returned, and say by a file when their blocking all-reduce is done, which
// needs rank 0's part. Rank 0 sees that file before it waits on its request.
// If the transfer ran inside the issuing call, rank 0 would never return
// from it and the others would never see its file (each gives up after
// 60 s, and then joins so that nobody hangs).
TEST_F(ExecMpi, AsyncTransferProgressesWhileTheCallerComputes) {
  if (n < 2)
    GTEST_SKIP() << "needs 2 ranks";
  const std::string issued = flagPath("issued", 0), done = flagPath("done", 1);
  if (r == 0) {
    std::remove(issued.c_str());
    std::remove(done.c_str());
  }
  ASSERT_EQ(pzrt_barrier(gWorld), 0);
  std::vector<float> x(1024, static_cast<float>(r + 1)), y(1024, 0.0f);
  if (r == 0) {
    pzrt_request *req = nullptr;
    ASSERT_EQ(pzrt_all_reduce_on(&ctx, 0, x.data(), y.data(), x.size(), PZRT_F32,
                                 PZRT_REDUCE_SUM, "test.progress", 1, &req),
              0)
        << pzrt_last_error();
    touch(issued);
    EXPECT_TRUE(appears(done)) << "rank 1's all-reduce did not complete while rank 0 computed";
    ASSERT_EQ(pzrt_wait(&ctx, req), 0) << pzrt_last_error();
  } else {
    EXPECT_TRUE(appears(issued)) << "rank 0's asynchronous call did not return";
    ASSERT_EQ(pzrt_all_reduce_on(&ctx, 0, x.data(), y.data(), x.size(), PZRT_F32,
                                 PZRT_REDUCE_SUM, "test.progress", 1, nullptr),
              0);
    if (r == 1)
      touch(done);
  }
  for (float v : y)
    ASSERT_EQ(v, static_cast<float>(n * (n + 1) / 2));
  ASSERT_EQ(pzrt_barrier(gWorld), 0);
}

// Transfers run in the order they are issued, asynchronous or not, on any
// group: every rank issues the same sequence and each result is right.
TEST_F(ExecMpi, TransfersCompleteInIssueOrder) {
  std::vector<std::vector<float>> in(6), out(6);
  std::vector<pzrt_request *> reqs(6, nullptr);
  for (int i = 0; i < 6; ++i) {
    in[i].assign(256, static_cast<float>((r + 1) * (i + 1)));
    out[i].assign(256, -1.0f);
    bool async = i % 3 != 2;
    ASSERT_EQ(pzrt_all_reduce_on(&ctx, i % 2, in[i].data(), out[i].data(), 256, PZRT_F32,
                                 PZRT_REDUCE_SUM, "test.order", 1, async ? &reqs[i] : nullptr),
              0)
        << pzrt_last_error();
  }
  for (int i = 5; i >= 0; --i) {
    if (reqs[i]) {
      ASSERT_EQ(pzrt_wait(&ctx, reqs[i]), 0) << pzrt_last_error();
    }
  }
  for (int i = 0; i < 6; ++i) {
    float want = i % 2 == 0 ? static_cast<float>(n * (n + 1) / 2 * (i + 1))
                            : static_cast<float>((r + 1) * (i + 1));
    for (float v : out[i])
      ASSERT_EQ(v, want) << "transfer " << i;
  }
}

// pzrt_exec_drain waits for the transfers in flight (what the driver does
// when a compiled function failed with requests outstanding): rank 0 joins
// the gather 200 ms late, yet on every other rank the result is there right
// after the drain, before the request is waited for. (A drain that returned
// early would leave -1s there; the passing case depends on no timing.)
TEST_F(ExecMpi, DrainWaitsForTransfersInFlight) {
  std::vector<float> x(64, static_cast<float>(r + 7)), y(64 * n, -1.0f);
  if (r == 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  pzrt_request *req = nullptr;
  ASSERT_EQ(pzrt_all_gather_on(&ctx, 0, x.data(), y.data(), x.size(), PZRT_F32, "test.drain", 1,
                               &req),
            0)
      << pzrt_last_error();
  pzrt_exec_drain();
  for (int i = 0; i < 64 * n; ++i)
    ASSERT_EQ(y[i], static_cast<float>(i / 64 + 7)) << "element " << i;
  ASSERT_EQ(pzrt_wait(&ctx, req), 0);
  pzrt_exec_drain(); // nothing in flight: returns
}

// A transfer that fails on the communication thread fails its wait, with
// the collective's own message.
TEST_F(ExecMpi, AnAsyncFailureIsReportedByTheWait) {
  float y = 0;
  pzrt_request *req = nullptr;
  int rc = pzrt_all_reduce_on(&ctx, 0, nullptr, &y, 1, PZRT_F32, PZRT_REDUCE_SUM, "test.bad", 1,
                              &req);
  if (rc == 0) {
    ASSERT_NE(req, nullptr);
    rc = pzrt_wait(&ctx, req);
  }
  EXPECT_EQ(rc, -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("NULL buffer with count 1"), std::string::npos)
      << pzrt_last_error();
  EXPECT_EQ(pzrt_wait(&ctx, nullptr), -1);
}

TEST_F(ExecMpi, UnknownGroupIsAnErrorNotACrash) {
  float x = 1;
  EXPECT_EQ(pzrt_all_reduce_on(&ctx, 2, &x, &x, 1, PZRT_F32, PZRT_REDUCE_SUM, "test.bad", 1,
                               nullptr),
            -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("communicator group 2 does not exist"),
            std::string::npos)
      << pzrt_last_error();
}

TEST_F(ExecMpi, EventsOnTheCpuAreComplete) {
  pzrt_event *e = pzrt_event_record(&ctx, 0);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(pzrt_stream_wait(&ctx, e, 1), 0);
  EXPECT_EQ(pzrt_event_record(&ctx, -1), nullptr);
  EXPECT_EQ(pzrt_stream_wait(&ctx, nullptr, 0), -1);
}

} // namespace
