// NCCL communicator: collectives on CUDA device buffers.
//
// Every communicator is non-blocking (ncclConfig_t.blocking = 0): NCCL calls
// return at once, and this file polls ncclCommGetAsyncError and an event on
// the communicator's stream against the deadline, as comm_mpi.cpp polls its
// MPI requests. So a peer that died or never calls the collective ends the
// job with a message naming the collective, the communicator and the rank
// (exit 124 on a timeout, 1 on a NCCL or CUDA error) instead of hanging it;
// before the process ends, the fatal hook aborts every live NCCL
// communicator (ncclCommAbort), which frees the GPUs' pending work.
//
// By default the operations are synchronous, like the interface's other
// implementations: each returns once its result is in the receive buffer.
// The communicator's stream is a blocking stream, so work the caller queued
// on the legacy default stream is ordered before the collective; work on
// other streams must be synchronized by the caller first.
//
// Compiled programs enqueue instead (enqueueOn: cpu/device_transfer.cpp):
// an operation is issued on the caller's communication stream and returns.
// Its failure or hang then shows when the host next waits for the device,
// whose waits poll every such communicator (watchAll, core/wait_watch.h)
// and end the process naming the last operation issued on it.
#include "comm/comm_impl.h"
#include "comm/rendezvous.h"
#include "core/internal.h"
#include "core/wait_watch.h"

#include "pzrt/env.h"
#include "pzrt/error.h"

#include <cuda_runtime_api.h>
#include "comm/mpi_api.h"
#include "comm/nccl_api.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <sched.h>
#include <string>
#include <vector>

using pzrt::fail;

namespace {

using Clock = std::chrono::steady_clock;

// NCCL's functions (nccl_api.h), loaded by createNcclComm before any call.
const pzrt::nccl::Table &nc() { return pzrt::nccl::api(); }

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Sleeps between polls once a wait is long, so that a rank waiting for a
// slow peer leaves the CPU to others (a collective of the GPU takes
// microseconds to milliseconds: the first polls spin).
void pause(long spins) {
  if (spins < 2000) {
    sched_yield();
  } else {
    timespec ts{0, 20000};
    nanosleep(&ts, nullptr);
  }
}

// Every live NCCL communicator, so that a fatal error anywhere (a NCCL
// timeout, an MPI error, a failed checkpoint) aborts them all before the
// process ends: ncclCommAbort stops their kernels, which the peers' NCCL
// then sees as a remote error instead of waiting forever.
std::mutex gLiveMutex;
std::vector<ncclComm_t> gLive;

void abortAllNccl() {
  std::vector<ncclComm_t> live;
  {
    std::lock_guard<std::mutex> lock(gLiveMutex);
    live.swap(gLive);
  }
  for (ncclComm_t c : live)
    nc().ncclCommAbort(c);
}

void track(ncclComm_t c) {
  pzrt::addFatalHook(abortAllNccl); // once: it ignores a hook it has
  std::lock_guard<std::mutex> lock(gLiveMutex);
  gLive.push_back(c);
}

// False if the communicator was already aborted by the fatal hook.
bool untrack(ncclComm_t c) {
  std::lock_guard<std::mutex> lock(gLiveMutex);
  auto it = std::find(gLive.begin(), gLive.end(), c);
  if (it == gLive.end())
    return false;
  gLive.erase(it);
  return true;
}

bool ncclTypeOf(pzrt_dtype d, ncclDataType_t *out) {
  ncclDataType_t t;
  switch (d) {
  case PZRT_F32:
    t = ncclFloat32;
    break;
  case PZRT_F16:
    t = ncclFloat16;
    break;
  case PZRT_BF16:
    t = ncclBfloat16;
    break;
  case PZRT_F64:
    t = ncclFloat64;
    break;
  case PZRT_I32:
    t = ncclInt32;
    break;
  case PZRT_I64:
    t = ncclInt64;
    break;
  case PZRT_U8:
    t = ncclUint8;
    break;
  default:
    return false;
  }
  if (out)
    *out = t;
  return true;
}

ncclRedOp_t ncclOpOf(pzrt_reduce_op op) { return op == PZRT_REDUCE_MAX ? ncclMax : ncclSum; }

std::string ncclText(ncclResult_t rc, ncclComm_t comm) {
  std::string s = nc().ncclGetErrorString(rc);
  const char *last = nc().ncclGetLastError(comm);
  if (last && *last)
    s += std::string(" (") + last + ")";
  return s;
}

// A communicator being created or split is "in progress" until NCCL has
// connected it; waits for the end, up to the deadline (timeoutS <= 0: none).
// Returns ncclSuccess, the error, or ncclInProgress when the deadline passed.
ncclResult_t settle(ncclComm_t comm, double timeoutS, Clock::time_point start) {
  for (long spins = 0;; ++spins) {
    ncclResult_t state = ncclSuccess;
    ncclResult_t rc = nc().ncclCommGetAsyncError(comm, &state);
    if (rc != ncclSuccess)
      return rc;
    if (state != ncclInProgress)
      return state;
    if (timeoutS > 0 && secondsSince(start) > timeoutS)
      return ncclInProgress;
    pause(spins);
  }
}

ncclConfig_t configNamed(const std::string &name) {
  ncclConfig_t cfg = NCCL_CONFIG_INITIALIZER;
  cfg.blocking = 0;
  cfg.commName = name.c_str(); // the NcclComm's own name: it outlives the handle
  return cfg;
}

bool mpiActive() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

// What one operation is, for the messages.
struct Op {
  const char *name;
  size_t count;
  pzrt_dtype dtype;
};

struct NcclComm;
void watch(NcclComm *c);
void unwatch(NcclComm *c);

struct NcclComm final : pzrt_comm {
  ncclComm_t comm = nullptr;
  int device = 0;
  cudaStream_t stream = nullptr;
  cudaEvent_t done = nullptr;
  int *scratch = nullptr; // the barrier's word, and connectPeers' two
  // enqueueOn's stream (NULL: `stream`, each operation waited for) and the
  // last operation enqueued there, which the wait watch names.
  cudaStream_t enqueueStream = nullptr;
  Op lastOp{"(none)", 0, PZRT_F32};

