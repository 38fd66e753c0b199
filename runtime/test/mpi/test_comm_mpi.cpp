// Collectives on n ranks: results against locally computed references and
// byte counters against the ring formulas.
#include "mpi_common.h"

#include "pzrt/error.h"
#include "pzrt/types.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

class Mpi : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(pzrt_barrier(gWorld), 0);
    pzrt_comm_reset_counters();
    n = pzrt_comm_size(gWorld);
    r = pzrt_comm_rank(gWorld);
  }
  int n = 0, r = 0;
};

TEST_F(Mpi, WorldMatchesLauncher) {
  EXPECT_GE(n, 2);
  EXPECT_EQ(pzrt_comm_is_mpi(gWorld), std::getenv("MASTER_PORT") ? 0 : 1);
  EXPECT_EQ(pzrt_comm_world_rank(gWorld), r);
}

TEST_F(Mpi, AllReduceF32SumMaxAndBytes) {
  const size_t count = 1000;
  std::vector<float> x(count), y(count);
  for (size_t i = 0; i < count; ++i)
    x[i] = static_cast<float>(r * 10) + 0.5f * static_cast<float>(i % 7);
  ASSERT_EQ(pzrt_all_reduce(gWorld, x.data(), y.data(), count, PZRT_F32, PZRT_REDUCE_SUM), 0);
  for (size_t i = 0; i < count; ++i) {
    double ref = 0;
    for (int q = 0; q < n; ++q)
      ref += q * 10 + 0.5 * static_cast<double>(i % 7);
    ASSERT_EQ(y[i], static_cast<float>(ref)) << i;
  }
  ASSERT_EQ(pzrt_all_reduce(gWorld, x.data(), x.data(), count, PZRT_F32, PZRT_REDUCE_MAX), 0);
  for (size_t i = 0; i < count; ++i)
    ASSERT_EQ(x[i], static_cast<float>((n - 1) * 10) + 0.5f * static_cast<float>(i % 7));
  const uint64_t S = count * 4;
  EXPECT_EQ(pzrt_comm_bytes(PZRT_COLL_ALL_REDUCE), 2 * (2 * (n - 1) * S / n));
  EXPECT_EQ(pzrt_comm_calls(PZRT_COLL_ALL_REDUCE), 2u);
  EXPECT_EQ(pzrt_comm_bytes(PZRT_COLL_ALL_GATHER), 0u);
}

TEST_F(Mpi, AllReduceHalfTypesReduceInFp32) {
  const size_t count = 10;
  std::vector<uint16_t> bf(count), h(count), bfo(count), ho(count);
  for (size_t i = 0; i < count; ++i) {
    float v = static_cast<float>(r + 1) * static_cast<float>(1 << (i % 5)); // exact in both
    bf[i] = pzrt_f32_to_bf16(v);
    h[i] = pzrt_f32_to_f16(-v);
  }
  ASSERT_EQ(pzrt_all_reduce(gWorld, bf.data(), bfo.data(), count, PZRT_BF16, PZRT_REDUCE_SUM), 0);
  ASSERT_EQ(pzrt_all_reduce(gWorld, h.data(), ho.data(), count, PZRT_F16, PZRT_REDUCE_MAX), 0);
  for (size_t i = 0; i < count; ++i) {
    float scale = static_cast<float>(1 << (i % 5));
    EXPECT_EQ(pzrt_bf16_to_f32(bfo[i]), static_cast<float>(n * (n + 1) / 2) * scale);
    EXPECT_EQ(pzrt_f16_to_f32(ho[i]), -scale); // max of -(r+1)*scale is rank 0's
  }
  // Logical element size 2: S = 20 bytes per call.
  EXPECT_EQ(pzrt_comm_bytes(PZRT_COLL_ALL_REDUCE), 2 * (2 * (n - 1) * 20 / n));
}

TEST_F(Mpi, AllReduceInt64IsExact) {
  int64_t x[2] = {(int64_t{1} << 60) + r, -r};
  ASSERT_EQ(pzrt_all_reduce(gWorld, x, x, 2, PZRT_I64, PZRT_REDUCE_SUM), 0);
  EXPECT_EQ(x[0], static_cast<int64_t>(n) * (int64_t{1} << 60) + n * (n - 1) / 2);
  EXPECT_EQ(x[1], -n * (n - 1) / 2);
}

