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

// The bigram model's program on tp 2 (its states are replaced by the tests).
void makeTp2Bigram(TestModel &t) {
  makeBigram(t, 2, 8, 16, 1, false);
  t.model.world_size = 2;
  t.model.dp_size = 1;
  t.model.grid[PZRT_AXIS_DP_REPLICATE] = 1;
  t.model.grid[PZRT_AXIS_TP] = 2;
}

TEST_F(BoxTrainTest, ValidateChecksBoxSpecs) {
  TestModel t;
  makeTp2Bigram(t);
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
  t.states[0].shard_axes = kTp; // the axis that splits the rows cannot also chunk the block
  t.states[0].global_ndim = 2;
  EXPECT_NE(validateError(t.model).find("dim 0: the local size 8 split over the grid axes 0x10 "
                                        "(2 ranks) must be the global 16 over the ranks, rounded "
                                        "up, each axis splitting one dim and none the flat chunks"),
            std::string::npos)
      << validateError(t.model);
}

// tp with ZeRO: the flat chunk of the rank's block. Its local shape is
// ceil(block elements / dp_shard), not ceil(whole elements / dp_shard).
TEST_F(BoxTrainTest, ValidateChecksChunksOfBlocks) {
  TestModel t;
  makeBigram(t, 2, 8, 16, 1, false);
  t.model.world_size = 4;
  t.model.dp_size = 2;
  t.model.grid[PZRT_AXIS_DP_REPLICATE] = 1;
  t.model.grid[PZRT_AXIS_DP_SHARD] = 2;
  t.model.grid[PZRT_AXIS_TP] = 2;
  static const int64_t g[2] = {15, 16}; // rows over tp: blocks of 8 x 16 = 128 elements
  static const uint32_t rows[2] = {kTp, 0};
  t.states[0] = spec("exp_avg:emb", PZRT_F32, {64});
  t.states[0].global_shape = g;
  t.states[0].global_ndim = 2;
  t.states[0].shard_axes = 1u << PZRT_AXIS_DP_SHARD;
  t.states[0].dim_axes = rows;
  EXPECT_EQ(validateError(t.model), "(accepted)");
  t.states[0].shape[0] = 120; // ceil(240 / 2): a chunk of the whole tensor
  EXPECT_NE(validateError(t.model).find("its chunk must be ceil(128 / 2) = 64 elements"),
            std::string::npos)
      << validateError(t.model);
}

// The chunks of a padded block ([5, 3] rows over tp 2: blocks of 3 rows,
// the last holding 2 rows and a row of padding; each block in 2 chunks of
// 5 elements over dp_shard), as the regions of the whole tensor they hold.
TEST(BoxPlacement, ChunksOfBlocksAreRegionsOfTheTensor) {
  pzrt_program m{};
  m.grid[PZRT_AXIS_DP_SHARD] = 2;
  m.grid[PZRT_AXIS_TP] = 2; // rank = dp_shard x 2 + tp
  static const int64_t global[2] = {5, 3};
  static const uint32_t rows[2] = {kTp, 0};
  pzrt_tensor_spec s = spec("w", PZRT_F32, {5});
  s.global_shape = global;
  s.global_ndim = 2;
  s.shard_axes = 1u << PZRT_AXIS_DP_SHARD;
  s.dim_axes = rows;
  EXPECT_EQ(tr::blockShape(&m, s), (std::vector<int64_t>{3, 3}));
  using R = std::vector<std::vector<int64_t>>; // {offsets, extents, at} per region
  auto regions = [&](int rank) {
    R out;
    for (const tr::ChunkRegion &c : tr::chunkRegions(&m, s, rank)) {
      out.push_back(c.offsets);
      out.push_back(c.extents);
      out.push_back(c.at);
    }
    return out;
  };
  // tp 0, chunk 0: block elements [0, 5): row 0 and the first 2 of row 1.
  EXPECT_EQ(regions(0), (R{{0, 0}, {1, 3}, {0, 0}, {1, 0}, {1, 2}, {1, 0}}));
  // tp 0, chunk 1: [5, 9): the last of row 1, then row 2.
  EXPECT_EQ(regions(2), (R{{1, 2}, {1, 1}, {1, 2}, {2, 0}, {1, 3}, {2, 0}}));
  // tp 1 (rows 3 and 4, then padding), chunk 1: the last of row 4; the
  // padding row holds nothing.
  EXPECT_EQ(regions(3), (R{{4, 2}, {1, 1}, {1, 2}}));
  EXPECT_EQ(tr::flatRange(&m, s, 3).begin, 5);

  // Rank 1 (tp 1, chunk 0): rows 3 and 4 of the tensor, copied in and out.
  float chunk[5] = {-1, -1, -1, -1, -1};
  const float row3[3] = {30, 31, 32}, row4[2] = {40, 41};
  std::vector<tr::ChunkRegion> cs = tr::chunkRegions(&m, s, 1);
  ASSERT_EQ(cs.size(), 2u);
  tr::copyRegionRows(&m, s, 1, cs[0], const_cast<float *>(row3), chunk, /*toChunk=*/true);
  tr::copyRegionRows(&m, s, 1, cs[1], const_cast<float *>(row4), chunk, /*toChunk=*/true);
  EXPECT_EQ(std::vector<float>(chunk, chunk + 5), (std::vector<float>{30, 31, 32, 40, 41}));
  float back[2] = {0, 0};
  tr::copyRegionRows(&m, s, 1, cs[1], back, chunk, /*toChunk=*/false);
  EXPECT_EQ(back[0], 40);
  EXPECT_EQ(back[1], 41);
}

} // namespace

