// Rank discovery from each launcher's environment variables.
#include "pzrt/env.h"
#include "pzrt/error.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

// Clears every launcher variable for the test and restores them afterwards.
class EnvTest : public ::testing::Test {
protected:
  static void set(const char *k, const char *v) { setenv(k, v, 1); }
  pzrt_env discover() {
    pzrt_env e;
    EXPECT_EQ(pzrt_env_discover(&e), 0) << pzrt_last_error();
    return e;
  }
  std::string failure() {
    pzrt_env e;
    EXPECT_EQ(pzrt_env_discover(&e), -1);
    return pzrt_last_error();
  }

private:
  pzrt::test::LauncherEnvGuard env_;
};

TEST_F(EnvTest, NoLauncherIsSingleRank) {
  pzrt_env e = discover();
  EXPECT_EQ(e.rank, 0);
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.local_rank, 0);
  EXPECT_EQ(e.local_size, 1);
  EXPECT_STREQ(e.source, "none");
  EXPECT_STREQ(e.master_addr, "");
  EXPECT_EQ(e.master_port, 0);
}

TEST_F(EnvTest, OpenMpi) {
  set("OMPI_COMM_WORLD_RANK", "5");
  set("OMPI_COMM_WORLD_SIZE", "8");
  set("OMPI_COMM_WORLD_LOCAL_RANK", "1");
  set("OMPI_COMM_WORLD_LOCAL_SIZE", "4");
  pzrt_env e = discover();
  EXPECT_EQ(e.rank, 5);
  EXPECT_EQ(e.world_size, 8);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_size, 4);
  EXPECT_STREQ(e.source, "openmpi");
}

TEST_F(EnvTest, OpenMpiWithoutLocalInfoAssumesOneNode) {
  set("OMPI_COMM_WORLD_RANK", "2");
  set("OMPI_COMM_WORLD_SIZE", "3");
  pzrt_env e = discover();
  EXPECT_EQ(e.local_rank, 2);
  EXPECT_EQ(e.local_size, 3);
}

TEST_F(EnvTest, Pmi) {
  set("PMI_RANK", "3");
  set("PMI_SIZE", "4");
  set("MPI_LOCALRANKID", "1");
  set("MPI_LOCALNRANKS", "2");
  pzrt_env e = discover();
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_size, 2);
  EXPECT_STREQ(e.source, "pmi");
}

TEST_F(EnvTest, Torchrun) {
  set("RANK", "6");
  set("WORLD_SIZE", "16");
  set("LOCAL_RANK", "6");
  set("LOCAL_WORLD_SIZE", "8");
  set("MASTER_ADDR", "node17.cluster");
  set("MASTER_PORT", "29500");
  pzrt_env e = discover();
  EXPECT_EQ(e.rank, 6);
  EXPECT_EQ(e.world_size, 16);
  EXPECT_EQ(e.local_rank, 6);
  EXPECT_EQ(e.local_size, 8);
  EXPECT_STREQ(e.source, "torchrun");
  EXPECT_STREQ(e.master_addr, "node17.cluster");
  EXPECT_EQ(e.master_port, 29500);
}

TEST_F(EnvTest, SlurmWithTasksPerNodeList) {
  set("SLURM_PROCID", "4");
  set("SLURM_NTASKS", "5");
  set("SLURM_LOCALID", "0");
  set("SLURM_TASKS_PER_NODE", "2(x2),1");
  set("SLURM_NODEID", "2");
  pzrt_env e = discover();
  EXPECT_EQ(e.rank, 4);
  EXPECT_EQ(e.world_size, 5);
  EXPECT_EQ(e.local_rank, 0);
  EXPECT_EQ(e.local_size, 1);
  EXPECT_STREQ(e.source, "slurm");
  set("SLURM_NODEID", "1");
  set("SLURM_PROCID", "3");
  set("SLURM_LOCALID", "1");
  e = discover();
  EXPECT_EQ(e.local_size, 2);
}

TEST_F(EnvTest, SlurmNtasksPerNode) {
  set("SLURM_PROCID", "1");
  set("SLURM_NTASKS", "4");
  set("SLURM_LOCALID", "1");
  set("SLURM_NTASKS_PER_NODE", "2");
  pzrt_env e = discover();
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.local_size, 2);
}

TEST_F(EnvTest, MpiLauncherWinsOverSlurm) {
  set("SLURM_PROCID", "0");
  set("SLURM_NTASKS", "1");
  set("OMPI_COMM_WORLD_RANK", "1");
  set("OMPI_COMM_WORLD_SIZE", "2");
  EXPECT_STREQ(discover().source, "openmpi");
}

TEST_F(EnvTest, TorchrunWinsOverSlurm) {
  set("SLURM_PROCID", "0");
  set("SLURM_NTASKS", "1");
  set("RANK", "3");
  set("WORLD_SIZE", "4");
  pzrt_env e = discover();
  EXPECT_STREQ(e.source, "torchrun");
  EXPECT_EQ(e.rank, 3);
}

TEST_F(EnvTest, NonNumberIsAnError) {
  set("RANK", "one");
  set("WORLD_SIZE", "2");
  std::string msg = failure();
  EXPECT_NE(msg.find("RANK='one'"), std::string::npos) << msg;
}

TEST_F(EnvTest, NegativeIsAnError) {
  set("OMPI_COMM_WORLD_RANK", "-1");
  set("OMPI_COMM_WORLD_SIZE", "2");
  EXPECT_NE(failure().find("OMPI_COMM_WORLD_RANK='-1'"), std::string::npos);
}

TEST_F(EnvTest, TrailingGarbageIsAnError) {
  set("PMI_RANK", "1x");
  set("PMI_SIZE", "2");
  EXPECT_NE(failure().find("PMI_RANK"), std::string::npos);
}

TEST_F(EnvTest, RankNotBelowSizeIsAnError) {
  set("RANK", "4");
  set("WORLD_SIZE", "4");
  std::string msg = failure();
  EXPECT_NE(msg.find("RANK=4 is not below WORLD_SIZE=4"), std::string::npos) << msg;
}

TEST_F(EnvTest, ZeroSizeIsAnError) {
  set("SLURM_PROCID", "0");
  set("SLURM_NTASKS", "0");
  EXPECT_NE(failure().find("SLURM_NTASKS=0"), std::string::npos);
}

TEST_F(EnvTest, RankWithoutSizeIsAnError) {
  set("RANK", "0");
  std::string msg = failure();
  EXPECT_NE(msg.find("WORLD_SIZE is not set"), std::string::npos) << msg;
}

TEST_F(EnvTest, LocalRankNotBelowLocalSizeIsAnError) {
  set("RANK", "3");
  set("WORLD_SIZE", "4");
  set("LOCAL_RANK", "2");
  set("LOCAL_WORLD_SIZE", "2");
  EXPECT_NE(failure().find("LOCAL_RANK=2"), std::string::npos);
}

TEST_F(EnvTest, BadPortIsAnError) {
  set("MASTER_PORT", "70000");
  EXPECT_NE(failure().find("MASTER_PORT=70000"), std::string::npos);
}

TEST_F(EnvTest, MalformedSlurmTaskListIsAnError) {
  set("SLURM_PROCID", "0");
  set("SLURM_NTASKS", "2");
  set("SLURM_LOCALID", "0");
  set("SLURM_TASKS_PER_NODE", "2(x");
  EXPECT_NE(failure().find("SLURM_TASKS_PER_NODE"), std::string::npos);
}

} // namespace
