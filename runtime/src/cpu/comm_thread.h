// The CPU device's communication stream: one thread per process that runs
// the transfers of compiled code in the order they are issued, while the
// calling thread goes on computing (pzrt/exec.h's asynchronous transfers).
//
// MPI is then called from two threads, one at a time: the communication
// thread while a compiled function runs (every transfer of the function goes
// through it, blocking ones too, so that all ranks issue their collectives in
// program order), the main thread between functions (the driver's own
// collectives), when no transfer is outstanding. That needs
// MPI_THREAD_SERIALIZED (the TCP communicator allows it always); without it,
// or with PZRT_COMM_THREAD=0, transfers
// run on the calling thread and complete before the call returns.
#ifndef PZRT_SRC_CPU_COMM_THREAD_H
#define PZRT_SRC_CPU_COMM_THREAD_H

#include <atomic>
#include <functional>
#include <memory>
#include <string>

namespace pzrt {

// One transfer: the work, then its result.
struct CommTask {
  std::function<int()> work;
  int rc = 0;
  std::string error; // pzrt_last_error() of the failed work
  std::atomic<bool> done{false}; // set (release) after rc and error
};

// Whether transfers on MPI communicators go through the communication thread.
bool commThreadEnabled();
// Queues the work on the communication thread (started on first use).
std::shared_ptr<CommTask> commThreadSubmit(std::function<int()> work);
// Runs the work on the calling thread; the task is done on return.
std::shared_ptr<CommTask> runHere(std::function<int()> work);
// Waits until the task is done; returns its rc, and on failure sets this
// thread's pzrt_last_error() to the task's error.
int commTaskWait(CommTask &task);
// Waits until every transfer queued so far is done (nothing when the thread
// never started): after a compiled function failed with requests
// outstanding, before its buffers are released.
void commThreadDrain();

} // namespace pzrt

#endif // PZRT_SRC_CPU_COMM_THREAD_H
