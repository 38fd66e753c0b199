// pzrt_blas_set_threads, apart from the GEMM: the training driver calls it
// (--threads) in every program, and a program that runs no CPU kernel (the
// CUDA backend's) must not depend on OpenBLAS through it. So it looks
// OpenBLAS's setter up among the process's symbols instead of linking it:
// found wherever the program links the CPU GEMM (OpenBLAS as a shared
// library), absent otherwise, and then there is nothing to set.
#include "pzrt/kernels.h"

#include <dlfcn.h>

extern "C" void pzrt_blas_set_threads(int n) {
  if (n <= 0)
    return;
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(n);
}
