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
  bool operator==(const StageAction &o) const {
    return kind == o.kind && microBatch == o.microBatch;
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
/// 1)). Interleaved is not built yet (empty).
std::vector<StageAction> pipelineSchedule(Schedule s, int64_t stages, int64_t stage,
                                          int64_t microBatches);

/// The most micro-batches between their forward (or its receive) and
/// their backward B at once: the slots the stage needs.
int64_t inFlight(const std::vector<StageAction> &table);

/// The most micro-batches between their B and their W at once: the weight
/// slots a zb stage needs (0 without W).
int64_t weightInFlight(const std::vector<StageAction> &table);

/// "F0 F1 B0 W0 ...": the compute actions of a table, for tests and messages.
std::string computeOrder(const std::vector<StageAction> &table);

/// computeOrder's inverse: the actions of "F0 F1 B0 W0 ...", or nullopt
/// when a word is not F<m>, B<m> or W<m>.
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

/// Simulates one step: stage s runs the compute actions of `orders[s]`
/// (transfers take no time) one at a time, a forward taking
/// `forwardCosts[s]` and a whole backward `backwardFactor` times that;
/// when the stage's order has W actions, B takes (1 - weightShare) of the
/// backward and W the rest. A stage starts its next action when its
/// previous one is done and, for F(m), stage s - 1 has finished F(m) (for
/// s > 0); for B(m), stage s + 1 has finished B(m) (s < last) and the
/// stage itself F(m); for W(m), the stage's B(m). Nullopt when the orders
/// deadlock or the sizes do not match. With equal costs, GPipe and 1F1B
/// both give a makespan of (m + p - 1)(tF + tB) and idle fraction
/// (p - 1) / (m + p - 1) on every stage.
std::optional<PipelineTimeline>
simulatePipeline(const std::vector<std::vector<StageAction>> &orders,
                 const std::vector<double> &forwardCosts, double backwardFactor = 2.0,
                 double weightShare = 0.5);

/// A stage's durations of one forward, backward (B, or the whole backward
/// when the stage has no W) and W.
struct StageTimes {
  double forward, backward, weight;
};

/// simulatePipeline with each stage's own durations (measured ones, say).
std::optional<PipelineTimeline>
simulatePipeline(const std::vector<std::vector<StageAction>> &orders,
                 const std::vector<StageTimes> &times);

} // namespace mlir::pz

#endif
