// fp16/bf16 conversions against hand-computed bit patterns and exhaustive
// round trips.
#include "pzrt/half.h"
#include "pzrt/types.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

namespace {

float fromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

TEST(Types, DtypeSizesAndNames) {
  EXPECT_EQ(pzrt_dtype_size(PZRT_F32), 4u);
  EXPECT_EQ(pzrt_dtype_size(PZRT_BF16), 2u);
  EXPECT_EQ(pzrt_dtype_size(PZRT_I64), 8u);
  EXPECT_EQ(pzrt_dtype_size(PZRT_U64), 8u);
  EXPECT_STREQ(pzrt_dtype_name(PZRT_U64), "U64");
  EXPECT_EQ(pzrt_dtype_size(PZRT_I8), 1u);
  EXPECT_EQ(pzrt_dtype_size(PZRT_I16), 2u);
  EXPECT_STREQ(pzrt_dtype_name(PZRT_I8), "I8");
  EXPECT_STREQ(pzrt_dtype_name(PZRT_I16), "I16");
  EXPECT_EQ(pzrt_dtype_size(static_cast<pzrt_dtype>(99)), 0u);
  EXPECT_STREQ(pzrt_dtype_name(PZRT_BF16), "BF16");
  pzrt_dtype d;
  ASSERT_EQ(pzrt_dtype_from_name("I64", &d), 0);
  EXPECT_EQ(d, PZRT_I64);
  ASSERT_EQ(pzrt_dtype_from_name("I16", &d), 0);
  EXPECT_EQ(d, PZRT_I16);
  EXPECT_EQ(pzrt_dtype_from_name("float", &d), -1);
}

TEST(Types, Bf16HandValues) {
  EXPECT_EQ(pzrt_f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(pzrt_f32_to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(pzrt_f32_to_bf16(0.1f), 0x3DCD);               // 0x3DCCCCCD rounds up
  EXPECT_EQ(pzrt_f32_to_bf16(fromBits(0x3F808000)), 0x3F80); // tie -> even
  EXPECT_EQ(pzrt_f32_to_bf16(fromBits(0x3F818000)), 0x3F82); // tie -> even (up)
  EXPECT_EQ(pzrt_f32_to_bf16(std::numeric_limits<float>::infinity()), 0x7F80);
  uint16_t nan = pzrt_f32_to_bf16(std::numeric_limits<float>::quiet_NaN());
  EXPECT_EQ(nan & 0x7F80, 0x7F80);
  EXPECT_NE(nan & 0x007F, 0);
  EXPECT_EQ(pzrt_bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(pzrt_bf16_to_f32(0xC0A0), -5.0f);
}

TEST(Types, F16HandValues) {
  EXPECT_EQ(pzrt_f32_to_f16(1.0f), 0x3C00);
  EXPECT_EQ(pzrt_f32_to_f16(-2.0f), 0xC000);
  EXPECT_EQ(pzrt_f32_to_f16(65504.0f), 0x7BFF);
  EXPECT_EQ(pzrt_f32_to_f16(65519.0f), 0x7BFF);
  EXPECT_EQ(pzrt_f32_to_f16(65520.0f), 0x7C00); // rounds to infinity
  EXPECT_EQ(pzrt_f32_to_f16(0.1f), 0x2E66);
  EXPECT_EQ(pzrt_f32_to_f16(1.0f / 3.0f), 0x3555);
  EXPECT_EQ(pzrt_f32_to_f16(std::ldexp(1.0f, -14)), 0x0400); // smallest normal
  EXPECT_EQ(pzrt_f32_to_f16(std::ldexp(1.0f, -24)), 0x0001); // smallest subnormal
  EXPECT_EQ(pzrt_f32_to_f16(std::ldexp(1.0f, -25)), 0x0000); // tie -> even (zero)
  EXPECT_EQ(pzrt_f32_to_f16(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_EQ(pzrt_f32_to_f16(std::ldexp(3.0f, -25)), 0x0002); // 1.5 ulp tie -> even 2
  EXPECT_EQ(pzrt_f32_to_f16(-0.0f), 0x8000);
  EXPECT_EQ(pzrt_f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(pzrt_f16_to_f32(0x3555), 0.333251953125f);
  EXPECT_TRUE(std::isinf(pzrt_f16_to_f32(0x7C00)));
  EXPECT_TRUE(std::isnan(pzrt_f16_to_f32(0x7E00)));
}

TEST(Types, ExhaustiveRoundTrips) {
  for (uint32_t h = 0; h < 65536; ++h) {
    uint16_t x = static_cast<uint16_t>(h);
    bool f16Nan = (x & 0x7C00) == 0x7C00 && (x & 0x03FF);
    if (!f16Nan) {
      ASSERT_EQ(pzrt_f32_to_f16(pzrt_f16_to_f32(x)), x) << "f16 bits " << h;
    }
    bool bfNan = (x & 0x7F80) == 0x7F80 && (x & 0x007F);
    if (!bfNan) {
      ASSERT_EQ(pzrt_f32_to_bf16(pzrt_bf16_to_f32(x)), x) << "bf16 bits " << h;
    }
  }
}

TEST(Types, F16RoundsToNearest) {
  // For values between two adjacent halves, the result is the nearer one.
  for (uint16_t h = 0x0001; h < 0x7BFF; h = static_cast<uint16_t>(h + 37)) {
    double lo = pzrt_f16_to_f32(h), hi = pzrt_f16_to_f32(static_cast<uint16_t>(h + 1));
    float a = static_cast<float>(lo + 0.3 * (hi - lo));
    float b = static_cast<float>(lo + 0.7 * (hi - lo));
    EXPECT_EQ(pzrt_f32_to_f16(a), h);
    EXPECT_EQ(pzrt_f32_to_f16(b), h + 1);
  }
}

TEST(Types, HalfStorageConvertsThroughFloat) {
  pzrt::f16 h = 0.1f;
  EXPECT_EQ(h.bits, 0x2E66);
  EXPECT_EQ(static_cast<float>(h), pzrt_f16_to_f32(0x2E66));
  pzrt::bf16 b = -2.0f;
  EXPECT_EQ(b.bits, 0xC000);
  EXPECT_EQ(pzrt::f16(3).bits, 0x4200);
  // Every C integer type converts (the generated code casts uint8_t ...
  // uint64_t tensors to f16 / bf16 with (pzrt::f16)x).
  EXPECT_EQ(pzrt::f16(uint8_t{3}).bits, 0x4200);
  EXPECT_EQ(pzrt::f16(uint16_t{3}).bits, 0x4200);
  EXPECT_EQ(pzrt::f16(uint32_t{3}).bits, 0x4200);
  EXPECT_EQ(pzrt::bf16(uint64_t{1} << 40).bits, 0x5380);
  EXPECT_EQ(pzrt::f16(~uint64_t{0}).bits, 0x7C00); // beyond f16: infinity
  // Arithmetic reads float and rounds once on the store.
  pzrt::f16 sum = h + pzrt::f16(1.0f);
  EXPECT_EQ(sum.bits, pzrt_f32_to_f16(pzrt_f16_to_f32(0x2E66) + 1.0f));
}

// A double just above a tie of the 16-bit format: rounding it to float
// (nearest) first lands exactly on the tie, which then goes to even, one
// ulp below the correctly rounded value. Rounding to odd avoids that.
TEST(Types, HalfFromDoubleRoundsOnce) {
  double f16Tie = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  EXPECT_EQ(pzrt_f32_to_f16(static_cast<float>(f16Tie)), 0x3C00); // the double rounding
  EXPECT_EQ(pzrt::f16(f16Tie).bits, 0x3C01);
  EXPECT_EQ(pzrt::f16(-f16Tie).bits, 0xBC01);
  double bf16Tie = 1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40);
  EXPECT_EQ(pzrt::bf16(bf16Tie).bits, 0x3F81);
  // Exact ties and exact values still round to even / stay exact.
  EXPECT_EQ(pzrt::f16(1.0 + std::ldexp(1.0, -11)).bits, 0x3C00);
  EXPECT_EQ(pzrt::f16(0.5).bits, 0x3800);
  EXPECT_EQ(pzrt::f16(1e10).bits, 0x7C00);
  EXPECT_EQ(pzrt::f16(-1e300).bits, 0xFC00);
  EXPECT_TRUE(std::isnan(static_cast<float>(pzrt::bf16(std::nan("")))));
}

// The bulk conversions the CPU backend runs around its fp32 kernels agree
// with the scalar ones on every 16-bit pattern, and refuse other dtypes.
TEST(Types, BulkWidenAndNarrow) {
  std::vector<uint16_t> all(65536), back(65536);
  for (uint32_t i = 0; i < 65536; ++i)
    all[i] = static_cast<uint16_t>(i);
  std::vector<float> wide(65536);
  for (pzrt_dtype t : {PZRT_BF16, PZRT_F16}) {
    ASSERT_EQ(pzrt_widen_to_f32(t, all.data(), wide.data(), 65536), 0);
    for (uint32_t i = 0; i < 65536; ++i) {
      float want = t == PZRT_BF16 ? pzrt_bf16_to_f32(all[i]) : pzrt_f16_to_f32(all[i]);
      if (std::isnan(want))
        ASSERT_TRUE(std::isnan(wide[i])) << i;
      else
        ASSERT_EQ(wide[i], want) << i;
    }
    ASSERT_EQ(pzrt_narrow_from_f32(t, wide.data(), back.data(), 65536), 0);
    for (uint32_t i = 0; i < 65536; ++i) {
      if (!std::isnan(wide[i]))
        ASSERT_EQ(back[i], all[i]) << i; // exact values narrow back unchanged
    }
  }
  // Rounding: 1 + 2^-8 + 2^-9 (above the bf16 tie) rounds up.
  float x = 1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -9);
  uint16_t r = 0;
  ASSERT_EQ(pzrt_narrow_from_f32(PZRT_BF16, &x, &r, 1), 0);
  EXPECT_EQ(r, 0x3F81);
  EXPECT_NE(pzrt_widen_to_f32(PZRT_F32, all.data(), wide.data(), 1), 0);
  EXPECT_NE(pzrt_narrow_from_f32(PZRT_I64, wide.data(), back.data(), 1), 0);
  EXPECT_NE(pzrt_widen_to_f32(PZRT_BF16, all.data(), wide.data(), -1), 0);
}

} // namespace
