// Several ranks in one test process: each rank is a thread with its own
// ThreadComm, and the collectives the checkpoint writer uses (all-reduce of
// I64, broadcast, all-gather, barrier) meet through shared memory. Enough to
// run the collective writer (and the driver's save) with several ranks
// without MPI; the MPI tests cover the real communicator.
#ifndef PZRT_TEST_THREAD_COMM_H
#define PZRT_TEST_THREAD_COMM_H

#include "comm/comm_impl.h"
#include "core/internal.h"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace pzrt::test {

// What the threads of one group share.
class ThreadGroup {
public:
  explicit ThreadGroup(int size) : size_(size), slots_(static_cast<size_t>(size)) {}
  int size() const { return size_; }

  // Every rank waits until all ranks arrived.
  void barrier() {
    std::unique_lock<std::mutex> lock(mu_);
    const unsigned long long gen = generation_;
    if (++arrived_ == size_) {
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    cv_.wait(lock, [&] { return generation_ != gen; });
  }
  // Publishes this rank's buffer for the collective in progress.
  void publish(int rank, const void *p) {
    std::lock_guard<std::mutex> lock(mu_);
    slots_[static_cast<size_t>(rank)] = p;
  }
  const void *slot(int rank) {
    std::lock_guard<std::mutex> lock(mu_);
    return slots_[static_cast<size_t>(rank)];
  }

private:
  int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;
  unsigned long long generation_ = 0;
  std::vector<const void *> slots_;
};

class ThreadComm : public pzrt_comm {
public:
  ThreadComm(ThreadGroup &group, int r) : group_(group) {
    rank = worldRank = r;
    size = worldSize = group.size();
    name = "threads";
  }
  bool isMpi() const override { return false; }

  int allReduce(const void *send, void *recv, size_t count, pzrt_dtype dtype,
                pzrt_reduce_op op) override {
    if (dtype != PZRT_I64 || (op != PZRT_REDUCE_SUM && op != PZRT_REDUCE_MAX))
      return pzrt::fail("ThreadComm: all_reduce supports I64 sum/max only");
    std::vector<int64_t> acc(count);
    group_.publish(rank, send);
    group_.barrier();
    for (int r = 0; r < size; ++r) {
      const int64_t *x = static_cast<const int64_t *>(group_.slot(r));
      for (size_t i = 0; i < count; ++i)
        acc[i] = r == 0 ? x[i] : op == PZRT_REDUCE_SUM ? acc[i] + x[i] : std::max(acc[i], x[i]);
    }
    group_.barrier(); // everyone has read every send buffer (send may be recv)
    std::memcpy(recv, acc.data(), count * sizeof(int64_t));
    return 0;
  }
  int allGather(const void *send, void *recv, size_t sendCount, pzrt_dtype dtype) override {
    const size_t bytes = sendCount * pzrt_dtype_size(dtype);
    group_.publish(rank, send);
    group_.barrier();
    for (int r = 0; r < size; ++r)
      std::memcpy(static_cast<char *>(recv) + static_cast<size_t>(r) * bytes, group_.slot(r),
                  bytes);
    group_.barrier();
    return 0;
  }
  int broadcast(void *buf, size_t count, pzrt_dtype dtype, int root) override {
    const size_t bytes = count * pzrt_dtype_size(dtype);
    std::vector<char> copy(bytes);
    group_.publish(rank, buf);
    group_.barrier();
    std::memcpy(copy.data(), group_.slot(root), bytes);
    group_.barrier(); // the root's buffer is read before anyone writes
    if (rank != root)
      std::memcpy(buf, copy.data(), bytes);
    return 0;
  }
  int barrier() override {
    group_.barrier();
    return 0;
  }
  int reduceScatter(const void *, void *, size_t, pzrt_dtype, pzrt_reduce_op) override {
    return pzrt::fail("ThreadComm: reduce_scatter is not implemented");
  }
  int allToAll(const void *, void *, size_t, pzrt_dtype) override {
    return pzrt::fail("ThreadComm: all_to_all is not implemented");
  }
  int sendRecv(const void *, size_t, int, void *, size_t, int, pzrt_dtype, int) override {
    return pzrt::fail("ThreadComm: send/recv is not implemented");
  }
  pzrt_comm *split(int, int, const std::string &) override {
    pzrt::fail("ThreadComm: split is not implemented");
    return nullptr;
  }

private:
  ThreadGroup &group_;
};

// Runs body(rank, comm) on `size` threads, one per rank, and joins them.
inline void runRanks(int size, const std::function<void(int, pzrt_comm *)> &body) {
  ThreadGroup group(size);
  std::vector<std::unique_ptr<ThreadComm>> comms;
  for (int r = 0; r < size; ++r)
    comms.push_back(std::make_unique<ThreadComm>(group, r));
  std::vector<std::thread> threads;
  for (int r = 0; r < size; ++r)
    threads.emplace_back([&, r] { body(r, comms[static_cast<size_t>(r)].get()); });
  for (auto &t : threads)
    t.join();
}

} // namespace pzrt::test

#endif // PZRT_TEST_THREAD_COMM_H
