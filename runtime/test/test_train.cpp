// pzrt_train_main, the driver of compiled `train` programs, on the small
// hand-written models of train_test_models.h.
#include "train_test_models.h"

namespace {

using pzrt::test::TempDir;
namespace json = pzrt::json;

// ------------------------------------------------------------ tests

TEST_F(TrainTest, LinearRegressionLearnsAndWritesMetrics) {
  TestModel t;
  makeLinreg(t, 8, 1);
  writeRegressionData(dir_, 64);
  ASSERT_EQ(pzrt_mem_current_total(), 0u);
  std::string metrics = dir_.file("m.jsonl");
  RunResult r = train(t.model, {"--steps", "40", "--data-npy", npyArg(dir_), "--metrics",
                                metrics, "--log-every", "10", "--threads", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
  // Progress lines at steps 1, 10, 20, 30, 40.
  EXPECT_NE(r.out.find("step  1/40 | loss "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("step 40/40 | loss "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" samples/s | "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" ms/step"), std::string::npos) << r.out;

  auto lines = readJsonLines(metrics);
  ASSERT_EQ(lines.size(), 40u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const json::Value &l = lines[i];
    EXPECT_EQ(num(l, "step"), static_cast<double>(i + 1));
    for (const char *k : {"loss", "grad_norm", "lr", "step_time_s", "tokens_per_s",
                          "peak_bytes", "arena_peak_bytes"})
      EXPECT_TRUE(std::isfinite(num(l, k))) << k << " in line " << i + 1;
    ASSERT_TRUE(l.find("comm_bytes") && l.find("comm_bytes")->isObject());
    EXPECT_EQ(num(*l.find("comm_bytes"), "all_reduce"), 0.0);
    EXPECT_EQ(num(l, "lr"), 0.1);
    EXPECT_EQ(static_cast<uint64_t>(num(l, "peak_bytes")), t.model.planned_peak_bytes);
    EXPECT_EQ(static_cast<uint64_t>(num(l, "arena_peak_bytes")), t.model.arena_planned_peak);
    EXPECT_EQ(l.find("skipped"), nullptr); // only with loss scaling
  }
  double first = num(lines.front(), "loss"), last = num(lines.back(), "loss");
  EXPECT_LT(last, 0.1 * first) << "first " << first << " last " << last;
  // Rows are consumed in order: step t uses rows (t-1)*8 .. (t-1)*8+7 mod 64.
  EXPECT_EQ(g.fbCalls, 40);
  EXPECT_EQ(g.optimizerSteps.size(), 40u);
  EXPECT_EQ(g.optimizerSteps.back(), 40);
}

TEST_F(TrainTest, PeakBytesMatchesFormulaWithAccumulatorsAndLossScale) {
  TestModel t;
  makeBigram(t, 2, 8, 16, 3, true);
  // Weights: 3x params (params, grads, accumulators) + 2x states + arena +
  // inputs + the step's scalar slots.
  uint64_t p = 16 * 16 * 4;
  EXPECT_EQ(t.model.planned_peak_bytes,
            3 * p + 2 * p + t.model.arena_bytes + 2 * (2 * 8 * 8) + 4 + 8 * PZRT_SCALAR_COUNT);
  std::string metrics = dir_.file("m.jsonl");
  RunResult r = train(t.model, {"--steps", "2", "--metrics", metrics, "--log-every", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  auto lines = readJsonLines(metrics);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(static_cast<uint64_t>(num(lines[0], "peak_bytes")), t.model.planned_peak_bytes);
  EXPECT_EQ(static_cast<uint64_t>(num(lines[0], "arena_peak_bytes")), t.model.arena_planned_peak);
  // tokens per step = G x S = (2 x 3) x 8.
  EXPECT_NEAR(num(lines[0], "tokens_per_s") * num(lines[0], "step_time_s"), 48.0, 1e-6);
}

TEST_F(TrainTest, WrongMemoryPlanWarnsButTrains) {
  TestModel t;
  makeLinreg(t, 4, 1);
  writeRegressionData(dir_, 16);
  t.model.planned_peak_bytes += 8;
  t.model.arena_planned_peak = 8;
  RunResult r = train(t.model, {"--steps", "3", "--data-npy", npyArg(dir_), "--log-every", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("warning: peak memory"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("warning: the arena's peak"), std::string::npos) << r.err;
  // One line each, after the first step only.
  size_t nl = 0;
  for (char c : r.err)
    nl += c == '\n';
  EXPECT_EQ(nl, 2u) << r.err;
}

TEST_F(TrainTest, GradAccumMatchesOneLargerBatch) {
  writeRegressionData(dir_, 64);
  TestModel big;
  makeLinreg(big, 8, 1);
  ASSERT_EQ(train(big.model, {"--steps", "1", "--data-npy", npyArg(dir_), "--metrics",
                              dir_.file("big.jsonl"), "--log-every", "0"})
                .code,
            0);
  Tensors gradsBig = g.gradsAtStep.at(1);
  double lossBig = num(readJsonLines(dir_.file("big.jsonl")).at(0), "loss");

  g = Hooks();
  TestModel acc;
  makeLinreg(acc, 4, 2);
  RunResult r = train(acc.model, {"--steps", "1", "--data-npy", npyArg(dir_), "--metrics",
                                  dir_.file("acc.jsonl"), "--log-every", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(g.fbCalls, 2);
  Tensors gradsAcc = g.gradsAtStep.at(1);
  auto lines = readJsonLines(dir_.file("acc.jsonl"));
  double lossAcc = num(lines.at(0), "loss");
  EXPECT_NEAR(lossAcc, lossBig, 1e-6 * std::fabs(lossBig));
  ASSERT_EQ(gradsAcc.size(), gradsBig.size());
  for (size_t i = 0; i < gradsBig.size(); ++i)
    for (size_t j = 0; j < gradsBig[i].size(); ++j)
      EXPECT_NEAR(gradsAcc[i][j], gradsBig[i][j],
                  1e-6 * std::max(std::fabs(gradsBig[i][j]), 1e-3f))
          << "param " << i << " element " << j;
  EXPECT_EQ(static_cast<uint64_t>(num(lines.at(0), "peak_bytes")), acc.model.planned_peak_bytes);
}

TEST_F(TrainTest, BigramLearnsFromTokenFile) {
  TestModel t;
  makeBigram(t, 4, 16, 32, 1, false);
  std::string tokens = dir_.file("tokens.bin");
  writeTokenFile(tokens, 5000, 32);
  std::string metrics = dir_.file("m.jsonl");
  RunResult r = train(t.model, {"--data", tokens, "--steps", "60", "--metrics", metrics,
                                "--log-every", "20"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("token file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" tok/s | "), std::string::npos) << r.out;
  auto lines = readJsonLines(metrics);
  ASSERT_EQ(lines.size(), 60u);
  double first = num(lines.front(), "loss"), last = num(lines.back(), "loss");
  EXPECT_NEAR(first, std::log(32.0), 1e-5); // zero weights: uniform prediction
  EXPECT_LT(last, 0.6 * first);
  // The cosine schedule with warm-up is evaluated per step.
  EXPECT_EQ(num(lines[0], "lr"), pzrt_lr_at(&t.model.lr_schedule, 1));
  EXPECT_EQ(num(lines[29], "lr"), pzrt_lr_at(&t.model.lr_schedule, 30));
}

TEST_F(TrainTest, TokenFileFeedsWindowsInOrder) {
  TestModel t;
  makeBigram(t, 2, 4, 1000, 2, false);
  // Tokens 0, 1, 2, ...: window w is [4w, 4w+4].
  std::vector<uint16_t> tok(41);
  for (size_t i = 0; i < tok.size(); ++i)
    tok[i] = static_cast<uint16_t>(i);
  pzrt::test::writeBytes(dir_.file("seq.bin"), pzrt::test::bytesOf(tok));
  // Record the first input id of every micro-batch through params? Use a
  // wrapper forward_backward instead.
  static std::vector<int64_t> firstIds;
  firstIds.clear();
  t.setFb([](pzrt_step_ctx *ctx, void *const *params, void *const *inputs,
                                float *loss, void *const *grads) {
    const int64_t *ids = static_cast<const int64_t *>(inputs[0]);
    const int64_t *labels = static_cast<const int64_t *>(inputs[1]);
    firstIds.push_back(ids[0]);
    EXPECT_EQ(labels[0], ids[0] + 1);
    EXPECT_EQ(ids[4], ids[0] + 4); // second row: the next window
    return bigramFb(ctx, params, inputs, loss, grads);
  });
  RunResult r = train(t.model, {"--data", dir_.file("seq.bin"), "--steps", "3", "--log-every",
                                "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  // G = 2 rows x 2 micro-batches = 4 windows per step; 10 windows wrap.
  std::vector<int64_t> want = {0, 8, 16, 24, 32, 0};
  EXPECT_EQ(firstIds, want);
}

TEST_F(TrainTest, SyntheticDataIsDefaultAndDeterministic) {
  TestModel t;
  makeBigram(t, 2, 8, 16, 1, false);
  RunResult a = train(t.model, {"--steps", "20", "--seed", "3", "--metrics",
                                dir_.file("a.jsonl"), "--log-every", "0"});
  ASSERT_EQ(a.code, 0) << a.err;
  RunResult b = train(t.model, {"--steps", "20", "--seed", "3", "--data", "synthetic",
                                "--metrics", dir_.file("b.jsonl"), "--log-every", "0"});
  ASSERT_EQ(b.code, 0) << b.err;
  auto la = readJsonLines(dir_.file("a.jsonl")), lb = readJsonLines(dir_.file("b.jsonl"));
  ASSERT_EQ(la.size(), 20u);
  ASSERT_EQ(lb.size(), 20u);
  for (size_t i = 0; i < la.size(); ++i)
    EXPECT_EQ(num(la[i], "loss"), num(lb[i], "loss"));
  EXPECT_LT(num(la.back(), "loss"), num(la.front(), "loss"));
}

TEST_F(TrainTest, SyntheticFloatInputs) {
  TestModel t;
  makeLinreg(t, 4, 1);
  RunResult r = train(t.model, {"--steps", "2", "--log-every", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(g.fbCalls, 2);
}

TEST_F(TrainTest, LossScalingSkipsOverflowStepAndHalvesScale) {
  TestModel t;
  makeBigram(t, 2, 8, 16, 2, true);
  g.overflowAtStep = 3;
  std::string metrics = dir_.file("m.jsonl");
  RunResult r = train(t.model, {"--steps", "5", "--metrics", metrics, "--log-every", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = readJsonLines(metrics);
  ASSERT_EQ(lines.size(), 5u);
  for (int s = 1; s <= 5; ++s) {
    const json::Value &l = lines[s - 1];
    ASSERT_TRUE(l.find("skipped") && l.find("skipped")->isBool());
    EXPECT_EQ(l.find("skipped")->asBool(), s == 3) << "step " << s;
    EXPECT_EQ(num(l, "loss_scale"), s <= 3 ? 65536.0 : 32768.0) << "step " << s;
    EXPECT_EQ(g.scaleSeen.at(s), s <= 3 ? 65536.0f : 32768.0f) << "step " << s;
  }
  EXPECT_TRUE(lines[2].find("grad_norm")->isNull());
  // The skipped step left the parameters unchanged.
  EXPECT_EQ(g.paramsAtStep.at(4), g.paramsAtStep.at(3));
  EXPECT_NE(g.paramsAtStep.at(3), g.paramsAtStep.at(2));
  // The optimizer saw unscaled gradients and counted applied updates only.
  EXPECT_EQ(g.optimizerSteps, (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_NE(r.out.find("overflow: step skipped, scale now 32768"), std::string::npos) << r.out;
  // Unscaled: compare with the same step without loss scaling.
  Tensors scaledRun = g.gradsAtStep.at(1);
  g = Hooks();
  TestModel plain;
  makeBigram(plain, 2, 8, 16, 2, false);
  ASSERT_EQ(train(plain.model, {"--steps", "1", "--log-every", "0"}).code, 0);
  const Tensors &plainRun = g.gradsAtStep.at(1);
  for (size_t j = 0; j < plainRun[0].size(); ++j)
    EXPECT_NEAR(scaledRun[0][j], plainRun[0][j], 1e-6 * std::fabs(plainRun[0][j]) + 1e-9);
}

TEST_F(TrainTest, ResumeGivesBitIdenticalLossCurve) {
  TestModel t;
  makeBigram(t, 2, 8, 16, 2, true);
  g.overflowAtStep = 3; // the loss scale (and the count of updates) must survive
  std::string a = dir_.file("ckA"), b = dir_.file("ckB"), c = dir_.file("ckC");
  RunResult ra = train(t.model, {"--steps", "10", "--seed", "11", "--save", a, "--metrics",
                                 dir_.file("a.jsonl"), "--log-every", "0"});
  ASSERT_EQ(ra.code, 0) << ra.err;
  RunResult rb = train(t.model, {"--steps", "5", "--seed", "11", "--save", b, "--metrics",
                                 dir_.file("b.jsonl"), "--log-every", "0"});
  ASSERT_EQ(rb.code, 0) << rb.err;
  RunResult rc = train(t.model, {"--load", b, "--steps", "5", "--save", c, "--metrics",
                                 dir_.file("c.jsonl"), "--log-every", "5"});
  ASSERT_EQ(rc.code, 0) << rc.err;
  EXPECT_NE(rc.out.find("resumed from"), std::string::npos) << rc.out;
  EXPECT_NE(rc.out.find("step 10/10"), std::string::npos) << rc.out;

  auto la = readJsonLines(dir_.file("a.jsonl")), lb = readJsonLines(dir_.file("b.jsonl")),
       lc = readJsonLines(dir_.file("c.jsonl"));
  ASSERT_EQ(la.size(), 10u);
  ASSERT_EQ(lb.size(), 5u);
  ASSERT_EQ(lc.size(), 5u);
  for (size_t i = 0; i < 10; ++i) {
    const json::Value &x = la[i], &y = i < 5 ? lb[i] : lc[i - 5];
    EXPECT_EQ(num(y, "step"), static_cast<double>(i + 1));
    for (const char *k : {"loss", "lr", "loss_scale"})
      EXPECT_EQ(num(x, k), num(y, k)) << k << " at step " << i + 1;
    EXPECT_EQ(json::dump(*x.find("grad_norm")), json::dump(*y.find("grad_norm")))
        << "step " << i + 1;
  }
  EXPECT_EQ(num(lc[0], "loss_scale"), 32768.0);
  for (const char *name : {"emb", "exp_avg:emb", "exp_avg_sq:emb"}) {
    std::vector<float> ta = loadCkptTensor(a, name), tc = loadCkptTensor(c, name);
    ASSERT_EQ(ta.size(), tc.size());
    EXPECT_EQ(std::memcmp(ta.data(), tc.data(), ta.size() * sizeof(float)), 0) << name;
  }
  pzrt_ckpt *ck = pzrt_ckpt_open(c.c_str());
  ASSERT_TRUE(ck) << pzrt_last_error();
  pzrt_ckpt_info info;
  pzrt_ckpt_get_info(ck, &info);
  EXPECT_EQ(info.step, 10);
  EXPECT_EQ(info.data_position, 10 * 4); // G = 2 rows x 2 micro-batches
  EXPECT_EQ(info.rng_seed, 11u);
  json::Value extra, plan;
  std::string err;
  ASSERT_TRUE(json::parse(info.extra_json, extra, err)) << err;
  EXPECT_EQ(extra.find("optimizer_step")->asInt(), 9); // step 3 was skipped
  EXPECT_EQ(extra.find("loss_scaler")->find("scale")->asDouble(), 32768.0);
  ASSERT_TRUE(json::parse(info.plan_json, plan, err)) << err;
  EXPECT_EQ(plan.find("tp")->asInt(), 1);
  pzrt_ckpt_close(ck);
}

TEST_F(TrainTest, SaveEveryAndResumeWithNpyData) {
  TestModel t;
  makeLinreg(t, 4, 1);
  writeRegressionData(dir_, 10); // 10 rows: steps wrap mid-batch
  std::string full = dir_.file("full"), part = dir_.file("part"), rest = dir_.file("rest");
  ASSERT_EQ(train(t.model, {"--steps", "7", "--data-npy", npyArg(dir_), "--save", full,
                            "--metrics", dir_.file("full.jsonl"), "--log-every", "0"})
                .code,
            0);
  // --save-every 3 for 4 steps: saves at step 3 and at the end (4).
  RunResult r = train(t.model, {"--steps", "4", "--data-npy", npyArg(dir_), "--save", part,
                                "--save-every", "3", "--trace", dir_.file("t.json"),
                                "--log-every", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string trace = pzrt::test::readText(dir_.file("t.json"));
  size_t saves = 0;
  for (size_t p = trace.find("\"checkpoint\""); p != std::string::npos;
       p = trace.find("\"checkpoint\"", p + 1))
    ++saves;
  EXPECT_EQ(saves, 2u);
  RunResult r2 = train(t.model, {"--load", part, "--steps", "3", "--data-npy", npyArg(dir_),
                                 "--save", rest, "--metrics", dir_.file("rest.jsonl"),
                                 "--log-every", "0"});
  ASSERT_EQ(r2.code, 0) << r2.err;
  auto lf = readJsonLines(dir_.file("full.jsonl")), lr = readJsonLines(dir_.file("rest.jsonl"));
  ASSERT_EQ(lf.size(), 7u);
  ASSERT_EQ(lr.size(), 3u);
  for (size_t i = 0; i < 3; ++i)
    EXPECT_EQ(num(lf[4 + i], "loss"), num(lr[i], "loss")) << "step " << 5 + i;
  for (const char *name : {"w", "b", "exp_avg:w", "exp_avg_sq:b"})
    EXPECT_EQ(loadCkptTensor(full, name), loadCkptTensor(rest, name)) << name;
}

TEST_F(TrainTest, InitFileLoadsWeights) {
  TestModel t;
  makeLinreg(t, 4, 1);
  std::vector<float> w = {0.5f, -1.0f, 2.0f, 0.25f}, b = {-3.0f};
  std::string path = dir_.file("init.safetensors");
  std::vector<pzrt::StTensor> ts(3);
  ts[0].name = "w";
  ts[0].shape = {kFeatures};
  ts[0].data = w.data();
  ts[1].name = "b";
  ts[1].shape = {1};
  ts[1].data = b.data();
  std::vector<float> extra(6, 1.0f);
  ts[2].name = "unused";
  ts[2].shape = {2, 3};
  ts[2].data = extra.data();
  ASSERT_EQ(pzrt::writeSafetensors(path, ts, {}), 0) << pzrt_last_error();
  t.model.init_file = path.c_str();
  RunResult r = train(t.model, {"--steps", "1", "--log-every", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(g.paramsAtStep.at(1)[0], w);
  EXPECT_EQ(g.paramsAtStep.at(1)[1], b);

  // A missing tensor and a wrong shape are user errors naming the tensor.
  std::string bad = dir_.file("bad.safetensors");
  ASSERT_EQ(pzrt::writeSafetensors(bad, {ts[0]}, {}), 0);
  t.model.init_file = bad.c_str();
  r = train(t.model, {"--steps", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("no tensor 'b'"), std::string::npos) << r.err;
  ts[1].shape = {1, 1};
  ASSERT_EQ(pzrt::writeSafetensors(bad, {ts[0], ts[1]}, {}), 0);
  r = train(t.model, {"--steps", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("'b' has shape [1, 1]"), std::string::npos) << r.err;
  t.model.init_file = "does-not-exist.safetensors"; // relative to the test binary
  r = train(t.model, {"--steps", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("does-not-exist.safetensors"), std::string::npos) << r.err;
}

TEST_F(TrainTest, ShardedSpecLoadsItsSliceOfTheInitFile) {
  TestModel t;
  makeLinreg(t, 4, 1);
  // "w" is the second half of a global [8] tensor on this rank.
  static const int64_t global[1] = {8}, offsets[1] = {4};
  t.params[0].global_shape = global;
  t.params[0].offsets = offsets;
  t.finish();
  std::vector<float> w = {0, 1, 2, 3, 4, 5, 6, 7}, b = {9};
  std::vector<pzrt::StTensor> ts(2);
  ts[0].name = "w";
  ts[0].shape = {8};
  ts[0].data = w.data();
  ts[1].name = "b";
  ts[1].shape = {1};
  ts[1].data = b.data();
  std::string path = dir_.file("init.safetensors");
  ASSERT_EQ(pzrt::writeSafetensors(path, ts, {}), 0);
  t.model.init_file = path.c_str();
  RunResult r = train(t.model, {"--steps", "1", "--log-every", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(g.paramsAtStep.at(1)[0], (std::vector<float>{4, 5, 6, 7}));
  EXPECT_EQ(g.paramsAtStep.at(1)[1], b);
}

TEST_F(TrainTest, BadOptionsExit2NamingTheOption) {
  TestModel t;
  makeLinreg(t, 4, 1);
  writeRegressionData(dir_, 8);
  struct Case {
    std::vector<std::string> args;
    const char *mention;
  };
  std::vector<Case> cases = {
      {{"--steps", "abc"}, "--steps: 'abc' is not an integer"},
      {{"--steps", "-1"}, "--steps"},
      {{"--steps"}, "--steps needs a value"},
      {{"--bogus"}, "unknown option '--bogus'"},
      {{"extra"}, "unexpected argument 'extra'"},
      {{"--seed", "x1"}, "--seed"},
      {{"--log-every", "1.5"}, "--log-every"},
      {{"--threads", "0"}, "--threads"},
      {{"--comm-timeout", "-2"}, "--comm-timeout"},
      {{"--comm-timeout", "soon"}, "--comm-timeout"},
      {{"--save-every", "3"}, "--save-every needs --save"},
      {{"--metrics-all"}, "--metrics-all needs --metrics"},
      {{"--data-dtype", "uint8"}, "--data-dtype"},
      {{"--data-dtype", "uint32"}, "--data-dtype applies only"},
      {{"--data-npy", "x"}, "--data-npy: 'x' is not NAME=FILE.npy"},
      {{"--data", "a.bin", "--data-npy", "x=a.npy"}, "cannot be used together"},
      {{"--metrics-all=yes", "--metrics", "m"}, "--metrics-all takes no value"},
      // Bad input files are usage errors too.
      {{"--data", dir_.file("missing.bin")}, "--data"},
      {{"--data-npy", "x=" + dir_.file("x.npy")}, "no file for the data input 'y'"},
      {{"--data-npy", npyArg(dir_) + ",z=" + dir_.file("x.npy")}, "no data input 'z'"},
      {{"--data-npy", "x=" + dir_.file("y.npy") + ",y=" + dir_.file("y.npy")},
       "input 'x' is float32 [4, 4]"},
      {{"--load", dir_.file("no-checkpoint")}, "--load"},
      {{"--save", dir_.file("x.npy") + "/ck"}, "--save"}, // checked before training
  };
  for (const Case &c : cases) {
    RunResult r = train(t.model, c.args);
    std::string joined;
    for (const auto &a : c.args)
      joined += a + " ";
    EXPECT_EQ(r.code, 2) << joined << "\n" << r.err;
    EXPECT_NE(r.err.find(c.mention), std::string::npos) << joined << "\n" << r.err;
    EXPECT_EQ(g.fbCalls, 0) << joined;
  }
  // --data PATH on a model without input_ids/labels.
  RunResult r = train(t.model, {"--data", dir_.file("x.npy")});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("input_ids and labels"), std::string::npos) << r.err;
}

TEST_F(TrainTest, HelpPrintsUsageAndInputs) {
  TestModel t;
  makeLinreg(t, 4, 2);
  RunResult r = train(t.model, {"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("Usage: train [options]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--data-npy"), std::string::npos);
  EXPECT_NE(r.out.find("x  float32 [4, 4]"), std::string::npos) << r.out;
  EXPECT_EQ(g.fbCalls, 0);
}

TEST_F(TrainTest, TokenOutsideVocabularyIsUserError) {
  TestModel t;
  makeBigram(t, 2, 4, 8, 1, false);
  std::vector<uint16_t> tok(100, 1);
  tok[30] = 8; // == vocab
  pzrt::test::writeBytes(dir_.file("t.bin"), pzrt::test::bytesOf(tok));
  RunResult r = train(t.model, {"--data", dir_.file("t.bin"), "--steps", "10"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("vocabulary"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("rank 0, step 4"), std::string::npos) << r.err; // window 7 = step 4
}

TEST_F(TrainTest, WorldSizeMismatchExit2) {
  TestModel t;
  makeLinreg(t, 4, 1);
  setenv("RANK", "0", 1);
  setenv("WORLD_SIZE", "2", 1);
  RunResult r = train(t.model, {"--steps", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("compiled for 1 rank, but 2 were started"), std::string::npos) << r.err;
  unsetenv("RANK");
  unsetenv("WORLD_SIZE");
  t.model.world_size = 4;
  r = train(t.model, {"--steps", "1"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("compiled for 4 ranks, but 1 was started"), std::string::npos) << r.err;
  EXPECT_EQ(g.fbCalls, 0);
}

TEST_F(TrainTest, StepFunctionFailureExit1WithRankStepAndOperation) {
  TestModel t;
  makeLinreg(t, 4, 2);
  g.failAtStep = 2;
  std::string trace = dir_.file("t.json");
  RunResult r = train(t.model, {"--steps", "5", "--trace", trace, "--log-every", "0"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("rank 0, step 2: forward_backward (micro-batch 1 of 2): linreg: "
                       "injected failure"),
            std::string::npos)
      << r.err;
  // The trace is complete JSON even though the run stopped early.
  json::Value v;
  std::string err;
  ASSERT_TRUE(json::parse(pzrt::test::readText(trace), v, err)) << err;
  ASSERT_TRUE(v.find("traceEvents"));
  std::string text = pzrt::test::readText(trace);
  EXPECT_NE(text.find("\"forward_backward\""), std::string::npos);

  // A model description the driver cannot run is an internal error.
  t.setLossScaling(true); // but no loss-scale input
  r = train(t.model, {"--steps", "1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("PZRT_INPUT_LOSS_SCALE"), std::string::npos) << r.err;
}

TEST_F(TrainTest, TraceAndPerRankMetrics) {
  TestModel t;
  makeBigram(t, 2, 4, 8, 2, false);
  std::string trace = dir_.file("trace.json"), metrics = dir_.file("run.jsonl");
  RunResult r = train(t.model, {"--steps", "3", "--trace", trace, "--metrics", metrics,
                                "--metrics-all", "--save", dir_.file("ck"), "--log-every",
                                "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  json::Value v;
  std::string err;
  ASSERT_TRUE(json::parse(pzrt::test::readText(trace), v, err)) << err;
  std::map<std::string, int> counts;
  for (const json::Value &e : v.find("traceEvents")->items())
    if (e.find("ph")->asString() == "X")
      ++counts[e.find("name")->asString()];
  EXPECT_EQ(counts["data"], 6);
  EXPECT_EQ(counts["forward_backward"], 6);
  EXPECT_EQ(counts["optimizer"], 3);
  EXPECT_EQ(counts["step"], 3);
  EXPECT_EQ(counts["checkpoint"], 1);
  auto overall = readJsonLines(metrics), rank0 = readJsonLines(dir_.file("run.rank0.jsonl"));
  ASSERT_EQ(overall.size(), 3u);
  ASSERT_EQ(rank0.size(), 3u);
  EXPECT_EQ(num(rank0[2], "rank"), 0.0);
  EXPECT_EQ(num(rank0[2], "loss"), num(overall[2], "loss"));
  EXPECT_EQ(num(rank0[2], "rank_loss"), num(overall[2], "loss"));
}

} // namespace
