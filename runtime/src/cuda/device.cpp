// The CUDA device: pzrt/exec.h's device operations on device memory, its
// streams and events, and the arena allocation (pzrt/cuda.h).
#include "cuda/device_cuda.h"

#include "core/internal.h"
#include "pzrt/cuda.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace pzrt::cuda {

int check(cudaError_t err, const char *call) {
  if (err == cudaSuccess)
    return 0;
  // Clear a non-sticky error so that the next call does not report it again.
  cudaGetLastError();
  return fail("%s: %s (%s)", call, cudaGetErrorString(err), cudaGetErrorName(err));
}

int makeCurrent(const CudaDevice &device) {
  return check(cudaSetDevice(device.ordinal), "cudaSetDevice");
}

namespace {

// Reads and writes synchronize the device first: host code touches buffers
// between compiled functions (the feed, the loss, checkpoints), and must
// see all the work issued on the device's streams, as on the CPU device.
int deviceRead(pzrt_device *d, void *host, const void *buffer, size_t bytes) {
  CudaDevice &device = *asCuda(d);
  if (bytes == 0)
    return 0;
  if (breakCapture("pzrt_device_read") || waitDevice(device, "cudaDeviceSynchronize"))
    return -1;
  return check(cudaMemcpy(host, buffer, bytes, cudaMemcpyDeviceToHost),
               "cudaMemcpy (device to host)");
}

int deviceWrite(pzrt_device *d, void *buffer, const void *host, size_t bytes) {
  CudaDevice &device = *asCuda(d);
  if (bytes == 0)
    return 0;
  if (breakCapture("pzrt_device_write") || waitDevice(device, "cudaDeviceSynchronize") ||
      check(cudaMemcpy(buffer, host, bytes, cudaMemcpyHostToDevice),
            "cudaMemcpy (host to device)"))
    return -1;
  // cudaMemcpy from pageable memory may return before the DMA lands.
  return waitDevice(device, "cudaDeviceSynchronize");
}

// Non-blocking streams: the compute and the communication stream must not
// serialize through the legacy default stream; order between them is by
// events only (pzrt_cuda_stream_wait_event).
pzrt_stream *streamCreate(pzrt_device *d) {
  CudaDevice &device = *asCuda(d);
  cudaStream_t s = nullptr;
  if (makeCurrent(device) ||
      check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreateWithFlags"))
    return nullptr;
  std::lock_guard<std::mutex> lock(device.streamMutex);
  device.streams.push_back(s);
  return new pzrt_stream{d, s};
}

void streamDestroy(pzrt_stream *stream) {
  CudaDevice &device = *asCuda(stream->device);
  auto s = static_cast<cudaStream_t>(stream->handle);
  {
    std::lock_guard<std::mutex> lock(device.streamMutex);
    for (auto *list : {&device.streams, &device.detached})
      list->erase(std::remove(list->begin(), list->end(), s), list->end());
  }
  {
    // Its events: the ring is the stream's, and the address may be reused.
    std::lock_guard<std::mutex> lock(device.eventMutex);
    auto it = device.eventRings.find(stream);
    if (it != device.eventRings.end()) {
      for (cudaEvent_t e : it->second.events)
        cudaEventDestroy(e);
      device.eventRings.erase(it);
    }
  }
  if (makeCurrent(device) == 0)
    check(cudaStreamDestroy(s), "cudaStreamDestroy");
  delete stream;
}

int streamSynchronize(pzrt_stream *stream) {
  CudaDevice &device = *asCuda(stream->device);
  if (breakCapture("pzrt_stream_synchronize") || makeCurrent(device))
    return -1;
  return waitStream(static_cast<cudaStream_t>(stream->handle), "cudaStreamSynchronize");
}

int memInfo(pzrt_device *d, size_t *freeBytes, size_t *totalBytes) {
  if (makeCurrent(*asCuda(d)))
    return -1;
  return check(cudaMemGetInfo(freeBytes, totalBytes), "cudaMemGetInfo");
}

// The host entry points end a graph capture in progress on this thread
// first (graph.cpp): they synchronize or touch buffers from the host.
int syncDevice(pzrt_device *d) {
  return breakCapture("pzrt_device_synchronize") ? -1 : deviceSynchronize(d);
}

pzrt_event *recordEvent(pzrt_stream *stream) {
  return breakCapture("pzrt_event_record") ? nullptr : streamRecord(stream);
}

int waitEvent(pzrt_stream *stream, pzrt_event *event) {
  return breakCapture("pzrt_stream_wait") ? -1 : streamWaitRecorded(stream, event);
}

void *pinnedAlloc(pzrt_device *d, size_t bytes) {
  void *p = nullptr;
  if (makeCurrent(*asCuda(d)) ||
      check(cudaHostAlloc(&p, bytes ? bytes : 1, cudaHostAllocDefault),
            "cudaHostAlloc (page-locked host memory)"))
    return nullptr;
  return p;
}

void pinnedFree(pzrt_device *d, void *p) {
  if (p && makeCurrent(*asCuda(d)) == 0)
    check(cudaFreeHost(p), "cudaFreeHost");
}

const DeviceOps kCudaOps = {deviceRead,   deviceWrite,  streamCreate,  streamDestroy,
                            streamSynchronize, syncDevice, streamCopy, streamZero,
                            recordEvent,  waitEvent,    memInfo,       checkDevice,
                            captureBegin, captureEnd,   captureAbandon, graphLaunch,
                            graphDestroy, publishStep,  streamRecord,  streamWaitRecorded,
                            pinnedAlloc,  pinnedFree,    streamDetach};

} // namespace

CudaDevice *asCuda(pzrt_device *device) {
  if (!device || device->ops != &kCudaOps)
    return nullptr;
  return reinterpret_cast<CudaDevice *>(device);
}

} // namespace pzrt::cuda

