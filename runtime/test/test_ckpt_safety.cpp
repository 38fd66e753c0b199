// Checkpoints that never lose data: CRC-32C, the strict safetensors reader,
// index.json validation and checksums, the save that replaces only a
// checkpoint (and only what it wrote), --keep-last, crashes in the middle of
// a save and the recovery on load, and inputs that are not regular files.
#include "pzrt/checkpoint.h"
#include "pzrt/data.h"
#include "pzrt/error.h"

#include "io/ckpt_dir.h"
#include "io/crc32c.h"
#include "io/fsutil.h"
#include "io/safetensors.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

using pzrt::test::snapshot;
using pzrt::test::TempDir;
using pzrt::test::writeBytes;

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

// ------------------------------------------------------------ CRC-32C

TEST(Crc32c, MatchesTheStandardCheckValues) {
  // The CRC catalogue's check value, and RFC 3720 section B.4's vectors.
  struct Case {
    std::string data;
    uint32_t crc;
  } cases[] = {
      {"123456789", 0xE3069283u},
      {std::string(32, '\0'), 0x8A9136AAu},
      {std::string(32, '\xff'), 0x62A8AB43u},
      {"", 0u},
  };
  std::string inc, dec;
  for (int i = 0; i < 32; ++i) {
    inc += static_cast<char>(i);
    dec += static_cast<char>(31 - i);
  }
  for (const Case &c : cases) {
    EXPECT_EQ(pzrt::crc32cPortable(0, c.data.data(), c.data.size()), c.crc) << c.data.size();
    EXPECT_EQ(pzrt::crc32c(0, c.data.data(), c.data.size()), c.crc);
    uint32_t hw = 0;
    if (pzrt::crc32cHardware(0, c.data.data(), c.data.size(), hw)) {
      EXPECT_EQ(hw, c.crc);
    }
  }
  EXPECT_EQ(pzrt::crc32cPortable(0, inc.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(pzrt::crc32cPortable(0, dec.data(), 32), 0x113FDB5Cu);
  EXPECT_EQ(pzrt::crc32c(0, inc.data(), 32), 0x46DD794Eu);
}

TEST(Crc32c, ContinuesAcrossPiecesAndAgreesWithTheHardwarePath) {
  std::string data;
  uint32_t s = 7;
  for (int i = 0; i < 10007; ++i) {
    s = s * 1664525u + 1013904223u;
    data += static_cast<char>(s >> 24);
  }
  uint32_t whole = pzrt::crc32cPortable(0, data.data(), data.size());
  for (size_t cut : {size_t(0), size_t(1), size_t(7), size_t(8), size_t(4099), data.size()}) {
    uint32_t a = pzrt::crc32cPortable(0, data.data(), cut);
    EXPECT_EQ(pzrt::crc32cPortable(a, data.data() + cut, data.size() - cut), whole) << cut;
    uint32_t b = pzrt::crc32c(0, data.data(), cut);
    EXPECT_EQ(pzrt::crc32c(b, data.data() + cut, data.size() - cut), whole) << cut;
  }
}

// ------------------------------------------------------------ safetensors

std::string le64(uint64_t n) {
  std::string s;
  for (int i = 0; i < 8; ++i)
    s += static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

std::string st(const std::string &header, size_t dataBytes) {
  return le64(header.size()) + header + std::string(dataBytes, '\0');
}

TEST(Safetensors, DataMustBeContiguousAndCoverTheBuffer) {
  TempDir d;
  struct Case {
    const char *name;
    std::string bytes;
    const char *message; // nullptr: accepted
  } cases[] = {
      {"overlap",
       st(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
          12),
       "tensor 'b' data_offsets [4, 12] overlap tensor 'a'"},
      {"gap",
       st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
          12),
       "tensor 'b' data_offsets [8, 12] leave a gap after tensor 'a'"},
      {"start", st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8),
       "leave a gap at the start of the data"},
      {"trailing", st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 9),
       "the file has 5 trailing bytes"},
      {"reversed", st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}})", 8),
       "invalid data_offsets"},
      {"same", // the same bytes for two tensors
       st(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
          4),
       "overlap tensor 'a'"},
      {"huge",
       st(R"({"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}})", 4),
       "size in bytes overflows"},
      {"nul-name", st(R"({"a\u0000b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 4),
       "is empty or holds a NUL character"},
      // Header order need not be data order (as the reference implementation
      // sorts by offset); empty tensors take no bytes.
      {"unordered",
       st(R"({"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
          8),
       nullptr},
  };
  for (const Case &c : cases) {
    writeBytes(d.file(c.name), c.bytes);
    pzrt::StFile f;
    int rc = pzrt::readSafetensors(d.file(c.name), f);
    if (!c.message) {
      EXPECT_EQ(rc, 0) << c.name << ": " << pzrt_last_error();
      continue;
    }
    EXPECT_EQ(rc, -1) << c.name;
    EXPECT_TRUE(contains(pzrt_last_error(), c.message)) << c.name << ": " << pzrt_last_error();
    EXPECT_TRUE(contains(pzrt_last_error(), d.file(c.name))) << pzrt_last_error();
  }
}

