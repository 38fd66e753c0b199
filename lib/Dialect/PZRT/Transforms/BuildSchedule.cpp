//===- BuildSchedule.cpp - the actions of one training step ---------------===//
//
// The single-rank schedule: every micro-batch runs @forward_backward; with
// several micro-batches the first writes its gradients into the
// accumulators and each later one is added to them by @accumulate_grads;
// @finalize_grads then scales the sum and checks it, the runtime checks the
// numerics, and @optimizer_step updates the parameters. A module without
// @forward_backward (a forward-only program) gets no schedule.
//
// A pipeline stage's module (pz.stage) gets its stage's table
// (pz/Plan/PipelineSchedule.h): @stage_forward and @stage_backward (and,
// under zb, @stage_backward_weight) of each micro-batch in the plan's
// schedule, with the transfers between them.
//
// Interleaved, a stage's module is one chunk (virtual stage) of its rank:
// global stage K is chunk K / pp of rank K % pp. The module gets its
// chunk's actions of the rank's table, and `order` places every action in
// the rank's step: the table's actions by their position, then per chunk
// @finalize_grads, the check, @grad_norm_sq (pz-split-grad-norm) and
// @optimizer_step, each phase chunk by chunk, so that the runtime runs
// every chunk's finalize before the check and every chunk's squared norm
// before any optimizer.
//
//===----------------------------------------------------------------------===//

#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/Dialect/PZRT/Transforms/Passes.h"
#include "pz/Plan/PipelineSchedule.h"

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
    bool staged = module->hasAttr(pz::PZDialect::kStageAttrName);
    StringRef step = staged ? "stage_backward" : "forward_backward";
    if (!has(step) || (staged && !has("stage_forward")))
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
    auto schedule = ScheduleOp::create(b, loc, DenseI64ArrayAttr());
    b.setInsertionPointToStart(&schedule.getBody().emplaceBlock());
    // Interleaved: each action's place in the rank's step (`place` for the
    // next one; two apart, so that an accumulation follows its backward).
    SmallVector<int64_t> order;
    int64_t place = 0;
    auto run = [&](StringRef callee, int64_t micro, std::optional<SlotKind> grads) {
      auto op = RunOp::create(b, loc, FlatSymbolRefAttr::get(b.getContext(), callee),
                              b.getI64IntegerAttr(micro), SlotKindAttr());
      if (grads)
        op.setGradsAttr(SlotKindAttr::get(b.getContext(), *grads));
      order.push_back(order.empty() || place > order.back() ? place : order.back() + 1);
    };
    auto gradsOf = [&](int64_t k) {
      return microBatches > 1 && k == 0 ? std::optional(SlotKind::accum) : std::nullopt;
    };
    if (staged) {
      pz::Plan plan = module->getAttrOfType<pz::PlanAttr>(pz::PZDialect::kPlanAttrName).getPlan();
      int64_t stage = module->getAttrOfType<DictionaryAttr>(pz::PZDialect::kStageAttrName)
                          .getAs<IntegerAttr>("index")
                          .getInt();
      const bool chunked = plan.schedule == pz::Schedule::Interleaved;
      const int64_t rank = stage % plan.pp, chunk = stage / plan.pp;
      std::vector<pz::StageAction> table = pz::pipelineSchedule(
          plan.schedule, plan.pp, chunked ? rank : stage, microBatches, plan.virtualStages);
      bool split = has("stage_backward_weight");
      if (split != (plan.schedule == pz::Schedule::ZeroBubble)) {
        module.emitError() << "pzrt-build-schedule: the " << pz::stringify(plan.schedule)
                           << " schedule needs "
                           << (split ? "one backward function" : "two backward functions")
                           << " per stage (pz-split-forward-backward)";
        return signalPassFailure();
      }
      if (table.empty()) {
        module.emitError() << "pzrt-build-schedule: the " << pz::stringify(plan.schedule)
                           << " schedule has no table for " << plan.pp << " stages and "
                           << microBatches << " micro-batches";
        return signalPassFailure();
      }
      for (auto [i, a] : llvm::enumerate(table)) {
        if (a.chunk != (chunked ? chunk : 0))
          continue;
        place = 2 * static_cast<int64_t>(i);
        int64_t k = a.microBatch;
        switch (a.kind) {
        case pz::StageAction::Forward:
          run("stage_forward", k, std::nullopt);
          break;
        case pz::StageAction::Backward:
          // Split (zb): B computes the activation's gradient and W the weights'.
          run("stage_backward", k, split ? std::nullopt : gradsOf(k));
          if (!split && k > 0)
            run("accumulate_grads", k, std::nullopt);
          break;
        case pz::StageAction::Weight:
          run("stage_backward_weight", k, gradsOf(k));
          if (k > 0)
            run("accumulate_grads", k, std::nullopt);
          break;
        case pz::StageAction::RecvActivation:
        case pz::StageAction::RecvGrad:
          StageRecvOp::create(b, loc,
                              a.kind == pz::StageAction::RecvGrad ? "activation_grad" : "activation",
                              k);
          order.push_back(place);
          break;
        case pz::StageAction::SendActivation:
        case pz::StageAction::SendGrad:
          StageSendOp::create(b, loc,
                              a.kind == pz::StageAction::SendGrad ? "activation_grad" : "activation",
                              k);
          order.push_back(place);
          break;
        }
      }
      if (chunked) {
        // The steps after the pipeline, phase by phase over the chunks.
        const int64_t base = 2 * static_cast<int64_t>(table.size()), v = plan.virtualStages;
        place = base + chunk;
        run("finalize_grads", 0, std::nullopt);
        CheckNumericsOp::create(b, loc);
        order.push_back(base + v + chunk);
        if (!has("grad_norm_sq")) {
          module.emitError() << "pzrt-build-schedule: an interleaved chunk needs @grad_norm_sq "
                                "(pz-split-grad-norm)";
          return signalPassFailure();
        }
        place = base + 2 * v + chunk;
        run("grad_norm_sq", 0, std::nullopt);
        place = base + 3 * v + chunk;
        run("optimizer_step", 0, std::nullopt);
        schedule.setOrder(order);
        return;
      }
    }
    for (int64_t k = 0; !staged && k < microBatches; ++k) {
      run("forward_backward", k, gradsOf(k));
      if (k > 0)
        run("accumulate_grads", k, std::nullopt);
    }
    run("finalize_grads", 0, std::nullopt);
    CheckNumericsOp::create(b, loc);
    run("optimizer_step", 0, std::nullopt);
  }
};
} // namespace
