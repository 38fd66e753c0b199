// C API of the communicators: argument checks, byte counters, dispatch.
#include "comm/comm_impl.h"
#include "core/internal.h"

#include "pzrt/env.h"

#include <atomic>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

using pzrt::fail;

namespace {

std::atomic<uint64_t> gBytes[PZRT_COLL_KIND_COUNT];
std::atomic<uint64_t> gCalls[PZRT_COLL_KIND_COUNT];

const char *const kKindNames[PZRT_COLL_KIND_COUNT] = {
    "all_reduce", "all_gather", "reduce_scatter", "all_to_all",
    "broadcast",  "send",       "recv",           "barrier"};

// Counters by reason: names in order of first use (a deque keeps the
// names' addresses stable while reasons are added).
struct ReasonCounter {
  std::string name;
  uint64_t bytes[PZRT_COLL_KIND_COUNT] = {};
};
std::mutex gReasonMutex;
std::deque<ReasonCounter> gReasons;

void addCount(pzrt_coll_kind kind, uint64_t bytes) {
  gBytes[kind] += bytes;
  gCalls[kind] += 1;
}

// (n-1)/n * S, integer division.
uint64_t ringShare(uint64_t n, uint64_t s) { return n == 0 ? 0 : (n - 1) * s / n; }

int checkComm(const pzrt_comm *c, const char *op) {
  if (!c)
    return fail("%s: communicator is NULL", op);
  return 0;
}

int checkArgs(const pzrt_comm *c, const char *op, pzrt_dtype dtype, size_t count,
              const void *a, const void *b) {
  if (checkComm(c, op))
    return -1;
  if (!c->supportsDtype(dtype)) {
    std::string names;
    for (int i = 0; i < PZRT_DTYPE_COUNT; ++i) {
      auto d = static_cast<pzrt_dtype>(i);
      if (c->supportsDtype(d))
        names += std::string(names.empty() ? "" : ", ") + pzrt_dtype_name(d);
    }
    return fail("%s on communicator '%s': unsupported dtype %s (use %s)", op, c->name.c_str(),
                pzrt_dtype_name(dtype), names.c_str());
  }
  if (count > static_cast<size_t>(INT_MAX))
    return fail("%s on communicator '%s': count %zu exceeds INT_MAX; split the buffer", op,
                c->name.c_str(), count);
  if (count > 0 && (!a || !b))
    return fail("%s on communicator '%s': NULL buffer with count %zu", op, c->name.c_str(), count);
  return 0;
}

int checkOp(const pzrt_comm *c, const char *op, pzrt_reduce_op r) {
  if (r != PZRT_REDUCE_SUM && r != PZRT_REDUCE_MAX)
    return fail("%s on communicator '%s': unknown reduction %d", op, c->name.c_str(),
                static_cast<int>(r));
  return 0;
}

int checkPeer(const pzrt_comm *c, const char *op, const char *role, int peer, int tag) {
  if (peer < 0 || peer >= c->size)
    return fail("%s on communicator '%s' (rank %d of %d): %s rank %d is out of range", op,
                c->name.c_str(), c->rank, c->size, role, peer);
  if (peer == c->rank)
    return fail("%s on communicator '%s': rank %d cannot exchange messages with itself", op,
                c->name.c_str(), c->rank);
  if (tag < 0 || tag > 32767)
    return fail("%s on communicator '%s': tag %d is outside [0, 32767]", op, c->name.c_str(), tag);
  return 0;
}

bool overlaps(const void *a, size_t alen, const void *b, size_t blen) {
  auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
  return alen && blen && pa < pb + blen && pb < pa + alen;
}

// If send overlaps recv, copies it into `tmp` and returns the copy.
const void *detach(const void *send, size_t sendBytes, const void *recv, size_t recvBytes,
                   std::vector<char> &tmp) {
  if (!overlaps(send, sendBytes, recv, recvBytes))
    return send;
  tmp.assign(static_cast<const char *>(send), static_cast<const char *>(send) + sendBytes);
  return tmp.data();
}

// Device buffers cannot be copied aside on the host: overlapping ones are an
// error, except the in-place form NCCL defines (`inPlace`: the address the
// smaller buffer must have inside the larger one; nullptr when there is none).
int checkDeviceOverlap(const pzrt_comm *c, const char *op, const void *send, size_t sendBytes,
                       const void *recv, size_t recvBytes, const void *inPlace,
                       const void *inPlaceActual) {
  if (!overlaps(send, sendBytes, recv, recvBytes))
    return 0;
  if (inPlace && inPlace == inPlaceActual)
    return 0;
  return fail("%s on device communicator '%s': the send and receive buffers overlap%s", op,
              c->name.c_str(),
              inPlace ? " other than in place (as NCCL defines it)" : "; use separate buffers");
}

} // namespace

