// TCP rendezvous (see rendezvous.h): rank 0 multiplexes every connection
// with poll(), so a peer that connects and says nothing delays nobody, and
// every wait has the communicator's deadline.
#include "comm/rendezvous.h"

#include "comm/comm_impl.h"
#include "comm/socket_util.h"
#include "core/internal.h"

#include "pzrt/env.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>

using pzrt::fail;

namespace pzrt {
namespace {

using namespace net;

constexpr uint32_t kMagic = 0x56525a50; // "PZRV" read as little-endian u32
constexpr uint32_t kVersion = 1;
constexpr size_t kHelloHeader = 6 * 4;
enum : uint32_t { kStatusOk = 0, kStatusRejected = 1, kStatusFailed = 2 };

// "1, 3-5, 8": the ranks whose flag is false, from 1 on.
std::string missingRanks(const std::vector<bool> &joined) {
  std::string s;
  size_t n = joined.size();
  for (size_t r = 1; r < n;) {
    if (joined[r]) {
      ++r;
      continue;
    }
    size_t e = r;
    while (e + 1 < n && !joined[e + 1])
      ++e;
    if (!s.empty())
      s += ", ";
    s += e == r ? format("%zu", r) : format("%zu-%zu", r, e);
    r = e + 1;
  }
  return s;
}

int resolve(const RendezvousOptions &o, AddrList *out) {
  if (o.addr.empty())
    return fail("rank %d (of %d): the rendezvous needs MASTER_ADDR (rank 0's address)", o.rank,
                o.size);
  std::string err;
  if (resolveAddr(o.addr, o.port, out, &err) != 0)
    return fail("rank %d (of %d): MASTER_ADDR '%s' does not resolve: %s", o.rank, o.size,
                o.addr.c_str(), err.c_str());
  return 0;
}

// A connection on rank 0 before and after its hello.
struct Peer {
  int fd = -1;
  std::string addr;
  std::string buf; // the hello, as far as it has arrived
  int rank = -1;   // >= 1 once it joined
};

std::string statusReply(uint32_t status, const std::string &msg) {
  std::string s;
  putU32(s, status);
  putU32(s, static_cast<uint32_t>(msg.size()));
  return s + msg;
}

} // namespace

bool constantTimeEqual(const std::string &a, const std::string &b) {
  // Every byte of the longer string is read whatever the contents, so the
  // time says nothing about where the first difference is.
  size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() != b.size() ? 1u : 0u;
  for (size_t i = 0; i < n; ++i) {
    unsigned ca = i < a.size() ? static_cast<unsigned char>(a[i]) : 0u;
    unsigned cb = i < b.size() ? static_cast<unsigned char>(b[i]) : 0u;
    diff |= ca ^ cb;
  }
  return diff == 0;
}

RendezvousServer::~RendezvousServer() { closeFd(fd_); }

std::unique_ptr<RendezvousServer> RendezvousServer::listen(const RendezvousOptions &opts) {
  AddrList addrs;
  if (resolve(opts, &addrs))
    return nullptr;
  std::unique_ptr<RendezvousServer> s(new RendezvousServer());
  s->opts_ = opts;
  std::string lastErr = "no address";
  // Bind to exactly MASTER_ADDR (not the wildcard): the port is reachable
  // only where the launcher said, and a MASTER_ADDR that is not this host's
  // fails here instead of leaving the other ranks to time out.
  const int backlog = std::min(opts.size + 16, SOMAXCONN);
  for (addrinfo *ai = addrs.head; ai; ai = ai->ai_next) {
    int fd = listenAt(ai->ai_addr, ai->ai_addrlen, backlog, &s->port_, &lastErr);
    if (fd >= 0) {
      s->fd_ = fd;
      return s;
    }
  }
  fail("rank 0 (of %d) cannot listen on MASTER_ADDR=%s port %d: %s (MASTER_ADDR must be an "
       "address of rank 0's host, MASTER_PORT a free port%s)",
       opts.size, opts.addr.c_str(), opts.port, lastErr.c_str(),
       lastErr == errnoText(EADDRINUSE)
           ? "; set PZRT_MASTER_PORT to a free port (under torchrun's agent store, "
             "TORCHELASTIC_USE_AGENT_STORE=True, pzrt takes MASTER_PORT + 1 unless told)"
           : "");
  return nullptr;
}

int RendezvousServer::run(const std::string &rootBlob, const std::string &myBlob,
                          RendezvousResult *out) {
  const RendezvousOptions &o = opts_;
  if (rootBlob.size() > kRendezvousMaxBlob || myBlob.size() > kRendezvousMaxBlob)
    return fail("rank 0: a rendezvous blob is limited to %zu bytes", kRendezvousMaxBlob);
  Deadline dl(o.timeoutS);
  std::vector<Peer> pending;             // connected, hello incomplete
  std::vector<Peer> joined(o.size);      // by rank
  std::vector<bool> have(o.size, false); // have[0] is rank 0 itself
  have[0] = true;
  int nJoined = 0;
  std::vector<std::string> rejected;
  // A stray client (a port scan, another job) must not exhaust descriptors.
  const size_t maxPending = static_cast<size_t>(o.size) * 4 + 16;

  auto reject = [&](Peer &p, const std::string &why) {
    std::string err;
    Deadline quick(0.2); // best effort: the peer reports the reason
    sendAll(p.fd, statusReply(kStatusRejected, why), quick, &err);
    rejected.push_back(format("peer %s: %s", p.addr.c_str(), why.c_str()));
    closeFd(p.fd);
  };

  // Checks a complete hello; either joins the peer or rejects it.
  auto admit = [&](Peer &p) {
    const char *h = p.buf.data();
    int rank = static_cast<int>(getU32(h + 8));
    int size = static_cast<int>(getU32(h + 12));
    size_t tokenLen = getU32(h + 16);
    std::string token = p.buf.substr(kHelloHeader, tokenLen);
    if (!constantTimeEqual(token, o.token))
      return reject(p, format("claiming rank %d: wrong job token (its PZRT_JOB_TOKEN differs "
                              "from rank 0's)",
                              rank));
    if (size != o.size)
      return reject(p, format("claiming rank %d: it says the world has %d ranks, rank 0 says %d",
                              rank, size, o.size));
    if (rank < 1 || rank >= o.size)
      return reject(p, format("claims rank %d, outside 1..%d", rank, o.size - 1));
    if (have[rank])
      return reject(p, format("claims rank %d, which already joined from %s", rank,
                              joined[rank].addr.c_str()));
    p.rank = rank;
    have[rank] = true;
    ++nJoined;
    joined[rank] = std::move(p);
    joined[rank].buf.erase(0, kHelloHeader + tokenLen); // keep the blob only
  };

  // Reads what arrived; returns false when the connection is finished with.
  auto readHello = [&](Peer &p) -> bool {
    char chunk[4096];
    for (;;) {
      size_t want = kHelloHeader;
      if (p.buf.size() >= kHelloHeader)
        want += getU32(p.buf.data() + 16) + getU32(p.buf.data() + 20);
      if (p.buf.size() >= want) {
        admit(p);
        return false;
      }
      ssize_t n = ::recv(p.fd, chunk, std::min(sizeof(chunk), want - p.buf.size()), MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        rejected.push_back(format("peer %s: closed the connection before its hello",
                                  p.addr.c_str()));
        closeFd(p.fd);
        return false;
      }
      if (n < 0)
        return true; // wait for more
      p.buf.append(chunk, static_cast<size_t>(n));
      if (p.buf.size() >= kHelloHeader && p.buf.size() - static_cast<size_t>(n) < kHelloHeader) {
        const char *h = p.buf.data();
        if (getU32(h) != kMagic || getU32(h + 4) != kVersion) {
          rejected.push_back(
              format("peer %s: not a pzrt rendezvous peer (or another version)", p.addr.c_str()));
          closeFd(p.fd);
          return false;
        }
        if (getU32(h + 16) > kRendezvousMaxToken || getU32(h + 20) > kRendezvousMaxBlob) {
          reject(p, format("claiming rank %d: its token or blob is over the limit",
                           static_cast<int>(getU32(h + 8))));
          return false;
        }
      }
    }
  };

  while (nJoined < o.size - 1 && !dl.passed()) {
    std::vector<pollfd> fds;
    fds.push_back({fd_, POLLIN, 0});
    for (Peer &p : pending)
      fds.push_back({p.fd, POLLIN, 0});
    // A joined rank sends nothing more: readable means it went away.
    std::vector<int> polled;
    for (int r = 1; r < o.size; ++r)
      if (have[r]) {
        fds.push_back({joined[r].fd, POLLIN, 0});
        polled.push_back(r);
      }
    int pr = ::poll(fds.data(), fds.size(), dl.pollMs(1000));
    if (pr < 0 && errno != EINTR)
      return fail("rank 0: poll during the rendezvous failed: %s", errnoText(errno).c_str());
    if (pr <= 0)
      continue;
    size_t i = 1;
    std::vector<Peer> still;
    for (Peer &p : pending) {
      if (fds[i++].revents && !readHello(p))
        continue;
      still.push_back(std::move(p));
    }
    for (int r : polled) {
      if (fds[i++].revents) {
        rejected.push_back(format("rank %d (%s): closed its connection (or sent more than its "
                                  "hello) before the end",
                                  r, joined[r].addr.c_str()));
        closeFd(joined[r].fd);
        have[r] = false; // a restarted rank may join again
        --nJoined;
      }
    }
    pending = std::move(still);
    if (fds[0].revents & POLLIN) {
      for (;;) {
        sockaddr_storage sa;
        socklen_t len = sizeof(sa);
        int c = ::accept4(fd_, reinterpret_cast<sockaddr *>(&sa), &len,
                          SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0)
          break;
        Peer p;
        p.fd = c;
        p.addr = sockaddrText(reinterpret_cast<sockaddr *>(&sa));
        if (pending.size() >= maxPending) {
          rejected.push_back(format("peer %s: too many connections, closed", p.addr.c_str()));
          closeFd(p.fd);
          continue;
        }
        int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        // Its hello may already be there.
        if (readHello(p))
          pending.push_back(std::move(p));
      }
    }
  }

  for (Peer &p : pending)
    closeFd(p.fd);

  if (nJoined < o.size - 1) {
    std::string msg = format(
        "rendezvous at MASTER_ADDR=%s:%d (rank 0 of %d) timed out after %.3f s: rank(s) %s did "
        "not arrive (%d of %d other ranks joined)",
        o.addr.c_str(), port_, o.size, dl.elapsed(), missingRanks(have).c_str(), nJoined,
        o.size - 1);
    if (!rejected.empty()) {
      msg += "; rejected or lost: ";
      for (size_t k = 0; k < rejected.size(); ++k)
        msg += (k ? "; " : "") + rejected[k];
    }
    // Tell the ranks that came, so that they fail now with the reason
    // instead of at their own deadline.
    for (int r = 1; r < o.size; ++r) {
      if (!have[r])
        continue;
      std::string err;
      Deadline quick(0.5);
      sendAll(joined[r].fd, statusReply(kStatusFailed, msg), quick, &err);
      closeFd(joined[r].fd);
    }
    return fail("%s", msg.c_str());
  }

  std::string reply;
  putU32(reply, kStatusOk);
  putU32(reply, static_cast<uint32_t>(rootBlob.size()));
  reply += rootBlob;
  out->root = rootBlob;
  out->blobs.assign(o.size, std::string());
  out->blobs[0] = myBlob;
  for (int r = 1; r < o.size; ++r)
    out->blobs[r] = joined[r].buf;
  for (int r = 0; r < o.size; ++r) {
    putU32(reply, static_cast<uint32_t>(out->blobs[r].size()));
    reply += out->blobs[r];
  }
  int rc = 0;
  Deadline sending(o.timeoutS);
  for (int r = 1; r < o.size; ++r) {
    std::string err;
    if (sendAll(joined[r].fd, reply, sending, &err) && rc == 0)
      rc = fail("rank 0 could not send the rendezvous result to rank %d at %s: %s", r,
                joined[r].addr.c_str(), err.c_str());
    closeFd(joined[r].fd);
  }
  return rc;
}

namespace {

// Connects to rank 0, retrying while it is not listening yet.
int connectToRoot(const RendezvousOptions &o, const Deadline &dl, int *fdOut) {
  AddrList addrs;
  if (resolve(o, &addrs))
    return -1;
  std::string lastErr = "no address";
  *fdOut = connectRetrying(addrs.head, dl, &lastErr);
  if (*fdOut < 0)
    return fail("rank %d (of %d): could not reach rank 0 at MASTER_ADDR=%s:%d within %.3f s "
                "(last error: %s)",
                o.rank, o.size, o.addr.c_str(), o.port, dl.elapsed(), lastErr.c_str());
  return 0;
}

int clientExchange(const RendezvousOptions &o, const std::string &myBlob, RendezvousResult *out) {
  if (myBlob.size() > kRendezvousMaxBlob)
    return fail("rank %d: a rendezvous blob is limited to %zu bytes", o.rank, kRendezvousMaxBlob);
  if (o.token.size() > kRendezvousMaxToken)
    return fail("rank %d: PZRT_JOB_TOKEN is limited to %zu bytes", o.rank, kRendezvousMaxToken);
  Deadline dl(o.timeoutS);
  int fd = -1;
  if (connectToRoot(o, dl, &fd))
    return -1;
  struct Closer {
    int &fd;
    ~Closer() { closeFd(fd); }
  } closer{fd};
  std::string where = format("rank 0 at MASTER_ADDR=%s:%d", o.addr.c_str(), o.port);
  // Rank 0 listened before this connection and answers by its own deadline,
  // at most the timeout from now: waiting a little longer lets its answer,
  // which names the missing ranks, arrive before this rank gives up.
  Deadline answer(o.timeoutS > 0 ? o.timeoutS + 1.0 : 0);

  std::string hello;
  for (uint32_t v : {kMagic, kVersion, static_cast<uint32_t>(o.rank),
                     static_cast<uint32_t>(o.size), static_cast<uint32_t>(o.token.size()),
                     static_cast<uint32_t>(myBlob.size())})
    putU32(hello, v);
  hello += o.token;
  hello += myBlob;
  std::string err;
  if (sendAll(fd, hello, answer, &err))
    return fail("rank %d (of %d): sending to %s failed: %s", o.rank, o.size, where.c_str(),
                err.c_str());

  // The failure of a read (recvAll's 1 or -1) as this rank's error.
  auto readFailed = [&](int rc) -> int {
    if (rc == 1)
      return fail("rank %d (of %d): %s closed the connection before answering", o.rank, o.size,
                  where.c_str());
    if (err == "timed out")
      return fail("rank %d (of %d): %s did not answer within %.3f s (it answers when every rank "
                  "has joined; is a rank missing?)",
                  o.rank, o.size, where.c_str(), answer.elapsed());
    return fail("rank %d (of %d): reading from %s failed: %s", o.rank, o.size, where.c_str(),
                err.c_str());
  };
  // Reads one length-prefixed field.
  auto field = [&](const char *what, size_t limit, std::string *value) -> int {
    std::string len;
    int rc = recvAll(fd, 4, &len, answer, &err);
    if (rc == 0) {
      size_t n = getU32(len.data());
      if (n > limit)
        return fail("rank %d (of %d): %s sent a %s of %zu bytes (limit %zu)", o.rank, o.size,
                    where.c_str(), what, n, limit);
      rc = recvAll(fd, n, value, answer, &err);
    }
    return rc ? readFailed(rc) : 0;
  };

  std::string status;
  if (int rc = recvAll(fd, 4, &status, answer, &err))
    return readFailed(rc);
  uint32_t st = getU32(status.data());
  if (st != kStatusOk) {
    std::string why;
    if (field("message", 64 * 1024, &why))
      return -1;
    if (st == kStatusRejected)
      return fail("rank %d (of %d): %s rejected this rank: %s", o.rank, o.size, where.c_str(),
                  why.c_str());
    return fail("rank %d (of %d): %s gave up: %s", o.rank, o.size, where.c_str(), why.c_str());
  }
  RendezvousResult res;
  if (field("root blob", kRendezvousMaxBlob, &res.root))
    return -1;
  res.blobs.resize(o.size);
  for (int r = 0; r < o.size; ++r)
    if (field("rank blob", kRendezvousMaxBlob, &res.blobs[r]))
      return -1;
  *out = std::move(res);
  return 0;
}

int noToken(int rank, int size) {
  return fail("rank %d (of %d): PZRT_JOB_TOKEN is not set; a multi-rank launch without MPI needs "
              "a job token shared by its ranks, so that no other process can join the job (e.g. "
              "export PZRT_JOB_TOKEN=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \\n') before "
              "launching)",
              rank, size);
}

} // namespace

int rendezvous(const RendezvousOptions &opts, const std::string &rootBlob,
               const std::string &myBlob, RendezvousResult *out) {
  if (opts.size < 1 || opts.rank < 0 || opts.rank >= opts.size)
    return fail("rendezvous: rank %d is outside a world of %d ranks", opts.rank, opts.size);
  if (opts.size == 1) {
    out->root = rootBlob;
    out->blobs.assign(1, myBlob);
    return 0;
  }
  if (opts.token.empty())
    return noToken(opts.rank, opts.size);
  if (opts.rank == 0) {
    auto server = RendezvousServer::listen(opts);
    return server ? server->run(rootBlob, myBlob, out) : -1;
  }
  return clientExchange(opts, myBlob, out);
}

int rendezvousOptionsFromEnv(RendezvousOptions *out) {
  pzrt_env env;
  if (pzrt_env_discover(&env))
    return -1;
  RendezvousOptions o;
  o.rank = env.rank;
  o.size = env.world_size;
  o.addr = env.master_addr;
  o.port = env.master_port;
  o.timeoutS = defaultCommTimeout();
  if (const char *t = std::getenv("PZRT_JOB_TOKEN"))
    o.token = t;
  // The port of pzrt's own rendezvous, when MASTER_PORT is taken by the
  // launcher's store: torchrun says so with TORCHELASTIC_USE_AGENT_STORE
  // (its agent serves a TCPStore there), and pzrt then takes the next port
  // unless PZRT_MASTER_PORT names one.
  const char *agentStore = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
  if (agentStore && std::strcmp(agentStore, "True") == 0 && o.port > 0 && o.port < 65535)
    o.port += 1;
  if (const char *p = std::getenv("PZRT_MASTER_PORT")) {
    char *end = nullptr;
    long v = std::strtol(p, &end, 10);
    if (!*p || *end || v < 1 || v > 65535)
      return fail("PZRT_MASTER_PORT='%s' is not a TCP port (1-65535)", p);
    o.port = static_cast<int>(v);
  }
  if (o.size > 1) {
    if (o.addr.empty() || o.port == 0)
      return fail("rank %d (of %d, launcher: %s): a multi-rank launch without MPI needs "
                  "MASTER_ADDR and MASTER_PORT (rank 0's address and a free port on it)",
                  o.rank, o.size, env.source);
    if (o.token.empty())
      return noToken(o.rank, o.size);
  }
  *out = o;
  return 0;
}

} // namespace pzrt
