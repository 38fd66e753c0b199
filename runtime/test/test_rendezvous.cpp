// The TCP rendezvous (the NCCL unique id's way to the ranks without MPI):
// ranks as threads (and, once, as processes) on 127.0.0.1 with an ephemeral
// port, and short timeouts so that a broken exchange fails the test instead
// of hanging it.
#include "comm/rendezvous.h"

#include "pzrt/error.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using pzrt::RendezvousOptions;
using pzrt::RendezvousResult;
using pzrt::RendezvousServer;

struct Outcome {
  int rc = -2;
  std::string error;
  RendezvousResult result;
};

RendezvousOptions opts(int rank, int size, int port, double timeoutS = 5.0,
                       const char *token = "s3cret-token") {
  RendezvousOptions o;
  o.addr = "127.0.0.1";
  o.port = port;
  o.rank = rank;
  o.size = size;
  o.token = token;
  o.timeoutS = timeoutS;
  return o;
}

std::string rootBlob() {
  std::string s(128, '\0'); // as an ncclUniqueId, zero bytes included
  for (size_t i = 0; i < s.size(); ++i)
    s[i] = static_cast<char>((i * 37 + 11) & 0xff);
  return s;
}

std::string blobOf(int rank) { return std::string(static_cast<size_t>(rank) * 3, 'a' + rank); }

// Runs the given client ranks on threads against a server on an ephemeral
// port; returns rank 0's outcome and fills `clients` in the order given.
Outcome runJob(int size, const std::vector<RendezvousOptions> &clientOpts,
               std::vector<Outcome> *clients, double serverTimeoutS = 5.0,
               const char *serverToken = "s3cret-token") {
  Outcome server;
  auto srv = RendezvousServer::listen(opts(0, size, 0, serverTimeoutS, serverToken));
  if (!srv) {
    server.rc = -1;
    server.error = pzrt_last_error();
    return server;
  }
  clients->assign(clientOpts.size(), Outcome());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < clientOpts.size(); ++i) {
    RendezvousOptions o = clientOpts[i];
    o.port = srv->port();
    threads.emplace_back([o, &out = (*clients)[i]] {
      out.rc = pzrt::rendezvous(o, "", blobOf(o.rank), &out.result);
      if (out.rc)
        out.error = pzrt_last_error();
    });
  }
  server.rc = srv->run(rootBlob(), blobOf(0), &server.result);
  if (server.rc)
    server.error = pzrt_last_error();
  for (std::thread &t : threads)
    t.join();
  return server;
}

void expectComplete(const RendezvousResult &r, int size) {
  EXPECT_EQ(r.root, rootBlob());
  ASSERT_EQ(static_cast<int>(r.blobs.size()), size);
  for (int k = 0; k < size; ++k)
    EXPECT_EQ(r.blobs[k], blobOf(k)) << "blob of rank " << k;
}

void expectSuccess(int size) {
  std::vector<RendezvousOptions> clientOpts;
  for (int r = size - 1; r >= 1; --r) // arrival order need not be rank order
    clientOpts.push_back(opts(r, size, 0));
  std::vector<Outcome> clients;
  Outcome server = runJob(size, clientOpts, &clients);
  ASSERT_EQ(server.rc, 0) << server.error;
  expectComplete(server.result, size);
  for (const Outcome &c : clients) {
    ASSERT_EQ(c.rc, 0) << c.error;
    expectComplete(c.result, size);
  }
}

int freePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// A raw client that sends `bytes` and returns what rank 0 answered (until EOF).
std::string rawExchange(int port, const std::string &bytes) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::string got;
  if (connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0) {
    send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    char buf[512];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
      got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return got;
}

