// The TCP host communicator's connections and progress engine (tcp_mesh.h).
#include "comm/tcp_mesh.h"

#include "comm/socket_util.h"
#include "core/internal.h"

#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

using pzrt::fail;

namespace pzrt::tcp {
namespace {

using namespace net;

constexpr uint32_t kHelloMagic = 0x4d545a50; // "PZTM" read as little-endian u32
constexpr uint32_t kHelloVersion = 1;
constexpr size_t kHelloHeader = 5 * 4; // magic, version, rank, size, token length
enum : uint32_t { kFrameData = 0, kFrameAbort = 1 };
constexpr size_t kMaxAbortMessage = 16 * 1024;
constexpr int kSpins = 2000; // polls without sleeping before a wait sleeps

// The mesh fatal() tells the peers through; a strong reference taken under
// the lock keeps it alive while the handler uses it.
std::mutex gMeshMutex;
std::weak_ptr<Mesh> gMesh;

void abortJob(int) {
  std::shared_ptr<Mesh> m;
  {
    std::lock_guard<std::mutex> lock(gMeshMutex);
    m = gMesh.lock();
  }
  if (m) {
    // The process ends: this reference must never be the one whose release
    // destroys the mesh (inside fatal, perhaps on the watcher thread).
    new std::shared_ptr<Mesh>(m);
    m->abortPeers(fatalMessage());
  }
}

void fillHeader(char *h, uint32_t kind, uint32_t tag, uint64_t comm, uint64_t length) {
  putU32(h, kind);
  putU32(h + 4, tag);
  putU64(h + 8, comm);
  putU64(h + 16, length);
}

// Listens, at a free port, on this host's address as the others reach it:
// rank 0 on the first address of MASTER_ADDR it can bind (as the rendezvous
// binds); any other rank on the one its route to MASTER_ADDR leaves from (a
// UDP socket's connect sends nothing, it only picks the route). The fd,
// with *host (numeric) and *port; or -1 with pzrt_last_error().
int listenHere(const RendezvousOptions &o, std::string *host, int *port) {
  AddrList addrs;
  std::string err = "no address";
  if (resolveAddr(o.addr, o.port, &addrs, &err) != 0)
    return fail("rank %d (of %d): MASTER_ADDR '%s' does not resolve: %s", o.rank, o.size,
                o.addr.c_str(), err.c_str());
  const int backlog = std::min(o.size + 16, SOMAXCONN);
  for (const addrinfo *ai = addrs.head; ai; ai = ai->ai_next) {
    sockaddr_storage local;
    socklen_t len = sizeof(local);
    if (o.rank == 0) {
      std::memcpy(&local, ai->ai_addr, ai->ai_addrlen);
      len = ai->ai_addrlen;
    } else {
      int udp = ::socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      bool routed = udp >= 0 && ::connect(udp, ai->ai_addr, ai->ai_addrlen) == 0 &&
                    getsockname(udp, reinterpret_cast<sockaddr *>(&local), &len) == 0;
      if (!routed)
        err = "no route: " + errnoText(errno);
      closeFd(udp);
      if (!routed)
        continue;
    }
    if (local.ss_family == AF_INET6)
      reinterpret_cast<sockaddr_in6 *>(&local)->sin6_port = 0;
    else
      reinterpret_cast<sockaddr_in *>(&local)->sin_port = 0;
    int fd = listenAt(reinterpret_cast<sockaddr *>(&local), len, backlog, port, &err);
    char buf[NI_MAXHOST];
    if (fd >= 0 && getnameinfo(reinterpret_cast<sockaddr *>(&local), len, buf, sizeof(buf),
                               nullptr, 0, NI_NUMERICHOST) == 0) {
      *host = buf;
      return fd;
    }
    closeFd(fd);
  }
  return fail("rank %d (of %d): cannot listen on an address of this host that reaches "
              "MASTER_ADDR '%s': %s",
              o.rank, o.size, o.addr.c_str(), err.c_str());
}

std::string lengthError(const Op &op, uint64_t got) {
  std::string what = op.tag == kCollectiveTag ? std::string("a step of the collective")
                                              : format("tag %u", op.tag);
  return format("from rank %d (%s) expected %zu elements but the message had %llu", op.commPeer,
                what.c_str(), op.bytes / op.elemSize,
                static_cast<unsigned long long>(got / op.elemSize));
}

} // namespace

std::shared_ptr<Mesh> Mesh::create(const RendezvousOptions &opts) {
  std::shared_ptr<Mesh> m(new Mesh());
  m->rank_ = opts.rank;
  m->size_ = opts.size;
  m->peers_.resize(static_cast<size_t>(opts.size));
  if (opts.size == 1)
    return m;
  std::string host;
  int port = 0;
  int lfd = listenHere(opts, &host, &port);
  if (lfd < 0)
    return nullptr;
  RendezvousResult res;
  int rc = rendezvous(opts, "", host + " " + std::to_string(port), &res);
  if (rc == 0)
    rc = m->connectAll(opts, lfd, res.blobs);
  closeFd(lfd);
  if (rc)
    return nullptr;
  m->wakeFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  {
    std::lock_guard<std::mutex> lock(gMeshMutex);
    gMesh = m;
  }
  setTerminateHandler(abortJob);
  m->watcher_ = std::thread([raw = m.get()] { raw->watch(); });
  return m;
}

int Mesh::connectAll(const RendezvousOptions &o, int listenFd,
                     const std::vector<std::string> &where) {
  Deadline dl(o.timeoutS);
  auto failing = [&](const std::string &why) {
    for (Peer &p : peers_)
      closeFd(p.fd);
    return fail("rank %d (of %d): connecting the TCP host communicator: %s", rank_, size_,
                why.c_str());
  };
  std::string hello;
  for (uint32_t v : {kHelloMagic, kHelloVersion, static_cast<uint32_t>(rank_),
                     static_cast<uint32_t>(size_), static_cast<uint32_t>(o.token.size())})
    putU32(hello, v);
  hello += o.token;
  std::string err;
  // Lower ranks: connect and say who this is. Their listeners exist (they
  // listened before the rendezvous), so the kernel accepts into the backlog.
  for (int j = 0; j < rank_; ++j) {
    size_t sp = where[j].rfind(' ');
    std::string h = where[j].substr(0, sp);
    int port = sp == std::string::npos ? 0 : std::atoi(where[j].c_str() + sp + 1);
    AddrList addrs;
    if (sp == std::string::npos || resolveAddr(h, port, &addrs, &err) != 0)
      return failing(format("rank %d's address '%s' is not usable: %s", j, where[j].c_str(),
                            err.c_str()));
    // Its listener is up; a full backlog (a large job) refuses for a
    // while: retry until the deadline.
    int fd = connectRetrying(addrs.head, dl, &err);
    if (fd < 0)
      return failing(format("cannot reach rank %d at %s:%d within %.3f s: %s", j, h.c_str(),
                            port, dl.elapsed(), err.c_str()));
    peers_[j].fd = fd;
    if (sendAll(fd, hello, dl, &err))
      return failing(format("sending to rank %d: %s", j, err.c_str()));
  }
  // Higher ranks: accept, check, answer.
  std::vector<std::string> rejected;
  for (int joined = 0; joined < size_ - 1 - rank_;) {
    pollfd p{listenFd, POLLIN, 0};
    if (::poll(&p, 1, dl.pollMs(1000)) <= 0) {
      if (dl.passed()) {
        std::string missing;
        for (int r = rank_ + 1; r < size_; ++r)
          if (peers_[r].fd < 0)
            missing += (missing.empty() ? "" : ", ") + std::to_string(r);
        std::string why = format("rank(s) %s did not connect within %.3f s", missing.c_str(),
                                 dl.elapsed());
        for (const std::string &r : rejected)
          why += "; " + r;
        return failing(why);
      }
      continue;
    }
    sockaddr_storage sa;
    socklen_t len = sizeof(sa);
    int c = ::accept4(listenFd, reinterpret_cast<sockaddr *>(&sa), &len, SOCK_CLOEXEC);
    if (c < 0)
      continue;
    std::string addr = sockaddrText(reinterpret_cast<sockaddr *>(&sa));
    setNonBlocking(c);
    setNoDelay(c);
    // A stray connection may say nothing: it gets a short wait of its own.
    Deadline quick(std::min(10.0, o.timeoutS > 0 ? o.timeoutS : 10.0));
    std::string head, token;
    int peer = -1;
    std::string why;
    if (recvAll(c, kHelloHeader, &head, quick, &err) != 0) {
      why = "sent no hello";
    } else if (getU32(head.data()) != kHelloMagic || getU32(head.data() + 4) != kHelloVersion) {
      why = "not a pzrt peer (or another version)";
    } else if (getU32(head.data() + 16) > kRendezvousMaxToken ||
               recvAll(c, getU32(head.data() + 16), &token, quick, &err) != 0) {
      why = "sent no token";
    } else if (!constantTimeEqual(token, o.token)) {
      why = "wrong job token";
    } else {
      peer = static_cast<int>(getU32(head.data() + 8));
      if (static_cast<int>(getU32(head.data() + 12)) != size_)
        why = format("says the world has %u ranks", getU32(head.data() + 12));
      else if (peer <= rank_ || peer >= size_)
        why = format("claims rank %d, which does not connect to rank %d", peer, rank_);
      else if (peers_[peer].fd >= 0)
        why = format("claims rank %d, which already connected", peer);
    }
    if (!why.empty()) {
      rejected.push_back(format("peer %s rejected: %s", addr.c_str(), why.c_str()));
      closeFd(c);
      continue;
    }
    std::string ack;
    putU32(ack, kHelloMagic);
    putU32(ack, static_cast<uint32_t>(rank_));
    if (sendAll(c, ack, dl, &err)) {
      closeFd(c);
      return failing(format("answering rank %d: %s", peer, err.c_str()));
    }
    peers_[peer].fd = c;
    ++joined;
  }
  // The lower ranks' answers.
  for (int j = 0; j < rank_; ++j) {
    std::string ack;
    int rc = recvAll(peers_[j].fd, 8, &ack, dl, &err);
    if (rc != 0 || getU32(ack.data()) != kHelloMagic ||
        static_cast<int>(getU32(ack.data() + 4)) != j)
      return failing(format("rank %d did not accept this rank (%s)", j,
                            rc == 1 ? "it closed the connection: is PZRT_JOB_TOKEN the same?"
                            : rc ? err.c_str()
                                 : "a wrong answer"));
  }
  return 0;
}

Mesh::~Mesh() {
  stop_ = true;
  if (watcher_.joinable())
    watcher_.join();
  {
    std::lock_guard<std::recursive_timed_mutex> lock(mutex_);
    // Sends still queued go out before the connections close.
    Deadline dl(10.0);
    for (;;) {
      bool pending = false;
      for (Peer &p : peers_)
        pending = pending || (!p.closed && !p.sends.empty());
      if (!pending || dl.passed())
        break;
      progress(100);
    }
    for (Peer &p : peers_)
      closeFd(p.fd);
  }
  closeFd(wakeFd_);
}

void Mesh::post(Op *op) {
  Peer &p = peers_[op->peer];
  op->moved = 0;
  op->headerMoved = 0;
  op->complete = false;
  if (op->peer == rank_) { // to itself: no connection, matched here
    if (op->isSend) {
      Unexpected u{op->comm, op->tag, std::vector<char>(op->buf, op->buf + op->bytes)};
      op->moved = op->bytes;
      op->complete = true;
      for (auto it = p.recvs.begin(); it != p.recvs.end(); ++it)
        if ((*it)->comm == u.comm && (*it)->tag == u.tag) {
          Op *r = *it;
          p.recvs.erase(it);
          p.unexpected.push_front(std::move(u));
          matchUnexpected(p, r);
          return;
        }
      p.unexpected.push_back(std::move(u));
      return;
    }
    if (!matchUnexpected(p, op))
      p.recvs.push_back(op);
    return;
  }
  if (op->isSend) {
    fillHeader(op->header, kFrameData, op->tag, op->comm, op->bytes);
    p.sends.push_back(op);
    if (p.sends.size() == 1 && !p.closed)
      writePeer(op->peer);
    return;
  }
  if (!matchUnexpected(p, op))
    p.recvs.push_back(op);
}

bool Mesh::matchUnexpected(Peer &peer, Op *op) {
  for (auto it = peer.unexpected.begin(); it != peer.unexpected.end(); ++it) {
    if (it->comm != op->comm || it->tag != op->tag)
      continue;
    if (it->data.size() != op->bytes)
      op->error = lengthError(*op, it->data.size());
    else if (op->bytes)
      std::memcpy(op->buf, it->data.data(), op->bytes);
    op->moved = op->bytes;
    op->complete = true;
    peer.unexpected.erase(it);
    return true;
  }
  return false;
}

void Mesh::peerClosed(int p, const std::string &why) {
  Peer &peer = peers_[p];
  if (peer.closed)
    return;
  peer.closed = true;
  peer.closedWhy = why;
  closeFd(peer.fd);
}

bool Mesh::writeFront(int p) {
  Peer &peer = peers_[p];
  if (peer.sends.empty() || peer.closed)
    return false;
  Op *op = peer.sends.front();
  iovec iov[2];
  int n = 0;
  if (op->headerMoved < kFrameHeader)
    iov[n++] = {op->header + op->headerMoved, kFrameHeader - op->headerMoved};
  if (op->moved < op->bytes)
    iov[n++] = {op->buf + op->moved, op->bytes - op->moved};
  if (n > 0) {
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<size_t>(n);
    ssize_t w = ::sendmsg(peer.fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        // The peer may have sent an abort frame before it closed: read
        // what is there first, so that its message is the one reported.
        std::string why = "closed its connection (" + errnoText(errno) + ")";
        readPeer(p);
        peerClosed(p, why);
      }
      return false;
    }
    size_t done = static_cast<size_t>(w);
    size_t h = std::min(done, kFrameHeader - op->headerMoved);
    op->headerMoved += h;
    op->moved += done - h;
    sentBytes_ += done - h;
    if (op->headerMoved < kFrameHeader || op->moved < op->bytes)
      return false; // the socket is full
  }
  op->complete = true;
  peer.sends.pop_front();
  return true;
}