TEST_F(Mpi, AllGather) {
  const size_t count = 3;
  std::vector<float> mine(count), all(count * static_cast<size_t>(n));
  for (size_t i = 0; i < count; ++i)
    mine[i] = static_cast<float>(r * 100 + static_cast<int>(i));
  ASSERT_EQ(pzrt_all_gather(gWorld, mine.data(), all.data(), count, PZRT_F32), 0);
  for (int q = 0; q < n; ++q)
    for (size_t i = 0; i < count; ++i)
      EXPECT_EQ(all[static_cast<size_t>(q) * count + i], static_cast<float>(q * 100 + static_cast<int>(i)));
  const uint64_t S = static_cast<uint64_t>(n) * count * 4; // the full gathered buffer
  EXPECT_EQ(pzrt_comm_bytes(PZRT_COLL_ALL_GATHER), (n - 1) * S / n);
  // In place: this rank's block already sits inside the output.
  std::vector<int64_t> buf(static_cast<size_t>(n), 0);
  buf[static_cast<size_t>(r)] = 7 * r;
  ASSERT_EQ(pzrt_all_gather(gWorld, &buf[static_cast<size_t>(r)], buf.data(), 1, PZRT_I64), 0);
  for (int q = 0; q < n; ++q)
    EXPECT_EQ(buf[static_cast<size_t>(q)], 7 * q);
}

TEST_F(Mpi, ReduceScatter) {
  const size_t count = 4;
  std::vector<float> in(count * static_cast<size_t>(n)), out(count);
  for (int b = 0; b < n; ++b)
    for (size_t i = 0; i < count; ++i)
      in[static_cast<size_t>(b) * count + i] = static_cast<float>(r + b * 10 + static_cast<int>(i));
  ASSERT_EQ(pzrt_reduce_scatter(gWorld, in.data(), out.data(), count, PZRT_F32, PZRT_REDUCE_SUM), 0);
  for (size_t i = 0; i < count; ++i) {
    double ref = 0;
    for (int q = 0; q < n; ++q)
      ref += q + r * 10 + static_cast<double>(i);
    EXPECT_EQ(out[i], static_cast<float>(ref));
  }
  const uint64_t S = static_cast<uint64_t>(n) * count * 4; // the full input buffer
  EXPECT_EQ(pzrt_comm_bytes(PZRT_COLL_REDUCE_SCATTER), (n - 1) * S / n);
  std::vector<uint16_t> hin(static_cast<size_t>(n) * 2), hout(2);
  for (size_t i = 0; i < hin.size(); ++i)
    hin[i] = pzrt_f32_to_bf16(static_cast<float>(r) + 0.5f);
  ASSERT_EQ(pzrt_reduce_scatter(gWorld, hin.data(), hout.data(), 2, PZRT_BF16, PZRT_REDUCE_MAX), 0);
  EXPECT_EQ(pzrt_bf16_to_f32(hout[1]), static_cast<float>(n - 1) + 0.5f);
}

TEST_F(Mpi, AllToAll) {
  const size_t count = 2;
  std::vector<int64_t> in(count * static_cast<size_t>(n)), out(in.size());
  for (int p = 0; p < n; ++p)
    for (size_t i = 0; i < count; ++i)
      in[static_cast<size_t>(p) * count + i] = r * 100 + p * 10 + static_cast<int64_t>(i);
  ASSERT_EQ(pzrt_all_to_all(gWorld, in.data(), out.data(), count, PZRT_I64), 0);
  for (int p = 0; p < n; ++p)
    for (size_t i = 0; i < count; ++i)
      EXPECT_EQ(out[static_cast<size_t>(p) * count + i], p * 100 + r * 10 + static_cast<int64_t>(i));
  EXPECT_EQ(pzrt_comm_bytes(PZRT_COLL_ALL_TO_ALL), (n - 1) * (n * count * 8) / n);
}

TEST_F(Mpi, BroadcastFromLastRank) {
  float x[5];
  for (int i = 0; i < 5; ++i)
    x[i] = r == n - 1 ? 1.5f * static_cast<float>(i) : -1.0f;
  ASSERT_EQ(pzrt_broadcast(gWorld, x, 5, PZRT_F32, n - 1), 0);
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(x[i], 1.5f * static_cast<float>(i));
  EXPECT_EQ(pzrt_comm_bytes(PZRT_COLL_BROADCAST), (n - 1) * 20u / n);
}

TEST_F(Mpi, SendRecvRingAndPipelinePairs) {
  const size_t count = 6;
  std::vector<float> out(count), in(count, 0.0f);
  for (size_t i = 0; i < count; ++i)
    out[i] = static_cast<float>(r * 1000 + static_cast<int>(i));
  int next = (r + 1) % n, prev = (r + n - 1) % n;
  ASSERT_EQ(pzrt_sendrecv(gWorld, out.data(), count, next, in.data(), count, prev, PZRT_F32, 5), 0);
  for (size_t i = 0; i < count; ++i)
    EXPECT_EQ(in[i], static_cast<float>(prev * 1000 + static_cast<int>(i)));
  // Pipeline stages: even ranks send activations forward, odd ranks send gradients back.
  if (n % 2 == 0) {
    float act[3] = {static_cast<float>(r), 1, 2}, got[3] = {0, 0, 0};
    if (r % 2 == 0) {
      ASSERT_EQ(pzrt_send(gWorld, act, 3, PZRT_F32, r + 1, 1), 0);
      ASSERT_EQ(pzrt_recv(gWorld, got, 3, PZRT_F32, r + 1, 2), 0);
      EXPECT_EQ(got[0], static_cast<float>(r + 1));
    } else {
      ASSERT_EQ(pzrt_recv(gWorld, got, 3, PZRT_F32, r - 1, 1), 0);
      EXPECT_EQ(got[0], static_cast<float>(r - 1));
      ASSERT_EQ(pzrt_send(gWorld, act, 3, PZRT_F32, r - 1, 2), 0);
    }
    EXPECT_EQ(pzrt_comm_bytes(PZRT_COLL_SEND), count * 4 + 12);
  }
  EXPECT_EQ(pzrt_comm_calls(PZRT_COLL_SEND), n % 2 == 0 ? 2u : 1u);
}

