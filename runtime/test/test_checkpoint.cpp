// Single-process checkpoints: round trips, slices, re-sharded loads of files
// written in another layout, and malformed files.
#include "pzrt/checkpoint.h"
#include "pzrt/error.h"

#include "io/ckpt_common.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

namespace {

using pzrt::test::TempDir;

// Tensor value at (i, j) of an R x C matrix: distinct, exactly representable.
float val(int64_t i, int64_t j) { return static_cast<float>(i * 100 + j) + 0.25f; }

std::vector<float> matrix(int64_t r0, int64_t rows, int64_t c0, int64_t cols) {
  std::vector<float> m;
  for (int64_t i = r0; i < r0 + rows; ++i)
    for (int64_t j = c0; j < c0 + cols; ++j)
      m.push_back(val(i, j));
  return m;
}

pzrt_ckpt_info info(int64_t step) {
  return pzrt_ckpt_info{step, R"({"tp": 2, "dp": 1})", 1234, 99, 6400, nullptr};
}

TEST(Checkpoint, RoundTripWithMetadata) {
  TempDir d;
  std::string dir = d.file("ck");
  const int64_t shape[2] = {6, 4};
  auto w = matrix(0, 6, 0, 4);
  std::vector<int64_t> counts = {1, -2, 3};
  const int64_t cshape[1] = {3};
  uint16_t half[2] = {0x3C00, 0xC000};
  const int64_t hshape[1] = {2};
  pzrt_ckpt_writer *wr = pzrt_ckpt_writer_create(dir.c_str(), nullptr);
  ASSERT_EQ(pzrt_ckpt_writer_add(wr, "layer.0.weight", PZRT_F32, 2, shape, nullptr, nullptr, w.data()), 0);
  ASSERT_EQ(pzrt_ckpt_writer_add(wr, "counts", PZRT_I64, 1, cshape, nullptr, nullptr, counts.data()), 0);
  ASSERT_EQ(pzrt_ckpt_writer_add(wr, "h", PZRT_F16, 1, hshape, nullptr, nullptr, half), 0);
  EXPECT_EQ(pzrt_ckpt_writer_add(wr, "h", PZRT_F16, 1, hshape, nullptr, nullptr, half), -1);
  pzrt_ckpt_info in = info(42);
  in.extra_json = R"({"lr": 0.001})";
  ASSERT_EQ(pzrt_ckpt_writer_commit(wr, &in), 0) << pzrt_last_error();
  pzrt_ckpt_writer_destroy(wr);
  EXPECT_FALSE(pzrt::pathExists(dir + ".tmp-42"));

  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  ASSERT_NE(ck, nullptr) << pzrt_last_error();
  pzrt_ckpt_info out;
  pzrt_ckpt_get_info(ck, &out);
  EXPECT_EQ(out.step, 42);
  EXPECT_EQ(out.rng_seed, 1234u);
  EXPECT_EQ(out.rng_offset, 99u);
  EXPECT_EQ(out.data_position, 6400);
  EXPECT_STREQ(out.plan_json, R"({"tp":2,"dp":1})");
  EXPECT_STREQ(out.extra_json, R"({"lr":0.001})");
  EXPECT_EQ(pzrt_ckpt_num_tensors(ck), 3);
  pzrt_dtype dt;
  int nd;
  int64_t sh[PZRT_CKPT_MAX_DIMS];
  ASSERT_EQ(pzrt_ckpt_tensor_info(ck, "layer.0.weight", &dt, &nd, sh), 0);
  EXPECT_EQ(dt, PZRT_F32);
  EXPECT_EQ(nd, 2);
  EXPECT_EQ(sh[0], 6);
  std::vector<float> back(24);
  ASSERT_EQ(pzrt_ckpt_load(ck, "layer.0.weight", PZRT_F32, 2, shape, nullptr, nullptr, back.data()), 0);
  EXPECT_EQ(0, std::memcmp(back.data(), w.data(), 24 * 4));
  // An interior slice: rows 2..4, columns 1..2.
  const int64_t off[2] = {2, 1}, ext[2] = {3, 2};
  std::vector<float> part(6);
  ASSERT_EQ(pzrt_ckpt_load(ck, "layer.0.weight", PZRT_F32, 2, shape, off, ext, part.data()), 0);
  EXPECT_EQ(part, matrix(2, 3, 1, 2));
  std::vector<int64_t> c(3);
  ASSERT_EQ(pzrt_ckpt_load(ck, "counts", PZRT_I64, 1, cshape, nullptr, nullptr, c.data()), 0);
  EXPECT_EQ(c, counts);
  // Mismatches are explained.
  EXPECT_EQ(pzrt_ckpt_load(ck, "counts", PZRT_F32, 1, cshape, nullptr, nullptr, c.data()), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("tensor 'counts' is I64 [3], but F32 [3] was requested"),
            std::string::npos)
      << pzrt_last_error();
  EXPECT_EQ(pzrt_ckpt_load(ck, "nope", PZRT_F32, 1, cshape, nullptr, nullptr, c.data()), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("has no tensor 'nope'"), std::string::npos);
  const int64_t badExt[2] = {5, 2};
  EXPECT_EQ(pzrt_ckpt_load(ck, "layer.0.weight", PZRT_F32, 2, shape, off, badExt, part.data()), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("leave the global shape [6, 4] in dimension 0"),
            std::string::npos)
      << pzrt_last_error();
  pzrt_ckpt_close(ck);
}

TEST(Checkpoint, SaveReplacesAnOlderCheckpoint) {
  TempDir d;
  std::string dir = d.file("ck");
  const int64_t shape[1] = {2};
  float a[2] = {1, 2}, b[2] = {3, 4}, out[2];
  for (float *data : {a, b}) {
    pzrt_ckpt_writer *wr = pzrt_ckpt_writer_create(dir.c_str(), nullptr);
    ASSERT_EQ(pzrt_ckpt_writer_add(wr, "x", PZRT_F32, 1, shape, nullptr, nullptr, data), 0);
    pzrt_ckpt_info in = info(data == a ? 1 : 2);
    ASSERT_EQ(pzrt_ckpt_writer_commit(wr, &in), 0) << pzrt_last_error();
    pzrt_ckpt_writer_destroy(wr);
  }
  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  ASSERT_NE(ck, nullptr);
  ASSERT_EQ(pzrt_ckpt_load(ck, "x", PZRT_F32, 1, shape, nullptr, nullptr, out), 0);
  EXPECT_EQ(out[1], 4.0f);
  pzrt_ckpt_close(ck);
}

// Writes a 2-rank checkpoint by hand (two files sharded along dim 0 plus an
// index) and loads it 4-way along dim 1 and unsharded. The MPI tests do the
// same through the collective writer.
TEST(Checkpoint, LoadsUnderADifferentSharding) {
  TempDir d;
  const std::string dir = d.file("ck");
  ASSERT_EQ(pzrt::makeDirs(dir), 0);
  const int64_t R = 8, C = 8;
  for (int r = 0; r < 2; ++r) {
    auto m = matrix(r * 4, 4, 0, C);
    pzrt::StTensor t;
    t.name = "w";
    t.dtype = PZRT_F32;
    t.shape = {4, C};
    t.data = m.data();
    char name[32];
    std::snprintf(name, sizeof(name), "/rank%05d.safetensors", r);
    ASSERT_EQ(pzrt::writeSafetensors(dir + name, {t}, {}), 0) << pzrt_last_error();
  }
  pzrt::test::writeBytes(dir + "/index.json", R"({"format": "pzrt-checkpoint", "version": 1,
    "step": 3, "tensors": {"w": {"dtype": "F32", "shape": [8, 8], "slices": [
      {"file": "rank00000.safetensors", "offsets": [0, 0], "extents": [4, 8]},
      {"file": "rank00001.safetensors", "offsets": [4, 0], "extents": [4, 8]}]}}})");
  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  ASSERT_NE(ck, nullptr) << pzrt_last_error();
  const int64_t shape[2] = {R, C};
  for (int part = 0; part < 4; ++part) {
    const int64_t off[2] = {0, part * 2}, ext[2] = {R, 2};
    std::vector<float> got(16);
    ASSERT_EQ(pzrt_ckpt_load(ck, "w", PZRT_F32, 2, shape, off, ext, got.data()), 0) << pzrt_last_error();
    EXPECT_EQ(got, matrix(0, R, part * 2, 2)) << "column block " << part;
  }
  std::vector<float> all(64);
  ASSERT_EQ(pzrt_ckpt_load(ck, "w", PZRT_F32, 2, shape, nullptr, nullptr, all.data()), 0);
  EXPECT_EQ(all, matrix(0, R, 0, C));
  pzrt_ckpt_close(ck);
}

