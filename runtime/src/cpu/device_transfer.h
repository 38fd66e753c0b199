// Transfers of exec.h on a device communicator (NCCL): no host staging and
// no host wait. The transfer is enqueued on the step context's
// communication stream (stream 1) after the compute stream's work so far,
// and the compute stream's later work waits for its end: at once without a
// request, at pzrt_wait with one. Both orderings are events, so the
// transfer overlaps the compute issued between the call and pzrt_wait, and
// a CUDA graph capture of the compute stream takes the transfer in (the
// communication stream joins the capture and is joined back). Failures and
// hangs surface at the host's next wait for the device (core/wait_watch.h).
// Not part of the C API.
#ifndef PZRT_SRC_CPU_DEVICE_TRANSFER_H
#define PZRT_SRC_CPU_DEVICE_TRANSFER_H

#include <functional>

struct pzrt_comm;
struct pzrt_event;
struct pzrt_step_ctx;

namespace pzrt {

// Whether transfers on `c` go through this path: its buffers are device
// memory and the context's device orders its own streams.
bool isDeviceTransfer(const pzrt_step_ctx *ctx, const pzrt_comm *c);

// Enqueues `issue` (the communicator call, on device buffers) on the
// communication stream. *done: the event marking its end there. 0, or -1
// with pzrt_last_error() naming `what`.
int enqueueTransfer(pzrt_step_ctx *ctx, pzrt_comm *c, const char *what,
                    const std::function<int()> &issue, pzrt_event **done);

// Makes the compute stream's later work wait for `done`.
int joinTransfer(pzrt_step_ctx *ctx, pzrt_event *done, const char *what);

} // namespace pzrt

#endif // PZRT_SRC_CPU_DEVICE_TRANSFER_H
