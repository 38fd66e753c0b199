// The single-rank communicator and process grids of size 1.
#include "pzrt/comm.h"
#include "pzrt/error.h"
#include "pzrt/exec.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace {

class SingleComm : public ::testing::Test {
protected:
  void SetUp() override {
    comm_ = pzrt_comm_create_single();
    pzrt_comm_reset_counters();
  }
  void TearDown() override { pzrt_comm_destroy(comm_); }
  pzrt_comm *comm_ = nullptr;
};

TEST_F(SingleComm, Identity) {
  EXPECT_EQ(pzrt_comm_rank(comm_), 0);
  EXPECT_EQ(pzrt_comm_size(comm_), 1);
  EXPECT_EQ(pzrt_comm_is_mpi(comm_), 0);
  EXPECT_STREQ(pzrt_comm_name(comm_), "world");
}

TEST_F(SingleComm, CollectivesCopyAndCountZeroBytes) {
  std::vector<float> a = {1.5f, -2.0f, 3.25f}, b(3, 0.0f);
  ASSERT_EQ(pzrt_all_reduce(comm_, a.data(), b.data(), 3, PZRT_F32, PZRT_REDUCE_SUM), 0);
  EXPECT_EQ(b, a);
  std::vector<int64_t> i = {7, -9}, j(2, 0);
  ASSERT_EQ(pzrt_all_gather(comm_, i.data(), j.data(), 2, PZRT_I64), 0);
  EXPECT_EQ(j, i);
  ASSERT_EQ(pzrt_reduce_scatter(comm_, a.data(), b.data(), 3, PZRT_F32, PZRT_REDUCE_MAX), 0);
  EXPECT_EQ(b, a);
  std::vector<uint16_t> h = {0x3F80, 0x4000}, g(2, 0);
  ASSERT_EQ(pzrt_all_reduce(comm_, h.data(), g.data(), 2, PZRT_BF16, PZRT_REDUCE_SUM), 0);
  EXPECT_EQ(g, h);
  ASSERT_EQ(pzrt_all_reduce(comm_, a.data(), a.data(), 3, PZRT_F32, PZRT_REDUCE_SUM), 0);
  EXPECT_EQ(a[2], 3.25f);
  ASSERT_EQ(pzrt_broadcast(comm_, a.data(), 3, PZRT_F32, 0), 0);
  ASSERT_EQ(pzrt_barrier(comm_), 0);
  // n = 1: every ring volume (n-1)/n * S is zero, but the calls are counted.
  EXPECT_EQ(pzrt_comm_bytes_total(), 0u);
  EXPECT_EQ(pzrt_comm_calls(PZRT_COLL_ALL_REDUCE), 3u);
  EXPECT_EQ(pzrt_comm_calls(PZRT_COLL_ALL_GATHER), 1u);
  EXPECT_EQ(pzrt_comm_calls(PZRT_COLL_BARRIER), 1u);
}

TEST(CommAuto, NoLauncherMeansSingleRank) {
  for (const char *v : {"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "PMI_RANK", "PMI_SIZE",
                        "RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS"})
    unsetenv(v);
  pzrt_comm *c = pzrt_comm_create_auto();
  ASSERT_NE(c, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_comm_is_mpi(c), 0);
  EXPECT_EQ(pzrt_comm_size(c), 1);
  pzrt_comm_destroy(c);
  setenv("RANK", "x", 1);
  setenv("WORLD_SIZE", "2", 1);
  EXPECT_EQ(pzrt_comm_create_auto(), nullptr); // a malformed launcher environment is reported
  EXPECT_NE(std::string(pzrt_last_error()).find("RANK='x'"), std::string::npos);
  unsetenv("RANK");
  unsetenv("WORLD_SIZE");
}