void Mesh::writePeer(int p) {
  while (writeFront(p)) {
  }
}

void Mesh::readPeer(int p) {
  Peer &peer = peers_[p];
  while (!peer.closed) {
    ssize_t got;
    if (!peer.inBody) {
      got = ::recv(peer.fd, peer.header + peer.headerGot, kFrameHeader - peer.headerGot,
                   MSG_DONTWAIT);
    } else {
      uint64_t left = peer.length - peer.bodyGot;
      if (peer.discarding) // dropped bytes go through a small buffer
        got = ::recv(peer.fd, discard_.data(), std::min<uint64_t>(left, discard_.size()),
                     MSG_DONTWAIT);
      else
        got = ::recv(peer.fd, (peer.target ? peer.target->buf : peer.body.data()) + peer.bodyGot,
                     left, MSG_DONTWAIT);
    }
    if (got == 0) {
      peerClosed(p, peer.inBody || peer.headerGot ? "closed its connection in the middle of a "
                                                    "message"
                                                  : "closed its connection");
      return;
    }
    if (got < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        peerClosed(p, "closed its connection (" + errnoText(errno) + ")");
      return;
    }
    if (!peer.inBody) {
      peer.headerGot += static_cast<size_t>(got);
      if (peer.headerGot < kFrameHeader)
        continue;
      peer.kind = getU32(peer.header);
      peer.tag = getU32(peer.header + 4);
      peer.comm = getU64(peer.header + 8);
      peer.length = getU64(peer.header + 16);
      peer.bodyGot = 0;
      peer.inBody = true;
      peer.target = nullptr;
      if (peer.kind == kFrameAbort && peer.length > kMaxAbortMessage)
        peer.length = 0; // not a frame this version writes; the abort stands
      if (peer.kind == kFrameData) {
        for (auto it = peer.recvs.begin(); it != peer.recvs.end(); ++it) {
          Op *op = *it;
          if (op->comm != peer.comm || op->tag != peer.tag)
            continue;
          peer.recvs.erase(it);
          if (op->bytes == peer.length) {
            peer.target = op;
          } else {
            op->error = lengthError(*op, peer.length);
            op->complete = true;
            peer.discarding = true;
          }
          break;
        }
      }
      if (!peer.target && !peer.discarding)
        peer.body.assign(peer.length, 0);
    } else {
      peer.bodyGot += static_cast<uint64_t>(got);
    }
    if (peer.bodyGot == peer.length)
      finishBody(p);
  }
}

