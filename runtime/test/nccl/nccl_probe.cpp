// One rank of an NCCL job, for the tests that need processes (one per GPU)
// or a clean CUDA state (CUDA_VISIBLE_DEVICES set before CUDA starts):
//   pzrt-nccl-probe create [--mpi]   create the world communicator, destroy it
//   pzrt-nccl-probe check [--mpi]    and run the collective checks on it
//   pzrt-nccl-probe timeout          rank 0 calls all_reduce, the others never do
// Exit status: 0 ok, 1 a check failed, 2 the communicator was not created
// (the reason on stderr); a timed-out collective ends the process with 124.
#include "comm/comm_impl.h"
#include "nccl/nccl_checks.h"

#include "pzrt/comm.h"
#include "pzrt/error.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

int main(int argc, char **argv) {
  std::string mode = argc > 1 ? argv[1] : "check";
  bool mpi = argc > 2 && std::strcmp(argv[2], "--mpi") == 0;
  pzrt_comm *mpiWorld = nullptr;
  if (mpi && !(mpiWorld = pzrt_comm_create_mpi())) { // initializes MPI
    std::fprintf(stderr, "pzrt-nccl-probe: %s\n", pzrt_last_error());
    return 2;
  }
  pzrt_comm *world = pzrt::createNcclComm();
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
  pzrt_comm_destroy(world);
  if (mpiWorld) {
    pzrt_comm_destroy(mpiWorld);
    pzrt_comm_finalize();
  }
  return rc;
}
