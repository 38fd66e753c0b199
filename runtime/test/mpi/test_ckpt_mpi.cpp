// Collective checkpoint save on n ranks (2-way sharded along dim 0, replicated
// beyond 2 ranks), loaded 4-way along dim 1 and unsharded, bit-exact.
#include "mpi_common.h"

#include "pzrt/checkpoint.h"
#include "pzrt/error.h"

#include "io/fsutil.h"
#include "io/json.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int64_t R = 8, C = 8;

// Element (i, j) of the global weight: distinct bit patterns, negative zero included.
float weight(int64_t i, int64_t j) {
  if (i == 3 && j == 5)
    return -0.0f;
  return static_cast<float>(i) * 1.1f - static_cast<float>(j) * 0.013f;
}

std::vector<float> block(int64_t r0, int64_t rows, int64_t c0, int64_t cols) {
  std::vector<float> m;
  for (int64_t i = r0; i < r0 + rows; ++i)
    for (int64_t j = c0; j < c0 + cols; ++j)
      m.push_back(weight(i, j));
  return m;
}

std::string ckptDir(int n) {
  const char *base = std::getenv("PZRT_TEST_TMPDIR");
  return std::string(base ? base : "/tmp") + "/pzrt-mpi-ckpt-np" + std::to_string(n);
}

class MpiCheckpoint : public ::testing::Test {
protected:
  void SetUp() override {
    n = pzrt_comm_size(gWorld);
    r = pzrt_comm_rank(gWorld);
    dir = ckptDir(n) + "/ck";
    if (r == 0) {
      pzrt::removeTree(ckptDir(n));
      pzrt::makeDirs(ckptDir(n));
    }
    ASSERT_EQ(pzrt_barrier(gWorld), 0);
  }
  void TearDown() override {
    pzrt_barrier(gWorld);
    if (r == 0)
      pzrt::removeTree(ckptDir(n));
  }
  int n = 0, r = 0;
  std::string dir;
};

TEST_F(MpiCheckpoint, SaveShardedLoadResharded) {
  const int64_t shape[2] = {R, C}, off[2] = {(r % 2) * R / 2, 0}, ext[2] = {R / 2, C};
  auto mine = block(off[0], R / 2, 0, C);
  float bias[3] = {0.5f, -1.5f, 2.0f};
  const int64_t bshape[1] = {3};
  int64_t counter = 77;
  pzrt_ckpt_writer *w = pzrt_ckpt_writer_create(dir.c_str(), gWorld);
  ASSERT_EQ(pzrt_ckpt_writer_add(w, "w", PZRT_F32, 2, shape, off, ext, mine.data()), 0);
  ASSERT_EQ(pzrt_ckpt_writer_add(w, "b", PZRT_F32, 1, bshape, nullptr, nullptr, bias), 0);
  ASSERT_EQ(pzrt_ckpt_writer_add(w, "counter", PZRT_I64, 0, nullptr, nullptr, nullptr, &counter), 0);
  pzrt_ckpt_info info{12, R"({"dp": 2})", 5, 12, 384, nullptr};
  ASSERT_EQ(pzrt_ckpt_writer_commit(w, &info), 0) << pzrt_last_error();
  pzrt_ckpt_writer_destroy(w);

  // The index lists each distinct slice once, whatever the replication.
  std::string text;
  ASSERT_EQ(pzrt::readFile(dir + "/index.json", text), 0);
  pzrt::json::Value idx;
  std::string err;
  ASSERT_TRUE(pzrt::json::parse(text, idx, err)) << err;
  EXPECT_EQ(idx.find("world_size")->asInt(), n);
  EXPECT_EQ(idx.find("files")->size(), static_cast<size_t>(n));
  EXPECT_EQ(idx.find("tensors")->find("w")->find("slices")->size(), 2u);
  EXPECT_EQ(idx.find("tensors")->find("b")->find("slices")->size(), 1u);
  EXPECT_EQ(idx.find("plan")->find("dp")->asInt(), 2);

  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  ASSERT_NE(ck, nullptr) << pzrt_last_error();
  // 4-way along dim 1: part r % 4 takes columns [2p, 2p+2).
  const int64_t p = r % 4, loff[2] = {0, 2 * p}, lext[2] = {R, 2};
  std::vector<float> part(static_cast<size_t>(R * 2));
  ASSERT_EQ(pzrt_ckpt_load(ck, "w", PZRT_F32, 2, shape, loff, lext, part.data()), 0)
      << pzrt_last_error();
  auto want = block(0, R, 2 * p, 2);
  EXPECT_EQ(0, std::memcmp(part.data(), want.data(), want.size() * 4)); // bit-exact (-0.0 too)
  std::vector<float> full(static_cast<size_t>(R * C));
  ASSERT_EQ(pzrt_ckpt_load(ck, "w", PZRT_F32, 2, shape, nullptr, nullptr, full.data()), 0);
  auto all = block(0, R, 0, C);
  EXPECT_EQ(0, std::memcmp(full.data(), all.data(), all.size() * 4));
  float b[3];
  ASSERT_EQ(pzrt_ckpt_load(ck, "b", PZRT_F32, 1, bshape, nullptr, nullptr, b), 0);
  EXPECT_EQ(b[1], -1.5f);
  int64_t c = 0;
  ASSERT_EQ(pzrt_ckpt_load(ck, "counter", PZRT_I64, 0, nullptr, nullptr, nullptr, &c), 0);
  EXPECT_EQ(c, 77);
  pzrt_ckpt_info got;
  pzrt_ckpt_get_info(ck, &got);
  EXPECT_EQ(got.step, 12);
  EXPECT_EQ(got.data_position, 384);
  pzrt_ckpt_close(ck);
}

