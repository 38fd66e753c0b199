// Flat (ZeRO) checkpoint slices: saved by several writers (threads standing
// in for ranks), loaded as boxes and as other flat splits, mixed with box
// slices, and the index checks that reject overlaps and gaps.
#include "pzrt/checkpoint.h"
#include "pzrt/error.h"

#include "io/ckpt_common.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "test_util.h"
#include "thread_comm.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace {

using pzrt::test::TempDir;
namespace json = pzrt::json;

// Element i of the flattened test tensor: distinct and exact in float.
float val(int64_t i) { return static_cast<float>(i) * 0.5f + 0.25f; }

std::vector<float> vals(int64_t begin, int64_t end) {
  std::vector<float> v;
  for (int64_t i = begin; i < end; ++i)
    v.push_back(val(i));
  return v;
}

std::string lastError() { return pzrt_last_error(); }

json::Value readJson(const std::string &path) {
  json::Value v;
  std::string err;
  EXPECT_TRUE(json::parse(pzrt::test::readText(path), v, err)) << path << ": " << err;
  return v;
}

// The "slices" of tensor `name` in index.json, as text.
std::string slicesOf(const json::Value &index, const char *name) {
  const json::Value *t = index.find("tensors")->find(name);
  return t ? json::dump(*t->find("slices")) : "(missing)";
}

struct Saved {
  int rc = -1;
  std::string error;
};

// Saves tensor "w" (global shape `shape`) from `ranks` writers; writer r
// holds flat shard k = r % shards (ranks beyond `shards` are replicas), the
// ZeRO chunk rule: [k*c, min(N, (k+1)*c)) with c = ceil(N / shards).
std::vector<Saved> saveFlat(const std::string &dir, std::vector<int64_t> shape, int ranks,
                            int shards) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  const int64_t c = (n + shards - 1) / shards;
  std::vector<Saved> out(static_cast<size_t>(ranks));
  pzrt::test::runRanks(ranks, [&](int r, pzrt_comm *comm) {
    const int64_t k = r % shards, begin = std::min(n, k * c), end = std::min(n, (k + 1) * c);
    std::vector<float> data = vals(begin, end);
    const int64_t bshape[1] = {4};
    std::vector<float> b = {1, 2, 3, 4}; // a replicated box tensor beside it
    pzrt_ckpt_writer *w = pzrt_ckpt_writer_create(dir.c_str(), comm);
    int rc = pzrt_ckpt_writer_add_flat(w, "w", PZRT_F32, static_cast<int>(shape.size()),
                                       shape.data(), begin, end, data.data());
    rc = rc ? rc : pzrt_ckpt_writer_add(w, "b", PZRT_F32, 1, bshape, nullptr, nullptr, b.data());
    pzrt_ckpt_info info{7, nullptr, 1, 7, 0, nullptr};
    int crc = pzrt_ckpt_writer_commit(w, &info); // collective: every rank calls it
    out[static_cast<size_t>(r)].rc = rc ? rc : crc;
    out[static_cast<size_t>(r)].error = lastError();
    pzrt_ckpt_writer_destroy(w);
  });
  return out;
}