// ------------------------------------------------------------ helpers

const int64_t kShape[1] = {4};

// Saves a 1-tensor checkpoint "x" = {v, v+1, v+2, v+3} at `step`.
int saveStep(const std::string &dir, int64_t step, float v, int keep = 0) {
  float x[4] = {v, v + 1, v + 2, v + 3};
  pzrt_ckpt_writer *w = pzrt_ckpt_writer_create(dir.c_str(), nullptr);
  if (!w)
    return -1;
  if ((keep > 0 && pzrt_ckpt_writer_set_keep_last(w, keep)) ||
      pzrt_ckpt_writer_add(w, "x", PZRT_F32, 1, kShape, nullptr, nullptr, x)) {
    pzrt_ckpt_writer_destroy(w);
    return -1;
  }
  pzrt_ckpt_info info{step, nullptr, 1, static_cast<uint64_t>(step), step * 8, nullptr};
  int rc = pzrt_ckpt_writer_commit(w, &info);
  pzrt_ckpt_writer_destroy(w);
  return rc;
}

// The step and x[0] of the checkpoint at dir, or {-1, NAN}.
std::pair<int64_t, float> loadStep(const std::string &dir) {
  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  if (!ck)
    return {-1, NAN};
  pzrt_ckpt_info info;
  pzrt_ckpt_get_info(ck, &info);
  float x[4] = {NAN, NAN, NAN, NAN};
  int rc = pzrt_ckpt_load(ck, "x", PZRT_F32, 1, kShape, nullptr, nullptr, x);
  pzrt_ckpt_close(ck);
  return {rc == 0 ? info.step : -1, x[0]};
}

std::vector<std::string> listing(const std::string &dir) {
  std::vector<std::string> names;
  for (const auto &[rel, what] : snapshot(dir))
    if (rel != ".")
      names.push_back(rel.substr(2) + (what == "<dir>" ? "/" : ""));
  std::sort(names.begin(), names.end());
  return names;
}

// ------------------------------------------------------------ index.json

std::string indexWith(const std::string &members) {
  return R"({"format": "pzrt-checkpoint", "version": 1, )" + members +
         R"(, "tensors": {"x": {"dtype": "F32", "shape": [4], "slices": [{"file": "rank00000.safetensors", "offsets": [0], "extents": [4]}]}}})";
}

