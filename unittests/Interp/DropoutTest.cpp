//===- DropoutTest.cpp - Philox-4x32-10 and pz.dropout --------------------===//
//
// The masks must be bit-identical to the runtime's. When the runtime is part
// of the build (PZ_INTERP_HAVE_PZRT), the test compares with pzrt's own
// functions; the Random123 known-answer vectors hold either way.
//
//===----------------------------------------------------------------------===//

#include "InterpTestUtils.h"

#ifdef PZ_INTERP_HAVE_PZRT
#include "pzrt/kernels.h"
#endif

using namespace pztest;
using namespace mlir::pz::interp;

namespace {

using DropoutTest = InterpFixture;

TEST(Philox, KnownAnswerVectors) {
  // Random123's kat_vectors for philox4x32_10.
  struct Kat {
    uint32_t ctr[4], key[2], out[4];
  } kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat &k : kats) {
    uint32_t out[4];
    philox4x32_10(k.ctr, k.key, out);
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(out[i], k.out[i]) << "word " << i;
  }
}

TEST(Philox, UniformUsesTheDocumentedCounterLayout) {
  // Element 1001 at step 7, seed 42: word 1 of block 250 with counter
  // {250, 0, 7, 0} and key {42, 0}.
  uint32_t ctr[4] = {250, 0, 7, 0}, key[2] = {42, 0}, out[4];
  philox4x32_10(ctr, key, out);
  EXPECT_EQ(philoxUniform(42, 7, 1001),
            static_cast<float>(out[1] >> 8) / 16777216.0f);
  // High halves of the seed, step and index reach the key and counter.
  uint64_t seed = (uint64_t(5) << 32) | 9, step = (uint64_t(3) << 32) | 1;
  uint64_t index = (uint64_t(2) << 34) | 6;
  uint32_t ctr2[4] = {1, 2, 1, 3}, key2[2] = {9, 5};
  philox4x32_10(ctr2, key2, out);
  EXPECT_EQ(philoxUniform(seed, step, index),
            static_cast<float>(out[2] >> 8) / 16777216.0f);
}

#ifdef PZ_INTERP_HAVE_PZRT
TEST(Philox, MatchesTheRuntimeBitForBit) {
  const int n = 257;
  for (uint64_t seed :
       {uint64_t(0), uint64_t(7), uint64_t(0x123456789abcdefULL)})
    for (uint64_t step : {uint64_t(0), uint64_t(1), uint64_t(1) << 40}) {
      std::vector<float> u(n);
      pzrt_rand_uniform(seed, step, 3, u.data(), n);
      for (int i = 0; i < n; ++i)
        ASSERT_EQ(philoxUniform(seed, step, 3 + i), u[i])
            << "seed " << seed << " step " << step << " index " << 3 + i;
      for (float p : {0.1f, 0.5f, 0.9f}) {
        std::vector<float> x(n, 1.0f), y(n);
        std::vector<uint8_t> mask(n);
        ASSERT_EQ(pzrt_dropout_fwd(x.data(), y.data(), mask.data(), n, p, seed,
                                   step, 0),
                  0);
        for (int i = 0; i < n; ++i)
          ASSERT_EQ(dropoutKeeps(p, seed, step, i), mask[i] == 1)
              << "p " << p << " index " << i;
      }
    }
}
#endif

static const char *kDropout = R"(
  func.func @f(%x: tensor<4x8xf64>) -> (tensor<4x8xf64>, tensor<4x8xf64>) {
    %0 = pz.dropout %x {rate = 0.0 : f64, seed = 3 : i64} : tensor<4x8xf64>
    %1 = pz.dropout %x {rate = 5.0e-01 : f64, seed = 11 : i64} : tensor<4x8xf64>
    return %0, %1 : tensor<4x8xf64>, tensor<4x8xf64>
  })";

TEST_F(DropoutTest, RateZeroIsIdentityAndTheMaskFollowsTheStream) {
  std::vector<double> x;
  for (int i = 0; i < 32; ++i)
    x.push_back(0.25 * i - 3);
  for (uint64_t step : {0u, 5u}) {
    InterpOptions opts;
    opts.step = step;
    auto r = eval(kDropout, {T({4, 8}, x)}, opts);
    ASSERT_EQ(r.size(), 2u);
    expectTensor(r[0], {4, 8}, x, 0.0);
    std::vector<double> want;
    int kept = 0;
    for (int i = 0; i < 32; ++i) {
      // The runtime's rule, written out: keep when uniform >= float(rate).
      bool keep = philoxUniform(11, step, i) >= 0.5f;
      kept += keep;
      want.push_back(keep ? x[i] * 2.0 : 0.0);
    }
    expectTensor(r[1], {4, 8}, want, 0.0);
    EXPECT_GT(kept, 4);
    EXPECT_LT(kept, 28);
  }
  // Another step gives another mask.
  InterpOptions s0, s1;
  s1.step = 1;
  auto a = eval(kDropout, {T({4, 8}, std::vector<double>(32, 1.0))}, s0);
  auto b = eval(kDropout, {T({4, 8}, std::vector<double>(32, 1.0))}, s1);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  EXPECT_NE(a[1].data, b[1].data);
}

} // namespace