TEST(CheckpointFlat, ThreeShardsWithReplicasLoadAsAnyLayout) {
  TempDir d;
  const std::string dir = d.file("ck");
  const std::vector<int64_t> shape = {5, 7}; // N = 35, c = 12: [0,12) [12,24) [24,35)
  for (const Saved &s : saveFlat(dir, shape, 6, 3))
    ASSERT_EQ(s.rc, 0) << s.error;

  json::Value index = readJson(dir + "/index.json");
  EXPECT_EQ(index.find("version")->asInt(), 2);
  // Ranks 3-5 repeat ranks 0-2: listed once.
  EXPECT_EQ(slicesOf(index, "w"),
            R"([{"file":"rank00000.safetensors","flat":[0,12]},)"
            R"({"file":"rank00001.safetensors","flat":[12,24]},)"
            R"({"file":"rank00002.safetensors","flat":[24,35]}])");
  EXPECT_EQ(slicesOf(index, "b"),
            R"([{"file":"rank00000.safetensors","offsets":[0],"extents":[4]}])");
  pzrt::StFile f;
  ASSERT_EQ(pzrt::readSafetensors(dir + "/rank00004.safetensors", f), 0) << lastError();
  EXPECT_EQ(f.metadata.find("pzrt")->asString(),
            R"({"w":{"global_shape":[5,7],"flat":[12,24]},"b":{"global_shape":[4],"offsets":[0]}})");
  EXPECT_EQ(f.find("w")->shape, std::vector<int64_t>{12});

  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  ASSERT_NE(ck, nullptr) << lastError();
  std::vector<float> whole(35);
  ASSERT_EQ(pzrt_ckpt_load(ck, "w", PZRT_F32, 2, shape.data(), nullptr, nullptr, whole.data()), 0)
      << lastError();
  EXPECT_EQ(whole, vals(0, 35));
  // Two shards instead of three: c = 18.
  for (auto [b, e] : {std::pair<int64_t, int64_t>{0, 18}, {18, 35}}) {
    std::vector<float> part(static_cast<size_t>(e - b));
    ASSERT_EQ(pzrt_ckpt_load_flat(ck, "w", PZRT_F32, 2, shape.data(), b, e, part.data()), 0)
        << lastError();
    EXPECT_EQ(part, vals(b, e)) << "[" << b << ", " << e << ")";
  }
  // A box: rows 1..3, columns 2..5 (crosses all three flat shards).
  const int64_t off[2] = {1, 2}, ext[2] = {3, 4};
  std::vector<float> box(12), expected;
  for (int64_t i = 1; i < 4; ++i)
    for (int64_t j = 2; j < 6; ++j)
      expected.push_back(val(i * 7 + j));
  ASSERT_EQ(pzrt_ckpt_load(ck, "w", PZRT_F32, 2, shape.data(), off, ext, box.data()), 0)
      << lastError();
  EXPECT_EQ(box, expected);
  // An empty flat request, and one past the end.
  EXPECT_EQ(pzrt_ckpt_load_flat(ck, "w", PZRT_F32, 2, shape.data(), 10, 10, nullptr), 0);
  std::vector<float> over(6);
  EXPECT_EQ(pzrt_ckpt_load_flat(ck, "w", PZRT_F32, 2, shape.data(), 30, 36, over.data()), -1);
  EXPECT_NE(lastError().find("tensor 'w' (flat [30, 36)): flat slice [30, 36) is not a range "
                             "within the 35 elements of the global shape [5, 7]"),
            std::string::npos)
      << lastError();
  const int64_t wrong[1] = {35};
  EXPECT_EQ(pzrt_ckpt_load_flat(ck, "w", PZRT_F32, 1, wrong, 0, 35, whole.data()), -1);
  EXPECT_NE(lastError().find("tensor 'w' is F32 [5, 7], but F32 [35] was requested"),
            std::string::npos)
      << lastError();
  pzrt_ckpt_close(ck);
}

TEST(CheckpointFlat, EmptyRangesAreNotWritten) {
  TempDir d;
  const std::string dir = d.file("ck");
  // N = 5 over 4 shards: c = 2, so shard 3 starts at 6 > 5 and is empty.
  for (const Saved &s : saveFlat(dir, {5}, 4, 4))
    ASSERT_EQ(s.rc, 0) << s.error;
  pzrt::StFile f;
  ASSERT_EQ(pzrt::readSafetensors(dir + "/rank00003.safetensors", f), 0) << lastError();
  EXPECT_EQ(f.find("w"), nullptr);
  EXPECT_NE(f.find("b"), nullptr);
  EXPECT_EQ(slicesOf(readJson(dir + "/index.json"), "w"),
            R"([{"file":"rank00000.safetensors","flat":[0,2]},)"
            R"({"file":"rank00001.safetensors","flat":[2,4]},)"
            R"({"file":"rank00002.safetensors","flat":[4,5]}])");
  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  ASSERT_NE(ck, nullptr) << lastError();
  const int64_t shape[1] = {5};
  std::vector<float> whole(5);
  ASSERT_EQ(pzrt_ckpt_load(ck, "w", PZRT_F32, 1, shape, nullptr, nullptr, whole.data()), 0)
      << lastError();
  EXPECT_EQ(whole, vals(0, 5));
  pzrt_ckpt_close(ck);
}

