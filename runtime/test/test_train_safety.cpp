// The training driver never loses data and never hangs or trains on
// garbage: --save is checked at startup and replaces only a checkpoint, a
// kill -9 during a save resumes bit-identically, --keep-last, checkpoints and
// initial weights with NaN, the numerics guard (exit 3), FIFO inputs,
// repeated flags, a failed write to stdout, and sizes that overflow. Also
// the `run` program's flags.
#include "train_test_models.h"

#include "pzrt/checkpoint.h"
#include "pzrt/run.h"

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

using pzrt::test::runInChild;
using pzrt::test::snapshot;
using pzrt::test::TempDir;
using pzrt::test::writeBytes;
namespace json = pzrt::json;

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

std::vector<std::string> names(const std::string &dir) {
  std::vector<std::string> out;
  for (const auto &[rel, what] : snapshot(dir))
    if (rel != "." && std::count(rel.begin(), rel.end(), '/') == 1)
      out.push_back(rel.substr(2));
  std::sort(out.begin(), out.end());
  return out;
}

// The fixture of test_train.cpp, as its own suite (gtest wants one fixture
// class per suite name, and each file has its own copy of TrainTest).
class TrainSafetyTest : public TrainTest {};

// ------------------------------------------------------------ --save at startup

TEST_F(TrainSafetyTest, SaveRefusesWhatItDidNotWriteBeforeAnyStep) {
  TestModel t;
  makeLinreg(t, 4, 1);
  writeRegressionData(dir_, 16);
  std::string thesis = dir_.file("thesis"), file = dir_.file("notes.txt");
  ASSERT_EQ(pzrt::makeDirs(thesis + "/figures"), 0);
  writeBytes(thesis + "/main.tex", "\\documentclass{book}");
  writeBytes(file, "a regular file");
  std::string out = dir_.file("out"); // a compiled program's OUTDIR
  ASSERT_EQ(pzrt::makeDirs(out), 0);
  writeBytes(out + "/train", "#!/bin/sh\n");
  writeBytes(out + "/init.safetensors", "weights");
  struct Case {
    std::string dir, message;
  } cases[] = {
      {thesis, "is a directory that is not a checkpoint: it holds 'figures' and 'main.tex', and "
               "no index.json"},
      {file, "is a regular file"},
      {out, "it holds 'init.safetensors' and 'train', and no index.json"},
      {"/dev/null", "'/dev/null' is a character device"},
      {".", "give the checkpoint directory by a name"},
  };
  auto before = snapshot(dir_.path());
  for (const Case &c : cases) {
    std::vector<std::string> args = {"--steps", "3", "--data-npy", npyArg(dir_), "--save", c.dir,
                                     "--log-every", "1"};
    // /dev/null also gets a --load that fails: were --save ever not checked
    // at startup again, the run would stop there instead of replacing the
    // device (the check runs before the load).
    if (c.dir == "/dev/null")
      args.insert(args.end(), {"--load", dir_.file("absent")});
    RunResult r = train(t.model, args);
    EXPECT_EQ(r.code, 2) << c.dir << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, c.message)) << c.dir << "\n" << r.err;
    EXPECT_TRUE(contains(r.err, "--save")) << r.err;
    EXPECT_EQ(g.fbCalls, 0) << c.dir; // checked at startup, before any step
    EXPECT_EQ(r.out, "") << c.dir;
  }
  EXPECT_EQ(snapshot(dir_.path()), before);
  struct stat st;
  ASSERT_EQ(stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
}