  cudaStream_t cur() const { return enqueueStream ? enqueueStream : stream; }

  int enqueueOn(void *s) override {
    enqueueStream = static_cast<cudaStream_t>(s);
    if (enqueueStream)
      watch(this);
    return 0;
  }

  ~NcclComm() override {
    unwatch(this);
    if (device >= 0)
      cudaSetDevice(device);
    if (comm && untrack(comm)) {
      // Finalize waits for this rank's operations to be flushed (peers
      // included); one that never completes is aborted instead.
      ncclResult_t rc = nc().ncclCommFinalize(comm);
      if (rc == ncclInProgress)
        rc = settle(comm, timeoutS > 0 ? std::min(timeoutS, 30.0) : 30.0, Clock::now());
      if (rc == ncclSuccess)
        nc().ncclCommDestroy(comm);
      else
        nc().ncclCommAbort(comm);
    }
    if (scratch)
      cudaFree(scratch);
    if (done)
      cudaEventDestroy(done);
    if (stream)
      cudaStreamDestroy(stream);
  }

  bool isMpi() const override { return false; }
  bool deviceBuffers() const override { return true; }
  bool supportsDtype(pzrt_dtype d) const override { return ncclTypeOf(d, nullptr); }

  [[noreturn]] void failed(const Op &op, const std::string &why) {
    pzrt::fatal(1,
                "rank %d (of %d): %s on communicator '%s' (rank %d of %d, %zu elements of %s, "
                "NCCL on CUDA device %d) failed: %s",
                worldRank, worldSize, op.name, name.c_str(), rank, size, op.count,
                pzrt_dtype_name(op.dtype), device, why.c_str());
  }

  [[noreturn]] void timedOut(const Op &op, double waited) {
    pzrt::fatal(124,
                "rank %d (of %d): %s on communicator '%s' (rank %d of %d, %zu elements of %s, "
                "NCCL on CUDA device %d) timed out after %.3f s; a peer failed or did not call it",
                worldRank, worldSize, op.name, name.c_str(), rank, size, op.count,
                pzrt_dtype_name(op.dtype), device, waited);
  }

  void cuda(cudaError_t e, const Op &op) {
    if (e != cudaSuccess)
      failed(op, std::string("CUDA error: ") + cudaGetErrorString(e));
  }

  ncclDataType_t type(const Op &op) {
    ncclDataType_t t;
    if (!ncclTypeOf(op.dtype, &t)) // comm.cpp checked supportsDtype
      failed(op, "unsupported dtype");
    return t;
  }

