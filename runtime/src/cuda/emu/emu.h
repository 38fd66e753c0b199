// The CUDA host emulator's internal interfaces: the scheduler (scheduler.cpp)
// and the fake CUDA runtime's work queue (fake_cudart.cpp, fake_streams.cpp),
// which fake_cublaslt.cpp also issues its work through.
#ifndef PZRT_SRC_CUDA_EMU_EMU_H
#define PZRT_SRC_CUDA_EMU_EMU_H

#include <cuda_runtime_api.h>

#include <cstddef>
#include <functional>

namespace pz_emu {

// Runs every thread of every block of a launch, now, on the calling OS
// thread. Launches from different host threads are serialized. A barrier
// that can never complete aborts the process with a message naming the
// kernel, the block and the barrier.
void runGrid(const char *name, dim3 grid, dim3 block, size_t sharedBytes,
             const std::function<void()> &body);

// Issues `op` on `stream`: runs it now (the emulated device is synchronous,
// so every stream and event is always complete), or appends it to the graph
// that `stream` is capturing.
cudaError_t enqueue(cudaStream_t stream, std::function<void()> op);

// Sets the calling thread's last error (cudaGetLastError) and returns err.
cudaError_t setLastError(cudaError_t err);

// The dynamic shared memory a kernel has opted into (cudaFuncSetAttribute).
int maxDynamicShared(const void *kernel);

// The emulated device's memory in bytes (80 GiB, or PZRT_EMU_CUDA_MEMORY).
size_t globalMemory();

// Device memory (protect.cpp): page-aligned host pages that host code cannot
// touch outside device work when protection is on (PZRT_EMU_PROTECT, on by
// default). deviceAlloc returns zero-filled memory, or NULL; bytesInUse: the
// live device bytes after it. deviceFree: false when p is not device memory.
bool protectEnabled();
void *deviceAlloc(size_t size, size_t &bytesInUse);
bool deviceFree(void *p, size_t requested);
size_t deviceBytes();
// While one lives (in any thread), device memory is reachable: enqueue runs
// every op of the emulated device inside one.
class DeviceAccess {
public:
  DeviceAccess();
  ~DeviceAccess();
  DeviceAccess(const DeviceAccess &) = delete;
  DeviceAccess &operator=(const DeviceAccess &) = delete;
};

} // namespace pz_emu

#endif // PZRT_SRC_CUDA_EMU_EMU_H