void Mesh::finishBody(int p) {
  Peer &peer = peers_[p];
  peer.inBody = false;
  peer.headerGot = 0;
  if (peer.kind == kFrameAbort) {
    std::string why(peer.body.begin(), peer.body.end());
    if (current_)
      fatal(1, "rank %d (of %d): %s on communicator '%s' ended: rank %d failed: %s", rank_,
            size_, current_->op, current_->commName->c_str(), p, why.c_str());
    fatal(1, "rank %d (of %d): rank %d failed: %s", rank_, size_, p, why.c_str());
  }
  if (peer.target) {
    peer.target->moved = peer.length;
    peer.target->complete = true;
    peer.target = nullptr;
    return;
  }
  if (peer.discarding) {
    peer.discarding = false;
    peer.body.clear();
    return;
  }
  // Kept for a receive not yet posted (a receive posted while it arrived
  // takes it now).
  peer.unexpected.push_back({peer.comm, peer.tag, std::move(peer.body)});
  peer.body.clear();
  for (auto it = peer.recvs.begin(); it != peer.recvs.end(); ++it) {
    Op *op = *it;
    if (op->comm == peer.comm && op->tag == peer.tag) {
      peer.recvs.erase(it);
      matchUnexpected(peer, op);
      break;
    }
  }
}

