//===- GradCheckTest.cpp - finite-difference checks of every VJP ----------===//
//
// Tolerance (see GradCheck.h): |analytic - numeric| <= 1e-6 * max(1,
// |numeric|), central differences with h = 1e-6, all in float64.
//
//===----------------------------------------------------------------------===//

#include "GradCheck.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <set>

using namespace mlir;
using namespace pztest;

namespace {

class GradCheckTest : public InterpFixture,
                      public ::testing::WithParamInterface<GradCase> {};

TEST_P(GradCheckTest, AnalyticMatchesCentralDifferences) {
  double worst = checkGradients(*this, GetParam());
  EXPECT_GE(worst, 0.0) << "the check did not run";
  EXPECT_LE(worst, kGradTolerance);
}

INSTANTIATE_TEST_SUITE_P(Ops, GradCheckTest, ::testing::ValuesIn(gradCases()),
                         [](const ::testing::TestParamInfo<GradCase> &info) {
                           return info.param.name;
                         });

using GradCoverageTest = InterpFixture;

/// Every op that implements VJPOpInterface appears in some case's @forward.
TEST_F(GradCoverageTest, EveryOpWithAVJPHasAFiniteDifferenceCase) {
  std::set<std::string> covered;
  for (const GradCase &c : gradCases()) {
    OwningOpRef<ModuleOp> module = parse(forwardSource(c));
    ASSERT_TRUE(module) << c.name;
    module->walk([&](Operation *op) {
      if (llvm::isa<mlir::pz::VJPOpInterface>(op))
        covered.insert(op->getName().getStringRef().str());
    });
  }
  std::vector<std::string> withVJP;
  for (RegisteredOperationName name : ctx.getRegisteredOperations())
    if (name.getDialectNamespace() == "pz" &&
        name.hasInterface<mlir::pz::VJPOpInterface>())
      withVJP.push_back(name.getStringRef().str());
  EXPECT_GE(withVJP.size(), 40u) << "the dialect lost ops?";
  for (const std::string &name : withVJP)
    EXPECT_TRUE(covered.count(name)) << name << " has a VJP but no case";
}

/// The MLP of examples/mlp/mlp.mlir in float64 (dynamic batch, as there),
/// differentiated end to end.
TEST_F(GradCoverageTest, MLPExampleInFloat64) {
  const char *mlp = R"(
    func.func @forward(
        %x: tensor<?x64xf64> {pz.input = "x"},
        %labels: tensor<?xi64> {pz.input = "labels"},
        %w1: tensor<128x64xf64> {pz.param = "fc1.weight"},
        %b1: tensor<128xf64> {pz.param = "fc1.bias"},
        %w2: tensor<10x128xf64> {pz.param = "fc2.weight"},
        %b2: tensor<10xf64> {pz.param = "fc2.bias"})
        -> (tensor<f64> {pz.output = "loss"}) {
      %h = pz.matmul %x, %w1 {transpose_rhs} : tensor<?x64xf64>, tensor<128x64xf64> -> tensor<?x128xf64> loc("fc1")
      %hb = pz.add %h, %b1 : tensor<?x128xf64>, tensor<128xf64> -> tensor<?x128xf64> loc("fc1.bias_add")
      %a = pz.gelu %hb erf : tensor<?x128xf64> loc("act")
      %o = pz.matmul %a, %w2 {transpose_rhs} : tensor<?x128xf64>, tensor<10x128xf64> -> tensor<?x10xf64> loc("fc2")
      %logits = pz.add %o, %b2 : tensor<?x10xf64>, tensor<10xf64> -> tensor<?x10xf64> loc("logits")
      %loss = pz.cross_entropy %logits, %labels mean : tensor<?x10xf64>, tensor<?xi64> -> tensor<f64> loc("loss")
      return %loss : tensor<f64>
    })";
  OwningOpRef<ModuleOp> module = parse(mlp);
  ASSERT_TRUE(module);
  OwningOpRef<ModuleOp> diffed = module->clone();
  ASSERT_TRUE(runAutodiff(ctx, *diffed, diagnostics));

  Rng rng(2024);
  const int64_t batch = 4;
  auto normal = [&](std::vector<int64_t> shape, double scale) {
    HostTensor t = HostTensor::zeros(shape);
    for (double &v : t.data)
      v = scale * rng.normal();
    return t;
  };
  std::vector<HostTensor> args = {
      normal({batch, 64}, 1.0), T({batch}, {3, -100, 9, 0}),
      normal({128, 64}, 0.125), normal({128}, 0.1),
      normal({10, 128}, 0.1),   normal({10}, 0.1)};
  std::vector<HostTensor> fb = run(*diffed, "forward_backward", args);
  ASSERT_EQ(fb.size(), 5u);
  auto fn = module->lookupSymbol<func::FuncOp>("forward");
  auto loss = [&]() {
    auto r = mlir::pz::interp::interpret(fn, args);
    return succeeded(r) ? (*r)[0].data[0] : NAN;
  };
  EXPECT_NEAR(fb[0].data[0], loss(), 1e-12);
  // Gradients come back in parameter order: fc1.weight, fc1.bias, ...
  double worst = 0;
  const double h = kFiniteDifferenceStep;
  for (int p = 0; p < 4; ++p) {
    HostTensor &param = args[2 + p];
    const HostTensor &grad = fb[1 + p];
    ASSERT_EQ(grad.shape, param.shape);
    for (size_t j = 0; j < param.data.size(); ++j) {
      double x = param.data[j];
      param.data[j] = x + h;
      double up = loss();
      param.data[j] = x - h;
      double down = loss();
      param.data[j] = x;
      double numeric = (up - down) / (2 * h);
      double err =
          std::abs(grad.data[j] - numeric) / std::max(1.0, std::abs(numeric));
      worst = std::max(worst, err);
      ASSERT_LE(err, kGradTolerance)
          << "parameter " << p << " element " << j << ": analytic "
          << grad.data[j] << ", numeric " << numeric;
    }
  }
  std::printf("[ FD-check ] %-40s max scaled error %.3g\n", "mlp_example_f64",
              worst);
}

} // namespace
