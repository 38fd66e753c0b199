// A fake NCCL for the CUDA host emulator that really moves data between the
// ranks of an MPI job, so that comm_nccl.cpp (and compiled programs that use
// NCCL) run end to end without a GPU (docs/design/0019-cuda-emulation.md).
//
// - A communicator is an MPI communicator of its own (a dup of
//   MPI_COMM_WORLD, or a split of its parent's), so traffic of two
//   communicators never matches. MPI must be initialized: comm_nccl.cpp then
//   bootstraps the unique id over MPI, the only path supported here.
//   Communicators are complete at once (the non-blocking config is ignored).
// - Every data operation is one pz_emu::enqueue op: it runs now, in stream
//   order, or is recorded into the graph its stream captures and runs at
//   each cudaGraphLaunch. The op copies device buffers into host memory,
//   talks MPI on the copies and writes the results back, so in-place forms
//   (send == recv, NCCL's in-place all_gather and reduce_scatter) work and
//   MPI never touches emulated device pages.
// - Reductions give the same bits on every rank: every rank gets every
//   rank's contribution and folds them in rank order 0, 1, ..., n-1. 16-bit
//   floats are widened to fp32 for each addition and rounded back to nearest
//   even after it (NCCL also rounds once per step; its order differs).
//   Integer sums wrap. all_reduce moves n times the buffer (no ring): a test
//   fake, not a fast one.
// - ncclSend/ncclRecv between ncclGroupStart and ncclGroupEnd are buffered
//   (per thread, as NCCL's groups) and run as one op of MPI_Isend/MPI_Irecv
//   waited for together, so neighbours exchanging cannot deadlock; messages
//   between two ranks match in posting order, as in NCCL. Collectives
//   inside a group are issued at once.
// - An MPI wait longer than the communicator timeout (PZRT_COMM_TIMEOUT,
//   600 s by default) ends the job with exit code 124, as comm_nccl.cpp
//   does: the op runs synchronously, so comm_nccl.cpp's own deadline could
//   not fire while a peer is missing.
#include "comm/comm_impl.h"
#include "comm/mpi_api.h"
#include "core/internal.h"
#include "cuda/emu/emu.h"

#include "pzrt/types.h"

#include <nccl.h>

#include <chrono>
#include <climits>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <sched.h>
#include <string>
#include <unistd.h>
#include <vector>

struct ncclComm {
  MPI_Comm mpi = MPI_COMM_NULL;
  int rank = 0;
  int size = 1;
};

