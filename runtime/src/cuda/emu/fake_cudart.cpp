// The CUDA host emulator's runtime: the cudart functions pzrt_cuda and the
// runtime's kernels call, with the declarations of cuda_runtime_api.h, on
// host memory. Errors, devices, memory and launches are here; streams,
// events and graphs in fake_streams.cpp.
//
// The emulated device is synchronous: a launch, copy or fill runs when it is
// issued (unless its stream is capturing a graph), so every stream and event
// is complete whenever the host looks.
#include "cuda/emu/emu.h"
#include "pzrt/cuda_emulate.h"

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace pz_emu {
namespace {

thread_local cudaError_t lastError = cudaSuccess;
thread_local int currentDevice = 0;

std::mutex memoryMutex;
struct Allocation {
  size_t size = 0;
  bool device = false; // cudaMalloc's; else managed or pinned host memory
};
std::map<const void *, Allocation> allocations; // for cudaFree's check
size_t hostBytes = 0; // managed and pinned bytes live
std::map<const void *, int> optIn;         // kernel -> MaxDynamicSharedMemorySize

} // namespace

// What the emulated device claims: 80 GiB, or PZRT_EMU_CUDA_MEMORY bytes
// (to test what programs do when memory is short).
size_t globalMemory() {
  static const size_t bytes = [] {
    const char *env = std::getenv("PZRT_EMU_CUDA_MEMORY");
    return env && *env ? static_cast<size_t>(std::strtoull(env, nullptr, 10))
                       : size_t(80) << 30;
  }();
  return bytes;
}

namespace {

constexpr int kDefaultShared = 48 * 1024;
constexpr int kMaxShared = 227 * 1024; // sm_90's opt-in limit per block

// PZRT_EMU_CUDA_DEVICES=N emulates N devices (0: none); 1 by default.
int deviceCount() {
  const char *env = std::getenv("PZRT_EMU_CUDA_DEVICES");
  if (!env || !*env)
    return 1;
  int n = std::atoi(env);
  return n < 0 ? 0 : n;
}

cudaError_t fail(cudaError_t err) { return setLastError(err); }

} // namespace

cudaError_t setLastError(cudaError_t err) {
  if (err != cudaSuccess)
    lastError = err;
  return err;
}

int maxDynamicShared(const void *kernel) {
  std::lock_guard<std::mutex> lock(memoryMutex);
  auto it = optIn.find(kernel);
  return it == optIn.end() ? kDefaultShared : it->second;
}

void launch(const char *name, dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t stream,
            const void *kernel, std::function<void()> body) {
  // CUDA's limits on sm_90: 1024 threads per block (1024 x 1024 x 64),
  // grids of 2^31-1 x 65535 x 65535 blocks.
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 ||
      grid.x == 0 || grid.y == 0 || grid.z == 0 || grid.x > 2147483647u || grid.y > 65535 ||
      grid.z > 65535 || sharedBytes > static_cast<size_t>(kMaxShared)) {
    fail(cudaErrorInvalidConfiguration);
    return;
  }
  // Beyond 48 KiB a kernel must opt in (cudaFuncSetAttribute), as on a GPU.
  if (sharedBytes > static_cast<size_t>(kDefaultShared) &&
      sharedBytes > static_cast<size_t>(maxDynamicShared(kernel))) {
    fail(cudaErrorInvalidValue);
    return;
  }
  auto run = std::make_shared<std::function<void()>>(std::move(body));
  std::string kernelName = name;
  enqueue(stream, [=] { runGrid(kernelName.c_str(), grid, block, sharedBytes, *run); });
}

} // namespace pz_emu

using pz_emu::fail;

