// Token files, batch slicing and synthetic data.
#include "pzrt/data.h"
#include "pzrt/error.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using pzrt::test::TempDir;

// A uint16 token file whose token i has value i (so values name positions).
std::string writeCounting16(const TempDir &d, int n, const char *name = "tok.bin") {
  std::vector<uint16_t> t(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i)
    t[static_cast<size_t>(i)] = static_cast<uint16_t>(i);
  std::string path = d.file(name);
  pzrt::test::writeBytes(path, pzrt::test::bytesOf(t));
  return path;
}

TEST(TokenFile, WindowsAndWrap) {
  TempDir d;
  // 23 tokens, S = 4: windows need S+1 tokens, W = floor(22 / 4) = 5.
  pzrt_token_file *f = pzrt_token_file_open(writeCounting16(d, 23).c_str(), 2, 4);
  ASSERT_NE(f, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_token_file_num_tokens(f), 23);
  EXPECT_EQ(pzrt_token_file_num_windows(f), 5);
  int64_t in[4], lab[4];
  ASSERT_EQ(pzrt_token_file_window(f, 4, in, lab), 0);
  EXPECT_EQ(std::vector<int64_t>(in, in + 4), (std::vector<int64_t>{16, 17, 18, 19}));
  EXPECT_EQ(std::vector<int64_t>(lab, lab + 4), (std::vector<int64_t>{17, 18, 19, 20}));
  ASSERT_EQ(pzrt_token_file_window(f, 7, in, lab), 0); // 7 mod 5 = 2
  EXPECT_EQ(std::vector<int64_t>(in, in + 4), (std::vector<int64_t>{8, 9, 10, 11}));
  EXPECT_EQ(lab[3], 12);
  pzrt_token_file_close(f);
}

TEST(TokenFile, BatchSlicesOverRanksAndMicroBatches) {
  TempDir d;
  pzrt_token_file *f = pzrt_token_file_open(writeCounting16(d, 1001).c_str(), 2, 10);
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(pzrt_token_file_num_windows(f), 100);
  // G = 8, D = 2, K = 2: B = 2. Step 3, rank 1, micro 1 -> windows 24+4+2 = 30, 31.
  pzrt_batch_slice s{3, 8, 1, 2, 1, 2};
  int64_t first = 0, count = 0;
  ASSERT_EQ(pzrt_batch_slice_range(&s, &first, &count), 0);
  EXPECT_EQ(first, 30);
  EXPECT_EQ(count, 2);
  std::vector<int64_t> in(20), lab(20);
  ASSERT_EQ(pzrt_token_file_batch(f, &s, 0, in.data(), lab.data()), 0);
  EXPECT_EQ(in[0], 300);
  EXPECT_EQ(in[9], 309);
  EXPECT_EQ(lab[9], 310);
  EXPECT_EQ(in[10], 310); // second sequence: window 31
  EXPECT_EQ(lab[19], 320);
  // Step 12 wraps: windows 96+4+2 = 102, 103 -> 2, 3.
  s.step = 12;
  ASSERT_EQ(pzrt_token_file_batch(f, &s, 0, in.data(), lab.data()), 0);
  EXPECT_EQ(in[0], 20);
  EXPECT_EQ(in[10], 30);
  // The vocabulary check names the offending position.
  EXPECT_EQ(pzrt_token_file_batch(f, &s, 25, in.data(), lab.data()), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("token 25 at position 25 is >= the vocabulary"),
            std::string::npos)
      << pzrt_last_error();
  pzrt_token_file_close(f);
}

TEST(TokenFile, Uint32Tokens) {
  TempDir d;
  std::vector<uint32_t> t = {70000, 70001, 70002, 70003, 70004};
  pzrt::test::writeBytes(d.file("t32.bin"), pzrt::test::bytesOf(t));
  pzrt_token_file *f = pzrt_token_file_open(d.file("t32.bin").c_str(), 4, 2);
  ASSERT_NE(f, nullptr);
  int64_t in[2], lab[2];
  ASSERT_EQ(pzrt_token_file_window(f, 1, in, lab), 0);
  EXPECT_EQ(in[0], 70002);
  EXPECT_EQ(lab[1], 70004);
  pzrt_token_file_close(f);
}