std::string hello(uint32_t rank, uint32_t size, const std::string &token) {
  std::string s;
  auto put = [&](uint32_t v) {
    for (int i = 0; i < 4; ++i)
      s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  for (uint32_t v : {0x56525a50u, 1u, rank, size, static_cast<uint32_t>(token.size()), 0u})
    put(v);
  return s + token;
}

TEST(RendezvousTest, ConstantTimeEqual) {
  EXPECT_TRUE(pzrt::constantTimeEqual("", ""));
  EXPECT_TRUE(pzrt::constantTimeEqual("abc", "abc"));
  EXPECT_FALSE(pzrt::constantTimeEqual("abc", "abd"));
  EXPECT_FALSE(pzrt::constantTimeEqual("abc", "ab"));
  EXPECT_FALSE(pzrt::constantTimeEqual("ab", "abc"));
  EXPECT_FALSE(pzrt::constantTimeEqual(std::string("a\0", 2), "a"));
}

TEST(RendezvousTest, OneRankNeedsNoNetwork) {
  RendezvousOptions o = opts(0, 1, 0, 1.0, "");
  o.addr = ""; // neither an address nor a token is needed
  RendezvousResult r;
  ASSERT_EQ(pzrt::rendezvous(o, rootBlob(), blobOf(0), &r), 0) << pzrt_last_error();
  expectComplete(r, 1);
}

TEST(RendezvousTest, TwoRanks) { expectSuccess(2); }
TEST(RendezvousTest, FourRanks) { expectSuccess(4); }

TEST(RendezvousTest, RanksAsProcessesThroughRendezvous) {
  // Rank 0 through the same entry point as the others; the port is chosen
  // beforehand, so a rank may try before rank 0 listens (it retries).
  const int size = 3;
  int port = freePort();
  std::vector<pid_t> kids;
  for (int r = 1; r < size; ++r) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      RendezvousResult res;
      int rc = pzrt::rendezvous(opts(r, size, port), "", blobOf(r), &res);
      bool ok = rc == 0 && res.root == rootBlob() &&
                res.blobs.size() == static_cast<size_t>(size) && res.blobs[2] == blobOf(2) &&
                res.blobs[0] == blobOf(0);
      if (!ok)
        std::fprintf(stderr, "rank %d: %s\n", r, pzrt_last_error());
      _exit(ok ? 0 : 1);
    }
    kids.push_back(pid);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  RendezvousResult res;
  int rc = pzrt::rendezvous(opts(0, size, port), rootBlob(), blobOf(0), &res);
  EXPECT_EQ(rc, 0) << pzrt_last_error();
  if (rc == 0)
    expectComplete(res, size);
  for (pid_t pid : kids) {
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a rank process failed";
  }
}

TEST(RendezvousTest, WrongTokenIsRejectedWithItsAddress) {
  std::vector<Outcome> clients;
  Outcome server = runJob(2, {opts(1, 2, 0, 5.0, "not-the-token")}, &clients, 0.5);
  ASSERT_EQ(clients[0].rc, -1);
  EXPECT_NE(clients[0].error.find("rank 1 (of 2): rank 0 at MASTER_ADDR=127.0.0.1:"),
            std::string::npos)
      << clients[0].error;
  EXPECT_NE(clients[0].error.find("rejected this rank: claiming rank 1: wrong job token"),
            std::string::npos)
      << clients[0].error;
  ASSERT_EQ(server.rc, -1);
  EXPECT_NE(server.error.find("rank(s) 1 did not arrive"), std::string::npos) << server.error;
  EXPECT_NE(server.error.find("peer 127.0.0.1:"), std::string::npos) << server.error;
  EXPECT_NE(server.error.find("wrong job token"), std::string::npos) << server.error;
}

TEST(RendezvousTest, StrayPeersDoNotStopTheJob) {
  // A wrong token, a world of the wrong size, garbage and an out-of-range
  // rank are all turned away; the real rank 1 still gets through.
  auto srv = RendezvousServer::listen(opts(0, 2, 0, 5.0));
  ASSERT_TRUE(srv) << pzrt_last_error();
  int port = srv->port();
  Outcome wrongToken, wrongSize, real;
  std::string garbage, outOfRange;
  std::thread t([&] {
    wrongToken.rc = pzrt::rendezvous(opts(1, 2, port, 5.0, "x"), "", "", &wrongToken.result);
    wrongToken.error = pzrt_last_error();
    wrongSize.rc = pzrt::rendezvous(opts(2, 3, port), "", "", &wrongSize.result);
    wrongSize.error = pzrt_last_error();
    garbage = rawExchange(port, "GET / HTTP/1.0\r\n\r\n------");
    outOfRange = rawExchange(port, hello(7, 2, "s3cret-token"));
    real.rc = pzrt::rendezvous(opts(1, 2, port), "", blobOf(1), &real.result);
    real.error = pzrt_last_error();
  });
  RendezvousResult res;
  int rc = srv->run(rootBlob(), blobOf(0), &res);
  t.join();
  ASSERT_EQ(rc, 0) << pzrt_last_error();
  ASSERT_EQ(real.rc, 0) << real.error;
  expectComplete(real.result, 2);
  EXPECT_EQ(wrongToken.rc, -1);
  EXPECT_NE(wrongToken.error.find("wrong job token"), std::string::npos) << wrongToken.error;
  EXPECT_EQ(wrongSize.rc, -1);
  EXPECT_NE(wrongSize.error.find("rank 2 (of 3)"), std::string::npos) << wrongSize.error;
  EXPECT_NE(wrongSize.error.find("it says the world has 3 ranks, rank 0 says 2"),
            std::string::npos)
      << wrongSize.error;
  EXPECT_EQ(garbage, "") << "garbage got an answer";
  EXPECT_NE(outOfRange.find("claims rank 7, outside 1..1"), std::string::npos) << outOfRange;
}

