//===- OptimizerFlags.cpp - the optimizer flags of parallelize compile ----===//
//
// Defaults follow torch.optim.AdamW: lr 1e-3, betas 0.9,0.999, eps 1e-8,
// weight decay 0.01. Every flag is checked here so that a bad value is a
// message naming the flag, before any IR is built.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir::pz;
using namespace mlir::pz::driver;
namespace cl = llvm::cl;

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
  OptimizerPassOptions o;
  o.optimizer = f.optimizer;
  if (f.optimizer != "sgd" && f.optimizer != "adamw")
    fail("--optimizer", "expected sgd or adamw, got '" + f.optimizer + "'");
  o.lr = f.lr;
  if (!(f.lr >= 0))
    fail("--lr", "must be >= 0");
  auto [b1, b2] = llvm::StringRef(f.betas).split(',');
  if (b1.trim().getAsDouble(o.beta1) || b2.trim().getAsDouble(o.beta2) ||
      !(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1))
    fail("--betas", "expected two numbers in [0, 1) as B1,B2, got '" +
                        f.betas + "'");
  o.eps = f.eps;
  if (!(f.eps > 0))
    fail("--eps", "must be positive");
  o.weightDecay = f.weightDecay;
  if (!(f.weightDecay >= 0))
    fail("--weight-decay", "must be >= 0");
  o.momentum = f.momentum;
  if (!(f.momentum >= 0 && f.momentum < 1))
    fail("--momentum", "must lie in [0, 1)");
  if (f.momentum.getNumOccurrences() && f.optimizer != "sgd")
    fail("--momentum", "applies to --optimizer sgd only");
  o.gradClip = f.gradClip;
  if (!(f.gradClip >= 0))
    fail("--grad-clip", "must be >= 0");
  o.noDecay1D = f.noDecay1D;
  o.lrSchedule = f.lrSchedule;
  o.warmupSteps = f.warmupSteps;
  o.totalSteps = f.totalSteps;
  if (f.lrSchedule != "constant" && f.lrSchedule != "cosine")
    fail("--lr-schedule", "expected constant or cosine, got '" +
                              f.lrSchedule + "'");
  if (f.warmupSteps < 0)
    fail("--warmup-steps", "must be >= 0");
  if (f.lrSchedule == "cosine" && f.totalSteps <= f.warmupSteps)
    fail("--total-steps", "cosine decay needs --total-steps > --warmup-steps");
  if (!ok)
    return std::nullopt;
  return o;
}
