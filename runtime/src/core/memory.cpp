// Counted 64-byte-aligned allocations and the per-rank arena.
#include "pzrt/arena.h"

#include "core/internal.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <unordered_map>

using pzrt::fail;

namespace {

constexpr size_t kAlign = 64;

// A live allocation: its size, category and the allocator that made it
// (NULL: aligned_alloc), which frees it even after the allocator changed.
struct Allocation {
  size_t bytes;
  pzrt_mem_category cat;
  const pzrt_mem_allocator *allocator;
};

struct Accounting {
  std::mutex mu;
  std::unordered_map<void *, Allocation> live;
  const pzrt_mem_allocator *allocator = nullptr; // pzrt_mem_set_allocator's
  uint64_t current[PZRT_MEM_CATEGORY_COUNT] = {};
  uint64_t peak[PZRT_MEM_CATEGORY_COUNT] = {};
  uint64_t total = 0, totalPeak = 0;
};

Accounting &acct() {
  static Accounting *a = new Accounting(); // never destroyed: safe at exit
  return *a;
}

const char *const kCatNames[PZRT_MEM_CATEGORY_COUNT] = {
    "params", "grads", "optimizer", "arena", "workspace", "data", "other"};

} // namespace

struct pzrt_arena {
  char *base = nullptr;
  size_t size = 0;
  size_t planned = 0;
  std::map<size_t, size_t> live; // offset -> bytes
  size_t inUse = 0, peak = 0, highOffset = 0;
};