TEST(RendezvousTest, DuplicateRankIsRejectedNamingTheFirst) {
  // Rank 2 never comes, so both claimants of rank 1 arrive while rank 0
  // still waits: one joins, the other is turned away.
  std::vector<Outcome> clients;
  Outcome server = runJob(3, {opts(1, 3, 0), opts(1, 3, 0)}, &clients, 1.0);
  ASSERT_EQ(server.rc, -1);
  EXPECT_NE(server.error.find("rank(s) 2 did not arrive (1 of 2 other ranks joined)"),
            std::string::npos)
      << server.error;
  EXPECT_NE(server.error.find("claims rank 1, which already joined from 127.0.0.1:"),
            std::string::npos)
      << server.error;
  int rejected = 0, gaveUp = 0;
  for (const Outcome &c : clients) {
    ASSERT_EQ(c.rc, -1);
    if (c.error.find("rejected this rank: claims rank 1, which already joined from 127.0.0.1:") !=
        std::string::npos)
      ++rejected;
    if (c.error.find("gave up: rendezvous at MASTER_ADDR=127.0.0.1:") != std::string::npos &&
        c.error.find("rank(s) 2 did not arrive") != std::string::npos)
      ++gaveUp;
  }
  EXPECT_EQ(rejected, 1) << clients[0].error << "\n" << clients[1].error;
  EXPECT_EQ(gaveUp, 1) << clients[0].error << "\n" << clients[1].error;
}

TEST(RendezvousTest, MissingRanksTimeOutNamingThem) {
  std::vector<Outcome> clients;
  auto start = std::chrono::steady_clock::now();
  Outcome server = runJob(5, {opts(1, 5, 0), opts(3, 5, 0)}, &clients, 0.5);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(took, 4.0);
  ASSERT_EQ(server.rc, -1);
  EXPECT_NE(server.error.find("(rank 0 of 5) timed out after"), std::string::npos) << server.error;
  EXPECT_NE(server.error.find("rank(s) 2, 4 did not arrive (2 of 4 other ranks joined)"),
            std::string::npos)
      << server.error;
  // The ranks that came learn it from rank 0 at once, not at their deadline.
  for (const Outcome &c : clients) {
    ASSERT_EQ(c.rc, -1);
    EXPECT_NE(c.error.find("gave up"), std::string::npos) << c.error;
    EXPECT_NE(c.error.find("rank(s) 2, 4 did not arrive"), std::string::npos) << c.error;
  }
}

