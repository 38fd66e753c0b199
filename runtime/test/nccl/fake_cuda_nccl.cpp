// A host-memory stand-in for the CUDA runtime and NCCL functions that
// comm_nccl.cpp calls, so that its control flow runs without a GPU: device
// selection, the unique id's bootstrap (over the real TCP rendezvous or MPI),
// the polling of non-blocking calls and events against the deadline, the
// abort of every communicator on a fatal error, and the argument glue of
// each collective on a 1-rank communicator. It proves nothing about NCCL
// itself: the GPU tests (pzrt-nccl-gpu-tests) do that where GPUs exist.
//
// Behaviour, from the environment:
//   PZRT_FAKE_CUDA_DEVICES=N  devices visible (default 1; 0 = none)
//   PZRT_FAKE_NCCL=hang       collectives are enqueued but never complete
//   PZRT_FAKE_NCCL=asyncerror collectives fail later with ncclRemoteError
//   PZRT_FAKE_NCCL=inithang   communicators never finish connecting
// Communicators of more than one rank are created (the bootstrap is what
// is tested) but refuse collectives: the fake has no peers to move data to.
// Every init and abort is logged to stderr ("fake-nccl: ...") for the tests.
#include <cuda_runtime_api.h>
#include <nccl.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <unistd.h>

struct ncclComm {
  int rank = 0;
  int size = 1;
  std::string name;
  ncclResult_t state = ncclSuccess;
};

namespace {

std::string mode() {
  const char *m = std::getenv("PZRT_FAKE_NCCL");
  return m ? m : "";
}

// The stream and event handles are never dereferenced by the caller.
int gStreamTag, gEventTag;
bool gPending = false; // an enqueued operation that never completes ("hang")

size_t typeSize(ncclDataType_t t) {
  switch (t) {
  case ncclInt8:
  case ncclUint8:
    return 1;
  case ncclFloat16:
  case ncclBfloat16:
    return 2;
  case ncclInt32:
  case ncclUint32:
  case ncclFloat32:
    return 4;
  default:
    return 8;
  }
}

// What every fake collective does: a 1-rank copy, unless the mode says
// otherwise.
ncclResult_t collective(ncclComm_t comm, const void *send, void *recv, size_t bytes) {
  if (comm->size != 1) {
    std::fprintf(stderr, "fake-nccl: collectives need a 1-rank communicator\n");
    return ncclInvalidUsage;
  }
  if (mode() == "hang") {
    gPending = true;
    return ncclSuccess;
  }
  if (mode() == "asyncerror") {
    comm->state = ncclRemoteError;
    return ncclSuccess;
  }
  if (send != recv && bytes)
    std::memmove(recv, send, bytes);
  return ncclSuccess;
}

std::string hex(const char *p, size_t n) {
  std::string s;
  char b[3];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(b, sizeof(b), "%02x", static_cast<unsigned char>(p[i]));
    s += b;
  }
  return s;
}

} // namespace

