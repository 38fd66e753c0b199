//===- DropoutTest.cpp - Philox counter layout and pz.dropout -------------===//
//
// The interpreter draws from the runtime's generator (whose known-answer
// vectors runtime/test checks); these tests check the counter layout and
// that the interpreter's keep rule gives the runtime kernel's masks.
//
//===----------------------------------------------------------------------===//

#include "InterpTestUtils.h"

#include "pzrt/kernels.h"

using namespace pztest;
using namespace mlir::pz::interp;

namespace {

using DropoutTest = InterpFixture;

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

TEST(Philox, KeepRuleMatchesTheRuntimeKernel) {
  const int n = 257;
  for (uint64_t seed :
       {uint64_t(0), uint64_t(7), uint64_t(0x123456789abcdefULL)})
    for (uint64_t step : {uint64_t(0), uint64_t(1), uint64_t(1) << 40}) {
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

static const char *kDropoutWhole = R"(
  func.func @f(%x: tensor<2x4x3xf64>) -> tensor<2x4x3xf64> {
    %0 = pz.dropout %x {rate = 5.0e-01 : f64, seed = 5 : i64} : tensor<2x4x3xf64>
    return %0 : tensor<2x4x3xf64>
  })";

static const char *kDropoutBlock = R"(
  func.func @f(%x: tensor<2x2x2xf64>, %i: tensor<2xi64>, %j: tensor<2xi64>) -> tensor<2x2x2xf64> {
    %0 = pz.dropout %x indices(%i, %j : tensor<2xi64>, tensor<2xi64>)
             {global_shape = array<i64: 2, 4, 3>, rate = 5.0e-01 : f64, seed = 5 : i64,
              split_dims = array<i64: 1, 2>} : tensor<2x2x2xf64>
    return %0 : tensor<2x2x2xf64>
  })";

TEST_F(DropoutTest, ABlockDrawsTheWholeValuesMasks) {
  // Rank k of a [2, 4, 3] value split along dim 1 in the zigzag layout
  // (rows k and 3 - k) and holding columns {0, 2} of dim 2: its result is
  // that part of the whole dropout.
  std::vector<double> x;
  for (int i = 0; i < 24; ++i)
    x.push_back(1.0 + i);
  InterpOptions opts;
  opts.step = 3;
  auto whole = eval(kDropoutWhole, {T({2, 4, 3}, x)}, opts);
  ASSERT_EQ(whole.size(), 1u);
  int zeros = 0;
  for (int64_t k = 0; k < 2; ++k) {
    std::vector<double> mine, want;
    for (int b = 0; b < 2; ++b)
      for (int s : {int(k), int(3 - k)})
        for (int h : {0, 2}) {
          mine.push_back(x[(b * 4 + s) * 3 + h]);
          want.push_back(whole[0].data[(b * 4 + s) * 3 + h]);
          zeros += want.back() == 0.0;
        }
    auto r = eval(kDropoutBlock,
                  {T({2, 2, 2}, mine), T({2}, {double(k), double(3 - k)}), T({2}, {0.0, 2.0})},
                  opts);
    ASSERT_EQ(r.size(), 1u);
    expectTensor(r[0], {2, 2, 2}, want, 0.0);
  }
  // The masks are not trivial: some elements dropped, some kept.
  EXPECT_GT(zeros, 2);
  EXPECT_LT(zeros, 14);
}

TEST_F(DropoutTest, ABlockIndexOutsideTheWholeValueIsAnError) {
  // Row 4 of a dim of 4 would draw another element's mask.
  std::string err = evalError(kDropoutBlock, {T({2, 2, 2}, std::vector<double>(8, 1.0)),
                                              T({2}, {0.0, 4.0}), T({2}, {0.0, 2.0})});
  EXPECT_NE(err.find("dropout index 4 of dim 1 is out of range [0, 4)"), std::string::npos)
      << err;
}

} // namespace
