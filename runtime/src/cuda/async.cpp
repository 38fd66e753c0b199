// The CUDA device's operations that order work on its streams: device
// synchronization, copies and zero-fills on a stream (pzrt_copy,
// pzrt_chunk_on) and the events of pzrt_event_record / pzrt_stream_wait.
#include "cuda/device_cuda.h"

#include "core/internal.h"
#include "core/wait_watch.h"

#include <algorithm>
#include <chrono>
#include <sched.h>
#include <time.h>

namespace pzrt::cuda {

namespace {

// Events recorded by pzrt_event_record come from a ring of this many per
// stream. A compiled function waits for an event soon after recording it;
// should a slot be re-recorded first, cudaStreamWaitEvent waits for the
// later record instead: work issued later on the same stream (the rings are
// per stream), which only orders more (a wait always names work already
// issued, so no cycle).
constexpr size_t kEventRing = 256;

cudaStream_t handle(pzrt_stream *stream) { return static_cast<cudaStream_t>(stream->handle); }

} // namespace

int waitStream(cudaStream_t stream, const char *call) {
  WaitWatch watch = waitWatch();
  if (!watch)
    return check(cudaStreamSynchronize(stream), call);
  const auto start = std::chrono::steady_clock::now();
  for (long spins = 0;; ++spins) {
    cudaError_t q = cudaStreamQuery(stream);
    if (q == cudaSuccess)
      return 0;
    if (q != cudaErrorNotReady)
      return check(q, call);
    watch(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    // The first polls spin (kernels take microseconds); then sleep 20 us.
    if (spins < 2000) {
      sched_yield();
    } else {
      timespec ts{0, 20000};
      nanosleep(&ts, nullptr);
    }
  }
}

int waitDevice(CudaDevice &device, const char *call, bool all) {
  if (makeCurrent(device))
    return -1;
  std::vector<cudaStream_t> streams, detached;
  {
    std::lock_guard<std::mutex> lock(device.streamMutex);
    streams = device.streams;
    detached = device.detached;
  }
  if (waitWatch() || (!all && !detached.empty())) {
    for (cudaStream_t s : streams)
      if ((all || std::find(detached.begin(), detached.end(), s) == detached.end()) &&
          waitStream(s, call))
        return -1;
  }
  // What is left: the legacy default stream's work (blocking copies), or,
  // with nothing detached, everything (as before any stream polled).
  if (!all && !detached.empty())
    return check(cudaStreamSynchronize(nullptr), call);
  return check(cudaDeviceSynchronize(), call);
}

int deviceSynchronize(pzrt_device *d) {
  return waitDevice(*asCuda(d), "cudaDeviceSynchronize", true);
}

void streamDetach(pzrt_stream *stream) {
  CudaDevice &device = *asCuda(stream->device);
  std::lock_guard<std::mutex> lock(device.streamMutex);
  device.detached.push_back(handle(stream));
}

int streamCopy(pzrt_stream *stream, void *dst, const void *src, size_t bytes) {
  if (makeCurrent(*asCuda(stream->device)))
    return -1;
  // cudaMemcpyDefault: the pointers say where they live (managed, device
  // or host memory; unified addressing).
  return check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, handle(stream)),
               "cudaMemcpyAsync (pzrt_copy)");
}

int streamZero(pzrt_stream *stream, void *dst, size_t bytes) {
  if (makeCurrent(*asCuda(stream->device)))
    return -1;
  return check(cudaMemsetAsync(dst, 0, bytes, handle(stream)), "cudaMemsetAsync");
}

pzrt_event *streamRecord(pzrt_stream *stream) {
  CudaDevice &device = *asCuda(stream->device);
  if (makeCurrent(device))
    return nullptr;
  std::lock_guard<std::mutex> lock(device.eventMutex);
  CudaDevice::EventRing &ring = device.eventRings[stream];
  // The ring's slots never move (reserved once): a pzrt_event is a slot.
  ring.events.reserve(kEventRing);
  if (ring.next == ring.events.size()) { // still filling the ring
    cudaEvent_t e = nullptr;
    if (check(cudaEventCreateWithFlags(&e, cudaEventDisableTiming), "cudaEventCreateWithFlags"))
      return nullptr;
    ring.events.push_back(e);
  }
  cudaEvent_t &e = ring.events[ring.next];
  ring.next = (ring.next + 1) % kEventRing;
  if (check(cudaEventRecord(e, handle(stream)), "cudaEventRecord (pzrt_event_record)"))
    return nullptr;
  return reinterpret_cast<pzrt_event *>(&e);
}

int streamWaitRecorded(pzrt_stream *stream, pzrt_event *event) {
  if (makeCurrent(*asCuda(stream->device)))
    return -1;
  cudaEvent_t e = *reinterpret_cast<cudaEvent_t *>(event);
  return check(cudaStreamWaitEvent(handle(stream), e, 0), "cudaStreamWaitEvent (pzrt_stream_wait)");
}

} // namespace pzrt::cuda