TEST(Checkpoint, IndexMustCoverEachTensorExactly) {
  TempDir d;
  const std::string dir = d.file("ck");
  ASSERT_EQ(pzrt::makeDirs(dir), 0);
  const char *head = R"({"format": "pzrt-checkpoint", "version": 1, "tensors": {"w": {"dtype": "F32", "shape": [4], "slices": )";
  struct Case {
    const char *slices, *message;
  } cases[] = {
      {R"([{"file": "a", "offsets": [0], "extents": [2]}])", "cover 2 of 4 elements"},
      {R"([{"file": "a", "offsets": [0], "extents": [3]}, {"file": "b", "offsets": [2], "extents": [2]}])",
       "slices in b and a overlap"},
      {R"([{"file": "a", "offsets": [3], "extents": [2]}])", "leave the global shape [4]"},
      {R"([{"file": "../x", "offsets": [0], "extents": [4]}])", "without a plain file name"},
  };
  for (const Case &c : cases) {
    pzrt::test::writeBytes(dir + "/index.json", std::string(head) + c.slices + "}}}");
    EXPECT_EQ(pzrt_ckpt_open(dir.c_str()), nullptr) << c.slices;
    EXPECT_NE(std::string(pzrt_last_error()).find(c.message), std::string::npos)
        << pzrt_last_error();
  }
  pzrt::test::writeBytes(dir + "/index.json", "{\"format\": \"pzrt-checkpoint\", \"version\": ");
  EXPECT_EQ(pzrt_ckpt_open(dir.c_str()), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("index.json: invalid JSON: unexpected end of input at byte 41"),
            std::string::npos)
      << pzrt_last_error();
  EXPECT_EQ(pzrt_ckpt_open(d.file("absent").c_str()), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("cannot open"), std::string::npos);
}

