// Fibers for the CUDA host emulator (see fiber.h).
#include "cuda/emu/fiber.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "the CUDA host emulator's context switch is written for x86-64 only"
#endif

// pz_emu_switch(void **save, void *resume): rdi = save, rsi = resume.
asm(R"(
  .text
  .globl pz_emu_switch
  .hidden pz_emu_switch
  .type pz_emu_switch, @function
pz_emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size pz_emu_switch, .-pz_emu_switch
)");

namespace pz_emu {

namespace {

// 256 KiB by default (kernels keep per-thread arrays on the stack); only
// the pages a fiber touches are ever backed by memory.
size_t configuredStackBytes() {
  size_t kib = 256;
  if (const char *env = std::getenv("PZRT_EMU_STACK_KIB")) {
    long v = std::atol(env);
    if (v >= 64)
      kib = static_cast<size_t>(v);
  }
  return kib * 1024;
}

} // namespace

StackPool::~StackPool() {
  for (const Region &r : regions_)
    munmap(r.base, r.bytes);
}

char *StackPool::top(size_t i) {
  if (i < tops_.size())
    return tops_[i];
  if (stackBytes_ == 0)
    stackBytes_ = configuredStackBytes();
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  // Grow by a batch of stacks at once, one mapping per batch.
  const size_t first = tops_.size(), count = i + 1 - first < 64 ? 64 : i + 1 - first;
  const size_t slot = stackBytes_ + page;
  const size_t bytes = slot * count;
  void *base = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) {
    std::fprintf(stderr, "pz_emu: cannot map %zu bytes of fiber stacks\n", bytes);
    std::abort();
  }
  regions_.push_back({static_cast<char *>(base), bytes});
  for (size_t k = 0; k < count; ++k) {
    char *lo = static_cast<char *>(base) + k * slot;
    mprotect(lo, page, PROT_NONE); // the guard page below the stack
    // Stack tops a page apart would put every fiber's hot frames in the
    // same L1 cache sets; stagger them by cache lines within a page.
    const size_t colour = (tops_.size() * 64) % page;
    tops_.push_back(lo + slot - colour);
  }
  return tops_[i];
}

// Not instrumented: under AddressSanitizer a reused stack may keep the
// redzones of frames that a finished fiber never returned from (its first
// ones); every instrumented frame rewrites its own shadow on entry, but
// these stores would be checked against the stale one.
__attribute__((no_sanitize("address"))) void *initialStack(char *top, void (*entry)()) {
  auto sp = reinterpret_cast<void **>(reinterpret_cast<uintptr_t>(top) & ~uintptr_t(15));
  // What pz_emu_switch pops: six registers, then `ret` into `entry` with
  // rsp = top - 8, as if `entry` had been called (the ABI's alignment).
  *--sp = nullptr; // entry's return address: it never returns
  *--sp = reinterpret_cast<void *>(entry);
  for (int r = 0; r < 6; ++r)
    *--sp = nullptr;
  return sp;
}

} // namespace pz_emu