extern "C" {

const char *pzrt_mem_category_name(pzrt_mem_category cat) {
  return cat >= 0 && cat < PZRT_MEM_CATEGORY_COUNT ? kCatNames[cat] : "?";
}

void *pzrt_mem_alloc(size_t bytes, int cat) {
  if (cat < 0 || cat >= PZRT_MEM_CATEGORY_COUNT) {
    fail("mem_alloc: unknown memory category %d", cat);
    return nullptr;
  }
  size_t rounded = (bytes + kAlign - 1) / kAlign * kAlign;
  if (rounded < bytes) {
    fail("mem_alloc: size %zu overflows", bytes);
    return nullptr;
  }
  Accounting &a = acct();
  const pzrt_mem_allocator *allocator;
  {
    std::lock_guard<std::mutex> lock(a.mu);
    allocator = a.allocator;
  }
  void *p = nullptr;
  if (allocator) {
    // The allocator zero-fills and reports its own failure.
    p = allocator->alloc(rounded ? rounded : kAlign, cat, allocator->user);
    if (!p)
      return nullptr;
    if (reinterpret_cast<uintptr_t>(p) % kAlign != 0) {
      allocator->free(p, allocator->user);
      fail("mem_alloc: the allocator returned %p, not %zu-byte aligned", p, kAlign);
      return nullptr;
    }
  } else {
    p = std::aligned_alloc(kAlign, rounded ? rounded : kAlign);
    if (!p) {
      fail("mem_alloc: out of memory allocating %zu bytes for %s (%llu bytes already allocated)",
           bytes, kCatNames[cat], static_cast<unsigned long long>(pzrt_mem_current_total()));
      return nullptr;
    }
    std::memset(p, 0, rounded ? rounded : kAlign);
  }
  std::lock_guard<std::mutex> lock(a.mu);
  a.live[p] = {bytes, static_cast<pzrt_mem_category>(cat), allocator};
  a.current[cat] += bytes;
  if (a.current[cat] > a.peak[cat])
    a.peak[cat] = a.current[cat];
  a.total += bytes;
  if (a.total > a.totalPeak)
    a.totalPeak = a.total;
  return p;
}

void pzrt_mem_free(void *ptr) {
  if (!ptr)
    return;
  Accounting &a = acct();
  const pzrt_mem_allocator *allocator;
  {
    std::lock_guard<std::mutex> lock(a.mu);
    auto it = a.live.find(ptr);
    if (it == a.live.end())
      pzrt::fatal(1, "mem_free: %p was not allocated by pzrt_mem_alloc (or freed twice)", ptr);
    a.current[it->second.cat] -= it->second.bytes;
    a.total -= it->second.bytes;
    allocator = it->second.allocator;
    a.live.erase(it);
  }
  if (allocator)
    allocator->free(ptr, allocator->user);
  else
    std::free(ptr);
}

const pzrt_mem_allocator *pzrt_mem_set_allocator(const pzrt_mem_allocator *allocator) {
  Accounting &a = acct();
  std::lock_guard<std::mutex> lock(a.mu);
  const pzrt_mem_allocator *before = a.allocator;
  a.allocator = allocator;
  return before;
}

uint64_t pzrt_mem_current(pzrt_mem_category cat) {
  if (cat < 0 || cat >= PZRT_MEM_CATEGORY_COUNT)
    return 0;
  std::lock_guard<std::mutex> lock(acct().mu);
  return acct().current[cat];
}

uint64_t pzrt_mem_peak(pzrt_mem_category cat) {
  if (cat < 0 || cat >= PZRT_MEM_CATEGORY_COUNT)
    return 0;
  std::lock_guard<std::mutex> lock(acct().mu);
  return acct().peak[cat];
}

uint64_t pzrt_mem_current_total(void) {
  std::lock_guard<std::mutex> lock(acct().mu);
  return acct().total;
}

uint64_t pzrt_mem_peak_total(void) {
  std::lock_guard<std::mutex> lock(acct().mu);
  return acct().totalPeak;
}

void pzrt_mem_reset_peaks(void) {
  Accounting &a = acct();
  std::lock_guard<std::mutex> lock(a.mu);
  for (int i = 0; i < PZRT_MEM_CATEGORY_COUNT; ++i)
    a.peak[i] = a.current[i];
  a.totalPeak = a.total;
}

pzrt_arena *pzrt_arena_create(size_t bytes, size_t planned_peak) {
  void *p = pzrt_mem_alloc(bytes, PZRT_MEM_ARENA);
  if (!p)
    return nullptr;
  auto *a = new pzrt_arena();
  a->base = static_cast<char *>(p);
  a->size = bytes;
  a->planned = planned_peak;
  return a;
}

void pzrt_arena_destroy(pzrt_arena *a) {
  if (!a)
    return;
  pzrt_mem_free(a->base);
  delete a;
}

void *pzrt_arena_base(pzrt_arena *a) { return a ? a->base : nullptr; }
size_t pzrt_arena_size(const pzrt_arena *a) { return a ? a->size : 0; }
size_t pzrt_arena_planned_peak(const pzrt_arena *a) { return a ? a->planned : 0; }

void *pzrt_arena_at(pzrt_arena *a, size_t offset, size_t bytes) {
  if (!a || offset > a->size || bytes > a->size - offset) {
    fail("arena: buffer [%zu, +%zu) leaves the arena of %zu bytes", offset, bytes,
         a ? a->size : 0);
    return nullptr;
  }
  return a->base + offset;
}

void *pzrt_arena_acquire(pzrt_arena *a, size_t offset, size_t bytes) {
  void *p = pzrt_arena_at(a, offset, bytes);
  if (!p)
    return nullptr;
  if (bytes == 0)
    return p;
  // The first live buffer starting at or after offset, and the one before it.
  auto next = a->live.lower_bound(offset);
  if (next != a->live.end() && next->first < offset + bytes) {
    fail("arena: buffer [%zu, %zu) overlaps live buffer [%zu, %zu)", offset, offset + bytes,
         next->first, next->first + next->second);
    return nullptr;
  }
  if (next != a->live.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second > offset) {
      fail("arena: buffer [%zu, %zu) overlaps live buffer [%zu, %zu)", offset, offset + bytes,
           prev->first, prev->first + prev->second);
      return nullptr;
    }
  }
  a->live[offset] = bytes;
  a->inUse += bytes;
  if (a->inUse > a->peak)
    a->peak = a->inUse;
  if (offset + bytes > a->highOffset)
    a->highOffset = offset + bytes;
  return p;
}

int pzrt_arena_release(pzrt_arena *a, size_t offset) {
  if (!a)
    return fail("arena_release: arena is NULL");
  auto it = a->live.find(offset);
  if (it == a->live.end())
    return fail("arena: no live buffer starts at offset %zu", offset);
  a->inUse -= it->second;
  a->live.erase(it);
  return 0;
}

void pzrt_arena_release_all(pzrt_arena *a) {
  if (!a)
    return;
  a->live.clear();
  a->inUse = 0;
}

size_t pzrt_arena_in_use(const pzrt_arena *a) { return a ? a->inUse : 0; }
size_t pzrt_arena_peak(const pzrt_arena *a) { return a ? a->peak : 0; }
size_t pzrt_arena_high_offset(const pzrt_arena *a) { return a ? a->highOffset : 0; }
void pzrt_arena_reset_peak(pzrt_arena *a) {
  if (a)
    a->peak = a->inUse;
}

} // extern "C"
