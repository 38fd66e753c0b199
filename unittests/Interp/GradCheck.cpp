//===- GradCheck.cpp - finite-difference checks of pz-autodiff ------------===//

#include "GradCheck.h"

#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Pass/PassManager.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::pz::interp;
using namespace pztest;

GradArg pztest::P(std::string name, std::string type) {
  return {
      std::move(name), std::move(type), GradArg::Param, GradArg::Normal, {}};
}

GradArg pztest::PPos(std::string name, std::string type) {
  return {
      std::move(name), std::move(type), GradArg::Param, GradArg::Positive, {}};
}

GradArg pztest::In(std::string name, std::string type,
                   std::vector<double> values) {
  return {std::move(name), std::move(type), GradArg::Input, GradArg::Given,
          std::move(values)};
}

uint64_t Rng::next() {
  // splitmix64.
  uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  double u1 = 1.0 - uniform(), u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

/// FNV-1a, so that each case gets its own, stable random values.
static uint64_t hashName(const std::string &s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s)
    h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::string pztest::forwardSource(const GradCase &c) {
  std::string s = "func.func @forward(";
  for (const GradArg &a : c.args)
    s += "%" + a.name + ": " + a.type + " {pz." +
         (a.kind == GradArg::Param ? "param" : "input") + " = \"" + a.name +
         "\"}, ";
  s += "%w__: " + c.outType + " {pz.input = \"w__\"})\n";
  s += "    -> (tensor<f64> {pz.output = \"loss\"}) {\n";
  s += c.body + "\n";
  // The rank of %out: the number of 'x' separators in a static shape.
  std::string shape = c.outType.substr(c.outType.find('<') + 1);
  int64_t rank = std::count(shape.begin(), shape.end(), 'x');
  std::string out = c.outType;
  if (rank == 0) {
    s += "  %loss = pz.mul %out, %w__ : " + out + ", " + out + " -> " + out +
         "\n";
  } else {
    s += "  %wo__ = pz.mul %out, %w__ : " + out + ", " + out + " -> " + out +
         "\n";
    std::string axes;
    for (int64_t d = 0; d < rank; ++d)
      axes += (d ? ", " : "") + std::to_string(d);
    s += "  %loss = pz.reduce_sum %wo__ [" + axes + "] : " + out +
         " -> tensor<f64>\n";
  }
  s += "  return %loss : tensor<f64>\n}\n";
  return s;
}

bool pztest::runAutodiff(MLIRContext &ctx, ModuleOp module,
                         std::string &diagnostics) {
  PassManager pm(&ctx);
  pm.addPass(mlir::pz::createAutodiffPass());
  diagnostics.clear();
  if (succeeded(pm.run(module)))
    return true;
  ADD_FAILURE() << "pz-autodiff failed:\n" << diagnostics;
  return false;
}

/// The values of argument `a` of case `c`.
static HostTensor argValues(MLIRContext &ctx, const GradArg &a, Rng &rng) {
  auto type = llvm::cast<RankedTensorType>(parseType(a.type, &ctx));
  std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
  HostTensor t = HostTensor::zeros(shape);
  if (a.dist == GradArg::Given) {
    EXPECT_EQ(static_cast<int64_t>(a.values.size()), t.getNumElements())
        << "argument " << a.name;
    if (static_cast<int64_t>(a.values.size()) == t.getNumElements())
      t.data = a.values;
    return t;
  }
  for (double &v : t.data)
    v = a.dist == GradArg::Normal ? rng.normal() : 0.5 + 1.5 * rng.uniform();
  return t;
}

double pztest::checkGradients(InterpFixture &fx, const GradCase &c) {
  OwningOpRef<ModuleOp> module = fx.parse(forwardSource(c));
  if (!module)
    return -1;
  Rng rng(hashName(c.name));
  std::vector<HostTensor> args;
  for (const GradArg &a : c.args)
    args.push_back(argValues(fx.ctx, a, rng));
  args.push_back(argValues(
      fx.ctx, {"w__", c.outType, GradArg::Input, GradArg::Normal, {}}, rng));
  InterpOptions opts;
  opts.step = c.step;

  // Analytic gradients.
  OwningOpRef<ModuleOp> diffed = module->clone();
  if (!runAutodiff(fx.ctx, *diffed, fx.diagnostics))
    return -1;
  std::vector<HostTensor> fb = fx.run(*diffed, "forward_backward", args, opts);
  std::vector<HostTensor> fwd = fx.run(*module, "forward", args, opts);
  if (fb.empty() || fwd.empty())
    return -1;
  EXPECT_NEAR(fb[0].data[0], fwd[0].data[0],
              1e-12 * std::max(1.0, std::abs(fwd[0].data[0])))
      << "@forward_backward's loss differs from @forward's";
  auto fbFn = diffed->lookupSymbol<func::FuncOp>("forward_backward");
  std::map<std::string, const HostTensor *> grads;
  for (unsigned i = 1; i < fbFn.getNumResults(); ++i)
    if (auto name = fbFn.getResultAttrOfType<StringAttr>(
            i, mlir::pz::PZDialect::kGradAttrName))
      grads[name.str()] = &fb[i];

  // Central differences, element by element.
  auto fn = module->lookupSymbol<func::FuncOp>("forward");
  auto loss = [&](std::vector<HostTensor> &as) -> double {
    FailureOr<SmallVector<HostTensor>> r = interpret(fn, as, opts);
    if (failed(r)) {
      ADD_FAILURE() << "@forward failed:\n" << fx.diagnostics;
      return NAN;
    }
    return (*r)[0].data[0];
  };
  double worst = 0;
  const double h = kFiniteDifferenceStep;
  for (size_t ai = 0; ai < c.args.size(); ++ai) {
    const GradArg &a = c.args[ai];
    if (a.kind != GradArg::Param)
      continue;
    const HostTensor *g = grads.count(a.name) ? grads[a.name] : nullptr;
    if (g) {
      EXPECT_EQ(g->shape, args[ai].shape) << "gradient of " << a.name;
    }
    for (size_t j = 0; j < args[ai].data.size(); ++j) {
      double x = args[ai].data[j];
      args[ai].data[j] = x + h;
      double up = loss(args);
      args[ai].data[j] = x - h;
      double down = loss(args);
      args[ai].data[j] = x;
      double numeric = (up - down) / (2 * h);
      // A parameter without a gradient has a zero one (PyTorch's None).
      double analytic = g && j < g->data.size() ? g->data[j] : 0.0;
      double err =
          std::abs(analytic - numeric) / std::max(1.0, std::abs(numeric));
      if (!(err <= kGradTolerance))
        ADD_FAILURE() << c.name << ": d loss / d " << a.name << "[" << j
                      << "]: analytic " << analytic << ", numeric " << numeric
                      << " (scaled error " << err << ")";
      worst = std::max(worst, std::isnan(err) ? INFINITY : err);
    }
  }
  std::printf("[ FD-check ] %-40s max scaled error %.3g\n", c.name.c_str(),
              worst);
  return worst;
}
