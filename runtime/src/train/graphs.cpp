// CUDA graphs of the compiled functions' calls: see graphs.h.
#include "train/graphs.h"

#include "core/device.h"
#include "comm/comm_impl.h"
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

using CommCounts = FunctionGraphs::CommCounts;

CommCounts snapshot() {
  CommCounts c;
  for (int k = 0; k < PZRT_COLL_KIND_COUNT; ++k) {
    c.bytes[k] = pzrt_comm_bytes(static_cast<pzrt_coll_kind>(k));
    c.calls[k] = pzrt_comm_calls(static_cast<pzrt_coll_kind>(k));
  }
  for (int i = 0, n = pzrt_comm_reason_count(); i < n; ++i) {
    std::vector<uint64_t> &r = c.reasons[pzrt_comm_reason_name(i)];
    for (int k = 0; k < PZRT_COLL_KIND_COUNT; ++k)
      r.push_back(pzrt_comm_reason_bytes(i, static_cast<pzrt_coll_kind>(k)));
  }
  return c;
}

CommCounts since(const CommCounts &before) {
  CommCounts d = snapshot();
  for (int k = 0; k < PZRT_COLL_KIND_COUNT; ++k) {
    d.bytes[k] -= before.bytes[k];
    d.calls[k] -= before.calls[k];
  }
  for (auto &[reason, bytes] : d.reasons) {
    auto it = before.reasons.find(reason);
    for (int k = 0; it != before.reasons.end() && k < PZRT_COLL_KIND_COUNT; ++k)
      bytes[static_cast<size_t>(k)] -= it->second[static_cast<size_t>(k)];
  }
  return d;
}

// Adds d to the counters again, or (`undo`) takes it away (unsigned
// arithmetic: adding 2^64 - x subtracts x).
int countAgain(const CommCounts &d, bool undo = false) {
  auto v = [undo](uint64_t x) { return undo ? uint64_t{0} - x : x; };
  for (int k = 0; k < PZRT_COLL_KIND_COUNT; ++k)
    if (d.bytes[k] || d.calls[k])
      pzrt::addCommCount(static_cast<pzrt_coll_kind>(k), v(d.bytes[k]), v(d.calls[k]));
  for (const auto &[reason, bytes] : d.reasons)
    for (int k = 0; k < PZRT_COLL_KIND_COUNT; ++k)
      if (bytes[static_cast<size_t>(k)] &&
          pzrt_comm_count_reason(reason.c_str(), static_cast<pzrt_coll_kind>(k),
                                 v(bytes[static_cast<size_t>(k)])))
        return -1;
  return 0;
}

// Captures body() on `stream`. *graph: the executable graph (the work not
// yet run), or NULL with *ran saying whether body's work ran (an early end:
// 1; CUDA invalidated the capture: 0). Returns body's failure as -1 after
// running it again eagerly when nothing of it ran (the failure may have been
// the capture's), or -1 when the capture itself failed.
// *counted: what the body's transfers counted while captured (what a replay
// counts again). A body run again eagerly first takes back what its lost
// capture counted, so that nothing is counted twice.
int captureBody(const pzrt::DeviceOps &ops, pzrt_stream *stream,
                const std::function<int()> &body, void **graph, int *ran,
                CommCounts *counted) {
  *graph = nullptr;
  *ran = 0;
  if (ops.captureBegin(stream) != 0) {
    pzrt_clear_error(); // e.g. the stream cannot capture: run as before
    *ran = 1;
    return body();
  }
  const CommCounts before = snapshot();
  auto again = [&] {
    *ran = 1;
    return countAgain(since(before), true) ? -1 : body();
  };
  int rc;
  try {
    rc = body();
  } catch (...) { // the driver's failure (a Failure): no capture left open
    ops.captureAbandon(stream);
    throw;
  }
  if (rc != 0) {
    std::string err = pzrt_last_error();
    if (ops.captureAbandon(stream) == 0) {
      pzrt_clear_error();
      return again();
    }
    return pzrt::fail("%s", err.c_str());
  }
  if (ops.captureEnd(stream, graph, ran) != 0)
    return -1;
  if (!*graph && !*ran) // invalidated: nothing ran
    return again();
  *counted = since(before);
  return 0;
}

} // namespace

FunctionGraphs::~FunctionGraphs() { reset(); }

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
    if (countAgain(e.counted))
      return -1;
    return ops.graphLaunch(stream, e.graph);
  }
  if (e.eager || e.calls++ < kWarmupCalls)
    return fn(ctx, args);
  // Captured: the work is recorded, not run; launching the graph runs it.
  e.eager = true; // unless a graph results
  void *graph = nullptr;
  int ran = 0;
  if (captureBody(ops, stream, [&] { return fn(ctx, args); }, &graph, &ran, &e.counted) != 0)
    return -1;
  if (!graph) // the call ran eagerly (graphs.h)
    return 0;
  e.eager = false;
  e.graph = graph;
  ++replays_;
  return ops.graphLaunch(stream, graph);
}

StepGraph::~StepGraph() { reset(); }

void StepGraph::reset() {
  if (const pzrt::DeviceOps *ops = graphOps(ctx_))
    ops->graphDestroy(graph_);
  graph_ = nullptr;
}

void FunctionGraphs::reset() {
  if (const pzrt::DeviceOps *ops = graphOps(ctx_))
    for (auto &[key, e] : entries_) {
      ops->graphDestroy(e.graph);
      e.graph = nullptr;
    }
}

int StepGraph::run(pzrt_step_ctx *ctx, const std::function<int()> &body) {
  ctx_ = ctx;
  const pzrt::DeviceOps *ops = graphOps(ctx);
  pzrt_stream *stream = ctx->num_streams > 0 && ctx->streams ? ctx->streams[0] : nullptr;
  if (!ops || !stream || eager_ || ++steps_ <= kWarmupSteps)
    return body();
  if (graph_) {
    ++launches_;
    if (countAgain(counted_))
      return -1;
    return ops->graphLaunch(stream, graph_);
  }
  eager_ = true; // unless a graph results
  int ran = 0;
  if (captureBody(*ops, stream, body, &graph_, &ran, &counted_) != 0)
    return -1;
  if (!graph_)
    return 0;
  eager_ = false;
  capturedAt_ = ctx->step;
  ++launches_;
  return ops->graphLaunch(stream, graph_);
}

std::string StepGraph::summary() const {
  if (steps_ == 0)
    return "";
  if (!graph_ && !eager_)
    return pzrt::format("CUDA graphs: the step is not a graph yet (%d warm-up steps ran)",
                        steps_);
  if (!graph_)
    return pzrt::format("CUDA graphs: the step is not a graph (its capture needed the host); "
                        "%d steps ran eagerly",
                        steps_);
  return pzrt::format("CUDA graphs: the whole step is one graph from step %lld, %lld graph "
                      "launches",
                      static_cast<long long>(capturedAt_), static_cast<long long>(launches_));
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
