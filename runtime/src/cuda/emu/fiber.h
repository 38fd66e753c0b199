// Fibers for the CUDA host emulator: stacks and a minimal context switch.
//
// glibc's swapcontext saves and restores the signal mask with two system
// calls per switch, which dominates element-wise kernels (a million
// threads, two switches each). The switch here saves only what the x86-64
// System V ABI makes callee-saved (rbx, rbp, r12-r15 and rsp; the fibers
// share one floating-point environment, which no kernel changes).
#ifndef PZRT_SRC_CUDA_EMU_FIBER_H
#define PZRT_SRC_CUDA_EMU_FIBER_H

#include <cstddef>
#include <vector>

namespace pz_emu {

// Saves the running context's stack pointer into *save and resumes the
// context whose stack pointer is `resume`.
extern "C" void pz_emu_switch(void **save, void *resume);

// Stacks for up to `count` fibers, reused by every block and launch. Each
// has a guard page below it, so an overflow faults instead of corrupting
// the neighbouring fiber.
class StackPool {
public:
  ~StackPool();
  // The top (highest address, 16-byte aligned) of stack `i`; grows the
  // pool on first use of an index.
  char *top(size_t i);
  size_t stackBytes() const { return stackBytes_; }

private:
  struct Region {
    char *base;
    size_t bytes;
  };
  std::vector<Region> regions_;
  std::vector<char *> tops_;
  size_t stackBytes_ = 0;
};

// A stack pointer from which pz_emu_switch starts `entry` (a function that
// never returns) on the stack whose top is `top`.
void *initialStack(char *top, void (*entry)());

} // namespace pz_emu

#endif // PZRT_SRC_CUDA_EMU_FIBER_H
