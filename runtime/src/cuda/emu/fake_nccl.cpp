// A fake NCCL for the CUDA host emulator that really moves data between the
// ranks of a job, so that comm_nccl.cpp (and compiled programs that use
// NCCL) run end to end without a GPU (docs/design/0019-cuda-emulation.md).
//
// - A communicator is a host communicator of its own: a split of the one
//   comm_nccl.cpp bootstraps over (pzrt::ncclBootstrapComm(): MPI under
//   mpirun, TCP under torchrun's variables, docs/design/0021), or of its
//   parent's, so traffic of two communicators never matches. The fake calls
//   the host communicator's methods directly: its traffic is not counted
//   again (comm.cpp counts the NCCL calls). Communicators are complete at
//   once (the non-blocking config is ignored).
// - Every data operation is one pz_emu::enqueue op: it runs now, in stream
//   order, or is recorded into the graph its stream captures and runs at
//   each cudaGraphLaunch. The op copies device buffers into host memory,
//   calls the host communicator on the copies and writes the results back,
//   so in-place forms (send == recv, NCCL's in-place all_gather and
//   reduce_scatter) work and the host communicator never touches emulated
//   device pages.
// - Reductions give the same bits on every rank: every rank gets every
//   rank's contribution and folds them in rank order 0, 1, ..., n-1. 16-bit
//   floats are widened to fp32 for each addition and rounded back to nearest
//   even after it (NCCL also rounds once per step; its order differs).
//   Integer sums wrap. all_reduce moves n times the buffer (no ring): a test
//   fake, not a fast one.
// - ncclSend/ncclRecv between ncclGroupStart and ncclGroupEnd are buffered
//   (per thread, as NCCL's groups) and run as one op: every send posted
//   first, then every receive; the op waits for its receives, and its sends
//   stay in flight (staged)
//   until the receiver takes them, as a GPU's send waits on its stream and
//   not on the host. So neighbours exchanging, or sending to each other on
//   two communicators, cannot deadlock; messages between two ranks match in
//   posting order, as in NCCL. Collectives
//   inside a group are issued at once.
// - A wait longer than the communicator timeout (PZRT_COMM_TIMEOUT, 600 s
//   by default) ends the job with exit code 124, through the host
//   communicator's own deadline: the op runs synchronously, so
//   comm_nccl.cpp's deadline could not fire while a peer is missing.
#include "comm/comm_impl.h"
#include "core/internal.h"
#include "cuda/emu/emu.h"
#include "cuda/emu/fake_nccl_fold.h"

#include "pzrt/error.h"
#include "pzrt/types.h"

#include <nccl.h>

#include <algorithm>
#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <unistd.h>
#include <vector>

struct ncclComm {
  pzrt_comm *host = nullptr; // a split of the bootstrap communicator
  int rank = 0;
  int size = 1;
};