TEST(CheckpointIndex, FieldsHaveTypesAndRanges) {
  TempDir d;
  std::string dir = d.file("ck");
  ASSERT_EQ(saveStep(dir, 3, 1.0f), 0) << pzrt_last_error();
  std::string index = dir + "/index.json";
  struct Case {
    std::string members;
    const char *message;
  } cases[] = {
      {R"("step": "3")", R"("step" must be an integer (got "3"))"},
      {R"("step": 3.5)", R"("step" must be an integer (got 3.5))"},
      {R"("step": -1)", R"("step" is -1, outside [0, 4611686018427387904])"},
      {R"("step": 9223372036854775807)", R"("step" is 9223372036854775807, outside)"},
      {R"("step": 1e400)", R"("step" must be an integer)"},
      {R"("step": 1, "world_size": 0)", R"("world_size" is 0, outside [1,)"},
      {R"("step": 1, "data": {"position": -5})", R"("data"."position" is -5, outside)"},
      {R"("step": 1, "data": [])", R"("data" must be an object)"},
      {R"("step": 1, "rng": {"seed": "x"})", R"("rng"."seed" must be an integer)"},
      {R"("step": 1, "files": "rank00000.safetensors")", R"("files" must be an array)"},
      {R"("step": 1, "files": ["../x"])", R"("files" holds "../x", which is not a plain file name)"},
      {R"("step": 1, "checksums": {"rank00000.safetensors": {"bytes": 1, "crc32c": "xyz"}})",
       R"("crc32c" must be 8 hexadecimal digits)"},
      {R"("step": 1, "checksums": {"rank00000.safetensors": {"bytes": -1, "crc32c": "00000000"}})",
       R"("checksums"."rank00000.safetensors"."bytes" is -1, outside)"},
      {R"("step": 1, "checksums": {})", "which \"checksums\" does not list"},
      {R"("version": 1, "step": 1)", "duplicate key \"version\""},
  };
  for (const Case &c : cases) {
    writeBytes(index, indexWith(c.members));
    EXPECT_EQ(pzrt_ckpt_open(dir.c_str()), nullptr) << c.members;
    EXPECT_TRUE(contains(pzrt_last_error(), c.message)) << c.members << ": " << pzrt_last_error();
    EXPECT_TRUE(contains(pzrt_last_error(), "index.json")) << pzrt_last_error();
  }
  // Shapes: not integers, or too large.
  writeBytes(index, R"({"format": "pzrt-checkpoint", "version": 1, "tensors": {"x": {"dtype": "F32", "shape": [4.0], "slices": []}}})");
  EXPECT_EQ(pzrt_ckpt_open(dir.c_str()), nullptr);
  EXPECT_TRUE(contains(pzrt_last_error(), "tensor 'x' has a missing or invalid \"shape\""))
      << pzrt_last_error();
  writeBytes(index, R"({"format": "pzrt-checkpoint", "version": 1, "tensors": {"x": {"dtype": "F32", "shape": [4611686018427387904, 8], "slices": []}}})");
  EXPECT_EQ(pzrt_ckpt_open(dir.c_str()), nullptr);
  EXPECT_TRUE(contains(pzrt_last_error(), "size in bytes overflows")) << pzrt_last_error();
  writeBytes(index, R"({"format": "pzrt-checkpoint", "version": 1, "tensors": {"x": {"dtype": "F32", "shape": [8], "slices": [{"file": "a", "offsets": [9223372036854775807], "extents": [9223372036854775807]}]}}})");
  EXPECT_EQ(pzrt_ckpt_open(dir.c_str()), nullptr);
  EXPECT_TRUE(contains(pzrt_last_error(), "leave the global shape [8]")) << pzrt_last_error();
}

// A name with a NUL was listed by pzrt_ckpt_tensor_name under a C string that
// finds nothing (found by the checkpoint fuzz target).
TEST(CheckpointIndex, TensorNamesAreNonEmptyCStrings) {
  TempDir d;
  std::string dir = d.file("ck");
  ASSERT_EQ(saveStep(dir, 3, 1.0f), 0) << pzrt_last_error();
  std::string index = dir + "/index.json";
  for (const char *name : {R"("x\u0000y")", R"("")"}) {
    writeBytes(index, std::string(R"({"format": "pzrt-checkpoint", "version": 1, "tensors": {)") +
                          name + R"(: {"dtype": "F32", "shape": [], "slices": []}}})");
    EXPECT_EQ(pzrt_ckpt_open(dir.c_str()), nullptr) << name;
    EXPECT_TRUE(contains(pzrt_last_error(), "is empty or holds a NUL character"))
        << name << ": " << pzrt_last_error();
  }
}

