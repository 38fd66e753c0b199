// pzrt/exec.h on the CPU device: buffers are host memory, the compute stream
// runs its work at once (so events are complete when recorded), and
// transfers on MPI communicators run on the communication thread
// (cpu/comm_thread.h), in issue order: an asynchronous one overlaps the
// caller's work until pzrt_wait.
#include "pzrt/exec.h"
#include "pzrt/error.h"
#include "pzrt/trace.h"

#include "comm/comm_impl.h"
#include "core/device.h"
#include "core/internal.h"
#include "cpu/comm_thread.h"
#include "cpu/device_transfer.h"
#include "cpu/host_staging.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <string>

struct pzrt_event {};

struct pzrt_request {
  static constexpr unsigned kMagic = 0x70727271; // tells a request from other pointers
  unsigned magic = kMagic;
  std::shared_ptr<pzrt::CommTask> task;
  std::shared_ptr<pzrt::Staging> staging; // host-staged: writes the result back
  pzrt_event *done = nullptr;             // on a device communicator: its end
  const char *reason = nullptr;
};

namespace {

pzrt_event theEvent;

bool validStream(int stream) { return stream >= 0; }

// The device operations of the context's device, or NULL on the CPU (and
// for a context without a device, as in pzrt_run_main).
const pzrt::DeviceOps *deviceOps(const pzrt_step_ctx *ctx) {
  return ctx && ctx->device ? ctx->device->ops : nullptr;
}

// Stream `stream` of a device context, or NULL with an error naming `fn`.
pzrt_stream *deviceStream(pzrt_step_ctx *ctx, int stream, const char *fn) {
  if (stream < 0 || stream >= ctx->num_streams || !ctx->streams || !ctx->streams[stream]) {
    pzrt::fail("%s: stream %d does not exist in this step context (it has %d)", fn, stream,
               ctx->num_streams);
    return nullptr;
  }
  return ctx->streams[stream];
}

// The communicator of a group, or NULL with an error.
pzrt_comm *groupComm(pzrt_step_ctx *ctx, int group, const char *what) {
  if (!ctx || group < 0 || group >= ctx->num_comms || !ctx->comms || !ctx->comms[group]) {
    pzrt::fail("%s: communicator group %d does not exist in this step context", what, group);
    return nullptr;
  }
  return ctx->comms[group];
}

// Counts what a transfer of `kind` added to the kind's counter under its
// reason too (bytes are counted once, by the collective itself), and, with
// --trace, records it as an event "all_reduce" of category "comm" on the
// rank's timeline (thread 1, "comm") with its reason and bytes.
class ReasonCount {
public:
  ReasonCount(pzrt_step_ctx *ctx, pzrt_coll_kind kind, const char *reason)
      : ctx_(ctx), kind_(kind), reason_(reason), before_(pzrt_comm_bytes(kind)),
        start_(ctx && ctx->trace ? pzrt_trace_now_us() : 0) {}
  int operator()(int rc) const {
    if (rc != 0)
      return rc;
    uint64_t bytes = pzrt_comm_bytes(kind_) - before_;
    if (ctx_ && ctx_->trace) {
      std::string args = "{\"reason\": \"" + std::string(reason_ ? reason_ : "") +
                         "\", \"bytes\": " + std::to_string(bytes) +
                         ", \"step\": " + std::to_string(ctx_->step) + "}";
      pzrt_trace_event(ctx_->trace, pzrt_coll_kind_name(kind_), "comm", kTraceCommTid, start_,
                       pzrt_trace_now_us() - start_, args.c_str());
    }
    if (!reason_ || !*reason_)
      return rc;
    return pzrt_comm_count_reason(reason_, kind_, bytes);
  }

private:
  static constexpr int kTraceCommTid = 1;
  pzrt_step_ctx *ctx_;
  pzrt_coll_kind kind_;
  const char *reason_;
  uint64_t before_;
  double start_;
};

// The JSON args of a transfer's trace events.
std::string traceArgs(const pzrt_step_ctx *ctx, const char *reason) {
  return "{\"reason\": \"" + std::string(reason ? reason : "") +
         "\", \"step\": " + std::to_string(ctx->step) + "}";
}

// transfer() on a device communicator (cpu/device_transfer.h): enqueued
// on the communication stream, on the buffers themselves.
template <class Op>
int deviceTransfer(pzrt_step_ctx *ctx, pzrt_comm *c, pzrt_coll_kind kind, const char *reason,
                   pzrt_request **request, const pzrt::Regions &regions, Op op) {
  const char *what = pzrt_coll_kind_name(kind);
  if (request)
    *request = nullptr;
  const double issued = ctx->trace ? pzrt_trace_now_us() : 0;
  pzrt_event *done = nullptr;
  int rc = pzrt::enqueueTransfer(
      ctx, c, what,
      [&] {
        ReasonCount count(ctx, kind, reason);
        return count(op(regions.src, regions.dst));
      },
      &done);
  if (ctx->trace)
    pzrt_trace_event(ctx->trace, "issue", "comm", 0, issued, pzrt_trace_now_us() - issued,
                     traceArgs(ctx, reason).c_str());
  if (rc)
    return -1;
  if (!request)
    return pzrt::joinTransfer(ctx, done, what);
  *request = new pzrt_request();
  (*request)->done = done;
  (*request)->reason = reason;
  return 0;
}

// Runs `op`, a transfer of `kind` on communicator c, counted and traced
// under its reason: on the communication thread when c is an MPI
// communicator and the thread is enabled, else here. Without a request the
// call returns when the transfer is done; with one, the request completes
// it (pzrt_wait). A transfer run here that failed fails the call itself.
// With --trace, the call itself is an event "issue" (category "comm") on
// the caller's timeline (thread 0), and so is pzrt_wait ("wait").
template <class Op>
int transfer(pzrt_step_ctx *ctx, pzrt_comm *c, pzrt_coll_kind kind, const char *reason,
             pzrt_request **request, const pzrt::Regions &regions, Op op) {
  const char *what = pzrt_coll_kind_name(kind);
  if (pzrt::isDeviceTransfer(ctx, c))
    return deviceTransfer(ctx, c, kind, reason, request, regions, op);
  pzrt_stream *compute = deviceOps(ctx) ? deviceStream(ctx, 0, what) : nullptr;
  std::shared_ptr<pzrt::Staging> st =
      deviceOps(ctx) && !compute ? nullptr : pzrt::stage(ctx->device, compute, regions, what);
  if (!st) {
    if (request)
      *request = nullptr;
    return -1;
  }
  const double issued = ctx->trace ? pzrt_trace_now_us() : 0;
  std::function<int()> work = [=] {
    ReasonCount count(ctx, kind, reason);
    return count(op(st->src, st->dst));
  };
  const bool threaded = c->callableFromAnyThread() && pzrt::commThreadEnabled();
  std::shared_ptr<pzrt::CommTask> task =
      threaded ? pzrt::commThreadSubmit(std::move(work)) : pzrt::runHere(std::move(work));
  if (ctx->trace)
    pzrt_trace_event(ctx->trace, "issue", "comm", 0, issued, pzrt_trace_now_us() - issued,
                     traceArgs(ctx, reason).c_str());
  if (!request || (!threaded && task->rc != 0)) {
    if (request)
      *request = nullptr;
    int rc = pzrt::commTaskWait(*task);
    return rc == 0 ? st->finish() : rc;
  }
  *request = new pzrt_request();
  (*request)->task = std::move(task);
  (*request)->staging = std::move(st);
  (*request)->reason = reason;
  return 0;
}

} // namespace