TEST_F(SingleComm, Errors) {
  float x[2] = {0, 0};
  EXPECT_EQ(pzrt_send(comm_, x, 2, PZRT_F32, 1, 0), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("destination rank 1 is out of range"),
            std::string::npos)
      << pzrt_last_error();
  EXPECT_EQ(pzrt_send(comm_, x, 2, PZRT_F32, 0, 0), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("itself"), std::string::npos);
  EXPECT_EQ(pzrt_broadcast(comm_, x, 2, PZRT_F32, 3), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("root 3"), std::string::npos);
  EXPECT_EQ(pzrt_all_reduce(comm_, x, x, 2, PZRT_U8, PZRT_REDUCE_SUM), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("unsupported dtype U8"), std::string::npos);
  EXPECT_EQ(pzrt_all_reduce(nullptr, x, x, 2, PZRT_F32, PZRT_REDUCE_SUM), -1);
  EXPECT_EQ(pzrt_all_reduce(comm_, nullptr, x, 2, PZRT_F32, PZRT_REDUCE_SUM), -1);
  EXPECT_EQ(pzrt_comm_split(comm_, -1, 0, "bad"), nullptr);
}

TEST_F(SingleComm, KindNames) {
  EXPECT_STREQ(pzrt_coll_kind_name(PZRT_COLL_ALL_REDUCE), "all_reduce");
  EXPECT_STREQ(pzrt_coll_kind_name(PZRT_COLL_REDUCE_SCATTER), "reduce_scatter");
  EXPECT_STREQ(pzrt_coll_kind_name(PZRT_COLL_SEND), "send");
}

TEST_F(SingleComm, TimeoutSettingIsInheritedBySplit) {
  pzrt_comm_set_timeout(comm_, 7.5);
  pzrt_comm *sub = pzrt_comm_split(comm_, 0, 0, "sub");
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(pzrt_comm_timeout(sub), 7.5);
  EXPECT_STREQ(pzrt_comm_name(sub), "sub");
  pzrt_comm_destroy(sub);
}

TEST(CommTimeout, DefaultsTo600SecondsUnlessTheEnvironmentSaysOtherwise) {
  const char *old = std::getenv("PZRT_COMM_TIMEOUT");
  std::string saved = old ? old : "";
  unsetenv("PZRT_COMM_TIMEOUT");
  pzrt_comm *c = pzrt_comm_create_single();
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(pzrt_comm_timeout(c), 600.0); // as NCCL's watchdog
  pzrt_comm_destroy(c);
  setenv("PZRT_COMM_TIMEOUT", "42.5", 1);
  c = pzrt_comm_create_single();
  EXPECT_EQ(pzrt_comm_timeout(c), 42.5);
  pzrt_comm_destroy(c);
  if (old)
    setenv("PZRT_COMM_TIMEOUT", saved.c_str(), 1);
  else
    unsetenv("PZRT_COMM_TIMEOUT");
}

TEST_F(SingleComm, GridOfOnes) {
  const int dims[3] = {1, 1, 1};
  const char *names[3] = {"dp", "tp", "pp"};
  pzrt_grid *g = pzrt_grid_create(comm_, 3, dims, names);
  ASSERT_NE(g, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_grid_ndims(g), 3);
  EXPECT_EQ(pzrt_grid_axis_index(g, "tp"), 1);
  EXPECT_EQ(pzrt_grid_axis_index(g, "cp"), -1);
  EXPECT_EQ(pzrt_grid_coord(g, 2), 0);
  pzrt_comm *tp = pzrt_grid_axis_comm(g, 1);
  ASSERT_NE(tp, nullptr);
  EXPECT_EQ(pzrt_comm_size(tp), 1);
  EXPECT_STREQ(pzrt_comm_name(tp), "tp");
  pzrt_comm *dptp = pzrt_grid_axes_comm(g, 0x3);
  ASSERT_NE(dptp, nullptr);
  EXPECT_STREQ(pzrt_comm_name(dptp), "dp+tp");
  EXPECT_EQ(pzrt_grid_axes_comm(g, 0x3), dptp); // cached
  int coords[3] = {0, 0, 0};
  EXPECT_EQ(pzrt_grid_rank_of(g, coords), 0);
  pzrt_grid_destroy(g);
}

TEST_F(SingleComm, GridMustMatchWorld) {
  const int dims[2] = {2, 1};
  EXPECT_EQ(pzrt_grid_create(comm_, 2, dims, nullptr), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("grid 2x1 does not match the 1 ranks"),
            std::string::npos)
      << pzrt_last_error();
  const int ones[2] = {1, 1};
  const char *dup[2] = {"dp", "dp"};
  EXPECT_EQ(pzrt_grid_create(comm_, 2, ones, dup), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("'dp' appears twice"), std::string::npos);
}

} // namespace