TEST(CheckpointFlat, TensorWithoutElementsIsStillListed) {
  TempDir d;
  const std::string dir = d.file("ck");
  const int64_t shape[2] = {0, 3};
  pzrt_ckpt_writer *w = pzrt_ckpt_writer_create(dir.c_str(), nullptr);
  ASSERT_EQ(pzrt_ckpt_writer_add_flat(w, "z", PZRT_F32, 2, shape, 0, 0, nullptr), 0)
      << lastError();
  pzrt_ckpt_info info{1, nullptr, 0, 0, 0, nullptr};
  ASSERT_EQ(pzrt_ckpt_writer_commit(w, &info), 0) << lastError();
  pzrt_ckpt_writer_destroy(w);
  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  ASSERT_NE(ck, nullptr) << lastError();
  EXPECT_EQ(pzrt_ckpt_load_flat(ck, "z", PZRT_F32, 2, shape, 0, 0, nullptr), 0) << lastError();
  pzrt_ckpt_close(ck);
}

TEST(CheckpointFlat, AddFlatRejectsBadRanges) {
  TempDir d;
  const int64_t shape[2] = {2, 3};
  float data[6] = {};
  pzrt_ckpt_writer *w = pzrt_ckpt_writer_create(d.file("ck").c_str(), nullptr);
  struct Case {
    int64_t begin, end;
    const float *data;
    const char *message;
  } cases[] = {
      {4, 2, data, "tensor 'v': flat slice [4, 2) is not a range within the 6 elements"},
      {-1, 2, data, "flat slice [-1, 2) is not a range"},
      {0, 7, data, "flat slice [0, 7) is not a range within the 6 elements of the global shape [2, 3]"},
      {0, 2, nullptr, "tensor 'v' has no data"},
  };
  for (const Case &c : cases) {
    EXPECT_EQ(pzrt_ckpt_writer_add_flat(w, "v", PZRT_F32, 2, shape, c.begin, c.end, c.data), -1);
    EXPECT_NE(lastError().find(c.message), std::string::npos) << lastError();
  }
  ASSERT_EQ(pzrt_ckpt_writer_add_flat(w, "v", PZRT_F32, 2, shape, 0, 6, data), 0);
  EXPECT_EQ(pzrt_ckpt_writer_add_flat(w, "v", PZRT_F32, 2, shape, 0, 6, data), -1);
  EXPECT_NE(lastError().find("tensor 'v' was added twice"), std::string::npos) << lastError();
  pzrt_ckpt_writer_destroy(w);
}

TEST(CheckpointFlat, WritersWithOverlappingOrMissingRangesFail) {
  TempDir d;
  struct Case {
    int64_t range[2][2]; // rank 0, rank 1
    const char *message;
  } cases[] = {
      {{{0, 3}, {2, 4}}, "tensor 'v': slice flat [2, 4) in rank00001.safetensors partially "
                         "overlaps slice flat [0, 3) in rank00000.safetensors"},
      {{{0, 1}, {2, 4}}, "tensor 'v' of shape [4]: its slices cover 3 of 4 elements"},
  };
  for (const Case &c : cases) {
    const std::string dir = d.file("ck");
    std::vector<Saved> out(2);
    pzrt::test::runRanks(2, [&](int r, pzrt_comm *comm) {
      const int64_t shape[1] = {4};
      std::vector<float> data(4, 1.0f);
      pzrt_ckpt_writer *w = pzrt_ckpt_writer_create(dir.c_str(), comm);
      int rc = pzrt_ckpt_writer_add_flat(w, "v", PZRT_F32, 1, shape, c.range[r][0], c.range[r][1],
                                         data.data());
      pzrt_ckpt_info info{1, nullptr, 0, 0, 0, nullptr};
      int crc = pzrt_ckpt_writer_commit(w, &info);
      out[static_cast<size_t>(r)] = {rc ? rc : crc, lastError()};
      pzrt_ckpt_writer_destroy(w);
    });
    EXPECT_EQ(out[0].rc, -1);
    EXPECT_EQ(out[1].rc, -1);
    EXPECT_NE(out[0].error.find(c.message), std::string::npos) << out[0].error;
    EXPECT_NE(out[1].error.find("failed on another rank"), std::string::npos) << out[1].error;
    EXPECT_FALSE(pzrt::pathExists(dir + "/index.json"));
  }
}

