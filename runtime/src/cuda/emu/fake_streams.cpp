// The CUDA host emulator's streams, events and graphs (see fake_cudart.cpp).
//
// Work runs when it is issued, so streams and events are always complete.
// Stream capture is what makes this more than no-ops: while a stream
// captures, each launch, copy and fill issued on it (and on streams that
// joined the capture by waiting on an event recorded in it) is recorded,
// in issue order, instead of run; cudaGraphLaunch replays the recording.
// Issue order respects every dependency the host expressed, so a replay in
// that order is one of the orders the GPU could have run the graph in.
#include "cuda/emu/emu.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <vector>

struct CUstream_st;

struct CUgraph_st {
  std::vector<std::function<void()>> ops;
  // Memory allocated by cudaMallocAsync during the capture: it lives as
  // long as the graph or an instantiation of it.
  std::vector<std::shared_ptr<void>> memory;
  std::vector<CUstream_st *> streams; // capturing into it, the origin first
  bool invalidated = false;
};

struct CUgraphExec_st {
  std::vector<std::function<void()>> ops;
  std::vector<std::shared_ptr<void>> memory;
};

struct CUstream_st {
  unsigned flags = 0;
  CUgraph_st *capture = nullptr; // the graph being captured into
  bool origin = false;           // where cudaStreamBeginCapture was called
};

struct CUevent_st {
  unsigned flags = 0;
  double seconds = 0;               // host time of the last record (timing events)
  CUgraph_st *capturedIn = nullptr; // recorded into a capture: joins waiters to it
};

namespace pz_emu {
namespace {

std::mutex captureMutex;

// The legacy and per-thread default streams are handles 0, 1 and 2, not
// objects; they never capture here.
CUstream_st *object(cudaStream_t s) {
  return reinterpret_cast<uintptr_t>(s) <= 2 ? nullptr : s;
}

double now() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

} // namespace

cudaError_t enqueue(cudaStream_t stream, std::function<void()> op) {
  if (CUstream_st *s = object(stream)) {
    std::lock_guard<std::mutex> lock(captureMutex);
    if (s->capture) {
      s->capture->ops.push_back(std::move(op));
      return cudaSuccess;
    }
  }
  DeviceAccess access; // the op may touch device memory (protect.cpp)
  op();
  return cudaSuccess;
}

} // namespace pz_emu

using pz_emu::object;
using pz_emu::setLastError;

extern "C" {

cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int flags) {
  if (!stream)
    return setLastError(cudaErrorInvalidValue);
  *stream = new CUstream_st;
  (*stream)->flags = flags;
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamCreateWithPriority(cudaStream_t *stream, unsigned int flags, int) {
  return cudaStreamCreateWithFlags(stream, flags);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (!object(stream))
    return setLastError(cudaErrorInvalidResourceHandle);
  std::lock_guard<std::mutex> lock(pz_emu::captureMutex);
  if (stream->capture) {
    auto &streams = stream->capture->streams;
    streams.erase(std::remove(streams.begin(), streams.end(), stream), streams.end());
  }
  delete stream;
  return cudaSuccess;
}

// Synchronizing a capturing stream is illegal in CUDA and invalidates the
// capture; the emulator does the same, so that such code fails here too.
static cudaError_t syncOrInvalidate(cudaStream_t stream) {
  CUstream_st *s = object(stream);
  std::lock_guard<std::mutex> lock(pz_emu::captureMutex);
  if (s && s->capture) {
    s->capture->invalidated = true;
    return setLastError(cudaErrorStreamCaptureUnsupported);
  }
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) { return syncOrInvalidate(stream); }

cudaError_t cudaStreamQuery(cudaStream_t stream) { return syncOrInvalidate(stream); }

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int) {
  if (!event)
    return setLastError(cudaErrorInvalidResourceHandle);
  CUstream_st *s = object(stream);
  std::lock_guard<std::mutex> lock(pz_emu::captureMutex);
  // Waiting on an event recorded in a capture joins the capture.
  if (event->capturedIn && s && !s->capture) {
    s->capture = event->capturedIn;
    s->capture->streams.push_back(s);
  }
  return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags) {
  if (!event)
    return setLastError(cudaErrorInvalidValue);
  *event = new CUevent_st;
  (*event)->flags = flags;
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  if (!event)
    return setLastError(cudaErrorInvalidResourceHandle);
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event)
    return setLastError(cudaErrorInvalidResourceHandle);
  CUstream_st *s = object(stream);
  std::lock_guard<std::mutex> lock(pz_emu::captureMutex);
  event->capturedIn = s ? s->capture : nullptr;
  if (!event->capturedIn)
    event->seconds = pz_emu::now();
  return cudaSuccess;
}

