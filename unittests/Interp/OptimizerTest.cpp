//===- OptimizerTest.cpp - sgd_update, adamw_update and @optimizer_step ---===//
//
// @optimizer_step, as pz-optimizer builds it, runs for three steps on the
// gradients of a small classifier; each step is compared with hand-written
// loops of torch.optim's formulas (torch 1.13, single-tensor path).
//
//===----------------------------------------------------------------------===//

#include "GradCheck.h"

#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"

#include <cmath>
#include <map>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::interp;
using namespace pztest;

namespace {

using OptimizerOpsTest = InterpFixture;

TEST_F(OptimizerOpsTest, OneSGDAndOneAdamWStepByHand) {
  auto r =
      eval(R"(
    func.func @f(%p: tensor<2xf64>, %g: tensor<2xf64>, %b: tensor<2xf64>, %m: tensor<2xf64>,
                 %v: tensor<2xf64>, %lr: tensor<f32>, %t: tensor<i64>)
        -> (tensor<2xf64>, tensor<2xf64>, tensor<2xf64>, tensor<2xf64>, tensor<2xf64>) {
      %p1, %b1 = pz.sgd_update %p, %g, %b, %lr {momentum = 9.0e-01 : f64, weight_decay = 1.0e-02 : f64} : tensor<2xf64>, tensor<2xf64>, tensor<2xf64>, tensor<f32>
      %p2, %m2, %v2 = pz.adamw_update %p, %g, %m, %v, %lr, %t {beta1 = 9.0e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.0e-08 : f64, weight_decay = 1.0e-02 : f64} : tensor<2xf64>, tensor<2xf64>, tensor<2xf64>, tensor<2xf64>, tensor<f32>, tensor<i64>
      return %p1, %b1, %p2, %m2, %v2 : tensor<2xf64>, tensor<2xf64>, tensor<2xf64>, tensor<2xf64>, tensor<2xf64>
    })",
           {T({2}, {1, 2}), T({2}, {0.5, -1}), T({2}, {0.1, 0.2}),
            T({2}, {0.1, 0}), T({2}, {0.01, 0}), T({}, {0.1}), T({}, {2})});
  ASSERT_EQ(r.size(), 5u);
  // SGD: d = g + 0.01 p = [0.51, -0.98]; buf = 0.9 buf + d = [0.6, -0.8];
  // p - 0.1 buf = [0.94, 2.08].
  expectTensor(r[0], {2}, {0.94, 2.08}, 1e-15);
  expectTensor(r[1], {2}, {0.6, -0.8}, 1e-15);
  // AdamW at t = 2, element 0: p' = 0.999, m = 0.14, v = 0.01024,
  // p = 0.999 - (0.1 / 0.19) * 0.14 / (sqrt(0.01024) / sqrt(0.001999) + 1e-8).
  double p0 = 0.999 - (0.1 / 0.19) * 0.14 /
                          (std::sqrt(0.01024) / std::sqrt(0.001999) + 1e-8);
  // Element 1: m = -0.1, v = 0.001.
  double p1 = 1.998 - (0.1 / 0.19) * -0.1 /
                          (std::sqrt(0.001) / std::sqrt(0.001999) + 1e-8);
  expectTensor(r[2], {2}, {p0, p1}, 1e-14);
  expectTensor(r[3], {2}, {0.14, -0.1}, 1e-15);
  expectTensor(r[4], {2}, {0.01024, 0.001}, 1e-15);
}

/// A two-parameter classifier: logits = x w^T + b.
const char *kClassifier = R"(
  func.func @forward(%x: tensor<4x3xf64> {pz.input = "x"}, %y: tensor<4xi64> {pz.input = "y"},
                     %w: tensor<2x3xf64> {pz.param = "w"}, %b: tensor<2xf64> {pz.param = "b"})
      -> (tensor<f64> {pz.output = "loss"}) {
    %h = pz.matmul %x, %w {transpose_rhs} : tensor<4x3xf64>, tensor<2x3xf64> -> tensor<4x2xf64>
    %l = pz.add %h, %b : tensor<4x2xf64>, tensor<2xf64> -> tensor<4x2xf64>
    %loss = pz.cross_entropy %l, %y mean : tensor<4x2xf64>, tensor<4xi64> -> tensor<f64>
    return %loss : tensor<f64>
  })";

using Tensors = std::map<std::string, std::vector<double>>;

/// "param:w", "grad:w", "state:exp_avg:w", "input:lr", "output:grad_norm".
std::string keyOf(DictionaryAttr attrs) {
  for (auto [attr, kind] :
       {std::pair<StringRef, StringRef>{PZDialect::kParamAttrName, "param"},
        {PZDialect::kGradAttrName, "grad"},
        {PZDialect::kStateAttrName, "state"},
        {PZDialect::kInputAttrName, "input"},
        {PZDialect::kOutputAttrName, "output"}})
    if (auto s = attrs ? attrs.getAs<StringAttr>(attr) : StringAttr())
      return (kind + ":" + s.getValue()).str();
  return "?";
}

