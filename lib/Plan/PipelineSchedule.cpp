//===- PipelineSchedule.cpp - one pipeline stage's order of work ----------===//

#include "pz/Plan/PipelineSchedule.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cstdint>
#include <map>
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
  void weight(int64_t m) { t.push_back({StageAction::Weight, m}); }
};

/// ZB-H1's compute order of every stage (pipelineSchedule's comment): a
/// list schedule in unit time steps, each free stage taking B, else F,
/// else W of the lowest micro-batch that is ready and within the limits.
std::vector<std::vector<StageAction>> zeroBubbleOrders(int64_t p, int64_t m) {
  constexpr int64_t kNever = INT64_MAX;
  std::vector<std::vector<int64_t>> fDone(p, std::vector<int64_t>(m, kNever)), bDone = fDone;
  std::vector<int64_t> nextF(p, 0), nextB(p, 0), nextW(p, 0);
  std::vector<std::vector<StageAction>> orders(p);
  for (int64_t t = 0, left = 3 * p * m; left > 0; ++t) {
    // Every stage decides on what was done before t: the stages' choices
    // within one step do not depend on each other.
    for (int64_t s = 0; s < p; ++s) {
      int64_t b = nextB[s], f = nextF[s], w = nextW[s];
      StageAction a{StageAction::Weight, -1};
      if (b < f && fDone[s][b] <= t && (s == p - 1 || bDone[s + 1][b] <= t) && b - w < s + 1)
        a = {StageAction::Backward, b};
      else if (f < m && (s == 0 || fDone[s - 1][f] <= t) && f - b < p - s)
        a = {StageAction::Forward, f};
      else if (w < b)
        a = {StageAction::Weight, w};
      else
        continue;
      orders[s].push_back(a);
      --left;
      if (a.kind == StageAction::Forward)
        fDone[s][nextF[s]++] = t + 1;
      else if (a.kind == StageAction::Backward)
        bDone[s][nextB[s]++] = t + 1;
      else
        ++nextW[s];
    }
  }
  return orders;
}
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
  } else if (s == Schedule::ZeroBubble) {
    std::vector<std::vector<StageAction>> orders = zeroBubbleOrders(stages, microBatches);
    for (const StageAction &a : orders[stage])
      a.kind == StageAction::Forward    ? b.forward(a.microBatch)
      : a.kind == StageAction::Backward ? b.backward(a.microBatch)
                                        : b.weight(a.microBatch);
  }
  return b.t;
}

/// Whether the table splits its backward into B and W (zb).
static bool splitsBackward(const std::vector<StageAction> &table) {
  return llvm::any_of(table, [](const StageAction &a) { return a.kind == StageAction::Weight; });
}

/// The most micro-batches between an action of `from` (or RecvActivation
/// with Forward) and one of `to` at once.
static int64_t between(const std::vector<StageAction> &table, StageAction::Kind from,
                       StageAction::Kind to) {
  std::set<int64_t> live;
  size_t most = 0;
  for (const StageAction &a : table) {
    if (a.kind == from || (from == StageAction::Forward && a.kind == StageAction::RecvActivation))
      live.insert(a.microBatch);
    most = std::max(most, live.size());
    if (a.kind == to)
      live.erase(a.microBatch);
  }
  return static_cast<int64_t>(most);
}

int64_t mlir::pz::inFlight(const std::vector<StageAction> &table) {
  return between(table, StageAction::Forward, StageAction::Backward);
}

int64_t mlir::pz::weightInFlight(const std::vector<StageAction> &table) {
  return splitsBackward(table) ? between(table, StageAction::Backward, StageAction::Weight) : 0;
}

std::string mlir::pz::computeOrder(const std::vector<StageAction> &table) {
  std::string s;
  for (const StageAction &a : table)
    if (a.kind == StageAction::Forward || a.kind == StageAction::Backward ||
        a.kind == StageAction::Weight)
      s += std::string(s.empty() ? "" : " ") +
           (a.kind == StageAction::Forward    ? "F"
            : a.kind == StageAction::Backward ? "B"
                                              : "W") +
           std::to_string(a.microBatch);
  return s;
}

