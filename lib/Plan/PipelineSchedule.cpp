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
  int64_t stages, stage, chunks = 1;
  std::vector<StageAction> t;
  bool first(int64_t c) const { return stage == 0 && c == 0; }
  bool last(int64_t c) const { return stage == stages - 1 && c == chunks - 1; }
  void forward(int64_t m, int64_t c = 0) {
    if (!first(c))
      t.push_back({StageAction::RecvActivation, m, c});
    t.push_back({StageAction::Forward, m, c});
    if (!last(c))
      t.push_back({StageAction::SendActivation, m, c});
  }
  void backward(int64_t m, int64_t c = 0) {
    if (!last(c))
      t.push_back({StageAction::RecvGrad, m, c});
    t.push_back({StageAction::Backward, m, c});
    if (!first(c))
      t.push_back({StageAction::SendGrad, m, c});
  }
  void weight(int64_t m) { t.push_back({StageAction::Weight, m}); }
};

/// Interleaved 1F1B (pipelineSchedule's comment), as Megatron-LM orders
/// it: the k-th forward (backward) of the rank is micro-batch
/// (k / (p v)) p + k % p of chunk (k / p) % v (the reverse chunk for a
/// backward).
void interleaved(Builder &b, int64_t m) {
  const int64_t p = b.stages, v = b.chunks, total = m * v;
  auto micro = [&](int64_t k) { return (k / (p * v)) * p + k % p; };
  auto chunk = [&](int64_t k, bool forward) {
    int64_t c = (k % (p * v)) / p;
    return forward ? c : v - 1 - c;
  };
  // With m == p every forward comes first (Megatron's all-warm-up case).
  int64_t warmup = m == p ? total : std::min((p - b.stage - 1) * 2 + (v - 1) * p, total);
  for (int64_t k = 0; k < warmup; ++k)
    b.forward(micro(k), chunk(k, true));
  for (int64_t i = 0; i + warmup < total; ++i) {
    b.forward(micro(warmup + i), chunk(warmup + i, true));
    b.backward(micro(i), chunk(i, false));
  }
  for (int64_t k = std::max<int64_t>(total - warmup, 0); k < total; ++k)
    b.backward(micro(k), chunk(k, false));
}

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
                                                    int64_t microBatches, int64_t virtualStages) {
  Builder b{stages, stage};
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
  } else if (s == Schedule::Interleaved && virtualStages >= 1 && stages >= 1 &&
             microBatches % stages == 0) {
    b.chunks = virtualStages;
    interleaved(b, microBatches);
  }
  return b.t;
}

std::vector<StageAction> mlir::pz::chunkActions(const std::vector<StageAction> &table,
                                                int64_t chunk) {
  std::vector<StageAction> out;
  for (const StageAction &a : table)
    if (a.chunk == chunk)
      out.push_back(a);
  return out;
}

/// Whether the table splits its backward into B and W (zb).
static bool splitsBackward(const std::vector<StageAction> &table) {
  return llvm::any_of(table, [](const StageAction &a) { return a.kind == StageAction::Weight; });
}

/// The most micro-batches between an action of `from` (or RecvActivation
/// with Forward) and one of `to` at once.
static int64_t between(const std::vector<StageAction> &table, StageAction::Kind from,
                       StageAction::Kind to) {
  std::set<std::pair<int64_t, int64_t>> live; // (chunk, micro-batch)
  size_t most = 0;
  for (const StageAction &a : table) {
    if (a.kind == from || (from == StageAction::Forward && a.kind == StageAction::RecvActivation))
      live.insert({a.chunk, a.microBatch});
    most = std::max(most, live.size());
    if (a.kind == to)
      live.erase({a.chunk, a.microBatch});
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
           std::to_string(a.microBatch) + (a.chunk ? "." + std::to_string(a.chunk) : "");
  return s;
}

std::optional<std::vector<StageAction>> mlir::pz::parseComputeOrder(llvm::StringRef order) {
  std::vector<StageAction> t;
  llvm::SmallVector<llvm::StringRef> words;
  order.split(words, ' ', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  for (llvm::StringRef w : words) {
    if (w.size() < 2 || (w[0] != 'F' && w[0] != 'B' && w[0] != 'W'))
      return std::nullopt;
    int64_t m, c = 0;
    auto [micro, chunk] = w.drop_front().split('.');
    if (micro.getAsInteger(10, m) || m < 0 ||
        (w.contains('.') && (chunk.getAsInteger(10, c) || c < 1)))
      return std::nullopt;
    t.push_back({w[0] == 'F'   ? StageAction::Forward
                 : w[0] == 'B' ? StageAction::Backward
                               : StageAction::Weight,
                 m, c});
  }
  return t;
}

std::optional<PipelineTimeline>
mlir::pz::simulatePipeline(const std::vector<std::vector<StageAction>> &orders,
                           const std::vector<double> &forwardCosts, double backwardFactor,
                           double weightShare) {
  if (orders.empty() || forwardCosts.size() % orders.size() != 0)
    return std::nullopt;
  std::vector<StageTimes> times;
  for (auto [g, f] : llvm::enumerate(forwardCosts)) {
    double b = f * backwardFactor;
    times.push_back(splitsBackward(orders[g % orders.size()])
                        ? StageTimes{f, b * (1.0 - weightShare), b * weightShare}
                        : StageTimes{f, b, 0.0});
  }
  return simulatePipeline(orders, times);
}

std::optional<PipelineTimeline>
mlir::pz::simulatePipeline(const std::vector<std::vector<StageAction>> &orders,
                           const std::vector<StageTimes> &times, double transfer) {
  size_t p = orders.size();
  if (p == 0 || times.size() % p != 0)
    return std::nullopt;
  // Global stages: chunk c of rank s is c x p + s.
  const int64_t v = static_cast<int64_t>(times.size() / p), n = v * static_cast<int64_t>(p);
  // Per rank: its compute actions; per global stage, when each
  // micro-batch's F, B and W ended.
  std::vector<std::vector<StageAction>> work(p);
  std::vector<std::map<int64_t, double>> fDone(n), bDone(n), wDone(n);
  for (size_t s = 0; s < p; ++s)
    for (const StageAction &a : orders[s]) {
      if (a.chunk < 0 || a.chunk >= v)
        return std::nullopt;
      if (a.kind == StageAction::Forward || a.kind == StageAction::Backward ||
          a.kind == StageAction::Weight)
        work[s].push_back(a);
    }
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
        const int64_t g = a.chunk * static_cast<int64_t>(p) + static_cast<int64_t>(s);
        double ready = free[s];
        // `delay`: a neighbour's result arrives `transfer` after it ends.
        auto after = [&](const std::map<int64_t, double> &done, double delay = 0.0) {
          auto it = done.find(a.microBatch);
          if (it == done.end())
            return false;
          ready = std::max(ready, it->second + delay);
          return true;
        };
        bool forward = a.kind == StageAction::Forward, weight = a.kind == StageAction::Weight;
        if (forward  ? (g > 0 && !after(fDone[g - 1], transfer))
            : weight ? !after(bDone[g])
                     : (!after(fDone[g]) || (g + 1 < n && !after(bDone[g + 1], transfer))))
          break;
        const StageTimes &c = times[static_cast<size_t>(g)];
        const int k = forward ? 0 : weight ? 2 : 1;
        double end = ready + (forward ? c.forward : weight ? c.weight : c.backward) +
                     c.busyAfter[k];
        (forward ? fDone : weight ? wDone : bDone)[g][a.microBatch] = end;
        tl.stages[s].push_back({a, ready, end});
        free[s] = end + c.idleAfter[k];
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
