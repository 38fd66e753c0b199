//===- Optimizer.cpp - build @optimizer_step ------------------------------===//

#include "DataParallelUtils.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

#include <cfloat>
#include <cmath>

namespace mlir::pz {
#define GEN_PASS_DEF_OPTIMIZERPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-optimizer"

using namespace mlir;
using namespace mlir::pz;

namespace {

/// One parameter that has a gradient.
struct Slot {
  StringAttr name;
  RankedTensorType type;
};

struct OptimizerPass : public mlir::pz::impl::OptimizerPassBase<OptimizerPass> {
  using Base::Base;

  Value scalarF32(OpBuilder &b, Location loc, double v) {
    auto type = RankedTensorType::get({}, b.getF32Type());
    return ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, b.getF32FloatAttr(v).getValue()));
  }

  /// sum(g * g) over every element, as a rank-0 f32 tensor.
  Value sumOfSquares(OpBuilder &b, Location loc, Value g) {
    auto t = llvm::cast<RankedTensorType>(g.getType());
    Value sq = MulOp::create(b, loc, g, g);
    if (t.getRank() == 0)
      sq = ReshapeOp::create(b, loc, sq, b.getDenseI64ArrayAttr({1}));
    int64_t rank = std::max<int64_t>(t.getRank(), 1);
    auto axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
    Value s = ReduceSumOp::create(b, loc, sq, b.getDenseI64ArrayAttr(axes),
                                  nullptr);
    if (getElementTypeOrSelf(s.getType()) != b.getF32Type())
      s = CastOp::create(b, loc, s, TypeAttr::get(b.getF32Type()));
    return s;
  }