  // Checks what a NCCL call returned; a call that is still in progress
  // (non-blocking communicator) is waited for.
  void check(ncclResult_t rc, const Op &op, Clock::time_point start) {
    if (rc == ncclInProgress) {
      rc = settle(comm, timeoutS, start);
      if (rc == ncclInProgress)
        timedOut(op, secondsSince(start));
    }
    if (rc != ncclSuccess)
      failed(op, ncclText(rc, comm));
  }

  // Waits for the enqueued operation to finish on the GPU, watching NCCL's
  // asynchronous errors and the deadline.
  void wait(const Op &op, Clock::time_point start) {
    cuda(cudaEventRecord(done, stream), op);
    for (long spins = 0; !settled(op, secondsSince(start)); ++spins)
      pause(spins);
  }

  // One look at `done` (the end of `op`) and at NCCL's asynchronous state:
  // true once `op` is done; ends the process on an error, or when it is
  // not done after the deadline.
  bool settled(const Op &op, double waited) {
    cudaError_t q = cudaEventQuery(done);
    if (q != cudaSuccess && q != cudaErrorNotReady)
      cuda(q, op);
    ncclResult_t state = ncclSuccess;
    ncclResult_t rc = nc().ncclCommGetAsyncError(comm, &state);
    if (rc != ncclSuccess)
      failed(op, ncclText(rc, comm));
    if (state != ncclSuccess && state != ncclInProgress)
      failed(op, ncclText(state, comm));
    if (q == cudaSuccess)
      return true;
    if (timeoutS > 0 && waited > timeoutS)
      timedOut(op, waited);
    return false;
  }

  // The end of an operation: waited for on the communicator's own stream;
  // left in flight on enqueueOn's stream (the wait watch follows it).
  void finish(const Op &op, Clock::time_point start) {
    if (enqueueStream) {
      lastOp = op;
      // `done` marks the end of the last operation for the watch, also when
      // it runs inside a CUDA graph (an external record node of the capture).
      cudaStreamCaptureStatus st = cudaStreamCaptureStatusNone;
      cuda(cudaStreamIsCapturing(enqueueStream, &st), op);
      cuda(cudaEventRecordWithFlags(done, enqueueStream,
                                    st == cudaStreamCaptureStatusActive ? cudaEventRecordExternal
                                                                        : cudaEventRecordDefault),
           op);
      return;
    }
    wait(op, start);
  }

  // The wait watch's look at this communicator (watchAll): its last
  // operation done, the host waits for other work, not for it.
  void poll(double waited) { settled(lastOp, waited); }

  Clock::time_point begin(const Op &op) {
    cuda(cudaSetDevice(device), op); // the calling thread may be new
    return Clock::now();
  }

  /// One NCCL call `issue(ncclDataType)` on the stream, checked, then waited
  /// for against the timeout; nothing for an empty buffer.
  template <typename Issue>
  int collective(const char *name, size_t count, pzrt_dtype dtype, Issue issue) {
    Op op{name, count, dtype};
    if (count == 0)
      return 0;
    auto t0 = begin(op);
    check(issue(type(op)), op, t0);
    finish(op, t0);
    return 0;
  }

  int allReduce(const void *send, void *recv, size_t count, pzrt_dtype dtype,
                pzrt_reduce_op red) override {
    return collective("all_reduce", count, dtype, [&](ncclDataType_t t) {
      return nc().ncclAllReduce(send, recv, count, t, ncclOpOf(red), comm, cur());
    });
  }

  int allGather(const void *send, void *recv, size_t count, pzrt_dtype dtype) override {
    return collective("all_gather", count, dtype, [&](ncclDataType_t t) {
      return nc().ncclAllGather(send, recv, count, t, comm, cur());
    });
  }

  int reduceScatter(const void *send, void *recv, size_t count, pzrt_dtype dtype,
                    pzrt_reduce_op red) override {
    return collective("reduce_scatter", count, dtype, [&](ncclDataType_t t) {
      return nc().ncclReduceScatter(send, recv, count, t, ncclOpOf(red), comm, cur());
    });
  }

