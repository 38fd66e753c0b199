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

TEST(PipelineSchedule, OtherSchedulesAreNotBuiltYet) {
  EXPECT_TRUE(pipelineSchedule(Schedule::Interleaved, 2, 0, 4).empty());
  EXPECT_TRUE(pipelineSchedule(Schedule::ZeroBubble, 2, 0, 4).empty());
}
} // namespace