// A rank file holding tensor "w" with this shape and data.
struct RankFile {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// Writes the rank files and an index.json of that version and "tensors".
void writeCheckpoint(const std::string &dir, int version, const std::string &tensorsJson,
                     const std::vector<RankFile> &files) {
  ASSERT_EQ(pzrt::makeDirs(dir), 0);
  for (const RankFile &f : files) {
    pzrt::StTensor t{"w", PZRT_F32, f.shape, 0, 0, f.data.data()};
    ASSERT_EQ(pzrt::writeSafetensors(dir + "/" + f.name, {t}, {}), 0) << lastError();
  }
  pzrt::test::writeBytes(dir + "/index.json",
                         R"({"format": "pzrt-checkpoint", "version": )" +
                             std::to_string(version) + R"(, "tensors": )" + tensorsJson + "}");
}

// A checkpoint of an earlier release (version 1, boxes only: columns 0..2
// and 3..7 of a 6 x 8 tensor) serves flat requests.
TEST(CheckpointFlat, OldBoxCheckpointLoadsThroughLoadFlat) {
  TempDir d;
  const std::string dir = d.file("ck");
  std::vector<float> left, right; // C order of each box
  for (int64_t i = 0; i < 6; ++i)
    for (int64_t j = 0; j < 8; ++j)
      (j < 3 ? left : right).push_back(val(i * 8 + j));
  ASSERT_NO_FATAL_FAILURE(writeCheckpoint(dir, 1, R"({"w": {"dtype": "F32", "shape": [6, 8], "slices": [
      {"file": "a.safetensors", "offsets": [0, 0], "extents": [6, 3]},
      {"file": "b.safetensors", "offsets": [0, 3], "extents": [6, 5]}]}})",
                                          {{"a.safetensors", {6, 3}, left},
                                           {"b.safetensors", {6, 5}, right}}));
  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  ASSERT_NE(ck, nullptr) << lastError();
  const int64_t shape[2] = {6, 8};
  // ZeRO chunks of 48 elements over 5 ranks: c = 10, the last one [40, 48).
  for (int64_t k = 0; k < 5; ++k) {
    const int64_t b0 = k * 10, e0 = std::min<int64_t>(48, b0 + 10);
    std::vector<float> part(static_cast<size_t>(e0 - b0));
    ASSERT_EQ(pzrt_ckpt_load_flat(ck, "w", PZRT_F32, 2, shape, b0, e0, part.data()), 0)
        << lastError();
    EXPECT_EQ(part, vals(b0, e0)) << "chunk " << k;
  }
  std::vector<float> odd(24);
  ASSERT_EQ(pzrt_ckpt_load_flat(ck, "w", PZRT_F32, 2, shape, 5, 29, odd.data()), 0);
  EXPECT_EQ(odd, vals(5, 29));
  pzrt_ckpt_close(ck);
}

// One tensor stored partly as a box (rows 0-1) and partly flat (the rest).
TEST(CheckpointFlat, MixedBoxAndFlatSlicesAssemble) {
  TempDir d;
  const std::string dir = d.file("ck");
  ASSERT_NO_FATAL_FAILURE(writeCheckpoint(dir, 2, R"({"w": {"dtype": "F32", "shape": [4, 6], "slices": [
      {"file": "a.safetensors", "offsets": [0, 0], "extents": [2, 6]},
      {"file": "b.safetensors", "flat": [12, 24]}]}})",
                                          {{"a.safetensors", {2, 6}, vals(0, 12)},
                                           {"b.safetensors", {12}, vals(12, 24)}}));
  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  ASSERT_NE(ck, nullptr) << lastError();
  const int64_t shape[2] = {4, 6}, off[2] = {1, 4}, ext[2] = {3, 2};
  std::vector<float> col(6);
  ASSERT_EQ(pzrt_ckpt_load(ck, "w", PZRT_F32, 2, shape, off, ext, col.data()), 0) << lastError();
  EXPECT_EQ(col, (std::vector<float>{val(10), val(11), val(16), val(17), val(22), val(23)}));
  std::vector<float> mid(8);
  ASSERT_EQ(pzrt_ckpt_load_flat(ck, "w", PZRT_F32, 2, shape, 8, 16, mid.data()), 0);
  EXPECT_EQ(mid, vals(8, 16));
  pzrt_ckpt_close(ck);
}