// ZeRO flat shards: rank r holds [r*c, min(N, (r+1)*c)) of a 7 x 9 tensor
// (N = 63, c = ceil(63 / n), so the last shard is short), loaded whole, as
// 3 other flat chunks and as a box.
TEST_F(MpiCheckpoint, FlatShardsSaveAndLoadResharded) {
  const int64_t shape[2] = {7, 9}, N = 63, c = (N + n - 1) / n;
  const int64_t begin = std::min(N, r * c), end = std::min(N, (r + 1) * c);
  auto all = block(0, 7, 0, 9);
  std::vector<float> mine(all.begin() + begin, all.begin() + end);
  pzrt_ckpt_writer *w = pzrt_ckpt_writer_create(dir.c_str(), gWorld);
  ASSERT_EQ(pzrt_ckpt_writer_add_flat(w, "w", PZRT_F32, 2, shape, begin, end, mine.data()), 0)
      << pzrt_last_error();
  pzrt_ckpt_info info{3, nullptr, 0, 3, 0, nullptr};
  ASSERT_EQ(pzrt_ckpt_writer_commit(w, &info), 0) << pzrt_last_error();
  pzrt_ckpt_writer_destroy(w);

  std::string text, err;
  ASSERT_EQ(pzrt::readFile(dir + "/index.json", text), 0);
  pzrt::json::Value idx;
  ASSERT_TRUE(pzrt::json::parse(text, idx, err)) << err;
  EXPECT_EQ(idx.find("version")->asInt(), 2);
  EXPECT_EQ(idx.find("tensors")->find("w")->find("slices")->size(), static_cast<size_t>(n));

  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  ASSERT_NE(ck, nullptr) << pzrt_last_error();
  std::vector<float> full(63);
  ASSERT_EQ(pzrt_ckpt_load(ck, "w", PZRT_F32, 2, shape, nullptr, nullptr, full.data()), 0)
      << pzrt_last_error();
  EXPECT_EQ(0, std::memcmp(full.data(), all.data(), all.size() * 4)); // -0.0 too
  for (int64_t k = 0; k < 3; ++k) { // chunks of 21
    std::vector<float> part(21);
    ASSERT_EQ(pzrt_ckpt_load_flat(ck, "w", PZRT_F32, 2, shape, 21 * k, 21 * k + 21, part.data()),
              0)
        << pzrt_last_error();
    EXPECT_EQ(0, std::memcmp(part.data(), all.data() + 21 * k, 21 * 4)) << "chunk " << k;
  }
  const int64_t off[2] = {2, 3}, ext[2] = {4, 5};
  std::vector<float> box(20);
  ASSERT_EQ(pzrt_ckpt_load(ck, "w", PZRT_F32, 2, shape, off, ext, box.data()), 0);
  auto want = block(2, 4, 3, 5);
  EXPECT_EQ(0, std::memcmp(box.data(), want.data(), want.size() * 4));
  pzrt_ckpt_close(ck);
}

TEST_F(MpiCheckpoint, FailureOnOneRankFailsEveryRank) {
  float x[2] = {1, 2};
  const int64_t shape[1] = {2};
  pzrt_ckpt_writer *w = pzrt_ckpt_writer_create(dir.c_str(), gWorld);
  ASSERT_EQ(pzrt_ckpt_writer_add(w, "x", PZRT_F32, 1, shape, nullptr, nullptr, x), 0);
  // Only rank 0 uses the plan (it writes index.json); make it invalid there.
  pzrt_ckpt_info info{3, r == 0 ? "{not json" : "{}", 0, 0, 0, nullptr};
  EXPECT_EQ(pzrt_ckpt_writer_commit(w, &info), -1);
  std::string msg = pzrt_last_error();
  if (r == 0)
    EXPECT_NE(msg.find("the plan is not valid JSON"), std::string::npos) << msg;
  else
    EXPECT_NE(msg.find("failed on another rank"), std::string::npos) << msg;
  pzrt_ckpt_writer_destroy(w);
  EXPECT_FALSE(pzrt::pathExists(dir)); // nothing was renamed into place
}

} // namespace
