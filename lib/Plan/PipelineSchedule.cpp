//===- PipelineSchedule.cpp - one pipeline stage's order of work ----------===//

#include "pz/Plan/PipelineSchedule.h"

#include <algorithm>
#include <set>

using namespace mlir::pz;

namespace {
struct Builder {
  int64_t stages, stage;
  std::vector<StageAction> t;
  bool first() const { return stage == 0; }
  bool last() const { return stage == stages - 1; }
  void forward(int64_t m) {
    if (!first())
      t.push_back({StageAction::RecvActivation, m});
    t.push_back({StageAction::Forward, m});
    if (!last())
      t.push_back({StageAction::SendActivation, m});
  }
  void backward(int64_t m) {
    if (!last())
      t.push_back({StageAction::RecvGrad, m});
    t.push_back({StageAction::Backward, m});
    if (!first())
      t.push_back({StageAction::SendGrad, m});
  }
};
} // namespace

std::vector<StageAction> mlir::pz::pipelineSchedule(Schedule s, int64_t stages, int64_t stage,
                                                    int64_t microBatches) {
  Builder b{stages, stage, {}};
  if (s == Schedule::GPipe) {
    for (int64_t m = 0; m < microBatches; ++m)
      b.forward(m);
    for (int64_t m = 0; m < microBatches; ++m)
      b.backward(m);
  } else if (s == Schedule::OneFOneB) {
    int64_t warmup = std::min(stages - stage - 1, microBatches);
    for (int64_t m = 0; m < warmup; ++m)
      b.forward(m);
    for (int64_t i = 0; i + warmup < microBatches; ++i) {
      b.forward(warmup + i);
      b.backward(i);
    }
    for (int64_t m = std::max<int64_t>(microBatches - warmup, 0); m < microBatches; ++m)
      b.backward(m);
  }
  return b.t;
}

int64_t mlir::pz::inFlight(const std::vector<StageAction> &table) {
  std::set<int64_t> live;
  size_t most = 0;
  for (const StageAction &a : table) {
    if (a.kind == StageAction::RecvActivation || a.kind == StageAction::Forward)
      live.insert(a.microBatch);
    most = std::max(most, live.size());
    if (a.kind == StageAction::Backward)
      live.erase(a.microBatch);
  }
  return static_cast<int64_t>(most);
}

std::string mlir::pz::computeOrder(const std::vector<StageAction> &table) {
  std::string s;
  for (const StageAction &a : table)
    if (a.kind == StageAction::Forward || a.kind == StageAction::Backward)
      s += std::string(s.empty() ? "" : " ") + (a.kind == StageAction::Forward ? "F" : "B") +
           std::to_string(a.microBatch);
  return s;
}
