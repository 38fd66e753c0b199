// The layout of pzrt_device and pzrt_stream, shared by the devices' parts
// (not installed, not part of the C API).
//
// pzrt_cpu owns pzrt/exec.h's entry points and must not depend on CUDA, so a
// device other than the CPU brings its own operations in a table: the entry
// points call them when the table is set and work on host memory when it is
// not (the CPU device). pzrt_cuda fills the table for its devices.
#ifndef PZRT_SRC_CORE_DEVICE_H
#define PZRT_SRC_CORE_DEVICE_H

#include <cstddef>
#include <cstdint>

struct pzrt_device;
struct pzrt_stream;
struct pzrt_event;

namespace pzrt {

struct DeviceOps {
  // As pzrt_device_read/write: 0, or -1 with pzrt_last_error().
  int (*read)(pzrt_device *device, void *host, const void *buffer, size_t bytes);
  int (*write)(pzrt_device *device, void *buffer, const void *host, size_t bytes);
  // A stream of the device, or NULL with pzrt_last_error().
  pzrt_stream *(*streamCreate)(pzrt_device *device);
  void (*streamDestroy)(pzrt_stream *stream);
  int (*streamSynchronize)(pzrt_stream *stream);
  // Waits until all work issued on the device's streams is done
  // (pzrt_device_synchronize): the host may then touch any buffer.
  int (*synchronize)(pzrt_device *device);
  // pzrt_copy and pzrt_chunk_on on the device: asynchronous on `stream`,
  // between buffers of the device (dst and src coincide or do not overlap).
  int (*copy)(pzrt_stream *stream, void *dst, const void *src, size_t bytes);
  int (*zero)(pzrt_stream *stream, void *dst, size_t bytes);
  // pzrt_event_record / pzrt_stream_wait: a device event marking the work
  // issued so far on `stream` (valid until the stream has recorded many
  // more), and making `stream`'s later work wait for it.
  pzrt_event *(*eventRecord)(pzrt_stream *stream);
  int (*streamWait)(pzrt_stream *stream, pzrt_event *event);
  // pzrt_device_mem_info: the device's free and total memory. May be NULL
  // (then the driver checks no memory plan against the device).
  int (*memInfo)(pzrt_device *device, size_t *freeBytes, size_t *totalBytes);
  // pzrt_device_check: fails with the message of a device-side check of
  // compiled code that failed since the last call (synchronizes first).
  int (*check)(pzrt_device *device);
  // Graphs of compiled functions (train/graphs.cpp). captureBegin starts
  // recording the work issued on `stream` by this thread; captureEnd stops
  // and gives an executable graph (which must be launched to run the
  // captured work), or NULL, with *ran saying whether the call's work ran:
  // 1 when the capture had to end early (the work ran, correctly), 0 when
  // CUDA invalidated the capture (nothing ran: run the call again, eagerly).
  // captureAbandon drops a capture after a failed call; it returns *ran.
  // NULL entries: the device has no graphs.
  int (*captureBegin)(pzrt_stream *stream);
  int (*captureEnd)(pzrt_stream *stream, void **graph, int *ran);
  int (*captureAbandon)(pzrt_stream *stream);
  int (*graphLaunch)(pzrt_stream *stream, void *graph);
  void (*graphDestroy)(void *graph);
  // pzrt_step_publish: the step for device code, written on `stream`.
  int (*publishStep)(pzrt_stream *stream, int64_t step);
  // eventRecord and streamWait for the runtime's own ordering of its
  // communication stream (cpu/device_transfer.cpp): they keep a graph
  // capture going (the other stream joins it), where the entry points for
  // compiled code end it. NULL: the device has no communicator of its own.
  pzrt_event *(*orderRecord)(pzrt_stream *stream);
  int (*orderWait)(pzrt_stream *stream, pzrt_event *event);
  // Host memory the device copies to and from inside a graph (page-locked:
  // a captured copy may not read pageable memory), not counted as device
  // memory; NULL with pzrt_last_error(). NULL entries: none (no step graph).
  void *(*pinnedAlloc)(pzrt_device *device, size_t bytes);
  void (*pinnedFree)(pzrt_device *device, void *p);
  // The host's waits for the device (reads, writes, checks) no longer wait
  // for `stream`: its work ends where another stream waits for its events
  // (a pipeline link's sends, which wait for the peer's receives); only
  // `synchronize` still waits for it. NULL: no such streams.
  void (*streamDetach)(pzrt_stream *stream);
};

} // namespace pzrt

struct pzrt_device {
  const char *name;
  const pzrt::DeviceOps *ops; // NULL: buffers are host memory (the CPU device)
};

struct pzrt_stream {
  pzrt_device *device;
  void *handle; // the device's stream (a cudaStream_t); NULL on the CPU
};

#endif // PZRT_SRC_CORE_DEVICE_H