TEST(CheckpointIndex, FilesAreVerifiedAgainstTheirChecksums) {
  TempDir d;
  std::string dir = d.file("ck");
  ASSERT_EQ(saveStep(dir, 5, 2.0f), 0) << pzrt_last_error();
  std::string text = pzrt::test::readText(dir + "/index.json");
  EXPECT_TRUE(contains(text, "\"checksums\"")) << text;
  EXPECT_TRUE(contains(text, "\"crc32c\"")) << text;
  EXPECT_EQ(loadStep(dir), std::make_pair(int64_t(5), 2.0f));

  // One flipped byte in the data: the load names the file.
  std::string rank = dir + "/rank00000.safetensors", good = pzrt::test::readText(rank);
  std::string bad = good;
  bad[bad.size() - 2] ^= 0x01;
  writeBytes(rank, bad);
  EXPECT_EQ(loadStep(dir).first, -1);
  EXPECT_TRUE(contains(pzrt_last_error(), rank + "' does not match its checksum in index.json"))
      << pzrt_last_error();
  // A truncated file.
  writeBytes(rank, good.substr(0, good.size() - 4));
  EXPECT_EQ(loadStep(dir).first, -1);
  EXPECT_TRUE(contains(pzrt_last_error(), "but index.json records " + std::to_string(good.size())))
      << pzrt_last_error();

  // A checkpoint of the earlier release (no "checksums") loads, unverified.
  writeBytes(rank, good);
  size_t at = text.find(",\n \"checksums\"");
  ASSERT_NE(at, std::string::npos) << text;
  size_t end = text.find("\n \"tensors\"");
  writeBytes(dir + "/index.json", text.substr(0, at) + "," + text.substr(end));
  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  ASSERT_NE(ck, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_ckpt_has_checksums(ck), 0);
  pzrt_ckpt_close(ck);
  EXPECT_EQ(loadStep(dir), std::make_pair(int64_t(5), 2.0f));
}

// ------------------------------------------------------------ save targets

