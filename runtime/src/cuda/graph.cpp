// CUDA graphs of compiled functions and the device's check word.
//
// Capture. The driver (train/graphs.cpp) captures a compiled function's
// call on the compute stream (DeviceOps::captureBegin/End) and replays it
// (graphLaunch). The capture is cudaStreamCaptureModeThreadLocal: it
// refuses unsafe calls (a cudaMalloc, a synchronization) made on the
// capturing thread, where the compiled function runs, while the
// communication thread stays free to use CUDA (global mode would refuse
// its calls and invalidate the capture); relaxed mode would let an unsafe
// call on this thread pass silently.
//
// A function that needs the host inside it (pzrt_device_read/write, a
// host-staged MPI transfer's synchronization, an event, dropout keyed by
// the host's step) cannot be captured. The runtime's entry points for those
// call breakCapture() before touching CUDA: it ends the capture, launches
// what was captured so far (so that work runs, in order, before the host
// goes on) and marks the capture broken; the rest of the call runs eagerly
// and the driver keeps the function eager. So a wrong result needs a
// host-visible side effect that bypasses the runtime, which compiled code
// does not have.
//
// The check word. Device-side checks of compiled code (pz_flag in
// pzrt/cuda_prelude.h) record their id in one int per device; the host
// reads it in pzrt_device_check, after a function, and fails with the
// check's message as registered by pzrt_cuda_check_word.
#include "cuda/device_cuda.h"

#include "core/internal.h"
#include "pzrt/cuda.h"

#include <map>
#include <string>
#include <vector>

namespace pzrt::cuda {

namespace {

// The check word without a failure (kCheckNone of pzrt/cuda_prelude.h:
// bytes 0x7f, so that cudaMemset writes it).
constexpr int kCheckNone = 0x7f7f7f7f;

struct Capture {
  cudaStream_t stream = nullptr;
  // Active: recording. Ran: ended early, its work launched (the rest of the
  // call runs eagerly). Lost: ended early but its work could not run
  // (CUDA had invalidated the capture, or the launch failed): nothing of
  // the call ran on the device, and the host entry point failed.
  enum State { Active, Ran, Lost } state = Active;
};

// The capture in progress on this thread (ThreadLocal mode: the capture and
// the function's host code are on the same thread).
thread_local Capture *tlsCapture = nullptr;

std::mutex checksMutex;
std::vector<std::string> checkMessages; // id - 1 -> message
std::map<std::string, int> checkIds;

cudaStream_t handle(pzrt_stream *stream) { return static_cast<cudaStream_t>(stream->handle); }

// Ends the capture of `stream` and instantiates what it recorded: NULL when
// CUDA had invalidated it or the graph cannot be instantiated (nothing of
// it ran), with the error cleared.
cudaGraphExec_t endAndInstantiate(cudaStream_t stream) {
  cudaGraph_t graph = nullptr;
  cudaGraphExec_t exec = nullptr;
  if (cudaStreamEndCapture(stream, &graph) != cudaSuccess || !graph) {
    cudaGetLastError();
    return nullptr;
  }
  if (cudaGraphInstantiate(&exec, graph, 0) != cudaSuccess) {
    cudaGetLastError();
    exec = nullptr;
  }
  cudaGraphDestroy(graph);
  return exec;
}

} // namespace

int breakCapture(const char *why) {
  Capture *c = tlsCapture;
  if (!c || c->state != Capture::Active)
    return 0;
  // The work captured so far has not run: run it now, before the host
  // (which is about to synchronize or touch buffers) goes on.
  cudaGraphExec_t exec = endAndInstantiate(c->stream);
  c->state = Capture::Lost;
  if (!exec)
    return fail("%s: the CUDA graph capture in progress was invalid; its call is run again "
                "without a graph",
                why);
  cudaError_t err = cudaGraphLaunch(exec, c->stream);
  cudaGraphExecDestroy(exec); // deferred by CUDA until the launch is done
  if (err != cudaSuccess) {
    cudaGetLastError();
    return fail("%s: launching the captured part of the call: %s (%s)", why,
                cudaGetErrorString(err), cudaGetErrorName(err));
  }
  c->state = Capture::Ran;
  return 0;
}

int captureBegin(pzrt_stream *stream) {
  if (tlsCapture)
    return fail("captureBegin: a capture is already in progress on this thread");
  if (makeCurrent(*asCuda(stream->device)) ||
      check(cudaStreamBeginCapture(handle(stream), cudaStreamCaptureModeThreadLocal),
            "cudaStreamBeginCapture"))
    return -1;
  tlsCapture = new Capture{handle(stream)};
  return 0;
}

int captureEnd(pzrt_stream *stream, void **graphExec, int *ran) {
  *graphExec = nullptr;
  *ran = 0;
  Capture *c = tlsCapture;
  if (!c || c->stream != handle(stream))
    return fail("captureEnd: no capture in progress on this stream");
  tlsCapture = nullptr;
  const Capture::State state = c->state;
  delete c;
  if (state != Capture::Active) {
    // Ran: the call ran (its captured part, then eagerly). Lost: a host
    // entry point failed, which the call should have reported; nothing ran.
    *ran = state == Capture::Ran;
    return 0;
  }
  // NULL: a call the runtime did not route through breakCapture invalidated
  // the capture (or the graph cannot be instantiated): nothing of the call
  // ran, so the caller runs it again eagerly.
  *graphExec = endAndInstantiate(handle(stream));
  return 0;
}

// Ends a capture that the function's failure left open, discarding it;
// 1 when part of the call ran (the capture had ended early), else 0.
int captureAbandon(pzrt_stream *stream) {
  Capture *c = tlsCapture;
  if (!c)
    return 0;
  tlsCapture = nullptr;
  const Capture::State state = c->state;
  delete c;
  if (state == Capture::Active)
    if (cudaGraphExec_t exec = endAndInstantiate(handle(stream)))
      cudaGraphExecDestroy(exec);
  return state == Capture::Ran ? 1 : 0;
}

int graphLaunch(pzrt_stream *stream, void *graphExec) {
  if (makeCurrent(*asCuda(stream->device)))
    return -1;
  return check(cudaGraphLaunch(static_cast<cudaGraphExec_t>(graphExec), handle(stream)),
               "cudaGraphLaunch");
}

void graphDestroy(void *graphExec) {
  if (graphExec)
    cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(graphExec));
}

