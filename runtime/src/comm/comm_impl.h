// Internal communicator interface. comm.cpp validates arguments, counts bytes
// and dispatches to an implementation (single-rank, MPI, or NCCL on CUDA
// devices).
#ifndef PZRT_SRC_COMM_COMM_IMPL_H
#define PZRT_SRC_COMM_COMM_IMPL_H

#include "pzrt/comm.h"

#include <string>

struct pzrt_comm {
  virtual ~pzrt_comm() = default;

  int rank = 0;
  int size = 1;
  int worldRank = 0;
  int worldSize = 1;
  double timeoutS = 600.0;
  std::string name = "world";

  virtual bool isMpi() const = 0;
  // Whether any one thread at a time may call it (the CPU device's
  // communication thread runs transfers then, comm_thread.h).
  virtual bool callableFromAnyThread() const { return false; }
  // Whether buffers are device memory (NCCL): comm.cpp must then never read
  // them on the host (no host copy of overlapping buffers).
  virtual bool deviceBuffers() const { return false; }
  // Device communicators (NCCL): later operations are enqueued on `stream`
  // (a cudaStream_t) and return once issued, without waiting for the
  // device. The caller orders them with events, and the host learns of a
  // failure or a hang when it next waits for the device: the CUDA device's
  // waits poll every communicator (core/wait_watch.h). NULL: each operation
  // runs on the communicator's own stream and returns when it is done.
  // 0, or -1 with pzrt_last_error() for a communicator of host buffers.
  virtual int enqueueOn(void *stream);
  // The element types the implementation moves and reduces.
  virtual bool supportsDtype(pzrt_dtype d) const {
    return d == PZRT_F32 || d == PZRT_BF16 || d == PZRT_F16 || d == PZRT_I64;
  }
  // Buffers never overlap here, except all_reduce with send == recv and, on
  // device buffers, NCCL's in-place all_gather and reduce_scatter.
  virtual int allReduce(const void *send, void *recv, size_t count, pzrt_dtype dtype,
                        pzrt_reduce_op op) = 0;
  virtual int allGather(const void *send, void *recv, size_t sendCount, pzrt_dtype dtype) = 0;
  virtual int reduceScatter(const void *send, void *recv, size_t recvCount, pzrt_dtype dtype,
                            pzrt_reduce_op op) = 0;
  virtual int allToAll(const void *send, void *recv, size_t count, pzrt_dtype dtype) = 0;
  virtual int broadcast(void *buf, size_t count, pzrt_dtype dtype, int root) = 0;
  virtual int sendRecv(const void *send, size_t sendCount, int dst, void *recv, size_t recvCount,
                       int src, pzrt_dtype dtype, int tag) = 0;
  // A posted send: *handle is what waitSend completes. By default a blocking
  // send (handle nullptr), for communicators without a progress engine.
  virtual int isend(const void *send, size_t count, int dst, pzrt_dtype dtype, int tag,
                    void **handle) {
    *handle = nullptr;
    return sendRecv(send, count, dst, nullptr, 0, -1, dtype, tag);
  }
  virtual int waitSend(void *handle) { return handle ? -1 : 0; }
  // Whether a posted send is complete, without waiting (it moves what it
  // can first). *done true for a NULL handle. 0, or -1 with an error.
  virtual int testSend(void *handle, bool *done) {
    *done = handle == nullptr;
    return handle ? -1 : 0;
  }
  virtual int barrier() = 0;
  // Connects this rank's point-to-point channels to every peer now, every
  // rank of the communicator together (NCCL connects them at the first
  // send or receive otherwise, which may then wait on the host for a peer
  // that is itself waiting elsewhere). 0, or -1 with pzrt_last_error().
  virtual int connectPeers() { return 0; }
  virtual pzrt_comm *split(int color, int key, const std::string &name) = 0;
};

struct pzrt_send_request {
  pzrt_comm *comm;
  void *handle;
};

namespace pzrt {
pzrt_comm *createSingleComm();
pzrt_comm *createMpiComm(); // MPI_COMM_WORLD
// The TCP host communicator over every rank of a launch without MPI
// (comm_tcp.cpp; RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, PZRT_JOB_TOKEN).
pzrt_comm *createTcpComm();
// The payload bytes a TCP communicator's connections have written (0 for
// other communicators).
uint64_t tcpPayloadBytesSent(const pzrt_comm *comm);
void finalizeMpi();
// Whether MPI is initialized with MPI_THREAD_SERIALIZED or better: any one
// thread at a time may call it (the CPU device's communication thread).
bool mpiCallableFromAnyThread();
// Adds to comm.h's counters of a kind (pzrt_comm_bytes, pzrt_comm_calls)
// what transfers that ran without the host code that counts them moved: a
// CUDA graph's replay (train/graphs.cpp).
void addCommCount(pzrt_coll_kind kind, uint64_t bytes, uint64_t calls);
// The host communicator createNcclComm bootstraps the NCCL world over (its
// `control`; NULL without one). The emulator's fake NCCL (0019) builds its
// communicators on it, so it runs under MPI and under TCP alike.
pzrt_comm *ncclBootstrapComm();
void setNcclBootstrapComm(pzrt_comm *comm);
// Default timeout: PZRT_COMM_TIMEOUT if set and valid, else 600 s (as NCCL's watchdog).
double defaultCommTimeout();

#ifdef PZRT_HAVE_NCCL
// The world NCCL communicator (pzrt_nccl; buffers are CUDA device memory) on
// CUDA device `device`, or, for -1, the launcher's local rank modulo the
// visible devices. Rank and size come from MPI_COMM_WORLD when MPI is
// initialized (the unique id then travels by MPI_Bcast), else from the
// launcher environment (the id travels over the TCP rendezvous: MASTER_ADDR,
// MASTER_PORT, PZRT_JOB_TOKEN). nullptr with pzrt_last_error() when there is
// no CUDA device, the bootstrap fails or times out, or NCCL fails to start.
// With `control` (a host communicator over the same ranks, MPI or TCP), rank
// and size are its, and the unique id travels by its broadcast.
pzrt_comm *createNcclComm(int device = -1, pzrt_comm *control = nullptr);
#endif
} // namespace pzrt

#endif // PZRT_SRC_COMM_COMM_IMPL_H