TEST(CheckpointSave, RefusesToReplaceWhatItDidNotWrite) {
  TempDir d;
  // Someone's folder, a file, a device, a checkpoint with a foreign file in
  // it, a link, a partial save: all refused, all untouched.
  std::string folder = d.file("thesis");
  ASSERT_EQ(pzrt::makeDirs(folder + "/chapter1"), 0);
  writeBytes(folder + "/chapter1/draft.tex", "\\section{Intro}");
  writeBytes(folder + "/notes.txt", "keep me");
  std::string file = d.file("file");
  writeBytes(file, "not a directory");
  std::string mixed = d.file("mixed");
  ASSERT_EQ(saveStep(mixed, 1, 1.0f), 0) << pzrt_last_error();
  writeBytes(mixed + "/README", "mine");
  std::string link = d.file("link");
  ASSERT_EQ(symlink(folder.c_str(), link.c_str()), 0);
  std::string partial = d.file("partial");
  ASSERT_EQ(pzrt::makeDirs(partial), 0);
  writeBytes(partial + "/rank00000.safetensors", "x");
  std::string otherIndex = d.file("other");
  ASSERT_EQ(pzrt::makeDirs(otherIndex), 0);
  writeBytes(otherIndex + "/index.json", R"({"format": "something-else"})");
  struct Case {
    std::string dir;
    const char *message;
  } cases[] = {
      {folder, "is a directory that is not a checkpoint: it holds 'chapter1' and 'notes.txt', and no index.json"},
      {file, "is a regular file"},
      {mixed, "is a checkpoint directory that also holds 'README', which a save would not keep"},
      {link, "is a symbolic link"},
      {partial, "holds checkpoint rank files but no index.json"},
      {otherIndex, "is a directory whose index.json is not a pzrt checkpoint index"},
  };
  auto before = snapshot(d.path());
  struct stat devBefore;
  ASSERT_EQ(stat("/dev/null", &devBefore), 0);
  for (const Case &c : cases) {
    EXPECT_EQ(saveStep(c.dir, 2, 5.0f), -1) << c.dir;
    EXPECT_TRUE(contains(pzrt_last_error(), "'" + c.dir + "' " + c.message))
        << c.dir << ": " << pzrt_last_error();
    EXPECT_TRUE(contains(pzrt_last_error(), "nothing was changed")) << pzrt_last_error();
  }
  EXPECT_EQ(snapshot(d.path()), before);
  // /dev/null is only classified here, never given to a save: were the
  // check ever broken, a save would rename the device.
  EXPECT_EQ(pzrt::ckpt::checkSaveTarget("/dev/null"), -1);
  EXPECT_TRUE(contains(pzrt_last_error(), "'/dev/null' is a character device"))
      << pzrt_last_error();
  struct stat devAfter;
  ASSERT_EQ(stat("/dev/null", &devAfter), 0);
  EXPECT_TRUE(S_ISCHR(devAfter.st_mode));
  EXPECT_EQ(devAfter.st_rdev, devBefore.st_rdev);
  EXPECT_EQ(pzrt_ckpt_writer_create(".", nullptr), nullptr);
  EXPECT_TRUE(contains(pzrt_last_error(), "give it a name")) << pzrt_last_error();
}

TEST(CheckpointSave, ReplacesAnEmptyDirectoryAndItsOwnCheckpoint) {
  TempDir d;
  std::string dir = d.file("ck");
  ASSERT_EQ(pzrt::makeDirs(dir), 0);
  ASSERT_EQ(saveStep(dir, 1, 1.0f), 0) << pzrt_last_error();
  EXPECT_EQ(loadStep(dir), std::make_pair(int64_t(1), 1.0f));
  ASSERT_EQ(saveStep(dir + "/", 2, 2.0f), 0) << pzrt_last_error(); // a trailing slash is fine
  EXPECT_EQ(loadStep(dir), std::make_pair(int64_t(2), 2.0f));
  // Exactly index.json and the rank file, and no leftover beside it.
  EXPECT_EQ(listing(d.path()),
            (std::vector<std::string>{"ck/", "ck/index.json", "ck/rank00000.safetensors"}));
}

TEST(CheckpointSave, LeftoversOfOthersAreNeverRemoved) {
  TempDir d;
  std::string dir = d.file("ck");
  ASSERT_EQ(saveStep(dir, 1, 1.0f), 0) << pzrt_last_error();
  // A directory at the temporary name that is not a leftover of a save.
  std::string tmp = dir + ".pzrt-tmp-2";
  ASSERT_EQ(pzrt::makeDirs(tmp), 0);
  writeBytes(tmp + "/data.csv", "1,2,3");
  // An earlier release's names: they could be the user's own copies.
  std::string legacy = dir + ".old-77";
  ASSERT_EQ(saveStep(legacy, 1, 1.0f), 0);
  auto tmpBefore = snapshot(tmp), legacyBefore = snapshot(legacy);
  EXPECT_EQ(saveStep(dir, 2, 2.0f), -1);
  EXPECT_TRUE(contains(pzrt_last_error(), "'" + tmp + "' already exists")) << pzrt_last_error();
  EXPECT_EQ(snapshot(tmp), tmpBefore);
  EXPECT_EQ(loadStep(dir), std::make_pair(int64_t(1), 1.0f));
  ASSERT_EQ(saveStep(dir, 3, 3.0f), 0) << pzrt_last_error();
  EXPECT_EQ(snapshot(tmp), tmpBefore);
  EXPECT_EQ(snapshot(legacy), legacyBefore);
}