namespace {

// A fused q/k/v weight laid out per rank (split_groups 3): 12 rows over
// tp 2, parts of 4 rows, each rank's share 2 rows of each part. Rank 1's
// block (program rows 6..11) is stored rows 2-3 (q), 6-7 (k) and 10-11 (v).
TEST(BoxPlacement, SplitGroupsMapBlocksToTheStoredParts) {
  pzrt_program m{};
  m.grid[PZRT_AXIS_TP] = 2;
  static const int64_t global[2] = {12, 5};
  static const uint32_t rows[2] = {kTp, 0};
  pzrt_tensor_spec s = spec("c_attn.weight", PZRT_F32, {6, 5});
  s.global_shape = global;
  s.dim_axes = rows;
  s.split_groups = 3;
  using P = std::vector<std::vector<int64_t>>; // {offsets, extents, {at}} per piece
  auto pieces = [&](std::vector<int64_t> off, std::vector<int64_t> ext) {
    P out;
    for (const tr::StoredPiece &p : tr::storedPieces(&m, s, off, ext)) {
      out.push_back(p.offsets);
      out.push_back(p.extents);
      out.push_back({p.at});
    }
    return out;
  };
  EXPECT_EQ(pieces({6, 0}, {6, 5}),
            (P{{2, 0}, {2, 5}, {0}, {6, 0}, {2, 5}, {2}, {10, 0}, {2, 5}, {4}}));
  EXPECT_EQ(pieces({0, 0}, {6, 5}),
            (P{{0, 0}, {2, 5}, {0}, {4, 0}, {2, 5}, {2}, {8, 0}, {2, 5}, {4}}));
  // A part of a block (a ZeRO chunk's region): program rows 7..9, columns 1..2.
  EXPECT_EQ(pieces({7, 1}, {3, 2}), (P{{3, 1}, {1, 2}, {0}, {6, 1}, {2, 2}, {1}}));
  s.split_groups = 0; // the stored layout: the region itself
  EXPECT_EQ(pieces({7, 1}, {3, 2}), (P{{7, 1}, {3, 2}, {0}}));
}

TEST_F(BoxTrainTest, ValidateChecksSplitGroups) {
  TestModel t;
  makeTp2Bigram(t);
  static const int64_t g[2] = {12, 16};
  static const uint32_t rows[2] = {kTp, 0};
  t.states[0] = spec("exp_avg:emb", PZRT_F32, {6, 16});
  t.states[0].global_shape = g;
  t.states[0].dim_axes = rows;
  t.states[0].split_groups = 3;
  EXPECT_EQ(validateError(t.model), "(accepted)");
  t.states[0].split_groups = 4; // 12 rows are not 4 parts of 2 ranks' equal shares
  EXPECT_NE(validateError(t.model).find("dim 0 of 12 is not 4 parts per rank over 2 ranks"),
            std::string::npos)
      << validateError(t.model);
  t.states[0].split_groups = 3;
  t.states[0].dim_axes = nullptr; // nothing split
  t.states[0].global_shape = nullptr;
  t.states[0].shape[0] = 12;
  EXPECT_NE(validateError(t.model).find("has split_groups 3, which needs one box-split dim"),
            std::string::npos)
      << validateError(t.model);
}

} // namespace