class OptimizerStepTest : public InterpFixture {
protected:
  /// Builds @forward_backward and @optimizer_step.
  OwningOpRef<ModuleOp> build(const OptimizerPassOptions &options) {
    OwningOpRef<ModuleOp> module = parse(kClassifier);
    if (!module)
      return nullptr;
    PassManager pm(&ctx);
    pm.addPass(createAutodiffPass());
    pm.addPass(createOptimizerPass(options));
    if (failed(pm.run(*module))) {
      ADD_FAILURE() << "passes failed:\n" << diagnostics;
      return nullptr;
    }
    return module;
  }

  /// Gradients of the loss at `params` (keyed "w", "b").
  Tensors gradients(ModuleOp module, const Tensors &params) {
    std::vector<HostTensor> fb =
        run(module, "forward_backward",
            {T({4, 3}, {0.5, -1, 2, 1, 0, -0.5, -2, 1.5, 0.25, 0.1, 0.2, -0.3}),
             T({4}, {0, 1, 1, 0}), T({2, 3}, params.at("w")),
             T({2}, params.at("b"))});
    auto fn = module.lookupSymbol<func::FuncOp>("forward_backward");
    Tensors grads;
    for (unsigned i = 1; i < fb.size(); ++i)
      grads[keyOf(fn.getResultAttrDict(i)).substr(5)] = fb[i].data;
    return grads;
  }

  /// Runs @optimizer_step on named values; returns its results by key.
  Tensors step(ModuleOp module, const Tensors &named) {
    auto fn = module.lookupSymbol<func::FuncOp>("optimizer_step");
    std::vector<HostTensor> args;
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      std::string key = keyOf(fn.getArgAttrDict(i));
      auto type = llvm::cast<RankedTensorType>(fn.getArgumentTypes()[i]);
      std::vector<int64_t> shape(type.getShape().begin(),
                                 type.getShape().end());
      EXPECT_TRUE(named.count(key)) << "no value for " << key;
      args.push_back(
          T(shape, named.count(key) ? named.at(key) : std::vector<double>()));
    }
    std::vector<HostTensor> results = run(module, "optimizer_step", args);
    Tensors out;
    for (unsigned i = 0; i < results.size(); ++i)
      out[keyOf(fn.getResultAttrDict(i))] = results[i].data;
    return out;
  }

  Tensors initialParams() {
    return {{"w", {0.1, -0.2, 0.3, 0.4, 0.05, -0.6}}, {"b", {0.01, -0.02}}};
  }
};

void expectClose(const std::vector<double> &got,
                 const std::vector<double> &want, double tol,
                 const std::string &what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], tol) << what << " element " << i;
}

TEST_F(OptimizerStepTest, AdamWMatchesTorchOverThreeSteps) {
  OptimizerPassOptions options;
  options.optimizer = "adamw";
  options.beta1 = 0.8;
  options.beta2 = 0.95;
  options.eps = 1e-6;
  options.weightDecay = 0.1;
  options.noDecay1D = true; // the bias is not decayed
  OwningOpRef<ModuleOp> module = build(options);
  ASSERT_TRUE(module);
  const double lr = 0.05, b1 = 0.8, b2 = 0.95, eps = 1e-6;
  Tensors params = initialParams(), ref = params, m, v;
  for (const auto &[name, p] : params) {
    m[name] = std::vector<double>(p.size(), 0.0);
    v[name] = m[name];
  }
  Tensors named;
  for (const auto &[name, p] : params) {
    named["param:" + name] = p;
    named["state:exp_avg:" + name] = m[name];
    named["state:exp_avg_sq:" + name] = v[name];
  }
  for (int t = 1; t <= 3; ++t) {
    Tensors grads = gradients(*module, params);
    ASSERT_EQ(grads.size(), 2u);
    for (const auto &[name, g] : grads)
      named["grad:" + name] = g;
    named["input:lr"] = {lr};
    named["input:step"] = {static_cast<double>(t)};
    Tensors out = step(*module, named);
    // torch.optim.AdamW, _single_tensor_adamw (1.13), on the same grads.
    for (auto &[name, p] : ref) {
      double wd = name == "b" ? 0.0 : 0.1;
      const std::vector<double> &g = grads[name];
      for (size_t i = 0; i < p.size(); ++i) {
        p[i] *= 1 - lr * wd;
        m[name][i] = m[name][i] * b1 + g[i] * (1 - b1);
        v[name][i] = v[name][i] * b2 + (1 - b2) * g[i] * g[i];
        double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
        double stepSize = lr / bc1;
        double denom = std::sqrt(v[name][i]) / std::sqrt(bc2) + eps;
        p[i] += -stepSize * (m[name][i] / denom);
      }
      std::string at = " at step " + std::to_string(t);
      expectClose(out["param:" + name], p, 1e-13, name + at);
      expectClose(out["state:exp_avg:" + name], m[name], 1e-15,
                  "m " + name + at);
      expectClose(out["state:exp_avg_sq:" + name], v[name], 1e-15,
                  "v " + name + at);
      named["param:" + name] = out["param:" + name];
      named["state:exp_avg:" + name] = out["state:exp_avg:" + name];
      named["state:exp_avg_sq:" + name] = out["state:exp_avg_sq:" + name];
      params[name] = out["param:" + name];
    }
  }
}

