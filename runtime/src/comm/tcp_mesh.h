// The connections of the TCP host communicator (comm_tcp.cpp): one TCP
// connection between every pair of ranks, set up after the rendezvous
// (rendezvous.h) has told every rank where the others listen, and a small
// progress engine that moves tagged messages over them. It is what MPI gives
// the host communicator under mpirun, for launches without MPI
// (torchrun-style environments); docs/design/0021-tcp-host-comm.md.
//
// Messages. Each is a frame: kind (u32: data or abort), tag (u32),
// communicator id (u64), length (u64), then the bytes. A receive matches the
// first message from its peer with the same communicator id and tag, in the
// order they were sent (MPI's non-overtaking rule); a message that arrives
// before its receive is posted is kept until it is.
//
// Progress. Every wait moves every connection: it writes what is queued, and
// reads what arrives, so two ranks that send to each other first never
// deadlock. A background thread does the same every few milliseconds while
// no operation runs, so that a posted send keeps moving while its rank
// computes, and an abort reaches a rank that is not communicating.
//
// Failures. A rank that ends the job through pzrt::fatal sends every peer an
// abort frame with its message first; a peer that reads one ends too, with
// exit code 1, naming that rank and its message. A peer whose connection
// closes without one (killed, or gone) fails the operations that need it.
// Every wait has the communicator's deadline (exit code 124).
#ifndef PZRT_SRC_COMM_TCP_MESH_H
#define PZRT_SRC_COMM_TCP_MESH_H

#include "comm/rendezvous.h"
#include "pzrt/types.h"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pzrt::tcp {

constexpr size_t kFrameHeader = 24;
// The tag of collective traffic; user messages have tags 0..32767.
constexpr uint32_t kCollectiveTag = 0x40000000u;

// One send or receive, owned by the caller until it completes.
struct Op {
  bool isSend = false;
  int peer = -1; // world rank
  uint64_t comm = 0;
  uint32_t tag = 0;
  char *buf = nullptr;
  size_t bytes = 0;
  // What an error names: the peer's rank in the communicator, the element size.
  int commPeer = -1;
  size_t elemSize = 1;
  // Progress.
  size_t moved = 0;
  bool complete = false;
  std::string error; // a receive whose message had another length
  char header[kFrameHeader];
  size_t headerMoved = 0;
};

// What a wait's messages name, and when its operation started (the
// deadline is the operation's, across all its waits).
struct WaitInfo {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  const char *op = "";
  const std::string *commName = nullptr;
  int commRank = 0, commSize = 1;
  size_t count = 0;
  pzrt_dtype dtype = PZRT_F32;
  double timeoutS = 0;
};

class Mesh {
public:
  // Rendezvous, then connects every pair. nullptr with pzrt_last_error().
  static std::shared_ptr<Mesh> create(const RendezvousOptions &opts);
  ~Mesh();
  Mesh(const Mesh &) = delete;
  Mesh &operator=(const Mesh &) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  // Operations run under this lock, one thread at a time.
  std::recursive_timed_mutex &mutex() { return mutex_; }
  // Queues a send (and tries to write it now), or posts a receive (which a
  // message already here completes at once).
  void post(Op *op);
  // Moves every connection until the operations complete. 0, or -1 with
  // pzrt_last_error() when a receive's message had another length. Ends the
  // process on a timeout, a lost peer or an abort from one.
  int wait(Op *const *ops, size_t n, const WaitInfo &info);
  // Withdraws operations an error leaves posted, before their memory goes:
  // receives not yet matched are removed (one whose message is arriving
  // drops the rest of it), sends not yet started are removed, and a send
  // half written is finished.
  void cancel(Op *const *ops, size_t n, const WaitInfo &info);

  // Payload bytes written to the peers so far (every message; headers not
  // counted), for tests that compare them with the ring formulas.
  uint64_t payloadBytesSent() const { return sentBytes_.load(); }
  // One round without waiting (moves what can move); under the lock.
  void progressNow() { progress(0); }

  // Called on fatal(): sends every peer an abort frame with `message`. When
  // another thread is inside an operation, that thread sends them (it is
  // woken), and this one waits for it (at most a few seconds).
  void abortPeers(const std::string &message);

private:
  struct Unexpected {
    uint64_t comm;
    uint32_t tag;
    std::vector<char> data;
  };
  struct Peer {
    int fd = -1;
    bool closed = false;     // no more data from it
    std::string closedWhy;   // how it closed
    std::deque<Op *> sends;  // in order; the front is being written
    std::deque<Op *> recvs;  // posted, unmatched
    std::deque<Unexpected> unexpected;
    // The frame being read.
    char header[kFrameHeader];
    size_t headerGot = 0;
    bool inBody = false;
    uint32_t kind = 0;
    uint64_t comm = 0;
    uint32_t tag = 0;
    uint64_t length = 0;
    uint64_t bodyGot = 0;
    Op *target = nullptr;   // a posted receive of the right length
    bool discarding = false; // a receive of another length failed; dropped
    std::vector<char> body; // else the message is kept here
  };

  Mesh() = default;
  int connectAll(const RendezvousOptions &opts, int listenFd,
                 const std::vector<std::string> &where);
  // One round: polls every connection up to timeoutMs and moves what can move.
  void progress(int timeoutMs);
  void readPeer(int p);
  void writePeer(int p);
  // Writes the front send only; true when it is complete (and popped).
  bool writeFront(int p);
  void sendAbortFrames(const std::string &message);
  // A lock holder sends the abort frames another thread asked for.
  void serviceAbort();
  void wake();
  void finishBody(int p);
  bool matchUnexpected(Peer &peer, Op *op);
  void peerClosed(int p, const std::string &why);
  [[noreturn]] void lost(const Op &op, const WaitInfo &info);
  void watch();

  int rank_ = 0, size_ = 1;
  std::vector<Peer> peers_;
  std::recursive_timed_mutex mutex_;
  std::atomic<uint64_t> sentBytes_{0};
  const WaitInfo *current_ = nullptr; // the wait in progress, for messages
  std::thread watcher_;
  std::atomic<bool> stop_{false};
  std::vector<char> discard_ = std::vector<char>(64 * 1024); // dropped bytes land here
  // An abort asked for by a thread that could not take the lock.
  std::mutex abortMutex_;
  std::string abortMessage_;
  std::atomic<bool> abortRequested_{false}, abortSent_{false};
  int wakeFd_ = -1; // an eventfd in every poll, to wake a waiting thread
};

} // namespace pzrt::tcp

#endif // PZRT_SRC_COMM_TCP_MESH_H