  // One group of a send and a receive per peer, the form every NCCL since
  // 2.7 runs (ncclAlltoAll is recent); this rank's own block is a copy.
  int allToAll(const void *send, void *recv, size_t count, pzrt_dtype dtype) override {
    Op op{"all_to_all", count, dtype};
    if (count == 0)
      return 0;
    auto t0 = begin(op);
    ncclDataType_t t = type(op);
    size_t bytes = count * pzrt_dtype_size(dtype);
    auto *s = static_cast<const char *>(send);
    auto *r = static_cast<char *>(recv);
    cuda(cudaMemcpyAsync(r + rank * bytes, s + rank * bytes, bytes, cudaMemcpyDeviceToDevice,
                         cur()),
         op);
    check(nc().ncclGroupStart(), op, t0);
    for (int p = 0; p < size; ++p) {
      if (p == rank)
        continue;
      check(nc().ncclSend(s + p * bytes, count, t, p, comm, cur()), op, t0);
      check(nc().ncclRecv(r + p * bytes, count, t, p, comm, cur()), op, t0);
    }
    check(nc().ncclGroupEnd(), op, t0);
    finish(op, t0);
    return 0;
  }

  int broadcast(void *buf, size_t count, pzrt_dtype dtype, int root) override {
    return collective("broadcast", count, dtype, [&](ncclDataType_t t) {
      return nc().ncclBroadcast(buf, buf, count, t, root, comm, cur());
    });
  }

  // NCCL has no tags: messages between two ranks match in the order they
  // were posted, which is the order the compiled schedule posts them in.
  int sendRecv(const void *send, size_t sendCount, int dst, void *recv, size_t recvCount, int src,
               pzrt_dtype dtype, int) override {
    Op op{sendCount && recvCount ? "sendrecv" : (sendCount ? "send" : "recv"),
          sendCount ? sendCount : recvCount, dtype};
    if (!sendCount && !recvCount)
      return 0;
    auto t0 = begin(op);
    ncclDataType_t t = type(op);
    // Both in one group, so that two neighbours exchanging cannot deadlock.
    check(nc().ncclGroupStart(), op, t0);
    if (sendCount)
      check(nc().ncclSend(send, sendCount, t, dst, comm, cur()), op, t0);
    if (recvCount)
      check(nc().ncclRecv(recv, recvCount, t, src, comm, cur()), op, t0);
    check(nc().ncclGroupEnd(), op, t0);
    finish(op, t0);
    return 0;
  }

  // isend/waitSend: the interface's blocking default. A send enqueued now
  // and waited for later would be followed on the same stream by this
  // rank's next operation, so two ranks that each send before they receive
  // would deadlock; pipelines exchange through sendrecv instead.

  int barrier() override {
    Op op{"barrier", 1, PZRT_I32};
    auto t0 = begin(op);
    check(nc().ncclAllReduce(scratch, scratch, 1, ncclInt32, ncclSum, comm, cur()), op, t0);
    finish(op, t0);
    return 0;
  }

  int connectPeers() override {
    Op op{"connect", 1, PZRT_I32};
    if (size == 1)
      return 0;
    auto t0 = begin(op);
    check(nc().ncclGroupStart(), op, t0);
    for (int p = 0; p < size; ++p) {
      if (p == rank)
        continue;
      check(nc().ncclSend(scratch, 1, ncclInt32, p, comm, cur()), op, t0);
      check(nc().ncclRecv(scratch + 1, 1, ncclInt32, p, comm, cur()), op, t0);
    }
    check(nc().ncclGroupEnd(), op, t0);
    finish(op, t0);
    return 0;
  }