namespace {

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

bool mpiActive() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

size_t typeSize(ncclDataType_t t) {
  switch (t) {
  case ncclInt8:
  case ncclUint8:
  case ncclFloat8e4m3:
  case ncclFloat8e5m2: return 1;
  case ncclFloat16:
  case ncclBfloat16: return 2;
  case ncclInt32:
  case ncclUint32:
  case ncclFloat32: return 4;
  case ncclInt64:
  case ncclUint64:
  case ncclFloat64: return 8;
  default: return 0;
  }
}

// Checks what every data call shares; on success *bytes is count's size.
ncclResult_t checkCall(const char *fn, ncclComm_t comm, size_t count, ncclDataType_t t,
                       size_t *bytes) {
  if (!comm || comm->mpi == MPI_COMM_NULL)
    return fail(ncclInvalidArgument, "%s: invalid communicator", fn);
  size_t es = typeSize(t);
  if (!es)
    return fail(ncclInvalidArgument, "%s: invalid data type %d", fn, static_cast<int>(t));
  if (count > static_cast<size_t>(INT_MAX) / es / static_cast<size_t>(comm->size))
    return fail(ncclInvalidArgument,
                "%s: %zu elements of %zu bytes on %d ranks exceed what "
                "the fake moves in one MPI call (2 GiB)",
                fn, count, es, comm->size);
  *bytes = count * es;
  return ncclSuccess;
}

// Waits for MPI requests under the communicator timeout (see the top).
void waitAll(ncclComm_t comm, const char *what, std::vector<MPI_Request> &reqs,
             std::vector<MPI_Status> *statuses = nullptr) {
  if (reqs.empty())
    return;
  if (statuses)
    statuses->resize(reqs.size());
  const double limit = pzrt::defaultCommTimeout();
  auto t0 = std::chrono::steady_clock::now();
  for (long spins = 0;; ++spins) {
    int done = 0;
    if (MPI_Testall(static_cast<int>(reqs.size()), reqs.data(), &done,
                    statuses ? statuses->data() : MPI_STATUSES_IGNORE) != MPI_SUCCESS)
      pzrt::fatal(1, "fake NCCL: rank %d (of %d): MPI failed in %s", comm->rank, comm->size, what);
    if (done)
      return;
    double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (limit > 0 && waited > limit)
      pzrt::fatal(124,
                  "fake NCCL: rank %d (of %d): %s timed out after %.3f s; a peer failed or "
                  "did not call it",
                  comm->rank, comm->size, what, waited);
    if (spins < 2000) {
      sched_yield();
    } else {
      timespec ts{0, 20000};
      nanosleep(&ts, nullptr);
    }
  }
}

void checkMpi(ncclComm_t comm, int rc, const char *what) {
  if (rc != MPI_SUCCESS)
    pzrt::fatal(1, "fake NCCL: rank %d (of %d): MPI failed in %s", comm->rank, comm->size, what);
}

// Every rank's `bytes` bytes at `send`, in rank order.
std::vector<char> gatherAll(ncclComm_t comm, const void *send, size_t bytes, const char *what) {
  std::vector<char> mine(static_cast<const char *>(send), static_cast<const char *>(send) + bytes);
  std::vector<char> all(bytes * comm->size);
  std::vector<MPI_Request> req(1);
  checkMpi(comm,
           MPI_Iallgather(mine.data(), static_cast<int>(bytes), MPI_BYTE, all.data(),
                          static_cast<int>(bytes), MPI_BYTE, comm->mpi, &req[0]),
           what);
  waitAll(comm, what, req);
  return all;
}

template <typename T> T apply(ncclRedOp_t op, T a, T b) {
  switch (op) {
  case ncclMax: return b > a ? b : a;
  case ncclMin: return b < a ? b : a;
  case ncclProd: return a * b;
  default: return a + b;
  }
}

// dst = dst (op) src over n elements of T.
template <typename T> void foldTyped(void *dst, const void *src, size_t n, ncclRedOp_t op) {
  auto *d = static_cast<T *>(dst);
  auto *s = static_cast<const T *>(src);
  for (size_t i = 0; i < n; ++i)
    d[i] = apply(op, d[i], s[i]);
}

// Integers: wrap-around arithmetic in the unsigned type of the same width.
template <typename T, typename U>
void foldInt(void *dst, const void *src, size_t n, ncclRedOp_t op) {
  if (op == ncclMax || op == ncclMin)
    return foldTyped<T>(dst, src, n, op);
  auto *d = static_cast<T *>(dst);
  auto *s = static_cast<const T *>(src);
  for (size_t i = 0; i < n; ++i) {
    U a = static_cast<U>(d[i]), b = static_cast<U>(s[i]);
    d[i] = static_cast<T>(op == ncclProd ? static_cast<U>(a * b) : static_cast<U>(a + b));
  }
}

void foldHalf(void *dst, const void *src, size_t n, ncclRedOp_t op, bool bf16) {
  auto *d = static_cast<uint16_t *>(dst);
  auto *s = static_cast<const uint16_t *>(src);
  for (size_t i = 0; i < n; ++i) {
    float a = bf16 ? pzrt_bf16_to_f32(d[i]) : pzrt_f16_to_f32(d[i]);
    float b = bf16 ? pzrt_bf16_to_f32(s[i]) : pzrt_f16_to_f32(s[i]);
    float r = apply(op, a, b);
    d[i] = bf16 ? pzrt_f32_to_bf16(r) : pzrt_f32_to_f16(r);
  }
}

void fold(void *dst, const void *src, size_t n, ncclDataType_t t, ncclRedOp_t op) {
  switch (t) {
  case ncclInt8: return foldInt<int8_t, uint8_t>(dst, src, n, op);
  case ncclUint8: return foldInt<uint8_t, uint8_t>(dst, src, n, op);
  case ncclInt32: return foldInt<int32_t, uint32_t>(dst, src, n, op);
  case ncclUint32: return foldInt<uint32_t, uint32_t>(dst, src, n, op);
  case ncclInt64: return foldInt<int64_t, uint64_t>(dst, src, n, op);
  case ncclUint64: return foldInt<uint64_t, uint64_t>(dst, src, n, op);
  case ncclFloat16: return foldHalf(dst, src, n, op, false);
  case ncclBfloat16: return foldHalf(dst, src, n, op, true);
  case ncclFloat32: return foldTyped<float>(dst, src, n, op);
  case ncclFloat64: return foldTyped<double>(dst, src, n, op);
  default: return; // refused by checkReduce
  }
}

ncclResult_t checkReduce(const char *fn, ncclDataType_t t, ncclRedOp_t op) {
  if (op != ncclSum && op != ncclProd && op != ncclMax && op != ncclMin)
    return fail(ncclInvalidArgument, "%s: reduction %d is not supported (sum, prod, max, min)", fn,
                static_cast<int>(op));
  if (t == ncclFloat8e4m3 || t == ncclFloat8e5m2)
    return fail(ncclInvalidArgument, "%s: fp8 reductions are not supported", fn);
  return ncclSuccess;
}

// Block `block` (of `count` elements) reduced over every rank's copy in
// `all` (rank-major, each `stride` bytes), in rank order.
std::vector<char> reduceBlock(ncclComm_t comm, const std::vector<char> &all, size_t stride,
                              size_t block, size_t count, size_t bytes, ncclDataType_t t,
                              ncclRedOp_t op) {
  std::vector<char> acc(all.begin() + block * bytes, all.begin() + (block + 1) * bytes);
  for (int r = 1; r < comm->size; ++r)
    fold(acc.data(), all.data() + r * stride + block * bytes, count, t, op);
  return acc;
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

// Posts every send and receive, waits for all, then writes what arrived.
void runP2p(const std::vector<P2p> &ops) {
  std::vector<std::vector<char>> stage(ops.size());
  std::vector<MPI_Request> reqs(ops.size());
  for (size_t i = 0; i < ops.size(); ++i) {
    const P2p &o = ops[i];
    if (o.send)
      stage[i].assign(static_cast<const char *>(o.buf), static_cast<const char *>(o.buf) + o.bytes);
    else
      stage[i].resize(o.bytes);
  }
  for (size_t i = 0; i < ops.size(); ++i) {
    const P2p &o = ops[i];
    int n = static_cast<int>(o.bytes);
    checkMpi(o.comm,
             o.send ? MPI_Isend(stage[i].data(), n, MPI_BYTE, o.peer, 0, o.comm->mpi, &reqs[i])
                    : MPI_Irecv(stage[i].data(), n, MPI_BYTE, o.peer, 0, o.comm->mpi, &reqs[i]),
             o.send ? "ncclSend" : "ncclRecv");
  }
  std::vector<MPI_Status> st;
  waitAll(ops[0].comm, "ncclSend/ncclRecv", reqs, &st);
  for (size_t i = 0; i < ops.size(); ++i) {
    const P2p &o = ops[i];
    if (o.send)
      continue;
    int got = -1;
    MPI_Get_count(&st[i], MPI_BYTE, &got);
    if (got != static_cast<int>(o.bytes))
      pzrt::fatal(1, "fake NCCL: rank %d (of %d): ncclRecv of %zu bytes from rank %d got %d bytes",
                  o.comm->rank, o.comm->size, o.bytes, o.peer, got);
    std::memcpy(o.buf, stage[i].data(), o.bytes);
  }
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
  if (ncclResult_t rc = checkCall(fn, comm, count, t, &bytes))
    return rc;
  if (peer < 0 || peer >= comm->size)
    return fail(ncclInvalidArgument, "%s: peer %d is not a rank of a communicator of %d", fn, peer,
                comm->size);
  if (bytes && !buf)
    return fail(ncclInvalidArgument, "%s: NULL buffer", fn);
  if (!bytes)
    return ncclSuccess;
  P2p op{send, buf, bytes, peer, comm, stream};
  if (tGroupDepth > 0) {
    tGroup.push_back(op);
    return ncclSuccess;
  }
  return issueP2p({op});
}

ncclResult_t enqueue(const char *fn, cudaStream_t stream, std::function<void()> op) {
  if (pz_emu::enqueue(stream, std::move(op)) != cudaSuccess)
    return fail(ncclUnhandledCudaError, "%s: the stream refused the operation", fn);
  return ncclSuccess;
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
  if (!mpiActive())
    return fail(ncclInvalidUsage, "ncclCommInitRankConfig: the fake NCCL needs MPI to be "
                                  "initialized (start the ranks with mpirun)");
  int worldRank = -1, worldSize = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &worldRank);
  MPI_Comm_size(MPI_COMM_WORLD, &worldSize);
  if (nranks != worldSize || rank != worldRank)
    return fail(ncclInvalidUsage,
                "ncclCommInitRankConfig: rank %d of %d asked for, but the fake "
                "NCCL makes only MPI_COMM_WORLD's communicator (rank %d of %d)",
                rank, nranks, worldRank, worldSize);
  auto c = std::make_unique<ncclComm>();
  if (MPI_Comm_dup(MPI_COMM_WORLD, &c->mpi) != MPI_SUCCESS)
    return fail(ncclSystemError, "ncclCommInitRankConfig: MPI_Comm_dup failed");
  c->rank = rank;
  c->size = nranks;
  // Every rank must hold rank 0's id, as NCCL's bootstrap requires.
  std::vector<char> ids = gatherAll(c.get(), &commId, sizeof(commId), "ncclCommInitRankConfig");
  for (int r = 1; r < nranks; ++r)
    if (std::memcmp(ids.data(), ids.data() + r * sizeof(commId), sizeof(commId)) != 0) {
      MPI_Comm_free(&c->mpi);
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
  if (!comm || comm->mpi == MPI_COMM_NULL || !newcomm)
    return fail(ncclInvalidArgument, "ncclCommSplit: invalid communicator or NULL newcomm");
  if (color < 0 && color != NCCL_SPLIT_NOCOLOR)
    return fail(ncclInvalidArgument, "ncclCommSplit: invalid color %d", color);
  *newcomm = nullptr;
  MPI_Comm sub = MPI_COMM_NULL;
  if (MPI_Comm_split(comm->mpi, color == NCCL_SPLIT_NOCOLOR ? MPI_UNDEFINED : color, key, &sub) !=
      MPI_SUCCESS)
    return fail(ncclSystemError, "ncclCommSplit: MPI_Comm_split failed");
  if (sub == MPI_COMM_NULL)
    return ncclSuccess;
  auto *c = new ncclComm();
  c->mpi = sub;
  MPI_Comm_rank(sub, &c->rank);
  MPI_Comm_size(sub, &c->size);
  *newcomm = c;
  return ncclSuccess;
}

ncclResult_t ncclCommFinalize(ncclComm_t comm) {
  if (!comm)
    return fail(ncclInvalidArgument, "ncclCommFinalize: NULL communicator");
  if (comm->mpi != MPI_COMM_NULL && mpiActive())
    MPI_Comm_free(&comm->mpi);
  comm->mpi = MPI_COMM_NULL;
  return ncclSuccess;
}

ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  if (!comm)
    return ncclSuccess;
  ncclCommFinalize(comm);
  delete comm;
  return ncclSuccess;
}

ncclResult_t ncclCommAbort(ncclComm_t comm) { return ncclCommDestroy(comm); }

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t *asyncError) {
  if (!comm || !asyncError)
    return fail(ncclInvalidArgument, "ncclCommGetAsyncError: NULL argument");
  *asyncError = ncclSuccess;
  return ncclSuccess;
}