extern "C" {

pzrt_device *pzrt_device_cpu(void) {
  static pzrt_device cpu{"cpu", nullptr};
  return &cpu;
}

const char *pzrt_device_name(const pzrt_device *device) { return device ? device->name : "?"; }

// The entry points below dispatch to a device's own operations (core/device.h)
// and work on host memory for the CPU device (and a NULL device, as before).
int pzrt_device_read(pzrt_device *device, void *host, const void *buffer, size_t bytes) {
  if (bytes && (!host || !buffer))
    return pzrt::fail("pzrt_device_read: a NULL buffer");
  if (device && device->ops)
    return device->ops->read(device, host, buffer, bytes);
  if (bytes)
    std::memcpy(host, buffer, bytes);
  return 0;
}

int pzrt_device_write(pzrt_device *device, void *buffer, const void *host, size_t bytes) {
  if (bytes && (!host || !buffer))
    return pzrt::fail("pzrt_device_write: a NULL buffer");
  if (device && device->ops)
    return device->ops->write(device, buffer, host, bytes);
  if (bytes)
    std::memcpy(buffer, host, bytes);
  return 0;
}

pzrt_stream *pzrt_stream_create(pzrt_device *device) {
  if (device && device->ops)
    return device->ops->streamCreate(device);
  return new pzrt_stream{device, nullptr};
}

void pzrt_stream_destroy(pzrt_stream *stream) {
  if (stream && stream->device && stream->device->ops)
    return stream->device->ops->streamDestroy(stream);
  delete stream;
}

int pzrt_stream_synchronize(pzrt_stream *stream) {
  if (stream && stream->device && stream->device->ops)
    return stream->device->ops->streamSynchronize(stream);
  return 0;
}

int pzrt_device_synchronize(pzrt_device *device) {
  if (device && device->ops)
    return device->ops->synchronize(device);
  return 0;
}

int pzrt_device_mem_info(pzrt_device *device, size_t *free_bytes, size_t *total_bytes) {
  if (!free_bytes || !total_bytes)
    return pzrt::fail("pzrt_device_mem_info: a NULL result pointer");
  *free_bytes = *total_bytes = 0;
  if (device && device->ops && device->ops->memInfo)
    return device->ops->memInfo(device, free_bytes, total_bytes);
  return 0;
}

int pzrt_device_check(pzrt_device *device) {
  if (device && device->ops && device->ops->check)
    return device->ops->check(device);
  return 0;
}

int pzrt_step_publish(pzrt_step_ctx *ctx) {
  const pzrt::DeviceOps *ops = deviceOps(ctx);
  if (!ops || !ops->publishStep)
    return 0;
  pzrt_stream *compute = deviceStream(ctx, 0, "pzrt_step_publish");
  return compute ? ops->publishStep(compute, ctx->step) : -1;
}

int pzrt_copy(pzrt_step_ctx *ctx, void *dst, const void *src, size_t bytes) {
  if (bytes > 0 && (!dst || !src))
    return pzrt::fail("pzrt_copy: a NULL buffer");
  if (dst == src || bytes == 0)
    return 0;
  if (const pzrt::DeviceOps *ops = deviceOps(ctx)) {
    pzrt_stream *compute = deviceStream(ctx, 0, "pzrt_copy");
    return compute ? ops->copy(compute, dst, src, bytes) : -1;
  }
  std::memmove(dst, src, bytes);
  return 0;
}

pzrt_event *pzrt_event_record(pzrt_step_ctx *ctx, int stream) {
  if (!validStream(stream)) {
    pzrt::fail("pzrt_event_record: stream %d does not exist", stream);
    return nullptr;
  }
  if (const pzrt::DeviceOps *ops = deviceOps(ctx)) {
    pzrt_stream *s = deviceStream(ctx, stream, "pzrt_event_record");
    return s ? ops->eventRecord(s) : nullptr;
  }
  return &theEvent;
}

int pzrt_stream_wait(pzrt_step_ctx *ctx, pzrt_event *event, int stream) {
  if (!event || !validStream(stream))
    return pzrt::fail("pzrt_stream_wait: no event, or stream %d does not exist", stream);
  if (const pzrt::DeviceOps *ops = deviceOps(ctx)) {
    pzrt_stream *s = deviceStream(ctx, stream, "pzrt_stream_wait");
    return s ? ops->streamWait(s, event) : -1;
  }
  return 0;
}

int pzrt_all_reduce_on(pzrt_step_ctx *ctx, int group, const void *src, void *dst, size_t count,
                       pzrt_dtype dtype, int op, const char *reason, int, pzrt_request **request) {
  pzrt_comm *c = groupComm(ctx, group, "all_reduce");
  if (!c)
    return -1;
  const size_t bytes = count * pzrt_dtype_size(dtype);
  return transfer(ctx, c, PZRT_COLL_ALL_REDUCE, reason, request, {src, bytes, dst, bytes},
                  [=](const void *s, void *d) {
                    return pzrt_all_reduce(c, s, d, count, dtype,
                                           static_cast<pzrt_reduce_op>(op));
                  });
}

int pzrt_all_gather_on(pzrt_step_ctx *ctx, int group, const void *src, void *dst,
                       size_t src_count, pzrt_dtype dtype, const char *reason, int,
                       pzrt_request **request) {
  pzrt_comm *c = groupComm(ctx, group, "all_gather");
  if (!c)
    return -1;
  const size_t bytes = src_count * pzrt_dtype_size(dtype);
  return transfer(ctx, c, PZRT_COLL_ALL_GATHER, reason, request,
                  {src, bytes, dst, bytes * static_cast<size_t>(pzrt_comm_size(c))},
                  [=](const void *s, void *d) {
                    return pzrt_all_gather(c, s, d, src_count, dtype);
                  });
}

int pzrt_reduce_scatter_on(pzrt_step_ctx *ctx, int group, const void *src, void *dst,
                           size_t dst_count, pzrt_dtype dtype, int op, const char *reason, int,
                           pzrt_request **request) {
  pzrt_comm *c = groupComm(ctx, group, "reduce_scatter");
  if (!c)
    return -1;
  const size_t bytes = dst_count * pzrt_dtype_size(dtype);
  return transfer(ctx, c, PZRT_COLL_REDUCE_SCATTER, reason, request,
                  {src, bytes * static_cast<size_t>(pzrt_comm_size(c)), dst, bytes},
                  [=](const void *s, void *d) {
                    return pzrt_reduce_scatter(c, s, d, dst_count, dtype,
                                               static_cast<pzrt_reduce_op>(op));
                  });
}

int pzrt_broadcast_on(pzrt_step_ctx *ctx, int group, void *buffer, size_t count,
                      pzrt_dtype dtype, int root, const char *reason, int, pzrt_request **request) {
  pzrt_comm *c = groupComm(ctx, group, "broadcast");
  if (!c)
    return -1;
  const size_t bytes = count * pzrt_dtype_size(dtype);
  return transfer(ctx, c, PZRT_COLL_BROADCAST, reason, request, {buffer, bytes, buffer, bytes},
                  [=](const void *, void *d) {
                    return pzrt_broadcast(c, d, count, dtype, root);
                  });
}

int pzrt_all_to_all_on(pzrt_step_ctx *ctx, int group, const void *src, void *dst,
                       size_t count, pzrt_dtype dtype, const char *reason, int,
                       pzrt_request **request) {
  pzrt_comm *c = groupComm(ctx, group, "all_to_all");
  if (!c)
    return -1;
  const size_t bytes =
      count * pzrt_dtype_size(dtype) * static_cast<size_t>(pzrt_comm_size(c));
  return transfer(ctx, c, PZRT_COLL_ALL_TO_ALL, reason, request, {src, bytes, dst, bytes},
                  [=](const void *s, void *d) {
                    return pzrt_all_to_all(c, s, d, count, dtype);
                  });
}

// The rank `peer` positions along the group from this one, wrapping.
static int peerRank(pzrt_comm *c, int peer) {
  int n = pzrt_comm_size(c);
  return ((pzrt_comm_rank(c) + peer) % n + n) % n;
}

int pzrt_send_on(pzrt_step_ctx *ctx, int group, const void *buffer, size_t count,
                 pzrt_dtype dtype, int peer, const char *reason, int, pzrt_request **request) {
  pzrt_comm *c = groupComm(ctx, group, "send");
  if (!c)
    return -1;
  return transfer(ctx, c, PZRT_COLL_SEND, reason, request,
                  {buffer, count * pzrt_dtype_size(dtype), nullptr, 0},
                  [=](const void *s, void *) {
                    return pzrt_send(c, s, count, dtype, peerRank(c, peer), 0);
                  });
}

int pzrt_recv_on(pzrt_step_ctx *ctx, int group, void *buffer, size_t count, pzrt_dtype dtype,
                 int peer, const char *, int, pzrt_request **request) {
  pzrt_comm *c = groupComm(ctx, group, "recv");
  if (!c)
    return -1;
  // Receives count nothing (the sender counts); traced under no reason.
  return transfer(ctx, c, PZRT_COLL_RECV, nullptr, request,
                  {nullptr, 0, buffer, count * pzrt_dtype_size(dtype)},
                  [=](const void *, void *d) {
                    return pzrt_recv(c, d, count, dtype, peerRank(c, peer), 0);
                  });
}

int pzrt_shift_on(pzrt_step_ctx *ctx, int group, const void *src, void *dst, size_t count,
                  pzrt_dtype dtype, int offset, const char *reason, int,
                  pzrt_request **request) {
  pzrt_comm *c = groupComm(ctx, group, "shift");
  if (!c)
    return -1;
  const size_t bytes = count * pzrt_dtype_size(dtype);
  return transfer(ctx, c, PZRT_COLL_SEND, reason, request, {src, bytes, dst, bytes},
                  [=](const void *s, void *d) {
                    return pzrt_sendrecv(c, s, count, peerRank(c, offset), d, count,
                                         peerRank(c, -offset), dtype, 0);
                  });
}

int pzrt_chunk_on(pzrt_step_ctx *ctx, int group, const void *src, void *dst, size_t src_bytes,
                  size_t dst_bytes) {
  pzrt_comm *c = groupComm(ctx, group, "chunk");
  if (!c)
    return -1;
  if (dst_bytes == 0)
    return 0;
  if (!dst || (src_bytes > 0 && !src))
    return pzrt::fail("chunk on group %d: a NULL buffer", group);
  // begin = min(k x dst_bytes, src_bytes); k x dst_bytes is only computed
  // when it cannot overflow (k <= src_bytes / dst_bytes).
  const size_t k = static_cast<size_t>(pzrt_comm_rank(c));
  const size_t begin = k > src_bytes / dst_bytes ? src_bytes : k * dst_bytes;
  const size_t n = std::min(dst_bytes, src_bytes - begin);
  if (const pzrt::DeviceOps *ops = deviceOps(ctx)) {
    pzrt_stream *compute = deviceStream(ctx, 0, "chunk");
    if (!compute || (n > 0 && ops->copy(compute, dst, static_cast<const char *>(src) + begin, n)))
      return -1;
    return dst_bytes > n ? ops->zero(compute, static_cast<char *>(dst) + n, dst_bytes - n) : 0;
  }
  if (n > 0)
    std::memcpy(dst, static_cast<const char *>(src) + begin, n);
  std::memset(static_cast<char *>(dst) + n, 0, dst_bytes - n);
  return 0;
}

void pzrt_exec_drain(void) { pzrt::commThreadDrain(); }

int pzrt_wait(pzrt_step_ctx *ctx, pzrt_request *request) {
  if (!request || request->magic != pzrt_request::kMagic)
    return pzrt::fail("pzrt_wait: not a request of a transfer");
  request->magic = 0;
  const double start = ctx && ctx->trace ? pzrt_trace_now_us() : 0;
  int rc = request->done ? pzrt::joinTransfer(ctx, request->done, "pzrt_wait")
                        : pzrt::commTaskWait(*request->task);
  if (rc == 0 && request->staging)
    rc = request->staging->finish();
  if (ctx && ctx->trace)
    pzrt_trace_event(ctx->trace, "wait", "comm", 0, start, pzrt_trace_now_us() - start,
                     traceArgs(ctx, request->reason).c_str());
  delete request;
  return rc;
}

} // extern "C"