TEST(RendezvousTest, MissingRankZeroTimesOut) {
  int port = freePort(); // nobody listens there
  RendezvousResult r;
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(pzrt::rendezvous(opts(2, 3, port, 0.3), "", "", &r), -1);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(took, 3.0);
  std::string e = pzrt_last_error();
  EXPECT_NE(e.find("rank 2 (of 3): could not reach rank 0 at MASTER_ADDR=127.0.0.1:" +
                   std::to_string(port) + " within"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("Connection refused"), std::string::npos) << e;
}

TEST(RendezvousTest, SilentRankZeroTimesOut) {
  // Rank 0 listens but never runs the exchange: the peer's wait for the
  // answer has the deadline too.
  auto srv = RendezvousServer::listen(opts(0, 2, 0));
  ASSERT_TRUE(srv) << pzrt_last_error();
  RendezvousResult r;
  EXPECT_EQ(pzrt::rendezvous(opts(1, 2, srv->port(), 0.3), "", "", &r), -1);
  std::string e = pzrt_last_error();
  EXPECT_NE(e.find("rank 1 (of 2): rank 0 at MASTER_ADDR=127.0.0.1:"), std::string::npos) << e;
  EXPECT_NE(e.find("did not answer within"), std::string::npos) << e;
}

TEST(RendezvousTest, BadMasterAddr) {
  RendezvousResult r;
  // Not an address of this host (TEST-NET-1): rank 0 cannot bind it.
  RendezvousOptions o = opts(0, 2, 0);
  o.addr = "192.0.2.1";
  EXPECT_EQ(pzrt::rendezvous(o, "", "", &r), -1);
  std::string e = pzrt_last_error();
  EXPECT_NE(e.find("rank 0 (of 2) cannot listen on MASTER_ADDR=192.0.2.1 port 0"),
            std::string::npos)
      << e;
  o.addr = "";
  EXPECT_EQ(pzrt::rendezvous(o, "", "", &r), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("needs MASTER_ADDR"), std::string::npos)
      << pzrt_last_error();
  // A name that cannot resolve (.invalid is reserved for that).
  o = opts(1, 2, 29500, 0.3);
  o.addr = "no-such-host.invalid";
  EXPECT_EQ(pzrt::rendezvous(o, "", "", &r), -1);
  EXPECT_NE(std::string(pzrt_last_error())
                .find("rank 1 (of 2): MASTER_ADDR 'no-such-host.invalid' does not resolve"),
            std::string::npos)
      << pzrt_last_error();
}

TEST(RendezvousTest, MultiRankNeedsAToken) {
  RendezvousResult r;
  EXPECT_EQ(pzrt::rendezvous(opts(1, 2, 29500, 0.3, ""), "", "", &r), -1);
  std::string e = pzrt_last_error();
  EXPECT_NE(e.find("rank 1 (of 2): PZRT_JOB_TOKEN is not set"), std::string::npos) << e;
}

TEST(RendezvousTest, Ipv6Loopback) {
  RendezvousOptions o = opts(0, 2, 0);
  o.addr = "::1";
  auto srv = RendezvousServer::listen(o);
  if (!srv)
    GTEST_SKIP() << "no IPv6 loopback here: " << pzrt_last_error();
  Outcome c;
  std::thread t([&] {
    RendezvousOptions co = opts(1, 2, srv->port());
    co.addr = "::1";
    c.rc = pzrt::rendezvous(co, "", blobOf(1), &c.result);
    c.error = pzrt_last_error();
  });
  RendezvousResult res;
  int rc = srv->run(rootBlob(), blobOf(0), &res);
  t.join();
  ASSERT_EQ(rc, 0) << pzrt_last_error();
  ASSERT_EQ(c.rc, 0) << c.error;
  expectComplete(c.result, 2);
}

// Options from a torchrun-style environment.
class RendezvousEnvTest : public ::testing::Test {
protected:
  void SetUp() override {
    for (const char *v : {"PZRT_JOB_TOKEN", "PZRT_COMM_TIMEOUT", "PZRT_MASTER_PORT",
                          "TORCHELASTIC_USE_AGENT_STORE"}) {
      const char *old = std::getenv(v);
      saved_.push_back({v, old ? old : "", old != nullptr});
      unsetenv(v);
    }
  }
  void TearDown() override {
    for (auto &s : saved_) {
      if (s.had)
        setenv(s.name.c_str(), s.value.c_str(), 1);
      else
        unsetenv(s.name.c_str());
    }
  }

private:
  struct Saved {
    std::string name, value;
    bool had;
  };
  std::vector<Saved> saved_;
  pzrt::test::LauncherEnvGuard launcher_;
};

TEST_F(RendezvousEnvTest, Torchrun) {
  setenv("RANK", "2", 1);
  setenv("WORLD_SIZE", "4", 1);
  setenv("MASTER_ADDR", "10.1.2.3", 1);
  setenv("MASTER_PORT", "29500", 1);
  setenv("PZRT_JOB_TOKEN", "tok", 1);
  setenv("PZRT_COMM_TIMEOUT", "2.5", 1);
  RendezvousOptions o;
  ASSERT_EQ(pzrt::rendezvousOptionsFromEnv(&o), 0) << pzrt_last_error();
  EXPECT_EQ(o.rank, 2);
  EXPECT_EQ(o.size, 4);
  EXPECT_EQ(o.addr, "10.1.2.3");
  EXPECT_EQ(o.port, 29500);
  EXPECT_EQ(o.token, "tok");
  EXPECT_DOUBLE_EQ(o.timeoutS, 2.5);
}

// torchrun's static rendezvous serves its agent's store on MASTER_PORT:
// pzrt's rendezvous takes the next port, or PZRT_MASTER_PORT.
TEST_F(RendezvousEnvTest, TorchrunAgentStoreMovesThePort) {
  setenv("RANK", "0", 1);
  setenv("WORLD_SIZE", "2", 1);
  setenv("MASTER_ADDR", "127.0.0.1", 1);
  setenv("MASTER_PORT", "29500", 1);
  setenv("PZRT_JOB_TOKEN", "tok", 1);
  setenv("TORCHELASTIC_USE_AGENT_STORE", "True", 1);
  RendezvousOptions o;
  ASSERT_EQ(pzrt::rendezvousOptionsFromEnv(&o), 0) << pzrt_last_error();
  EXPECT_EQ(o.port, 29501);
  setenv("PZRT_MASTER_PORT", "31000", 1);
  ASSERT_EQ(pzrt::rendezvousOptionsFromEnv(&o), 0) << pzrt_last_error();
  EXPECT_EQ(o.port, 31000);
  setenv("PZRT_MASTER_PORT", "70000", 1);
  EXPECT_EQ(pzrt::rendezvousOptionsFromEnv(&o), -1);
  EXPECT_NE(std::string(pzrt_last_error()).find("PZRT_MASTER_PORT='70000'"), std::string::npos);
  unsetenv("PZRT_MASTER_PORT");
  setenv("TORCHELASTIC_USE_AGENT_STORE", "False", 1);
  ASSERT_EQ(pzrt::rendezvousOptionsFromEnv(&o), 0) << pzrt_last_error();
  EXPECT_EQ(o.port, 29500);
}

// A port in use (as torchrun's store holds MASTER_PORT) is an error that
// says what to set.
TEST_F(RendezvousEnvTest, MasterPortInUseSaysWhatToSet) {
  int holder = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(holder, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(holder, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)), 0);
  ASSERT_EQ(::listen(holder, 4), 0);
  socklen_t len = sizeof(sa);
  getsockname(holder, reinterpret_cast<sockaddr *>(&sa), &len);
  RendezvousOptions o;
  o.addr = "127.0.0.1";
  o.port = ntohs(sa.sin_port);
  o.size = 2;
  o.token = "tok";
  EXPECT_EQ(pzrt::RendezvousServer::listen(o), nullptr);
  std::string e = pzrt_last_error();
  EXPECT_NE(e.find("set PZRT_MASTER_PORT to a free port"), std::string::npos) << e;
  ::close(holder);
}

