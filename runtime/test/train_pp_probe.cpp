// A pipeline-parallel `train` program for test_train_pp.cmake: a tiny token
// model split in two stages, written by hand as the compiler would emit it,
// and the same math as one program.
//   stage 0: h = W0[input_ids]                       (sends h)
//   stage 1: z = tanh(h + c); logits = z W1; loss = cross_entropy(logits, labels)
//                                                   (sends dL/dh)
//   train-pp-probe ref   [train options]   world 1: one forward_backward per
//                                          micro-batch (pzrt_train_main)
//   train-pp-probe gpipe [train options]   world 2: two stages, all forwards
//                                          then all backwards
//   train-pp-probe 1f1b  [train options]   world 2: one forward, one backward
//                                          (fused SEND + RECV exchanges)
//   train-pp-probe compare A.jsonl B.jsonl same steps, losses, grad norms and
//                                          lrs within 1e-5 relative
// The tied model (tied-ref, tied-gpipe, tied-1f1b) ties W0, the embedding,
// to the head: logits = z (W1 + W0^T). Stage 1 holds W0 too (tied_stages
// 0b11), and the driver sums its two gradients before finalize_grads; the
// reference has W0 once, its gradient the sum of both uses.
//   train-pp-probe same DIR NAME...        the tensors NAME are bitwise alike
//                                          in the checkpoint's two rank files
//   train-pp-probe write-npy DIR           input_ids.npy, labels.npy (24 rows)
//                                          and short.npy (20 rows) in DIR
//   train-pp-probe bad-tied CASE           the tied stages with a fault the
//                                          driver must reject (exit 1):
//                                          range, mask, beyond, untied, shape,
//                                          single
// Every program sets planned_peak_bytes to train.h's formula, so the driver
// warns if it allocates anything else.
#include "pzrt/pzrt.h"

#include "legacy_steps.h"
#include "pzrt/run.h"
#include "pzrt/train.h"

#include "io/json.h"
#include "io/safetensors.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

constexpr int64_t kB = 2, kS = 4, kV = 16, kD = 8, kR = kB * kS, kK = 4;
constexpr size_t kF = sizeof(float);

// ---- the math, shared by both programs (the same float operations) ----

float offset(int64_t d) { return 0.3f * static_cast<float>(d % 3) - 0.25f; }

void embed(const float *w0, const int64_t *ids, float *h) {
  for (int64_t r = 0; r < kR; ++r)
    std::memcpy(h + r * kD, w0 + ids[r] * kD, kD * kF);
}

// z = tanh(h + c), logits = z W1; returns the mean cross-entropy.
int head(const float *w1, const float *h, const int64_t *labels, float *z, float *logits,
         float *loss) {
  for (int64_t r = 0; r < kR; ++r)
    for (int64_t d = 0; d < kD; ++d)
      z[r * kD + d] = std::tanh(h[r * kD + d] + offset(d));
  for (int64_t r = 0; r < kR; ++r)
    for (int64_t v = 0; v < kV; ++v) {
      float acc = 0;
      for (int64_t d = 0; d < kD; ++d)
        acc += z[r * kD + d] * w1[d * kV + v];
      logits[r * kV + v] = acc;
    }
  double sum = 0;
  int64_t valid = 0;
  if (pzrt_cross_entropy_fwd(logits, labels, kR, kV, -100, nullptr, &sum, &valid))
    return -1;
  *loss = static_cast<float>(sum / valid);
  return 0;
}

// gW1 = z^T dlogits, dh = (dlogits W1^T) (1 - z^2).
int headBackward(const float *w1, const int64_t *labels, const float *z, const float *logits,
                 float *dlogits, float *gw1, float *dh) {
  int64_t valid = 0;
  for (int64_t r = 0; r < kR; ++r)
    valid += labels[r] != -100;
  if (pzrt_cross_entropy_bwd(logits, labels, nullptr, kR, kV, -100,
                             1.0f / static_cast<float>(valid), dlogits))
    return -1;
  for (int64_t d = 0; d < kD; ++d)
    for (int64_t v = 0; v < kV; ++v) {
      float acc = 0;
      for (int64_t r = 0; r < kR; ++r)
        acc += z[r * kD + d] * dlogits[r * kV + v];
      gw1[d * kV + v] = acc;
    }
  for (int64_t r = 0; r < kR; ++r)
    for (int64_t d = 0; d < kD; ++d) {
      float acc = 0;
      for (int64_t v = 0; v < kV; ++v)
        acc += dlogits[r * kV + v] * w1[d * kV + v];
      const float zz = z[r * kD + d];
      dh[r * kD + d] = acc * (1 - zz * zz);
    }
  return 0;
}

void embedBackward(const int64_t *ids, const float *dh, float *gw0) {
  std::memset(gw0, 0, kV * kD * kF);
  for (int64_t r = 0; r < kR; ++r)
    for (int64_t d = 0; d < kD; ++d)
      gw0[ids[r] * kD + d] += dh[r * kD + d];
}

