// What blas_threads.cpp keeps for the bf16 GEMM (gemm_bf16.cpp).
#ifndef PZRT_CPU_BLAS_THREADS_H
#define PZRT_CPU_BLAS_THREADS_H

#include <string>

namespace pzrt::cpu {

// The thread count pzrt_blas_set_threads was given (0: never called).
int bf16GemmThreads();

enum class Bf16GemmMode { Auto, OneDnn, Fp32, Invalid };
// PZRT_CPU_BF16_GEMM; Invalid with `error` set for any other value.
Bf16GemmMode bf16GemmMode(std::string &error);

} // namespace pzrt::cpu

#endif // PZRT_CPU_BLAS_THREADS_H