void Mesh::progress(int timeoutMs) {
  std::vector<pollfd> fds;
  std::vector<int> who;
  for (int p = 0; p < size_; ++p) {
    Peer &peer = peers_[p];
    if (p == rank_ || peer.closed || peer.fd < 0)
      continue;
    fds.push_back({peer.fd, static_cast<short>(POLLIN | (peer.sends.empty() ? 0 : POLLOUT)), 0});
    who.push_back(p);
  }
  if (wakeFd_ >= 0) {
    fds.push_back({wakeFd_, POLLIN, 0});
    who.push_back(-1);
  }
  if (fds.empty()) {
    if (timeoutMs > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(timeoutMs, 10)));
    return;
  }
  int pr = ::poll(fds.data(), fds.size(), timeoutMs);
  if (pr <= 0)
    return;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (who[i] < 0) {
      uint64_t v;
      if (fds[i].revents & POLLIN)
        (void)!::read(wakeFd_, &v, sizeof v);
      continue;
    }
    // Reads first: an abort frame from a peer that then closed is read
    // before a write to it fails.
    if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
      readPeer(who[i]);
    if (fds[i].revents & POLLOUT)
      writePeer(who[i]);
  }
}

void Mesh::lost(const Op &op, const WaitInfo &info) {
  const Peer &peer = peers_[op.peer];
  fatal(1,
        "rank %d (of %d): %s on communicator '%s' (rank %d of %d): rank %d %s without ending "
        "the job (killed, or exited before the others): its %s never %s",
        rank_, size_, info.op, info.commName->c_str(), info.commRank, info.commSize, op.peer,
        peer.closedWhy.c_str(), op.isSend ? "receive" : "message", op.isSend ? "came" : "arrived");
}

