// The hand-written models and helpers of the training-driver tests
// (test_train.cpp, test_train_safety.cpp): linear regression on float inputs
// "x"/"y" (npy data) and a bigram language model on input_ids/labels (token
// files, synthetic data), both with analytic gradients, arena buffers and
// AdamW, plus the TrainTest fixture that runs pzrt_train_main in-process.
// Each test file gets its own copy (an anonymous namespace).
#ifndef PZRT_TEST_TRAIN_TEST_MODELS_H
#define PZRT_TEST_TRAIN_TEST_MODELS_H

#include "pzrt/pzrt.h"
#include "pzrt/train.h"

#include "core/internal.h"
#include "io/json.h"
#include "io/safetensors.h"

#include "legacy_steps.h"
#include "test_util.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace {

using pzrt::test::TempDir;
namespace json = pzrt::json;

// ------------------------------------------------------------ test hooks

using Tensors = std::vector<std::vector<float>>;

// State shared between a test and the step functions it trains.
struct Hooks {
  // Model shape.
  int64_t batch = 0;    // rows of one micro-batch
  int64_t seq = 0;      // bigram: sequence length
  int64_t vocab = 0;    // bigram: vocabulary
  int lossScaleInput = -1;
  std::vector<int64_t> paramNumel;
  // Injections.
  int64_t failAtStep = -1;
  int64_t overflowAtStep = -1;
  // Observations.
  std::map<int64_t, Tensors> paramsAtStep; // at micro-batch 0 of each step
  std::map<int64_t, Tensors> gradsAtStep;  // what optimizer_step received
  std::map<int64_t, float> scaleSeen;      // loss-scale input at micro-batch 0
  std::vector<int64_t> optimizerSteps;     // its `step` arguments
  int fbCalls = 0;
};
Hooks g;

Tensors copyTensors(void *const *bufs) {
  Tensors t;
  for (size_t i = 0; i < g.paramNumel.size(); ++i) {
    const float *p = static_cast<const float *>(bufs[i]);
    t.emplace_back(p, p + g.paramNumel[i]);
  }
  return t;
}

void observe(pzrt_step_ctx *ctx, void *const *params, void *const *inputs) {
  ++g.fbCalls;
  if (ctx->micro_batch == 0) {
    g.paramsAtStep[ctx->step] = copyTensors(params);
    if (g.lossScaleInput >= 0)
      g.scaleSeen[ctx->step] = *static_cast<const float *>(inputs[g.lossScaleInput]);
  }
}

float lossScaleOf(void *const *inputs) {
  return g.lossScaleInput >= 0 ? *static_cast<const float *>(inputs[g.lossScaleInput]) : 1.0f;
}

// AdamW on every parameter; states are exp_avg, exp_avg_sq per parameter.
int adamwAll(pzrt_step_ctx *ctx, void *const *params, void *const *grads, void *const *states,
             float lr, int64_t step, float *grad_norm) {
  // A scratch buffer in the arena, as generated code would use.
  if (!pzrt_arena_acquire(ctx->arena, 0, 64))
    return -1;
  double ss = 0;
  for (size_t i = 0; i < g.paramNumel.size(); ++i)
    ss += pzrt_sum_squares(static_cast<const float *>(grads[i]), g.paramNumel[i]);
  *grad_norm = static_cast<float>(std::sqrt(ss));
  g.gradsAtStep[ctx->step] = copyTensors(grads);
  g.optimizerSteps.push_back(step);
  EXPECT_EQ(static_cast<float>(ctx->lr), lr);
  EXPECT_EQ(ctx->micro_batch, 0);
  EXPECT_TRUE(ctx->comm != nullptr);
  for (size_t i = 0; i < g.paramNumel.size(); ++i)
    if (pzrt_adamw_step(static_cast<float *>(params[i]), static_cast<const float *>(grads[i]),
                        static_cast<float *>(states[2 * i]),
                        static_cast<float *>(states[2 * i + 1]), g.paramNumel[i], ctx->lr, 0.9,
                        0.999, 1e-8, 0.01, step))
      return -1;
  return pzrt_arena_release(ctx->arena, 0);
}

