// Small POSIX socket helpers shared by the TCP rendezvous (rendezvous.cpp)
// and the TCP host communicator (tcp_mesh.cpp).
#ifndef PZRT_SRC_COMM_SOCKET_UTIL_H
#define PZRT_SRC_COMM_SOCKET_UTIL_H

#include <chrono>
#include <cstdint>
#include <string>

#include <netdb.h>
#include <sys/socket.h>

namespace pzrt::net {

using Clock = std::chrono::steady_clock;

// A point in time after which waits fail; timeout <= 0 means never.
class Deadline {
public:
  explicit Deadline(double timeoutS) : timeoutS_(timeoutS), start_(Clock::now()) {}
  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  bool passed() const { return timeoutS_ > 0 && elapsed() >= timeoutS_; }
  // Milliseconds left for poll(), at most `cap` (-1 = no deadline, no cap).
  int pollMs(int cap = -1) const;

private:
  double timeoutS_;
  Clock::time_point start_;
};

void putU32(std::string &s, uint32_t v);
void putU32(char *p, uint32_t v);
uint32_t getU32(const char *p);
void putU64(char *p, uint64_t v);
uint64_t getU64(const char *p);

std::string errnoText(int e);
// "host:port" or "[v6]:port", numeric.
std::string sockaddrText(const sockaddr *sa);
void closeFd(int &fd);
void setNonBlocking(int fd);
void setNoDelay(int fd);

struct AddrList {
  addrinfo *head = nullptr;
  AddrList() = default;
  AddrList(const AddrList &) = delete;
  AddrList &operator=(const AddrList &) = delete;
  ~AddrList();
};
// Resolves host:port for a stream socket. 0, or a non-zero getaddrinfo code
// with *err set.
int resolveAddr(const std::string &host, int port, AddrList *out, std::string *err);

// Writes all of `data` before the deadline. 0, or -1 with *err set.
int sendAll(int fd, const std::string &data, const Deadline &dl, std::string *err);
// Reads exactly n bytes before the deadline. 0; 1 on EOF; -1 on timeout or
// an error (*err says which: "timed out" for the timeout).
int recvAll(int fd, size_t n, std::string *data, const Deadline &dl, std::string *err);
// Connects a non-blocking stream socket to one address before the deadline
// (at most capMs per attempt). The connected fd, or -1 with *err set.
int connectTo(const addrinfo *ai, const Deadline &dl, int capMs, std::string *err);
// Connects to the first of the addresses that accepts, trying them all again
// with a growing pause (a peer not listening yet, a full backlog) until the
// deadline. The connected fd, or -1 with *err the last error.
int connectRetrying(const addrinfo *head, const Deadline &dl, std::string *err);
// A non-blocking listening stream socket bound to exactly `addr` (its port 0:
// a free one), with SO_REUSEADDR. The fd with *port the bound port, or -1
// with *err set.
int listenAt(const sockaddr *addr, socklen_t addrLen, int backlog, int *port, std::string *err);

} // namespace pzrt::net

#endif // PZRT_SRC_COMM_SOCKET_UTIL_H
