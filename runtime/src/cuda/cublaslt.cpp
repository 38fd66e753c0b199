// Loading cuBLASLt's symbol table (see cublaslt.h).
#include "cuda/cublaslt.h"

#include "core/internal.h"
#include "core/dynlib.h"
#include "pzrt/cuda.h"

#include <cstdlib>
#include <mutex>

namespace pzrt::cuda {

int loadCublasLt(const std::string &library, CublasLt &table) {
  void *lib = openLibrary(library);
  if (!lib)
    return -1;
  CublasLt loaded;
#define PZRT_CUBLASLT_FN(name)                                                                    \
  loaded.name = reinterpret_cast<decltype(loaded.name)>(librarySymbol(lib, library, #name));    \
  if (!loaded.name)                                                                              \
    return -1;
#include "cuda/cublaslt_fns.def"
#undef PZRT_CUBLASLT_FN
  // The handle stays open for the process: the table points into it.
  table = loaded;
  return 0;
}

namespace {
std::mutex tableMutex;
CublasLt table;
bool loaded = false;
} // namespace

void forgetCublasLtForTest() {
  std::lock_guard<std::mutex> lock(tableMutex);
  loaded = false;
}

const CublasLt *cublasLt() {
  std::lock_guard<std::mutex> lock(tableMutex);
  if (loaded)
    return &table;
  const char *env = std::getenv("PZRT_CUBLASLT_LIBRARY");
#if defined(PZ_CUDA_EMULATE)
  // The emulated library (pzrt_cuda_emu) links the host cuBLASLt of
  // emu/fake_cublaslt.cpp; PZRT_CUBLASLT_LIBRARY still opens another.
  if (!env || !*env) {
#define PZRT_CUBLASLT_FN(name) table.name = &::name;
#include "cuda/cublaslt_fns.def"
#undef PZRT_CUBLASLT_FN
    loaded = true;
    return &table;
  }
#endif
  if (loadCublasLt(env && *env ? env : kCublasLtLibrary, table))
    return nullptr;
  loaded = true;
  return &table;
}

int checkLt(const CublasLt &lt, cublasStatus_t status, const char *call) {
  if (status == CUBLAS_STATUS_SUCCESS)
    return 0;
  return fail("%s: %s (%s)", call, lt.cublasLtGetStatusName(status),
              lt.cublasLtGetStatusString(status));
}

} // namespace pzrt::cuda

extern "C" int pzrt_cuda_load_cublaslt(void) { return pzrt::cuda::cublasLt() ? 0 : -1; }
