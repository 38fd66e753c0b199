// The entry points of compiled CUDA programs (pzrt/cuda.h): the training
// driver and pzrt_run_main on this process's CUDA device, every buffer in
// CUDA managed memory.
//
// Why managed memory, the arena included: the driver's host code touches
// the buffers directly (the data feed, checkpoints, pipeline sends and
// receives) and the MPI communicator runs collectives on them from the host
// (exec.h's host-staged path), on any buffer a compiled function names,
// arena temporaries included. Managed memory lets both work unchanged once
// the device is synchronized. Its preferred location is the device, so
// pages the host never touches stay there; the host's accesses migrate the
// pages they touch. NCCL (device buffers, no host staging) and CUDA graphs
// can move the arena to plain device memory later.
#include "cuda/device_cuda.h"

#include "core/internal.h"
#include "pzrt/arena.h"
#include "pzrt/cuda.h"
#include "pzrt/env.h"
#include "pzrt/error.h"
#include "pzrt/run.h"
#include "pzrt/train.h"

namespace {

using pzrt::cuda::check;

// The device the allocator places memory on (set by openDevice).
struct ManagedState {
  pzrt::cuda::CudaDevice *device = nullptr;
};
ManagedState managedState;

void *managedAlloc(size_t bytes, int cat, void *user) {
  auto &state = *static_cast<ManagedState *>(user);
  if (!state.device) {
    pzrt::fail("pzrt_cuda managed allocator: no device opened");
    return nullptr;
  }
  if (pzrt::cuda::makeCurrent(*state.device))
    return nullptr;
  void *p = nullptr;
  std::string call = pzrt::format("cudaMallocManaged of %zu bytes for %s on %s", bytes,
                                  pzrt_mem_category_name(static_cast<pzrt_mem_category>(cat)),
                                  state.device->name.c_str());
  if (check(cudaMallocManaged(&p, bytes, cudaMemAttachGlobal), call.c_str()))
    return nullptr;
  cudaMemLocation where{};
  where.type = cudaMemLocationTypeDevice;
  where.id = state.device->ordinal;
  // Zero-filled, as pzrt_mem_alloc promises; the fill is done when this
  // returns (the host may write the buffer next).
  if (check(cudaMemAdvise(p, bytes, cudaMemAdviseSetPreferredLocation, where),
            "cudaMemAdvise (preferred location: the device)") ||
      check(cudaMemset(p, 0, bytes), "cudaMemset (zero-filling a new buffer)") ||
      check(cudaDeviceSynchronize(), "cudaDeviceSynchronize")) {
    cudaFree(p);
    return nullptr;
  }
  return p;
}

void managedFree(void *p, void *user) {
  auto &state = *static_cast<ManagedState *>(user);
  if (state.device && pzrt::cuda::makeCurrent(*state.device) == 0)
    check(cudaFree(p), "cudaFree");
}

const pzrt_mem_allocator kManaged = {managedAlloc, managedFree, &managedState};

pzrt_device *openDevice(void *user) {
  pzrt_device *d = pzrt_cuda_local_device();
  if (!d)
    return nullptr;
  pzrt::cuda::CudaDevice *device = pzrt::cuda::asCuda(d);
  // The host reads and writes managed buffers while kernels run on others
  // (a transfer on the communication thread): that needs concurrent managed
  // access (Linux, Pascal or newer).
  int managed = 0, concurrent = 0;
  if (pzrt::cuda::makeCurrent(*device) ||
      check(cudaDeviceGetAttribute(&managed, cudaDevAttrManagedMemory, device->ordinal),
            "cudaDeviceGetAttribute (managed memory)") ||
      check(cudaDeviceGetAttribute(&concurrent, cudaDevAttrConcurrentManagedAccess,
                                   device->ordinal),
            "cudaDeviceGetAttribute (concurrent managed access)"))
    return nullptr;
  if (!managed || !concurrent) {
    pzrt::fail("%s: the CUDA backend keeps its buffers in managed memory and needs concurrent "
               "managed access, which this device does not offer",
               device->name.c_str());
    return nullptr;
  }
  static_cast<ManagedState *>(user)->device = device;
  return d;
}

const pzrt_device_hooks kHooks = {openDevice, &kManaged, &managedState};

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
