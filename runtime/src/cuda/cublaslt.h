// cuBLASLt's entry points, opened with dlopen (dynlib.h) into one table.
#ifndef PZRT_SRC_CUDA_CUBLASLT_H
#define PZRT_SRC_CUDA_CUBLASLT_H

#include <cublasLt.h>

#include <string>

namespace pzrt::cuda {

// The functions pzrt calls, typed by cublasLt.h's own declarations so that
// a changed signature fails to compile instead of failing at run time.
struct CublasLt {
#define PZRT_CUBLASLT_FN(name) decltype(&::name) name = nullptr;
#include "cuda/cublaslt_fns.def"
#undef PZRT_CUBLASLT_FN
};

// The default library, opened when PZRT_CUBLASLT_LIBRARY is not set.
constexpr const char *kCublasLtLibrary = "libcublasLt.so.13";

// Opens `library` and fills `table` with every symbol: 0, or -1 with a pzrt
// error naming the library (and the places searched) or the missing symbol.
// Not cached: the test hook for the loader's errors.
int loadCublasLt(const std::string &library, CublasLt &table);

// The process's table, loaded on first use from PZRT_CUBLASLT_LIBRARY or
// kCublasLtLibrary; NULL with the error of loadCublasLt. A failed load is
// retried by the next call.
const CublasLt *cublasLt();

// Test hook: forgets a loaded table, so that the next cublasLt() loads again
// (reading PZRT_CUBLASLT_LIBRARY anew). The library stays open.
void forgetCublasLtForTest();

// "cublasLtMatmul: CUBLAS_STATUS_NOT_SUPPORTED (the operation is not
// supported)" as a pzrt error, for a failed status; 0 for success.
int checkLt(const CublasLt &lt, cublasStatus_t status, const char *call);

} // namespace pzrt::cuda

#endif // PZRT_SRC_CUDA_CUBLASLT_H
