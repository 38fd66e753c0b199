// pzrt_gemm_bf16 on the path this process takes (PZRT_CPU_BF16_GEMM).
//
// A test binary of its own: a program that links gemm_bf16.o chooses its
// bf16 GEMM path when the training driver starts and says so
// (train.cpp), which pzrt-tests' driver tests, standing for fp32 programs,
// must not do.
#include "pzrt/error.h"
#include "pzrt/kernels.h"
#include "pzrt/types.h"

#include "test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

// bf16 A and B: whichever path this process takes (oneDNN where it loads),
// the result is within fp32 accumulation's error of the widened sgemm:
// both sum the same exact products in fp32, so they differ by at most
// 2 k 2^-24 sum|a b| per element.
TEST(GemmBf16, WithinFp32AccumulationOfTheWidenedSgemm) {
  const char *path = pzrt_gemm_bf16_path();
  ASSERT_NE(path, nullptr) << pzrt_last_error();
  std::printf("bf16 GEMM path in this process: %s\n", path);
  struct Shape {
    int m, n, k, ta, tb;
  } shapes[] = {{7, 5, 3, 0, 0}, {128, 96, 256, 0, 1}, {64, 33, 128, 1, 0}, {31, 64, 200, 1, 1}};
  for (const Shape &s : shapes) {
    const int arows = s.ta ? s.k : s.m, acols = s.ta ? s.m : s.k;
    const int brows = s.tb ? s.n : s.k, bcols = s.tb ? s.k : s.n;
    auto af = pzrt::test::uniformVec(static_cast<size_t>(arows) * acols, 3);
    auto bf = pzrt::test::uniformVec(static_cast<size_t>(brows) * bcols, 4);
    std::vector<uint16_t> a(af.size()), b(bf.size());
    for (size_t i = 0; i < af.size(); ++i)
      a[i] = pzrt_f32_to_bf16(af[i]), af[i] = pzrt_bf16_to_f32(a[i]);
    for (size_t i = 0; i < bf.size(); ++i)
      b[i] = pzrt_f32_to_bf16(bf[i]), bf[i] = pzrt_bf16_to_f32(b[i]);
    std::vector<float> c(static_cast<size_t>(s.m) * s.n, 7.0f), again(c), ref(c);
    std::vector<float> sa(a.size()), sb(b.size());
    ASSERT_EQ(pzrt_gemm_bf16(s.ta, s.tb, s.m, s.n, s.k, 0.5f, a.data(), acols, b.data(), bcols,
                             0.25f, c.data(), s.n, sa.data(), static_cast<int64_t>(a.size()),
                             sb.data(), static_cast<int64_t>(b.size())),
              0)
        << pzrt_last_error();
    ASSERT_EQ(pzrt_gemm_bf16(s.ta, s.tb, s.m, s.n, s.k, 0.5f, a.data(), acols, b.data(), bcols,
                             0.25f, again.data(), s.n, sa.data(), static_cast<int64_t>(a.size()),
                             sb.data(), static_cast<int64_t>(b.size())),
              0);
    EXPECT_EQ(std::memcmp(c.data(), again.data(), c.size() * sizeof(float)), 0)
        << "not deterministic";
    ASSERT_EQ(pzrt_sgemm(s.ta, s.tb, s.m, s.n, s.k, 0.5f, af.data(), acols, bf.data(), bcols,
                         0.25f, ref.data(), s.n),
              0);
    for (int i = 0; i < s.m; ++i)
      for (int j = 0; j < s.n; ++j) {
        double absSum = 0;
        for (int l = 0; l < s.k; ++l) {
          float x = s.ta ? af[l * acols + i] : af[i * acols + l];
          float y = s.tb ? bf[j * bcols + l] : bf[l * bcols + j];
          absSum += std::fabs(static_cast<double>(x) * y);
        }
        double bound = 2.0 * s.k * std::ldexp(1.0, -24) * 0.5 * absSum + 4 * std::ldexp(1.0, -24) * 7;
        EXPECT_NEAR(c[i * s.n + j], ref[i * s.n + j], bound)
            << s.m << "x" << s.n << "x" << s.k << " ta=" << s.ta << " tb=" << s.tb << " at " << i
            << "," << j;
      }
  }
  uint16_t one = 0x3f80;
  float out = 0;
  EXPECT_EQ(pzrt_gemm_bf16(0, 0, 1, 1, 1, 1.0f, nullptr, 1, &one, 1, 0.0f, &out, 1, &out, 1, &out,
                           1),
            -1);
}

} // namespace
