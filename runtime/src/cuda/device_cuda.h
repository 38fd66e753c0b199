// The CUDA device's state, shared by the pzrt_cuda sources.
#ifndef PZRT_SRC_CUDA_DEVICE_CUDA_H
#define PZRT_SRC_CUDA_DEVICE_CUDA_H

#include "core/device.h"

#include <cuda_runtime_api.h>

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

struct pzrt_event;

namespace pzrt::cuda {

struct CudaDevice {
  pzrt_device base; // first: a pzrt_device * of a CUDA device points here
  int ordinal = 0;
  std::string name; // "cuda:0 (NVIDIA H200)"
  // cuBLASLt's handle, created on the first GEMM (cublaslt.h).
  std::mutex ltMutex;
  void *ltHandle = nullptr;
  // The streams created on the device (streamCreate): the ones a polled
  // wait (waitDevice) goes through before it synchronizes the device.
  std::mutex streamMutex;
  std::vector<cudaStream_t> streams;
  std::vector<cudaStream_t> detached; // of streams: waited for by synchronize only
  // pzrt_event_record's events (async.cpp): a ring per stream, created on
  // first use. Per stream, so that a slot is only ever re-recorded on the
  // stream it was recorded on.
  struct EventRing {
    std::vector<cudaEvent_t> events;
    size_t next = 0;
  };
  std::mutex eventMutex;
  std::unordered_map<const pzrt_stream *, EventRing> eventRings;
  // The device-side checks' word (graph.cpp), allocated on first use.
  std::mutex checkMutex;
  int *checkWord = nullptr;
  // The step for device code (pzrt_cuda_step_word), allocated on first use,
  // and the value last written there.
  int64_t *stepWord = nullptr;
  int64_t publishedStep = 0;
};

// The CUDA device of `device`, or NULL when it is another device.
CudaDevice *asCuda(pzrt_device *device);

// A failed CUDA call as a pzrt error: "cudaMemcpy: an illegal memory access
// was encountered (cudaErrorIllegalAddress)"; 0 for cudaSuccess.
int check(cudaError_t err, const char *call);

// Makes the device current on this thread (CUDA's current device is per
// thread; every entry point sets it before its calls).
int makeCurrent(const CudaDevice &device);

// The device operations of core/device.h that order work (async.cpp).
// waitStream and waitDevice block until the work is done; while a wait
// watch is set (core/wait_watch.h: a NCCL communicator enqueues on a
// stream) they poll, and call it between polls. `call` names the wait in
// an error.
int waitStream(cudaStream_t stream, const char *call);
// `all`: the detached streams too (DeviceOps::streamDetach), as
// cudaDeviceSynchronize; else every other stream of the device.
int waitDevice(CudaDevice &device, const char *call, bool all = false);
int deviceSynchronize(pzrt_device *device);
void streamDetach(pzrt_stream *stream);
int streamCopy(pzrt_stream *stream, void *dst, const void *src, size_t bytes);
int streamZero(pzrt_stream *stream, void *dst, size_t bytes);
pzrt_event *streamRecord(pzrt_stream *stream);
int streamWaitRecorded(pzrt_stream *stream, pzrt_event *event);

// CUDA graphs of compiled functions and the check word (graph.cpp).
int captureBegin(pzrt_stream *stream);
int captureEnd(pzrt_stream *stream, void **graphExec, int *ran);
int captureAbandon(pzrt_stream *stream);
int graphLaunch(pzrt_stream *stream, void *graphExec);
void graphDestroy(void *graphExec);
int checkDevice(pzrt_device *device);
int publishStep(pzrt_stream *stream, int64_t step);
// Ends this thread's capture, if any, running what it captured so far: the
// caller needs the host (a synchronization, a host read or write). 0, or -1
// with pzrt_last_error() when the partial work could not be launched.
int breakCapture(const char *why);

} // namespace pzrt::cuda

#endif // PZRT_SRC_CUDA_DEVICE_CUDA_H