// ------------------------------------------------------------ linear regression
// loss = mean_i (x_i . w + b - y_i)^2 over the micro-batch.
constexpr int64_t kFeatures = 4;

int linregFb(pzrt_step_ctx *ctx, void *const *params, void *const *inputs, float *loss,
             void *const *grads) {
  observe(ctx, params, inputs);
  if (ctx->step == g.failAtStep)
    return pzrt::fail("linreg: injected failure");
  const int64_t B = g.batch;
  const float *w = static_cast<const float *>(params[0]);
  const float *b = static_cast<const float *>(params[1]);
  const float *x = static_cast<const float *>(inputs[0]);
  const float *y = static_cast<const float *>(inputs[1]);
  const double scale = lossScaleOf(inputs);
  float *r = static_cast<float *>(pzrt_arena_acquire(ctx->arena, 0, B * sizeof(float)));
  if (!r)
    return -1;
  double l = 0;
  for (int64_t i = 0; i < B; ++i) {
    double p = b[0];
    for (int64_t j = 0; j < kFeatures; ++j)
      p += static_cast<double>(x[i * kFeatures + j]) * w[j];
    r[i] = static_cast<float>(p - y[i]);
    l += (p - y[i]) * (p - y[i]);
  }
  *loss = static_cast<float>(l / B);
  double gw[kFeatures] = {}, gb = 0;
  for (int64_t i = 0; i < B; ++i) {
    for (int64_t j = 0; j < kFeatures; ++j)
      gw[j] += 2.0 * r[i] * x[i * kFeatures + j] / B;
    gb += 2.0 * r[i] / B;
  }
  float *dw = static_cast<float *>(grads[0]), *db = static_cast<float *>(grads[1]);
  for (int64_t j = 0; j < kFeatures; ++j)
    dw[j] = static_cast<float>(gw[j] * scale);
  db[0] = static_cast<float>(gb * scale);
  if (ctx->step == g.overflowAtStep)
    dw[0] = INFINITY;
  return pzrt_arena_release(ctx->arena, 0);
}

// ------------------------------------------------------------ bigram model
// logits[r] = emb[input_ids[r]]; loss = mean cross-entropy against labels.
int bigramFb(pzrt_step_ctx *ctx, void *const *params, void *const *inputs, float *loss,
             void *const *grads) {
  observe(ctx, params, inputs);
  if (ctx->step == g.failAtStep)
    return pzrt::fail("bigram: injected failure");
  const int64_t rows = g.batch * g.seq, V = g.vocab;
  const float *emb = static_cast<const float *>(params[0]);
  const int64_t *ids = static_cast<const int64_t *>(inputs[0]);
  const int64_t *labels = static_cast<const int64_t *>(inputs[1]);
  const size_t logitsBytes = rows * V * sizeof(float), lseBytes = rows * sizeof(float);
  auto *logits = static_cast<float *>(pzrt_arena_acquire(ctx->arena, 0, logitsBytes));
  auto *lse = static_cast<float *>(pzrt_arena_acquire(ctx->arena, logitsBytes, lseBytes));
  auto *dlogits = static_cast<float *>(
      pzrt_arena_acquire(ctx->arena, logitsBytes + lseBytes, logitsBytes));
  if (!logits || !lse || !dlogits)
    return -1;
  for (int64_t r = 0; r < rows; ++r)
    std::memcpy(logits + r * V, emb + ids[r] * V, V * sizeof(float));
  double sum = 0;
  int64_t valid = 0;
  if (pzrt_cross_entropy_fwd(logits, labels, rows, V, -100, lse, &sum, &valid))
    return -1;
  *loss = static_cast<float>(sum / valid);
  float gradScale = lossScaleOf(inputs) / static_cast<float>(valid);
  if (pzrt_cross_entropy_bwd(logits, labels, lse, rows, V, -100, gradScale, dlogits))
    return -1;
  float *demb = static_cast<float *>(grads[0]);
  std::memset(demb, 0, V * V * sizeof(float));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t v = 0; v < V; ++v)
      demb[ids[r] * V + v] += dlogits[r * V + v];
  if (ctx->step == g.overflowAtStep)
    demb[0] = INFINITY;
  // Leave dlogits live: the driver releases everything after the call.
  pzrt_arena_release(ctx->arena, 0);
  pzrt_arena_release(ctx->arena, logitsBytes);
  return 0;
}

