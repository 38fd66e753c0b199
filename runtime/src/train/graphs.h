// CUDA graphs of the compiled functions' calls (the driver's side; the
// device's side is src/cuda/graph.cpp). Not part of the C API.
#ifndef PZRT_SRC_TRAIN_GRAPHS_H
#define PZRT_SRC_TRAIN_GRAPHS_H

#include "pzrt/comm.h"
#include "pzrt/train.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace pzrt::train {

// Runs the calls of compiled functions, each distinct call through a
// graph once it has warmed up. A call is (chunk, function, micro-batch):
// its arguments (the bound buffers of the micro-batch's slot) and the
// context's host fields it may read (the chunk's arena, the seed, the
// micro-batch's dropout block) are then fixed, and whatever changes from
// step to step (the data feed, the learning rate, the optimizer's step, the
// loss scale, and the training step dropout reads: pzrt_step_publish) the
// host writes to device buffers before the call, outside the graph.
//
// After kWarmupCalls eager calls, the next call is captured on the
// compute stream and the graph launched (capture does not run the work);
// later calls launch it. A call that needed the host (a host-staged
// transfer, a device read) ended its capture early and ran correctly; a
// call whose capture CUDA invalidated (nothing of it ran) runs again
// eagerly; either way the call stays eager for the rest of the run.
// Disabled without a device that has graphs, or with PZRT_CUDA_GRAPHS=0.
class FunctionGraphs {
public:
  static constexpr int kWarmupCalls = 2;

  FunctionGraphs() = default;
  FunctionGraphs(const FunctionGraphs &) = delete;
  FunctionGraphs &operator=(const FunctionGraphs &) = delete;
  ~FunctionGraphs();

  // Enables graphs on ctx's device when it has them; call after the
  // context's streams exist.
  void init(pzrt_step_ctx *ctx);
  bool enabled() const { return enabled_; }
  // fn(ctx, args), possibly through a graph; 0, or -1 with pzrt_last_error().
  int call(size_t chunk, int function, int micro, const char *name, pzrt_host_fn fn,
           pzrt_step_ctx *ctx, void *const *args);
  // One line for stderr: how many calls run as graphs, the replays, the
  // eager functions; empty when disabled.
  std::string summary() const;
  // Destroys every graph (before the communicators they captured: NCCL
  // waits for the graphs that hold a communicator before destroying it).
  void reset();
  int64_t replays() const { return replays_; }

  // comm.h's counters (bytes and calls by kind, bytes by reason).
  struct CommCounts {
    uint64_t bytes[PZRT_COLL_KIND_COUNT] = {};
    uint64_t calls[PZRT_COLL_KIND_COUNT] = {};
    std::map<std::string, std::vector<uint64_t>> reasons; // bytes by kind
  };

private:
  struct Entry {
    int calls = 0;
    void *graph = nullptr;
    bool eager = false;
    std::string name;
    // What the call's transfers counted when it was captured: each replay
    // counts it again (a graph's transfers run without the host code that
    // counts them).
    CommCounts counted;
  };
  bool enabled_ = false;
  pzrt_step_ctx *ctx_ = nullptr;
  std::map<std::tuple<size_t, int, int>, Entry> entries_;
  int64_t replays_ = 0;
};

// The whole training step as one graph (step_graph.cpp decides when a step
// can be: Trainer::decideStepGraph). The step's body (every compiled
// function call of the step, with the copies of its data in and its loss
// out through page-locked host memory) runs eagerly for kWarmupSteps
// steps, is captured at the next, and the graph is launched from then on.
// A body that needed the host ended its capture early and ran correctly;
// one whose capture CUDA invalidated runs again eagerly; either way later
// steps run eagerly (`failed`).
class StepGraph {
public:
  static constexpr int kWarmupSteps = 2;

  StepGraph() = default;
  StepGraph(const StepGraph &) = delete;
  StepGraph &operator=(const StepGraph &) = delete;
  ~StepGraph();

  // 0, or -1 with pzrt_last_error() (body's own failure, or the device's).
  int run(pzrt_step_ctx *ctx, const std::function<int()> &body);
  // One line for stderr (empty before any step).
  std::string summary() const;
  void reset(); // as FunctionGraphs::reset

private:
  pzrt_step_ctx *ctx_ = nullptr;
  int steps_ = 0;
  void *graph_ = nullptr;
  bool eager_ = false; // the capture did not give a graph
  int64_t launches_ = 0;
  int64_t capturedAt_ = 0; // the training step whose body was captured
  FunctionGraphs::CommCounts counted_;
};

} // namespace pzrt::train

#endif // PZRT_SRC_TRAIN_GRAPHS_H