// The tied model's head weight W1 + W0^T ([D, V]).
void tiedWeight(const float *w0, const float *w1, float *weff) {
  for (int64_t d = 0; d < kD; ++d)
    for (int64_t v = 0; v < kV; ++v)
      weff[d * kV + v] = w1[d * kV + v] + w0[v * kD + d];
}

// The head's share of W0's gradient: gW1^T, added to gw0 or written.
void headShare(const float *gw1, float *gw0, bool add) {
  for (int64_t d = 0; d < kD; ++d)
    for (int64_t v = 0; v < kV; ++v)
      gw0[v * kD + d] = (add ? gw0[v * kD + d] : 0.0f) + gw1[d * kV + v];
}

float *scratch(pzrt_step_ctx *ctx, size_t offset, size_t bytes) {
  return static_cast<float *>(pzrt_arena_acquire(ctx->arena, offset, bytes));
}

// ---- the reference: one program (legacy_steps.h's tables) ----

constexpr size_t kRD = kR * kD * kF, kRV = kR * kV * kF;
constexpr size_t kRefArena = 3 * kRD + 2 * kRV; // h, z, dh, logits, dlogits

int refForwardBackward(pzrt_step_ctx *ctx, void *const *params, void *const *inputs,
                       float *loss, void *const *grads) {
  const auto *ids = static_cast<const int64_t *>(inputs[0]);
  const auto *labels = static_cast<const int64_t *>(inputs[1]);
  float *h = scratch(ctx, 0, kRD), *z = scratch(ctx, kRD, kRD), *dh = scratch(ctx, 2 * kRD, kRD);
  float *logits = scratch(ctx, 3 * kRD, kRV), *dlogits = scratch(ctx, 3 * kRD + kRV, kRV);
  if (!h || !z || !dh || !logits || !dlogits)
    return -1;
  embed(static_cast<const float *>(params[0]), ids, h);
  if (head(static_cast<const float *>(params[1]), h, labels, z, logits, loss) ||
      headBackward(static_cast<const float *>(params[1]), labels, z, logits, dlogits,
                   static_cast<float *>(grads[1]), dh))
    return -1;
  embedBackward(ids, dh, static_cast<float *>(grads[0]));
  return 0;
}

// The tied model: the head's weight W1 + W0^T in the arena after the rest.
constexpr size_t kDV = kD * kV * kF, kRefTiedArena = kRefArena + kDV;

int refTiedForwardBackward(pzrt_step_ctx *ctx, void *const *params, void *const *inputs,
                           float *loss, void *const *grads) {
  const auto *ids = static_cast<const int64_t *>(inputs[0]);
  const auto *labels = static_cast<const int64_t *>(inputs[1]);
  const auto *w0 = static_cast<const float *>(params[0]);
  float *h = scratch(ctx, 0, kRD), *z = scratch(ctx, kRD, kRD), *dh = scratch(ctx, 2 * kRD, kRD);
  float *logits = scratch(ctx, 3 * kRD, kRV), *dlogits = scratch(ctx, 3 * kRD + kRV, kRV);
  float *weff = scratch(ctx, kRefArena, kDV);
  if (!h || !z || !dh || !logits || !dlogits || !weff)
    return -1;
  embed(w0, ids, h);
  tiedWeight(w0, static_cast<const float *>(params[1]), weff);
  if (head(weff, h, labels, z, logits, loss) ||
      headBackward(weff, labels, z, logits, dlogits, static_cast<float *>(grads[1]), dh))
    return -1;
  embedBackward(ids, dh, static_cast<float *>(grads[0]));
  headShare(static_cast<const float *>(grads[1]), static_cast<float *>(grads[0]), true);
  return 0;
}

int adamw(pzrt_step_ctx *ctx, void *p, const void *g, void *m, void *v, int64_t step) {
  return pzrt_adamw_step(static_cast<float *>(p), static_cast<const float *>(g),
                         static_cast<float *>(m), static_cast<float *>(v), kV * kD, ctx->lr, 0.9,
                         0.999, 1e-8, 0.01, step);
}

int refOptimizer(pzrt_step_ctx *ctx, void *const *params, void *const *grads,
                 void *const *states, float, int64_t step, float *gradNorm) {
  double sq[2] = {pzrt_sum_squares(static_cast<const float *>(grads[0]), kV * kD),
                  pzrt_sum_squares(static_cast<const float *>(grads[1]), kV * kD)};
  *gradNorm = static_cast<float>(std::sqrt(sq[0] + sq[1]));
  return adamw(ctx, params[0], grads[0], states[0], states[1], step) ||
                 adamw(ctx, params[1], grads[1], states[2], states[3], step)
             ? -1
             : 0;
}