  LogicalResult checkOptions(ModuleOp module) {
    auto bad = [&](const Twine &msg) {
      return module.emitError() << "optimizer: " << msg;
    };
    if (optimizer != "adamw" && optimizer != "sgd")
      return bad("--optimizer must be adamw or sgd, got '" + optimizer + "'");
    // Finite, and within float: the program receives lr and the clipping
    // threshold as float.
    auto finite = [](double v) { return std::isfinite(v) && std::fabs(v) <= FLT_MAX; };
    if (!finite(lr) || !finite(eps) || !finite(weightDecay) || !finite(gradClip))
      return bad("--lr, --eps, --weight-decay and --grad-clip must be finite");
    if (!(lr >= 0))
      return bad("--lr must be >= 0");
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1))
      return bad("--betas must lie in [0, 1)");
    if (!(eps > 0))
      return bad("--eps must be positive");
    if (!(weightDecay >= 0) || !(momentum >= 0 && momentum < 1) ||
        !(gradClip >= 0))
      return bad("--weight-decay and --grad-clip must be >= 0 and --momentum "
                 "in [0, 1)");
    if (lrSchedule != "constant" && lrSchedule != "cosine")
      return bad("--lr-schedule must be constant or cosine, got '" +
                 lrSchedule + "'");
    if (warmupSteps < 0 || totalSteps < 0)
      return bad("--warmup-steps and --total-steps must be >= 0");
    if (lrSchedule == "cosine" && totalSteps <= warmupSteps)
      return bad("--lr-schedule cosine needs --total-steps > --warmup-steps");
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (failed(checkOptions(module)))
      return signalPassFailure();
    auto fb = module.lookupSymbol<func::FuncOp>("forward_backward");
    if (!fb) {
      module.emitError() << "no @forward_backward: run pz-autodiff first";
      return signalPassFailure();
    }
    SmallVector<Slot> slots;
    for (unsigned i = 0; i < fb.getNumResults(); ++i)
      if (auto n = fb.getResultAttrOfType<StringAttr>(i, PZDialect::kGradAttrName))
        slots.push_back({n, llvm::cast<RankedTensorType>(fb.getResultTypes()[i])});

    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    Location loc = NameLoc::get(b.getStringAttr("optimizer"), fb.getLoc());
    bool adam = optimizer == "adamw";
    bool sgdMomentum = !adam && momentum > 0;
    SmallVector<StringRef> stateKinds;
    if (adam)
      stateKinds = {"exp_avg", "exp_avg_sq"};
    else if (sgdMomentum)
      stateKinds = {"momentum_buffer"};

    // Signature: per slot (param, grad, state...), then lr and step.
    SmallVector<Type> argTypes;
    SmallVector<DictionaryAttr> argAttrs;
    auto named = [&](StringRef key, StringRef value) {
      return b.getDictionaryAttr(b.getNamedAttr(key, b.getStringAttr(value)));
    };
    for (const Slot &s : slots) {
      argTypes.push_back(s.type);
      argAttrs.push_back(named(PZDialect::kParamAttrName, s.name));
      argTypes.push_back(s.type);
      argAttrs.push_back(named(PZDialect::kGradAttrName, s.name));
      for (StringRef kind : stateKinds) {
        argTypes.push_back(s.type);
        argAttrs.push_back(
            named(PZDialect::kStateAttrName, (kind + ":" + s.name.getValue()).str()));
      }
    }
    argTypes.push_back(RankedTensorType::get({}, b.getF32Type()));
    argAttrs.push_back(withRole(named(PZDialect::kInputAttrName, "lr"), Role::lr));
    argTypes.push_back(RankedTensorType::get({}, b.getI64Type()));
    argAttrs.push_back(withRole(named(PZDialect::kInputAttrName, "step"), Role::step));

    auto fn = func::FuncOp::create(b, loc, "optimizer_step",
                                   b.getFunctionType(argTypes, {}));
    for (auto [i, attrs] : llvm::enumerate(argAttrs))
      fn.setArgAttrs(i, attrs);
    fn->setAttr(PZDialect::kLRScheduleAttrName,
                LRScheduleAttr::get(b.getContext(),
                                    lrSchedule == "cosine" ? LRScheduleKind::cosine
                                                           : LRScheduleKind::constant,
                                    APFloat(lr), warmupSteps, totalSteps));
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    unsigned perSlot = 2 + stateKinds.size();
    Value lrArg = entry->getArgument(slots.size() * perSlot);
    Value stepArg = entry->getArgument(slots.size() * perSlot + 1);

    // Global gradient norm, and clipping.
    Value norm = scalarF32(b, loc, 0.0);
    // A parameter several pipeline stages hold counts once: on the first.
    auto stage = module->getAttrOfType<DictionaryAttr>(PZDialect::kStageAttrName);
    auto tied = module->getAttrOfType<DictionaryAttr>(PZDialect::kTiedStagesAttrName);
    auto counted = [&](StringAttr name) {
      auto mask = tied ? tied.getAs<IntegerAttr>(name) : IntegerAttr();
      return !mask || llvm::countr_zero(static_cast<uint64_t>(mask.getInt())) ==
                          stage.getAs<IntegerAttr>("index").getInt();
    };
    for (unsigned i = 0; i < slots.size(); ++i)
      if (counted(slots[i].name))
        norm = AddOp::create(b, loc, norm,
                             sumOfSquares(b, loc, entry->getArgument(i * perSlot + 1)));
    if (module->hasAttr(PZDialect::kStageAttrName)) {
      // A pipeline stage holds its own parameters: the norm sums the
      // squares of every stage's.
      FailureOr<shard::GridOp> grid = dp::getOrCreateWorldGrid(
          module, module->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName).getPlan(),
          "pz-optimizer");
      if (failed(grid))
        return signalPassFailure();
      b.setInsertionPointAfterValue(norm);
      auto sum = shard::AllReduceOp::create(
          b, NameLoc::get(b.getStringAttr("optimizer/grad_norm"), loc), norm,
          grid->getSymName(), ArrayRef<shard::GridAxis>{0}, shard::ReductionKind::Sum);
      sum->setAttr(dp::kCommAttrName,
                   pzrt::ReasonAttr::get(b.getContext(), "pp.grad_norm", "sum of squares"));
      norm = sum.getResult();
    }
    norm = SqrtOp::create(b, loc, norm);
    Value clipCoef;
    if (gradClip > 0) {
      // min(1, clip / (norm + 1e-6)) == 1 - relu(1 - clip / (norm + 1e-6)).
      Value one = scalarF32(b, loc, 1.0);
      Value coef = DivOp::create(b, loc, scalarF32(b, loc, gradClip),
                                 AddOp::create(b, loc, norm, scalarF32(b, loc, 1e-6)));
      clipCoef = SubOp::create(
          b, loc, one, ReluOp::create(b, loc, SubOp::create(b, loc, one, coef)));
    }

    SmallVector<Value> results;
    SmallVector<DictionaryAttr> resultAttrs;
    for (auto [i, s] : llvm::enumerate(slots)) {
      Location ploc = NameLoc::get(
          b.getStringAttr(("optimizer/" + s.name.getValue()).str()), loc);
      Value p = entry->getArgument(i * perSlot);
      Value g = entry->getArgument(i * perSlot + 1);
      if (clipCoef) {
        Value c = clipCoef;
        if (s.type.getElementType() != b.getF32Type())
          c = CastOp::create(b, ploc, c, TypeAttr::get(s.type.getElementType()));
        g = MulOp::create(b, ploc, g, c);
      }
      double wd = (noDecay1D && s.type.getRank() == 1) ? 0.0 : weightDecay;
      SmallVector<Value> updated;
      if (adam) {
        auto op = AdamWUpdateOp::create(
            b, ploc, p, g, entry->getArgument(i * perSlot + 2),
            entry->getArgument(i * perSlot + 3), lrArg, stepArg,
            b.getF64FloatAttr(beta1), b.getF64FloatAttr(beta2),
            b.getF64FloatAttr(eps), b.getF64FloatAttr(wd));
        updated.assign(op->result_begin(), op->result_end());
      } else if (sgdMomentum) {
        auto op = SGDUpdateOp::create(b, ploc, p, g,
                                      entry->getArgument(i * perSlot + 2),
                                      lrArg, b.getF64FloatAttr(momentum),
                                      b.getF64FloatAttr(wd));
        updated.assign(op->result_begin(), op->result_end());
      } else {
        // Plain SGD: p - lr * (g + wd * p), in the parameter's type.
        Type elt = s.type.getElementType();
        auto inParamType = [&](Value scalar) -> Value {
          if (elt == b.getF32Type())
            return scalar;
          return CastOp::create(b, ploc, scalar, TypeAttr::get(elt));
        };
        Value step = g;
        if (wd > 0)
          step = AddOp::create(
              b, ploc, g,
              MulOp::create(b, ploc, p, inParamType(scalarF32(b, ploc, wd))));
        updated.push_back(SubOp::create(
            b, ploc, p, MulOp::create(b, ploc, step, inParamType(lrArg))));
      }
      results.push_back(updated[0]);
      resultAttrs.push_back(named(PZDialect::kParamAttrName, s.name));
      for (auto [k, kind] : llvm::enumerate(stateKinds)) {
        results.push_back(updated[k + 1]);
        resultAttrs.push_back(named(PZDialect::kStateAttrName,
                                    (kind + ":" + s.name.getValue()).str()));
      }
    }
    results.push_back(norm);
    resultAttrs.push_back(withRole(named(PZDialect::kOutputAttrName, "grad_norm"), Role::grad_norm));
    func::ReturnOp::create(b, loc, results);
    fn.setFunctionType(
        b.getFunctionType(argTypes, ValueRange(results).getTypes()));
    for (auto [i, attrs] : llvm::enumerate(resultAttrs))
      fn.setResultAttrs(i, attrs);
  }
};
} // namespace
