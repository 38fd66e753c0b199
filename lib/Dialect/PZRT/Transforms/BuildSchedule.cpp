//===- BuildSchedule.cpp - the actions of one training step ---------------===//
//
// The single-rank schedule: every micro-batch runs @forward_backward; with
// several micro-batches the first writes its gradients into the
// accumulators and each later one is added to them by @accumulate_grads;
// @finalize_grads then scales the sum and checks it, the runtime checks the
// numerics, and @optimizer_step updates the parameters. A module without
// @forward_backward (a forward-only program) gets no schedule.
//
//===----------------------------------------------------------------------===//

#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/Dialect/PZRT/Transforms/Passes.h"

namespace mlir::pzrt {
#define GEN_PASS_DEF_BUILDSCHEDULEPASS
#include "pz/Dialect/PZRT/Transforms/Passes.h.inc"
} // namespace mlir::pzrt

#define DEBUG_TYPE "pzrt-build-schedule"

using namespace mlir;
using namespace mlir::pzrt;

namespace {
struct BuildSchedulePass : public mlir::pzrt::impl::BuildSchedulePassBase<BuildSchedulePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto has = [&](StringRef name) {
      auto fn = module.lookupSymbol<func::FuncOp>(name);
      return fn && !fn.isExternal();
    };
    if (!has("forward_backward"))
      return;
    if (!module.getOps<ScheduleOp>().empty()) {
      module.emitError() << "pzrt-build-schedule: the module already has a schedule";
      return signalPassFailure();
    }
    int64_t microBatches = 1;
    if (auto plan = module->getAttrOfType<pz::PlanAttr>(pz::PZDialect::kPlanAttrName))
      microBatches = plan.getGradAccum();
    for (StringRef needed : {"optimizer_step", "finalize_grads"})
      if (!has(needed)) {
        module.emitError() << "pzrt-build-schedule: the training step has no @" << needed;
        return signalPassFailure();
      }
    if (microBatches > 1 && !has("accumulate_grads")) {
      module.emitError() << "pzrt-build-schedule: " << microBatches
                         << " micro-batches need @accumulate_grads";
      return signalPassFailure();
    }

    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    Location loc = module.getLoc();
    auto schedule = ScheduleOp::create(b, loc);
    b.setInsertionPointToStart(&schedule.getBody().emplaceBlock());
    auto run = [&](StringRef callee, int64_t micro, std::optional<SlotKind> grads) {
      auto op = RunOp::create(b, loc, FlatSymbolRefAttr::get(b.getContext(), callee),
                              b.getI64IntegerAttr(micro), SlotKindAttr());
      if (grads)
        op.setGradsAttr(SlotKindAttr::get(b.getContext(), *grads));
    };
    for (int64_t k = 0; k < microBatches; ++k) {
      run("forward_backward", k,
          microBatches > 1 && k == 0 ? std::optional(SlotKind::accum) : std::nullopt);
      if (k > 0)
        run("accumulate_grads", k, std::nullopt);
    }
    run("finalize_grads", 0, std::nullopt);
    CheckNumericsOp::create(b, loc);
    run("optimizer_step", 0, std::nullopt);
  }
};
} // namespace
