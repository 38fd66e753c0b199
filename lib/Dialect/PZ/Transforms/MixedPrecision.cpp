//===- MixedPrecision.cpp - bf16/fp16 compute with fp32 master weights ----===//

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/Interfaces/InferTypeOpInterface.h"

namespace mlir::pz {
#define GEN_PASS_DEF_MIXEDPRECISIONPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-mixed-precision"

using namespace mlir;
using namespace mlir::pz;

namespace {

bool isFloatTensor(Type t) {
  auto r = llvm::dyn_cast<RankedTensorType>(t);
  return r && llvm::isa<FloatType>(r.getElementType());
}

Value castTo(OpBuilder &b, Location loc, Value v, Type elt) {
  return CastOp::create(b, loc, v, TypeAttr::get(elt));
}

struct MixedPrecisionPass
    : public mlir::pz::impl::MixedPrecisionPassBase<MixedPrecisionPass> {
  using Base::Base;

  /// Converts a float constant to the compute type.
  LogicalResult convertConstant(ConstantOp op, FloatType compute) {
    auto dense = llvm::dyn_cast<DenseFPElementsAttr>(op.getValue());
    if (!dense)
      return op.emitError() << "cannot convert a non-dense float constant "
                               "to "
                            << compute;
    const llvm::fltSemantics &sem = compute.getFloatSemantics();
    auto converted = dense.mapValues(compute, [&](const APFloat &v) {
      APFloat c = v;
      bool lost;
      c.convert(sem, APFloat::rmNearestTiesToEven, &lost);
      return c.bitcastToAPInt();
    });
    op.setValueAttr(llvm::cast<TypedAttr>(converted));
    op.getResult().setType(llvm::cast<RankedTensorType>(converted.getType()));
    return success();
  }

  LogicalResult convert(func::FuncOp fn, FloatType compute) {
    Block &body = fn.getBody().front();
    OpBuilder b(&body, body.begin());
    // Parameters and float inputs enter in the compute type.
    for (BlockArgument arg : fn.getArguments()) {
      if (!isFloatTensor(arg.getType()) ||
          getElementTypeOrSelf(arg.getType()) == compute)
        continue;
      // Name the copy after the parameter or input: %fc1.weight_bf16.
      std::string name = "input";
      for (StringRef key : {PZDialect::kParamAttrName, PZDialect::kInputAttrName})
        if (auto n = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), key))
          name = n.getValue().str();
      Location loc = NameLoc::get(
          b.getStringAttr(name + "_" + (compute.isBF16() ? "bf16" : "fp16")),
          arg.getLoc());
      Value cast = castTo(b, loc, arg, compute);
      arg.replaceAllUsesExcept(cast, cast.getDefiningOp());
    }
    // Every op after the casts takes the compute type from its operands.
    for (Operation &op : llvm::make_early_inc_range(body)) {
      if (auto c = llvm::dyn_cast<ConstantOp>(&op)) {
        if (isFloatTensor(c.getType()) &&
            getElementTypeOrSelf(c.getType()) != compute &&
            failed(convertConstant(c, compute)))
          return failure();
        continue;
      }
      if (auto ce = llvm::dyn_cast<CrossEntropyOp>(&op)) {
        // The loss reads fp32 logits.
        OpBuilder lb(ce);
        Type f32 = lb.getF32Type();
        if (getElementTypeOrSelf(ce.getLogits().getType()) != f32)
          ce.getLogitsMutable().assign(castTo(
              lb, NameLoc::get(lb.getStringAttr("logits_fp32"), ce.getLoc()),
              ce.getLogits(), f32));
      }
      if (llvm::isa<CastOp>(op) || !llvm::isa<PZDialect>(op.getDialect()))
        continue;
      auto infer = llvm::dyn_cast<InferTypeOpInterface>(&op);
      if (!infer)
        continue;
      SmallVector<Type> inferred;
      if (failed(infer.inferReturnTypes(
              op.getContext(), op.getLoc(), op.getOperands(),
              op.getAttrDictionary(), op.getPropertiesStorage(),
              op.getRegions(), inferred)))
        return failure();
      for (auto [res, type] : llvm::zip(op.getResults(), inferred))
        res.setType(type);
    }
    // Outputs: the loss in fp32, other float outputs in their declared type.
    Operation *ret = body.getTerminator();
    b.setInsertionPoint(ret);
    for (auto [i, v] : llvm::enumerate(ret->getOperands())) {
      Type want = fn.getResultTypes()[i];
      if (v.getType() != want && isFloatTensor(want))
        ret->setOperand(i, castTo(b, v.getLoc(), v, getElementTypeOrSelf(want)));
    }
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (precision == "fp32")
      return;
    if (precision != "bf16" && precision != "fp16") {
      module.emitError() << "precision must be fp32, bf16 or fp16, got '"
                         << precision << "'";
      return signalPassFailure();
    }
    auto fn = module.lookupSymbol<func::FuncOp>("forward");
    if (!fn) {
      module.emitError() << "no function @forward (mixed precision runs "
                            "before autodiff)";
      return signalPassFailure();
    }
    Builder b(module.getContext());
    FloatType compute = precision == "bf16"
                            ? static_cast<FloatType>(b.getBF16Type())
                            : static_cast<FloatType>(b.getF16Type());
    if (failed(convert(fn, compute)))
      return signalPassFailure();
    if (precision != "fp16")
      return;
    if (!(double(lossScale) >= 1.0 && double(lossScale) <= 3.0e38) || lossScaleWindow < 1) {
      module.emitError() << "pz-mixed-precision: loss-scale must lie in [1, 3e38] and "
                            "loss-scale-window be at least 1 (got "
                         << double(lossScale) << ", " << lossScaleWindow << ")";
      return signalPassFailure();
    }
    module->setAttr(PZDialect::kLossScalingAttrName,
                    LossScalingAttr::get(b.getContext(), APFloat(double(lossScale)),
                                         lossScaleWindow, APFloat(2.0), APFloat(0.5)));
  }
};
} // namespace