int Mesh::wait(Op *const *ops, size_t n, const WaitInfo &info) {
  current_ = &info;
  auto waited = [&] {
    return std::chrono::duration<double>(Clock::now() - info.start).count();
  };
  int spins = 0;
  for (;;) {
    serviceAbort();
    bool all = true;
    for (size_t i = 0; i < n; ++i) {
      if (ops[i]->complete)
        continue;
      all = false;
      if (peers_[ops[i]->peer].closed)
        lost(*ops[i], info);
    }
    if (all)
      break;
    const double w = waited();
    if (info.timeoutS > 0 && w >= info.timeoutS)
      fatal(124,
            "rank %d (of %d): %s on communicator '%s' (rank %d of %d, %zu elements of %s) "
            "timed out after %.3f s; a peer failed or did not call it",
            rank_, size_, info.op, info.commName->c_str(), info.commRank, info.commSize,
            info.count, pzrt_dtype_name(info.dtype), w);
    // Spin a little first: a message that is about to arrive costs a
    // wakeup from poll() otherwise. Then sleep in poll() until one does.
    if (spins < kSpins) {
      ++spins;
      progress(0);
      sched_yield();
    } else {
      double left = info.timeoutS > 0 ? (info.timeoutS - w) * 1000.0 : 1000.0;
      progress(static_cast<int>(std::min(1000.0, std::max(0.0, left))) + 1);
    }
  }
  current_ = nullptr;
  for (size_t i = 0; i < n; ++i)
    if (!ops[i]->error.empty())
      return fail("rank %d (of %d): %s on communicator '%s' %s", rank_, size_, info.op,
                  info.commName->c_str(), ops[i]->error.c_str());
  return 0;
}

