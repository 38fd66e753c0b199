// MPI communicator: non-blocking MPI calls polled against a deadline, so that
// a lost peer ends the job with a message instead of hanging it.
#include "comm/comm_impl.h"
#include "comm/half_words.h"
#include "core/internal.h"

#include "pzrt/env.h"

#include "comm/mpi_api.h"

#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <sched.h>
#include <sys/prctl.h>
#include <vector>

using pzrt::fail;

namespace {

bool gWeInitialized = false;
// MPI may be called from any thread, one at a time (MPI_THREAD_SERIALIZED
// or better was provided).
std::atomic<bool> gSerialized{false};

bool mpiActive() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

void abortJob(int code) {
  if (mpiActive())
    MPI_Abort(MPI_COMM_WORLD, code);
}

MPI_Datatype rawType(pzrt_dtype d) {
  switch (d) {
  case PZRT_F32:
    return MPI_FLOAT;
  case PZRT_I64:
    return MPI_INT64_T;
  case PZRT_U8: // moved, never reduced (the emulator's fake NCCL)
    return MPI_BYTE;
  default: // F16 / BF16 moved as raw 16-bit words
    return MPI_UINT16_T;
  }
}

using pzrt::isHalf;

// A send in flight (pzrt_isend), with what a timeout message names.
struct PendingSend {
  MPI_Request req;
  size_t count;
  pzrt_dtype dtype;
};

struct MpiComm final : pzrt_comm {
  MPI_Comm comm = MPI_COMM_NULL;

  ~MpiComm() override {
    if (comm != MPI_COMM_NULL && mpiActive())
      MPI_Comm_free(&comm);
  }
  bool isMpi() const override { return true; }
  bool callableFromAnyThread() const override { return pzrt::mpiCallableFromAnyThread(); }

  void check(int rc, const char *op) {
    if (rc == MPI_SUCCESS)
      return;
    char buf[MPI_MAX_ERROR_STRING];
    int len = 0;
    MPI_Error_string(rc, buf, &len);
    pzrt::fatal(1, "rank %d (of %d): %s on communicator '%s' failed: %s", worldRank, worldSize,
                op, name.c_str(), buf);
  }

  /// Sets the calling thread's timer slack to 1 us once, so that a 5 us
  /// sleep sleeps about 5 us rather than the default slack of 50 us more.
  static void shortTimerSlack() {
    thread_local bool set = false;
    if (!set) {
      prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
      set = true;
    }
  }

  // Polls the requests until all complete or the deadline passes.
  void wait(int n, MPI_Request *reqs, MPI_Status *statuses, const char *op, size_t count,
            pzrt_dtype dtype) {
    auto start = std::chrono::steady_clock::now();
    for (long spins = 0;; ++spins) {
      int done = 0;
      check(MPI_Testall(n, reqs, &done, statuses ? statuses : MPI_STATUSES_IGNORE), op);
      if (done)
        return;
      double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (timeoutS > 0 && waited > timeoutS)
        pzrt::fatal(124,
                    "rank %d (of %d): %s on communicator '%s' (rank %d of %d, %zu elements of "
                    "%s) timed out after %.3f s; a peer failed or did not call it",
                    worldRank, worldSize, op, name.c_str(), rank, size, count,
                    pzrt_dtype_name(dtype), waited);
      if (spins < 2000) {
        sched_yield();
      } else {
        // A long wait sleeps between polls, so that ranks sharing cores
        // leave them to the ranks that compute. The sleep must stay short:
        // a message that arrives during it, and a rendezvous that needs
        // this rank's next MPI call to move, wait for its end, on the
        // pipeline's critical path (50 us sleeps, stretched to about 100 by
        // the default timer slack, added 0.1-0.2 ms per transfer there).
        shortTimerSlack();
        timespec ts{0, 5000};
        nanosleep(&ts, nullptr);
      }
    }
  }

  static MPI_Op mpiOp(pzrt_reduce_op op) { return op == PZRT_REDUCE_MAX ? MPI_MAX : MPI_SUM; }

