// Transfers on device communicators (device_transfer.h).
#include "cpu/device_transfer.h"

#include "comm/comm_impl.h"
#include "core/device.h"
#include "core/internal.h"
#include "pzrt/error.h"
#include "pzrt/exec.h"

namespace pzrt {
namespace {

constexpr int kComputeStream = 0;
constexpr int kCommStream = 1;

pzrt_stream *streamOf(pzrt_step_ctx *ctx, int i, const char *what) {
  if (i >= ctx->num_streams || !ctx->streams || !ctx->streams[i]) {
    fail("%s on a device communicator: the step context has no stream %d (it has %d)", what, i,
         ctx->num_streams);
    return nullptr;
  }
  return ctx->streams[i];
}

} // namespace

bool isDeviceTransfer(const pzrt_step_ctx *ctx, const pzrt_comm *c) {
  return c && c->deviceBuffers() && ctx && ctx->device && ctx->device->ops &&
         ctx->device->ops->orderRecord && ctx->device->ops->orderWait;
}

int enqueueTransfer(pzrt_step_ctx *ctx, pzrt_comm *c, const char *what,
                    const std::function<int()> &issue, pzrt_event **done) {
  *done = nullptr;
  const DeviceOps &ops = *ctx->device->ops;
  pzrt_stream *compute = streamOf(ctx, kComputeStream, what);
  pzrt_stream *comm = streamOf(ctx, kCommStream, what);
  if (!compute || !comm)
    return -1;
  // The transfer reads what the compute stream wrote so far.
  pzrt_event *ready = ops.orderRecord(compute);
  if (!ready || ops.orderWait(comm, ready))
    return fail("%s: ordering the communication stream after the compute stream: %s", what,
                pzrt_last_error());
  if (c->enqueueOn(comm->handle))
    return -1;
  int rc = issue();
  if (c->enqueueOn(nullptr) || rc)
    return -1;
  *done = ops.orderRecord(comm);
  if (!*done)
    return fail("%s: recording the end of the transfer: %s", what, pzrt_last_error());
  return 0;
}

int joinTransfer(pzrt_step_ctx *ctx, pzrt_event *done, const char *what) {
  pzrt_stream *compute = streamOf(ctx, kComputeStream, what);
  if (!compute)
    return -1;
  if (ctx->device->ops->orderWait(compute, done))
    return fail("%s: ordering the compute stream after the transfer: %s", what,
                pzrt_last_error());
  return 0;
}

} // namespace pzrt