void Mesh::watch() {
  while (!stop_.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (mutex_.try_lock()) {
      serviceAbort();
      progress(0);
      mutex_.unlock();
    }
  }
}

void Mesh::wake() {
  uint64_t one = 1;
  if (wakeFd_ >= 0)
    (void)!::write(wakeFd_, &one, sizeof one);
}

void Mesh::abortPeers(const std::string &message) {
  {
    std::lock_guard<std::mutex> lock(abortMutex_);
    abortMessage_ = message.substr(0, kMaxAbortMessage);
  }
  abortRequested_ = true;
  wake();
  // Either this thread takes the lock (it is free, or this thread holds it)
  // and sends the frames, or the thread inside an operation does.
  for (int i = 0; i < 3000 && !abortSent_.load(); ++i) {
    if (mutex_.try_lock()) {
      serviceAbort();
      mutex_.unlock();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

void Mesh::serviceAbort() {
  if (!abortRequested_.load() || abortSent_.load())
    return;
  std::string message;
  {
    std::lock_guard<std::mutex> lock(abortMutex_);
    message = abortMessage_;
  }
  sendAbortFrames(message);
  abortSent_ = true;
  if (!inFatalHere()) // the thread in fatal() ends the process
    for (;;)
      std::this_thread::sleep_for(std::chrono::seconds(1));
}

void Mesh::sendAbortFrames(const std::string &msg) {
  for (int p = 0; p < size_; ++p) {
    Peer &peer = peers_[p];
    if (p == rank_ || peer.closed || peer.fd < 0)
      continue;
    Deadline dl(1.0); // each peer's own: one stuck peer does not starve the rest
    // A frame half written ends before the abort frame starts; no other
    // frame starts.
    Op *front = peer.sends.empty() ? nullptr : peer.sends.front();
    if (front && (front->headerMoved > 0 || front->moved > 0)) {
      while (!front->complete && !peer.closed && !dl.passed()) {
        if (writeFront(p))
          break;
        pollfd pf{peer.fd, POLLOUT, 0};
        if (!peer.closed)
          ::poll(&pf, 1, dl.pollMs(100));
      }
      if (!front->complete)
        continue;
    }
    std::string frame(kFrameHeader, '\0');
    fillHeader(&frame[0], kFrameAbort, 0, 0, msg.size());
    std::string err;
    sendAll(peer.fd, frame + msg, dl, &err);
  }
}

void Mesh::cancel(Op *const *ops, size_t n, const WaitInfo &info) {
  for (size_t i = 0; i < n; ++i) {
    Op *op = ops[i];
    if (op->complete)
      continue;
    Peer &peer = peers_[op->peer];
    if (!op->isSend) {
      auto it = std::find(peer.recvs.begin(), peer.recvs.end(), op);
      if (it != peer.recvs.end())
        peer.recvs.erase(it);
      else if (peer.target == op) // its message is arriving: drop the rest
        peer.target = nullptr, peer.discarding = true;
      op->complete = true;
      continue;
    }
    if (op->headerMoved == 0 && op->moved == 0) {
      auto it = std::find(peer.sends.begin(), peer.sends.end(), op);
      if (it != peer.sends.end())
        peer.sends.erase(it);
      op->complete = true;
      continue;
    }
    wait(&op, 1, info); // half written: the stream needs the rest
  }
}

} // namespace pzrt::tcp
