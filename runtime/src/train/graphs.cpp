// CUDA graphs of the compiled functions' calls: see graphs.h.
#include "train/graphs.h"

#include "core/device.h"
#include "core/internal.h"
#include "pzrt/error.h"

#include <cstdlib>
#include <cstring>
#include <set>

namespace pzrt::train {

namespace {

const pzrt::DeviceOps *graphOps(const pzrt_step_ctx *ctx) {
  const pzrt::DeviceOps *ops = ctx && ctx->device ? ctx->device->ops : nullptr;
  if (!ops || !ops->captureBegin || !ops->captureEnd || !ops->captureAbandon ||
      !ops->graphLaunch || !ops->graphDestroy)
    return nullptr;
  return ops;
}

} // namespace

FunctionGraphs::~FunctionGraphs() {
  if (const pzrt::DeviceOps *ops = graphOps(ctx_))
    for (auto &[key, e] : entries_)
      ops->graphDestroy(e.graph);
}

void FunctionGraphs::init(pzrt_step_ctx *ctx) {
  ctx_ = ctx;
  const char *env = std::getenv("PZRT_CUDA_GRAPHS");
  // PZRT_CUDA_SYNC=1 synchronizes after every launch, which a capture
  // cannot hold (pzrt/cuda.h).
  const char *sync = std::getenv("PZRT_CUDA_SYNC");
  enabled_ = graphOps(ctx) && ctx->num_streams > 0 && ctx->streams && ctx->streams[0] &&
             !(env && std::strcmp(env, "0") == 0) && !(sync && std::strcmp(sync, "1") == 0);
}

int FunctionGraphs::call(size_t chunk, int function, int micro, const char *name,
                         pzrt_host_fn fn, pzrt_step_ctx *ctx, void *const *args) {
  if (!enabled_)
    return fn(ctx, args);
  const pzrt::DeviceOps &ops = *graphOps(ctx);
  pzrt_stream *stream = ctx->streams[0];
  Entry &e = entries_[{chunk, function, micro}];
  if (e.name.empty())
    e.name = name ? name : "?";
  if (e.graph) {
    ++replays_;
    return ops.graphLaunch(stream, e.graph);
  }
  if (e.eager || e.calls++ < kWarmupCalls)
    return fn(ctx, args);
  // Captured: the work is recorded, not run; launching the graph runs it.
  if (ops.captureBegin(stream) != 0) {
    e.eager = true; // e.g. the stream cannot capture: run as before
    pzrt_clear_error();
    return fn(ctx, args);
  }
  e.eager = true; // unless a graph results
  if (fn(ctx, args) != 0) {
    std::string err = pzrt_last_error();
    // Nothing ran while the capture held: the failure may be the capture's
    // (a CUDA call it refused), so the call runs again eagerly and fails
    // there again if the failure is the function's own.
    if (ops.captureAbandon(stream) == 0) {
      pzrt_clear_error();
      return fn(ctx, args);
    }
    return pzrt::fail("%s", err.c_str());
  }
  void *graph = nullptr;
  int ran = 0;
  if (ops.captureEnd(stream, &graph, &ran) != 0)
    return -1;
  if (!graph) // ended early and ran, or invalidated and did not (graphs.h)
    return ran ? 0 : fn(ctx, args);
  e.eager = false;
  e.graph = graph;
  ++replays_;
  return ops.graphLaunch(stream, graph);
}

std::string FunctionGraphs::summary() const {
  if (!enabled_)
    return "";
  int graphs = 0;
  std::set<std::string> eager;
  for (const auto &[key, e] : entries_) {
    if (e.graph)
      ++graphs;
    else
      eager.insert(e.name);
  }
  std::string names;
  for (const std::string &n : eager)
    names += (names.empty() ? "" : ", ") + n;
  return pzrt::format("CUDA graphs: %d of %zu function calls (function, micro-batch) run as "
                      "graphs, %lld graph launches; eager: %s",
                      graphs, entries_.size(), static_cast<long long>(replays_),
                      names.empty() ? "none" : names.c_str());
}

} // namespace pzrt::train