extern "C" {

cudaError_t cudaGetLastError(void) {
  cudaError_t err = pz_emu::lastError;
  pz_emu::lastError = cudaSuccess;
  return err;
}

cudaError_t cudaPeekAtLastError(void) { return pz_emu::lastError; }

#define PZ_EMU_ERRORS(X)                                                                           \
  X(cudaSuccess, "no error")                                                                       \
  X(cudaErrorInvalidValue, "invalid argument")                                                     \
  X(cudaErrorMemoryAllocation, "out of memory")                                                    \
  X(cudaErrorInvalidConfiguration, "invalid configuration argument")                               \
  X(cudaErrorInvalidDevice, "invalid device ordinal")                                              \
  X(cudaErrorInvalidDevicePointer, "invalid device pointer")                                       \
  X(cudaErrorInvalidMemcpyDirection, "invalid copy direction for memcpy")                          \
  X(cudaErrorInvalidResourceHandle, "invalid resource handle")                                     \
  X(cudaErrorInvalidDeviceFunction, "invalid device function")                                     \
  X(cudaErrorStreamCaptureUnmatched, "capture was not ended in the same stream as it began")       \
  X(cudaErrorNoDevice, "no CUDA-capable device is detected")                                       \
  X(cudaErrorNotReady, "device not ready")                                                         \
  X(cudaErrorIllegalState, "the operation cannot be performed in the present state")              \
  X(cudaErrorStreamCaptureUnsupported, "operation not permitted when stream is capturing")         \
  X(cudaErrorStreamCaptureInvalidated, "operation failed due to a previous error during capture")  \
  X(cudaErrorStreamCaptureWrongThread, "capture was not initiated in this thread")                 \
  X(cudaErrorNotSupported, "operation not supported")

const char *cudaGetErrorString(cudaError_t error) {
#define PZ_EMU_STRING(code, text)                                                                  \
  if (error == code)                                                                               \
    return text;
  PZ_EMU_ERRORS(PZ_EMU_STRING)
#undef PZ_EMU_STRING
  return "unrecognized error code";
}

const char *cudaGetErrorName(cudaError_t error) {
#define PZ_EMU_NAME(code, text)                                                                    \
  if (error == code)                                                                               \
    return #code;
  PZ_EMU_ERRORS(PZ_EMU_NAME)
#undef PZ_EMU_NAME
  return "cudaErrorUnknown";
}

cudaError_t cudaGetDeviceCount(int *count) {
  if (!count)
    return fail(cudaErrorInvalidValue);
  *count = pz_emu::deviceCount();
  return *count == 0 ? fail(cudaErrorNoDevice) : cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device < 0 || device >= pz_emu::deviceCount())
    return fail(pz_emu::deviceCount() == 0 ? cudaErrorNoDevice : cudaErrorInvalidDevice);
  pz_emu::currentDevice = device;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int *device) {
  if (!device)
    return fail(cudaErrorInvalidValue);
  *device = pz_emu::currentDevice;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device) {
  if (!prop)
    return fail(cudaErrorInvalidValue);
  if (device < 0 || device >= pz_emu::deviceCount())
    return fail(cudaErrorInvalidDevice);
  std::memset(prop, 0, sizeof *prop);
  std::strncpy(prop->name, "pzrt CUDA emulator (host)", sizeof prop->name - 1);
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 132;
  prop->totalGlobalMem = pz_emu::globalMemory();
  prop->sharedMemPerBlock = pz_emu::kDefaultShared;
  prop->sharedMemPerBlockOptin = pz_emu::kMaxShared;
  prop->sharedMemPerMultiprocessor = 228 * 1024;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsPerMultiProcessor = 2048;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  prop->totalConstMem = 64 * 1024;
  prop->l2CacheSize = 50 << 20;
  prop->managedMemory = 1;
  prop->concurrentKernels = 1;
  return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, cudaDeviceAttr attr, int device) {
  cudaDeviceProp prop;
  if (!value)
    return fail(cudaErrorInvalidValue);
  if (cudaError_t err = cudaGetDeviceProperties(&prop, device))
    return err;
  switch (attr) {
  case cudaDevAttrMultiProcessorCount:
    *value = prop.multiProcessorCount;
    break;
  case cudaDevAttrMaxSharedMemoryPerBlockOptin:
    *value = static_cast<int>(prop.sharedMemPerBlockOptin);
    break;
  case cudaDevAttrMaxSharedMemoryPerBlock:
    *value = static_cast<int>(prop.sharedMemPerBlock);
    break;
  case cudaDevAttrMaxThreadsPerBlock:
    *value = prop.maxThreadsPerBlock;
    break;
  case cudaDevAttrWarpSize:
    *value = 32;
    break;
  case cudaDevAttrComputeCapabilityMajor:
    *value = prop.major;
    break;
  case cudaDevAttrComputeCapabilityMinor:
    *value = prop.minor;
    break;
  // Managed memory is host memory here, reachable while "kernels" run.
  case cudaDevAttrManagedMemory:
  case cudaDevAttrConcurrentManagedAccess:
    *value = 1;
    break;
  default:
    return fail(cudaErrorNotSupported);
  }
  return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int *version) {
  if (!version)
    return fail(cudaErrorInvalidValue);
  *version = CUDART_VERSION;
  return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *version) { return cudaDriverGetVersion(version); }

