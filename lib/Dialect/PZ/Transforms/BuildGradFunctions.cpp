//===- BuildGradFunctions.cpp - @accumulate_grads and @finalize_grads -----===//

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::pz {
#define GEN_PASS_DEF_BUILDGRADFUNCTIONSPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-build-grad-functions"

using namespace mlir;
using namespace mlir::pz;

namespace {

struct Grad {
  StringAttr name;
  RankedTensorType type;
};

DictionaryAttr named(Builder &b, StringRef key, StringAttr name) {
  return b.getDictionaryAttr(b.getNamedAttr(key, name));
}

func::FuncOp createFunction(OpBuilder &b, Location loc, StringRef name, ArrayRef<Type> args,
                            ArrayRef<DictionaryAttr> argAttrs, ArrayRef<Type> results,
                            ArrayRef<DictionaryAttr> resultAttrs) {
  auto fn = func::FuncOp::create(b, loc, name, b.getFunctionType(args, results));
  fn.setAllArgAttrs(argAttrs);
  fn.setAllResultAttrs(resultAttrs);
  fn.addEntryBlock();
  return fn;
}

/// accum_i += grad_i for every gradient.
void buildAccumulate(OpBuilder &b, Location loc, ArrayRef<Grad> grads) {
  SmallVector<Type> args, results;
  SmallVector<DictionaryAttr> argAttrs, resultAttrs;
  for (const Grad &g : grads) {
    args.push_back(g.type);
    argAttrs.push_back(named(b, PZDialect::kAccumAttrName, g.name));
    results.push_back(g.type);
    resultAttrs.push_back(named(b, PZDialect::kAccumAttrName, g.name));
  }
  for (const Grad &g : grads) {
    args.push_back(g.type);
    argAttrs.push_back(named(b, PZDialect::kGradAttrName, g.name));
  }
  func::FuncOp fn =
      createFunction(b, loc, "accumulate_grads", args, argAttrs, results, resultAttrs);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());
  SmallVector<Value> sums;
  for (size_t i = 0; i < grads.size(); ++i) {
    Location at = NameLoc::get(b.getStringAttr("accumulate/" + grads[i].name.getValue()), loc);
    sums.push_back(AddOp::create(b, at, fn.getArgument(i), fn.getArgument(grads.size() + i)));
  }
  func::ReturnOp::create(b, loc, sums);
}

/// grads = source x factor; nonfinite = the first gradient with a NaN or an
/// infinity, or -1.
LogicalResult buildFinalize(OpBuilder &b, Location loc, ArrayRef<Grad> grads,
                            int64_t microBatches, bool lossScaling) {
  SmallVector<Type> args, results;
  SmallVector<DictionaryAttr> argAttrs, resultAttrs;
  bool fromAccum = microBatches > 1;
  bool scaled = fromAccum || lossScaling;
  for (const Grad &g : grads) {
    args.push_back(g.type);
    argAttrs.push_back(
        named(b, fromAccum ? PZDialect::kAccumAttrName : PZDialect::kGradAttrName, g.name));
    if (scaled) {
      results.push_back(g.type);
      resultAttrs.push_back(named(b, PZDialect::kGradAttrName, g.name));
    }
  }
  auto f32Scalar = RankedTensorType::get({}, b.getF32Type());
  if (lossScaling) {
    args.push_back(f32Scalar);
    argAttrs.push_back(withRole(named(b, PZDialect::kInputAttrName, b.getStringAttr("grad_scale")),
                                Role::grad_scale));
  }
  auto i64Scalar = RankedTensorType::get({}, b.getI64Type());
  results.push_back(i64Scalar);
  resultAttrs.push_back(withRole(
      named(b, PZDialect::kOutputAttrName, b.getStringAttr("nonfinite")), Role::nonfinite));
  func::FuncOp fn =
      createFunction(b, loc, "finalize_grads", args, argAttrs, results, resultAttrs);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&fn.getBody().front());

  SmallVector<Value> outs, finite;
  for (auto [i, g] : llvm::enumerate(grads)) {
    Location at = NameLoc::get(b.getStringAttr("finalize/" + g.name.getValue()), loc);
    Value v = fn.getArgument(i);
    if (lossScaling) {
      if (!g.type.getElementType().isF32())
        return emitError(loc) << "pz-build-grad-functions: loss scaling needs f32 gradients; '"
                              << g.name.getValue() << "' is " << g.type;
      // The runtime sets grad_scale to 1 / (micro-batches x loss scale).
      v = MulOp::create(b, at, v, fn.getArgument(grads.size()));
    } else if (fromAccum) {
      auto factor = RankedTensorType::get({}, g.type.getElementType());
      Value k = ConstantOp::create(
          b, at, DenseElementsAttr::get(factor, b.getFloatAttr(g.type.getElementType(),
                                                               1.0 / microBatches)));
      v = MulOp::create(b, at, v, k);
    }
    if (scaled)
      outs.push_back(v);
    finite.push_back(AllFiniteOp::create(b, at, v));
  }
  auto index = [&](int64_t i) {
    return ConstantOp::create(b, loc, DenseElementsAttr::get(i64Scalar, b.getI64IntegerAttr(i)))
        .getResult();
  };
  Value first = index(-1);
  for (int64_t i = static_cast<int64_t>(grads.size()) - 1; i >= 0; --i)
    first = WhereOp::create(b, loc, finite[i], first, index(i));
  outs.push_back(first);
  func::ReturnOp::create(b, loc, outs);
  return success();
}

struct BuildGradFunctionsPass
    : public mlir::pz::impl::BuildGradFunctionsPassBase<BuildGradFunctionsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fb = module.lookupSymbol<func::FuncOp>("forward_backward");
    if (!fb) {
      module.emitError() << "pz-build-grad-functions: no @forward_backward: run pz-autodiff first";
      return signalPassFailure();
    }
    for (StringRef name : {"accumulate_grads", "finalize_grads"})
      if (module.lookupSymbol(name)) {
        module.emitError() << "pz-build-grad-functions: the module already has @" << name;
        return signalPassFailure();
      }
    SmallVector<Grad> grads;
    for (unsigned i = 0; i < fb.getNumResults(); ++i)
      if (auto n = fb.getResultAttrOfType<StringAttr>(i, PZDialect::kGradAttrName))
        grads.push_back({n, llvm::cast<RankedTensorType>(fb.getResultTypes()[i])});
    int64_t microBatches = 1;
    if (auto plan = module->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName))
      microBatches = plan.getGradAccum();
    bool lossScaling = module->hasAttr(PZDialect::kLossScalingAttrName);

    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointAfter(fb);
    Location loc = NameLoc::get(b.getStringAttr("grads"), fb.getLoc());
    if (microBatches > 1)
      buildAccumulate(b, loc, grads);
    if (failed(buildFinalize(b, loc, grads, microBatches, lossScaling)))
      return signalPassFailure();
  }
};

} // namespace
