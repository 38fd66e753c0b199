//===- OptimizerFlags.cpp - the optimizer flags of parallelize compile ----===//
//
// Defaults follow torch.optim.AdamW: lr 1e-3, betas 0.9,0.999, eps 1e-8,
// weight decay 0.01. Every flag is checked here so that a bad value is a
// message naming the flag, before any IR is built: numbers must be finite,
// in range, and fit the C type the program receives them in.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <cfloat>
#include <cmath>
#include <cstdio>

using namespace mlir::pz;
using namespace mlir::pz::driver;
namespace cl = llvm::cl;

/// The largest float: the program receives the learning rate and the
/// clipping threshold as float.
static constexpr double kMaxFloat = FLT_MAX;
/// The most steps a schedule may span: the schedule computes in double,
/// which counts steps exactly up to 2^53.
static constexpr int64_t kMaxSteps = int64_t(1) << 53;

struct OptimizerFlags::Impl {
  cl::opt<std::string> optimizer{"optimizer", cl::desc("sgd or adamw"),
                                 cl::init("adamw"), cl::cat(commandCategory())};
  cl::opt<double> lr{"lr", cl::desc("base learning rate"), cl::init(1e-3),
                     cl::cat(commandCategory())};
  cl::opt<double> momentum{"momentum", cl::desc("SGD momentum"),
                           cl::init(0.0), cl::cat(commandCategory())};
  cl::opt<std::string> betas{"betas", cl::desc("AdamW betas B1,B2"),
                             cl::init("0.9,0.999"), cl::value_desc("B1,B2"),
                             cl::cat(commandCategory())};
  cl::opt<double> eps{"eps", cl::desc("AdamW epsilon"), cl::init(1e-8),
                      cl::cat(commandCategory())};
  cl::opt<double> weightDecay{"weight-decay",
                              cl::desc("weight decay (decoupled for AdamW)"),
                              cl::init(0.01), cl::cat(commandCategory())};
  cl::opt<bool> noDecay1D{"no-decay-1d",
                          cl::desc("exempt 1-D parameters (biases, norm "
                                   "weights) from weight decay"),
                          cl::cat(commandCategory())};
  cl::opt<double> gradClip{"grad-clip",
                           cl::desc("global-norm gradient clipping (0: off)"),
                           cl::init(0.0), cl::cat(commandCategory())};
  cl::opt<std::string> lrSchedule{"lr-schedule",
                                  cl::desc("constant or cosine (linear "
                                           "warmup, then cosine decay to 0)"),
                                  cl::init("constant"),
                                  cl::cat(commandCategory())};
  cl::opt<int64_t> warmupSteps{"warmup-steps", cl::desc("linear warmup steps"),
                               cl::init(0), cl::cat(commandCategory())};
  cl::opt<int64_t> totalSteps{"total-steps",
                              cl::desc("steps of the cosine schedule"),
                              cl::init(0), cl::cat(commandCategory())};
};

OptimizerFlags::OptimizerFlags() : impl(std::make_unique<Impl>()) {}
OptimizerFlags::~OptimizerFlags() = default;

std::optional<OptimizerPassOptions> OptimizerFlags::resolve() const {
  const Impl &f = *impl;
  bool ok = true;
  auto fail = [&](llvm::StringRef flag, const llvm::Twine &msg) {
    llvm::errs() << flag << ": " << msg << "\n";
    ok = false;
  };
  // Every value must be finite: the learning rate, the clipping threshold
  // and the betas reach the program as float, so they must fit one too.
  auto inRange = [&](llvm::StringRef flag, double v, bool positive,
                     const char *rule) {
    if (std::isfinite(v) && (positive ? v > 0 : v >= 0) && v <= kMaxFloat)
      return true;
    char text[32];
    std::snprintf(text, sizeof text, "%g", v);
    fail(flag, llvm::formatv("must be a finite number {0}, got {1}", rule,
                             text));
    return false;
  };
  OptimizerPassOptions o;
  o.optimizer = f.optimizer;
  if (f.optimizer != "sgd" && f.optimizer != "adamw")
    fail("--optimizer", "expected sgd or adamw, got '" + f.optimizer + "'");
  o.lr = f.lr.getValue();
  inRange("--lr", f.lr, false, ">= 0");
  auto [b1, b2] = llvm::StringRef(f.betas).split(',');
  double beta1 = 0, beta2 = 0;
  if (b1.trim().getAsDouble(beta1) || b2.trim().getAsDouble(beta2) ||
      !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
    fail("--betas", "expected two numbers in [0, 1) as B1,B2, got '" +
                        f.betas + "'");
  o.beta1 = beta1;
  o.beta2 = beta2;
  o.eps = f.eps.getValue();
  inRange("--eps", f.eps, true, "> 0");
  o.weightDecay = f.weightDecay.getValue();
  inRange("--weight-decay", f.weightDecay, false, ">= 0");
  o.momentum = f.momentum.getValue();
  if (!(f.momentum >= 0 && f.momentum < 1))
    fail("--momentum", "must lie in [0, 1)");
  if (f.momentum.getNumOccurrences() && f.optimizer != "sgd")
    fail("--momentum", "applies to --optimizer sgd only");
  o.gradClip = f.gradClip.getValue();
  inRange("--grad-clip", f.gradClip, false, ">= 0");
  o.noDecay1D = f.noDecay1D;
  o.lrSchedule = f.lrSchedule;
  o.warmupSteps = f.warmupSteps;
  o.totalSteps = f.totalSteps;
  if (f.lrSchedule != "constant" && f.lrSchedule != "cosine")
    fail("--lr-schedule", "expected constant or cosine, got '" +
                              f.lrSchedule + "'");
  for (auto [flag, v] : {std::pair<llvm::StringRef, int64_t>{"--warmup-steps",
                                                             f.warmupSteps},
                         {"--total-steps", f.totalSteps}})
    if (v < 0 || v > kMaxSteps)
      fail(flag, llvm::formatv("must lie in [0, {0}] (2^53), got {1}",
                               kMaxSteps, v));
  if (f.lrSchedule == "cosine" && f.totalSteps <= f.warmupSteps)
    fail("--total-steps", "cosine decay needs --total-steps > --warmup-steps");
  if (!ok)
    return std::nullopt;
  return o;
}
