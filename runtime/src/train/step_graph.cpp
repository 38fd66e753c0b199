// The whole training step as one CUDA graph (trainer.h; graphs.h's
// StepGraph runs the body eagerly, captures it, then launches the graph).
//
// A step is one graph when nothing in it needs the host between its
// compiled calls: one program or pipeline stage a rank (interleaved chunks
// add their gradient norms on the host), no fp16 loss scaling (whose
// overflow check decides on the host whether the update applies), no
// --trace (which times each call), and collectives, tied gradients and
// pipeline sends on the device (NCCL) or none. The host then does before the launch what it
// does between the calls otherwise: it writes the scalars and fills every
// micro-batch's data into page-locked host memory, which the graph copies
// into the input slot before each forward_backward; each micro-batch's
// loss is copied out to page-locked memory. After the launch the host
// reads the losses, the check word, the non-finite flag and the grad norm.
//
// One difference from the eager step: the numerics check runs after the
// step, so a step with a non-finite loss or gradient has run its optimizer
// on the device before the run stops (exit 3). Nothing of that step is
// saved: the run ends there, and its message says so.
#include "train/trainer.h"

#include "core/device.h"
#include "core/internal.h"
#include "pzrt/arena.h"
#include "pzrt/error.h"
#include "pzrt/exec.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pzrt::train {

namespace {

bool stepRole(int role) {
  return role == PZRT_FN_FORWARD_BACKWARD || role == PZRT_FN_ACCUMULATE_GRADS ||
         role == PZRT_FN_FINALIZE_GRADS || role == PZRT_FN_GRAD_NORM_SQ ||
         role == PZRT_FN_OPTIMIZER_STEP || role == PZRT_FN_STAGE_FORWARD ||
         role == PZRT_FN_STAGE_BACKWARD || role == PZRT_FN_STAGE_BACKWARD_WEIGHT;
}

} // namespace

void Trainer::decideStepGraph() {
  stepGraphed_ = false;
  const char *env = std::getenv("PZRT_CUDA_STEP_GRAPH");
  const pzrt::DeviceOps *ops = ctx_.device ? ctx_.device->ops : nullptr;
  if (!graphs_.enabled() || (env && std::strcmp(env, "0") == 0) || !ops || !ops->pinnedAlloc ||
      !ops->copy)
    return;
  std::string whyNot;
  if (chunks_.size() != 1)
    whyNot = "interleaved chunks add their gradient norms on the host";
  else if (numStages_ > 1 && links_.empty())
    whyNot = std::string("the pipeline's sends go through host memory (") + hostCommName() + ")";
  else if (m_->loss_scaling)
    whyNot = "fp16 loss scaling decides on the host whether the update applies";
  else if (trace_)
    whyNot = "--trace times each compiled call";
  else if (multiRank() && !dataComm_)
    whyNot = std::string("the collectives are staged through the host (") + hostCommName() + ")";
  for (const auto &[chunk, a] : actions_)
    if (whyNot.empty() && a->kind == PZRT_ACTION_RUN && !stepRole(m_->functions[a->function].role))
      whyNot = "the step runs a function of an unknown role";
  if (!whyNot.empty()) {
    if (rank_ == 0)
      std::fprintf(stderr, "train: note: CUDA graphs per compiled call, not per step: %s\n",
                   whyNot.c_str());
    return;
  }
  // Page-locked host memory: every micro-batch's DATA inputs, the losses.
  auto pinned = [&](size_t bytes) {
    void *p = ops->pinnedAlloc(ctx_.device, bytes);
    if (!p)
      throwInternal("page-locked host memory for the step graph: %s", pzrt_last_error());
    pinned_.push_back(p);
    return p;
  };
  // (The feed writes the DATA inputs only: train/feed.cpp.)
  pinnedInputs_.assign(static_cast<size_t>(K_), {});
  for (int micro = 0; micro < K_; ++micro)
    for (int i = 0; i < m_->num_inputs; ++i)
      pinnedInputs_[static_cast<size_t>(micro)].push_back(
          inputRole(m_, i) == PZRT_INPUT_DATA
              ? pinned(static_cast<size_t>(specBytes(m_->inputs[i])))
              : nullptr);
  pinnedLoss_ = static_cast<float *>(pinned(sizeof(float) * static_cast<size_t>(K_)));
  stepGraphed_ = true;
}