// A rank may hold several regions of one tensor (the flat chunk of a
// tensor-parallel block spans rows; a fused projection's heads are several
// column blocks): its file stores the first under the tensor's name and
// the others under NAME@1, NAME@2, which index.json (version 3) lists as
// each slice's "key".
TEST(CheckpointFlat, ARankSavesSeveralRegionsOfATensor) {
  TempDir d;
  const std::string dir = d.file("ck");
  const int64_t shape[2] = {4, 6}, top[2] = {0, 0}, rows2[2] = {2, 6}, last[2] = {3, 0},
                row[2] = {1, 6};
  std::vector<float> a = vals(0, 12), mid = vals(12, 18), end = vals(18, 24);
  pzrt_ckpt_writer *w = pzrt_ckpt_writer_create(dir.c_str(), nullptr);
  ASSERT_EQ(pzrt_ckpt_writer_add(w, "w", PZRT_F32, 2, shape, top, rows2, a.data()), 0);
  ASSERT_EQ(pzrt_ckpt_writer_add_flat(w, "w", PZRT_F32, 2, shape, 12, 18, mid.data()), 0);
  ASSERT_EQ(pzrt_ckpt_writer_add(w, "w", PZRT_F32, 2, shape, last, row, end.data()), 0);
  // The same elements twice, or another dtype or shape, are the caller's
  // mistakes.
  EXPECT_EQ(pzrt_ckpt_writer_add_flat(w, "w", PZRT_F32, 2, shape, 10, 13, mid.data()), -1);
  EXPECT_NE(lastError().find("tensor 'w' was added twice over the same elements ([0, 0]+[2, 6], "
                             "then flat [10, 13))"),
            std::string::npos)
      << lastError();
  const int64_t other[2] = {4, 5};
  EXPECT_EQ(pzrt_ckpt_writer_add_flat(w, "w", PZRT_F32, 2, other, 0, 1, mid.data()), -1);
  EXPECT_NE(lastError().find("tensor 'w' was added as F32 [4, 6] and again as F32 [4, 5]"),
            std::string::npos)
      << lastError();
  pzrt_ckpt_info info{3, nullptr, 1, 3, 0, nullptr};
  ASSERT_EQ(pzrt_ckpt_writer_commit(w, &info), 0) << lastError();
  pzrt_ckpt_writer_destroy(w);

  json::Value index = readJson(dir + "/index.json");
  EXPECT_EQ(index.find("version")->asInt(), 3);
  EXPECT_EQ(slicesOf(index, "w"),
            R"([{"file":"rank00000.safetensors","offsets":[0,0],"extents":[2,6]},)"
            R"({"file":"rank00000.safetensors","key":"w@1","flat":[12,18]},)"
            R"({"file":"rank00000.safetensors","key":"w@2","offsets":[3,0],"extents":[1,6]}])");
  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  ASSERT_NE(ck, nullptr) << lastError();
  std::vector<float> whole(24), col(4);
  ASSERT_EQ(pzrt_ckpt_load_flat(ck, "w", PZRT_F32, 2, shape, 0, 24, whole.data()), 0)
      << lastError();
  EXPECT_EQ(whole, vals(0, 24));
  const int64_t c5[2] = {0, 5}, colExt[2] = {4, 1};
  ASSERT_EQ(pzrt_ckpt_load(ck, "w", PZRT_F32, 2, shape, c5, colExt, col.data()), 0);
  EXPECT_EQ(col, (std::vector<float>{val(5), val(11), val(17), val(23)}));
  pzrt_ckpt_close(ck);
}

