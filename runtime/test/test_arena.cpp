// Counted allocations and the activation arena.
#include "pzrt/arena.h"
#include "pzrt/error.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace {

TEST(Memory, AlignedZeroedAndCounted) {
  pzrt_mem_reset_peaks();
  uint64_t base = pzrt_mem_current_total();
  uint64_t gradsBase = pzrt_mem_current(PZRT_MEM_GRADS);
  void *p = pzrt_mem_alloc(1000, PZRT_MEM_PARAMS);
  void *g = pzrt_mem_alloc(3000, PZRT_MEM_GRADS);
  ASSERT_NE(p, nullptr);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(g) % 64, 0u);
  for (int i = 0; i < 1000; ++i)
    ASSERT_EQ(static_cast<unsigned char *>(p)[i], 0);
  EXPECT_EQ(pzrt_mem_current_total(), base + 4000);
  EXPECT_EQ(pzrt_mem_current(PZRT_MEM_GRADS), gradsBase + 3000);
  pzrt_mem_free(g);
  EXPECT_EQ(pzrt_mem_current_total(), base + 1000);
  EXPECT_EQ(pzrt_mem_peak_total(), base + 4000); // high-water mark stays
  EXPECT_EQ(pzrt_mem_peak(PZRT_MEM_GRADS), gradsBase + 3000);
  void *o = pzrt_mem_alloc(500, PZRT_MEM_OPTIMIZER);
  EXPECT_EQ(pzrt_mem_peak_total(), base + 4000); // 1500 < 4000
  pzrt_mem_free(o);
  pzrt_mem_free(p);
  pzrt_mem_reset_peaks();
  EXPECT_EQ(pzrt_mem_peak_total(), base);
  EXPECT_STREQ(pzrt_mem_category_name(PZRT_MEM_OPTIMIZER), "optimizer");
}

TEST(Memory, ZeroBytesAndBadCategory) {
  void *z = pzrt_mem_alloc(0, PZRT_MEM_OTHER);
  EXPECT_NE(z, nullptr);
  pzrt_mem_free(z);
  EXPECT_EQ(pzrt_mem_alloc(8, 42), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("unknown memory category 42"), std::string::npos);
}

TEST(Arena, LivenessPeakAndHighOffset) {
  uint64_t arenaBefore = pzrt_mem_current(PZRT_MEM_ARENA);
  pzrt_arena *a = pzrt_arena_create(4096, 3000);
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(pzrt_mem_current(PZRT_MEM_ARENA), arenaBefore + 4096);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(pzrt_arena_base(a)) % 64, 0u);
  EXPECT_EQ(pzrt_arena_planned_peak(a), 3000u);
  char *base = static_cast<char *>(pzrt_arena_base(a));
  EXPECT_EQ(pzrt_arena_acquire(a, 0, 1024), base);
  EXPECT_EQ(pzrt_arena_acquire(a, 1024, 2048), base + 1024);
  EXPECT_EQ(pzrt_arena_in_use(a), 3072u);
  ASSERT_EQ(pzrt_arena_release(a, 0), 0);
  EXPECT_EQ(pzrt_arena_acquire(a, 3072, 512), base + 3072);
  EXPECT_EQ(pzrt_arena_in_use(a), 2560u);
  EXPECT_EQ(pzrt_arena_peak(a), 3072u);
  EXPECT_EQ(pzrt_arena_high_offset(a), 3584u);
  pzrt_arena_release_all(a);
  EXPECT_EQ(pzrt_arena_in_use(a), 0u);
  pzrt_arena_reset_peak(a);
  EXPECT_EQ(pzrt_arena_peak(a), 0u);
  pzrt_arena_destroy(a);
  EXPECT_EQ(pzrt_mem_current(PZRT_MEM_ARENA), arenaBefore);
}

TEST(Arena, RejectsOverlapAndOutOfRange) {
  pzrt_arena *a = pzrt_arena_create(1024, 0);
  ASSERT_NE(pzrt_arena_acquire(a, 256, 256), nullptr);
  EXPECT_EQ(pzrt_arena_acquire(a, 128, 200), nullptr); // overlaps from below
  EXPECT_NE(std::string(pzrt_last_error()).find("overlaps live buffer [256, 512)"),
            std::string::npos)
      << pzrt_last_error();
  EXPECT_EQ(pzrt_arena_acquire(a, 500, 10), nullptr); // overlaps from inside
  EXPECT_NE(pzrt_arena_acquire(a, 0, 256), nullptr);  // adjacent is fine
  EXPECT_NE(pzrt_arena_acquire(a, 512, 512), nullptr);
  EXPECT_EQ(pzrt_arena_acquire(a, 1000, 100), nullptr);
  EXPECT_NE(std::string(pzrt_last_error()).find("leaves the arena of 1024 bytes"),
            std::string::npos);
  EXPECT_EQ(pzrt_arena_at(a, SIZE_MAX - 4, 8), nullptr); // no overflow wrap-around
  EXPECT_EQ(pzrt_arena_release(a, 100), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("no live buffer starts at offset 100"),
            std::string::npos);
  pzrt_arena_destroy(a);
}

} // namespace
