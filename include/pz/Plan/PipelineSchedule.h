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
#include <string>
#include <vector>

namespace mlir::pz {

struct StageAction {
  enum Kind {
    Forward,      // F: the stage's forward of micro_batch
    Backward,     // B: its backward
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
/// exchange both at once. Other schedules are not built yet (empty).
std::vector<StageAction> pipelineSchedule(Schedule s, int64_t stages, int64_t stage,
                                          int64_t microBatches);

/// The most micro-batches between their forward (or its receive) and
/// their backward at once: the slots the stage needs.
int64_t inFlight(const std::vector<StageAction> &table);

/// "F0 F1 B0 ...": the compute actions of a table, for tests and messages.
std::string computeOrder(const std::vector<StageAction> &table);

} // namespace mlir::pz

#endif