// A copy of a real train program (pzrt-train-dp-probe, single rank in its
// "ref" mode) in a temporary directory: --save onto the directory holding it,
// or onto one above it, must refuse and touch nothing. (A copy, so that a
// regression could only ever delete the temporary directory.)
TEST_F(TrainSafetyTest, SaveRefusesTheProgramsOwnDirectory) {
  std::string top = dir_.file("work"), prog = top + "/out";
  ASSERT_EQ(pzrt::makeDirs(prog), 0);
  std::string exe = prog + "/train";
  writeBytes(exe, pzrt::test::readText(PZRT_TEST_TRAIN_PROBE));
  ASSERT_EQ(chmod(exe.c_str(), 0755), 0);
  writeBytes(prog + "/init.safetensors", "weights");
  auto before = snapshot(top);
  struct Case {
    std::string dir, message;
  } cases[] = {
      {prog, "is the directory of this program ('" + prog + "')"},
      {prog + "/", "is the directory of this program"},
      {prog + "/../out", "is the directory of this program"},
      {top, "holds this program ('" + prog + "')"},
  };
  for (const Case &c : cases) {
    std::string out;
    int rc = pzrt::test::runCommand("cd '" + dir_.path() + "' && env -u OMPI_COMM_WORLD_SIZE " +
                                        "-u OMPI_COMM_WORLD_RANK '" + exe +
                                        "' ref --steps 2 --save '" + c.dir + "' 2>&1",
                                    &out);
    EXPECT_EQ(rc, 2) << c.dir << "\n" << out;
    EXPECT_TRUE(contains(out, c.message)) << out;
    EXPECT_FALSE(contains(out, "step 1/")) << out;
  }
  EXPECT_EQ(snapshot(top), before);
}

// ------------------------------------------------------------ crash and resume

// 8 steps straight vs 4 steps, then a resume killed by SIGKILL in the
// middle of its save at step 6, then a resume from what is on disk: the last
// two steps and the final checkpoint are bit-identical to the straight run.
void crashAndResume(TrainTest &test, const TempDir &d, const char *point, bool noExchange,
                    const char *expectNote) {
  TestModel t;
  makeLinreg(t, 4, 1);
  writeRegressionData(d, 10);
  std::string npy = npyArg(d), full = d.file("full"), ck = d.file("ck");
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--data-npy", npy, "--log-every", "0"});
    return test.trainOnce(t.model, args);
  };
  RunResult r = run({"--steps", "8", "--save", full, "--metrics", d.file("full.jsonl")});
  ASSERT_EQ(r.code, 0) << r.err;
  r = run({"--steps", "4", "--save", ck});
  ASSERT_EQ(r.code, 0) << r.err;
  int status = runInChild(
      [&] {
        setenv("PZRT_TEST_CRASH_AT", point, 1);
        if (noExchange)
          setenv("PZRT_TEST_NO_RENAME_EXCHANGE", "1", 1);
        return run({"--load", ck, "--steps", "2", "--save", ck}).code;
      },
      120);
  ASSERT_EQ(status, -SIGKILL) << point;
  r = run({"--load", ck, "--steps", "2", "--save", ck, "--metrics", d.file("rest.jsonl")});
  ASSERT_EQ(r.code, 0) << r.err;
  if (expectNote)
    EXPECT_TRUE(contains(r.err, expectNote)) << r.err;
  else
    EXPECT_FALSE(contains(r.err, "note")) << r.err;
  auto straight = readJsonLines(d.file("full.jsonl")), rest = readJsonLines(d.file("rest.jsonl"));
  ASSERT_EQ(straight.size(), 8u);
  ASSERT_EQ(rest.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(num(rest[i], "step"), 7.0 + i);
    EXPECT_EQ(num(rest[i], "loss"), num(straight[6 + i], "loss")) << "step " << 7 + i;
    EXPECT_EQ(num(rest[i], "grad_norm"), num(straight[6 + i], "grad_norm")) << "step " << 7 + i;
  }
  for (const char *name : {"w", "b", "exp_avg:w", "exp_avg_sq:b"})
    EXPECT_EQ(loadCkptTensor(full, name), loadCkptTensor(ck, name)) << name;
  // The save at step 8 removed the crashed save's leftovers.
  for (const std::string &n : names(d.path()))
    EXPECT_FALSE(contains(n, "ck.")) << n;
}

TEST_F(TrainSafetyTest, KilledAfterTheExchangeResumesBitIdentically) {
  crashAndResume(*this, dir_, "after-exchange", false, nullptr);
}