const pzrt_tensor_spec kW0 = {"W0", PZRT_F32, 2, {kV, kD}, nullptr, nullptr};
const pzrt_tensor_spec kW1 = {"W1", PZRT_F32, 2, {kD, kV}, nullptr, nullptr};
const pzrt_tensor_spec kIds = {"input_ids", PZRT_I64, 2, {kB, kS}, nullptr, nullptr};
const pzrt_tensor_spec kLabels = {"labels", PZRT_I64, 2, {kB, kS}, nullptr, nullptr};
const pzrt_tensor_spec kH = {"h", PZRT_F32, 3, {kB, kS, kD}, nullptr, nullptr};
const pzrt_tensor_spec kDh = {"h.grad", PZRT_F32, 3, {kB, kS, kD}, nullptr, nullptr};

uint64_t bytes(const pzrt_tensor_spec &s) {
  uint64_t n = pzrt_dtype_size(s.dtype);
  for (int d = 0; d < s.ndim; ++d)
    n *= static_cast<uint64_t>(s.shape[d]);
  return n;
}

const pzrt_lr_schedule kLr = {PZRT_LR_COSINE, 0.05, 2, 20, 0.0};

pzrt_program makeReference(bool tied) {
  static const pzrt_tensor_spec params[] = {kW0, kW1}, inputs[] = {kIds, kLabels};
  static const int32_t roles[] = {PZRT_INPUT_DATA, PZRT_INPUT_DATA};
  static const pzrt_tensor_spec states[] = {
      {"exp_avg:W0", PZRT_F32, 2, {kV, kD}, nullptr, nullptr},
      {"exp_avg_sq:W0", PZRT_F32, 2, {kV, kD}, nullptr, nullptr},
      {"exp_avg:W1", PZRT_F32, 2, {kD, kV}, nullptr, nullptr},
      {"exp_avg_sq:W1", PZRT_F32, 2, {kD, kV}, nullptr, nullptr}};
  pzrt_program m{};
  m.name = "pp-probe";
  m.num_params = 2;
  m.params = params;
  m.num_inputs = 2;
  m.inputs = inputs;
  m.input_roles = roles;
  m.num_states = 4;
  m.states = states;
  const size_t arena = tied ? kRefTiedArena : kRefArena;
  m.arena_bytes = arena;
  m.arena_planned_peak = arena;
  // params, grads and accumulators, states, arena, inputs, scalars
  m.planned_peak_bytes = 2 * bytes(kW0) * 3 + 4 * bytes(kW0) + arena + bytes(kIds) +
                         bytes(kLabels) + 8 * PZRT_SCALAR_COUNT;
  m.grad_accum = kK;
  m.world_size = 1;
  m.vocab = kV;
  m.lr_schedule = kLr;
  m.plan_json = "{}";
  static pzrt::test::ProgramTables tables;
  tables.attach(m, tied ? refTiedForwardBackward : refForwardBackward, refOptimizer);
  return m;
}

// ---- the two stages ----
// Arguments (pzrt_arg_binding tables below):
//   stage 0 forward (W0, input_ids, ids [saved], h [output])
//   stage 0 backward (h.grad [input], ids [saved], gW0 [grad or accumulator])
//   stage 1 forward (W1, h [input], labels, z [saved], logits [saved], LOSS)
//   stage 1 backward (W1, labels, z [saved], logits [saved], gW1 [grad or
//     accumulator], h.grad [output])
// and, on each stage, accumulate (accum, grad), finalize (accum,
// GRAD_SCALE, grad, NONFINITE), optimizer (W, grad, exp_avg, exp_avg_sq,
// LR, STEP, GRAD_NORM).

int s0Forward(pzrt_step_ctx *, void *const *a) {
  // The saved copy of the ids (slot-bound like the input) feeds the backward.
  std::memcpy(a[2], a[1], bytes(kIds));
  embed(static_cast<const float *>(a[0]), static_cast<const int64_t *>(a[1]),
        static_cast<float *>(a[3]));
  return 0;
}

int s0Backward(pzrt_step_ctx *, void *const *a) {
  embedBackward(static_cast<const int64_t *>(a[1]), static_cast<const float *>(a[0]),
                static_cast<float *>(a[2]));
  return 0;
}

int s1Forward(pzrt_step_ctx *, void *const *a) {
  return head(static_cast<const float *>(a[0]), static_cast<const float *>(a[1]),
              static_cast<const int64_t *>(a[2]), static_cast<float *>(a[3]),
              static_cast<float *>(a[4]), static_cast<float *>(a[5]));
}

int s1Backward(pzrt_step_ctx *ctx, void *const *a) {
  float *dlogits = scratch(ctx, 0, kRV);
  if (!dlogits)
    return -1;
  return headBackward(static_cast<const float *>(a[0]), static_cast<const int64_t *>(a[1]),
                      static_cast<const float *>(a[2]), static_cast<const float *>(a[3]),
                      dlogits, static_cast<float *>(a[4]), static_cast<float *>(a[5]));
}