const char *ncclGetErrorString(ncclResult_t result) {
  switch (result) {
  case ncclSuccess: return "no error";
  case ncclUnhandledCudaError: return "unhandled cuda error (run with NCCL_DEBUG=INFO for details)";
  case ncclSystemError: return "unhandled system error (run with NCCL_DEBUG=INFO for details)";
  case ncclInternalError: return "internal error - please report this issue to the NCCL developers";
  case ncclInvalidArgument: return "invalid argument (run with NCCL_DEBUG=WARN for details)";
  case ncclInvalidUsage: return "invalid usage (run with NCCL_DEBUG=WARN for details)";
  case ncclRemoteError: return "remote process exited or there was a network error";
  case ncclInProgress: return "NCCL operation in progress";
  default: return "unknown result code";
  }
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
  size_t bytes = 0;
  if (ncclResult_t rc = checkCall("ncclAllReduce", comm, count, datatype, &bytes))
    return rc;
  if (ncclResult_t rc = checkReduce("ncclAllReduce", datatype, op))
    return rc;
  if (bytes && (!sendbuff || !recvbuff))
    return fail(ncclInvalidArgument, "ncclAllReduce: NULL buffer");
  return enqueue("ncclAllReduce", stream, [=] {
    std::vector<char> all = gatherAll(comm, sendbuff, bytes, "ncclAllReduce");
    std::vector<char> acc = reduceBlock(comm, all, bytes, 0, count, bytes, datatype, op);
    std::memcpy(recvbuff, acc.data(), bytes);
  });
}

