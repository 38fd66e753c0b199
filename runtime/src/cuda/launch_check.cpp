// pzrt_cuda_launched / pzrt_cuda_sync_debug (pzrt/cuda.h): the launch check
// of compiled code, and PZRT_CUDA_SYNC=1, which synchronizes after every
// launch so that a kernel's fault names the op that faulted.
#include "cuda/device_cuda.h"

#include "core/internal.h"
#include "pzrt/cuda.h"
#include "pzrt/error.h"

#include <cstdlib>
#include <cstring>
#include <string>

extern "C" int pzrt_cuda_sync_debug(void) {
  static const int on = [] {
    const char *v = std::getenv("PZRT_CUDA_SYNC");
    return v && std::strcmp(v, "1") == 0 ? 1 : 0;
  }();
  return on;
}

extern "C" int pzrt_cuda_debug_sync(const char *where) {
  // The device's waits, not cudaDeviceSynchronize: they poll the NCCL watch
  // (a collective that hangs ends the job at its deadline instead of
  // blocking here), and skip the pipeline links' streams, whose sends end
  // only when the peer receives.
  int ordinal = 0;
  pzrt_device *d = cudaGetDevice(&ordinal) == cudaSuccess ? pzrt_device_cuda(ordinal) : nullptr;
  int rc = 0;
  if (d) {
    rc = pzrt::cuda::waitDevice(*pzrt::cuda::asCuda(d), where);
  } else {
    cudaError_t err = cudaDeviceSynchronize();
    if (err != cudaSuccess)
      rc = pzrt::fail("%s: %s (%s)", where, cudaGetErrorString(err), cudaGetErrorName(err));
  }
  if (rc != 0) {
    std::string why = pzrt_last_error();
    return pzrt::fail("%s: its kernel failed (PZRT_CUDA_SYNC=1 synchronizes after every "
                      "launch): %s",
                      where, why.c_str());
  }
  return 0;
}

extern "C" int pzrt_cuda_launched(const char *where) {
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    return pzrt::fail("%s: kernel launch: %s (%s)", where, cudaGetErrorString(err),
                      cudaGetErrorName(err));
  return pzrt_cuda_sync_debug() ? pzrt_cuda_debug_sync(where) : 0;
}