// The tied model's stage 1 holds W0 (tied) and W1:
//   forward (W0, W1, h [input], labels, z [saved], logits [saved], LOSS)
//   backward (W0, W1, labels, z [saved], logits [saved], gW0, gW1 [grads
//     or accumulators], h.grad [output])
//   accumulate (accum W0, grad W0, accum W1, grad W1)
//   finalize (accum W0, GRAD_SCALE, grad W0, NONFINITE, accum W1, grad W1)
//   optimizer (W0, gW0, its 2 states, W1, gW1, its 2 states, LR, STEP,
//     GRAD_NORM)
int s1TiedForward(pzrt_step_ctx *ctx, void *const *a) {
  float *weff = scratch(ctx, 0, kDV);
  if (!weff)
    return -1;
  tiedWeight(static_cast<const float *>(a[0]), static_cast<const float *>(a[1]), weff);
  return head(weff, static_cast<const float *>(a[2]), static_cast<const int64_t *>(a[3]),
              static_cast<float *>(a[4]), static_cast<float *>(a[5]), static_cast<float *>(a[6]));
}

int s1TiedBackward(pzrt_step_ctx *ctx, void *const *a) {
  float *weff = scratch(ctx, 0, kDV), *dlogits = scratch(ctx, kDV, kRV);
  if (!weff || !dlogits)
    return -1;
  tiedWeight(static_cast<const float *>(a[0]), static_cast<const float *>(a[1]), weff);
  if (headBackward(weff, static_cast<const int64_t *>(a[2]), static_cast<const float *>(a[3]),
                   static_cast<const float *>(a[4]), dlogits, static_cast<float *>(a[6]),
                   static_cast<float *>(a[7])))
    return -1;
  headShare(static_cast<const float *>(a[6]), static_cast<float *>(a[5]), false);
  return 0;
}

int accumulate(pzrt_step_ctx *, void *const *a) {
  float *acc = static_cast<float *>(a[0]);
  const float *g = static_cast<const float *>(a[1]);
  for (int64_t j = 0; j < kV * kD; ++j)
    acc[j] += g[j];
  return 0;
}

int finalize(pzrt_step_ctx *, void *const *a) {
  const float *src = static_cast<const float *>(a[0]);
  const float scale = *static_cast<const float *>(a[1]);
  float *g = static_cast<float *>(a[2]);
  bool finite = true;
  for (int64_t j = 0; j < kV * kD; ++j) {
    g[j] = src[j] * scale;
    finite = finite && std::isfinite(g[j]);
  }
  *static_cast<int64_t *>(a[3]) = finite ? -1 : 0;
  return 0;
}

// The gradient norm covers both stages (as clipping would): the squares are
// summed over the pipeline, which is the world here.
int optimizer(pzrt_step_ctx *ctx, void *const *a) {
  // Each stage's sum of squares (a double, gathered as its bits), added in
  // stage order as the reference adds them.
  double sq = pzrt_sum_squares(static_cast<const float *>(a[1]), kV * kD), all[2] = {sq, 0};
  if (pzrt_comm_size(ctx->comm) > 1) {
    if (pzrt_all_gather(ctx->comm, &sq, all, 1, PZRT_I64))
      return -1;
    sq = all[0] + all[1];
  }
  *static_cast<float *>(a[6]) = static_cast<float>(std::sqrt(sq));
  return adamw(ctx, a[0], a[1], a[2], a[3], *static_cast<const int64_t *>(a[5]));
}

int accumulate2(pzrt_step_ctx *ctx, void *const *a) {
  void *const second[2] = {a[2], a[3]};
  return accumulate(ctx, a) || accumulate(ctx, second) ? -1 : 0;
}

int finalize2(pzrt_step_ctx *ctx, void *const *a) {
  int64_t bad0 = -1, bad1 = -1;
  void *const first[4] = {a[0], a[1], a[2], &bad0}, *const second[4] = {a[4], a[1], a[5], &bad1};
  if (finalize(ctx, first) || finalize(ctx, second))
    return -1;
  *static_cast<int64_t *>(a[3]) = bad0 >= 0 ? 0 : bad1 >= 0 ? 1 : -1;
  return 0;
}

// The gradient norm counts a tied parameter once: on the lowest stage that
// holds it (stage 0 for W0), so stage 1 sums the squares of W1 alone.
int tiedOptimizer(pzrt_step_ctx *ctx, void *const *a) {
  double sq = pzrt_sum_squares(static_cast<const float *>(a[5]), kV * kD), all[2] = {sq, 0};
  if (pzrt_comm_size(ctx->comm) > 1) {
    if (pzrt_all_gather(ctx->comm, &sq, all, 1, PZRT_I64))
      return -1;
    sq = all[0] + all[1];
  }
  *static_cast<float *>(a[10]) = static_cast<float>(std::sqrt(sq));
  const int64_t step = *static_cast<const int64_t *>(a[9]);
  return adamw(ctx, a[0], a[1], a[2], a[3], step) || adamw(ctx, a[4], a[5], a[6], a[7], step)
             ? -1
             : 0;
}

