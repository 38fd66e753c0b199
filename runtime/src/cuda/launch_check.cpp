// pzrt_cuda_launched / pzrt_cuda_sync_debug (pzrt/cuda.h): the launch check
// of compiled code, and PZRT_CUDA_SYNC=1, which synchronizes after every
// launch so that a kernel's fault names the op that faulted.
#include "cuda/device_cuda.h"

#include "core/internal.h"
#include "pzrt/cuda.h"

#include <cstdlib>
#include <cstring>

extern "C" int pzrt_cuda_sync_debug(void) {
  static const int on = [] {
    const char *v = std::getenv("PZRT_CUDA_SYNC");
    return v && std::strcmp(v, "1") == 0 ? 1 : 0;
  }();
  return on;
}

extern "C" int pzrt_cuda_launched(const char *where) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    return pzrt::fail("%s: kernel launch: %s (%s)", where, cudaGetErrorString(err),
                      cudaGetErrorName(err));
  if (!pzrt_cuda_sync_debug())
    return 0;
  err = cudaDeviceSynchronize();
  if (err != cudaSuccess)
    return pzrt::fail("%s: its kernel failed (PZRT_CUDA_SYNC=1 synchronizes after every "
                      "launch): %s (%s)",
                      where, cudaGetErrorString(err), cudaGetErrorName(err));
  return 0;
}
