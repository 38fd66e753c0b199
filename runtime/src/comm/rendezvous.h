// TCP rendezvous for launches without MPI (torchrun-style environments):
// rank 0 listens on MASTER_ADDR:MASTER_PORT, every other rank connects, and
// they exchange small blobs (the NCCL unique id). POSIX sockets only.
//
// Protocol (all integers u32 little-endian):
//   peer -> rank 0: "PZRV", version, rank, size, token length, blob length,
//                   token, blob
//   rank 0 -> peer: status (0 ok, 1 rejected, 2 failed), then
//                   ok: root length, root, and for each rank r in order:
//                       length of r's blob, blob
//                   else: message length, message (why, for the peer to report)
// A peer whose token, size or rank is wrong is rejected and told why; rank 0
// keeps waiting for the real ranks, and names the rejected peers if they never
// come. Rank 0 answers nobody before every rank has joined, so a peer learns
// the result only when it is complete.
//
// The token is compared in constant time but travels in clear text: it keeps
// other jobs and stray connections out on a trusted network; it is no
// defence against an attacker who can read the traffic (neither is NCCL's own
// bootstrap, which this one feeds).
#ifndef PZRT_SRC_COMM_RENDEZVOUS_H
#define PZRT_SRC_COMM_RENDEZVOUS_H

#include <memory>
#include <string>
#include <vector>

namespace pzrt {

struct RendezvousOptions {
  std::string addr; // MASTER_ADDR: a numeric address or a host name of rank 0's host
  int port = 0;     // MASTER_PORT; 0 lets rank 0 pick an ephemeral port (tests)
  int rank = 0;
  int size = 1;
  std::string token; // PZRT_JOB_TOKEN, the same on every rank
  double timeoutS = 600.0;
};

struct RendezvousResult {
  std::string root;               // rank 0's root blob
  std::vector<std::string> blobs; // every rank's own blob, by rank
};

// Limits, so that a stray peer cannot make rank 0 allocate much.
constexpr size_t kRendezvousMaxBlob = 64 * 1024;
constexpr size_t kRendezvousMaxToken = 4096;

// Rank 0's listening side, separate from the exchange so that a test can
// learn an ephemeral port before the other ranks start.
class RendezvousServer {
public:
  ~RendezvousServer();
  RendezvousServer(const RendezvousServer &) = delete;
  RendezvousServer &operator=(const RendezvousServer &) = delete;

  // Binds to exactly opts.addr:opts.port and listens. nullptr with
  // pzrt_last_error() on failure.
  static std::unique_ptr<RendezvousServer> listen(const RendezvousOptions &opts);
  int port() const { return port_; }
  // Waits (up to opts.timeoutS) for ranks 1..size-1, then sends every rank
  // the result. 0, or -1 with pzrt_last_error() naming the missing ranks and
  // the rejected peers.
  int run(const std::string &rootBlob, const std::string &myBlob, RendezvousResult *out);

private:
  RendezvousServer() = default;
  RendezvousOptions opts_;
  int fd_ = -1;
  int port_ = 0;
};

// One rank's side of the exchange: rank 0 listens and runs the server, every
// other rank connects (retrying until rank 0 listens or the timeout passes).
// rootBlob is used on rank 0 only. A size-1 "exchange" needs no network.
int rendezvous(const RendezvousOptions &opts, const std::string &rootBlob,
               const std::string &myBlob, RendezvousResult *out);

// Options from the launcher environment (pzrt_env_discover: RANK,
// WORLD_SIZE, MASTER_ADDR, MASTER_PORT), PZRT_JOB_TOKEN and the communicator
// timeout (PZRT_COMM_TIMEOUT). A multi-rank launch needs all of them.
int rendezvousOptionsFromEnv(RendezvousOptions *out);

// Equal contents, in time that depends on the lengths only.
bool constantTimeEqual(const std::string &a, const std::string &b);

} // namespace pzrt

#endif // PZRT_SRC_COMM_RENDEZVOUS_H
