// Box sharding (tensor parallelism) in the training driver: where each
// rank's block starts, how a padded dim's last blocks are clipped, and the
// checks of box-sharded specs.
#include "train/train_internal.h"

#include "train_test_models.h"

#include <algorithm>
#include <cstring>

namespace {

namespace tr = pzrt::train;

const uint32_t kTp = 1u << PZRT_AXIS_TP;

TEST(BoxPlacement, BlocksFollowTheRanksCoordinates) {
  pzrt_program m{};
  m.grid[PZRT_AXIS_DP_REPLICATE] = 2;
  m.grid[PZRT_AXIS_TP] = 2; // rank = rep * 2 + tp
  static const int64_t global[2] = {10, 64};
  static const uint32_t rows[2] = {kTp, 0}, cols[2] = {0, kTp};
  pzrt_tensor_spec s = spec("w", PZRT_F32, {5, 64});
  s.global_shape = global;
  s.dim_axes = rows;
  const int64_t rowOffset[4] = {0, 5, 0, 5}; // dp replicas hold the same blocks
  for (int r = 0; r < 4; ++r) {
    std::vector<int64_t> off = tr::sliceOffsets(&m, s, r);
    EXPECT_EQ(off, (std::vector<int64_t>{rowOffset[r], 0})) << "rank " << r;
  }
  s = spec("w", PZRT_F32, {10, 32});
  s.global_shape = global;
  s.dim_axes = cols;
  EXPECT_EQ(tr::sliceOffsets(&m, s, 3), (std::vector<int64_t>{0, 32}));
  EXPECT_EQ(tr::sliceOffsets(&m, s, 2), (std::vector<int64_t>{0, 0}));
}

TEST(BoxPlacement, PaddedBlocksAreClippedToTheWholeTensor) {
  pzrt_program m{};
  m.grid[PZRT_AXIS_TP] = 4;
  static const int64_t global[2] = {10, 3}; // 10 rows over 4 ranks: 3 each, padded to 12
  static const uint32_t rows[2] = {kTp, 0};
  pzrt_tensor_spec s = spec("w", PZRT_F32, {3, 3});
  s.global_shape = global;
  s.dim_axes = rows;
  const int64_t offset[4] = {0, 3, 6, 9}, extent[4] = {3, 3, 3, 1};
  for (int r = 0; r < 4; ++r) {
    tr::SlicePart p = tr::slicePart(&m, s, r);
    EXPECT_EQ(p.offsets, (std::vector<int64_t>{offset[r], 0})) << "rank " << r;
    EXPECT_EQ(p.extents, (std::vector<int64_t>{extent[r], 3})) << "rank " << r;
    EXPECT_EQ(p.clipped, r == 3) << "rank " << r;
  }
  static const int64_t few[2] = {5, 3}; // 5 rows over 4 ranks: 2 each; rank 3 holds none
  s.global_shape = few;
  s.shape[0] = 2;
  tr::SlicePart last = tr::slicePart(&m, s, 3);
  EXPECT_EQ(last.offsets, (std::vector<int64_t>{5, 0}));
  EXPECT_EQ(last.extents, (std::vector<int64_t>{0, 3}));
  EXPECT_TRUE(last.clipped);
}

// placePart/takePart on a block clipped in a non-leading dim (a head's
// columns, [2, 5] over 2 ranks: 3 columns each, rank 1 holds 2), with
// 2-byte elements, and on an empty part.
TEST(BoxPlacement, ClippedPartsGoToTheFrontOfTheBlockAndBack) {
  pzrt_program m{};
  m.grid[PZRT_AXIS_TP] = 2;
  static const int64_t global[2] = {2, 5};
  static const uint32_t cols[2] = {0, kTp};
  pzrt_tensor_spec s = spec("w", PZRT_BF16, {2, 3});
  s.global_shape = global;
  s.dim_axes = cols;
  tr::SlicePart p = tr::slicePart(&m, s, 1);
  ASSERT_TRUE(p.clipped);
  EXPECT_EQ(p.offsets, (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(p.extents, (std::vector<int64_t>{2, 2}));
  const uint16_t part[4] = {11, 12, 21, 22}; // rows of the 2 real columns
  uint16_t block[6];
  std::fill(block, block + 6, 0xffff);
  tr::placePart(s, p, part, block);
  EXPECT_EQ(std::vector<uint16_t>(block, block + 6),
            (std::vector<uint16_t>{11, 12, 0, 21, 22, 0}));
  std::vector<unsigned char> back = tr::takePart(s, p, block);
  ASSERT_EQ(back.size(), sizeof(part));
  EXPECT_EQ(std::memcmp(back.data(), part, sizeof(part)), 0);

  static const int64_t narrow[2] = {2, 1}; // 1 column over 2 ranks: rank 1 holds none
  s.global_shape = narrow;
  s.shape[1] = 1;
  tr::SlicePart none = tr::slicePart(&m, s, 1);
  EXPECT_EQ(none.extents, (std::vector<int64_t>{2, 0}));
  uint16_t one[2] = {7, 7};
  tr::placePart(s, none, nullptr, one);
  EXPECT_EQ(one[0], 0);
  EXPECT_EQ(one[1], 0);
  EXPECT_TRUE(tr::takePart(s, none, one).empty());
}

std::string validateError(const pzrt_program &m) {
  try {
    tr::validateModel(&m);
  } catch (const tr::Failure &f) {
    return f.message;
  }
  return "(accepted)";
}

class BoxTrainTest : public TrainTest {};

TEST_F(BoxTrainTest, ValidateChecksBoxSpecs) {
  TestModel t;
  makeBigram(t, 2, 8, 16, 1, false);
  t.model.world_size = 2;
  t.model.dp_size = 1;
  t.model.grid[PZRT_AXIS_DP_REPLICATE] = 1;
  t.model.grid[PZRT_AXIS_TP] = 2;
  static const int64_t g[2] = {16, 16};
  static const uint32_t rows[2] = {kTp, 0}, both[2] = {kTp, kTp};
  t.states[0] = spec("exp_avg:emb", PZRT_F32, {8, 16});
  t.states[0].global_shape = g;
  t.states[0].dim_axes = rows;
  EXPECT_EQ(validateError(t.model), "(accepted)");
  t.states[0].shape[0] = 7; // ceil(16 / 2) != 7
  EXPECT_NE(validateError(t.model).find("'exp_avg:emb' dim 0: the local size 7 split over the "
                                        "grid axes 0x10 (2 ranks) must be the global 16 over "
                                        "the ranks, rounded up"),
            std::string::npos)
      << validateError(t.model);
  static const int64_t padded[2] = {15, 16}; // a padded vocabulary: ceil(15 / 2) = 8
  t.states[0].global_shape = padded;
  t.states[0].shape[0] = 8;
  EXPECT_EQ(validateError(t.model), "(accepted)");
  t.states[0].shape[0] = 7;
  EXPECT_NE(validateError(t.model).find("the local size 7 split over the grid axes 0x10 (2 "
                                        "ranks) must be the global 15"),
            std::string::npos)
      << validateError(t.model);
  t.states[0].global_shape = g;
  t.states[0].shape[0] = 8;
  t.states[0].shape[1] = 8;
  t.states[0].dim_axes = both; // one axis splits two dims
  EXPECT_NE(validateError(t.model).find("dim 1: the local size 8 split over"), std::string::npos)
      << validateError(t.model);
  t.states[0].shape[1] = 16;
  t.states[0].dim_axes = rows;
  t.states[0].shard_axes = kTp;
  EXPECT_NE(validateError(t.model).find("is box-sharded, so it needs a global_shape, no offsets "
                                        "and no flat sharding"),
            std::string::npos)
      << validateError(t.model);
}

} // namespace
