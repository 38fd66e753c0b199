// The single-rank communicator: every collective is a copy, no MPI involved.
#include "comm/comm_impl.h"
#include "core/internal.h"

#include <cstring>

namespace {

struct SingleComm final : pzrt_comm {
  bool isMpi() const override { return false; }

  static void copy(const void *src, void *dst, size_t count, pzrt_dtype dtype) {
    if (src != dst && count)
      std::memmove(dst, src, count * pzrt_dtype_size(dtype));
  }
  int allReduce(const void *send, void *recv, size_t count, pzrt_dtype dtype,
                pzrt_reduce_op) override {
    copy(send, recv, count, dtype);
    return 0;
  }
  int allGather(const void *send, void *recv, size_t count, pzrt_dtype dtype) override {
    copy(send, recv, count, dtype);
    return 0;
  }
  int reduceScatter(const void *send, void *recv, size_t count, pzrt_dtype dtype,
                    pzrt_reduce_op) override {
    copy(send, recv, count, dtype);
    return 0;
  }
  int allToAll(const void *send, void *recv, size_t count, pzrt_dtype dtype) override {
    copy(send, recv, count, dtype);
    return 0;
  }
  int broadcast(void *, size_t, pzrt_dtype, int) override { return 0; }
  int sendRecv(const void *, size_t, int, void *, size_t, int, pzrt_dtype, int) override {
    // Unreachable: the peer checks in comm.cpp reject every peer of a size-1 communicator.
    return pzrt::fail("send/recv on single-rank communicator '%s': there is no peer",
                      name.c_str());
  }
  int barrier() override { return 0; }
  pzrt_comm *split(int, int, const std::string &n) override {
    auto *c = new SingleComm();
    c->name = n;
    c->timeoutS = timeoutS;
    return c;
  }
};

} // namespace

namespace pzrt {
pzrt_comm *createSingleComm() {
  auto *c = new SingleComm();
  c->timeoutS = defaultCommTimeout();
  return c;
}
} // namespace pzrt