ncclResult_t ncclReduceScatter(const void *sendbuff, void *recvbuff, size_t recvcount,
                               ncclDataType_t datatype, ncclRedOp_t op, ncclComm_t comm,
                               cudaStream_t stream) {
  size_t bytes = 0;
  if (ncclResult_t rc = checkCall("ncclReduceScatter", comm, recvcount, datatype, &bytes))
    return rc;
  if (ncclResult_t rc = checkReduce("ncclReduceScatter", datatype, op))
    return rc;
  if (bytes && (!sendbuff || !recvbuff))
    return fail(ncclInvalidArgument, "ncclReduceScatter: NULL buffer");
  // Each rank gets block r of every rank's send buffer and folds them in
  // rank order: the same bits as block r of an all_reduce.
  return enqueue("ncclReduceScatter", stream, [=] {
    const int n = comm->size;
    std::vector<char> send(static_cast<const char *>(sendbuff),
                           static_cast<const char *>(sendbuff) + bytes * n);
    std::vector<char> all(bytes * n);
    std::vector<MPI_Request> req(1);
    checkMpi(comm,
             MPI_Ialltoall(send.data(), static_cast<int>(bytes), MPI_BYTE, all.data(),
                           static_cast<int>(bytes), MPI_BYTE, comm->mpi, &req[0]),
             "ncclReduceScatter");
    waitAll(comm, "ncclReduceScatter", req);
    std::vector<char> acc = reduceBlock(comm, all, bytes, 0, recvcount, bytes, datatype, op);
    std::memcpy(recvbuff, acc.data(), bytes);
  });
}