TEST_F(TrainSafetyTest, KilledBetweenTheRenamesResumesBitIdentically) {
  crashAndResume(*this, dir_, "after-aside", true,
                 "ck' does not exist; loading '");
}

TEST_F(TrainSafetyTest, KeepLastKeepsTheMostRecentCheckpoints) {
  TestModel t;
  makeLinreg(t, 4, 1);
  writeRegressionData(dir_, 16);
  std::string ck = dir_.file("ck");
  RunResult r = train(t.model, {"--steps", "5", "--data-npy", npyArg(dir_), "--save", ck,
                                "--save-every", "1", "--keep-last", "3", "--log-every", "0"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(names(dir_.path()), (std::vector<std::string>{"ck", "ck.step-00000003",
                                                          "ck.step-00000004", "x.npy", "y.npy"}));
  for (int step : {3, 4, 5}) {
    std::string d = step == 5 ? ck : ck + ".step-0000000" + std::to_string(step);
    pzrt_ckpt *c = pzrt_ckpt_open(d.c_str());
    ASSERT_NE(c, nullptr) << pzrt_last_error();
    pzrt_ckpt_info info;
    pzrt_ckpt_get_info(c, &info);
    EXPECT_EQ(info.step, step);
    pzrt_ckpt_close(c);
  }
  r = train(t.model, {"--steps", "1", "--keep-last", "2"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "--keep-last needs --save DIR")) << r.err;
  r = train(t.model, {"--steps", "1", "--save", ck, "--keep-last", "0"});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "--keep-last")) << r.err;
}

// ------------------------------------------------------------ non-finite weights

TEST_F(TrainSafetyTest, LoadRefusesNonFiniteWeightsNamingTheTensor) {
  TestModel t;
  makeLinreg(t, 4, 1);
  writeRegressionData(dir_, 16);
  std::string good = dir_.file("good");
  ASSERT_EQ(train(t.model, {"--steps", "2", "--data-npy", npyArg(dir_), "--save", good,
                            "--log-every", "0"})
                .code,
            0);
  // A copy of the checkpoint with one value replaced, written by the writer
  // itself (so its checksums are right).
  auto poisoned = [&](const char *tensor, float value) {
    std::string dir = dir_.file(std::string("bad-") + tensor);
    pzrt_ckpt_writer *w = pzrt_ckpt_writer_create(dir.c_str(), nullptr);
    std::vector<std::vector<float>> keep;
    for (const char *name : {"w", "b", "exp_avg:w", "exp_avg_sq:w", "exp_avg:b", "exp_avg_sq:b"}) {
      keep.push_back(loadCkptTensor(good, name));
      if (std::strcmp(name, tensor) == 0)
        keep.back().back() = value;
      const int64_t shape[1] = {static_cast<int64_t>(keep.back().size())};
      EXPECT_EQ(pzrt_ckpt_writer_add(w, name, PZRT_F32, 1, shape, nullptr, nullptr,
                                     keep.back().data()),
                0);
    }
    pzrt_ckpt_info info{2, nullptr, 0, 2, 8, nullptr};
    EXPECT_EQ(pzrt_ckpt_writer_commit(w, &info), 0) << pzrt_last_error();
    pzrt_ckpt_writer_destroy(w);
    return dir;
  };
  struct Case {
    const char *tensor;
    float value;
    const char *message;
  } cases[] = {
      {"w", NAN, "parameter 'w' holds a NaN or infinity (element 3"},
      {"exp_avg_sq:b", INFINITY, "optimizer state 'exp_avg_sq:b' holds a NaN or infinity"},
  };
  for (const Case &c : cases) {
    std::string dir = poisoned(c.tensor, c.value);
    RunResult r = train(t.model, {"--load", dir, "--steps", "1", "--data-npy", npyArg(dir_)});
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_TRUE(contains(r.err, "--load '" + dir + "': " + c.message)) << r.err;
  }
  EXPECT_EQ(g.fbCalls, 2);

  // Initial weights too.
  std::vector<float> w = {0.5f, NAN, 2.0f, 0.25f}, b = {-3.0f};
  std::vector<pzrt::StTensor> ts(2);
  ts[0].name = "w";
  ts[0].shape = {kFeatures};
  ts[0].data = w.data();
  ts[1].name = "b";
  ts[1].shape = {1};
  ts[1].data = b.data();
  std::string init = dir_.file("init.safetensors");
  ASSERT_EQ(pzrt::writeSafetensors(init, ts, {}), 0);
  t.model.init_file = init.c_str();
  RunResult r = train(t.model, {"--steps", "1", "--data-npy", npyArg(dir_)});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "tensor 'w' holds a NaN or infinity (element 1")) << r.err;
}