int checkDevice(pzrt_device *d) {
  CudaDevice &device = *asCuda(d);
  if (!device.checkWord)
    return 0;
  if (breakCapture("pzrt_device_check") || waitDevice(device, "cudaDeviceSynchronize"))
    return -1;
  int id = kCheckNone;
  if (check(cudaMemcpy(&id, device.checkWord, sizeof id, cudaMemcpyDeviceToHost),
            "cudaMemcpy (the check word)"))
    return -1;
  if (id == kCheckNone)
    return 0;
  // Reset, so that a caller that goes on (a test) sees later failures.
  check(cudaMemset(device.checkWord, 0x7f, sizeof id), "cudaMemset (the check word)");
  waitDevice(device, "cudaDeviceSynchronize");
  std::lock_guard<std::mutex> lock(checksMutex);
  if (id < 1 || static_cast<size_t>(id) > checkMessages.size())
    return fail("a device-side check failed with the unknown id %d", id);
  return fail("%s", checkMessages[static_cast<size_t>(id) - 1].c_str());
}

int publishStep(pzrt_stream *stream, int64_t step) {
  CudaDevice &device = *asCuda(stream->device);
  std::lock_guard<std::mutex> lock(device.checkMutex);
  if (!device.stepWord || device.publishedStep == step)
    return 0;
  // From pageable memory: CUDA stages the value before returning, and the
  // copy runs in stream order after the kernels that read the old step.
  if (breakCapture("pzrt_step_publish") || makeCurrent(device) ||
      check(cudaMemcpyAsync(device.stepWord, &step, sizeof step, cudaMemcpyHostToDevice,
                            handle(stream)),
            "cudaMemcpyAsync (the step word)"))
    return -1;
  device.publishedStep = step;
  return 0;
}

} // namespace pzrt::cuda

using pzrt::fail;
using pzrt::cuda::asCuda;
using pzrt::cuda::check;
using pzrt::cuda::CudaDevice;

extern "C" {

int *pzrt_cuda_check_word(pzrt_step_ctx *ctx, const char *message, int *id) {
  CudaDevice *device = ctx ? asCuda(ctx->device) : nullptr;
  if (!device || !message || !id) {
    fail("pzrt_cuda_check_word: %s",
         !device ? "the step context has no CUDA device" : "no message or id");
    return nullptr;
  }
  if (*id == 0) {
    std::lock_guard<std::mutex> lock(pzrt::cuda::checksMutex);
    auto [it, added] = pzrt::cuda::checkIds.emplace(message, 0);
    if (added) {
      pzrt::cuda::checkMessages.push_back(message);
      it->second = static_cast<int>(pzrt::cuda::checkMessages.size());
    }
    *id = it->second;
  }
  std::lock_guard<std::mutex> lock(device->checkMutex);
  if (!device->checkWord) {
    // The first call of a function is never captured (the driver warms up),
    // but allocation must not happen inside a capture in any case.
    void *p = nullptr;
    if (pzrt::cuda::breakCapture("allocating the check word") ||
        pzrt::cuda::makeCurrent(*device) ||
        check(cudaMalloc(&p, sizeof(int)), "cudaMalloc (the check word)"))
      return nullptr;
    if (check(cudaMemset(p, 0x7f, sizeof(int)), "cudaMemset (the check word)") ||
        pzrt::cuda::waitDevice(*device, "cudaDeviceSynchronize")) {
      cudaFree(p);
      return nullptr;
    }
    device->checkWord = static_cast<int *>(p);
  }
  return device->checkWord;
}

const int64_t *pzrt_cuda_step_word(pzrt_step_ctx *ctx) {
  CudaDevice *device = ctx ? asCuda(ctx->device) : nullptr;
  if (!device) {
    fail("pzrt_cuda_step_word: the step context has no CUDA device");
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(device->checkMutex);
  if (!device->stepWord) {
    // First use (an eager call: the driver warms up before capturing).
    void *p = nullptr;
    const int64_t step = ctx->step;
    if (pzrt::cuda::breakCapture("allocating the step word") ||
        pzrt::cuda::makeCurrent(*device) ||
        check(cudaMalloc(&p, sizeof(int64_t)), "cudaMalloc (the step word)"))
      return nullptr;
    if (check(cudaMemcpy(p, &step, sizeof step, cudaMemcpyHostToDevice),
              "cudaMemcpy (the step word)") ||
        pzrt::cuda::waitDevice(*device, "cudaDeviceSynchronize")) {
      cudaFree(p);
      return nullptr;
    }
    device->stepWord = static_cast<int64_t *>(p);
    device->publishedStep = step;
  }
  return device->stepWord;
}

int pzrt_cuda_uncapturable(pzrt_step_ctx *ctx, const char *why) {
  (void)ctx;
  return pzrt::cuda::breakCapture(why ? why : "an uncapturable call");
}

} // extern "C"
