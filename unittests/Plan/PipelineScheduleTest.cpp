//===- PipelineScheduleTest.cpp - the stage tables against hand-written ones -===//

#include "pz/Plan/PipelineSchedule.h"

#include <gtest/gtest.h>

using namespace mlir::pz;

namespace {
using K = StageAction;

TEST(PipelineSchedule, GPipeRunsEveryForwardThenEveryBackward) {
  // Stage 1 of 3, 2 micro-batches: receive, compute, send on both sides.
  std::vector<StageAction> want = {
      {K::RecvActivation, 0}, {K::Forward, 0},  {K::SendActivation, 0},
      {K::RecvActivation, 1}, {K::Forward, 1},  {K::SendActivation, 1},
      {K::RecvGrad, 0},       {K::Backward, 0}, {K::SendGrad, 0},
      {K::RecvGrad, 1},       {K::Backward, 1}, {K::SendGrad, 1}};
  EXPECT_EQ(pipelineSchedule(Schedule::GPipe, 3, 1, 2), want);
  EXPECT_EQ(inFlight(want), 2);
}

TEST(PipelineSchedule, OneFOneBWarmsUpWithTheStagesAfterIt) {
  // 4 stages, 6 micro-batches (Narayanan et al., 2021, figure 4).
  EXPECT_EQ(computeOrder(pipelineSchedule(Schedule::OneFOneB, 4, 0, 6)),
            "F0 F1 F2 F3 B0 F4 B1 F5 B2 B3 B4 B5");
  EXPECT_EQ(computeOrder(pipelineSchedule(Schedule::OneFOneB, 4, 1, 6)),
            "F0 F1 F2 B0 F3 B1 F4 B2 F5 B3 B4 B5");
  EXPECT_EQ(computeOrder(pipelineSchedule(Schedule::OneFOneB, 4, 3, 6)),
            "F0 B0 F1 B1 F2 B2 F3 B3 F4 B4 F5 B5");
  // At most pp - stage micro-batches in flight.
  for (int64_t s = 0; s < 4; ++s)
    EXPECT_EQ(inFlight(pipelineSchedule(Schedule::OneFOneB, 4, s, 6)), 4 - s);
  // Fewer micro-batches than stages: all forwards first.
  EXPECT_EQ(computeOrder(pipelineSchedule(Schedule::OneFOneB, 4, 0, 2)), "F0 F1 B0 B1");
}

TEST(PipelineSchedule, OneFOneBSendsNextToTheReceiveThatFollows) {
  // In the steady state a stage sends its activation and receives a
  // gradient back to back (the runtime exchanges them at once).
  std::vector<StageAction> t = pipelineSchedule(Schedule::OneFOneB, 2, 0, 3);
  std::vector<StageAction> want = {
      {K::Forward, 0},        {K::SendActivation, 0}, {K::Forward, 1},
      {K::SendActivation, 1}, {K::RecvGrad, 0},       {K::Backward, 0},
      {K::Forward, 2},        {K::SendActivation, 2}, {K::RecvGrad, 1},
      {K::Backward, 1},       {K::RecvGrad, 2},       {K::Backward, 2}};
  EXPECT_EQ(t, want);
}

TEST(PipelineSchedule, EveryStageRunsEachMicroBatchOnceEachWay) {
  for (Schedule s : {Schedule::GPipe, Schedule::OneFOneB})
    for (int64_t p : {2, 3, 4})
      for (int64_t m : {1, 2, 4, 8})
        for (int64_t st = 0; st < p; ++st) {
          std::vector<int> f(m), b(m);
          for (const StageAction &a : pipelineSchedule(s, p, st, m)) {
            if (a.kind == K::Forward)
              ++f[a.microBatch];
            if (a.kind == K::Backward) {
              EXPECT_EQ(f[a.microBatch], 1) << "backward before forward";
              ++b[a.microBatch];
            }
          }
          for (int64_t k = 0; k < m; ++k)
            EXPECT_TRUE(f[k] == 1 && b[k] == 1) << "pp " << p << " stage " << st << " m " << k;
        }
}

// Megatron-LM's interleaved order, written out by hand for p 2, v 2, m 4:
// the k-th forward runs micro-batch (k / 4) 2 + k % 2 of chunk (k % 4) / 2,
// the k-th backward the same micro-batch of the other chunk; rank r warms
// up with (2 - r - 1) 2 + 2 forwards.
TEST(PipelineSchedule, InterleavedIsMegatronsOrder) {
  EXPECT_EQ(computeOrder(pipelineSchedule(Schedule::Interleaved, 2, 0, 4, 2)),
            "F0 F1 F0.1 F1.1 F2 B0.1 F3 B1.1 F2.1 B0 F3.1 B1 B2.1 B3.1 B2 B3");
  EXPECT_EQ(computeOrder(pipelineSchedule(Schedule::Interleaved, 2, 1, 4, 2)),
            "F0 F1 F0.1 B0.1 F1.1 B1.1 F2 B0 F3 B1 F2.1 B2.1 F3.1 B3.1 B2 B3");
  // m == p: every forward first.
  EXPECT_EQ(computeOrder(pipelineSchedule(Schedule::Interleaved, 2, 1, 2, 2)),
            "F0 F1 F0.1 F1.1 B0.1 B1.1 B0 B1");
  // Micro-batches in groups of p only.
  EXPECT_TRUE(pipelineSchedule(Schedule::Interleaved, 2, 0, 3, 2).empty());
}

TEST(PipelineSchedule, InterleavedTransfersFollowTheRing) {
  // Rank 1 of 2, chunk 0 is global stage 1: it receives from stage 0 and
  // sends to stage 2 (rank 0's chunk 1); chunk 1 (stage 3, the last)
  // sends no activation and receives no gradient.
  std::vector<StageAction> t = pipelineSchedule(Schedule::Interleaved, 2, 1, 2, 2);
  std::vector<StageAction> c0 = chunkActions(t, 0), c1 = chunkActions(t, 1);
  std::vector<StageAction> want0 = {
      {StageAction::RecvActivation, 0, 0}, {StageAction::Forward, 0, 0},
      {StageAction::SendActivation, 0, 0}, {StageAction::RecvActivation, 1, 0},
      {StageAction::Forward, 1, 0},        {StageAction::SendActivation, 1, 0},
      {StageAction::RecvGrad, 0, 0},       {StageAction::Backward, 0, 0},
      {StageAction::SendGrad, 0, 0},       {StageAction::RecvGrad, 1, 0},
      {StageAction::Backward, 1, 0},       {StageAction::SendGrad, 1, 0}};
  EXPECT_EQ(c0, want0);
  std::vector<StageAction> want1 = {
      {StageAction::RecvActivation, 0, 1}, {StageAction::Forward, 0, 1},
      {StageAction::RecvActivation, 1, 1}, {StageAction::Forward, 1, 1},
      {StageAction::Backward, 0, 1},       {StageAction::SendGrad, 0, 1},
      {StageAction::Backward, 1, 1},       {StageAction::SendGrad, 1, 1}};
  EXPECT_EQ(c1, want1);
  EXPECT_EQ(c0.size() + c1.size(), t.size());
  // Rank 0's chunk 0 is the first stage: no receive of an activation.
  for (const StageAction &a : chunkActions(pipelineSchedule(Schedule::Interleaved, 2, 0, 2, 2), 0))
    EXPECT_NE(a.kind, StageAction::RecvActivation);
}

TEST(PipelineSchedule, ZeroBubbleRunsEachMicroBatchOnceEachWayInOrder) {
  for (int64_t p : {1, 2, 3, 4, 8})
    for (int64_t m : {1, 2, 3, 4, 8, 16})
      for (int64_t st = 0; st < p; ++st) {
        std::vector<int> f(m), b(m), w(m);
        for (const StageAction &a : pipelineSchedule(Schedule::ZeroBubble, p, st, m)) {
          int64_t k = a.microBatch;
          if (a.kind == K::Forward)
            ++f[k];
          if (a.kind == K::Backward) {
            EXPECT_EQ(f[k], 1) << "B before F";
            ++b[k];
          }
          if (a.kind == K::Weight) {
            EXPECT_EQ(b[k], 1) << "W before B";
            ++w[k];
          }
        }
        for (int64_t k = 0; k < m; ++k)
          EXPECT_TRUE(f[k] == 1 && b[k] == 1 && w[k] == 1)
              << "pp " << p << " stage " << st << " m " << k;
      }
}

TEST(PipelineSchedule, ZeroBubbleHoldsTheWeightsBack) {
  // 4 stages, 8 micro-batches: stage s warms up as in 1F1B and then
  // holds up to s + 1 W back, the last stage 4 (Qi et al., figure 3).
  EXPECT_EQ(computeOrder(pipelineSchedule(Schedule::ZeroBubble, 4, 3, 8)),
            "F0 B0 F1 B1 F2 B2 F3 B3 F4 W0 B4 F5 W1 B5 F6 W2 B6 F7 W3 B7 W4 W5 W6 W7");
  EXPECT_EQ(computeOrder(pipelineSchedule(Schedule::ZeroBubble, 4, 0, 8)),
            "F0 F1 F2 F3 B0 F4 W0 B1 F5 W1 B2 F6 W2 B3 F7 W3 B4 W4 B5 W5 B6 W6 B7 W7");
  // Its receive and send: B's gradient comes in before it and goes out after.
  std::vector<StageAction> t = pipelineSchedule(Schedule::ZeroBubble, 2, 1, 1);
  std::vector<StageAction> want = {{K::RecvActivation, 0}, {K::Forward, 0}, {K::Backward, 0},
                                   {K::SendGrad, 0},       {K::Weight, 0}};
  EXPECT_EQ(t, want);
  // Slots: a micro-batch holds one from its receive to its B, as in 1F1B,
  // and a weight slot from B to W.
  EXPECT_EQ(inFlight(want), 1);
  EXPECT_EQ(weightInFlight(want), 1);
  for (int64_t s = 0; s < 4; ++s) {
    std::vector<StageAction> t = pipelineSchedule(Schedule::ZeroBubble, 4, s, 8);
    EXPECT_EQ(inFlight(t), 4 - s);
    EXPECT_EQ(weightInFlight(t), s + 1);
  }
  EXPECT_EQ(weightInFlight(pipelineSchedule(Schedule::OneFOneB, 4, 0, 8)), 0);
}

std::vector<std::vector<StageAction>> tables(Schedule s, int64_t p, int64_t m) {
  std::vector<std::vector<StageAction>> t;
  for (int64_t st = 0; st < p; ++st)
    t.push_back(pipelineSchedule(s, p, st, m));
  return t;
}

std::vector<double> starts(const std::vector<TimedAction> &v) {
  std::vector<double> s;
  for (const TimedAction &t : v)
    s.push_back(t.start);
  return s;
}

// Interleaved, equal chunks (each 1 / v of a stage): a step takes
// m (tF + tB) plus the bubble (p - 1)(tF + tB) / v (Narayanan et al.,
// 2021), so each rank idles (p - 1) / (v m + p - 1); each micro-batch
// runs once each way on every chunk; a chunk's slots are at most m.
TEST(PipelineSchedule, InterleavedEqualChunksIdleTheFormulasBubble) {
  for (int64_t p : {2, 3, 4})
    for (int64_t v : {2, 3})
      for (int64_t m : {p, 2 * p, 3 * p}) {
        std::vector<std::vector<StageAction>> t;
        for (int64_t r = 0; r < p; ++r) {
          t.push_back(pipelineSchedule(Schedule::Interleaved, p, r, m, v));
          for (int64_t c = 0; c < v; ++c) {
            std::vector<StageAction> own = chunkActions(t.back(), c);
            EXPECT_EQ(std::count_if(own.begin(), own.end(),
                                    [](const StageAction &a) {
                                      return a.kind == StageAction::Forward ||
                                             a.kind == StageAction::Backward;
                                    }),
                      2 * m);
            EXPECT_LE(inFlight(own), m);
          }
        }
        std::optional<PipelineTimeline> tl = simulatePipeline(
            t, std::vector<double>(static_cast<size_t>(p * v), 1.0 / static_cast<double>(v)));
        ASSERT_TRUE(tl) << "p " << p << " v " << v << " m " << m;
        double vd = static_cast<double>(v);
        EXPECT_NEAR(tl->makespan, 3.0 * static_cast<double>(m) + 3.0 * (p - 1) / vd, 1e-9)
            << "p " << p << " v " << v << " m " << m;
        for (int64_t r = 0; r < p; ++r)
          EXPECT_NEAR(tl->idleFraction[r],
                      static_cast<double>(p - 1) / (vd * static_cast<double>(m) + p - 1), 1e-9)
              << "p " << p << " v " << v << " m " << m << " rank " << r;
      }
}

TEST(PipelineSchedule, ParsesComputeOrders) {
  std::vector<StageAction> t = pipelineSchedule(Schedule::OneFOneB, 3, 0, 5);
  std::optional<std::vector<StageAction>> back = parseComputeOrder(computeOrder(t));
  ASSERT_TRUE(back);
  EXPECT_EQ(computeOrder(*back), computeOrder(t));
  EXPECT_EQ(back->size(), 10u);
  EXPECT_TRUE(parseComputeOrder("")->empty());
  EXPECT_FALSE(parseComputeOrder("F0 X1"));
  EXPECT_FALSE(parseComputeOrder("F0 B"));
  EXPECT_FALSE(parseComputeOrder("F-1"));
  std::optional<std::vector<StageAction>> chunked = parseComputeOrder("F0 F0.1 B0.1 B0");
  ASSERT_TRUE(chunked);
  EXPECT_EQ((*chunked)[1], (StageAction{StageAction::Forward, 0, 1}));
  EXPECT_FALSE(parseComputeOrder("F0.0"));
  EXPECT_FALSE(parseComputeOrder("F0."));
}

TEST(PipelineSchedule, EqualStagesIdleTheFormulasBubble) {
  // tF = 1, tB = 2: a step takes (m + p - 1)(tF + tB) and every stage is
  // idle (p - 1) / (m + p - 1) of it, for both schedules.
  for (Schedule s : {Schedule::GPipe, Schedule::OneFOneB})
    for (int64_t p : {1, 2, 3, 4, 8})
      for (int64_t m : {1, 2, 3, 4, 8, 16}) {
        std::optional<PipelineTimeline> tl =
            simulatePipeline(tables(s, p, m), std::vector<double>(p, 1.0));
        ASSERT_TRUE(tl) << stringify(s).str() << " p " << p << " m " << m;
        EXPECT_DOUBLE_EQ(tl->makespan, 3.0 * static_cast<double>(m + p - 1));
        for (int64_t st = 0; st < p; ++st) {
          EXPECT_NEAR(tl->idleFraction[st],
                      static_cast<double>(p - 1) / static_cast<double>(m + p - 1), 1e-12)
              << stringify(s).str() << " p " << p << " m " << m << " stage " << st;
          EXPECT_EQ(tl->stages[st].size(), static_cast<size_t>(2 * m));
        }
      }
}

TEST(PipelineSchedule, ZeroBubbleReachesTheZbH1Bound) {
  // Qi et al. (2024), ZB-H1 with tF = tB = tW = 1 and m >= p: a step takes
  // 3m + p - 1 (1F1B with the backward whole: 3(m + p - 1)).
  for (int64_t p : {2, 3, 4, 8})
    for (int64_t m : {p, p + 1, 2 * p, 4 * p}) {
      std::optional<PipelineTimeline> tl = simulatePipeline(
          tables(Schedule::ZeroBubble, p, m), std::vector<double>(p, 1.0), 2.0, 0.5);
      ASSERT_TRUE(tl) << "p " << p << " m " << m;
      EXPECT_DOUBLE_EQ(tl->makespan, static_cast<double>(3 * m + p - 1)) << "p " << p << " m " << m;
    }
}
TEST(PipelineSchedule, SimulatesOneFOneBByHand) {
  // p = 2, m = 2, tF = 1, tB = 2. Stage 0: F0 [0, 1], F1 [1, 2], then B0
  // waits for stage 1's; stage 1: F0 [1, 2], B0 [2, 4], F1 [4, 5], B1
  // [5, 7]; stage 0: B0 [4, 6], B1 [7, 9].
  std::optional<PipelineTimeline> tl =
      simulatePipeline(tables(Schedule::OneFOneB, 2, 2), {1.0, 1.0});
  ASSERT_TRUE(tl);
  EXPECT_EQ(starts(tl->stages[0]), (std::vector<double>{0, 1, 4, 7}));
  EXPECT_EQ(starts(tl->stages[1]), (std::vector<double>{1, 2, 4, 5}));
  EXPECT_DOUBLE_EQ(tl->makespan, 9.0);
}

TEST(PipelineSchedule, TransfersDelayTheNeighbour) {
  // As SimulatesOneFOneBByHand with each transfer taking 0.5: stage 1 F0
  // [1.5, 2.5], B0 [2.5, 4.5], F1 [4.5, 5.5] (its input came at 2.5), B1
  // [5.5, 7.5]; stage 0 F0 [0, 1], F1 [1, 2], B0 [5, 7] (the gradient of
  // 4.5 arrives at 5), B1 [8, 10].
  std::optional<PipelineTimeline> tl = simulatePipeline(
      tables(Schedule::OneFOneB, 2, 2), {StageTimes{1, 2, 0}, StageTimes{1, 2, 0}}, 0.5);
  ASSERT_TRUE(tl);
  EXPECT_EQ(starts(tl->stages[0]), (std::vector<double>{0, 1, 5, 8}));
  EXPECT_EQ(starts(tl->stages[1]), (std::vector<double>{1.5, 2.5, 4.5, 5.5}));
  EXPECT_DOUBLE_EQ(tl->makespan, 10.0);
}

TEST(PipelineSchedule, UnequalStagesWaitForTheSlowOne) {
  // p = 2, m = 2; stage 0 tF = 1, tB = 2; stage 1 twice that. GPipe: stage
  // 0 F0 [0, 1], F1 [1, 2]; stage 1 F0 [1, 3], F1 [3, 5], B0 [5, 9], B1
  // [9, 13]; stage 0 B0 [9, 11], B1 [13, 15]. Makespan 15; stage 0 busy 6
  // (idle 9 / 15), stage 1 busy 12 (idle 3 / 15). 1F1B: stage 1 F0 [1, 3],
  // B0 [3, 7], F1 [7, 9], B1 [9, 13]; stage 0 B0 [7, 9], B1 [13, 15]: the
  // same makespan.
  for (Schedule s : {Schedule::GPipe, Schedule::OneFOneB}) {
    std::optional<PipelineTimeline> tl = simulatePipeline(tables(s, 2, 2), {1.0, 2.0});
    ASSERT_TRUE(tl);
    EXPECT_DOUBLE_EQ(tl->makespan, 15.0);
    EXPECT_DOUBLE_EQ(tl->idleFraction[0], 9.0 / 15.0);
    EXPECT_DOUBLE_EQ(tl->idleFraction[1], 3.0 / 15.0);
    EXPECT_DOUBLE_EQ(tl->stages[0].back().start, 13.0);
  }
  // 3 stages, 4 micro-batches, 1F1B, stage 1 the slow one (tF 2, tB 4;
  // the others 1 and 2). Stage 0: F0 [0, 1] F1 [1, 2] F2 [2, 3] B0 [10,
  // 12] F3 [12, 13] B1 [16, 18] B2 [22, 24] B3 [26, 28]. Stage 1: F0 [1, 3]
  // F1 [3, 5] B0 [6, 10] F2 [10, 12] B1 [12, 16] F3 [16, 18] B2 [18, 22] B3
  // [22, 26]; it waits for stage 2's B0 at 6. Stage 2: F0 [3, 4] B0 [4, 6]
  // F1 [6, 7] B1 [7, 9] F2 [12, 13] B2 [13, 15] F3 [18, 19] B3 [19, 21].
  std::optional<PipelineTimeline> tl =
      simulatePipeline(tables(Schedule::OneFOneB, 3, 4), {1.0, 2.0, 1.0});
  ASSERT_TRUE(tl);
  EXPECT_DOUBLE_EQ(tl->makespan, 28.0);
  EXPECT_EQ(starts(tl->stages[0]), (std::vector<double>{0, 1, 2, 10, 12, 16, 22, 26}));
  EXPECT_EQ(starts(tl->stages[1]), (std::vector<double>{1, 3, 6, 10, 12, 16, 18, 22}));
  EXPECT_EQ(starts(tl->stages[2]), (std::vector<double>{3, 4, 6, 7, 12, 13, 18, 19}));
  EXPECT_DOUBLE_EQ(tl->idleFraction[0], 16.0 / 28.0);
  EXPECT_DOUBLE_EQ(tl->idleFraction[1], 4.0 / 28.0);
  EXPECT_DOUBLE_EQ(tl->idleFraction[2], 16.0 / 28.0);
}

TEST(PipelineSchedule, SimulatesMeasuredStageTimesByHand) {
  // 1F1B, p = 2, m = 2, stage 1 twice as slow (F 2, B 4). Stage 0: F0 [0, 1],
  // F1 [1, 2], B0 after stage 1's B0 [7, 9], B1 [13, 15]; stage 1: F0 [1, 3],
  // B0 [3, 7], F1 [7, 9], B1 [9, 13]. Idle: 9 / 15 and 3 / 15.
  std::optional<PipelineTimeline> tl = simulatePipeline(
      {*parseComputeOrder("F0 F1 B0 B1"), *parseComputeOrder("F0 B0 F1 B1")},
      std::vector<StageTimes>{{1, 2, 0}, {2, 4, 0}});
  ASSERT_TRUE(tl);
  EXPECT_DOUBLE_EQ(tl->makespan, 15.0);
  EXPECT_EQ(starts(tl->stages[0]), (std::vector<double>{0, 1, 7, 13}));
  EXPECT_EQ(starts(tl->stages[1]), (std::vector<double>{1, 3, 7, 9}));
  EXPECT_DOUBLE_EQ(tl->idleFraction[0], 0.6);
  EXPECT_DOUBLE_EQ(tl->idleFraction[1], 0.2);
  // zb, p = 2, m = 1: W waits only for its own B. Stage 1: F0 [1, 3], B0
  // [3, 4], W0 [4, 7]; stage 0: B0 [4, 4.5], W0 [4.5, 6].
  tl = simulatePipeline({*parseComputeOrder("F0 B0 W0"), *parseComputeOrder("F0 B0 W0")},
                        std::vector<StageTimes>{{1, 0.5, 1.5}, {2, 1, 3}});
  ASSERT_TRUE(tl);
  EXPECT_DOUBLE_EQ(tl->makespan, 7.0);
  EXPECT_EQ(starts(tl->stages[0]), (std::vector<double>{0, 4, 4.5}));
  EXPECT_EQ(starts(tl->stages[1]), (std::vector<double>{1, 3, 4}));
}

TEST(PipelineSchedule, SimulatesTheRuntimesTimeAfterActions) {
  // 1F1B, p = 2, m = 2, F 1, B 2 on both stages; after each B 0.5 of
  // computing (the neighbour's gradient is ready after it), after each F
  // 0.25 that is not (the stage's next action waits, its neighbour does
  // not). Stage 0: F0 [0, 1], F1 [1.25, 2.25], B0 after stage 1's B0 (4.75)
  // [4.75, 7.25], B1 after stage 1's B1 (8.5) [8.5, 11]. Stage 1: F0 [1, 2],
  // B0 [2.25, 4.75], F1 [4.75, 5.75], B1 [6, 8.5]. Each stage computes 7 of
  // 11.
  StageTimes t{1, 2, 0};
  t.busyAfter[1] = 0.5;
  t.idleAfter[0] = 0.25;
  std::optional<PipelineTimeline> tl =
      simulatePipeline(tables(Schedule::OneFOneB, 2, 2), std::vector<StageTimes>{t, t});
  ASSERT_TRUE(tl);
  EXPECT_EQ(starts(tl->stages[0]), (std::vector<double>{0, 1.25, 4.75, 8.5}));
  EXPECT_EQ(starts(tl->stages[1]), (std::vector<double>{1, 2.25, 4.75, 6}));
  EXPECT_DOUBLE_EQ(tl->makespan, 11.0);
  EXPECT_DOUBLE_EQ(tl->idleFraction[0], 4.0 / 11.0);
  EXPECT_DOUBLE_EQ(tl->idleFraction[1], 4.0 / 11.0);
}

TEST(PipelineSchedule, SimulationRejectsOrdersThatDeadlock) {
  // Stage 1 runs F1 first, which stage 0 runs after B0, which waits for
  // stage 1's B0.
  std::vector<std::vector<StageAction>> t = {*parseComputeOrder("F0 B0 F1 B1"),
                                             *parseComputeOrder("F1 F0 B0 B1")};
  EXPECT_FALSE(simulatePipeline(t, {1.0, 1.0}));
  EXPECT_FALSE(simulatePipeline(t, std::vector<double>{1.0}));
  // A backward before its own forward never starts.
  EXPECT_FALSE(simulatePipeline({*parseComputeOrder("B0 F0")}, std::vector<double>{1.0}));
}
} // namespace
