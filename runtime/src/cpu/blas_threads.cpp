// pzrt_blas_set_threads and the bf16 GEMM's setting, apart from the GEMMs:
// the training driver calls these in every program, and a program that runs
// no CPU kernel (the CUDA backend's) must not depend on OpenBLAS or oneDNN
// through them. So this file links neither: OpenBLAS's setter is looked up
// among the process's symbols (found wherever the program links the CPU
// GEMM, absent otherwise, and then there is nothing to set), and the thread
// count for oneDNN is kept here for gemm_bf16.cpp to apply.
#include "pzrt/kernels.h"

#include "core/internal.h"
#include "cpu/blas_threads.h"

#include <atomic>
#include <cstdlib>
#include <dlfcn.h>

namespace {
std::atomic<int> bf16Threads{0};
} // namespace

namespace pzrt::cpu {

int bf16GemmThreads() { return bf16Threads.load(); }

Bf16GemmMode bf16GemmMode(std::string &error) {
  const char *env = std::getenv("PZRT_CPU_BF16_GEMM");
  std::string mode = env && *env ? env : "auto";
  if (mode == "auto")
    return Bf16GemmMode::Auto;
  if (mode == "onednn")
    return Bf16GemmMode::OneDnn;
  if (mode == "fp32")
    return Bf16GemmMode::Fp32;
  error = "PZRT_CPU_BF16_GEMM='" + mode + "': expected onednn, fp32 or auto";
  return Bf16GemmMode::Invalid;
}

} // namespace pzrt::cpu

extern "C" {

void pzrt_blas_set_threads(int n) {
  if (n <= 0)
    return;
  bf16Threads.store(n);
  using SetThreads = void (*)(int);
  if (auto set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    set(n);
}

int pzrt_cpu_prepare_env(void) {
  std::string error;
  if (pzrt::cpu::bf16GemmMode(error) == pzrt::cpu::Bf16GemmMode::Invalid)
    return pzrt::fail("%s", error.c_str());
  // GPT-2 bf16 on 2 threads here: 0.68 s a step passive, 0.79 s with
  // libgomp's default spinning, 1.57 s with ACTIVE.
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  return 0;
}

} // extern "C"