cudaError_t cudaFuncSetAttribute(const void *func, cudaFuncAttribute attr, int value) {
  if (!func)
    return fail(cudaErrorInvalidDeviceFunction);
  if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
    if (value < 0 || value > pz_emu::kMaxShared)
      return fail(cudaErrorInvalidValue);
    std::lock_guard<std::mutex> lock(pz_emu::memoryMutex);
    pz_emu::optIn[func] = value;
    return cudaSuccess;
  }
  if (attr == cudaFuncAttributePreferredSharedMemoryCarveout)
    return cudaSuccess; // a hint
  return fail(cudaErrorNotSupported);
}

cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *attr, const void *func) {
  if (!attr || !func)
    return fail(cudaErrorInvalidValue);
  std::memset(attr, 0, sizeof *attr);
  attr->maxThreadsPerBlock = 1024;
  attr->maxDynamicSharedSizeBytes = pz_emu::maxDynamicShared(func);
  attr->ptxVersion = attr->binaryVersion = 90;
  return cudaSuccess;
}

// ---- memory ----
// cudaMalloc's: device memory (protect.cpp: pages host code cannot touch
// outside device work). Managed and pinned host memory: host memory,
// 256-byte aligned as cudaMalloc's. Both count against the emulated
// device's memory (cudaMemGetInfo).

cudaError_t cudaMalloc(void **devPtr, size_t size) {
  if (!devPtr)
    return fail(cudaErrorInvalidValue);
  *devPtr = nullptr;
  if (size == 0)
    return cudaSuccess;
  // More than the device has fails as on a GPU (and before the host
  // allocator, which may abort instead of failing under a sanitizer).
  if (size > pz_emu::globalMemory())
    return fail(cudaErrorMemoryAllocation);
  size_t inUse = 0;
  void *p = pz_emu::deviceAlloc(size, inUse);
  if (!p)
    return fail(cudaErrorMemoryAllocation);
  std::lock_guard<std::mutex> lock(pz_emu::memoryMutex);
  pz_emu::allocations[p] = {size, true};
  *devPtr = p;
  return cudaSuccess;
}

