// schedule.cpp - learning-rate schedule and dynamic loss scaling.

#include "pzrt/schedule.h"

#include <algorithm>
#include <cmath>
#include <cstring>

extern "C" double pzrt_lr_at(const pzrt_lr_schedule *s, int64_t step) {
  if (s->warmup_steps > 0 && step <= s->warmup_steps)
    return s->lr * static_cast<double>(step) /
           static_cast<double>(s->warmup_steps);
  if (s->kind == PZRT_LR_CONSTANT)
    return s->lr;
  double span = static_cast<double>(s->total_steps - s->warmup_steps);
  double t = span > 0 ? static_cast<double>(step - s->warmup_steps) / span : 1.0;
  t = std::min(1.0, std::max(0.0, t));
  return s->min_lr + (s->lr - s->min_lr) * 0.5 * (1.0 + std::cos(M_PI * t));
}

extern "C" void pzrt_loss_scaler_init_default(pzrt_loss_scaler *s) {
  s->scale = 65536.0;
  s->good_steps = 0;
  s->growth_interval = 1000;
  s->growth_factor = 2.0;
  s->backoff_factor = 0.5;
  s->min_scale = 1.0;
}

extern "C" int pzrt_loss_scaler_update(pzrt_loss_scaler *s,
                                       int found_overflow) {
  if (found_overflow) {
    s->scale = std::max(s->scale * s->backoff_factor, s->min_scale);
    s->good_steps = 0;
    return 0;
  }
  if (++s->good_steps >= s->growth_interval) {
    s->scale *= s->growth_factor;
    s->good_steps = 0;
  }
  return 1;
}

extern "C" int pzrt_has_overflow(const float *x, int64_t n) {
  // A float is inf or NaN iff its exponent bits are all ones. Blocks of
  // branch-free bit tests vectorise; the loop stops at the first bad block.
  constexpr int64_t kBlock = 4096;
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t end = n - start < kBlock ? n : start + kBlock;
    uint32_t bad = 0;
    for (int64_t i = start; i < end; ++i) {
      uint32_t bits;
      std::memcpy(&bits, x + i, sizeof(bits));
      bad |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
    }
    if (bad)
      return 1;
  }
  return 0;
}