TEST(CheckpointSave, FallbackWithoutRenameExchange) {
  TempDir d;
  std::string dir = d.file("ck");
  setenv("PZRT_TEST_NO_RENAME_EXCHANGE", "1", 1);
  ASSERT_EQ(saveStep(dir, 1, 1.0f), 0) << pzrt_last_error();
  ASSERT_EQ(saveStep(dir, 2, 2.0f), 0) << pzrt_last_error();
  unsetenv("PZRT_TEST_NO_RENAME_EXCHANGE");
  EXPECT_EQ(loadStep(dir), std::make_pair(int64_t(2), 2.0f));
  EXPECT_EQ(listing(d.path()),
            (std::vector<std::string>{"ck/", "ck/index.json", "ck/rank00000.safetensors"}));
}

TEST(CheckpointSave, KeepLastKeepsCompleteOlderCheckpoints) {
  TempDir d;
  std::string dir = d.file("ck");
  for (int step = 1; step <= 5; ++step)
    ASSERT_EQ(saveStep(dir, step, static_cast<float>(10 * step), 3), 0) << pzrt_last_error();
  EXPECT_EQ(listing(d.path()),
            (std::vector<std::string>{"ck.step-00000003/", "ck.step-00000003/index.json",
                                      "ck.step-00000003/rank00000.safetensors",
                                      "ck.step-00000004/", "ck.step-00000004/index.json",
                                      "ck.step-00000004/rank00000.safetensors", "ck/",
                                      "ck/index.json", "ck/rank00000.safetensors"}));
  EXPECT_EQ(loadStep(dir), std::make_pair(int64_t(5), 50.0f));
  EXPECT_EQ(loadStep(dir + ".step-00000004"), std::make_pair(int64_t(4), 40.0f));
  EXPECT_EQ(loadStep(dir + ".step-00000003"), std::make_pair(int64_t(3), 30.0f));
  // Without --keep-last, kept checkpoints are left alone.
  ASSERT_EQ(saveStep(dir, 6, 60.0f), 0);
  EXPECT_EQ(loadStep(dir + ".step-00000003"), std::make_pair(int64_t(3), 30.0f));
  EXPECT_FALSE(pzrt::pathExists(dir + ".step-00000005"));
  // --keep-last 1 keeps only DIR.
  ASSERT_EQ(saveStep(dir, 7, 70.0f, 1), 0);
  EXPECT_EQ(listing(d.path()),
            (std::vector<std::string>{"ck/", "ck/index.json", "ck/rank00000.safetensors"}));
}

// ------------------------------------------------------------ crashes

// Saves step 2 over a checkpoint of step 1 with the test crash point set;
// the child process dies there with SIGKILL, as with kill -9.
void crashWhileSaving(const std::string &dir, const char *point, bool noExchange) {
  int status = pzrt::test::runInChild(
      [&] {
        setenv("PZRT_TEST_CRASH_AT", point, 1);
        if (noExchange)
          setenv("PZRT_TEST_NO_RENAME_EXCHANGE", "1", 1);
        return saveStep(dir, 2, 2.0f) == 0 ? 0 : 10;
      },
      60);
  ASSERT_EQ(status, -SIGKILL) << point;
}

TEST(CheckpointCrash, KilledAfterTheExchangeLoadsTheNewCheckpoint) {
  TempDir d;
  std::string dir = d.file("ck");
  ASSERT_EQ(saveStep(dir, 1, 1.0f), 0) << pzrt_last_error();
  crashWhileSaving(dir, "after-exchange", false);
  // DIR holds step 2; the previous checkpoint sits at the temporary name.
  EXPECT_TRUE(pzrt::pathExists(dir + ".pzrt-tmp-2/index.json"));
  std::string note;
  EXPECT_EQ(pzrt::ckpt::resolveLoad(dir, note), dir);
  EXPECT_EQ(note, "");
  EXPECT_EQ(loadStep(dir), std::make_pair(int64_t(2), 2.0f));
  // The next save removes the leftover.
  ASSERT_EQ(saveStep(dir, 3, 3.0f), 0) << pzrt_last_error();
  EXPECT_EQ(listing(d.path()),
            (std::vector<std::string>{"ck/", "ck/index.json", "ck/rank00000.safetensors"}));
}