TEST_F(TrainSafetyTest, LoadNotesACheckpointWithoutChecksums) {
  TestModel t;
  makeLinreg(t, 4, 1);
  writeRegressionData(dir_, 16);
  std::string ck = dir_.file("ck");
  ASSERT_EQ(train(t.model, {"--steps", "2", "--data-npy", npyArg(dir_), "--save", ck,
                            "--log-every", "0"})
                .code,
            0);
  json::Value idx;
  std::string err;
  ASSERT_TRUE(json::parse(pzrt::test::readText(ck + "/index.json"), idx, err)) << err;
  json::Value old = json::Value::object();
  for (const auto &m : idx.members())
    if (m.first != "checksums")
      old.set(m.first, m.second);
  writeBytes(ck + "/index.json", json::dump(old, 1));
  RunResult r = train(t.model, {"--load", ck, "--steps", "1", "--data-npy", npyArg(dir_),
                                "--log-every", "0"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "records no checksums")) << r.err;
}

// ------------------------------------------------------------ numerics guard

// x.npy with an infinity in row `badRow`.
void writeDataWithInf(const TempDir &d, int64_t rows, int64_t badRow) {
  writeRegressionData(d, rows);
  std::string bytes = pzrt::test::readText(d.file("x.npy"));
  float inf = INFINITY;
  size_t dataStart = bytes.size() - static_cast<size_t>(rows * kFeatures) * sizeof(float);
  std::memcpy(&bytes[dataStart + static_cast<size_t>(badRow * kFeatures + 2) * sizeof(float)],
              &inf, sizeof(float));
  writeBytes(d.file("x.npy"), bytes);
}