TEST_F(RendezvousEnvTest, MultiRankWithoutTokenIsRefused) {
  setenv("RANK", "0", 1);
  setenv("WORLD_SIZE", "2", 1);
  setenv("MASTER_ADDR", "127.0.0.1", 1);
  setenv("MASTER_PORT", "29500", 1);
  RendezvousOptions o;
  EXPECT_EQ(pzrt::rendezvousOptionsFromEnv(&o), -1);
  std::string e = pzrt_last_error();
  EXPECT_NE(e.find("rank 0 (of 2): PZRT_JOB_TOKEN is not set"), std::string::npos) << e;
}

TEST_F(RendezvousEnvTest, MultiRankWithoutMasterAddrIsRefused) {
  setenv("RANK", "1", 1);
  setenv("WORLD_SIZE", "2", 1);
  setenv("PZRT_JOB_TOKEN", "tok", 1);
  RendezvousOptions o;
  EXPECT_EQ(pzrt::rendezvousOptionsFromEnv(&o), -1);
  std::string e = pzrt_last_error();
  EXPECT_NE(e.find("needs MASTER_ADDR and MASTER_PORT"), std::string::npos) << e;
}

TEST_F(RendezvousEnvTest, SingleRankNeedsNothing) {
  RendezvousOptions o;
  ASSERT_EQ(pzrt::rendezvousOptionsFromEnv(&o), 0) << pzrt_last_error();
  EXPECT_EQ(o.size, 1);
  EXPECT_EQ(o.rank, 0);
}

} // namespace