TEST(CheckpointCrash, KilledBetweenTheTwoRenamesLoadsTheNewCheckpoint) {
  TempDir d;
  std::string dir = d.file("ck");
  ASSERT_EQ(saveStep(dir, 1, 1.0f), 0) << pzrt_last_error();
  crashWhileSaving(dir, "after-aside", true);
  EXPECT_FALSE(pzrt::pathExists(dir));
  std::string note;
  std::string use = pzrt::ckpt::resolveLoad(dir, note);
  EXPECT_EQ(use, dir + ".pzrt-tmp-2");
  EXPECT_TRUE(contains(note, "'" + dir + "' does not exist; loading '" + dir +
                                 ".pzrt-tmp-2' (step 2)"))
      << note;
  EXPECT_EQ(loadStep(use), std::make_pair(int64_t(2), 2.0f));
  ASSERT_EQ(saveStep(dir, 3, 3.0f), 0) << pzrt_last_error();
  EXPECT_EQ(listing(d.path()),
            (std::vector<std::string>{"ck/", "ck/index.json", "ck/rank00000.safetensors"}));
}

TEST(CheckpointCrash, ASaveAfterAnInterruptedOneNeverRemovesTheNewestCopy) {
  // After a crash between the two renames, the newest checkpoint exists only
  // at DIR.pzrt-tmp-2. A run that loads it and saves step 2 again (--steps 0)
  // needs that very temporary name: the save first moves the leftover to DIR,
  // so a second crash right after still leaves step 2 loadable.
  TempDir d;
  std::string dir = d.file("ck");
  ASSERT_EQ(saveStep(dir, 1, 1.0f), 0) << pzrt_last_error();
  crashWhileSaving(dir, "after-aside", true);
  crashWhileSaving(dir, "after-marker", false);
  std::string note, use = pzrt::ckpt::resolveLoad(dir, note);
  EXPECT_EQ(use, dir) << note;
  EXPECT_EQ(loadStep(use), std::make_pair(int64_t(2), 2.0f));
}

TEST(CheckpointCrash, KilledBeforeTheSwapKeepsThePreviousCheckpoint) {
  for (const char *point : {"after-marker", "after-index"}) {
    TempDir d;
    std::string dir = d.file("ck");
    ASSERT_EQ(saveStep(dir, 1, 1.0f), 0) << pzrt_last_error();
    crashWhileSaving(dir, point, false);
    std::string note;
    EXPECT_EQ(pzrt::ckpt::resolveLoad(dir, note), dir) << point;
    EXPECT_EQ(loadStep(dir), std::make_pair(int64_t(1), 1.0f)) << point;
    // The unfinished temporary directory is recognised and replaced.
    EXPECT_TRUE(pzrt::pathExists(dir + ".pzrt-tmp-2")) << point;
    ASSERT_EQ(saveStep(dir, 2, 2.0f), 0) << pzrt_last_error();
    EXPECT_EQ(loadStep(dir), std::make_pair(int64_t(2), 2.0f)) << point;
    EXPECT_EQ(listing(d.path()),
              (std::vector<std::string>{"ck/", "ck/index.json", "ck/rank00000.safetensors"}))
        << point;
  }
}