  int allReduce(const void *send, void *recv, size_t count, pzrt_dtype dtype,
                pzrt_reduce_op op) override {
    MPI_Request req;
    int n = static_cast<int>(count);
    if (isHalf(dtype)) // a timeout still names the caller's dtype
      return pzrt::reduceInFp32(send, count, recv, count, dtype, [&](const float *in, float *out) {
        check(MPI_Iallreduce(in, out, n, MPI_FLOAT, mpiOp(op), comm, &req), "all_reduce");
        wait(1, &req, nullptr, "all_reduce", count, dtype);
        return 0;
      });
    const void *src = send == recv ? MPI_IN_PLACE : send;
    check(MPI_Iallreduce(src, recv, n, rawType(dtype), mpiOp(op), comm, &req), "all_reduce");
    wait(1, &req, nullptr, "all_reduce", count, dtype);
    return 0;
  }

  int reduceScatter(const void *send, void *recv, size_t count, pzrt_dtype dtype,
                    pzrt_reduce_op op) override {
    MPI_Request req;
    int n = static_cast<int>(count);
    if (isHalf(dtype))
      return pzrt::reduceInFp32(
          send, count * static_cast<size_t>(size), recv, count, dtype,
          [&](const float *in, float *out) {
            check(MPI_Ireduce_scatter_block(in, out, n, MPI_FLOAT, mpiOp(op), comm, &req),
                  "reduce_scatter");
            wait(1, &req, nullptr, "reduce_scatter", count, dtype);
            return 0;
          });
    check(MPI_Ireduce_scatter_block(send, recv, n, rawType(dtype), mpiOp(op), comm, &req),
          "reduce_scatter");
    wait(1, &req, nullptr, "reduce_scatter", count, dtype);
    return 0;
  }

  int allGather(const void *send, void *recv, size_t count, pzrt_dtype dtype) override {
    MPI_Request req;
    int n = static_cast<int>(count);
    check(MPI_Iallgather(send, n, rawType(dtype), recv, n, rawType(dtype), comm, &req),
          "all_gather");
    wait(1, &req, nullptr, "all_gather", count, dtype);
    return 0;
  }

  int allToAll(const void *send, void *recv, size_t count, pzrt_dtype dtype) override {
    MPI_Request req;
    int n = static_cast<int>(count);
    check(MPI_Ialltoall(send, n, rawType(dtype), recv, n, rawType(dtype), comm, &req),
          "all_to_all");
    wait(1, &req, nullptr, "all_to_all", count, dtype);
    return 0;
  }

  int broadcast(void *buf, size_t count, pzrt_dtype dtype, int root) override {
    MPI_Request req;
    check(MPI_Ibcast(buf, static_cast<int>(count), rawType(dtype), root, comm, &req), "broadcast");
    wait(1, &req, nullptr, "broadcast", count, dtype);
    return 0;
  }

  int sendRecv(const void *send, size_t sendCount, int dst, void *recv, size_t recvCount, int src,
               pzrt_dtype dtype, int tag) override {
    MPI_Request reqs[2];
    MPI_Status statuses[2];
    int n = 0;
    const char *op = sendCount && recvCount ? "sendrecv" : (sendCount ? "send" : "recv");
    if (recvCount)
      check(MPI_Irecv(recv, static_cast<int>(recvCount), rawType(dtype), src, tag, comm, &reqs[n++]),
            op);
    if (sendCount)
      check(MPI_Isend(send, static_cast<int>(sendCount), rawType(dtype), dst, tag, comm,
                      &reqs[n++]),
            op);
    wait(n, reqs, statuses, op, sendCount ? sendCount : recvCount, dtype);
    if (recvCount) {
      int got = 0;
      MPI_Get_count(&statuses[0], rawType(dtype), &got);
      if (static_cast<size_t>(got) != recvCount)
        return fail("rank %d (of %d): recv on communicator '%s' from rank %d (tag %d) expected "
                    "%zu elements but the message had %d",
                    worldRank, worldSize, name.c_str(), src, tag, recvCount, got);
    }
    return 0;
  }