namespace {
cudaError_t hostAlloc(void **ptr, size_t size) {
  if (!ptr)
    return fail(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (size == 0)
    return cudaSuccess;
  if (size > pz_emu::globalMemory())
    return fail(cudaErrorMemoryAllocation);
  const size_t rounded = (size + 255) & ~size_t(255);
  void *p = std::aligned_alloc(256, rounded);
  if (!p)
    return fail(cudaErrorMemoryAllocation);
  std::lock_guard<std::mutex> lock(pz_emu::memoryMutex);
  pz_emu::allocations[p] = {size, false};
  pz_emu::hostBytes += size;
  *ptr = p;
  return cudaSuccess;
}
} // namespace

cudaError_t cudaMallocManaged(void **devPtr, size_t size, unsigned int) {
  return hostAlloc(devPtr, size);
}

cudaError_t cudaMallocHost(void **ptr, size_t size) { return hostAlloc(ptr, size); }

cudaError_t cudaHostAlloc(void **ptr, size_t size, unsigned int) { return hostAlloc(ptr, size); }

cudaError_t cudaFree(void *devPtr) {
  if (!devPtr)
    return cudaSuccess;
  pz_emu::Allocation a;
  {
    std::lock_guard<std::mutex> lock(pz_emu::memoryMutex);
    auto it = pz_emu::allocations.find(devPtr);
    if (it == pz_emu::allocations.end())
      return fail(cudaErrorInvalidValue);
    a = it->second;
    pz_emu::allocations.erase(it);
    if (!a.device)
      pz_emu::hostBytes -= a.size;
  }
  if (!a.device || !pz_emu::deviceFree(devPtr, a.size))
    std::free(devPtr);
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void *ptr) { return cudaFree(ptr); }

cudaError_t cudaMemGetInfo(size_t *free, size_t *total) {
  if (!free || !total)
    return fail(cudaErrorInvalidValue);
  *total = pz_emu::globalMemory();
  size_t used = pz_emu::deviceBytes();
  {
    std::lock_guard<std::mutex> lock(pz_emu::memoryMutex);
    used += pz_emu::hostBytes;
  }
  *free = used < *total ? *total - used : 0;
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault)
    return fail(cudaErrorInvalidMemcpyDirection);
  if (count == 0)
    return cudaSuccess;
  if (!dst || !src)
    return fail(cudaErrorInvalidValue);
  return pz_emu::enqueue(stream, [=] { std::memmove(dst, src, count); });
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, cudaMemcpyKind kind) {
  return cudaMemcpyAsync(dst, src, count, kind, nullptr);
}

cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream) {
  if (count == 0)
    return cudaSuccess;
  if (!devPtr)
    return fail(cudaErrorInvalidValue);
  return pz_emu::enqueue(stream, [=] { std::memset(devPtr, value, count); });
}

cudaError_t cudaMemset(void *devPtr, int value, size_t count) {
  return cudaMemsetAsync(devPtr, value, count, nullptr);
}

// A __device__ or __constant__ variable is a host global here.
cudaError_t cudaGetSymbolAddress(void **devPtr, const void *symbol) {
  if (!devPtr || !symbol)
    return fail(cudaErrorInvalidValue);
  *devPtr = const_cast<void *>(symbol);
  return cudaSuccess;
}

cudaError_t cudaMemcpyToSymbolAsync(const void *symbol, const void *src, size_t count,
                                    size_t offset, cudaMemcpyKind kind, cudaStream_t stream) {
  return cudaMemcpyAsync(static_cast<char *>(const_cast<void *>(symbol)) + offset, src, count,
                         kind, stream);
}

cudaError_t cudaMemcpyToSymbol(const void *symbol, const void *src, size_t count, size_t offset,
                               cudaMemcpyKind kind) {
  return cudaMemcpyToSymbolAsync(symbol, src, count, offset, kind, nullptr);
}

cudaError_t cudaMemcpyFromSymbolAsync(void *dst, const void *symbol, size_t count, size_t offset,
                                      cudaMemcpyKind kind, cudaStream_t stream) {
  return cudaMemcpyAsync(dst, static_cast<const char *>(symbol) + offset, count, kind, stream);
}

cudaError_t cudaMemcpyFromSymbol(void *dst, const void *symbol, size_t count, size_t offset,
                                 cudaMemcpyKind kind) {
  return cudaMemcpyFromSymbolAsync(dst, symbol, count, offset, kind, nullptr);
}

// Hints about where managed memory lives: nothing to do on the host.
cudaError_t cudaMemPrefetchAsync(const void *, size_t, cudaMemLocation, unsigned int,
                                 cudaStream_t) {
  return cudaSuccess;
}

cudaError_t cudaMemAdvise(const void *, size_t, cudaMemoryAdvise, cudaMemLocation) {
  return cudaSuccess;
}

} // extern "C"