enum Fn { kFwd, kBwdAccum, kBwd, kAccumulate, kFinalize, kOptimizer };

struct Stage {
  std::vector<std::string> stateNames;
  std::vector<int32_t> tiedParams;
  std::vector<uint32_t> tiedStages;
  std::vector<pzrt_tensor_spec> params, inputs, states, saved, outputs;
  std::vector<int32_t> inputRoles, outputRoles;
  std::vector<pzrt_arg_binding> fwd, bwdAccum, bwd, acc, fin, opt;
  std::vector<pzrt_function_entry> functions;
  std::vector<pzrt_action> schedule;
  uint32_t noGroups[1] = {0};
  pzrt_program m{};
};

using B = pzrt_arg_binding;

void run(std::vector<pzrt_action> &s, int fn, int mb) { s.push_back({PZRT_ACTION_RUN, fn, mb, 0}); }
void send(std::vector<pzrt_action> &s, int mb) { s.push_back({PZRT_ACTION_SEND, 0, mb, 0}); }
void recv(std::vector<pzrt_action> &s, int tensor, int mb) {
  s.push_back({PZRT_ACTION_RECV, 0, mb, tensor});
}
// The backward of micro-batch mb: the first one writes the accumulators,
// the others their gradients, then accumulate.
void backward(std::vector<pzrt_action> &s, int mb) {
  run(s, mb == 0 ? kBwdAccum : kBwd, mb);
  if (mb > 0)
    run(s, kAccumulate, mb);
}

