// Which communicator a compiled CUDA program's collectives run on
// (pzrt_device_hooks' data_comm; docs/design/0020-nccl-in-programs.md).
//
// PZRT_COMM picks it:
//   nccl  NCCL on device buffers, enqueued on the communication stream;
//   mpi   the driver's MPI communicator, each transfer staged through host
//         memory (several ranks may then share one GPU, which NCCL refuses);
//   auto  (the default) NCCL when every rank of the node has a GPU of its
//         own and every rank can load NCCL, else MPI. The ranks agree over
//         MPI, so they never split between the two.
// The choice is printed once, by rank 0, on stderr.
#include "cuda/device_cuda.h"

#include "comm/comm_impl.h"
#include "core/internal.h"
#include "pzrt/comm.h"
#include "pzrt/cuda.h"
#include "pzrt/env.h"
#include "pzrt/error.h"

#if defined(PZRT_HAVE_NCCL)
#include "comm/nccl_api.h"
#endif

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace pzrt::cuda {
namespace {

enum class Choice { Auto, Nccl, Mpi };

int parseChoice(Choice *out) {
  const char *v = std::getenv("PZRT_COMM");
  if (!v || !*v || std::strcmp(v, "auto") == 0)
    *out = Choice::Auto;
  else if (std::strcmp(v, "nccl") == 0)
    *out = Choice::Nccl;
  else if (std::strcmp(v, "mpi") == 0)
    *out = Choice::Mpi;
  else
    return fail("PZRT_COMM='%s': use auto, nccl or mpi", v);
  return 0;
}

// Why this rank cannot run NCCL under auto, or "" when it can.
std::string whyNotNccl(const pzrt_env &env) {
#if !defined(PZRT_HAVE_NCCL)
  (void)env;
  return "this program was built without NCCL";
#else
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    return "no CUDA device is visible";
  }
  if (env.local_size > count)
    return format("%d ranks share %d GPU%s on this node", env.local_size, count,
                  count == 1 ? "" : "s");
  if (!nccl::load())
    return pzrt_last_error();
  return "";
#endif
}

} // namespace

int dataComm(pzrt_comm *control, pzrt_comm **comm, void *) {
  *comm = nullptr;
  Choice choice = Choice::Auto;
  if (parseChoice(&choice))
    return -1;
  pzrt_env env{};
  if (pzrt_env_discover(&env))
    return -1;
  const bool rank0 = pzrt_comm_rank(control) == 0;
  if (choice == Choice::Mpi) {
    if (rank0)
      std::fprintf(stderr, "pzrt: collectives: MPI, staged through host memory (PZRT_COMM=mpi)\n");
    return 0;
  }
  if (choice == Choice::Auto) {
    // Every rank must choose the same: one that cannot use NCCL makes all
    // of them use MPI.
    std::string why = whyNotNccl(env);
    int64_t cannot = why.empty() ? 0 : 1;
    if (pzrt_all_reduce(control, &cannot, &cannot, 1, PZRT_I64, PZRT_REDUCE_MAX))
      return fail("agreeing on the collectives' communicator: %s", pzrt_last_error());
    if (!why.empty())
      std::fprintf(stderr, "pzrt: rank %d: collectives: MPI, staged through host memory, "
                           "not NCCL: %s (PZRT_COMM=nccl insists)\n",
                   pzrt_comm_rank(control), why.c_str());
    if (cannot && why.empty() && rank0)
      std::fprintf(stderr, "pzrt: collectives: MPI, staged through host memory: another rank "
                           "cannot use NCCL\n");
    if (cannot)
      return 0;
  }
#if defined(PZRT_HAVE_NCCL)
  pzrt_device *d = pzrt_cuda_local_device();
  CudaDevice *device = d ? asCuda(d) : nullptr;
  if (!device)
    return -1;
  *comm = createNcclComm(device->ordinal);
  if (!*comm)
    return -1;
  if (rank0)
    std::fprintf(stderr, "pzrt: collectives: NCCL on the communication stream (PZRT_COMM=%s)\n",
                 choice == Choice::Nccl ? "nccl" : "auto");
  return 0;
#else
  return fail("PZRT_COMM=nccl: this program was built without NCCL");
#endif
}

} // namespace pzrt::cuda
