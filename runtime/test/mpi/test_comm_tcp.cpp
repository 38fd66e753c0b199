// The TCP host communicator (comm_tcp.cpp), on the ranks of
// scripts/launch-local.py: what the shared multi-rank suite does not show.
// Skipped under mpirun.
#include "mpi_common.h"

#include "comm/comm_impl.h"
#include "pzrt/error.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

class Tcp : public ::testing::Test {
protected:
  void SetUp() override {
    if (pzrt_comm_is_mpi(gWorld))
      GTEST_SKIP() << "an MPI world: these test the TCP communicator";
    ASSERT_EQ(pzrt_barrier(gWorld), 0);
    pzrt_comm_reset_counters();
    n = pzrt_comm_size(gWorld);
    r = pzrt_comm_rank(gWorld);
  }
  uint64_t wire() const { return pzrt::tcpPayloadBytesSent(gWorld); }
  int n = 0, r = 0;
};

// The ring moves what comm.h's counters say: per rank, with every chunk of
// equal size (count a multiple of n), the payload written equals the count.
TEST_F(Tcp, PayloadWrittenEqualsTheRingFormulas) {
  const size_t per = 3000; // elements per chunk
  const size_t count = per * static_cast<size_t>(n);
  std::vector<float> x(count, 1.0f), y(count);
  uint64_t before = wire();
  ASSERT_EQ(pzrt_all_reduce(gWorld, x.data(), y.data(), count, PZRT_F32, PZRT_REDUCE_SUM), 0);
  ASSERT_EQ(pzrt_reduce_scatter(gWorld, x.data(), y.data(), per, PZRT_F32, PZRT_REDUCE_SUM), 0);
  ASSERT_EQ(pzrt_all_gather(gWorld, x.data(), y.data(), per, PZRT_F32), 0);
  ASSERT_EQ(pzrt_all_to_all(gWorld, x.data(), y.data(), per, PZRT_F32), 0);
  uint64_t moved = wire() - before;
  uint64_t counted = pzrt_comm_bytes(PZRT_COLL_ALL_REDUCE) +
                     pzrt_comm_bytes(PZRT_COLL_REDUCE_SCATTER) +
                     pzrt_comm_bytes(PZRT_COLL_ALL_GATHER) + pzrt_comm_bytes(PZRT_COLL_ALL_TO_ALL);
  EXPECT_EQ(moved, counted);
  // And the numbers themselves: 2(n-1)/n S + 3 (n-1)/n S with S = count * 4.
  EXPECT_EQ(moved, 5 * static_cast<uint64_t>(n - 1) * per * 4);
}

// Every rank gets the same bits from a sum whose order matters in fp32.
TEST_F(Tcp, AllReduceGivesEveryRankTheSameBits) {
  const size_t count = 1001; // chunks of unequal size
  std::vector<float> x(count), y(count);
  for (size_t i = 0; i < count; ++i)
    x[i] = 1.0f / static_cast<float>(3 + r + static_cast<int>(i % 11)) * (i % 2 ? 1e4f : 1e-4f);
  ASSERT_EQ(pzrt_all_reduce(gWorld, x.data(), y.data(), count, PZRT_F32, PZRT_REDUCE_SUM), 0);
  std::vector<float> all(count * static_cast<size_t>(n));
  ASSERT_EQ(pzrt_all_gather(gWorld, y.data(), all.data(), count, PZRT_F32), 0);
  for (int q = 0; q < n; ++q)
    ASSERT_EQ(std::memcmp(all.data() + static_cast<size_t>(q) * count, y.data(),
                          count * sizeof(float)),
              0)
        << "rank " << q << " differs";
  for (size_t i = 0; i < count; ++i) { // and it is the sum, to rounding
    double ref = 0;
    for (int q = 0; q < n; ++q)
      ref += 1.0 / (3 + q + static_cast<int>(i % 11)) * (i % 2 ? 1e4 : 1e-4);
    ASSERT_NEAR(y[i], ref, 1e-6 * std::abs(ref)) << i;
  }
}