  int isend(const void *send, size_t count, int dst, pzrt_dtype dtype, int tag,
            void **handle) override {
    auto *req = new PendingSend{MPI_REQUEST_NULL, count, dtype};
    check(MPI_Isend(send, static_cast<int>(count), rawType(dtype), dst, tag, comm, &req->req),
          "send");
    *handle = req;
    return 0;
  }

  int testSend(void *handle, bool *done) override {
    auto *req = static_cast<PendingSend *>(handle);
    *done = true;
    if (!req)
      return 0;
    int flag = 0;
    check(MPI_Test(&req->req, &flag, MPI_STATUS_IGNORE), "send");
    *done = flag != 0;
    return 0;
  }

  int waitSend(void *handle) override {
    auto *req = static_cast<PendingSend *>(handle);
    if (!req)
      return 0;
    wait(1, &req->req, nullptr, "send", req->count, req->dtype);
    delete req;
    return 0;
  }

  int barrier() override {
    MPI_Request req;
    check(MPI_Ibarrier(comm, &req), "barrier");
    wait(1, &req, nullptr, "barrier", 0, PZRT_F32);
    return 0;
  }

  pzrt_comm *split(int color, int key, const std::string &newName) override {
    // MPI_Comm_split blocks; a barrier with a deadline first makes sure every
    // rank arrived, so a missing peer times out instead of hanging.
    MPI_Request req;
    check(MPI_Ibarrier(comm, &req), "split");
    wait(1, &req, nullptr, "split", 0, PZRT_F32);
    auto *c = new MpiComm();
    check(MPI_Comm_split(comm, color, key, &c->comm), "split");
    MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->comm, &c->rank);
    MPI_Comm_size(c->comm, &c->size);
    c->worldRank = worldRank;
    c->worldSize = worldSize;
    c->timeoutS = timeoutS;
    c->name = newName;
    return c;
  }
};

} // namespace

namespace pzrt {

pzrt_comm *createMpiComm() {
  int init = 0, fin = 0;
  MPI_Finalized(&fin);
  if (fin) {
    fail("cannot create an MPI communicator: MPI is already finalized");
    return nullptr;
  }
  MPI_Initialized(&init);
  if (!init) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
      fail("MPI_Init_thread failed");
      return nullptr;
    }
    gWeInitialized = true;
  }
  int level = MPI_THREAD_SINGLE;
  MPI_Query_thread(&level);
  gSerialized.store(level >= MPI_THREAD_SERIALIZED, std::memory_order_release);
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  setTerminateHandler(abortJob);
  auto *c = new MpiComm();
  if (MPI_Comm_dup(MPI_COMM_WORLD, &c->comm) != MPI_SUCCESS) {
    delete c;
    fail("MPI_Comm_dup(MPI_COMM_WORLD) failed");
    return nullptr;
  }
  MPI_Comm_set_errhandler(c->comm, MPI_ERRORS_RETURN);
  MPI_Comm_rank(c->comm, &c->rank);
  MPI_Comm_size(c->comm, &c->size);
  c->worldRank = c->rank;
  c->worldSize = c->size;
  c->timeoutS = defaultCommTimeout();
  c->name = "world";
  pzrt_env env;
  if (pzrt_env_discover(&env) == 0 && std::strcmp(env.source, "none") != 0 &&
      (env.world_size != c->size || env.rank != c->rank)) {
    fail("the launcher (%s) says rank %d of %d but MPI says rank %d of %d; was the program "
         "started by a different launcher than its MPI library expects?",
         env.source, env.rank, env.world_size, c->rank, c->size);
    delete c;
    return nullptr;
  }
  return c;
}

// Read on every transfer, also while the communication thread is inside
// MPI: a flag set when the world communicator is created and cleared before
// MPI_Finalize, so that asking calls no MPI function.
bool mpiCallableFromAnyThread() { return gSerialized.load(std::memory_order_acquire); }

void finalizeMpi() {
  gSerialized.store(false, std::memory_order_release);
  if (gWeInitialized && mpiActive())
    MPI_Finalize();
  gWeInitialized = false;
}

} // namespace pzrt