namespace {

using pz_emu::fake_nccl::fold;

thread_local std::string tLastError;

ncclResult_t fail(ncclResult_t rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
ncclResult_t fail(ncclResult_t rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char buf[512];
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  tLastError = std::string("fake NCCL: ") + buf;
  return rc;
}

size_t typeSize(ncclDataType_t t) {
  // int8, uint8, int32, uint32, int64, uint64, f16, f32, f64, bf16, 2 x fp8
  static const size_t kBytes[ncclNumTypes] = {1, 1, 4, 4, 8, 8, 2, 4, 8, 2, 1, 1};
  return t >= 0 && t < ncclNumTypes ? kBytes[t] : 0;
}

// Checks what every data call shares (buffers a and b must not be NULL
// unless there is nothing to move); *bytes: count's size.
ncclResult_t checkCall(const char *fn, ncclComm_t comm, size_t count, ncclDataType_t t,
                       const void *a, const void *b, size_t *bytes) {
  if (!comm || !comm->host)
    return fail(ncclInvalidArgument, "%s: invalid communicator", fn);
  size_t es = typeSize(t);
  if (!es)
    return fail(ncclInvalidArgument, "%s: invalid data type %d", fn, static_cast<int>(t));
  if (count > static_cast<size_t>(INT_MAX) / es / static_cast<size_t>(comm->size))
    return fail(ncclInvalidArgument,
                "%s: %zu elements of %zu bytes on %d ranks exceed what the fake moves in one "
                "host call (2 GiB)",
                fn, count, es, comm->size);
  *bytes = count * es;
  if (*bytes && (!a || !b))
    return fail(ncclInvalidArgument, "%s: NULL buffer", fn);
  return ncclSuccess;
}

// A failed host call ends the job: the op runs inside a stream, with no
// caller to return an error to (timeouts end it inside the call).
void check(ncclComm_t comm, int rc, const char *what) {
  if (rc != 0) {
    std::string why = pzrt_last_error();
    pzrt::fatal(1, "fake NCCL: rank %d (of %d): %s failed: %s", comm->rank, comm->size, what,
                why.c_str());
  }
}

// A host copy of `bytes` bytes at p (device memory inside an op).
std::vector<char> stage(const void *p, size_t bytes) {
  return std::vector<char>(static_cast<const char *>(p), static_cast<const char *>(p) + bytes);
}

// Every rank's `bytes` bytes at `send`, in rank order.
std::vector<char> gatherAll(ncclComm_t comm, const void *send, size_t bytes, const char *what) {
  std::vector<char> mine = stage(send, bytes), all(bytes * comm->size);
  if (bytes)
    check(comm, comm->host->allGather(mine.data(), all.data(), bytes, PZRT_U8), what);
  return all;
}

ncclResult_t enqueue(const char *fn, cudaStream_t stream, std::function<void()> op) {
  if (pz_emu::enqueue(stream, std::move(op)) != cudaSuccess)
    return fail(ncclUnhandledCudaError, "%s: the stream refused the operation", fn);
  return ncclSuccess;
}

// all_reduce (scatter false) and reduce_scatter (true): each rank gets
// every rank's copy of what it must reduce (the buffer, or its own block of
// every rank's buffer) and folds them in rank order 0, 1, ..., n-1, so
// every rank's bits agree, and reduce_scatter's block r has the bits of
// block r of an all_reduce.
ncclResult_t reduce(const char *fn, bool scatter, const void *send, void *recv, size_t count,
                    ncclDataType_t t, ncclRedOp_t op, ncclComm_t comm, cudaStream_t stream) {
  size_t bytes = 0;
  if (ncclResult_t rc = checkCall(fn, comm, count, t, send, recv, &bytes))
    return rc;
  if (op != ncclSum && op != ncclProd && op != ncclMax && op != ncclMin)
    return fail(ncclInvalidArgument, "%s: reduction %d is not supported (sum, prod, max, min)", fn,
                static_cast<int>(op));
  if (t == ncclFloat8e4m3 || t == ncclFloat8e5m2)
    return fail(ncclInvalidArgument, "%s: fp8 reductions are not supported", fn);
  return enqueue(fn, stream, [=] {
    std::vector<char> all;
    if (!scatter) {
      all = gatherAll(comm, send, bytes, fn);
    } else {
      std::vector<char> mine = stage(send, bytes * comm->size);
      all.resize(mine.size());
      if (bytes)
        check(comm, comm->host->allToAll(mine.data(), all.data(), bytes, PZRT_U8), fn);
    }
    for (int r = 1; r < comm->size; ++r)
      fold(all.data(), all.data() + r * bytes, count, t, op);
    std::memcpy(recv, all.data(), bytes);
  });
}

// A send or receive buffered by a group.
struct P2p {
  bool send;
  void *buf;
  size_t bytes;
  int peer;
  ncclComm_t comm;
  cudaStream_t stream;
};

thread_local int tGroupDepth = 0;
thread_local std::vector<P2p> tGroup;

// Sends in flight. A GPU's send waits on its stream for the receiver while
// the host goes on (it may post its own sends and receives first), so here
// a send's bytes are staged when its op runs and the host send completes
// later: tested by every later point-to-point op, waited for by the
// communicator's finalize.
struct InFlight {
  ncclComm_t comm;
  std::vector<char> data;
  void *handle = nullptr; // the host communicator's posted send
};
std::mutex gInFlightMutex;
std::vector<std::unique_ptr<InFlight>> gInFlight;

// Forgets the completed sends; `comm` non-NULL: waits for its sends first.
// The lock is never held across a host call: one may end the job, whose
// fatal hook aborts the communicators (ncclCommAbort takes the lock).
void drainSends(ncclComm_t comm) {
  std::vector<std::unique_ptr<InFlight>> mine, keep;
  {
    std::lock_guard<std::mutex> lock(gInFlightMutex);
    mine.swap(gInFlight);
  }
  for (auto &f : mine) {
    bool done = false;
    if (comm && f->comm == comm) {
      check(f->comm, f->comm->host->waitSend(f->handle), "ncclSend");
      continue;
    }
    check(f->comm, f->comm->host->testSend(f->handle, &done), "ncclSend");
    if (done)
      check(f->comm, f->comm->host->waitSend(f->handle), "ncclSend"); // frees it
    else
      keep.push_back(std::move(f));
  }
  std::lock_guard<std::mutex> lock(gInFlightMutex);
  for (auto &f : gInFlight) // posted meanwhile
    keep.push_back(std::move(f));
  gInFlight.swap(keep);
}

// Posts every send (left in flight), then takes every receive, then writes
// what arrived. (Every rank posts its sends before it waits for a receive,
// and a wait moves the sends in flight: no deadlock.)
void runP2p(const std::vector<P2p> &ops) {
  std::vector<std::vector<char>> host(ops.size());
  for (const P2p &o : ops) {
    if (!o.send)
      continue;
    auto f = std::make_unique<InFlight>();
    f->comm = o.comm;
    f->data = stage(o.buf, o.bytes);
    check(o.comm, o.comm->host->isend(f->data.data(), o.bytes, o.peer, PZRT_U8, 0, &f->handle),
          "ncclSend");
    std::lock_guard<std::mutex> lock(gInFlightMutex);
    gInFlight.push_back(std::move(f));
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    const P2p &o = ops[i];
    if (o.send)
      continue;
    host[i].resize(o.bytes);
    // A message of another length is an error naming both (fatal here).
    check(o.comm,
          o.comm->host->sendRecv(nullptr, 0, -1, host[i].data(), o.bytes, o.peer, PZRT_U8, 0),
          "ncclRecv");
  }
  drainSends(nullptr);
  for (size_t i = 0; i < ops.size(); ++i)
    if (!ops[i].send)
      std::memcpy(ops[i].buf, host[i].data(), ops[i].bytes);
}

ncclResult_t issueP2p(std::vector<P2p> ops) {
  if (ops.empty())
    return ncclSuccess;
  cudaStream_t stream = ops[0].stream;
  for (const P2p &o : ops) {
    cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
    if (o.stream != stream &&
        (cudaStreamIsCapturing(o.stream, &st) != cudaSuccess || st != cudaStreamCaptureStatusNone ||
         cudaStreamIsCapturing(stream, &st) != cudaSuccess || st != cudaStreamCaptureStatusNone))
      return fail(ncclInvalidUsage, "ncclGroupEnd: a group on several streams, one of them "
                                    "capturing a graph, is not supported");
  }
  auto shared = std::make_shared<std::vector<P2p>>(std::move(ops));
  if (pz_emu::enqueue(stream, [shared] { runP2p(*shared); }) != cudaSuccess)
    return fail(ncclUnhandledCudaError, "ncclGroupEnd: the stream refused the operation");
  return ncclSuccess;
}

ncclResult_t p2p(const char *fn, bool send, void *buf, size_t count, ncclDataType_t t, int peer,
                 ncclComm_t comm, cudaStream_t stream) {
  size_t bytes = 0;
  if (ncclResult_t rc = checkCall(fn, comm, count, t, buf, buf, &bytes))
    return rc;
  if (peer < 0 || peer >= comm->size)
    return fail(ncclInvalidArgument, "%s: peer %d is not a rank of a communicator of %d", fn, peer,
                comm->size);
  if (!bytes)
    return ncclSuccess;
  P2p op{send, buf, bytes, peer, comm, stream};
  if (tGroupDepth > 0) {
    tGroup.push_back(op);
    return ncclSuccess;
  }
  return issueP2p({op});
}

} // namespace

extern "C" {

ncclResult_t ncclGetVersion(int *version) {
  if (!version)
    return fail(ncclInvalidArgument, "ncclGetVersion: NULL version");
  *version = NCCL_VERSION_CODE;
  return ncclSuccess;
}

// Unique per job in practice (pid, time, a counter); ncclCommInitRankConfig
// checks that every rank got rank 0's.
ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
  if (!id)
    return fail(ncclInvalidArgument, "ncclGetUniqueId: NULL id");
  static unsigned counter = 0;
  std::memset(id, 0, sizeof(*id));
  std::snprintf(id->internal, sizeof(id->internal), "pz-fake-nccl %ld %ld %u",
                static_cast<long>(getpid()), static_cast<long>(std::time(nullptr)), ++counter);
  return ncclSuccess;
}

ncclResult_t ncclCommInitRankConfig(ncclComm_t *comm, int nranks, ncclUniqueId commId, int rank,
                                    ncclConfig_t *) {
  if (!comm)
    return fail(ncclInvalidArgument, "ncclCommInitRankConfig: NULL comm");
  *comm = nullptr;
  pzrt_comm *boot = pzrt::ncclBootstrapComm();
  if (!boot)
    return fail(ncclInvalidUsage, "ncclCommInitRankConfig: the fake NCCL needs the host "
                                  "communicator comm_nccl.cpp bootstraps over "
                                  "(createNcclComm(device, control))");
  if (nranks != boot->size || rank != boot->rank)
    return fail(ncclInvalidUsage,
                "ncclCommInitRankConfig: rank %d of %d asked for, but the fake NCCL makes only "
                "its bootstrap communicator's world (rank %d of %d)",
                rank, nranks, boot->rank, boot->size);
  auto c = std::make_unique<ncclComm>();
  c->host = boot->split(0, rank, "fake NCCL world");
  if (!c->host)
    return fail(ncclSystemError, "ncclCommInitRankConfig: splitting the host communicator: %s",
                pzrt_last_error());
  c->host->timeoutS = pzrt::defaultCommTimeout();
  c->rank = rank;
  c->size = nranks;
  // Every rank must hold rank 0's id, as NCCL's bootstrap requires.
  std::vector<char> ids = gatherAll(c.get(), &commId, sizeof(commId), "ncclCommInitRankConfig");
  for (int r = 1; r < nranks; ++r)
    if (std::memcmp(ids.data(), ids.data() + r * sizeof(commId), sizeof(commId)) != 0) {
      delete c->host;
      return fail(ncclInvalidUsage,
                  "ncclCommInitRankConfig: rank %d holds another unique id "
                  "than rank 0",
                  r);
    }
  *comm = c.release();
  return ncclSuccess;
}

ncclResult_t ncclCommSplit(ncclComm_t comm, int color, int key, ncclComm_t *newcomm,
                           ncclConfig_t *) {
  if (!comm || !comm->host || !newcomm)
    return fail(ncclInvalidArgument, "ncclCommSplit: invalid communicator or NULL newcomm");
  if (color < 0 && color != NCCL_SPLIT_NOCOLOR)
    return fail(ncclInvalidArgument, "ncclCommSplit: invalid color %d", color);
  *newcomm = nullptr;
  // The host split has no "no color": those ranks get a communicator of
  // their own color (INT_MAX, which real colors may not use here), dropped
  // at once.
  const bool none = color == NCCL_SPLIT_NOCOLOR;
  if (color == INT_MAX)
    return fail(ncclInvalidArgument, "ncclCommSplit: color INT_MAX is reserved by the fake NCCL");
  pzrt_comm *sub = comm->host->split(none ? INT_MAX : color, key, "fake NCCL split");
  if (!sub)
    return fail(ncclSystemError, "ncclCommSplit: splitting the host communicator: %s",
                pzrt_last_error());
  if (none) {
    delete sub;
    return ncclSuccess;
  }
  sub->timeoutS = comm->host->timeoutS;
  auto *c = new ncclComm();
  c->host = sub;
  c->rank = sub->rank;
  c->size = sub->size;
  *newcomm = c;
  return ncclSuccess;
}

ncclResult_t ncclCommFinalize(ncclComm_t comm) {
  if (!comm)
    return fail(ncclInvalidArgument, "ncclCommFinalize: NULL communicator");
  if (comm->host) {
    drainSends(comm); // its sends in flight end before it does
    delete comm->host;
  }
  comm->host = nullptr;
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (!comm)
    return ncclSuccess;
  ncclCommFinalize(comm);
  delete comm;
  return ncclSuccess;
}

// An abort (the fatal path) does not wait for the sends in flight, whose
// receiver may be gone: they are set aside, their bytes kept (the host
// communicator may still read them) and never waited for; so is the host
// communicator they were posted on.
ncclResult_t ncclCommAbort(ncclComm_t comm) {
  if (!comm)
    return ncclSuccess;
  {
    std::lock_guard<std::mutex> lock(gInFlightMutex);
    static std::vector<std::unique_ptr<InFlight>> abandoned;
    for (auto &f : gInFlight)
      if (f && f->comm == comm)
        abandoned.push_back(std::move(f));
    gInFlight.erase(std::remove(gInFlight.begin(), gInFlight.end(), nullptr), gInFlight.end());
  }
  delete comm;
  return ncclSuccess;
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t *asyncError) {
  if (!comm || !asyncError)
    return fail(ncclInvalidArgument, "ncclCommGetAsyncError: NULL argument");
  *asyncError = ncclSuccess;
  return ncclSuccess;
}

const char *ncclGetErrorString(ncclResult_t result) {
  static const char *const kText[ncclNumResults] = {
      "no error",
      "unhandled cuda error",
      "unhandled system error",
      "internal error",
      "invalid argument",
      "invalid usage",
      "remote process exited or there was a network error",
      "NCCL operation in progress"};
  return result >= 0 && result < ncclNumResults ? kText[result] : "unknown result code";
}

const char *ncclGetLastError(ncclComm_t) { return tLastError.c_str(); }

ncclResult_t ncclCommUserRank(const ncclComm_t comm, int *rank) {
  if (!comm || !rank)
    return fail(ncclInvalidArgument, "ncclCommUserRank: NULL argument");
  *rank = comm->rank;
  return ncclSuccess;
}

ncclResult_t ncclCommCount(const ncclComm_t comm, int *count) {
  if (!comm || !count)
    return fail(ncclInvalidArgument, "ncclCommCount: NULL argument");
  *count = comm->size;
  return ncclSuccess;
}

ncclResult_t ncclAllReduce(const void *sendbuff, void *recvbuff, size_t count,
                           ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                           cudaStream_t stream) {
  return reduce("ncclAllReduce", false, sendbuff, recvbuff, count, datatype, op, comm, stream);
}

ncclResult_t ncclReduceScatter(const void *sendbuff, void *recvbuff, size_t recvcount,
                               ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                               cudaStream_t stream) {
  return reduce("ncclReduceScatter", true, sendbuff, recvbuff, recvcount, datatype, op, comm,
                stream);
}

ncclResult_t ncclAllGather(const void *sendbuff, void *recvbuff, size_t sendcount,
                           ncclDataType_t datatype, ncclComm_t comm, cudaStream_t stream) {
  size_t bytes = 0;
  if (ncclResult_t rc =
          checkCall("ncclAllGather", comm, sendcount, datatype, sendbuff, recvbuff, &bytes))
    return rc;
  return enqueue("ncclAllGather", stream, [=] {
    std::vector<char> all = gatherAll(comm, sendbuff, bytes, "ncclAllGather");
    std::memcpy(recvbuff, all.data(), all.size());
  });
}

ncclResult_t ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count,
                           ncclDataType_t datatype, int root, ncclComm_t comm,
                           cudaStream_t stream) {
  size_t bytes = 0;
  const void *mine = comm && comm->rank == root ? sendbuff : recvbuff; // read on the root only
  if (ncclResult_t rc = checkCall("ncclBroadcast", comm, count, datatype, mine, recvbuff, &bytes))
    return rc;
  if (root < 0 || root >= comm->size)
    return fail(ncclInvalidArgument, "ncclBroadcast: root %d is not a rank of a communicator of %d",
                root, comm->size);
  return enqueue("ncclBroadcast", stream, [=] {
    std::vector<char> buf = comm->rank == root ? stage(sendbuff, bytes) : std::vector<char>(bytes);
    if (bytes)
      check(comm, comm->host->broadcast(buf.data(), bytes, PZRT_U8, root), "ncclBroadcast");
    std::memcpy(recvbuff, buf.data(), bytes);
  });
}

ncclResult_t ncclSend(const void *sendbuff, size_t count, ncclDataType_t datatype, int peer,
                      ncclComm_t comm, cudaStream_t stream) {
  return p2p("ncclSend", true, const_cast<void *>(sendbuff), count, datatype, peer, comm, stream);
}

ncclResult_t ncclRecv(void *recvbuff, size_t count, ncclDataType_t datatype, int peer,
                      ncclComm_t comm, cudaStream_t stream) {
  return p2p("ncclRecv", false, recvbuff, count, datatype, peer, comm, stream);
}

ncclResult_t ncclGroupStart() {
  ++tGroupDepth;
  return ncclSuccess;
}

ncclResult_t ncclGroupEnd() {
  if (tGroupDepth == 0)
    return fail(ncclInvalidUsage, "ncclGroupEnd: no group was started");
  if (--tGroupDepth > 0)
    return ncclSuccess;
  std::vector<P2p> ops;
  ops.swap(tGroup);
  return issueP2p(std::move(ops));
}

} // extern "C"
