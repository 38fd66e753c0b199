// A data-parallel `train` program for test_train_dp.cmake: a bigram model
// whose optimizer_step all-reduces the gradients over ctx->comm, as generated
// code does for a dp plan.
//   train-dp-probe dp  [train options]   world 2, 2 micro-batches of 2 rows
//   train-dp-probe ref [train options]   world 1, 4 micro-batches of 2 rows
//                                        (the same global batch of 8)
//   train-dp-probe compare A.jsonl B.jsonl
//                                        same steps, losses and grad norms
//                                        within 1e-5 relative
// PZRT_PROBE_FAIL_RANK=R makes forward_backward fail on rank R at step 3;
// PZRT_PROBE_NAN_RANK=R makes it return a NaN gradient there instead.
#include "pzrt/pzrt.h"

#include "legacy_steps.h"
#include "pzrt/train.h"

#include "core/internal.h"
#include "io/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

constexpr int64_t kB = 2, kS = 8, kV = 16;

int forwardBackward(pzrt_step_ctx *ctx, void *const *params, void *const *inputs, float *loss,
                    void *const *grads) {
  const char *failRank = std::getenv("PZRT_PROBE_FAIL_RANK");
  if (failRank && std::atoi(failRank) == pzrt_comm_rank(ctx->comm) && ctx->step == 3)
    return pzrt::fail("probe: injected failure");
  const int64_t rows = kB * kS;
  const float *emb = static_cast<const float *>(params[0]);
  const int64_t *ids = static_cast<const int64_t *>(inputs[0]);
  const int64_t *labels = static_cast<const int64_t *>(inputs[1]);
  const size_t bytes = rows * kV * sizeof(float);
  auto *logits = static_cast<float *>(pzrt_arena_acquire(ctx->arena, 0, bytes));
  auto *dlogits = static_cast<float *>(pzrt_arena_acquire(ctx->arena, bytes, bytes));
  if (!logits || !dlogits)
    return -1;
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(logits + r * kV, emb + ids[r] * kV, kV * sizeof(float));
  double sum = 0;
  int64_t valid = 0;
  if (pzrt_cross_entropy_fwd(logits, labels, rows, kV, -100, nullptr, &sum, &valid) ||
      pzrt_cross_entropy_bwd(logits, labels, nullptr, rows, kV, -100, 1.0f / valid, dlogits))
    return -1;
  *loss = static_cast<float>(sum / valid);
  float *g = static_cast<float *>(grads[0]);
  std::memset(g, 0, kV * kV * sizeof(float));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = 0; v < kV; ++v)
      g[ids[r] * kV + v] += dlogits[r * kV + v];
  const char *nanRank = std::getenv("PZRT_PROBE_NAN_RANK");
  if (nanRank && std::atoi(nanRank) == pzrt_comm_rank(ctx->comm) && ctx->step == 3)
    g[5] = NAN;
  return 0;
}

int optimizerStep(pzrt_step_ctx *ctx, void *const *params, void *const *grads,
                  void *const *states, float, int64_t step, float *gradNorm) {
  float *g = static_cast<float *>(grads[0]);
  int n = pzrt_comm_size(ctx->comm);
  if (n > 1) {
    if (pzrt_all_reduce(ctx->comm, g, g, kV * kV, PZRT_F32, PZRT_REDUCE_SUM))
      return -1;
    pzrt_scale(g, kV * kV, 1.0f / static_cast<float>(n));
  }
  *gradNorm = static_cast<float>(std::sqrt(pzrt_sum_squares(g, kV * kV)));
  return pzrt_adamw_step(static_cast<float *>(params[0]), g, static_cast<float *>(states[0]),
                         static_cast<float *>(states[1]), kV * kV, ctx->lr, 0.9, 0.999, 1e-8,
                         0.01, step);
}

const pzrt_tensor_spec kParams[] = {{"emb", PZRT_F32, 2, {kV, kV}, nullptr, nullptr}};
const pzrt_tensor_spec kInputs[] = {{"input_ids", PZRT_I64, 2, {kB, kS}, nullptr, nullptr},
                                    {"labels", PZRT_I64, 2, {kB, kS}, nullptr, nullptr}};
const int32_t kRoles[] = {PZRT_INPUT_DATA, PZRT_INPUT_DATA};
const pzrt_tensor_spec kStates[] = {{"exp_avg:emb", PZRT_F32, 2, {kV, kV}, nullptr, nullptr},
                                    {"exp_avg_sq:emb", PZRT_F32, 2, {kV, kV}, nullptr, nullptr}};

pzrt_program makeModel(int world, int microBatches) {
  pzrt_program m{};
  m.name = world > 1 ? "bigram-dp2" : "bigram-ref";
  m.num_params = 1;
  m.params = kParams;
  m.num_inputs = 2;
  m.inputs = kInputs;
  m.input_roles = kRoles;
  m.num_states = 2;
  m.states = kStates;
  m.arena_bytes = 2 * kB * kS * kV * sizeof(float);
  m.arena_planned_peak = m.arena_bytes;
  const uint64_t p = kV * kV * sizeof(float);
  m.planned_peak_bytes = p * 3 + 2 * p + m.arena_bytes + 2 * kB * kS * sizeof(int64_t) +
                         8 * PZRT_SCALAR_COUNT;
  m.grad_accum = microBatches;
  m.world_size = world;
  m.vocab = kV;
  m.lr_schedule = {PZRT_LR_COSINE, 0.05, 2, 20, 0.0};
  m.plan_json = world > 1 ? "{\"dp_replicate\": 2}" : "{}";
  static pzrt::test::ProgramTables tables;
  tables.attach(m, forwardBackward, optimizerStep);
  return m;
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
      double x = la[i].find(k)->asDouble(), y = lb[i].find(k)->asDouble();
      if (!(std::fabs(x - y) <= 1e-5 * std::fabs(y))) {
        std::fprintf(stderr, "compare: line %zu: %s is %.9g in %s but %.9g in %s\n", i + 1, k,
                     x, a, y, b);
        return 1;
      }
    }
  std::printf("compare: %zu steps agree\n", la.size());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "compare" && argc == 4)
    return compare(argv[2], argv[3]);
  if (mode != "dp" && mode != "ref") {
    std::fprintf(stderr, "usage: %s dp|ref [train options] | compare A.jsonl B.jsonl\n",
                 argv[0]);
    return 2;
  }
  static pzrt_program model = mode == "dp" ? makeModel(2, 2) : makeModel(1, 4);
  return pzrt_train_main(&model, argc - 1, argv + 1);
}