// The transfers of compiled code count their bytes under their reason too.
TEST_F(SingleComm, ReasonCounters) {
  EXPECT_EQ(pzrt_comm_reason_count(), 0);
  ASSERT_EQ(pzrt_comm_count_reason("ddp.grad_bucket", PZRT_COLL_ALL_REDUCE, 100), 0);
  ASSERT_EQ(pzrt_comm_count_reason("zero3.param_gather", PZRT_COLL_ALL_GATHER, 7), 0);
  ASSERT_EQ(pzrt_comm_count_reason("ddp.grad_bucket", PZRT_COLL_ALL_REDUCE, 50), 0);
  ASSERT_EQ(pzrt_comm_count_reason("ddp.grad_bucket", PZRT_COLL_BROADCAST, 1), 0);
  ASSERT_EQ(pzrt_comm_reason_count(), 2);
  EXPECT_STREQ(pzrt_comm_reason_name(0), "ddp.grad_bucket");
  EXPECT_STREQ(pzrt_comm_reason_name(1), "zero3.param_gather");
  EXPECT_EQ(pzrt_comm_reason_name(2), nullptr);
  EXPECT_EQ(pzrt_comm_reason_name(-1), nullptr);
  EXPECT_EQ(pzrt_comm_reason_bytes(0, PZRT_COLL_ALL_REDUCE), 150u);
  EXPECT_EQ(pzrt_comm_reason_bytes(0, PZRT_COLL_BROADCAST), 1u);
  EXPECT_EQ(pzrt_comm_reason_bytes(1, PZRT_COLL_ALL_GATHER), 7u);
  EXPECT_EQ(pzrt_comm_reason_bytes(1, PZRT_COLL_ALL_REDUCE), 0u);
  EXPECT_EQ(pzrt_comm_reason_bytes(5, PZRT_COLL_ALL_REDUCE), 0u);
  // The counters by kind are the collectives' own, not these.
  EXPECT_EQ(pzrt_comm_bytes(PZRT_COLL_ALL_REDUCE), 0u);
  EXPECT_EQ(pzrt_comm_count_reason(nullptr, PZRT_COLL_ALL_REDUCE, 1), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("NULL or empty"), std::string::npos);
  EXPECT_EQ(pzrt_comm_count_reason("", PZRT_COLL_ALL_REDUCE, 1), -1);
  EXPECT_EQ(pzrt_comm_count_reason("x", PZRT_COLL_KIND_COUNT, 1), -1);
  pzrt_comm_reset_counters();
  EXPECT_EQ(pzrt_comm_reason_count(), 0);
}

// pzrt/exec.h's transfers name their reason: it gets the bytes the
// collective counted (0 on one rank), and a failed transfer counts nothing.
TEST_F(SingleComm, TransfersCountUnderTheirReason) {
  pzrt_comm *comms[] = {comm_};
  pzrt_step_ctx ctx{};
  ctx.num_comms = 1;
  ctx.comms = comms;
  std::vector<float> a = {1.0f, 2.0f}, b(2, 0.0f);
  ASSERT_EQ(pzrt_all_reduce_on(&ctx, 0, a.data(), b.data(), 2, PZRT_F32, PZRT_REDUCE_SUM,
                               "ddp.grad_bucket", 1, nullptr),
            0)
      << pzrt_last_error();
  EXPECT_EQ(b, a);
  ASSERT_EQ(pzrt_comm_reason_count(), 1);
  EXPECT_STREQ(pzrt_comm_reason_name(0), "ddp.grad_bucket");
  EXPECT_EQ(pzrt_comm_reason_bytes(0, PZRT_COLL_ALL_REDUCE), 0u);
  EXPECT_EQ(pzrt_all_reduce_on(&ctx, 1, a.data(), b.data(), 2, PZRT_F32, PZRT_REDUCE_SUM,
                               "other.reason", 1, nullptr),
            -1);
  EXPECT_EQ(pzrt_comm_reason_count(), 1);
}
