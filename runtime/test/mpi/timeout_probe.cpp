// Rank 0 enters an all_reduce that rank 1 never joins. With a 1 s timeout the
// job must end non-zero with a message naming rank 0 and all_reduce, and the
// trace rank 0 had open must be flushed as valid JSON.
//
// PZRT_PROBE=kill (the TCP communicator's tests): rank 1 is killed (SIGKILL)
// instead, and rank 0, with a 60 s timeout, must end at once naming rank 1.
#include "pzrt/comm.h"
#include "pzrt/error.h"
#include "pzrt/trace.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

int main(int argc, char **argv) {
  pzrt_comm *world = pzrt_comm_create_auto(); // MPI under mpirun, else TCP
  if (!world) {
    std::fprintf(stderr, "probe: %s\n", pzrt_last_error());
    return 2;
  }
  const char *mode = std::getenv("PZRT_PROBE");
  const bool kill = mode && std::strcmp(mode, "kill") == 0;
  pzrt_comm_set_timeout(world, kill ? 60.0 : 1.0);
  if (kill && pzrt_comm_rank(world) == 1)
    raise(SIGKILL);
  if (pzrt_comm_rank(world) == 0) {
    pzrt_trace *t = argc > 1 ? pzrt_trace_open(argv[1], 0) : nullptr;
    double now = pzrt_trace_now_us();
    pzrt_trace_event(t, "before-timeout", "test", 0, now, 1.0, nullptr);
    float x[4] = {1, 2, 3, 4};
    pzrt_all_reduce(world, x, x, 4, PZRT_F32, PZRT_REDUCE_SUM);
    std::fprintf(stderr, "probe: all_reduce returned although rank 1 never joined\n");
    return 3;
  }
  sleep(60); // rank 1: never joins; must be killed by the abort
  return 0;
}