TEST(CheckpointCrash, RecoversFromTheEarlierReleasesLeftovers) {
  // The earlier release moved DIR to DIR.old-<pid> and then DIR.tmp-<step>
  // to DIR; a crash in between left both and no DIR.
  TempDir d;
  std::string dir = d.file("ck");
  ASSERT_EQ(saveStep(dir + ".old-4242", 7, 7.0f), 0);
  ASSERT_EQ(saveStep(dir + ".tmp-9", 9, 9.0f), 0);
  std::string note;
  EXPECT_EQ(pzrt::ckpt::resolveLoad(dir, note), dir + ".tmp-9");
  EXPECT_TRUE(contains(note, "(step 9)")) << note;
  // An incomplete DIR (no index.json) is recovered from too, the newest first.
  ASSERT_EQ(pzrt::makeDirs(dir), 0);
  EXPECT_EQ(pzrt::ckpt::resolveLoad(dir, note), dir + ".tmp-9");
  EXPECT_TRUE(contains(note, "'" + dir + "' is empty")) << note;
  // A complete DIR is loaded as it is.
  ASSERT_EQ(saveStep(dir, 3, 3.0f), 0);
  EXPECT_EQ(pzrt::ckpt::resolveLoad(dir, note), dir);
  EXPECT_EQ(note, "");
  // A rank file missing from DIR makes it incomplete.
  ASSERT_EQ(unlink((dir + "/rank00000.safetensors").c_str()), 0);
  EXPECT_EQ(pzrt::ckpt::resolveLoad(dir, note), dir + ".tmp-9");
  EXPECT_TRUE(contains(note, "lacks 'rank00000.safetensors'")) << note;
}

// ------------------------------------------------------------ FIFOs and devices

TEST(NonRegularFiles, AreRefusedWithoutBlocking) {
  TempDir d;
  std::string fifo = d.file("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  // Each open runs in a child: a hang is detected (and killed) after 20 s.
  struct Case {
    const char *what;
    std::function<int()> open;
    std::string path, message;
  } cases[] = {
      {"MappedFile", [&] { pzrt::MappedFile f; return f.open(fifo) == -1 && contains(pzrt_last_error(), "'" + fifo + "' is a FIFO (named pipe), not a regular file") ? 0 : 1; }, fifo, ""},
      {"token file", [&] { return pzrt_token_file_open(fifo.c_str(), 2, 4) == nullptr && contains(pzrt_last_error(), "FIFO") ? 0 : 1; }, fifo, ""},
      {".npy", [&] { return pzrt_npy_open(fifo.c_str()) == nullptr && contains(pzrt_last_error(), "FIFO") ? 0 : 1; }, fifo, ""},
      {"safetensors", [&] { pzrt::StFile f; return pzrt::readSafetensors(fifo, f) == -1 ? 0 : 1; }, fifo, ""},
      {"device", [&] { pzrt::MappedFile f; return f.open("/dev/zero") == -1 && contains(pzrt_last_error(), "is a character device") ? 0 : 1; }, "/dev/zero", ""},
  };
  for (const Case &c : cases) {
    bool hung = false;
    int status = pzrt::test::runInChild(c.open, 20, &hung);
    EXPECT_FALSE(hung) << c.what << " blocked on " << c.path;
    EXPECT_EQ(status, 0) << c.what;
  }
  // A checkpoint whose index.json or rank file is a FIFO.
  std::string dir = d.file("ck");
  ASSERT_EQ(saveStep(dir, 1, 1.0f), 0);
  for (const char *name : {"rank00000.safetensors", "index.json"}) {
    std::string p = dir + "/" + name;
    ASSERT_EQ(unlink(p.c_str()), 0);
    ASSERT_EQ(mkfifo(p.c_str(), 0644), 0);
    bool hung = false;
    int status = pzrt::test::runInChild(
        [&] { return loadStep(dir).first == -1 && contains(pzrt_last_error(), "FIFO") ? 0 : 1; },
        20, &hung);
    EXPECT_FALSE(hung) << name;
    EXPECT_EQ(status, 0) << name;
  }
}

} // namespace