// ------------------------------------------------------------ model builders

pzrt_tensor_spec spec(const char *name, pzrt_dtype dt, std::vector<int64_t> shape) {
  pzrt_tensor_spec s{};
  s.name = name;
  s.dtype = dt;
  s.ndim = static_cast<int32_t>(shape.size());
  for (size_t i = 0; i < shape.size(); ++i)
    s.shape[i] = shape[i];
  return s;
}

uint64_t bytesOf(const pzrt_tensor_spec &s) {
  uint64_t n = pzrt_dtype_size(s.dtype);
  for (int d = 0; d < s.ndim; ++d)
    n *= static_cast<uint64_t>(s.shape[d]);
  return n;
}

// Owns the spec arrays a pzrt_program points to.
struct TestModel {
  std::vector<pzrt_tensor_spec> params, inputs, states;
  std::vector<int32_t> roles;
  std::vector<std::string> stateNames;
  pzrt_program model{};
  pzrt::test::ProgramTables tables;
  pzrt::test::StepFb fb = nullptr;
  pzrt::test::StepOpt opt = adamwAll;
  pzrt_loss_scaler scaler{};

  // Replaces forward_backward (the program keeps its tables).
  void setFb(pzrt::test::StepFb f) {
    fb = f;
    tables.attach(model, fb, opt);
  }
  // Turns dynamic loss scaling on (DeepSpeed's defaults) or off.
  void setLossScaling(bool on) {
    pzrt_loss_scaler_init_default(&scaler);
    model.loss_scaling = on ? &scaler : nullptr;
  }

  void finish() {
    stateNames.clear();
    for (const auto &p : params) {
      stateNames.push_back(std::string("exp_avg:") + p.name);
      stateNames.push_back(std::string("exp_avg_sq:") + p.name);
    }
    states.clear();
    for (size_t i = 0; i < params.size(); ++i) {
      std::vector<int64_t> shape(params[i].shape, params[i].shape + params[i].ndim);
      states.push_back(spec(stateNames[2 * i].c_str(), PZRT_F32, shape));
      states.push_back(spec(stateNames[2 * i + 1].c_str(), PZRT_F32, shape));
    }
    g.paramNumel.clear();
    for (const auto &p : params) {
      int64_t n = 1;
      for (int d = 0; d < p.ndim; ++d)
        n *= p.shape[d];
      g.paramNumel.push_back(n);
    }
    model.num_params = static_cast<int32_t>(params.size());
    model.params = params.data();
    model.num_inputs = static_cast<int32_t>(inputs.size());
    model.inputs = inputs.data();
    model.input_roles = roles.data();
    model.num_states = static_cast<int32_t>(states.size());
    model.states = states.data();
    model.world_size = 1;
    model.plan_json = "{\"dp_replicate\": 1, \"tp\": 1}";
    tables.attach(model, fb, opt);
    model.planned_peak_bytes = plannedPeak();
  }
  // train.h's formula, computed independently of the driver.
  uint64_t plannedPeak() const {
    uint64_t p = 0, total = 0;
    for (const auto &s : params)
      p += bytesOf(s);
    total = p * (model.grad_accum > 1 ? 3 : 2) + 8 * PZRT_SCALAR_COUNT;
    for (const auto &s : states)
      total += bytesOf(s);
    for (const auto &s : inputs)
      total += bytesOf(s);
    return total + model.arena_bytes;
  }
};

