// One rank of an NCCL job, for the tests that need processes (one per GPU)
// or a clean CUDA state (CUDA_VISIBLE_DEVICES set before CUDA starts):
//   pzrt-nccl-probe create [--mpi|--host]  create the world communicator, destroy
//                                    it (--host: the unique id travels over the
//                                    host communicator, MPI or TCP)
//   pzrt-nccl-probe check [--mpi]    and run the collective checks on it
//   pzrt-nccl-probe timeout          rank 0 calls all_reduce, the others never do
//   pzrt-nccl-probe peerkilled --host  rank 1 is killed; rank 0 sends it 64 MiB
//                                    (left in flight) and destroys the
//                                    communicator: it must end (exit 1) naming
//                                    rank 1, not hang on its own lock
//   pzrt-nccl-probe enqueued         all_reduce enqueued on a stream (enqueueOn),
//                                    then a host wait that polls the wait watch
// Exit status: 0 ok, 1 a check failed, 2 the communicator was not created
// (the reason on stderr); a timed-out collective ends the process with 124.
#include "comm/comm_impl.h"
#include "core/wait_watch.h"
#include "nccl/nccl_checks.h"

#include "pzrt/comm.h"
#include "pzrt/error.h"

#include <csignal>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string>
#include <unistd.h>

int main(int argc, char **argv) {
  std::string mode = argc > 1 ? argv[1] : "check";
  bool mpi = argc > 2 && std::strcmp(argv[2], "--mpi") == 0;
  bool host = argc > 2 && std::strcmp(argv[2], "--host") == 0;
  pzrt_comm *mpiWorld = nullptr;
  if ((mpi && !(mpiWorld = pzrt_comm_create_mpi())) || // initializes MPI
      (host && !(mpiWorld = pzrt_comm_create_auto()))) {
    std::fprintf(stderr, "pzrt-nccl-probe: %s\n", pzrt_last_error());
    return 2;
  }
  pzrt_comm *world = pzrt::createNcclComm(-1, host ? mpiWorld : nullptr);
  if (!world) {
    std::fprintf(stderr, "pzrt-nccl-probe: %s\n", pzrt_last_error());
    return 2;
  }
  int rc = 0;
  if (mode == "check") {
    std::string report = pzrt::test::Checker(world).run();
    if (!report.empty()) {
      std::fprintf(stderr, "%s", report.c_str());
      rc = 1;
    } else {
      std::printf("ok: rank %d of %d\n", pzrt_comm_rank(world), pzrt_comm_size(world));
    }
  } else if (mode == "enqueued") {
    // What a compiled program's transfer does (cpu/device_transfer.cpp):
    // the collective is issued on the caller's stream and returns at once;
    // the host learns its fate when it waits for the device, whose waits
    // call the watch (cuda/async.cpp). The stream is the fake's: any handle.
    pzrt::test::DeviceVec<float> x(1024);
    void *stream = reinterpret_cast<void *>(uintptr_t{0x1000});
    if (world->enqueueOn(stream) ||
        pzrt_all_reduce(world, x.get(), x.get(), 1024, PZRT_F32, PZRT_REDUCE_SUM) ||
        world->enqueueOn(nullptr)) {
      std::fprintf(stderr, "pzrt-nccl-probe: %s\n", pzrt_last_error());
      return 2;
    }
    std::printf("issued\n");
    std::fflush(stdout);
    pzrt::WaitWatch watch = pzrt::waitWatch();
    if (!watch) {
      std::fprintf(stderr, "pzrt-nccl-probe: no wait watch after enqueueOn\n");
      return 1;
    }
    // A host wait of 0..5 s, as waitStream polls it (ends the process on a
    // failure or past the deadline).
    for (int i = 0; i <= 50; ++i) {
      watch(0.1 * i);
      usleep(1000);
    }
    std::printf("waited\n");
    pzrt_comm_destroy(world);
    world = nullptr;
    if (pzrt::waitWatch()) {
      std::fprintf(stderr, "pzrt-nccl-probe: the wait watch outlived the communicator\n");
      rc = 1;
    }
  } else if (mode == "peerkilled") {
    if (pzrt_barrier(mpiWorld) != 0)
      return 2;
    if (pzrt_comm_rank(world) == 1)
      raise(SIGKILL);
    sleep(1);
    const size_t count = 16u << 20;
    pzrt::test::DeviceVec<float> x(count);
    pzrt_send(world, x.get(), count, PZRT_F32, 1, 0); // in flight, never received
    pzrt_comm_destroy(world);                          // waits for it: rank 1 is gone
    world = nullptr;
    std::fprintf(stderr, "pzrt-nccl-probe: destroyed although rank 1 was killed\n");
    rc = 1;
  } else if (mode == "timeout") {
    // A second communicator, which the fatal error must abort too.
    pzrt_comm *sub = pzrt_comm_split(world, 0, pzrt_comm_rank(world), "sub");
    if (!sub) {
      std::fprintf(stderr, "pzrt-nccl-probe: %s\n", pzrt_last_error());
      return 2;
    }
    pzrt::test::DeviceVec<float> x(1024);
    if (pzrt_comm_rank(world) == 0)
      pzrt_all_reduce(world, x.get(), x.get(), 1024, PZRT_F32, PZRT_REDUCE_SUM); // never returns
    else // outlive rank 0's deadline, then leave without a word
      sleep(static_cast<unsigned>(2 * pzrt_comm_timeout(world)) + 2), _exit(3);
    rc = 1;
  }
  if (world)
    pzrt_comm_destroy(world);
  if (mpiWorld) {
    const bool wasMpi = pzrt_comm_is_mpi(mpiWorld) != 0;
    pzrt_comm_destroy(mpiWorld);
    if (wasMpi)
      pzrt_comm_finalize();
  }
  return rc;
}
