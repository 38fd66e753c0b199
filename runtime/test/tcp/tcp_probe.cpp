// Ranks of a job launched without MPI (scripts/launch-local.py), for the
// failure cases of the TCP host communicator (tcp_failures.py). PZRT_PROBE
// chooses the case:
//   midframe     rank 0 ends the job with two 64 MiB sends queued to rank 1,
//                the first half written; rank 1 (stopped, then reading) must
//                get rank 0's abort message, not a broken stream
//   otherthread  rank 0's main thread ends the job while another thread waits
//                in a receive (holding the communicator); rank 1, computing,
//                must be ended by the abort
//   bcast        the ranks disagree on a broadcast's count: rank 1 gets -1,
//                and the next all_reduce still works (nothing of the failed
//                broadcast stays posted)
//   shutdown     rank 0 leaves early; ranks 1 and 2 go on talking, then 2
//                takes the message 0 left
//   rst          rank 1 times out while rank 0 streams 256 MiB to it: rank 0
//                must report rank 1's message
#include "core/internal.h"
#include "pzrt/comm.h"
#include "pzrt/error.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

int main() {
  pzrt_comm *w = pzrt_comm_create_auto();
  if (!w) {
    std::fprintf(stderr, "probe: %s\n", pzrt_last_error());
    return 2;
  }
  const char *m = std::getenv("PZRT_PROBE");
  const std::string mode = m ? m : "";
  const int r = pzrt_comm_rank(w);
  pzrt_comm_set_timeout(w, 30);
  if (mode == "midframe") {
    const size_t count = 16u << 20; // 64 MiB each
    if (r == 1) {
      pid_t self = getpid();
      if (fork() == 0) {
        usleep(1500000);
        kill(self, SIGCONT);
        _exit(0);
      }
      raise(SIGSTOP);
      std::vector<float> in(count);
      pzrt_recv(w, in.data(), count, PZRT_F32, 0, 1);
      pzrt_recv(w, in.data(), count, PZRT_F32, 0, 2);
      std::fprintf(stderr, "probe rank 1: both messages received?!\n");
      return 3;
    }
    std::vector<float> a(count, 1.0f), b(count, 2.0f);
    pzrt_send_request *q1 = nullptr, *q2 = nullptr;
    usleep(200000);
    pzrt_isend(w, a.data(), count, PZRT_F32, 1, 1, &q1);
    pzrt_isend(w, b.data(), count, PZRT_F32, 1, 2, &q2);
    pzrt_comm_set_timeout(w, 1.0);
    pzrt_send_wait(q1); // times out while rank 1 is stopped: fatal
    return 4;
  }
  if (mode == "otherthread") {
    if (r == 0) {
      std::thread t([&] {
        int64_t g = 0;
        pzrt_recv(w, &g, 1, PZRT_I64, 1, 7); // never comes
      });
      usleep(300000);
      pzrt::fatal(1, "main thread failed (numerics)");
    }
    sleep(20); // computing: only the abort ends this rank early
    std::fprintf(stderr, "probe rank %d: still running 20 s later; no abort arrived\n", r);
    return 5;
  }
  if (mode == "bcast") {
    size_t count = (r == 0 ? (3u << 19) : (3u << 20)) / 8; // 1.5 MiB against 3 MiB
    auto *b = new std::vector<int64_t>(count, r);
    int rc = pzrt_broadcast(w, b->data(), count, PZRT_I64, 0);
    std::fprintf(stderr, "probe rank %d: broadcast rc %d %s\n", r, rc, rc ? pzrt_last_error() : "");
    delete b;
    std::vector<int64_t> x(1 << 18, 1), y(1 << 18);
    rc = pzrt_all_reduce(w, x.data(), y.data(), x.size(), PZRT_I64, PZRT_REDUCE_SUM);
    std::fprintf(stderr, "probe rank %d: all_reduce after it rc %d sum %lld\n", r, rc,
                 static_cast<long long>(y[0]));
    pzrt_comm_destroy(w);
    return rc == 0 && y[0] == 2 && y.back() == 2 ? 0 : 6;
  }
  if (mode == "shutdown") {
    int64_t v = 42;
    if (r == 0) {
      pzrt_send(w, &v, 1, PZRT_I64, 2, 3);
      pzrt_comm_destroy(w);
      return 0;
    }
    for (int i = 0; i < 200; ++i) {
      int64_t s = i, g = -1;
      int peer = r == 1 ? 2 : 1;
      if (pzrt_sendrecv(w, &s, 1, peer, &g, 1, peer, PZRT_I64, 1) || g != i)
        return 7;
      usleep(2000);
    }
    if (r == 2) {
      int64_t g = 0;
      if (pzrt_recv(w, &g, 1, PZRT_I64, 0, 3) || g != 42)
        return 8;
    }
    std::fprintf(stderr, "probe rank %d: ok\n", r);
    pzrt_comm_destroy(w);
    return 0;
  }
  if (mode == "rst") {
    const size_t count = 64u << 20; // 256 MiB
    if (r == 0) {
      std::vector<float> a(count, 1.0f);
      pzrt_send(w, a.data(), count, PZRT_F32, 1, 1);
      return 0;
    }
    pzrt_comm_set_timeout(w, 0.05);
    int64_t g = 0;
    pzrt_recv(w, &g, 1, PZRT_I64, 0, 99); // never comes: times out
    return 9;
  }
  std::fprintf(stderr, "probe: PZRT_PROBE='%s' is not a case\n", mode.c_str());
  return 2;
}
