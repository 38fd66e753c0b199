//===- PipelineSchedule.h - one pipeline stage's order of work --*- C++ -*-===//
//
// The tables of docs/design/0016, as plain data: for one stage of a
// pipeline, the order in which it runs forwards and backwards of its
// micro-batches and exchanges activations and their gradients with its
// neighbours. pzrt-build-schedule turns a table into the stage's
// pzrt.schedule; tests compare tables against hand-written ones.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_PLAN_PIPELINESCHEDULE_H
#define PZ_PLAN_PIPELINESCHEDULE_H

#include "pz/Plan/Plan.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::pz {

struct StageAction {
  enum Kind {
    Forward,      // F: the stage's forward of micro_batch
    Backward,     // B: its backward (under zb: of the activation only)
    Weight,       // W: under zb, the backward of the weights
    RecvActivation, SendActivation, // from stage - 1, to stage + 1
    RecvGrad, SendGrad              // from stage + 1, to stage - 1
  } kind;
  int64_t microBatch;
  /// Interleaved: the rank's model chunk (0 .. virtual stages - 1), global
  /// stage chunk x stages + rank. Neighbours are global stages: stage - 1
  /// of chunk c on rank 0 is rank stages - 1's chunk c - 1, and so on.
  int64_t chunk = 0;
  bool operator==(const StageAction &o) const {
    return kind == o.kind && microBatch == o.microBatch && chunk == o.chunk;
  }
};

/// The actions of `stage` (0 .. stages - 1) for `microBatches`
/// micro-batches. GPipe: every forward, then every backward. 1F1B:
/// stages - stage - 1 warm-up forwards, then one forward and one
/// backward alternately, then the remaining backwards; a send is directly
/// followed by the receive that comes next, so that the runtime can
/// exchange both at once. ZB-H1 (zb): the backward split into B (the
/// activation's gradient) and W (the weights'), ordered by a unit-time
/// list schedule: B first, then F, then W, with at most stages - stage
/// micro-batches between F and B (as 1F1B) and at most stage + 1 waiting
/// for their W; with m >= stages micro-batches of equal F, B and W it
/// takes 3m + stages - 1 units, the bound of ZB-H1 (1F1B: 3(m + stages -
/// 1)). Interleaved 1F1B (Narayanan et al., 2021, Megatron's order): the
/// rank `stage` holds `virtualStages` chunks; forwards run in groups of
/// `stages` micro-batches per chunk (chunk 0 of micro-batches 0 .. p-1,
/// then chunk 1 of the same, ...), backwards likewise from the last
/// chunk; (stages - stage - 1) x 2 + (virtualStages - 1) x stages warm-up
/// forwards, then one forward and one backward alternately. It needs
/// microBatches % stages == 0 (empty otherwise). Every other schedule
/// ignores virtualStages and has chunk 0 only.
std::vector<StageAction> pipelineSchedule(Schedule s, int64_t stages, int64_t stage,
                                          int64_t microBatches, int64_t virtualStages = 1);

/// The actions of one chunk of a table (interleaved), in order.
std::vector<StageAction> chunkActions(const std::vector<StageAction> &table, int64_t chunk);

/// The most micro-batches between their forward (or its receive) and
/// their backward B at once: the slots the stage needs.
int64_t inFlight(const std::vector<StageAction> &table);

/// The most micro-batches between their B and their W at once: the weight
/// slots a zb stage needs (0 without W).
int64_t weightInFlight(const std::vector<StageAction> &table);

/// "F0 F1 B0 W0 ...": the compute actions of a table, for tests and messages;
/// an action of chunk c > 0 (interleaved) ends in ".c" ("F0.1").
std::string computeOrder(const std::vector<StageAction> &table);

/// computeOrder's inverse: the actions of "F0 F1 B0 W0 F0.1 ...", or nullopt
/// when a word is not F<m>, B<m> or W<m>, with ".c" (c >= 1) or without.
std::optional<std::vector<StageAction>> parseComputeOrder(llvm::StringRef order);

/// One compute action of a simulated step, from start to end.
struct TimedAction {
  StageAction action;
  double start, end;
};

/// One step of a pipeline in the cost model's time (PipelineSimulation).
struct PipelineTimeline {
  /// Per stage, its forwards and backwards in its order, with their times.
  std::vector<std::vector<TimedAction>> stages;
  /// When the last action ends (the step starts at 0).
  double makespan = 0;
  /// Per stage: the time it does not compute within the makespan, over
  /// the makespan.
  std::vector<double> idleFraction;
};

/// Simulates one step: rank s runs the compute actions of `orders[s]`
/// (transfers take no time) one at a time, a forward taking
/// `forwardCosts[s]` and a whole backward `backwardFactor` times that;
/// when the stage's order has W actions, B takes (1 - weightShare) of the
/// backward and W the rest. A stage starts its next action when its
/// previous one is done and, for F(m), stage s - 1 has finished F(m) (for
/// s > 0); for B(m), stage s + 1 has finished B(m) (s < last) and the
/// stage itself F(m); for W(m), the stage's B(m). Nullopt when the orders
/// deadlock or the sizes do not match. With equal costs, GPipe and 1F1B
/// both give a makespan of (m + p - 1)(tF + tB) and idle fraction
/// (p - 1) / (m + p - 1) on every stage. Interleaved orders (chunks)
/// take one cost per global stage (chunk x p + rank: p x v of them), and
/// the neighbours are global stages.
std::optional<PipelineTimeline>
simulatePipeline(const std::vector<std::vector<StageAction>> &orders,
                 const std::vector<double> &forwardCosts, double backwardFactor = 2.0,
                 double weightShare = 0.5);

/// A stage's durations of one forward, backward (B, or the whole backward
/// when the stage has no W) and W.
struct StageTimes {
  double forward, backward, weight;
  /// After each forward, backward and W (index 0, 1, 2), the runtime's own
  /// time before the rank's next action: `busyAfter` computes (accumulating
  /// gradients) and `idleAfter` does not (posting sends, copying a message
  /// that arrived, feeding data). A neighbour's input is ready after the
  /// busy part; the rank's next action starts after both.
  double busyAfter[3] = {0, 0, 0};
  double idleAfter[3] = {0, 0, 0};
};

/// simulatePipeline with each stage's own durations (measured ones, say);
/// with chunks, one per global stage. `transfer`: the time an activation
/// or its gradient takes from one stage to the next (a receiving stage
/// starts F(m) `transfer` after the previous stage ended it; likewise B).
std::optional<PipelineTimeline>
simulatePipeline(const std::vector<std::vector<StageAction>> &orders,
                 const std::vector<StageTimes> &times, double transfer = 0.0);

} // namespace mlir::pz

#endif