int Trainer::stepBody(int64_t t) {
  const pzrt::DeviceOps &ops = *ctx_.device->ops;
  pzrt_stream *compute = ctx_.streams[0];
  Chunk &c = chunks_.front();
  bool tiedSummed = false;
  // A step starts with no send in flight (the last one ended waiting for
  // them all); a capture lost mid-body may have left events of its own.
  std::fill(c.sendingOnDevice.begin(), c.sendingOnDevice.end(), nullptr);
  for (const auto &[chunk, a] : actions_) {
    if (a->kind == PZRT_ACTION_CHECK_NUMERICS) // after the step
      continue;
    if (a->kind == PZRT_ACTION_SEND || a->kind == PZRT_ACTION_RECV) {
      exchange(t, *a); // enqueued on its NCCL link (exchange_device.cpp)
      continue;
    }
    waitSends(t, a->function); // the function's outputs' sends in flight
    const pzrt_function_entry &e = m_->functions[a->function];
    // The calls that read a micro-batch's data and give its loss.
    const bool fb = e.role == PZRT_FN_FORWARD_BACKWARD || e.role == PZRT_FN_STAGE_FORWARD;
    const int micro = e.role == PZRT_FN_OPTIMIZER_STEP || e.role == PZRT_FN_GRAD_NORM_SQ
                          ? 0
                          : a->micro_batch;
    const size_t slot = static_cast<size_t>(buf_->slotOf(micro));
    if (e.role == PZRT_FN_FINALIZE_GRADS && !tiedSummed) {
      sumTiedGrads(t); // on NCCL: enqueued
      tiedSummed = true;
    }
    if (fb)
      for (int i = 0; i < m_->num_inputs; ++i)
        if (inputRole(m_, i) == PZRT_INPUT_DATA &&
            ops.copy(compute, buf_->inputs[slot][static_cast<size_t>(i)],
                     pinnedInputs_[static_cast<size_t>(micro)][static_cast<size_t>(i)],
                     static_cast<size_t>(specBytes(m_->inputs[i]))))
          return -1;
    ctx_.micro_batch = micro;
    ctx_.dropout_block = static_cast<int64_t>(dpRank_) * K_ + micro;
    int rc = e.fn(&ctx_, buf_->bindings[static_cast<size_t>(a->function)]
                             [static_cast<size_t>(micro)].data());
    pzrt_arena_release_all(buf_->arena);
    if (rc != 0) {
      std::string what = callName(e, micro);
      return pzrt::fail("%s: %s", what.c_str(),
                        *pzrt_last_error() ? pzrt_last_error() : "failed (no message)");
    }
    if (fb && c.hasLoss &&
        ops.copy(compute, pinnedLoss_ + micro,
                 static_cast<const char *>(buf_->scalars) + 8 * PZRT_SCALAR_LOSS, sizeof(float)))
      return -1;
  }
  waitSends(t, -1);
  return 0;
}

void Trainer::trainStepGraphed(int64_t t) {
  const StepStart st = beginStep(t);
  const int64_t step = pos_.appliedUpdates + 1;
  setScalar(PZRT_SCALAR_STEP, &step, sizeof step);
  Chunk &c = chunks_.front();
  for (int micro = 0; micro < K_; ++micro)
    c.feed->fill(st.rowBase + micro * rows_, pinnedInputs_[static_cast<size_t>(micro)].data());
  pzrt_clear_error();
  int rc = pzrt_step_publish(&ctx_); // the step for device code, outside the graph
  if (rc == 0)
    rc = stepGraph_.run(&ctx_, [this, t] { return stepBody(t); });
  // The pinned losses are written by the device: wait for it (a program
  // without device-side checks has no check word to synchronize on).
  if (rc == 0)
    rc = pzrt_stream_synchronize(ctx_.streams[0]);
  if (rc == 0)
    rc = pzrt_device_check(ctx_.device);
  if (rc != 0)
    throwInternal("%s", *pzrt_last_error() ? pzrt_last_error() : "the step failed (no message)");
  double lossSum = 0;
  for (int micro = 0; micro < K_; ++micro)
    lossSum += pinnedLoss_[micro];
  const double localLoss = hasLoss_ ? lossSum / K_ : NAN;
  double loss = NAN;
  checkNumerics(t, localLoss, loss); // stops the run on a non-finite loss or gradient
  ++pos_.appliedUpdates;
  float gn = NAN;
  getScalar(PZRT_SCALAR_GRAD_NORM, &gn, sizeof gn);
  endStep(t, st, loss, localLoss, gn, false);
}

} // namespace pzrt::train