void makeStage(Stage &st, int stage, bool oneFOneB, bool tied) {
  const bool last = stage == 1;
  const bool tiedHead = tied && last; // stage 1 of the tied model holds W0 too
  const pzrt_tensor_spec &w = last ? kW1 : kW0;
  st.params = tiedHead ? std::vector<pzrt_tensor_spec>{kW0, kW1} : std::vector<pzrt_tensor_spec>{w};
  for (const pzrt_tensor_spec &p : st.params)
    for (const char *k : {"exp_avg:", "exp_avg_sq:"})
      st.stateNames.push_back(k + std::string(p.name));
  for (size_t k = 0; k < st.stateNames.size(); ++k) {
    pzrt_tensor_spec s = st.params[k / 2];
    s.name = st.stateNames[k].c_str();
    st.states.push_back(s);
  }
  if (tied) { // W0 is parameter 0 of both stages
    st.tiedParams = {0};
    st.tiedStages = {0x3};
  }
  const int slots = oneFOneB ? 2 - stage : kK; // micro-batches in flight
  uint64_t arena;
  if (!last) {
    st.inputs = {kIds, kDh};
    st.inputRoles = {PZRT_INPUT_DATA, PZRT_INPUT_ACTIVATION_GRAD};
    pzrt_tensor_spec ids = kIds;
    ids.name = "saved.input_ids";
    st.saved = {ids};
    st.outputs = {kH};
    st.outputRoles = {PZRT_INPUT_ACTIVATION};
    st.fwd = {B{PZRT_ARG_PARAM, 0}, B{PZRT_ARG_INPUT, 0}, B{PZRT_ARG_SAVED, 0},
              B{PZRT_ARG_OUTPUT, 0}};
    st.bwdAccum = {B{PZRT_ARG_INPUT, 1}, B{PZRT_ARG_SAVED, 0}, B{PZRT_ARG_ACCUM, 0}};
    arena = 64; // unused
  } else {
    st.inputs = {kLabels, kH};
    st.inputRoles = {PZRT_INPUT_DATA, PZRT_INPUT_ACTIVATION};
    st.saved = {{"saved.z", PZRT_F32, 2, {kR, kD}, nullptr, nullptr},
                {"saved.logits", PZRT_F32, 2, {kR, kV}, nullptr, nullptr}};
    st.outputs = {kDh};
    st.outputRoles = {PZRT_INPUT_ACTIVATION_GRAD};
    st.fwd = {B{PZRT_ARG_PARAM, 0}, B{PZRT_ARG_INPUT, 1},  B{PZRT_ARG_INPUT, 0},
              B{PZRT_ARG_SAVED, 0}, B{PZRT_ARG_SAVED, 1}, B{PZRT_ARG_SCALAR, PZRT_SCALAR_LOSS}};
    st.bwdAccum = {B{PZRT_ARG_PARAM, 0}, B{PZRT_ARG_INPUT, 0}, B{PZRT_ARG_SAVED, 0},
                   B{PZRT_ARG_SAVED, 1}, B{PZRT_ARG_ACCUM, 0}, B{PZRT_ARG_OUTPUT, 0}};
    arena = kRV;
    if (tiedHead) {
      st.fwd = {B{PZRT_ARG_PARAM, 0}, B{PZRT_ARG_PARAM, 1}, B{PZRT_ARG_INPUT, 1},
                B{PZRT_ARG_INPUT, 0}, B{PZRT_ARG_SAVED, 0}, B{PZRT_ARG_SAVED, 1},
                B{PZRT_ARG_SCALAR, PZRT_SCALAR_LOSS}};
      st.bwdAccum = {B{PZRT_ARG_PARAM, 0}, B{PZRT_ARG_PARAM, 1}, B{PZRT_ARG_INPUT, 0},
                     B{PZRT_ARG_SAVED, 0}, B{PZRT_ARG_SAVED, 1}, B{PZRT_ARG_ACCUM, 0},
                     B{PZRT_ARG_ACCUM, 1}, B{PZRT_ARG_OUTPUT, 0}};
      arena = kDV + kRV;
    }
  }
  st.bwd = st.bwdAccum;
  for (B &b : st.bwd)
    if (b.kind == PZRT_ARG_ACCUM)
      b.kind = PZRT_ARG_GRAD;
  st.acc = {B{PZRT_ARG_ACCUM, 0}, B{PZRT_ARG_GRAD, 0}};
  st.fin = {B{PZRT_ARG_ACCUM, 0}, B{PZRT_ARG_SCALAR, PZRT_SCALAR_GRAD_SCALE}, B{PZRT_ARG_GRAD, 0},
            B{PZRT_ARG_SCALAR, PZRT_SCALAR_NONFINITE}};
  st.opt = {B{PZRT_ARG_PARAM, 0},
            B{PZRT_ARG_GRAD, 0},
            B{PZRT_ARG_STATE, 0},
            B{PZRT_ARG_STATE, 1},
            B{PZRT_ARG_SCALAR, PZRT_SCALAR_LR},
            B{PZRT_ARG_SCALAR, PZRT_SCALAR_STEP},
            B{PZRT_ARG_SCALAR, PZRT_SCALAR_GRAD_NORM}};
  if (tiedHead) {
    st.acc = {B{PZRT_ARG_ACCUM, 0}, B{PZRT_ARG_GRAD, 0}, B{PZRT_ARG_ACCUM, 1}, B{PZRT_ARG_GRAD, 1}};
    st.fin = {B{PZRT_ARG_ACCUM, 0}, B{PZRT_ARG_SCALAR, PZRT_SCALAR_GRAD_SCALE},
              B{PZRT_ARG_GRAD, 0},  B{PZRT_ARG_SCALAR, PZRT_SCALAR_NONFINITE},
              B{PZRT_ARG_ACCUM, 1}, B{PZRT_ARG_GRAD, 1}};
    st.opt = {B{PZRT_ARG_PARAM, 0},  B{PZRT_ARG_GRAD, 0},  B{PZRT_ARG_STATE, 0},
              B{PZRT_ARG_STATE, 1},  B{PZRT_ARG_PARAM, 1}, B{PZRT_ARG_GRAD, 1},
              B{PZRT_ARG_STATE, 2},  B{PZRT_ARG_STATE, 3}, B{PZRT_ARG_SCALAR, PZRT_SCALAR_LR},
              B{PZRT_ARG_SCALAR, PZRT_SCALAR_STEP}, B{PZRT_ARG_SCALAR, PZRT_SCALAR_GRAD_NORM}};
  }
  const uint64_t peak = last ? arena : 0;
  auto entry = [&](const char *name, int role, pzrt_host_fn fn,
                   const std::vector<pzrt_arg_binding> &args) {
    return pzrt_function_entry{name, role, fn, static_cast<int32_t>(args.size()), args.data(),
                               arena, peak};
  };
  const pzrt_host_fn fwd = tiedHead ? s1TiedForward : last ? s1Forward : s0Forward;
  const pzrt_host_fn bwd = tiedHead ? s1TiedBackward : last ? s1Backward : s0Backward;
  st.functions = {
      entry("stage_forward", PZRT_FN_STAGE_FORWARD, fwd, st.fwd),
      entry("stage_backward", PZRT_FN_STAGE_BACKWARD, bwd, st.bwdAccum),
      entry("stage_backward", PZRT_FN_STAGE_BACKWARD, bwd, st.bwd),
      entry("accumulate_grads", PZRT_FN_ACCUMULATE_GRADS, tiedHead ? accumulate2 : accumulate,
            st.acc),
      entry("finalize_grads", PZRT_FN_FINALIZE_GRADS, tiedHead ? finalize2 : finalize, st.fin),
      entry("optimizer_step", PZRT_FN_OPTIMIZER_STEP, tiedHead ? tiedOptimizer : optimizer,
            st.opt)};

  // inputs: stage 0's h.grad is input 1, stage 1's h is input 1.
  std::vector<pzrt_action> &s = st.schedule;
  if (!oneFOneB) { // GPipe: all forwards, then all backwards
    for (int mb = 0; mb < kK; ++mb) {
      if (last)
        recv(s, 1, mb);
      run(s, kFwd, mb);
      if (!last)
        send(s, mb);
    }
    for (int mb = 0; mb < kK; ++mb) {
      if (!last)
        recv(s, 1, mb);
      backward(s, mb);
      if (last)
        send(s, mb);
    }
  } else if (!last) { // 1F1B, stage 0: one warm-up forward
    run(s, kFwd, 0);
    send(s, 0);
    for (int mb = 1; mb < kK; ++mb) {
      run(s, kFwd, mb);
      send(s, mb);
      recv(s, 1, mb - 1); // one exchange with the SEND
      backward(s, mb - 1);
    }
    recv(s, 1, kK - 1);
    backward(s, kK - 1);
  } else { // 1F1B, the last stage: no warm-up
    recv(s, 1, 0);
    for (int mb = 0; mb < kK; ++mb) {
      run(s, kFwd, mb);
      backward(s, mb);
      send(s, mb);
      if (mb + 1 < kK)
        recv(s, 1, mb + 1); // one exchange with the SEND
    }
  }
  run(s, kFinalize, 0);
  s.push_back({PZRT_ACTION_CHECK_NUMERICS, 0, 0, 0});
  run(s, kOptimizer, 0);

  pzrt_program &m = st.m;
  m.abi_version = PZRT_ABI_VERSION;
  m.name = "pp-probe";
  m.num_params = static_cast<int32_t>(st.params.size());
  m.params = st.params.data();
  m.num_inputs = static_cast<int32_t>(st.inputs.size());
  m.inputs = st.inputs.data();
  m.input_roles = st.inputRoles.data();
  m.num_states = static_cast<int32_t>(st.states.size());
  m.states = st.states.data();
  m.arena_bytes = arena;
  m.arena_planned_peak = peak;
  m.grad_accum = kK;
  m.world_size = 2;
  for (int32_t &d : m.grid)
    d = 1;
  m.grid[PZRT_AXIS_PP] = 2;
  m.vocab = kV;
  m.lr_schedule = kLr;
  m.plan_json = "{\"pp\": 2}";
  m.num_functions = static_cast<int32_t>(st.functions.size());
  m.functions = st.functions.data();
  m.num_actions = static_cast<int32_t>(s.size());
  m.schedule = s.data();
  m.comm_groups = st.noGroups;
  m.pp_stage = stage;
  m.num_slots = slots;
  m.num_saved = static_cast<int32_t>(st.saved.size());
  m.saved = st.saved.data();
  m.num_outputs = static_cast<int32_t>(st.outputs.size());
  m.outputs = st.outputs.data();
  m.output_roles = st.outputRoles.data();
  m.num_tied = static_cast<int32_t>(st.tiedParams.size());
  m.tied_params = st.tiedParams.data();
  m.tied_stages = st.tiedStages.data();
  // train.h's formula: per parameter (all of W0's size) the parameter, its
  // grad and accumulator and 2 states; arena, slots x (inputs + saved),
  // outputs, scalars.
  uint64_t slotted = 0;
  for (const auto *list : {&st.inputs, &st.saved})
    for (const pzrt_tensor_spec &t : *list)
      slotted += bytes(t);
  m.planned_peak_bytes = st.params.size() * 5 * bytes(w) + arena + slots * slotted +
                         bytes(st.outputs[0]) + 8 * PZRT_SCALAR_COUNT;
}