using pzrt::fail;
using pzrt::cuda::asCuda;
using pzrt::cuda::check;
using pzrt::cuda::CudaDevice;

struct pzrt_cuda_event {
  CudaDevice *device;
  cudaEvent_t event;
};

namespace {

// The CUDA device of a stream, or NULL with an error naming `fn`.
CudaDevice *streamDevice(pzrt_stream *stream, const char *fn) {
  CudaDevice *device = stream ? asCuda(stream->device) : nullptr;
  if (!device)
    fail("%s: %s", fn, stream ? "the stream is not a CUDA device's" : "no stream");
  return device;
}

} // namespace

extern "C" {

int pzrt_cuda_device_count(void) {
  int count = 0;
  if (check(cudaGetDeviceCount(&count), "cudaGetDeviceCount"))
    return 0;
  return count;
}

pzrt_device *pzrt_device_cuda(int ordinal) {
  // cudaGetDeviceCount fails without a driver (and reports 0 devices with
  // one but no GPU); either is an error here, never a crash later.
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    cudaGetLastError();
    fail("pzrt_device_cuda(%d): no CUDA device: cudaGetDeviceCount: %s (%s)", ordinal,
         cudaGetErrorString(err), cudaGetErrorName(err));
    return nullptr;
  }
  if (count == 0) {
    fail("pzrt_device_cuda(%d): no CUDA device (cudaGetDeviceCount reports 0)", ordinal);
    return nullptr;
  }
  if (ordinal < 0 || ordinal >= count) {
    fail("pzrt_device_cuda(%d): no such device (there %s %d: 0 .. %d)", ordinal,
         count == 1 ? "is" : "are", count, count - 1);
    return nullptr;
  }
  // Process-wide, one per ordinal, never destroyed (as pzrt_device_cpu).
  static std::mutex mutex;
  static std::map<int, std::unique_ptr<CudaDevice>> devices;
  std::lock_guard<std::mutex> lock(mutex);
  std::unique_ptr<CudaDevice> &slot = devices[ordinal];
  if (!slot) {
    cudaDeviceProp prop;
    if (check(cudaGetDeviceProperties(&prop, ordinal), "cudaGetDeviceProperties"))
      return nullptr;
    auto device = std::make_unique<CudaDevice>();
    device->ordinal = ordinal;
    device->name = pzrt::format("cuda:%d (%s)", ordinal, prop.name);
    device->base.name = device->name.c_str();
    device->base.ops = &pzrt::cuda::kCudaOps;
    slot = std::move(device);
  }
  return &slot->base;
}

int pzrt_device_is_cuda(const pzrt_device *device) {
  return asCuda(const_cast<pzrt_device *>(device)) != nullptr;
}

