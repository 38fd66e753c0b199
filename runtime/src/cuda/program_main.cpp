// The entry points of compiled CUDA programs (pzrt/cuda.h): the training
// driver and pzrt_run_main on this process's CUDA device, every buffer in
// plain device memory (cudaMalloc).
//
// Why device memory, not managed memory: the GPUs the project may run on
// ask for plain allocations, and managed memory oversubscribed past the
// card's free memory can hang the GPU; managed pages also migrate whenever
// the host touches them. So the host never touches a buffer: the driver
// reads and writes buffer contents through pzrt_device_read/write (and
// train/host_stage.h's host copies), and exec.h's host-staged MPI
// transfers copy device -> host -> device (cpu/exec_cpu.cpp). Before each
// allocation the allocator compares it with cudaMemGetInfo's free memory
// and fails with a message rather than oversubscribe (the driver checks
// the whole plan first: train.cpp, Trainer::checkDeviceFits).
#include "cuda/device_cuda.h"

#include "core/internal.h"
#include "pzrt/arena.h"
#include "pzrt/cuda.h"
#include "pzrt/env.h"
#include "pzrt/error.h"
#include "pzrt/run.h"
#include "pzrt/train.h"

namespace pzrt::cuda {
// The compiled collectives' communicator (data_comm.cpp).
int dataComm(pzrt_comm *control, pzrt_comm **comm, void *user);
} // namespace pzrt::cuda

namespace {

using pzrt::cuda::check;

// The device the allocator places memory on (set by openDevice).
struct DeviceState {
  pzrt::cuda::CudaDevice *device = nullptr;
};
DeviceState deviceState;

void *deviceAlloc(size_t bytes, int cat, void *user) {
  auto &state = *static_cast<DeviceState *>(user);
  if (!state.device) {
    pzrt::fail("pzrt_cuda device allocator: no device opened");
    return nullptr;
  }
  if (pzrt::cuda::makeCurrent(*state.device))
    return nullptr;
  const char *what = pzrt_mem_category_name(static_cast<pzrt_mem_category>(cat));
  size_t freeBytes = 0, totalBytes = 0;
  if (check(cudaMemGetInfo(&freeBytes, &totalBytes), "cudaMemGetInfo"))
    return nullptr;
  if (bytes > freeBytes) {
    pzrt::fail("%s: %zu bytes for %s do not fit in the device's free memory (%zu of %zu "
               "bytes free); the CUDA backend does not oversubscribe device memory",
               state.device->name.c_str(), bytes, what, freeBytes, totalBytes);
    return nullptr;
  }
  void *p = nullptr;
  std::string call = pzrt::format("cudaMalloc of %zu bytes for %s on %s", bytes, what,
                                  state.device->name.c_str());
  if (check(cudaMalloc(&p, bytes), call.c_str()))
    return nullptr;
  // Zero-filled, as pzrt_mem_alloc promises; done when this returns (the
  // host may write the buffer next, from another stream's point of view).
  if (check(cudaMemset(p, 0, bytes), "cudaMemset (zero-filling a new buffer)") ||
      pzrt::cuda::waitDevice(*state.device, "cudaDeviceSynchronize")) {
    cudaFree(p);
    return nullptr;
  }
  return p;
}

void deviceFree(void *p, void *user) {
  auto &state = *static_cast<DeviceState *>(user);
  if (state.device && pzrt::cuda::makeCurrent(*state.device) == 0)
    check(cudaFree(p), "cudaFree");
}

const pzrt_mem_allocator kDeviceAllocator = {deviceAlloc, deviceFree, &deviceState};

pzrt_device *openDevice(void *user) {
  pzrt_device *d = pzrt_cuda_local_device();
  if (!d)
    return nullptr;
  pzrt::cuda::CudaDevice *device = pzrt::cuda::asCuda(d);
  if (pzrt::cuda::makeCurrent(*device))
    return nullptr;
  static_cast<DeviceState *>(user)->device = device;
  return d;
}

const pzrt_device_hooks kHooks = {openDevice, &kDeviceAllocator, &deviceState, pzrt::cuda::dataComm};

} // namespace

extern "C" {

pzrt_device *pzrt_cuda_local_device(void) {
  pzrt_env env{};
  if (pzrt_env_discover(&env) != 0)
    return nullptr;
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0) {
    cudaGetLastError();
    return pzrt_device_cuda(0); // fails, naming cudaGetDeviceCount's answer
  }
  // Ranks beyond the node's devices share them, round robin.
  return pzrt_device_cuda(env.local_rank % count);
}

int pzrt_cuda_train_main(const pzrt_program *program, int argc, char **argv) {
  return pzrt_train_main_on(program, argc, argv, &kHooks);
}

int pzrt_cuda_train_main_stages(const pzrt_program *const *stages, int num_stages, int argc,
                                char **argv) {
  return pzrt_train_main_stages_on(stages, num_stages, argc, argv, &kHooks);
}

int pzrt_cuda_run_main(const pzrt_function *fn, int argc, char **argv) {
  return pzrt_run_main_on(fn, argc, argv, &kHooks);
}

} // extern "C"