std::vector<pzrt::json::Value> readLines(const char *path) {
  std::vector<pzrt::json::Value> out;
  std::ifstream f(path);
  std::string line, err;
  while (std::getline(f, line)) {
    pzrt::json::Value v;
    if (!pzrt::json::parse(line, v, err)) {
      std::fprintf(stderr, "compare: %s: %s\n", path, err.c_str());
      std::exit(1);
    }
    out.push_back(std::move(v));
  }
  return out;
}

int compare(const char *a, const char *b) {
  auto la = readLines(a), lb = readLines(b);
  if (la.empty() || la.size() != lb.size()) {
    std::fprintf(stderr, "compare: %zu lines in %s, %zu in %s\n", la.size(), a, lb.size(), b);
    return 1;
  }
  for (size_t i = 0; i < la.size(); ++i)
    for (const char *k : {"step", "loss", "grad_norm", "lr"}) {
      const pzrt::json::Value *x = la[i].find(k), *y = lb[i].find(k);
      if (!x || !y || !x->isNumber() || !y->isNumber() ||
          !(std::fabs(x->asDouble() - y->asDouble()) <= 1e-5 * std::fabs(y->asDouble()))) {
        std::fprintf(stderr, "compare: line %zu: %s is %s in %s but %s in %s\n", i + 1, k,
                     x ? pzrt::json::dump(*x).c_str() : "absent", a,
                     y ? pzrt::json::dump(*y).c_str() : "absent", b);
        return 1;
      }
    }
  std::printf("compare: %zu steps agree\n", la.size());
  return 0;
}