int pzrt_cuda_arena_alloc(pzrt_device *d, size_t bytes, void **out) {
  CudaDevice *device = asCuda(d);
  if (!device || !out)
    return fail("pzrt_cuda_arena_alloc: %s", !device ? "not a CUDA device" : "no result pointer");
  *out = nullptr;
  if (bytes == 0)
    return 0;
  if (pzrt::cuda::makeCurrent(*device))
    return -1;
  void *p = nullptr;
  std::string call = pzrt::format("cudaMalloc of the arena's %zu bytes on %s", bytes,
                                  device->name.c_str());
  if (check(cudaMalloc(&p, bytes), call.c_str()))
    return -1;
  // cudaMalloc guarantees 256 bytes; the plan's offsets rely on it.
  if (reinterpret_cast<uintptr_t>(p) % 256 != 0) {
    cudaFree(p);
    return fail("pzrt_cuda_arena_alloc: cudaMalloc returned %p, not 256-byte aligned", p);
  }
  *out = p;
  return 0;
}

int pzrt_cuda_free(pzrt_device *d, void *ptr) {
  CudaDevice *device = asCuda(d);
  if (!device)
    return fail("pzrt_cuda_free: not a CUDA device");
  if (!ptr)
    return 0;
  if (pzrt::cuda::makeCurrent(*device))
    return -1;
  return check(cudaFree(ptr), "cudaFree");
}

void *pzrt_cuda_stream_handle(pzrt_stream *stream) {
  if (!streamDevice(stream, "pzrt_cuda_stream_handle"))
    return nullptr;
  return stream->handle;
}

void *pzrt_cuda_compute_stream(pzrt_step_ctx *ctx) {
  if (!ctx || ctx->num_streams < 1 || !ctx->streams || !ctx->streams[0]) {
    fail("pzrt_cuda_compute_stream: the step context has no compute stream");
    return nullptr;
  }
  return pzrt_cuda_stream_handle(ctx->streams[0]);
}

pzrt_cuda_event *pzrt_cuda_event_create(pzrt_device *d) {
  CudaDevice *device = asCuda(d);
  if (!device) {
    fail("pzrt_cuda_event_create: not a CUDA device");
    return nullptr;
  }
  cudaEvent_t e = nullptr;
  // Timing off: cheaper to record and to wait for.
  if (pzrt::cuda::makeCurrent(*device) ||
      check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreateWithFlags"))
    return nullptr;
  return new pzrt_cuda_event{device, e};
}

void pzrt_cuda_event_destroy(pzrt_cuda_event *event) {
  if (!event)
    return;
  if (pzrt::cuda::makeCurrent(*event->device) == 0)
    check(cudaEventDestroy(event->event), "cudaEventDestroy");
  delete event;
}

int pzrt_cuda_event_record(pzrt_cuda_event *event, pzrt_stream *stream) {
  CudaDevice *device = streamDevice(stream, "pzrt_cuda_event_record");
  if (!device)
    return -1;
  if (!event || event->device != device)
    return fail("pzrt_cuda_event_record: %s",
                event ? "the event belongs to another device" : "no event");
  if (pzrt::cuda::makeCurrent(*device))
    return -1;
  return check(cudaEventRecord(event->event, static_cast<cudaStream_t>(stream->handle)),
               "cudaEventRecord");
}

int pzrt_cuda_stream_wait_event(pzrt_stream *stream, pzrt_cuda_event *event) {
  CudaDevice *device = streamDevice(stream, "pzrt_cuda_stream_wait_event");
  if (!device)
    return -1;
  if (!event)
    return fail("pzrt_cuda_stream_wait_event: no event");
  if (pzrt::cuda::makeCurrent(*device))
    return -1;
  return check(cudaStreamWaitEvent(static_cast<cudaStream_t>(stream->handle), event->event, 0),
               "cudaStreamWaitEvent");
}

int pzrt_cuda_event_synchronize(pzrt_cuda_event *event) {
  if (!event)
    return fail("pzrt_cuda_event_synchronize: no event");
  if (pzrt::cuda::makeCurrent(*event->device))
    return -1;
  return check(cudaEventSynchronize(event->event), "cudaEventSynchronize");
}

int pzrt_cuda_event_query(pzrt_cuda_event *event) {
  if (!event)
    return fail("pzrt_cuda_event_query: no event");
  if (pzrt::cuda::makeCurrent(*event->device))
    return -1;
  cudaError_t err = cudaEventQuery(event->event);
  if (err == cudaErrorNotReady) {
    cudaGetLastError();
    return 0;
  }
  return check(err, "cudaEventQuery") ? -1 : 1;
}

} // extern "C"
