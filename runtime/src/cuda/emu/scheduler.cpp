// The CUDA host emulator's scheduler: the blocks of a launch one after
// another, the threads of a block as cooperative fibers (fiber.h).
//
// A fiber runs until it waits at a barrier or returns. __syncthreads waits
// for every thread of the block, a warp operation (shuffle, ballot,
// __syncwarp) for every lane of the warp; the last to arrive releases the
// others and runs on. When a pass over the block finds no fiber to run
// while some have not returned, no barrier can ever complete (some threads
// returned or wait elsewhere): that is reported and the process aborts,
// since a GPU would hang or compute garbage.
#include "cuda/emu/emu.h"
#include "cuda/emu/fiber.h"
#include "pzrt/cuda_emulate.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

// AddressSanitizer must be told about every stack switch, or it reports
// the fibers' frames as overflows of the scheduler's stack.
#if defined(__SANITIZE_ADDRESS__)
#define PZ_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PZ_EMU_ASAN 1
#endif
#endif
#if defined(PZ_EMU_ASAN)
#include <sanitizer/common_interface_defs.h>
#endif

namespace pz_emu {

uint3 g_threadIdx;
uint3 g_blockIdx;
dim3 g_blockDim;
dim3 g_gridDim;

namespace {

enum class State { Ready, AtBarrier, AtWarp, Done };

struct Fiber {
  void *sp = nullptr;     // where it was suspended; null before it first runs
  char *stack = nullptr;  // its stack's top while it runs or waits
  uint3 tid;
  State state = State::Ready;
  unsigned barriers = 0; // __syncthreads calls so far
  unsigned warpOps = 0;  // warp operations so far (selects the exchange buffer)
  const char *what = nullptr, *file = nullptr;
  int line = 0;
};

struct Warp {
  unsigned lanes = 0; // the lanes that exist (a block's last warp may be partial)
  unsigned arrived = 0;
  alignas(16) unsigned char slots[2][32][kSlotBytes];
};

struct Block {
  const char *kernel = nullptr;
  const std::function<void()> *body = nullptr;
  std::vector<Fiber> fibers;
  std::vector<Warp> warps;
  unsigned threads = 0, arrived = 0;
  // __syncthreads_count's sums, by the parity of the barrier's number: a
  // thread reads barrier k's sum before it can arrive at k+1, whose
  // release clears the sum that barrier k+2 will use.
  int counts[2] = {0, 0};
  size_t current = 0;
  void *schedulerSp = nullptr;
  StackPool stacks;
  // Stacks of fibers that returned, most recently used last: a fiber that
  // runs to its end without waiting (an element-wise kernel's) leaves its
  // stack to the next, so such a block runs on one cache-hot stack.
  std::vector<char *> freeStacks;
  std::vector<unsigned char> shared; // the launch's dynamic shared memory
  unsigned char *sharedAligned = nullptr;
};

Block block;
std::mutex launchMutex;
thread_local bool threadInKernel = false; // a launch runs on this OS thread

Fiber &self() { return block.fibers[block.current]; }

std::string where() {
  return "kernel " + std::string(block.kernel) + ", block (" + std::to_string(g_blockIdx.x) +
         "," + std::to_string(g_blockIdx.y) + "," + std::to_string(g_blockIdx.z) + ")";
}

[[noreturn]] void die(const std::string &msg) {
  std::fprintf(stderr, "pz_emu: %s\n", msg.c_str());
  std::fflush(stderr);
  std::abort();
}

#if defined(PZ_EMU_ASAN)
void *schedulerFake = nullptr;
const void *schedulerBottom = nullptr;
size_t schedulerSize = 0;
#endif

// From the running fiber to the scheduler; returns when resumed.
void yield() {
  Fiber &me = self();
#if defined(PZ_EMU_ASAN)
  void *fake = nullptr;
  __sanitizer_start_switch_fiber(&fake, schedulerBottom, schedulerSize);
  pz_emu_switch(&me.sp, block.schedulerSp);
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
  pz_emu_switch(&me.sp, block.schedulerSp);
#endif
}

// From the scheduler to fiber `f`; returns when it yields.
void resume(Fiber &f) {
#if defined(PZ_EMU_ASAN)
  const size_t usable = block.stacks.stackBytes() - 4096; // below any stagger
  __sanitizer_start_switch_fiber(&schedulerFake, f.stack - usable, usable);
  pz_emu_switch(&block.schedulerSp, f.sp);
  __sanitizer_finish_switch_fiber(schedulerFake, nullptr, nullptr);
#else
  pz_emu_switch(&block.schedulerSp, f.sp);
#endif
}

void fiberMain() {
#if defined(PZ_EMU_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &schedulerBottom, &schedulerSize);
#endif
  (*block.body)();
  Fiber &me = self();
  me.state = State::Done;
  // Not yield(): under AddressSanitizer its frame has a poisoned redzone
  // that, never returned from, would stay on the stack the next fiber
  // reuses. This frame has no addressable locals.
#if defined(PZ_EMU_ASAN)
  __sanitizer_start_switch_fiber(nullptr, schedulerBottom, schedulerSize);
#endif
  pz_emu_switch(&me.sp, block.schedulerSp);
  die("a finished fiber was resumed"); // unreachable
}

// "0-15, 17" for the threads of `fibers` that satisfy `pick`.
template <class Pick> std::string threadList(Pick pick) {
  std::string out;
  size_t n = block.fibers.size();
  for (size_t i = 0; i < n;) {
    if (!pick(block.fibers[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j + 1 < n && pick(block.fibers[j + 1]))
      ++j;
    out += (out.empty() ? "" : ", ") + std::to_string(i);
    if (j > i)
      out += "-" + std::to_string(j);
    i = j + 1;
  }
  return out.empty() ? "none" : out;
}

[[noreturn]] void deadlock() {
  std::string msg = where() + ": a barrier can never complete (threads by linear index)";
  for (const Fiber &f : block.fibers) {
    if (f.state == State::AtBarrier) {
      msg += "\n  waiting at __syncthreads #" + std::to_string(f.barriers) + " (" + f.file + ":" +
             std::to_string(f.line) + "): threads " + threadList([&](const Fiber &g) {
               return g.state == State::AtBarrier;
             });
      break;
    }
  }
  for (const Fiber &f : block.fibers)
    if (f.state == State::AtWarp) {
      msg += "\n  waiting at warp operations (first: " + std::string(f.what) + " at " + f.file +
             ":" + std::to_string(f.line) + "): threads " +
             threadList([](const Fiber &g) { return g.state == State::AtWarp; });
      break;
    }
  msg += "\n  returned: threads " +
         threadList([](const Fiber &g) { return g.state == State::Done; });
  die(msg);
}

// `reverse`: threads start, and resume after each barrier, from the last
// one down, so that a read of another thread's write that lacks a barrier
// sees the stale value in one of the two orders (alternate blocks take
// alternate orders).
void runBlock(bool reverse) {
  const size_t n = block.fibers.size();
  for (size_t i = 0; i < n; ++i) {
    Fiber &f = block.fibers[i];
    f.state = State::Ready;
    f.barriers = f.warpOps = 0;
    f.sp = nullptr;
  }
  block.freeStacks.clear();
  for (size_t i = n; i-- > 0;)
    block.freeStacks.push_back(block.stacks.top(i));
  block.arrived = 0;
  block.counts[0] = block.counts[1] = 0;
  for (Warp &w : block.warps)
    w.arrived = 0;
  size_t done = 0;
  while (done < n) {
    bool ran = false;
    for (size_t k = 0; k < n; ++k) {
      const size_t i = reverse ? n - 1 - k : k;
      Fiber &f = block.fibers[i];
      if (f.state != State::Ready)
        continue;
      if (!f.sp) {
        f.stack = block.freeStacks.back();
        block.freeStacks.pop_back();
        f.sp = initialStack(f.stack, fiberMain);
      }
      block.current = i;
      g_threadIdx = f.tid;
      resume(f);
      ran = true;
      if (f.state == State::Done) {
        ++done;
        block.freeStacks.push_back(f.stack);
      }
    }
    if (!ran && done < n)
      deadlock();
  }
}

} // namespace

void runGrid(const char *name, dim3 grid, dim3 threads, size_t sharedBytes,
             const std::function<void()> &body) {
  if (threadInKernel)
    die(std::string("kernel ") + name + " launched from a kernel (not emulated)");
  std::lock_guard<std::mutex> lock(launchMutex);
  threadInKernel = true;
  block.kernel = name;
  block.body = &body;
  block.threads = threads.x * threads.y * threads.z;
  block.fibers.assign(block.threads, Fiber());
  for (unsigned i = 0; i < block.threads; ++i)
    block.fibers[i].tid = make_uint3(i % threads.x, i / threads.x % threads.y,
                                     i / (threads.x * threads.y));
  block.warps.assign((block.threads + 31) / 32, Warp());
  for (size_t w = 0; w < block.warps.size(); ++w) {
    unsigned lanes = block.threads - 32 * static_cast<unsigned>(w);
    block.warps[w].lanes = lanes >= 32 ? 0xffffffffu : (1u << lanes) - 1;
    // A lane a partial warp lacks never writes its slot: reading it (UB on
    // a GPU) gives all-ones bytes, a NaN as float.
    std::memset(block.warps[w].slots, 0xff, sizeof block.warps[w].slots);
  }
  block.shared.resize(sharedBytes + 128);
  block.sharedAligned = reinterpret_cast<unsigned char *>(
      (reinterpret_cast<uintptr_t>(block.shared.data()) + 127) & ~uintptr_t(127));
  g_gridDim = grid;
  g_blockDim = threads;
  bool reverse = false;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        g_blockIdx = make_uint3(x, y, z);
        // Shared memory starts undefined on a GPU: all-ones bytes (a NaN
        // as float) make a kernel that reads it before writing it fail.
        std::memset(block.sharedAligned, 0xff, sharedBytes);
        runBlock(reverse);
        reverse = !reverse;
      }
  threadInKernel = false;
}

void syncthreads(const char *file, int line) {
  if (!threadInKernel)
    die("__syncthreads outside a kernel");
  Fiber &me = self();
  me.state = State::AtBarrier;
  ++me.barriers;
  me.file = file;
  me.line = line;
  if (++block.arrived < block.threads) {
    yield();
    return;
  }
  // The last thread releases the block.
  block.arrived = 0;
  block.counts[(me.barriers + 1) & 1] = 0;
  for (Fiber &f : block.fibers)
    f.state = State::Ready;
  // Every thread has called __syncthreads equally often, as the counting
  // hardware barrier requires (those that returned never arrive: deadlock).
}

int syncthreadsCount(int pred, const char *file, int line) {
  if (!threadInKernel)
    die("__syncthreads_count outside a kernel");
  const unsigned k = self().barriers + 1; // the number of this barrier
  block.counts[k & 1] += pred;
  syncthreads(file, line);
  return block.counts[k & 1];
}

unsigned laneId() {
  const Fiber &me = self();
  unsigned linear = me.tid.x + g_blockDim.x * (me.tid.y + g_blockDim.y * me.tid.z);
  return linear % 32;
}

namespace {

// Waits for every lane of the calling thread's warp; `mask` must name them.
Warp &warpBarrier(unsigned mask, const char *op, const char *file, int line) {
  if (!threadInKernel)
    die(std::string(op) + " outside a kernel");
  Fiber &me = self();
  const size_t index = block.current / 32;
  Warp &warp = block.warps[index];
  if ((mask & warp.lanes) != warp.lanes) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "0x%08x (the warp's lanes: 0x%08x)", mask, warp.lanes);
    die(where() + ", thread " + std::to_string(block.current) + ": " + op + " at " + file + ":" +
        std::to_string(line) + " with mask " + buf +
        "; the emulator runs warp operations over full warps only");
  }
  me.state = State::AtWarp;
  me.what = op;
  me.file = file;
  me.line = line;
  if (++warp.arrived < static_cast<unsigned>(__builtin_popcount(warp.lanes))) {
    yield();
    return warp;
  }
  warp.arrived = 0;
  const size_t first = index * 32, last = std::min(first + 32, block.fibers.size());
  for (size_t i = first; i < last; ++i) {
    Fiber &f = block.fibers[i];
    if (std::strcmp(f.what, op) != 0)
      die(where() + ": the lanes of warp " + std::to_string(index) + " met at different warp "
          "operations: " + f.what + " (" + f.file + ":" + std::to_string(f.line) + ", thread " +
          std::to_string(i) + ") and " + op + " (" + file + ":" + std::to_string(line) + ")");
    f.state = State::Ready;
  }
  return warp;
}

} // namespace

const unsigned char *warpExchange(const void *value, size_t bytes, unsigned mask, const char *op,
                                  const char *file, int line) {
  Fiber &me = self();
  Warp &warp = block.warps[block.current / 32];
  // Two buffers, alternating: a lane can write operation k+1's slot only
  // after every lane arrived at k+1, so all have read operation k's slots,
  // and operation k+2 (which reuses k's buffer) is one barrier later still.
  unsigned char(*slots)[kSlotBytes] = warp.slots[me.warpOps++ & 1];
  std::memcpy(slots[block.current % 32], value, bytes);
  warpBarrier(mask, op, file, line);
  return &slots[0][0];
}

void syncwarp(unsigned mask, const char *file, int line) {
  ++self().warpOps;
  warpBarrier(mask, "__syncwarp", file, line);
}

void *dynamicShared() { return block.sharedAligned; }

} // namespace pz_emu