TEST(CheckpointFlat, IndexRejectsOverlapsGapsAndBadFlatSlices) {
  TempDir d;
  const std::string dir = d.file("ck");
  ASSERT_EQ(pzrt::makeDirs(dir), 0);
  struct Case {
    int version;
    const char *shape, *slices, *message;
  } cases[] = {
      {2, "[4]", R"({"file": "a", "flat": [0, 3]}, {"file": "b", "flat": [2, 4]})",
       "tensor 'w': slices in b and a overlap (flat [2, 4) and flat [0, 3))"},
      {2, "[4]", R"({"file": "a", "flat": [0, 3]})", "tensor 'w' of shape [4]: its slices cover 3 of 4"},
      {2, "[4]", R"({"file": "a", "flat": [2, 5]})",
       "tensor 'w' in a: flat slice [2, 5) is not a range within the 4 elements"},
      {2, "[2, 2]", R"({"file": "a", "flat": [0, 3]}, {"file": "b", "offsets": [1, 0], "extents": [1, 2]})",
       "slices in b and a overlap ([1, 0]+[1, 2] and flat [0, 3))"},
      {2, "[2, 2]", R"({"file": "a", "flat": [0, 1]}, {"file": "b", "offsets": [0, 1], "extents": [2, 1]})",
       "its slices cover 3 of 4 elements"},
      {1, "[4]", R"({"file": "a", "flat": [0, 4]})", "has a \"flat\" slice in a, which needs \"version\" 2"},
      {2, "[4]", R"({"file": "a", "key": "w@1", "flat": [0, 4]})",
       "slice in a: \"key\" must be a non-empty string and needs \"version\" 3"},
      {3, "[4]", R"({"file": "a", "key": "", "flat": [0, 4]})", "\"key\" must be a non-empty string"},
      {2, "[4]", R"({"file": "a", "flat": [4]})", "\"flat\" must be [begin, end]"},
      {2, "[4]", R"({"file": "a", "flat": [0, 4], "offsets": [0], "extents": [4]})",
       "comes without \"offsets\"/\"extents\""},
      {4, "[4]", R"({"file": "a", "offsets": [0], "extents": [4]})",
       "unsupported checkpoint \"version\" 4 (this runtime reads versions 1 to 3)"},
  };
  for (const Case &c : cases) {
    pzrt::test::writeBytes(dir + "/index.json",
                           std::string(R"({"format": "pzrt-checkpoint", "version": )") +
                               std::to_string(c.version) + R"(, "tensors": {"w": {"dtype": "F32", "shape": )" +
                               c.shape + R"(, "slices": [)" + c.slices + "]}}}");
    EXPECT_EQ(pzrt_ckpt_open(dir.c_str()), nullptr) << c.slices;
    EXPECT_NE(lastError().find(c.message), std::string::npos) << lastError();
  }
  // The valid counterpart of the mixed cases opens.
  pzrt::test::writeBytes(dir + "/index.json", R"({"format": "pzrt-checkpoint", "version": 2,
    "tensors": {"w": {"dtype": "F32", "shape": [2, 2], "slices": [{"file": "a", "flat": [0, 2]},
    {"file": "b", "offsets": [1, 0], "extents": [1, 2]}]}}})");
  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  EXPECT_NE(ck, nullptr) << lastError();
  pzrt_ckpt_close(ck);
}

// firstBoxIndexFrom and copyRegion against element-by-element loops, over
// many boxes and ranges of a 3 x 4 x 5 tensor.
// rangeBoxes: every range of a [3, 4, 5] tensor is the boxes it returns,
// in order, each contiguous, at most 2 ndim - 1 of them.
TEST(CheckpointFlat, RangeBoxesCoverExactlyTheRange) {
  namespace ck = pzrt::ckpt;
  const std::vector<int64_t> shape = {3, 4, 5};
  for (int64_t begin = 0; begin <= 60; ++begin)
    for (int64_t end = begin; end <= 60; ++end) {
      std::vector<ck::Slice> boxes = ck::rangeBoxes(shape, begin, end);
      EXPECT_LE(boxes.size(), 5u) << begin << ", " << end;
      int64_t next = begin;
      for (const ck::Slice &b : boxes) {
        ASSERT_EQ(b.offsets.size(), 3u);
        for (int64_t i = b.offsets[0]; i < b.offsets[0] + b.extents[0]; ++i)
          for (int64_t j = b.offsets[1]; j < b.offsets[1] + b.extents[1]; ++j)
            for (int64_t k = b.offsets[2]; k < b.offsets[2] + b.extents[2]; ++k)
              ASSERT_EQ((i * 4 + j) * 5 + k, next++)
                  << "[" << begin << ", " << end << "): box " << ck::sliceStr(b);
      }
      EXPECT_EQ(next, end) << "[" << begin << ", " << end << ")";
    }
  EXPECT_EQ(ck::rangeBoxes({2, 3}, 2, 5).size(), 2u); // [0, 2]+[1, 1], [1, 0]+[1, 2]
  EXPECT_TRUE(ck::rangeBoxes({0, 3}, 0, 0).empty());
}

