// The runtime tests write their models as two step callbacks with simple
// signatures (forward_backward, optimizer_step). attachSteps() gives such a
// pzrt_program the tables the compiler emits for a real model: host
// functions bound to the driver's buffers, the accumulation and the
// finalization of gradients as functions (what the compiler's
// @accumulate_grads and @finalize_grads compute, in f32), and the
// single-rank schedule of pzrt-build-schedule. The callbacks and the
// program's sizes live in globals: one program is trained at a time.
#ifndef PZRT_TEST_LEGACY_STEPS_H
#define PZRT_TEST_LEGACY_STEPS_H

#include "pzrt/train.h"

#include <cmath>
#include <cstring>
#include <vector>

namespace pzrt::test {

using StepFb = int (*)(pzrt_step_ctx *ctx, void *const *params, void *const *inputs,
                       float *loss, void *const *grads);
using StepOpt = int (*)(pzrt_step_ctx *ctx, void *const *params, void *const *grads,
                        void *const *states, float lr, int64_t step, float *grad_norm);

struct LegacySteps {
  StepFb fb = nullptr;
  StepOpt opt = nullptr;
  int numParams = 0, numInputs = 0, numStates = 0, microBatches = 1;
  std::vector<int64_t> numel; // per parameter (f32)
};

inline LegacySteps &legacySteps() {
  static LegacySteps s;
  return s;
}

// forward_backward(params..., inputs..., LOSS, grads...)
inline int legacyFb(pzrt_step_ctx *ctx, void *const *args) {
  const LegacySteps &s = legacySteps();
  const int P = s.numParams, I = s.numInputs;
  return s.fb(ctx, args, args + P, static_cast<float *>(args[P + I]), args + P + I + 1);
}

// accumulate_grads(accum..., grads...): accum += grads.
inline int legacyAccumulate(pzrt_step_ctx *, void *const *args) {
  const LegacySteps &s = legacySteps();
  for (int i = 0; i < s.numParams; ++i) {
    float *a = static_cast<float *>(args[i]);
    const float *g = static_cast<const float *>(args[s.numParams + i]);
    for (int64_t j = 0; j < s.numel[i]; ++j)
      a[j] += g[j];
  }
  return 0;
}

// finalize_grads(src..., GRAD_SCALE, grads..., NONFINITE): grads = src x
// scale, then the first parameter with a non-finite gradient (or -1).
inline int legacyFinalize(pzrt_step_ctx *, void *const *args) {
  const LegacySteps &s = legacySteps();
  const int P = s.numParams;
  const float scale = *static_cast<const float *>(args[P]);
  int64_t first = -1;
  for (int i = 0; i < P; ++i) {
    const float *src = static_cast<const float *>(args[i]);
    float *g = static_cast<float *>(args[P + 1 + i]);
    bool finite = true;
    for (int64_t j = 0; j < s.numel[i]; ++j) {
      g[j] = src[j] * scale;
      finite = finite && std::isfinite(g[j]);
    }
    if (!finite && first < 0)
      first = i;
  }
  *static_cast<int64_t *>(args[2 * P + 1]) = first;
  return 0;
}

// optimizer_step(params..., grads..., states..., LR, STEP, GRAD_NORM)
inline int legacyOpt(pzrt_step_ctx *ctx, void *const *args) {
  const LegacySteps &s = legacySteps();
  const int P = s.numParams, S = s.numStates;
  void *const *scalars = args + 2 * P + S;
  return s.opt(ctx, args, args + P, args + 2 * P, *static_cast<const float *>(scalars[0]),
               *static_cast<const int64_t *>(scalars[1]), static_cast<float *>(scalars[2]));
}

// Owns the tables a program points to.
struct ProgramTables {
  std::vector<pzrt_arg_binding> fbGrads, fbAccum, accumulate, finalize, optimizer;
  std::vector<pzrt_function_entry> functions;
  std::vector<pzrt_action> schedule;
  uint32_t noGroups[1] = {0};