extern "C" {

cudaError_t cudaGetDeviceCount(int *count) {
  const char *n = std::getenv("PZRT_FAKE_CUDA_DEVICES");
  *count = n ? std::atoi(n) : 1;
  return *count > 0 ? cudaSuccess : cudaErrorNoDevice;
}
cudaError_t cudaSetDevice(int) { return cudaSuccess; }
cudaError_t cudaStreamCreate(cudaStream_t *s) {
  *s = reinterpret_cast<cudaStream_t>(&gStreamTag);
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned int) {
  *e = reinterpret_cast<cudaEvent_t>(&gEventTag);
  return cudaSuccess;
}
cudaError_t cudaEventDestroy(cudaEvent_t) { return cudaSuccess; }
cudaError_t cudaEventRecord(cudaEvent_t, cudaStream_t) { return cudaSuccess; }
cudaError_t cudaEventRecordWithFlags(cudaEvent_t, cudaStream_t, unsigned int) {
  return cudaSuccess;
}
cudaError_t cudaStreamIsCapturing(cudaStream_t, cudaStreamCaptureStatus *status) {
  *status = cudaStreamCaptureStatusNone;
  return cudaSuccess;
}
cudaError_t cudaEventQuery(cudaEvent_t) { return gPending ? cudaErrorNotReady : cudaSuccess; }
cudaError_t cudaMalloc(void **p, size_t n) {
  *p = std::malloc(n ? n : 1);
  return *p ? cudaSuccess : cudaErrorMemoryAllocation;
}
cudaError_t cudaFree(void *p) {
  std::free(p);
  return cudaSuccess;
}
cudaError_t cudaMemset(void *p, int v, size_t n) {
  std::memset(p, v, n);
  return cudaSuccess;
}
cudaError_t cudaMemcpy(void *d, const void *s, size_t n, enum cudaMemcpyKind) {
  std::memmove(d, s, n);
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void *d, const void *s, size_t n, enum cudaMemcpyKind, cudaStream_t) {
  std::memmove(d, s, n);
  return cudaSuccess;
}
const char *cudaGetErrorString(cudaError_t e) {
  return e == cudaErrorNoDevice ? "no CUDA-capable device is detected (fake)" : "fake CUDA error";
}
cudaError_t cudaGetLastError(void) { return cudaSuccess; }

ncclResult_t ncclGetUniqueId(ncclUniqueId *id) {
  // Random, so that the tests can see the very bytes arrive on every rank.
  int fd = open("/dev/urandom", O_RDONLY);
  ssize_t got = fd >= 0 ? read(fd, id->internal, sizeof(id->internal)) : -1;
  if (fd >= 0)
    close(fd);
  return got == static_cast<ssize_t>(sizeof(id->internal)) ? ncclSuccess : ncclSystemError;
}

ncclResult_t ncclCommInitRankConfig(ncclComm_t *comm, int nranks, ncclUniqueId id, int rank,
                                    ncclConfig_t *config) {
  auto *c = new ncclComm();
  c->rank = rank;
  c->size = nranks;
  c->name = config && config->commName ? config->commName : "";
  c->state = mode() == "inithang" ? ncclInProgress : ncclSuccess;
  bool blocking = config && config->blocking == 0 ? false : true;
  std::fprintf(stderr, "fake-nccl: init '%s' rank %d of %d id %s%s\n", c->name.c_str(), rank,
               nranks, hex(id.internal, 16).c_str(), blocking ? " blocking" : "");
  *comm = c;
  return c->state == ncclInProgress ? ncclInProgress : ncclSuccess;
}

ncclResult_t ncclCommSplit(ncclComm_t comm, int color, int key, ncclComm_t *newcomm,
                           ncclConfig_t *config) {
  if (color < 0 || comm->size != 1)
    return ncclInvalidUsage;
  (void)key;
  auto *c = new ncclComm();
  c->name = config && config->commName ? config->commName : "";
  *newcomm = c;
  return ncclSuccess;
}

ncclResult_t ncclCommGetAsyncError(ncclComm_t comm, ncclResult_t *state) {
  *state = comm->state;
  return ncclSuccess;
}
ncclResult_t ncclCommUserRank(const ncclComm_t comm, int *rank) {
  *rank = comm->rank;
  return ncclSuccess;
}
ncclResult_t ncclCommCount(const ncclComm_t comm, int *count) {
  *count = comm->size;
  return ncclSuccess;
}
ncclResult_t ncclCommFinalize(ncclComm_t) { return ncclSuccess; }
ncclResult_t ncclCommDestroy(ncclComm_t comm) {
  delete comm;
  return ncclSuccess;
}
ncclResult_t ncclCommAbort(ncclComm_t comm) {
  std::fprintf(stderr, "fake-nccl: abort '%s'\n", comm->name.c_str());
  delete comm;
  return ncclSuccess;
}
const char *ncclGetErrorString(ncclResult_t r) {
  return r == ncclRemoteError ? "remote process exited or there was a network error"
                              : "fake NCCL error";
}
const char *ncclGetLastError(ncclComm_t) { return "fake peer died"; }

ncclResult_t ncclAllReduce(const void *s, void *r, size_t count, ncclDataType_t t, ncclRedOp_t,
                           ncclComm_t comm, cudaStream_t) {
  return collective(comm, s, r, count * typeSize(t));
}
ncclResult_t ncclAllGather(const void *s, void *r, size_t count, ncclDataType_t t,
                           ncclComm_t comm, cudaStream_t) {
  return collective(comm, s, r, count * typeSize(t));
}
ncclResult_t ncclReduceScatter(const void *s, void *r, size_t count, ncclDataType_t t,
                               ncclRedOp_t, ncclComm_t comm, cudaStream_t) {
  return collective(comm, s, r, count * typeSize(t));
}
ncclResult_t ncclBroadcast(const void *s, void *r, size_t count, ncclDataType_t t, int,
                           ncclComm_t comm, cudaStream_t) {
  return collective(comm, s, r, count * typeSize(t));
}
ncclResult_t ncclSend(const void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t) {
  return ncclInvalidUsage; // no peer on a 1-rank communicator
}
ncclResult_t ncclRecv(void *, size_t, ncclDataType_t, int, ncclComm_t, cudaStream_t) {
  return ncclInvalidUsage;
}
ncclResult_t ncclGroupStart() { return ncclSuccess; }
ncclResult_t ncclGroupEnd() { return ncclSuccess; }

} // extern "C"