// copyIntersection in 3-d against a naive element-by-element loop.
TEST(Checkpoint, CopyIntersection3d) {
  const std::vector<int64_t> sOff = {1, 0, 2}, sExt = {3, 4, 5}; // source slice
  const std::vector<int64_t> dOff = {0, 2, 3}, dExt = {3, 3, 6}; // requested region
  auto code = [](int64_t i, int64_t j, int64_t k) { return static_cast<int32_t>(i * 10000 + j * 100 + k); };
  std::vector<int32_t> src;
  for (int64_t i = 0; i < sExt[0]; ++i)
    for (int64_t j = 0; j < sExt[1]; ++j)
      for (int64_t k = 0; k < sExt[2]; ++k)
        src.push_back(code(i + sOff[0], j + sOff[1], k + sOff[2]));
  std::vector<int32_t> dst(static_cast<size_t>(dExt[0] * dExt[1] * dExt[2]), -1);
  int64_t copied = pzrt::ckpt::copyIntersection(src.data(), sOff, sExt, dst.data(), dOff, dExt, 4);
  int64_t expected = 0;
  for (int64_t i = 0; i < dExt[0]; ++i)
    for (int64_t j = 0; j < dExt[1]; ++j)
      for (int64_t k = 0; k < dExt[2]; ++k) {
        int64_t gi = i + dOff[0], gj = j + dOff[1], gk = k + dOff[2];
        bool inside = gi >= sOff[0] && gi < sOff[0] + sExt[0] && gj >= sOff[1] &&
                      gj < sOff[1] + sExt[1] && gk >= sOff[2] && gk < sOff[2] + sExt[2];
        expected += inside;
        ASSERT_EQ(dst[static_cast<size_t>((i * dExt[1] + j) * dExt[2] + k)], inside ? code(gi, gj, gk) : -1)
            << i << "," << j << "," << k;
      }
  EXPECT_EQ(copied, expected);
  EXPECT_EQ(expected, 2 * 2 * 4);
}

