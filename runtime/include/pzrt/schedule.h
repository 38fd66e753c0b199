/* pzrt/schedule.h - the learning-rate schedule and dynamic loss scaling.
 *
 * The compiler records both on the program (pz.lr_schedule on
 * @optimizer_step, pz.loss_scaling on the module); the host program
 * evaluates them here, in double precision, once per step. */
#ifndef PZRT_SCHEDULE_H
#define PZRT_SCHEDULE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { PZRT_LR_CONSTANT = 0, PZRT_LR_COSINE = 1 } pzrt_lr_kind;

typedef struct {
  pzrt_lr_kind kind;
  double lr;            /* the base (peak) learning rate */
  int64_t warmup_steps; /* linear warmup from lr/warmup_steps to lr */
  int64_t total_steps;  /* cosine: the step at which the rate reaches min_lr */
  double min_lr;        /* cosine: the floor (0 for the compiler's schedule) */
} pzrt_lr_schedule;

/* The learning rate of step `step` (counting from 1):
 *   step <= warmup_steps:  lr * step / warmup_steps;
 *   constant:              lr;
 *   cosine:                min_lr + (lr - min_lr) * (1 + cos(pi * t)) / 2 with
 *                          t = (step - warmup_steps) / (total_steps - warmup_steps)
 *                          clamped to [0, 1]. */
double pzrt_lr_at(const pzrt_lr_schedule *s, int64_t step);

/* Dynamic loss scaling with DeepSpeed's rule (hysteresis 1): an overflow
 * multiplies the scale by backoff_factor (not below min_scale), resets the
 * count of good steps and skips the step; growth_interval good steps in a
 * row multiply it by growth_factor. */
typedef struct {
  double scale;
  int64_t good_steps;
  int64_t growth_interval;
  double growth_factor;
  double backoff_factor;
  double min_scale;
} pzrt_loss_scaler;

/* DeepSpeed's defaults: scale 2^16, growth x2 every 1000 good steps,
 * backoff 0.5, minimum scale 1. */
void pzrt_loss_scaler_init_default(pzrt_loss_scaler *s);

/* Records one step's outcome; returns 1 when the step applies, 0 when it is
 * skipped because of an overflow. */
int pzrt_loss_scaler_update(pzrt_loss_scaler *s, int found_overflow);

/* 1 when any element is inf or NaN. */
int pzrt_has_overflow(const float *x, int64_t n);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_SCHEDULE_H */