std::optional<std::vector<StageAction>> mlir::pz::parseComputeOrder(llvm::StringRef order) {
  std::vector<StageAction> t;
  llvm::SmallVector<llvm::StringRef> words;
  order.split(words, ' ', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  for (llvm::StringRef w : words) {
    if (w.size() < 2 || (w[0] != 'F' && w[0] != 'B' && w[0] != 'W'))
      return std::nullopt;
    int64_t m;
    if (w.drop_front().getAsInteger(10, m) || m < 0)
      return std::nullopt;
    t.push_back({w[0] == 'F'   ? StageAction::Forward
                 : w[0] == 'B' ? StageAction::Backward
                               : StageAction::Weight,
                 m});
  }
  return t;
}

std::optional<PipelineTimeline>
mlir::pz::simulatePipeline(const std::vector<std::vector<StageAction>> &orders,
                           const std::vector<double> &forwardCosts, double backwardFactor,
                           double weightShare) {
  if (forwardCosts.size() != orders.size())
    return std::nullopt;
  std::vector<StageTimes> times;
  for (auto [order, f] : llvm::zip(orders, forwardCosts)) {
    double b = f * backwardFactor;
    times.push_back(splitsBackward(order) ? StageTimes{f, b * (1.0 - weightShare), b * weightShare}
                          : StageTimes{f, b, 0.0});
  }
  return simulatePipeline(orders, times);
}

std::optional<PipelineTimeline>
mlir::pz::simulatePipeline(const std::vector<std::vector<StageAction>> &orders,
                           const std::vector<StageTimes> &times) {
  size_t p = orders.size();
  if (times.size() != p)
    return std::nullopt;
  // Per stage: its compute actions; when each micro-batch's F and B ended.
  std::vector<std::vector<StageAction>> work(p);
  std::vector<std::map<int64_t, double>> fDone(p), bDone(p), wDone(p);
  for (size_t s = 0; s < p; ++s)
    for (const StageAction &a : orders[s])
      if (a.kind == StageAction::Forward || a.kind == StageAction::Backward ||
          a.kind == StageAction::Weight)
        work[s].push_back(a);
  PipelineTimeline tl;
  tl.stages.resize(p);
  std::vector<size_t> next(p, 0);
  std::vector<double> free(p, 0.0);
  // Runs every action whose inputs are done, until none is left or none
  // can start (a deadlock, or a micro-batch a neighbour never runs).
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t s = 0; s < p; ++s) {
      while (next[s] < work[s].size()) {
        const StageAction &a = work[s][next[s]];
        double ready = free[s];
        auto after = [&](const std::map<int64_t, double> &done) {
          auto it = done.find(a.microBatch);
          if (it == done.end())
            return false;
          ready = std::max(ready, it->second);
          return true;
        };
        bool forward = a.kind == StageAction::Forward, weight = a.kind == StageAction::Weight;
        if (forward  ? (s > 0 && !after(fDone[s - 1]))
            : weight ? !after(bDone[s])
                     : (!after(fDone[s]) || (s + 1 < p && !after(bDone[s + 1]))))
          break;
        double end = ready + (forward  ? times[s].forward
                              : weight ? times[s].weight
                                       : times[s].backward);
        (forward ? fDone : weight ? wDone : bDone)[s][a.microBatch] = end;
        tl.stages[s].push_back({a, ready, end});
        free[s] = end;
        tl.makespan = std::max(tl.makespan, end);
        ++next[s];
        progress = true;
      }
    }
  }
  for (size_t s = 0; s < p; ++s)
    if (next[s] != work[s].size())
      return std::nullopt;
  for (size_t s = 0; s < p; ++s) {
    double busy = 0;
    for (const TimedAction &t : tl.stages[s])
      busy += t.end - t.start;
    tl.idleFraction.push_back(tl.makespan > 0 ? (tl.makespan - busy) / tl.makespan : 0.0);
  }
  return tl;
}