namespace pzrt {
std::atomic<pzrt_comm *> gNcclBootstrap{nullptr};
pzrt_comm *ncclBootstrapComm() { return gNcclBootstrap.load(); }
void setNcclBootstrapComm(pzrt_comm *comm) { gNcclBootstrap.store(comm); }
} // namespace pzrt

namespace pzrt {
double defaultCommTimeout() {
  if (const char *v = std::getenv("PZRT_COMM_TIMEOUT")) {
    char *end = nullptr;
    double d = std::strtod(v, &end);
    if (end != v && *end == '\0' && d >= 0)
      return d;
  }
  return 600.0;
}
} // namespace pzrt

extern "C" {

const char *pzrt_coll_kind_name(pzrt_coll_kind kind) {
  if (kind < 0 || kind >= PZRT_COLL_KIND_COUNT)
    return "?";
  return kKindNames[kind];
}

pzrt_comm *pzrt_comm_create_single(void) { return pzrt::createSingleComm(); }
pzrt_comm *pzrt_comm_create_mpi(void) { return pzrt::createMpiComm(); }

pzrt_comm *pzrt_comm_create_auto(void) {
  pzrt_env env;
  if (pzrt_env_discover(&env))
    return nullptr;
  if (std::strcmp(env.source, "none") == 0)
    return pzrt::createSingleComm();
  // MPI under an MPI launcher (Open MPI, PMI, Slurm), TCP under torchrun's
  // variables alone; PZRT_HOST_COMM=mpi|tcp chooses.
  const char *want = std::getenv("PZRT_HOST_COMM");
  if (want && *want && std::strcmp(want, "mpi") != 0 && std::strcmp(want, "tcp") != 0) {
    pzrt::fail("PZRT_HOST_COMM='%s': use mpi or tcp (unset: tcp under torchrun's variables, "
               "mpi otherwise)",
               want);
    return nullptr;
  }
  bool tcp = want && *want ? std::strcmp(want, "tcp") == 0 : std::strcmp(env.source, "torchrun") == 0;
  return tcp ? pzrt::createTcpComm() : pzrt::createMpiComm();
}

pzrt_comm *pzrt_comm_split(pzrt_comm *comm, int color, int key, const char *name) {
  if (checkComm(comm, "split"))
    return nullptr;
  if (color < 0) {
    fail("split of communicator '%s': color %d must be >= 0", comm->name.c_str(), color);
    return nullptr;
  }
  std::string n = name ? name : comm->name + ".split";
  pzrt_comm *c = comm->split(color, key, n);
  if (c)
    c->timeoutS = comm->timeoutS;
  return c;
}

void pzrt_comm_destroy(pzrt_comm *comm) {
  pzrt_comm *boot = comm;
  pzrt::gNcclBootstrap.compare_exchange_strong(boot, nullptr); // no dangling bootstrap
  delete comm;
}
void pzrt_comm_finalize(void) { pzrt::finalizeMpi(); }

int pzrt_comm_rank(const pzrt_comm *comm) { return comm ? comm->rank : -1; }
int pzrt_comm_size(const pzrt_comm *comm) { return comm ? comm->size : 0; }
int pzrt_comm_world_rank(const pzrt_comm *comm) { return comm ? comm->worldRank : -1; }
const char *pzrt_comm_name(const pzrt_comm *comm) { return comm ? comm->name.c_str() : ""; }
int pzrt_comm_is_mpi(const pzrt_comm *comm) { return comm && comm->isMpi() ? 1 : 0; }
int pzrt_comm::enqueueOn(void *stream) {
  if (!stream)
    return 0;
  return fail("communicator '%s' moves host buffers: it cannot enqueue on a device stream",
              name.c_str());
}

void pzrt_comm_set_timeout(pzrt_comm *comm, double seconds) {
  if (comm)
    comm->timeoutS = seconds > 0 ? seconds : 0;
}
double pzrt_comm_timeout(const pzrt_comm *comm) { return comm ? comm->timeoutS : 0; }

int pzrt_all_reduce(pzrt_comm *comm, const void *send_buf, void *recv_buf, size_t count,
                    pzrt_dtype dtype, pzrt_reduce_op op) {
  if (checkArgs(comm, "all_reduce", dtype, count, send_buf, recv_buf) ||
      checkOp(comm, "all_reduce", op))
    return -1;
  size_t bytes = count * pzrt_dtype_size(dtype);
  std::vector<char> tmp;
  const void *src = send_buf;
  if (send_buf != recv_buf) {
    if (comm->deviceBuffers()) {
      if (checkDeviceOverlap(comm, "all_reduce", send_buf, bytes, recv_buf, bytes, nullptr,
                             nullptr))
        return -1;
    } else {
      src = detach(send_buf, bytes, recv_buf, bytes, tmp);
    }
  }
  if (comm->allReduce(src, recv_buf, count, dtype, op))
    return -1;
  uint64_t n = static_cast<uint64_t>(comm->size);
  addCount(PZRT_COLL_ALL_REDUCE, 2 * (n - 1) * bytes / n);
  return 0;
}

int pzrt_all_gather(pzrt_comm *comm, const void *send_buf, void *recv_buf, size_t send_count,
                    pzrt_dtype dtype) {
  if (checkArgs(comm, "all_gather", dtype, send_count, send_buf, recv_buf))
    return -1;
  size_t bytes = send_count * pzrt_dtype_size(dtype);
  size_t total = bytes * static_cast<size_t>(comm->size);
  std::vector<char> tmp;
  const void *src = send_buf;
  if (comm->deviceBuffers()) {
    // In place: this rank's block of recv_buf is send_buf.
    if (checkDeviceOverlap(comm, "all_gather", send_buf, bytes, recv_buf, total,
                           static_cast<char *>(recv_buf) + comm->rank * bytes, send_buf))
      return -1;
  } else {
    src = detach(send_buf, bytes, recv_buf, total, tmp);
  }
  if (comm->allGather(src, recv_buf, send_count, dtype))
    return -1;
  addCount(PZRT_COLL_ALL_GATHER, ringShare(static_cast<uint64_t>(comm->size), total));
  return 0;
}

int pzrt_reduce_scatter(pzrt_comm *comm, const void *send_buf, void *recv_buf, size_t recv_count,
                        pzrt_dtype dtype, pzrt_reduce_op op) {
  if (checkArgs(comm, "reduce_scatter", dtype, recv_count, send_buf, recv_buf) ||
      checkOp(comm, "reduce_scatter", op))
    return -1;
  size_t bytes = recv_count * pzrt_dtype_size(dtype);
  size_t total = bytes * static_cast<size_t>(comm->size);
  std::vector<char> tmp;
  const void *src = send_buf;
  if (comm->deviceBuffers()) {
    // In place: recv_buf is this rank's block of send_buf.
    if (checkDeviceOverlap(comm, "reduce_scatter", send_buf, total, recv_buf, bytes,
                           static_cast<const char *>(send_buf) + comm->rank * bytes, recv_buf))
      return -1;
  } else {
    src = detach(send_buf, total, recv_buf, bytes, tmp);
  }
  if (comm->reduceScatter(src, recv_buf, recv_count, dtype, op))
    return -1;
  addCount(PZRT_COLL_REDUCE_SCATTER, ringShare(static_cast<uint64_t>(comm->size), total));
  return 0;
}

int pzrt_all_to_all(pzrt_comm *comm, const void *send_buf, void *recv_buf, size_t count_,
                    pzrt_dtype dtype) {
  if (checkArgs(comm, "all_to_all", dtype, count_, send_buf, recv_buf))
    return -1;
  size_t total = count_ * pzrt_dtype_size(dtype) * static_cast<size_t>(comm->size);
  std::vector<char> tmp;
  const void *src = send_buf;
  if (comm->deviceBuffers()) {
    if (checkDeviceOverlap(comm, "all_to_all", send_buf, total, recv_buf, total, nullptr,
                           nullptr))
      return -1;
  } else {
    src = detach(send_buf, total, recv_buf, total, tmp);
  }
  if (comm->allToAll(src, recv_buf, count_, dtype))
    return -1;
  addCount(PZRT_COLL_ALL_TO_ALL, ringShare(static_cast<uint64_t>(comm->size), total));
  return 0;
}

int pzrt_broadcast(pzrt_comm *comm, void *buf, size_t count_, pzrt_dtype dtype, int root) {
  if (checkArgs(comm, "broadcast", dtype, count_, buf, buf))
    return -1;
  if (root < 0 || root >= comm->size)
    return fail("broadcast on communicator '%s': root %d is out of range [0, %d)",
                comm->name.c_str(), root, comm->size);
  if (comm->broadcast(buf, count_, dtype, root))
    return -1;
  addCount(PZRT_COLL_BROADCAST,
        ringShare(static_cast<uint64_t>(comm->size), count_ * pzrt_dtype_size(dtype)));
  return 0;
}

int pzrt_sendrecv(pzrt_comm *comm, const void *send_buf, size_t send_count, int dst,
                  void *recv_buf, size_t recv_count, int src, pzrt_dtype dtype, int tag) {
  if (checkArgs(comm, "sendrecv", dtype, send_count, send_buf, send_buf) ||
      checkArgs(comm, "sendrecv", dtype, recv_count, recv_buf, recv_buf))
    return -1;
  if ((send_count && checkPeer(comm, "send", "destination", dst, tag)) ||
      (recv_count && checkPeer(comm, "recv", "source", src, tag)))
    return -1;
  size_t sbytes = send_count * pzrt_dtype_size(dtype);
  size_t rbytes = recv_count * pzrt_dtype_size(dtype);
  if (overlaps(send_buf, sbytes, recv_buf, rbytes))
    return fail("sendrecv on communicator '%s': send and receive buffers overlap",
                comm->name.c_str());
  if (comm->sendRecv(send_buf, send_count, dst, recv_buf, recv_count, src, dtype, tag))
    return -1;
  if (send_count)
    addCount(PZRT_COLL_SEND, sbytes);
  if (recv_count)
    addCount(PZRT_COLL_RECV, 0);
  return 0;
}

int pzrt_send(pzrt_comm *comm, const void *buf, size_t count_, pzrt_dtype dtype, int dst,
              int tag) {
  if (checkArgs(comm, "send", dtype, count_, buf, buf) ||
      checkPeer(comm, "send", "destination", dst, tag))
    return -1;
  if (comm->sendRecv(buf, count_, dst, nullptr, 0, -1, dtype, tag))
    return -1;
  addCount(PZRT_COLL_SEND, count_ * pzrt_dtype_size(dtype));
  return 0;
}

int pzrt_recv(pzrt_comm *comm, void *buf, size_t count_, pzrt_dtype dtype, int src, int tag) {
  if (checkArgs(comm, "recv", dtype, count_, buf, buf) ||
      checkPeer(comm, "recv", "source", src, tag))
    return -1;
  if (comm->sendRecv(nullptr, 0, -1, buf, count_, src, dtype, tag))
    return -1;
  addCount(PZRT_COLL_RECV, 0);
  return 0;
}

int pzrt_isend(pzrt_comm *comm, const void *buf, size_t count_, pzrt_dtype dtype, int dst,
               int tag, pzrt_send_request **request) {
  if (!request)
    return fail("isend: no request to return");
  *request = nullptr;
  if (checkArgs(comm, "send", dtype, count_, buf, buf) ||
      checkPeer(comm, "send", "destination", dst, tag))
    return -1;
  void *handle = nullptr;
  // Nothing to send sends nothing, as pzrt_send and pzrt_recv of 0 do (no
  // empty message for a later receive to take).
  if (count_ > 0 && comm->isend(buf, count_, dst, dtype, tag, &handle))
    return -1;
  addCount(PZRT_COLL_SEND, count_ * pzrt_dtype_size(dtype));
  if (count_ == 0)
    return 0;
  *request = new pzrt_send_request{comm, handle};
  return 0;
}

int pzrt_send_wait(pzrt_send_request *request) {
  if (!request)
    return 0;
  int rc = request->comm->waitSend(request->handle);
  delete request;
  return rc;
}

int pzrt_barrier(pzrt_comm *comm) {
  if (checkComm(comm, "barrier") || comm->barrier())
    return -1;
  addCount(PZRT_COLL_BARRIER, 0);
  return 0;
}

int pzrt_comm_barrier_cb(void *comm) { return pzrt_barrier(static_cast<pzrt_comm *>(comm)); }

uint64_t pzrt_comm_bytes(pzrt_coll_kind kind) {
  return kind >= 0 && kind < PZRT_COLL_KIND_COUNT ? gBytes[kind].load() : 0;
}
uint64_t pzrt_comm_calls(pzrt_coll_kind kind) {
  return kind >= 0 && kind < PZRT_COLL_KIND_COUNT ? gCalls[kind].load() : 0;
}
uint64_t pzrt_comm_bytes_total(void) {
  uint64_t s = 0;
  for (auto &b : gBytes)
    s += b.load();
  return s;
}
void pzrt_comm_reset_counters(void) {
  for (int i = 0; i < PZRT_COLL_KIND_COUNT; ++i) {
    gBytes[i] = 0;
    gCalls[i] = 0;
  }
  std::lock_guard<std::mutex> lock(gReasonMutex);
  gReasons.clear();
}

int pzrt_comm_count_reason(const char *reason, pzrt_coll_kind kind, uint64_t bytes) {
  if (!reason || !*reason)
    return fail("pzrt_comm_count_reason: the reason is NULL or empty");
  if (kind < 0 || kind >= PZRT_COLL_KIND_COUNT)
    return fail("pzrt_comm_count_reason: unknown collective kind %d", static_cast<int>(kind));
  std::lock_guard<std::mutex> lock(gReasonMutex);
  for (ReasonCounter &r : gReasons)
    if (r.name == reason) {
      r.bytes[kind] += bytes;
      return 0;
    }
  gReasons.emplace_back();
  gReasons.back().name = reason;
  gReasons.back().bytes[kind] = bytes;
  return 0;
}

int pzrt_comm_reason_count(void) {
  std::lock_guard<std::mutex> lock(gReasonMutex);
  return static_cast<int>(gReasons.size());
}

const char *pzrt_comm_reason_name(int i) {
  std::lock_guard<std::mutex> lock(gReasonMutex);
  return i >= 0 && static_cast<size_t>(i) < gReasons.size() ? gReasons[i].name.c_str() : nullptr;
}

uint64_t pzrt_comm_reason_bytes(int i, pzrt_coll_kind kind) {
  std::lock_guard<std::mutex> lock(gReasonMutex);
  if (i < 0 || static_cast<size_t>(i) >= gReasons.size() || kind < 0 ||
      kind >= PZRT_COLL_KIND_COUNT)
    return 0;
  return gReasons[i].bytes[kind];
}

} // extern "C"

namespace pzrt {
void addCommCount(pzrt_coll_kind kind, uint64_t bytes, uint64_t calls) {
  if (kind < 0 || kind >= PZRT_COLL_KIND_COUNT)
    return;
  gBytes[kind] += bytes;
  gCalls[kind] += calls;
}
} // namespace pzrt