TEST_F(Mpi, ShortMessageIsReportedNotHidden) {
  float buf[4] = {9, 9, 9, 9};
  if (r == 0) {
    ASSERT_EQ(pzrt_send(gWorld, buf, 2, PZRT_F32, 1, 3), 0);
  } else if (r == 1) {
    EXPECT_EQ(pzrt_recv(gWorld, buf, 4, PZRT_F32, 0, 3), -1);
    EXPECT_NE(std::string(pzrt_last_error()).find("expected 4 elements but the message had 2"),
              std::string::npos)
        << pzrt_last_error();
  }
}

TEST_F(Mpi, BarrierCountsNoBytes) {
  ASSERT_EQ(pzrt_barrier(gWorld), 0);
  ASSERT_EQ(pzrt_comm_barrier_cb(gWorld), 0);
  EXPECT_EQ(pzrt_comm_calls(PZRT_COLL_BARRIER), 2u);
  EXPECT_EQ(pzrt_comm_bytes_total(), 0u);
}

// dp x tp grid (last axis fastest): rank = dp_i * tp + tp_i.
TEST_F(Mpi, GridAxesFollowRowMajorLayout) {
  ASSERT_EQ(n % 2, 0);
  const int dims[3] = {n / 2, 2, 1};
  const char *names[3] = {"dp", "tp", "pp"};
  pzrt_grid *g = pzrt_grid_create(gWorld, 3, dims, names);
  ASSERT_NE(g, nullptr) << pzrt_last_error();
  const int dpi = r / 2, tpi = r % 2;
  EXPECT_EQ(pzrt_grid_coord(g, 0), dpi);
  EXPECT_EQ(pzrt_grid_coord(g, 1), tpi);
  EXPECT_EQ(pzrt_grid_coord(g, 2), 0);
  const int coords[3] = {dpi, tpi, 0};
  EXPECT_EQ(pzrt_grid_rank_of(g, coords), r);

  pzrt_comm *tp = pzrt_grid_axis_comm(g, pzrt_grid_axis_index(g, "tp"));
  ASSERT_EQ(pzrt_comm_size(tp), 2);
  EXPECT_EQ(pzrt_comm_rank(tp), tpi);
  int64_t me = r, members[2];
  ASSERT_EQ(pzrt_all_gather(tp, &me, members, 1, PZRT_I64), 0);
  EXPECT_EQ(members[0], dpi * 2);
  EXPECT_EQ(members[1], dpi * 2 + 1);

  pzrt_comm *dp = pzrt_grid_axis_comm(g, 0);
  ASSERT_EQ(pzrt_comm_size(dp), n / 2);
  std::vector<int64_t> dpMembers(static_cast<size_t>(n / 2));
  ASSERT_EQ(pzrt_all_gather(dp, &me, dpMembers.data(), 1, PZRT_I64), 0);
  for (int i = 0; i < n / 2; ++i)
    EXPECT_EQ(dpMembers[static_cast<size_t>(i)], i * 2 + tpi);

  pzrt_comm *all = pzrt_grid_axes_comm(g, 0x3); // dp+tp = everyone, in world order
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(pzrt_comm_rank(all), r);
  EXPECT_EQ(pzrt_comm_size(pzrt_grid_axis_comm(g, 2)), 1);

  // Counters use the sub-communicator's size: tp all_reduce of 8 floats, n = 2.
  pzrt_comm_reset_counters();
  float v[8] = {1, 1, 1, 1, 1, 1, 1, static_cast<float>(r)};
  ASSERT_EQ(pzrt_all_reduce(tp, v, v, 8, PZRT_F32, PZRT_REDUCE_SUM), 0);
  EXPECT_EQ(v[0], 2.0f);
  EXPECT_EQ(v[7], static_cast<float>(2 * dpi * 2 + 1));
  EXPECT_EQ(pzrt_comm_bytes(PZRT_COLL_ALL_REDUCE), 2u * 1 * 32 / 2);
  pzrt_grid_destroy(g);
}

} // namespace