ncclResult_t ncclAllGather(const void *sendbuff, void *recvbuff, size_t sendcount,
                           ncclDataType_t datatype, ncclComm_t comm, cudaStream_t stream) {
  size_t bytes = 0;
  if (ncclResult_t rc = checkCall("ncclAllGather", comm, sendcount, datatype, &bytes))
    return rc;
  if (bytes && (!sendbuff || !recvbuff))
    return fail(ncclInvalidArgument, "ncclAllGather: NULL buffer");
  return enqueue("ncclAllGather", stream, [=] {
    std::vector<char> all = gatherAll(comm, sendbuff, bytes, "ncclAllGather");
    std::memcpy(recvbuff, all.data(), all.size());
  });
}

ncclResult_t ncclBroadcast(const void *sendbuff, void *recvbuff, size_t count,
                           ncclDataType_t datatype, int root, ncclComm_t comm,
                           cudaStream_t stream) {
  size_t bytes = 0;
  if (ncclResult_t rc = checkCall("ncclBroadcast", comm, count, datatype, &bytes))
    return rc;
  if (root < 0 || root >= comm->size)
    return fail(ncclInvalidArgument,
                "ncclBroadcast: root %d is not a rank of a communicator "
                "of %d",
                root, comm->size);
  if (bytes && (!recvbuff || (comm->rank == root && !sendbuff)))
    return fail(ncclInvalidArgument, "ncclBroadcast: NULL buffer");
  return enqueue("ncclBroadcast", stream, [=] {
    std::vector<char> buf(bytes);
    if (comm->rank == root)
      std::memcpy(buf.data(), sendbuff, bytes);
    std::vector<MPI_Request> req(1);
    checkMpi(comm,
             MPI_Ibcast(buf.data(), static_cast<int>(bytes), MPI_BYTE, root, comm->mpi, &req[0]),
             "ncclBroadcast");
    waitAll(comm, "ncclBroadcast", req);
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