TEST(CheckpointFlat, BoxAndRangeArithmeticMatchesBruteForce) {
  namespace ck = pzrt::ckpt;
  const std::vector<int64_t> shape = {3, 4, 5};
  const int64_t n = 60;
  uint32_t s = 7;
  auto rnd = [&](int64_t lo, int64_t hi) { // uniform in [lo, hi]
    s = s * 1664525u + 1013904223u;
    return lo + static_cast<int64_t>((s >> 8) % static_cast<uint32_t>(hi - lo + 1));
  };
  for (int trial = 0; trial < 300; ++trial) {
    ck::Slice box, range;
    for (int64_t dim : shape) {
      int64_t o = rnd(0, dim), e = rnd(0, dim - o);
      box.offsets.push_back(o);
      box.extents.push_back(e);
    }
    range.flat = true;
    range.begin = rnd(0, n);
    range.end = rnd(range.begin, n);
    // The box's elements by global index, in its own C order.
    std::vector<int64_t> members;
    for (int64_t i = box.offsets[0]; i < box.offsets[0] + box.extents[0]; ++i)
      for (int64_t j = box.offsets[1]; j < box.offsets[1] + box.extents[1]; ++j)
        for (int64_t k = box.offsets[2]; k < box.offsets[2] + box.extents[2]; ++k)
          members.push_back((i * 4 + j) * 5 + k);
    const std::set<int64_t> inBox(members.begin(), members.end());
    for (int64_t pos = 0; pos <= n; ++pos) {
      auto it = inBox.lower_bound(pos);
      ASSERT_EQ(ck::firstBoxIndexFrom(shape, box.offsets, box.extents, pos),
                it == inBox.end() ? -1 : *it)
          << "trial " << trial << " pos " << pos;
    }
    int64_t shared = 0;
    for (int64_t g : members)
      shared += g >= range.begin && g < range.end;
    EXPECT_EQ(ck::overlaps(box, range, shape), shared > 0) << "trial " << trial;
    // Flat -> box: box elements inside the range get the range's values.
    std::vector<int32_t> flatData, boxOut(members.size(), -1), flatOut;
    for (int64_t g = range.begin; g < range.end; ++g)
      flatData.push_back(static_cast<int32_t>(1000 + g));
    EXPECT_EQ(ck::copyRegion(flatData.data(), range, boxOut.data(), box, shape, 4), shared);
    for (size_t i = 0; i < members.size(); ++i) {
      bool in = members[i] >= range.begin && members[i] < range.end;
      ASSERT_EQ(boxOut[i], in ? 1000 + members[i] : -1) << "trial " << trial << " at " << i;
    }
    // Box -> flat.
    std::vector<int32_t> boxData;
    for (int64_t g : members)
      boxData.push_back(static_cast<int32_t>(2000 + g));
    flatOut.assign(static_cast<size_t>(range.end - range.begin), -1);
    EXPECT_EQ(ck::copyRegion(boxData.data(), box, flatOut.data(), range, shape, 4), shared);
    for (int64_t g = range.begin; g < range.end; ++g)
      ASSERT_EQ(flatOut[static_cast<size_t>(g - range.begin)], inBox.count(g) ? 2000 + g : -1)
          << "trial " << trial << " element " << g;
  }
}

} // namespace