TEST(TokenFile, LlmcHeaderIsRecognised) {
  TempDir d;
  std::vector<int32_t> header(256, 0);
  header[0] = 20240520;
  header[1] = 1;
  header[2] = 6;
  std::vector<uint16_t> toks = {5, 6, 7, 8, 9, 10};
  pzrt::test::writeBytes(d.file("llmc.bin"),
                         pzrt::test::bytesOf(header) + pzrt::test::bytesOf(toks));
  pzrt_token_file *f = pzrt_token_file_open(d.file("llmc.bin").c_str(), 2, 5);
  ASSERT_NE(f, nullptr) << pzrt_last_error();
  EXPECT_EQ(pzrt_token_file_num_tokens(f), 6);
  int64_t in[5], lab[5];
  ASSERT_EQ(pzrt_token_file_window(f, 0, in, lab), 0);
  EXPECT_EQ(in[0], 5);
  EXPECT_EQ(lab[4], 10);
  pzrt_token_file_close(f);
}

TEST(TokenFile, Errors) {
  TempDir d;
  std::string path = writeCounting16(d, 4);
  EXPECT_EQ(pzrt_token_file_open(path.c_str(), 2, 4), nullptr); // needs 5 tokens
  std::string msg = pzrt_last_error();
  EXPECT_NE(msg.find("has 4 tokens, fewer than the 5 needed for one window"), std::string::npos)
      << msg;
  EXPECT_NE(msg.find(path), std::string::npos);
  pzrt::test::writeBytes(d.file("odd.bin"), std::string(7, '\0'));
  EXPECT_EQ(pzrt_token_file_open(d.file("odd.bin").c_str(), 2, 2), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("not a multiple of the 2-byte token size"),
            std::string::npos);
  EXPECT_EQ(pzrt_token_file_open(d.file("missing.bin").c_str(), 2, 2), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("No such file"), std::string::npos);
  EXPECT_EQ(pzrt_token_file_open(path.c_str(), 3, 2), nullptr);
  pzrt_batch_slice s{0, 6, 0, 4, 0, 1};
  int64_t first, count;
  EXPECT_EQ(pzrt_batch_slice_range(&s, &first, &count), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("global batch 6 is not divisible by dp_size 4"),
            std::string::npos);
}

TEST(Synthetic, DeterministicShiftedAndInRange) {
  const int64_t vocab = 50, S = 16;
  pzrt_batch_slice s{2, 4, 0, 2, 0, 1}; // windows 8, 9
  std::vector<int64_t> in(2 * S), lab(2 * S), in2(2 * S), lab2(2 * S);
  ASSERT_EQ(pzrt_synthetic_batch(7, vocab, S, &s, in.data(), lab.data()), 0);
  ASSERT_EQ(pzrt_synthetic_batch(7, vocab, S, &s, in2.data(), lab2.data()), 0);
  EXPECT_EQ(in, in2);
  int follows = 0;
  for (int64_t b = 0; b < 2; ++b)
    for (int64_t j = 0; j < S; ++j) {
      int64_t x = in[static_cast<size_t>(b * S + j)], y = lab[static_cast<size_t>(b * S + j)];
      ASSERT_GE(x, 0);
      ASSERT_LT(x, vocab);
      if (j + 1 < S) {
        EXPECT_EQ(y, in[static_cast<size_t>(b * S + j + 1)]); // labels are inputs shifted by one
      }
      follows += y == (7 * x + 3) % vocab;
    }
  EXPECT_GT(follows, 16); // ~3/4 of 32 follow the pattern
  // Rank 1 of 2 at the same step gets windows 10, 11: different data.
  pzrt_batch_slice s1{2, 4, 1, 2, 0, 1};
  ASSERT_EQ(pzrt_synthetic_batch(7, vocab, S, &s1, in2.data(), lab2.data()), 0);
  EXPECT_NE(in, in2);
  std::vector<float> f(8);
  pzrt_synthetic_floats(1, 0, 0, f.data(), 8);
  for (float x : f) {
    EXPECT_GE(x, -1.0f);
    EXPECT_LT(x, 1.0f);
  }
}

} // namespace
