// The CPU device's communication thread (see comm_thread.h).
#include "cpu/comm_thread.h"

#include "comm/comm_impl.h"
#include "core/internal.h"
#include "pzrt/error.h"

#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <sched.h>
#include <thread>

namespace pzrt {
namespace {

// The queue and the thread. Never destroyed: the thread sleeps on the queue
// until the process ends, so that exit() from any state neither joins a
// thread blocked in MPI nor destroys a mutex it holds.
struct CommThread {
  std::mutex mutex;
  std::condition_variable queued, finished;
  std::deque<std::shared_ptr<CommTask>> queue;
  size_t pending = 0; // queued or running
  std::thread thread;

  CommThread() : thread([this] { loop(); }) { thread.detach(); }

  void loop() {
    for (;;) {
      std::shared_ptr<CommTask> task;
      {
        std::unique_lock<std::mutex> lock(mutex);
        queued.wait(lock, [&] { return !queue.empty(); });
        task = queue.front();
        queue.pop_front();
      }
      int rc = task->work();
      std::string error = rc != 0 ? pzrt_last_error() : "";
      {
        std::lock_guard<std::mutex> lock(mutex);
        task->rc = rc;
        task->error = std::move(error);
        task->work = nullptr;
        task->done.store(true, std::memory_order_release);
        --pending;
      }
      finished.notify_all();
    }
  }
};

std::atomic<CommThread *> gThread{nullptr};

CommThread &theThread() {
  static CommThread *t = new CommThread();
  gThread.store(t, std::memory_order_release);
  return *t;
}

} // namespace

bool commThreadEnabled() {
  static const bool wanted = [] {
    const char *v = std::getenv("PZRT_COMM_THREAD");
    return !v || std::strcmp(v, "0") != 0;
  }();
  return wanted;
}

std::shared_ptr<CommTask> commThreadSubmit(std::function<int()> work) {
  CommThread &t = theThread();
  auto task = std::make_shared<CommTask>();
  task->work = std::move(work);
  {
    std::lock_guard<std::mutex> lock(t.mutex);
    t.queue.push_back(task);
    ++t.pending;
  }
  t.queued.notify_one();
  // Let the communication thread start the transfer now rather than when
  // the scheduler next gets to it: with fewer cores than busy threads
  // (ranks sharing a machine) it would otherwise often wait until this
  // thread blocks, and the transfer would not overlap anything.
  sched_yield();
  return task;
}

std::shared_ptr<CommTask> runHere(std::function<int()> work) {
  auto task = std::make_shared<CommTask>();
  task->rc = work();
  if (task->rc != 0)
    task->error = pzrt_last_error();
  task->done.store(true, std::memory_order_release);
  return task;
}

int commTaskWait(CommTask &task) {
  if (!task.done.load(std::memory_order_acquire)) {
    CommThread &t = theThread();
    std::unique_lock<std::mutex> lock(t.mutex);
    t.finished.wait(lock, [&] { return task.done.load(std::memory_order_acquire); });
  }
  if (task.rc != 0)
    return failStr(task.error);
  return 0;
}

void commThreadDrain() {
  CommThread *t = gThread.load(std::memory_order_acquire);
  if (!t)
    return;
  std::unique_lock<std::mutex> lock(t->mutex);
  t->finished.wait(lock, [&] { return t->pending == 0; });
}

} // namespace pzrt