// An external record in a capture is what the emulator's records always
// are: the event is complete once the work before it ran.
cudaError_t cudaEventRecordWithFlags(cudaEvent_t event, cudaStream_t stream, unsigned int) {
  return cudaEventRecord(event, stream);
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  return event ? cudaSuccess : setLastError(cudaErrorInvalidResourceHandle);
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  return event ? cudaSuccess : setLastError(cudaErrorInvalidResourceHandle);
}

// Host time between the records: the emulator's time, not a GPU's.
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms || !start || !end)
    return setLastError(cudaErrorInvalidValue);
  if ((start->flags | end->flags) & cudaEventDisableTiming)
    return setLastError(cudaErrorInvalidResourceHandle);
  *ms = static_cast<float>((end->seconds - start->seconds) * 1e3);
  return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode) {
  CUstream_st *s = object(stream);
  if (!s)
    return setLastError(cudaErrorStreamCaptureUnsupported); // not on a default stream
  std::lock_guard<std::mutex> lock(pz_emu::captureMutex);
  if (s->capture)
    return setLastError(cudaErrorIllegalState);
  s->capture = new CUgraph_st;
  s->capture->streams.push_back(s);
  s->origin = true;
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph) {
  CUstream_st *s = object(stream);
  if (!graph)
    return setLastError(cudaErrorInvalidValue);
  *graph = nullptr;
  std::lock_guard<std::mutex> lock(pz_emu::captureMutex);
  if (!s || !s->capture)
    return setLastError(cudaErrorIllegalState);
  if (!s->origin)
    return setLastError(cudaErrorStreamCaptureUnmatched);
  CUgraph_st *g = s->capture;
  // The streams that joined end with the origin. (CUDA also requires them
  // to have joined back; the emulator does not track that.)
  for (CUstream_st *joined : g->streams)
    joined->capture = nullptr;
  g->streams.clear();
  s->origin = false;
  if (g->invalidated) {
    delete g;
    return setLastError(cudaErrorStreamCaptureInvalidated);
  }
  *graph = g;
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus *status) {
  if (!status)
    return setLastError(cudaErrorInvalidValue);
  CUstream_st *s = object(stream);
  std::lock_guard<std::mutex> lock(pz_emu::captureMutex);
  *status = !s || !s->capture         ? cudaStreamCaptureStatusNone
            : s->capture->invalidated ? cudaStreamCaptureStatusInvalidated
                                      : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long) {
  if (!exec || !graph)
    return setLastError(cudaErrorInvalidValue);
  *exec = new CUgraphExec_st{graph->ops, graph->memory};
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t *exec, cudaGraph_t graph,
                                          unsigned long long flags) {
  return cudaGraphInstantiate(exec, graph, flags);
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (!exec)
    return setLastError(cudaErrorInvalidResourceHandle);
  // A graph launched into a capture becomes one recorded step of it.
  auto ops = std::make_shared<std::vector<std::function<void()>>>(exec->ops);
  return pz_emu::enqueue(stream, [ops] {
    for (const auto &op : *ops)
      op();
  });
}

// Stream-ordered allocation. Outside a capture, cudaMallocAsync is
// cudaMalloc and cudaFreeAsync a free in stream order. In a capture, CUDA
// records allocation and free nodes and each launch of the graph gets the
// memory at the same address; here the memory is allocated at capture time,
// owned by the graph (and its instantiations), and its captured free does
// nothing.
cudaError_t cudaMallocAsync(void **devPtr, size_t size, cudaStream_t stream) {
  cudaError_t err = cudaMalloc(devPtr, size);
  if (err != cudaSuccess || !*devPtr)
    return err;
  CUstream_st *s = object(stream);
  std::lock_guard<std::mutex> lock(pz_emu::captureMutex);
  if (s && s->capture)
    s->capture->memory.push_back(std::shared_ptr<void>(*devPtr, [](void *p) { cudaFree(p); }));
  return cudaSuccess;
}

cudaError_t cudaFreeAsync(void *devPtr, cudaStream_t stream) {
  if (!devPtr)
    return cudaSuccess;
  CUstream_st *s = object(stream);
  {
    std::lock_guard<std::mutex> lock(pz_emu::captureMutex);
    if (s && s->capture)
      for (const std::shared_ptr<void> &owned : s->capture->memory)
        if (owned.get() == devPtr)
          return cudaSuccess;
  }
  return pz_emu::enqueue(stream, [devPtr] { cudaFree(devPtr); });
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}

} // extern "C"