[[maybe_unused]] void makeLinreg(TestModel &t, int64_t batch, int32_t gradAccum,
                                 bool lossScaling = false) {
  g.batch = batch;
  t.params = {spec("w", PZRT_F32, {kFeatures}), spec("b", PZRT_F32, {1})};
  t.inputs = {spec("x", PZRT_F32, {batch, kFeatures}), spec("y", PZRT_F32, {batch, 1})};
  t.roles = {PZRT_INPUT_DATA, PZRT_INPUT_DATA};
  g.lossScaleInput = -1;
  if (lossScaling) {
    t.inputs.push_back(spec("loss_scale", PZRT_F32, {}));
    t.roles.push_back(PZRT_INPUT_LOSS_SCALE);
    g.lossScaleInput = 2;
  }
  t.model = pzrt_program{};
  t.model.name = "linreg";
  t.model.grad_accum = gradAccum;
  t.setLossScaling(lossScaling);
  t.model.arena_bytes = std::max<uint64_t>(64, batch * sizeof(float));
  t.model.arena_planned_peak = t.model.arena_bytes;
  t.model.lr_schedule = {PZRT_LR_CONSTANT, 0.1, 0, 0, 0.0};
  t.fb = linregFb;
  t.finish();
}

void makeBigram(TestModel &t, int64_t batch, int64_t seq, int64_t vocab, int32_t gradAccum,
                bool lossScaling) {
  g.batch = batch;
  g.seq = seq;
  g.vocab = vocab;
  t.params = {spec("emb", PZRT_F32, {vocab, vocab})};
  t.inputs = {spec("input_ids", PZRT_I64, {batch, seq}), spec("labels", PZRT_I64, {batch, seq})};
  t.roles = {PZRT_INPUT_DATA, PZRT_INPUT_DATA};
  g.lossScaleInput = -1;
  if (lossScaling) {
    t.inputs.push_back(spec("loss_scale", PZRT_F32, {}));
    t.roles.push_back(PZRT_INPUT_LOSS_SCALE);
    g.lossScaleInput = 2;
  }
  t.model = pzrt_program{};
  t.model.name = "bigram";
  t.model.grad_accum = gradAccum;
  t.model.vocab = vocab;
  t.setLossScaling(lossScaling);
  uint64_t rows = batch * seq;
  t.model.arena_bytes = 2 * rows * vocab * sizeof(float) + rows * sizeof(float);
  t.model.arena_planned_peak = t.model.arena_bytes;
  t.model.lr_schedule = {PZRT_LR_COSINE, 0.05, 2, 50, 0.0};
  t.fb = bigramFb;
  t.finish();
}

// ------------------------------------------------------------ files

