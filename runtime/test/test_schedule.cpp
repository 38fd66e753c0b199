// test_schedule.cpp - learning-rate schedule and loss scaling.

#include "pzrt/schedule.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

TEST(LRSchedule, ConstantIsFlatAfterWarmup) {
  pzrt_lr_schedule s = {PZRT_LR_CONSTANT, 3e-4, 0, 0, 0.0};
  EXPECT_DOUBLE_EQ(pzrt_lr_at(&s, 1), 3e-4);
  EXPECT_DOUBLE_EQ(pzrt_lr_at(&s, 1000), 3e-4);
  s.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(pzrt_lr_at(&s, 1), 0.75e-4);
  EXPECT_DOUBLE_EQ(pzrt_lr_at(&s, 2), 1.5e-4);
  EXPECT_DOUBLE_EQ(pzrt_lr_at(&s, 4), 3e-4);
  EXPECT_DOUBLE_EQ(pzrt_lr_at(&s, 5), 3e-4);
}

TEST(LRSchedule, WarmupThenCosineToZero) {
  // warmup 10, total 110: the cosine spans steps 10..110.
  pzrt_lr_schedule s = {PZRT_LR_COSINE, 1.0, 10, 110, 0.0};
  EXPECT_DOUBLE_EQ(pzrt_lr_at(&s, 5), 0.5);
  EXPECT_DOUBLE_EQ(pzrt_lr_at(&s, 10), 1.0);
  // Halfway (step 60): cos(pi/2) = 0, so the rate is half the peak.
  EXPECT_NEAR(pzrt_lr_at(&s, 60), 0.5, 1e-15);
  // A quarter (step 35): (1 + cos(pi/4)) / 2.
  EXPECT_NEAR(pzrt_lr_at(&s, 35), (1.0 + std::sqrt(0.5)) / 2.0, 1e-15);
  EXPECT_NEAR(pzrt_lr_at(&s, 110), 0.0, 1e-15);
  // Past the end it stays at the floor.
  EXPECT_NEAR(pzrt_lr_at(&s, 500), 0.0, 1e-15);
  s.min_lr = 0.1;
  EXPECT_NEAR(pzrt_lr_at(&s, 60), 0.55, 1e-15);
}

TEST(LossScaler, DeepSpeedDefaults) {
  pzrt_loss_scaler s;
  pzrt_loss_scaler_init_default(&s);
  EXPECT_EQ(s.scale, 65536.0);
  EXPECT_EQ(s.growth_interval, 1000);
  EXPECT_EQ(s.backoff_factor, 0.5);
}

TEST(LossScaler, OverflowSkipsAndBacksOff) {
  pzrt_loss_scaler s;
  pzrt_loss_scaler_init_default(&s);
  for (int i = 0; i < 999; ++i)
    EXPECT_EQ(pzrt_loss_scaler_update(&s, 0), 1);
  EXPECT_EQ(s.scale, 65536.0);
  EXPECT_EQ(pzrt_loss_scaler_update(&s, 1), 0);  // skipped
  EXPECT_EQ(s.scale, 32768.0);
  EXPECT_EQ(s.good_steps, 0);
  // 1000 good steps in a row double it.
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(pzrt_loss_scaler_update(&s, 0), 1);
  EXPECT_EQ(s.scale, 65536.0);
  // It never backs off below the minimum.
  for (int i = 0; i < 40; ++i)
    pzrt_loss_scaler_update(&s, 1);
  EXPECT_EQ(s.scale, 1.0);
}

TEST(LossScaler, OverflowDetection) {
  float ok[3] = {1.0f, -2.0f, 0.0f};
  float inf[3] = {1.0f, std::numeric_limits<float>::infinity(), 0.0f};
  float nan[3] = {std::numeric_limits<float>::quiet_NaN(), 1.0f, 0.0f};
  EXPECT_EQ(pzrt_has_overflow(ok, 3), 0);
  EXPECT_EQ(pzrt_has_overflow(inf, 3), 1);
  EXPECT_EQ(pzrt_has_overflow(nan, 3), 1);
}