TEST_F(TrainSafetyTest, NonFiniteGradientStopsWithExit3NamingTheParameter) {
  TestModel t;
  makeLinreg(t, 4, 1);
  writeDataWithInf(dir_, 32, 9); // step 3 uses rows 8..11
  std::string metrics = dir_.file("m.jsonl");
  RunResult r = train(t.model, {"--steps", "6", "--data-npy", npyArg(dir_), "--metrics",
                                metrics, "--log-every", "1", "--save", dir_.file("ck")});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_TRUE(contains(r.err, "rank 0, step 3: the gradient of parameter 'w' (float32 [4]; "
                              "parameter 1 of 2 in model order, the first whose gradient is "
                              "not finite) holds a NaN or infinity at step 3"))
      << r.err;
  EXPECT_TRUE(contains(r.err, "stopping before the optimizer step")) << r.err;
  // Nothing of step 3 was applied or reported, and nothing was saved.
  EXPECT_EQ(g.optimizerSteps, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(readJsonLines(metrics).size(), 2u);
  EXPECT_FALSE(contains(r.out, "step 3/6")) << r.out;
  EXPECT_FALSE(contains(r.out, "nan")) << r.out;
  EXPECT_FALSE(pzrt::pathExists(dir_.file("ck")));

  // With gradient accumulation: the bad row is in the second micro-batch.
  g = Hooks();
  TestModel acc;
  makeLinreg(acc, 2, 2);
  r = train(acc.model, {"--steps", "6", "--data-npy", npyArg(dir_), "--log-every", "0"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_TRUE(contains(r.err, "step 3: the gradient of parameter 'w'")) << r.err;
  EXPECT_EQ(g.optimizerSteps, (std::vector<int64_t>{1, 2}));
}

TEST_F(TrainSafetyTest, NonFiniteLossWithFiniteGradientsStopsWithExit3) {
  TestModel t;
  makeLinreg(t, 4, 1);
  writeRegressionData(dir_, 16);
  t.setFb([](pzrt_step_ctx *ctx, void *const *params, void *const *inputs,
                                float *loss, void *const *grads) {
    int rc = linregFb(ctx, params, inputs, loss, grads);
    if (ctx->step == 2)
      *loss = NAN;
    return rc;
  });
  RunResult r = train(t.model, {"--steps", "4", "--data-npy", npyArg(dir_), "--log-every", "0"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_TRUE(contains(r.err, "step 2: the loss of step 2 is NaN while the gradients are finite"))
      << r.err;
  EXPECT_EQ(g.optimizerSteps, (std::vector<int64_t>{1}));
}

TEST_F(TrainSafetyTest, HelpAndDocsMentionExitCode3) {
  TestModel t;
  makeLinreg(t, 4, 1);
  RunResult r = train(t.model, {"--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(contains(r.out, "3 when the loss or a\ngradient becomes NaN or infinite")) << r.out;
  EXPECT_TRUE(contains(r.out, "(default: $PZRT_COMM_TIMEOUT or 600; 0: never)")) << r.out;
  EXPECT_TRUE(contains(r.out, "--keep-last K")) << r.out;
}

// ------------------------------------------------------------ FIFOs

TEST_F(TrainSafetyTest, FifoInputsExit2WithoutBlocking) {
  TestModel t;
  makeLinreg(t, 4, 1);
  writeRegressionData(dir_, 16);
  std::string fifo = dir_.file("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  std::string ck = dir_.file("ck");
  ASSERT_EQ(train(t.model, {"--steps", "1", "--data-npy", npyArg(dir_), "--save", ck,
                            "--log-every", "0"})
                .code,
            0);
  ASSERT_EQ(unlink((ck + "/rank00000.safetensors").c_str()), 0);
  ASSERT_EQ(mkfifo((ck + "/rank00000.safetensors").c_str(), 0644), 0);
  TestModel bigram;
  makeBigram(bigram, 2, 4, 8, 1, false);
  struct Case {
    const pzrt_program *model;
    std::vector<std::string> args;
    std::string message;
  } cases[] = {
      {&bigram.model, {"--data", fifo}, "--data: '" + fifo + "' is a FIFO (named pipe)"},
      {&t.model, {"--data-npy", "x=" + fifo + ",y=" + dir_.file("y.npy")},
       "--data-npy x=" + fifo + ": '" + fifo + "' is a FIFO"},
      {&t.model, {"--load", ck, "--data-npy", npyArg(dir_)},
       "'" + ck + "/rank00000.safetensors' is a FIFO"},
  };
  for (const Case &c : cases) {
    bool hung = false;
    std::string errFile = dir_.file("err.txt");
    int status = runInChild(
        [&] {
          RunResult r = trainOnce(*c.model, c.args);
          writeBytes(errFile, r.err);
          return r.code;
        },
        20, &hung);
    EXPECT_FALSE(hung) << c.args[1];
    EXPECT_EQ(status, 2) << c.args[1];
    EXPECT_TRUE(contains(pzrt::test::readText(errFile), c.message))
        << pzrt::test::readText(errFile);
  }
  // Initial weights from a FIFO.
  t.model.init_file = fifo.c_str();
  bool hung = false;
  int status = runInChild([&] { return trainOnce(t.model, {"--steps", "1"}).code; }, 20, &hung);
  EXPECT_FALSE(hung);
  EXPECT_EQ(status, 2);
}

// ------------------------------------------------------------ flags, stdout

TEST_F(TrainSafetyTest, RepeatedFlagsAreErrors) {
  TestModel t;
  makeLinreg(t, 4, 1);
  writeRegressionData(dir_, 16);
  struct Case {
    std::vector<std::string> args;
    const char *message;
  } cases[] = {
      {{"--steps", "1", "--steps", "2"}, "--steps is given twice; give it once"},
      {{"--steps=1", "--steps", "2"}, "--steps is given twice"},
      {{"--save", "a", "--save", "b"}, "--save is given twice"},
      {{"--metrics-all", "--metrics-all", "--metrics", "m"}, "--metrics-all is given twice"},
      {{"--data", "synthetic", "--data", "synthetic"}, "--data is given twice"},
      {{"--seed", "1", "--seed", "1"}, "--seed is given twice"},
  };
  for (const Case &c : cases) {
    RunResult r = train(t.model, c.args);
    EXPECT_EQ(r.code, 2) << c.message;
    EXPECT_TRUE(contains(r.err, c.message)) << r.err;
  }
  EXPECT_EQ(g.fbCalls, 0);
  // --data-npy may come in pieces.
  RunResult r = train(t.model, {"--steps", "1", "--data-npy", "x=" + dir_.file("x.npy"),
                                "--data-npy", "y=" + dir_.file("y.npy"), "--log-every", "0"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(g.fbCalls, 1);
}

// Runs the driver with stdout on /dev/full; returns its exit code and stderr.
std::pair<int, std::string> trainToDevFull(const pzrt_program &m, std::vector<std::string> args,
                                           const std::string &errFile) {
  int status = runInChild(
      [&] {
        int full = open("/dev/full", O_WRONLY);
        int err = open(errFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (full < 0 || err < 0 || dup2(full, 1) < 0 || dup2(err, 2) < 0)
          return 100;
        args.insert(args.begin(), "train");
        std::vector<char *> argv;
        for (auto &a : args)
          argv.push_back(a.data());
        argv.push_back(nullptr);
        return pzrt_train_main(&m, static_cast<int>(args.size()), argv.data());
      },
      60);
  return {status, pzrt::test::readText(errFile)};
}

TEST_F(TrainSafetyTest, FailedWriteToStdoutIsAnError) {
  TestModel t;
  makeLinreg(t, 4, 1);
  writeRegressionData(dir_, 16);
  std::string err = dir_.file("err.txt");
  auto [code, text] =
      trainToDevFull(t.model, {"--steps", "3", "--data-npy", npyArg(dir_), "--log-every", "1"},
                     err);
  EXPECT_EQ(code, 1) << text;
  EXPECT_TRUE(contains(text, "cannot write the progress output to standard output: No space "
                             "left on device"))
      << text;
  std::tie(code, text) = trainToDevFull(t.model, {"--help"}, err);
  EXPECT_EQ(code, 1) << text;
  EXPECT_TRUE(contains(text, "cannot write the help to standard output")) << text;
  // Quiet runs write nothing to stdout, so /dev/full does not matter.
  std::tie(code, text) = trainToDevFull(
      t.model, {"--steps", "2", "--data-npy", npyArg(dir_), "--log-every", "0"}, err);
  EXPECT_EQ(code, 0) << text;
}

// ------------------------------------------------------------ sizes

TEST_F(TrainSafetyTest, SizesThatOverflowAreErrors) {
  TestModel t;
  makeLinreg(t, 4, 1);
  // A micro-batch of 2^62 rows: its byte size overflows.
  t.inputs[0].shape[0] = t.inputs[1].shape[0] = int64_t(1) << 62;
  RunResult r = train(t.model, {"--steps", "1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "model description: input 'x' of shape [4611686018427387904, 4] "
                              "has more than 2^62 elements or bytes"))
      << r.err;
  // A global batch that overflows through grad_accum.
  TestModel acc;
  makeLinreg(acc, 4, 1);
  acc.inputs[0].shape[0] = acc.inputs[1].shape[0] = int64_t(1) << 42;
  acc.inputs[0].shape[1] = 1;
  acc.model.grad_accum = 1 << 21;
  acc.finish();
  r = train(acc.model, {"--steps", "1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(contains(r.err, "overflow")) << r.err;
  EXPECT_EQ(g.fbCalls, 0);

  // A checkpoint whose data position leaves no room for --steps.
  TestModel ok;
  makeLinreg(ok, 4, 1);
  writeRegressionData(dir_, 16);
  std::string ck = dir_.file("ck");
  ASSERT_EQ(train(ok.model, {"--steps", "1", "--data-npy", npyArg(dir_), "--save", ck,
                             "--log-every", "0"})
                .code,
            0);
  std::string index = pzrt::test::readText(ck + "/index.json");
  size_t at = index.find("\"position\": 4");
  ASSERT_NE(at, std::string::npos) << index;
  index.replace(at, 13, "\"position\": 4611686018427387000");
  writeBytes(ck + "/index.json", index);
  r = train(ok.model, {"--load", ck, "--steps", "1000", "--data-npy", npyArg(dir_)});
  EXPECT_EQ(r.code, 2);
  EXPECT_TRUE(contains(r.err, "--steps 1000: 1000 steps of 4 rows from step 1 and data "
                              "position 4611686018427387000 run past 2^62"))
      << r.err;
  r = train(ok.model, {"--load", ck, "--steps", "2", "--data-npy", npyArg(dir_), "--log-every",
                       "0"});
  EXPECT_EQ(r.code, 0) << r.err; // the row index wraps around the data without overflow
}

// ------------------------------------------------------------ the run program

int copyFn(pzrt_step_ctx *, void *const *args, void *const *results) {
  std::memcpy(results[0], args[0], 4 * sizeof(float));
  return 0;
}

int runMain(std::vector<std::string> args, std::string *err = nullptr) {
  static const pzrt_tensor_spec kIo[] = {{"a", PZRT_F32, 1, {4}, nullptr, nullptr}};
  static const pzrt_function fn = {"copy", 1, kIo, 1, kIo, 0, 0, copyFn, nullptr};
  args.insert(args.begin(), "run");
  std::vector<char *> argv;
  for (auto &a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  ::testing::internal::CaptureStderr();
  int rc = pzrt_run_main(&fn, static_cast<int>(args.size()), argv.data());
  std::string e = ::testing::internal::GetCapturedStderr();
  if (err)
    *err = e;
  return rc;
}

TEST(RunProgram, RepeatedFlagsAndFifoInputsAreErrors) {
  TempDir d;
  std::vector<float> a = {1, 2, 3, 4};
  const int64_t shape[1] = {4};
  ASSERT_EQ(pzrt_npy_write(d.file("a.npy").c_str(), PZRT_F32, 1, shape, a.data(), 0), 0);
  std::string err;
  EXPECT_EQ(runMain({"--input", "a=" + d.file("a.npy"), "--output-dir", d.file("o")}, &err), 0)
      << err;
  EXPECT_TRUE(pzrt::pathExists(d.file("o/a.npy")));
  EXPECT_EQ(runMain({"--input", "a=" + d.file("a.npy"), "--output-dir", d.file("o"),
                     "--output-dir", d.file("p")},
                    &err),
            2);
  EXPECT_TRUE(contains(err, "--output-dir is given twice")) << err;
  EXPECT_EQ(runMain({"--input", "a=" + d.file("a.npy"), "--input", "a=" + d.file("a.npy"),
                     "--output-dir", d.file("o")},
                    &err),
            2);
  EXPECT_TRUE(contains(err, "--input: argument 'a' is given twice")) << err;
  EXPECT_FALSE(pzrt::pathExists(d.file("p")));
  std::string fifo = d.file("fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  bool hung = false;
  int status = runInChild(
      [&] { return runMain({"--input", "a=" + fifo, "--output-dir", d.file("o")}); }, 20, &hung);
  EXPECT_FALSE(hung);
  EXPECT_EQ(status, 2);
}

} // namespace