  // Sets the ABI version, the grid (data parallel over the world), the
  // function table and the schedule of `p` from its tensors and grad_accum.
  void attach(pzrt_program &p, StepFb fb, StepOpt opt) {
    LegacySteps &s = legacySteps();
    s.fb = fb;
    s.opt = opt;
    s.numParams = p.num_params;
    s.numInputs = p.num_inputs;
    s.numStates = p.num_states;
    s.microBatches = p.grad_accum > 0 ? p.grad_accum : 1;
    s.numel.clear();
    for (int i = 0; i < p.num_params; ++i) {
      int64_t n = 1;
      for (int d = 0; d < p.params[i].ndim; ++d)
        n *= p.params[i].shape[d];
      s.numel.push_back(n);
    }
    const bool accum = s.microBatches > 1;
    auto params = [&](std::vector<pzrt_arg_binding> &v, int kind) {
      for (int i = 0; i < p.num_params; ++i)
        v.push_back({kind, i});
    };
    for (auto *v : {&fbGrads, &fbAccum}) {
      v->clear();
      params(*v, PZRT_ARG_PARAM);
      for (int i = 0; i < p.num_inputs; ++i)
        v->push_back({PZRT_ARG_INPUT, i});
      v->push_back({PZRT_ARG_SCALAR, PZRT_SCALAR_LOSS});
      params(*v, v == &fbAccum ? PZRT_ARG_ACCUM : PZRT_ARG_GRAD);
    }
    accumulate.clear();
    params(accumulate, PZRT_ARG_ACCUM);
    params(accumulate, PZRT_ARG_GRAD);
    finalize.clear();
    params(finalize, accum ? PZRT_ARG_ACCUM : PZRT_ARG_GRAD);
    finalize.push_back({PZRT_ARG_SCALAR, PZRT_SCALAR_GRAD_SCALE});
    params(finalize, PZRT_ARG_GRAD);
    finalize.push_back({PZRT_ARG_SCALAR, PZRT_SCALAR_NONFINITE});
    optimizer.clear();
    params(optimizer, PZRT_ARG_PARAM);
    params(optimizer, PZRT_ARG_GRAD);
    for (int i = 0; i < p.num_states; ++i)
      optimizer.push_back({PZRT_ARG_STATE, i});
    for (int sc : {PZRT_SCALAR_LR, PZRT_SCALAR_STEP, PZRT_SCALAR_GRAD_NORM})
      optimizer.push_back({PZRT_ARG_SCALAR, sc});
    auto entry = [&](const char *name, int role, pzrt_host_fn fn,
                     const std::vector<pzrt_arg_binding> &args) {
      return pzrt_function_entry{name, role, fn, static_cast<int32_t>(args.size()), args.data(),
                                 p.arena_bytes, p.arena_planned_peak};
    };
    functions = {entry("forward_backward", PZRT_FN_FORWARD_BACKWARD, legacyFb, fbGrads),
                 entry("forward_backward", PZRT_FN_FORWARD_BACKWARD, legacyFb, fbAccum),
                 entry("accumulate_grads", PZRT_FN_ACCUMULATE_GRADS, legacyAccumulate,
                       accumulate),
                 entry("finalize_grads", PZRT_FN_FINALIZE_GRADS, legacyFinalize, finalize),
                 entry("optimizer_step", PZRT_FN_OPTIMIZER_STEP, legacyOpt, optimizer)};
    schedule.clear();
    for (int k = 0; k < s.microBatches; ++k) {
      schedule.push_back({PZRT_ACTION_RUN, accum && k == 0 ? 1 : 0, k});
      if (k > 0)
        schedule.push_back({PZRT_ACTION_RUN, 2, k});
    }
    schedule.push_back({PZRT_ACTION_RUN, 3, 0});
    schedule.push_back({PZRT_ACTION_CHECK_NUMERICS, 0, 0});
    schedule.push_back({PZRT_ACTION_RUN, 4, 0});
    p.abi_version = PZRT_ABI_VERSION;
    p.num_functions = static_cast<int32_t>(functions.size());
    p.functions = functions.data();
    p.num_actions = static_cast<int32_t>(schedule.size());
    p.schedule = schedule.data();
    p.num_comm_groups = 0;
    p.comm_groups = noGroups;
    for (int32_t &d : p.grid)
      d = 1;
    p.grid[PZRT_AXIS_DP_REPLICATE] = p.world_size > 0 ? p.world_size : 1;
  }
};

} // namespace pzrt::test

#endif // PZRT_TEST_LEGACY_STEPS_H