  pzrt_comm *split(int color, int key, const std::string &newName) override {
    Op op{"split", 0, PZRT_I32};
    auto t0 = begin(op);
    auto *c = new NcclComm();
    c->name = newName;
    c->device = device;
    c->worldRank = worldRank;
    c->worldSize = worldSize;
    c->timeoutS = timeoutS;
    ncclConfig_t cfg = configNamed(c->name);
    ncclResult_t rc = nc().ncclCommSplit(comm, color, key, &c->comm, &cfg);
    if (rc == ncclInProgress || (rc == ncclSuccess && c->comm)) {
      // The new communicator connects in the background: it is the one to
      // watch (the parent may report an error too).
      rc = c->comm ? settle(c->comm, timeoutS, t0) : settle(comm, timeoutS, t0);
    }
    if (rc == ncclInProgress) {
      if (c->comm)
        nc().ncclCommAbort(c->comm);
      timedOut(op, secondsSince(t0));
    }
    if (rc != ncclSuccess) {
      std::string why = ncclText(rc, c->comm ? c->comm : comm);
      if (c->comm)
        nc().ncclCommAbort(c->comm);
      failed(op, why);
    }
    track(c->comm);
    nc().ncclCommUserRank(c->comm, &c->rank);
    nc().ncclCommCount(c->comm, &c->size);
    cuda(cudaStreamCreate(&c->stream), op);
    cuda(cudaEventCreateWithFlags(&c->done, cudaEventDisableTiming), op);
    cuda(cudaMalloc(reinterpret_cast<void **>(&c->scratch), 2 * sizeof(int)), op);
    cuda(cudaMemset(c->scratch, 0, 2 * sizeof(int)), op);
    return c;
  }
};

// The communicators that enqueue on a device stream (enqueueOn): the host
// learns of their failures and hangs only when it waits for the device, so
// the CUDA device's waits call watchAll between polls (core/wait_watch.h).
std::mutex gWatchMutex;
std::vector<NcclComm *> gWatched;

void watchAll(double waited) {
  std::lock_guard<std::mutex> lock(gWatchMutex);
  for (NcclComm *c : gWatched)
    c->poll(waited); // ends the process on an error or past the deadline
}

void watch(NcclComm *c) {
  std::lock_guard<std::mutex> lock(gWatchMutex);
  if (std::find(gWatched.begin(), gWatched.end(), c) == gWatched.end())
    gWatched.push_back(c);
  pzrt::setWaitWatch(watchAll);
}

void unwatch(NcclComm *c) {
  std::lock_guard<std::mutex> lock(gWatchMutex);
  gWatched.erase(std::remove(gWatched.begin(), gWatched.end(), c), gWatched.end());
  if (gWatched.empty())
    pzrt::setWaitWatch(nullptr);
}

// The launcher's view, or the host communicator's (`control`, else MPI's
// when MPI is initialized): that one is the truth, as ranks of a singleton
// MPI job see no launcher variables.
int whoAmI(pzrt_comm *control, bool viaMpi, int *rank, int *size, int *localRank) {
  pzrt_env env;
  if (pzrt_env_discover(&env))
    return -1;
  *rank = env.rank;
  *size = env.world_size;
  *localRank = env.local_rank;
  if (control) {
    *rank = control->rank;
    *size = control->size;
  } else if (viaMpi) {
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
  }
  if ((control || viaMpi) && std::strcmp(env.source, "none") == 0)
    *localRank = *rank;
  return 0;
}

// Rank 0's unique id to every rank, under the communicator timeout.
int shareUniqueId(bool viaMpi, int rank, int size, double timeoutS, ncclUniqueId *id) {
  if (size == 1)
    return 0;
  auto t0 = Clock::now();
  if (viaMpi) {
    // MPI_Bcast would block: a missing rank 0 must time out instead.
    MPI_Request req;
    if (MPI_Ibcast(id, sizeof(*id), MPI_BYTE, 0, MPI_COMM_WORLD, &req) != MPI_SUCCESS)
      return fail("rank %d (of %d): MPI_Ibcast of the NCCL unique id failed", rank, size);
    for (long spins = 0;; ++spins) {
      int flag = 0;
      if (MPI_Test(&req, &flag, MPI_STATUS_IGNORE) != MPI_SUCCESS)
        return fail("rank %d (of %d): MPI_Ibcast of the NCCL unique id failed", rank, size);
      if (flag)
        return 0;
      if (timeoutS > 0 && secondsSince(t0) > timeoutS)
        return fail("rank %d (of %d): the NCCL unique id did not arrive from rank 0 over MPI "
                    "within %.3f s; a rank failed before creating its NCCL communicator",
                    rank, size, secondsSince(t0));
      pause(spins);
    }
  }
  pzrt::RendezvousOptions opts;
  if (pzrt::rendezvousOptionsFromEnv(&opts))
    return -1;
  if (opts.rank != rank || opts.size != size)
    return fail("rank %d (of %d): the launcher environment says rank %d of %d", rank, size,
                opts.rank, opts.size);
  pzrt::RendezvousResult res;
  std::string mine(reinterpret_cast<const char *>(id), rank == 0 ? sizeof(*id) : 0);
  if (pzrt::rendezvous(opts, mine, "", &res))
    return -1;
  if (res.root.size() != sizeof(*id))
    return fail("rank %d (of %d): rank 0 sent a NCCL unique id of %zu bytes, not %zu", rank, size,
                res.root.size(), sizeof(*id));
  std::memcpy(id, res.root.data(), sizeof(*id));
  return 0;
}

} // namespace