// Two ranks that each send 16 MiB to the other before receiving: far more
// than the sockets hold, so this passes only if waits move both directions.
TEST_F(Tcp, LargeSendsBothWaysFirstDoNotDeadlock) {
  const size_t count = 4u << 20;
  const int next = (r + 1) % n, prev = (r + n - 1) % n;
  std::vector<float> out(count, static_cast<float>(r)), in(count, -1.0f);
  pzrt_send_request *req = nullptr;
  ASSERT_EQ(pzrt_isend(gWorld, out.data(), count, PZRT_F32, next, 5, &req), 0);
  ASSERT_EQ(pzrt_recv(gWorld, in.data(), count, PZRT_F32, prev, 5), 0);
  ASSERT_EQ(pzrt_send_wait(req), 0);
  EXPECT_EQ(in.front(), static_cast<float>(prev));
  EXPECT_EQ(in.back(), static_cast<float>(prev));
}

// Messages are matched by tag, in the order sent per tag, whatever order the
// receives are posted in.
TEST_F(Tcp, ReceivesMatchTagsNotArrivalOrder) {
  if (r >= 2)
    return;
  if (r == 0) {
    for (int64_t v : {10, 11})
      ASSERT_EQ(pzrt_send(gWorld, &v, 1, PZRT_I64, 1, 2), 0);
    int64_t w = 20;
    ASSERT_EQ(pzrt_send(gWorld, &w, 1, PZRT_I64, 1, 1), 0);
  } else {
    int64_t a = 0, b = 0, c = 0;
    ASSERT_EQ(pzrt_recv(gWorld, &a, 1, PZRT_I64, 0, 1), 0);
    ASSERT_EQ(pzrt_recv(gWorld, &b, 1, PZRT_I64, 0, 2), 0);
    ASSERT_EQ(pzrt_recv(gWorld, &c, 1, PZRT_I64, 0, 2), 0);
    EXPECT_EQ(a, 20);
    EXPECT_EQ(b, 10);
    EXPECT_EQ(c, 11);
  }
}

// A split communicator's messages never match the parent's, on the same tag.
TEST_F(Tcp, CommunicatorsDoNotShareMessages) {
  pzrt_comm *sub = pzrt_comm_split(gWorld, 0, n - 1 - r, "reversed");
  ASSERT_NE(sub, nullptr) << pzrt_last_error();
  ASSERT_EQ(pzrt_comm_rank(sub), n - 1 - r);
  if (n >= 2 && r < 2) {
    // World ranks 0 and 1 are sub ranks n-1 and n-2.
    if (r == 0) {
      int64_t onSub = 7, onWorld = 8;
      ASSERT_EQ(pzrt_send(sub, &onSub, 1, PZRT_I64, n - 2, 3), 0);
      ASSERT_EQ(pzrt_send(gWorld, &onWorld, 1, PZRT_I64, 1, 3), 0);
    } else {
      int64_t w = 0, s = 0;
      ASSERT_EQ(pzrt_recv(gWorld, &w, 1, PZRT_I64, 0, 3), 0);
      ASSERT_EQ(pzrt_recv(sub, &s, 1, PZRT_I64, n - 1, 3), 0);
      EXPECT_EQ(w, 8);
      EXPECT_EQ(s, 7);
    }
  }
  int64_t one = 1, sum = 0;
  ASSERT_EQ(pzrt_all_reduce(sub, &one, &sum, 1, PZRT_I64, PZRT_REDUCE_SUM), 0);
  EXPECT_EQ(sum, n);
  pzrt_comm_destroy(sub);
}

// A broadcast of several 1 MiB pieces down the chain, from a rank not 0.
TEST_F(Tcp, BroadcastInPiecesFromAnyRoot) {
  const size_t count = (3u << 20) / 8 + 5; // 3 MiB and a bit of int64
  const int root = n - 1;
  std::vector<int64_t> buf(count, -1);
  if (r == root)
    for (size_t i = 0; i < count; ++i)
      buf[i] = static_cast<int64_t>(i * 7 + 1);
  ASSERT_EQ(pzrt_broadcast(gWorld, buf.data(), count, PZRT_I64, root), 0);
  for (size_t i = 0; i < count; i += 4099)
    ASSERT_EQ(buf[i], static_cast<int64_t>(i * 7 + 1)) << i;
  EXPECT_EQ(buf.back(), static_cast<int64_t>((count - 1) * 7 + 1));
}

} // namespace