std::string npyBytes(const std::string &descr, const std::vector<int64_t> &shape,
                     const std::string &data) {
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i)
    dims += std::to_string(shape[i]) + (shape.size() == 1 || i + 1 < shape.size() ? "," : "");
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims +
                       "), }";
  std::string pre = std::string("\x93NUMPY", 6) + '\x01' + '\0';
  while ((pre.size() + 2 + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string len{static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  return pre + len + header + data;
}

// rows x kFeatures of x and y = x . w* + b* + small noise.
[[maybe_unused]] void writeRegressionData(const TempDir &d, int64_t rows) {
  std::vector<float> x(rows * kFeatures), y(rows);
  const float wStar[kFeatures] = {1.5f, -2.0f, 0.5f, 3.0f};
  uint32_t s = 12345;
  auto rnd = [&]() {
    s = s * 1664525u + 1013904223u;
    return static_cast<float>(s >> 8) / 16777216.0f * 2.0f - 1.0f;
  };
  for (int64_t i = 0; i < rows; ++i) {
    double p = 0.25;
    for (int64_t j = 0; j < kFeatures; ++j) {
      x[i * kFeatures + j] = rnd();
      p += x[i * kFeatures + j] * wStar[j];
    }
    y[i] = static_cast<float>(p + 0.01 * rnd());
  }
  pzrt::test::writeBytes(d.file("x.npy"),
                         npyBytes("<f4", {rows, kFeatures}, pzrt::test::bytesOf(x)));
  pzrt::test::writeBytes(d.file("y.npy"), npyBytes("<f4", {rows, 1}, pzrt::test::bytesOf(y)));
}

// A uint16 token file following next = (5*prev + 1) mod vocab, with noise.
[[maybe_unused]] void writeTokenFile(const std::string &path, int64_t n, int64_t vocab) {
  std::vector<uint16_t> t(n);
  uint32_t s = 99;
  int64_t prev = 0;
  for (int64_t i = 0; i < n; ++i) {
    s = s * 1664525u + 1013904223u;
    prev = (s >> 28) == 0 ? (s >> 8) % vocab : (5 * prev + 1) % vocab;
    t[i] = static_cast<uint16_t>(prev);
  }
  pzrt::test::writeBytes(path, pzrt::test::bytesOf(t));
}

std::vector<json::Value> readJsonLines(const std::string &path) {
  std::vector<json::Value> out;
  std::string text = pzrt::test::readText(path), line;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() : nl + 1;
    if (line.empty())
      continue;
    json::Value v;
    std::string err;
    EXPECT_TRUE(json::parse(line, v, err)) << path << ": " << err << "\n" << line;
    out.push_back(std::move(v));
  }
  return out;
}

double num(const json::Value &obj, const char *key) {
  const json::Value *v = obj.find(key);
  EXPECT_TRUE(v != nullptr) << "missing member " << key;
  if (!v || !v->isNumber())
    return NAN;
  return v->asDouble();
}

std::vector<float> loadCkptTensor(const std::string &dir, const char *name) {
  std::vector<float> out;
  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  EXPECT_TRUE(ck) << pzrt_last_error();
  if (!ck)
    return out;
  pzrt_dtype dt;
  int nd = 0;
  int64_t shape[PZRT_CKPT_MAX_DIMS];
  if (pzrt_ckpt_tensor_info(ck, name, &dt, &nd, shape) == 0) {
    int64_t n = 1;
    for (int i = 0; i < nd; ++i)
      n *= shape[i];
    out.resize(n);
    EXPECT_EQ(pzrt_ckpt_load(ck, name, dt, nd, shape, nullptr, nullptr, out.data()), 0)
        << pzrt_last_error();
  } else {
    ADD_FAILURE() << "checkpoint " << dir << " lacks " << name;
  }
  pzrt_ckpt_close(ck);
  return out;
}

// ------------------------------------------------------------ fixture

struct RunResult {
  int code;
  std::string out, err;
};

class TrainTest : public ::testing::Test {
public:
  // train() for helpers outside the fixture.
  RunResult trainOnce(const pzrt_program &m, std::vector<std::string> args) {
    return train(m, std::move(args));
  }

protected:
  void SetUp() override {
    g = Hooks();
  }
  // Runs the driver with argv = {"train", args...}, capturing stdout/stderr.
  RunResult train(const pzrt_program &m, std::vector<std::string> args) {
    args.insert(args.begin(), "train");
    std::vector<char *> argv;
    for (auto &a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    int rc = pzrt_train_main(&m, static_cast<int>(args.size()), argv.data());
    RunResult r{rc, ::testing::internal::GetCapturedStdout(),
                ::testing::internal::GetCapturedStderr()};
    EXPECT_EQ(pzrt_mem_current_total(), 0u) << "the driver leaked counted memory";
    return r;
  }

  TempDir dir_;

private:
  pzrt::test::LauncherEnvGuard env_;
};

[[maybe_unused]] std::string npyArg(const TempDir &d) {
  return "x=" + d.file("x.npy") + ",y=" + d.file("y.npy");
}

} // namespace

#endif // PZRT_TEST_TRAIN_TEST_MODELS_H
