// Which communicator a compiled CUDA program's collectives run on
// (pzrt_device_hooks' data_comm; docs/design/0020-nccl-in-programs.md).
//
// PZRT_COMM picks it:
//   nccl  NCCL on device buffers, enqueued on the communication stream;
//   mpi   the driver's MPI communicator, each transfer staged through host
//         memory (several ranks may then share one GPU, which NCCL refuses);
//   auto  (the default) NCCL when no two ranks share a GPU (their GPUs'
//         UUIDs differ: CUDA_VISIBLE_DEVICES may show each rank one device)
//         and every rank can load NCCL, else MPI. The ranks agree over MPI,
//         so they never split between the two (PZRT_COMM set to mpi on some
//         ranks and nccl on others is an error on all of them).
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
#include <algorithm>
#include <string>
#include <vector>

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

// Why this rank cannot run NCCL (under auto), or "" when it can.
std::string whyNotNccl() {
#if !defined(PZRT_HAVE_NCCL)
  return "this program was built without NCCL";
#else
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
    cudaGetLastError();
    return "no CUDA device is visible";
  }
  if (!nccl::load())
    return pzrt_last_error();
  return "";
#endif
}

// The rank's GPU (its UUID) as two words, for finding ranks that share one.
void gpuWords(const CudaDevice &device, int64_t words[2]) {
  words[0] = words[1] = 0;
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, device.ordinal) == cudaSuccess)
    std::memcpy(words, prop.uuid.bytes, sizeof prop.uuid.bytes);
  else
    cudaGetLastError();
}

} // namespace

int dataComm(pzrt_comm *control, pzrt_comm **comm, void *) {
  *comm = nullptr;
  Choice choice = Choice::Auto;
  if (parseChoice(&choice))
    return -1;
  const int rank = pzrt_comm_rank(control), size = pzrt_comm_size(control);
  pzrt_device *d = pzrt_cuda_local_device();
  CudaDevice *device = d ? asCuda(d) : nullptr;
  if (!device)
    return -1;
  // Every rank must choose the same. What they learn from each other: a
  // rank asks for MPI, a rank asks for NCCL, a rank (under auto) cannot
  // run NCCL; then, for auto, every rank's GPU.
  std::string why = choice == Choice::Auto ? whyNotNccl() : "";
  int64_t v[3] = {choice == Choice::Mpi, choice == Choice::Nccl, !why.empty()};
  if (pzrt_all_reduce(control, v, v, 3, PZRT_I64, PZRT_REDUCE_MAX))
    return fail("agreeing on the collectives' communicator: %s", pzrt_last_error());
  if (v[0] && v[1])
    return fail("PZRT_COMM differs between the ranks: some ask for mpi, some for nccl");
  std::string mpiWhy = v[0] ? "PZRT_COMM=mpi" : "";
  if (mpiWhy.empty() && !v[1] && v[2])
    mpiWhy = why.empty() ? "another rank cannot use NCCL" : "NCCL: " + why;
  if (mpiWhy.empty() && !v[1]) {
    // NCCL refuses two ranks on one GPU (what CUDA_VISIBLE_DEVICES shows
    // each rank does not tell: compare the GPUs themselves).
    int64_t mine[2];
    gpuWords(*device, mine);
    std::vector<int64_t> all(2 * static_cast<size_t>(size));
    if (pzrt_all_gather(control, mine, all.data(), 2, PZRT_I64))
      return fail("comparing the ranks' GPUs: %s", pzrt_last_error());
    // Every rank looks at every rank's GPU: the same answer everywhere.
    std::vector<std::pair<std::pair<int64_t, int64_t>, int>> gpus;
    for (int r = 0; r < size; ++r)
      gpus.push_back({{all[2 * static_cast<size_t>(r)], all[2 * static_cast<size_t>(r) + 1]}, r});
    std::sort(gpus.begin(), gpus.end());
    for (size_t i = 1; i < gpus.size() && mpiWhy.empty(); ++i)
      if (gpus[i].first == gpus[i - 1].first)
        mpiWhy = format("ranks %d and %d share a GPU", gpus[i - 1].second, gpus[i].second);
  }
  if (!mpiWhy.empty()) {
    if (rank == 0)
      std::fprintf(stderr, "pzrt: collectives: %s, staged through host memory (%s; "
                           "PZRT_COMM=nccl insists on NCCL)\n",
                   pzrt_comm_is_mpi(control) ? "MPI" : "TCP", mpiWhy.c_str());
    return 0;
  }
#if defined(PZRT_HAVE_NCCL)
  *comm = createNcclComm(device->ordinal, control);
  if (!*comm)
    return -1;
  if (rank == 0)
    std::fprintf(stderr, "pzrt: collectives: NCCL on the communication stream (PZRT_COMM=%s)\n",
                 choice == Choice::Nccl ? "nccl" : "auto");
  return 0;
#else
  return fail("PZRT_COMM=nccl: this program was built without NCCL");
#endif
}

} // namespace pzrt::cuda