// The tensors `names` hold the same bytes in the checkpoint's two rank
// files (each stage writes its copy of a tied parameter).
int same(const std::string &dir, const std::vector<std::string> &names) {
  pzrt::StFile f[2];
  for (int r = 0; r < 2; ++r) {
    std::string path = dir + "/rank0000" + std::to_string(r) + ".safetensors";
    if (pzrt::readSafetensors(path, f[r])) {
      std::fprintf(stderr, "same: %s: %s\n", path.c_str(), pzrt_last_error());
      return 1;
    }
  }
  for (const std::string &n : names) {
    const pzrt::StTensor *a = f[0].find(n), *b = f[1].find(n);
    if (!a || !b) {
      std::fprintf(stderr, "same: '%s' is not in rank %d's file\n", n.c_str(), a ? 1 : 0);
      return 1;
    }
    if (a->dtype != b->dtype || a->shape != b->shape || a->end - a->begin != b->end - b->begin ||
        std::memcmp(f[0].dataStart + a->begin, f[1].dataStart + b->begin, a->end - a->begin)) {
      std::fprintf(stderr, "same: the two copies of '%s' differ\n", n.c_str());
      return 1;
    }
  }
  std::printf("same: %zu tensors alike on both stages\n", names.size());
  return 0;
}

// Token rows for --data-npy: input_ids and labels of 24 rows, short.npy
// (labels of 20 rows).
int writeNpy(const std::string &dir) {
  std::vector<int64_t> ids(24 * kS), labels(24 * kS);
  for (int64_t r = 0; r < 24; ++r)
    for (int64_t s = 0; s < kS; ++s) {
      ids[r * kS + s] = (r * 7 + s * 3) % kV;
      labels[r * kS + s] = (r * 5 + s * 11 + 1) % kV;
    }
  const int64_t full[2] = {24, kS}, part[2] = {20, kS};
  if (pzrt_npy_write((dir + "/input_ids.npy").c_str(), PZRT_I64, 2, full, ids.data(), 0) ||
      pzrt_npy_write((dir + "/labels.npy").c_str(), PZRT_I64, 2, full, labels.data(), 0) ||
      pzrt_npy_write((dir + "/short.npy").c_str(), PZRT_I64, 2, part, labels.data(), 0)) {
    std::fprintf(stderr, "write-npy: %s\n", pzrt_last_error());
    return 1;
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "compare" && argc == 4)
    return compare(argv[2], argv[3]);
  if (mode == "same" && argc >= 4)
    return same(argv[2], std::vector<std::string>(argv + 3, argv + argc));
  if (mode == "write-npy" && argc == 3)
    return writeNpy(argv[2]);
  if (mode == "bad-tied" && argc >= 3) {
    static Stage stages[2];
    for (int s = 0; s < 2; ++s)
      makeStage(stages[s], s, false, true);
    const std::string c = argv[2];
    static const int32_t outside = 5;
    static const uint32_t onlyOne = 0x2, three = 0x7;
    static const int32_t tiedOne = 0;
    static const uint32_t both = 0x3;
    if (c == "range") {
      stages[0].m.tied_params = &outside;
    } else if (c == "mask") {
      stages[0].m.tied_stages = &onlyOne;
    } else if (c == "beyond") {
      stages[0].m.tied_stages = stages[1].m.tied_stages = &three;
    } else if (c == "untied") {
      stages[1].m.num_tied = 0;
    } else if (c == "shape") {
      stages[1].params[0].shape[0] = kV - 1;
    } else if (c == "single") {
      static pzrt_program model = makeReference(true);
      model.num_tied = 1;
      model.tied_params = &tiedOne;
      model.tied_stages = &both;
      return pzrt_train_main(&model, argc - 2, argv + 2);
    } else {
      std::fprintf(stderr, "bad-tied: unknown case '%s'\n", c.c_str());
      return 2;
    }
    const pzrt_program *programs[2] = {&stages[0].m, &stages[1].m};
    return pzrt_train_main_stages(programs, 2, argc - 2, argv + 2);
  }
  const bool tied = mode.rfind("tied-", 0) == 0;
  if (tied)
    mode = mode.substr(5);
  if (mode == "ref") {
    static pzrt_program model = makeReference(tied);
    return pzrt_train_main(&model, argc - 1, argv + 1);
  }
  if (mode == "gpipe" || mode == "1f1b") {
    static Stage stages[2];
    for (int s = 0; s < 2; ++s)
      makeStage(stages[s], s, mode == "1f1b", tied);
    const pzrt_program *programs[2] = {&stages[0].m, &stages[1].m};
    return pzrt_train_main_stages(programs, 2, argc - 1, argv + 1);
  }
  std::fprintf(stderr,
               "usage: %s [tied-]ref|[tied-]gpipe|[tied-]1f1b [train options] | compare A.jsonl "
               "B.jsonl | same DIR NAME... | write-npy DIR\n",
               argv[0]);
  return 2;
}