namespace pzrt {

pzrt_comm *createNcclComm(int device, pzrt_comm *control) {
  const bool viaMpi = !control && mpiActive();
  int rank = 0, size = 1, localRank = 0;
  if (whoAmI(control, viaMpi, &rank, &size, &localRank))
    return nullptr;

  // No device is a configuration error to report, not a crash: check before
  // anything else touches CUDA or NCCL.
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess || count == 0) {
    const char *visible = std::getenv("CUDA_VISIBLE_DEVICES");
    std::string vis = visible ? format("CUDA_VISIBLE_DEVICES='%s'", visible)
                              : std::string("CUDA_VISIBLE_DEVICES not set");
    fail("no CUDA device visible to rank %d (%s): %s", rank, vis.c_str(),
         e != cudaSuccess ? cudaGetErrorString(e) : "cudaGetDeviceCount found none");
    return nullptr;
  }
  if (device < 0)
    device = localRank % count;
  if (device >= count) {
    fail("rank %d: CUDA device %d requested, but %d are visible", rank, device, count);
    return nullptr;
  }
  if ((e = cudaSetDevice(device)) != cudaSuccess) {
    fail("rank %d: cudaSetDevice(%d) failed: %s", rank, device, cudaGetErrorString(e));
    return nullptr;
  }

  if (!nccl::load()) {
    std::string why = pzrt_last_error();
    fail("rank %d: loading NCCL: %s", rank, why.c_str());
    return nullptr;
  }
  const double timeoutS = defaultCommTimeout();
  ncclUniqueId id;
  static_assert(sizeof(id) % sizeof(int64_t) == 0, "the id is broadcast as int64 words");
  std::memset(&id, 0, sizeof(id));
  if (rank == 0) {
    ncclResult_t rc = nc().ncclGetUniqueId(&id);
    if (rc != ncclSuccess) {
      fail("rank 0 (of %d): ncclGetUniqueId failed: %s", size, nc().ncclGetErrorString(rc));
      return nullptr;
    }
  }
  setNcclBootstrapComm(control);
  // Over the control communicator when there is one (its own deadline and
  // failure handling; uncounted, as setup), else over MPI or the rendezvous.
  if (control ? control->size > 1 &&
                    control->broadcast(&id, sizeof(id) / sizeof(int64_t), PZRT_I64, 0) != 0
              : shareUniqueId(viaMpi, rank, size, timeoutS, &id) != 0)
    return nullptr;

  auto *c = new NcclComm();
  c->rank = c->worldRank = rank;
  c->size = c->worldSize = size;
  c->device = device;
  c->timeoutS = timeoutS;
  c->name = "world";
  auto t0 = Clock::now();
  ncclConfig_t cfg = configNamed(c->name);
  ncclResult_t rc = nc().ncclCommInitRankConfig(&c->comm, size, id, rank, &cfg);
  if (rc == ncclInProgress || (rc == ncclSuccess && c->comm))
    rc = settle(c->comm, timeoutS, t0);
  if (rc != ncclSuccess) {
    if (rc == ncclInProgress)
      fail("rank %d (of %d): NCCL communicator 'world' on CUDA device %d did not connect within "
           "%.3f s; a rank failed or did not start",
           rank, size, device, secondsSince(t0));
    else
      fail("rank %d (of %d): NCCL communicator 'world' on CUDA device %d failed to start: %s",
           rank, size, device, ncclText(rc, c->comm).c_str());
    if (c->comm)
      nc().ncclCommAbort(c->comm);
    c->comm = nullptr;
    delete c;
    return nullptr;
  }
  track(c->comm);
  if ((e = cudaStreamCreate(&c->stream)) != cudaSuccess ||
      (e = cudaEventCreateWithFlags(&c->done, cudaEventDisableTiming)) != cudaSuccess ||
      (e = cudaMalloc(reinterpret_cast<void **>(&c->scratch), 2 * sizeof(int))) != cudaSuccess ||
      (e = cudaMemset(c->scratch, 0, 2 * sizeof(int))) != cudaSuccess) {
    fail("rank %d: CUDA setup of the NCCL communicator failed: %s", rank, cudaGetErrorString(e));
    delete c;
    return nullptr;
  }
  return c;
}

} // namespace pzrt