std::string le64(uint64_t n) {
  std::string s;
  for (int i = 0; i < 8; ++i)
    s += static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

TEST(Safetensors, MalformedFilesAreRejected) {
  TempDir d;
  // header length + header + `zeros` bytes of data
  auto st = [](const std::string &header, size_t zeros = 0) {
    return le64(header.size()) + header + std::string(zeros, '\0');
  };
  struct Case {
    const char *name;
    std::string bytes;
    const char *message;
  } cases[] = {
      {"short", "abc", "shorter than the 8-byte header length"},
      {"length", le64(1000) + "{}", "header length 1000 (bytes 0-7) runs past the end of the 10-byte file"},
      {"json", st("{\"a\":"), "not valid JSON: unexpected end of input at byte 5"},
      {"array", st("[]"), "is not a JSON object"},
      {"dtype", st(R"({"x":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}})"), "unsupported dtype 'Q8'"},
      {"offsets", st(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
       "data_offsets [0, 8] run past the 4-byte data section"},
      {"size", st(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 8),
       "span 4 bytes but dtype F32 and its shape need 8"},
      {"fields", st(R"({"x":{"dtype":1}})"), "needs \"dtype\" (string)"},
      {"meta", st(R"({"__metadata__":{"k":1}})"), "__metadata__ value 'k' is not a string"},
  };
  for (const Case &c : cases) {
    pzrt::test::writeBytes(d.file(c.name), c.bytes);
    pzrt::StFile f;
    EXPECT_EQ(pzrt::readSafetensors(d.file(c.name), f), -1) << c.name;
    EXPECT_NE(std::string(pzrt_last_error()).find(c.message), std::string::npos)
        << c.name << ": " << pzrt_last_error();
  }
}

TEST(Safetensors, WrittenFileFollowsTheFormat) {
  TempDir d;
  float x[3] = {1, 2, 3};
  int64_t y[1] = {-5};
  pzrt::StTensor a{"a", PZRT_F32, {3}, 0, 0, x}, b{"b", PZRT_I64, {1}, 0, 0, y};
  ASSERT_EQ(pzrt::writeSafetensors(d.file("t.safetensors"), {a, b}, {{"format", "pt"}}), 0);
  std::string bytes = pzrt::test::readText(d.file("t.safetensors"));
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | static_cast<unsigned char>(bytes[static_cast<size_t>(i)]);
  EXPECT_EQ(n % 8, 0u);
  ASSERT_EQ(bytes.size(), 8 + n + 12 + 8);
  pzrt::json::Value h;
  std::string err;
  ASSERT_TRUE(pzrt::json::parse(bytes.substr(8, n), h, err)) << err;
  EXPECT_EQ(h.find("__metadata__")->find("format")->asString(), "pt");
  EXPECT_EQ(pzrt::json::dump(*h.find("b")), R"({"dtype":"I64","shape":[1],"data_offsets":[12,20]})");
  int64_t back;
  std::memcpy(&back, bytes.data() + 8 + n + 12, 8);
  EXPECT_EQ(back, -5);
}

} // namespace
