// What the host runs while it waits for a device (pzrt_core, internal).
//
// Work enqueued on a device stream cannot fail the call that enqueued it: a
// NCCL collective whose peer died, or never arrives, would leave the host
// blocked in its next synchronization forever. So the CUDA device's waits
// poll instead of blocking while a watch is set, and call it between polls;
// the NCCL communicators set one that checks their asynchronous errors and
// deadlines and ends the process naming the operation (comm_nccl.cpp).
#ifndef PZRT_SRC_CORE_WAIT_WATCH_H
#define PZRT_SRC_CORE_WAIT_WATCH_H

namespace pzrt {

// Called with the seconds this wait has lasted; returns only when the wait
// may go on (it ends the process with pzrt::fatal otherwise).
using WaitWatch = void (*)(double waitedS);

// One watch per process; NULL clears it.
void setWaitWatch(WaitWatch watch);
WaitWatch waitWatch();

} // namespace pzrt

#endif // PZRT_SRC_CORE_WAIT_WATCH_H