/// torch.optim.SGD (_single_tensor_sgd, 1.13, dampening 0, no Nesterov) on
/// the same gradients; optionally clip_grad_norm_ first.
void sgdReference(Tensors &ref, Tensors &bufs, Tensors grads, double lr,
                  double momentum, double wd, double clip) {
  if (clip > 0) {
    double total = 0;
    for (const auto &[name, g] : grads)
      for (double x : g)
        total += x * x;
    total = std::sqrt(total);
    double coef = std::min(1.0, clip / (total + 1e-6));
    for (auto &[name, g] : grads)
      for (double &x : g)
        x *= coef;
  }
  for (auto &[name, p] : ref) {
    std::vector<double> d = grads[name];
    for (size_t i = 0; i < p.size(); ++i)
      d[i] += wd * p[i];
    if (!bufs.count(name)) {
      bufs[name] = d; // the first step clones d_p
    } else {
      for (size_t i = 0; i < p.size(); ++i)
        bufs[name][i] = bufs[name][i] * momentum + d[i];
    }
    for (size_t i = 0; i < p.size(); ++i)
      p[i] += -lr * bufs[name][i];
  }
}

TEST_F(OptimizerStepTest, SGDWithMomentumMatchesTorchOverThreeSteps) {
  OptimizerPassOptions options;
  options.optimizer = "sgd";
  options.momentum = 0.9;
  options.weightDecay = 0.01;
  OwningOpRef<ModuleOp> module = build(options);
  ASSERT_TRUE(module);
  const double lr = 0.3;
  Tensors params = initialParams(), ref = params, bufs;
  Tensors named;
  for (const auto &[name, p] : params) {
    named["param:" + name] = p;
    named["state:momentum_buffer:" + name] = std::vector<double>(p.size(), 0.0);
  }
  for (int t = 1; t <= 3; ++t) {
    Tensors grads = gradients(*module, params);
    for (const auto &[name, g] : grads)
      named["grad:" + name] = g;
    named["input:lr"] = {lr};
    named["input:step"] = {static_cast<double>(t)};
    Tensors out = step(*module, named);
    sgdReference(ref, bufs, grads, lr, 0.9, 0.01, 0.0);
    double norm = 0;
    for (const auto &[name, g] : grads)
      for (double x : g)
        norm += x * x;
    // The norm is accumulated in f32 (pz-optimizer casts each sum of
    // squares to f32), so it matches to f32 precision only.
    expectClose(out["output:grad_norm"], {std::sqrt(norm)},
                1e-6 * std::sqrt(norm), "grad_norm");
    for (const auto &[name, p] : ref) {
      std::string at = " at step " + std::to_string(t);
      expectClose(out["param:" + name], p, 1e-14, name + at);
      expectClose(out["state:momentum_buffer:" + name], bufs[name], 1e-14,
                  "buf " + name + at);
      named["param:" + name] = out["param:" + name];
      named["state:momentum_buffer:" + name] =
          out["state:momentum_buffer:" + name];
      params[name] = out["param:" + name];
    }
  }
}

TEST_F(OptimizerStepTest, SGDWithGradClippingMatchesTorch) {
  OptimizerPassOptions options;
  options.optimizer = "sgd";
  options.momentum = 0.5;
  options.weightDecay = 0.0;
  options.gradClip = 0.05; // below the gradient norm, so it clips
  OwningOpRef<ModuleOp> module = build(options);
  ASSERT_TRUE(module);
  const double lr = 0.3;
  Tensors params = initialParams(), ref = params, bufs, named;
  for (const auto &[name, p] : params) {
    named["param:" + name] = p;
    named["state:momentum_buffer:" + name] = std::vector<double>(p.size(), 0.0);
  }
  for (int t = 1; t <= 3; ++t) {
    Tensors grads = gradients(*module, params);
    for (const auto &[name, g] : grads)
      named["grad:" + name] = g;
    named["input:lr"] = {lr};
    named["input:step"] = {static_cast<double>(t)};
    Tensors out = step(*module, named);
    sgdReference(ref, bufs, grads, lr, 0.5, 0.0, 0.05);
    for (const auto &[name, p] : ref) {
      // The clip coefficient inherits the f32 accumulation of the norm
      // (relative error ~6e-8), hence the looser bound on this test only.
      expectClose(out["param:" + name], p, 1e-8,
                  name + " at step " + std::to_string(t));
      named["param:" + name] = out["param:" + name];
      named["state:momentum_buffer:" + name] =
          out["state:momentum_buffer:" + name];
      params[name] = out["param:" + name];
    }
  }
}

} // namespace
