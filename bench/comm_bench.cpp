// pzrt-comm-bench: all_reduce, all_gather and broadcast of fp32 buffers from 8 B to
// 64 MiB on the job's host communicator (MPI under mpirun, TCP under
// torchrun's variables: pzrt_comm_create_auto). Rank 0 prints one JSON
// object per line: op, bytes, the median time of one call in us over the
// repetitions, and the bus bandwidth in GB/s (NCCL-tests' convention:
// all_reduce moves 2(n-1)/n of the buffer per rank, all_gather (n-1)/n).
// Run by bench/host_comm.py.
#include "pzrt/comm.h"
#include "pzrt/error.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

int main() {
  pzrt_comm *w = pzrt_comm_create_auto();
  if (!w) {
    std::fprintf(stderr, "pzrt-comm-bench: %s\n", pzrt_last_error());
    return 2;
  }
  const int n = pzrt_comm_size(w), r = pzrt_comm_rank(w);
  for (size_t bytes = 8; bytes <= (size_t(64) << 20); bytes *= 8) {
    for (const char *op : {"all_reduce", "all_gather", "broadcast"}) {
      const size_t count = std::max<size_t>(1, bytes / 4);
      const bool gather = op[4] == 'g', bcast = op[0] == 'b';
      const size_t per = gather ? std::max<size_t>(1, count / static_cast<size_t>(n)) : count;
      std::vector<float> x(count, 1.0f), y(gather ? per * static_cast<size_t>(n) : count);
      // About 0.3 s of calls at 1 GB/s, at least 5 and at most 2000.
      const int reps = static_cast<int>(std::clamp<size_t>((size_t(300) << 20) / bytes, 5, 2000));
      std::vector<double> us;
      for (int i = -2; i < reps; ++i) {
        if (pzrt_barrier(w))
          return 1;
        auto t0 = std::chrono::steady_clock::now();
        int rc = gather  ? pzrt_all_gather(w, x.data(), y.data(), per, PZRT_F32)
                 : bcast ? pzrt_broadcast(w, x.data(), count, PZRT_F32, 0)
                         : pzrt_all_reduce(w, x.data(), y.data(), count, PZRT_F32,
                                           PZRT_REDUCE_SUM);
        int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now() - t0)
                         .count();
        if (rc) {
          std::fprintf(stderr, "pzrt-comm-bench: %s\n", pzrt_last_error());
          return 1;
        }
        // The slowest rank's time is the call's.
        if (pzrt_all_reduce(w, &ns, &ns, 1, PZRT_I64, PZRT_REDUCE_MAX) == 0 && i >= 0)
          us.push_back(static_cast<double>(ns) / 1e3);
      }
      std::sort(us.begin(), us.end());
      const double med = us[us.size() / 2];
      // Bus bandwidth: all_reduce 2(n-1)/n S, all_gather (n-1)/n S, broadcast S.
      const double moved = gather  ? per * static_cast<size_t>(n) * 4.0 * (n - 1) / n
                           : bcast ? count * 4.0
                                   : count * 4.0 * 2.0 * (n - 1) / n;
      if (r == 0)
        std::printf("{\"op\": \"%s\", \"bytes\": %zu, \"ranks\": %d, \"median_us\": %.2f, "
                    "\"busbw_gbps\": %.4f, \"reps\": %d}\n",
                    op, gather ? per * static_cast<size_t>(n) * 4 : count * 4, n, med,
                    moved / med / 1e3, reps);
    }
  }
  pzrt_comm_destroy(w);
  pzrt_comm_finalize();
  return 0;
}
