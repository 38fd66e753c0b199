// Small POSIX socket helpers (see socket_util.h).
#include "comm/socket_util.h"

#include "core/internal.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

namespace pzrt::net {

int Deadline::pollMs(int cap) const {
  if (timeoutS_ <= 0)
    return cap;
  double left = (timeoutS_ - elapsed()) * 1000.0;
  int ms = left <= 0 ? 0 : static_cast<int>(left) + 1;
  return cap >= 0 ? std::min(ms, cap) : ms;
}

void putU32(char *p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

void putU32(std::string &s, uint32_t v) {
  char b[4];
  putU32(b, v);
  s.append(b, 4);
}

uint32_t getU32(const char *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= static_cast<uint32_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

void putU64(char *p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

uint64_t getU64(const char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= static_cast<uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::string errnoText(int e) { return std::strerror(e); }

std::string sockaddrText(const sockaddr *sa) {
  char host[NI_MAXHOST] = "?", serv[NI_MAXSERV] = "?";
  socklen_t len = sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV);
  return sa->sa_family == AF_INET6 ? format("[%s]:%s", host, serv) : format("%s:%s", host, serv);
}

void closeFd(int &fd) {
  if (fd >= 0)
    ::close(fd);
  fd = -1;
}

void setNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK); }

void setNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

AddrList::~AddrList() {
  if (head)
    freeaddrinfo(head);
}

int resolveAddr(const std::string &host, int port, AddrList *out, std::string *err) {
  addrinfo hints;
  std::memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  std::string p = format("%d", port);
  int rc = getaddrinfo(host.c_str(), p.c_str(), &hints, &out->head);
  if (rc != 0)
    *err = rc == EAI_SYSTEM ? errnoText(errno) : gai_strerror(rc);
  return rc;
}

int sendAll(int fd, const std::string &data, const Deadline &dl, std::string *err) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      *err = errnoText(errno);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int pr = ::poll(&p, 1, dl.pollMs(1000));
    if (pr == 0 && dl.passed()) {
      *err = "timed out";
      return -1;
    }
  }
  return 0;
}

int recvAll(int fd, size_t n, std::string *data, const Deadline &dl, std::string *err) {
  data->assign(n, '\0');
  size_t off = 0;
  while (off < n) {
    ssize_t got = ::recv(fd, &(*data)[off], n - off, MSG_DONTWAIT);
    if (got > 0) {
      off += static_cast<size_t>(got);
      continue;
    }
    if (got == 0)
      return 1;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      *err = errnoText(errno);
      return -1;
    }
    if (dl.passed()) {
      *err = "timed out";
      return -1;
    }
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, dl.pollMs(1000));
  }
  return 0;
}

int connectTo(const addrinfo *ai, const Deadline &dl, int capMs, std::string *err) {
  int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
  if (fd < 0) {
    *err = errnoText(errno);
    return -1;
  }
  setNonBlocking(fd);
  int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int pr = ::poll(&p, 1, dl.pollMs(capMs));
    int soErr = 0;
    socklen_t len = sizeof(soErr);
    if (pr > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soErr, &len) == 0 && soErr == 0)
      rc = 0;
    else
      errno = pr > 0 ? soErr : ETIMEDOUT;
  }
  if (rc == 0) {
    setNoDelay(fd);
    return fd;
  }
  *err = errnoText(errno);
  ::close(fd);
  return -1;
}

int connectRetrying(const addrinfo *head, const Deadline &dl, std::string *err) {
  for (int backoffMs = 20;; backoffMs = std::min(backoffMs * 2, 500)) {
    for (const addrinfo *ai = head; ai; ai = ai->ai_next) {
      int fd = connectTo(ai, dl, 2000, err);
      if (fd >= 0)
        return fd;
    }
    if (dl.passed())
      return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(dl.pollMs(backoffMs)));
  }
}

int listenAt(const sockaddr *addr, socklen_t addrLen, int backlog, int *port, std::string *err) {
  int fd = ::socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *err = errnoText(errno);
    return -1;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, addr, addrLen) != 0 || ::listen(fd, backlog) != 0) {
    *err = errnoText(errno);
    ::close(fd);
    return -1;
  }
  setNonBlocking(fd);
  sockaddr_storage bound;
  socklen_t len = sizeof(bound);
  getsockname(fd, reinterpret_cast<sockaddr *>(&bound), &len);
  *port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6 *>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in *>(&bound)->sin_port);
  return fd;
}

} // namespace pzrt::net
