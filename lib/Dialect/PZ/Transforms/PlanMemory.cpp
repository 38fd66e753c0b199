//===- PlanMemory.cpp - the static memory plan of each step function ------===//

#include "pz/Dialect/PZ/Transforms/MemoryPlan.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::pz {
#define GEN_PASS_DEF_PLANMEMORYPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

using namespace mlir;
using namespace mlir::pz;

namespace {
struct PlanMemoryPass
    : public mlir::pz::impl::PlanMemoryPassBase<PlanMemoryPass> {
  using Base::Base;

  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (fn.isExternal())
        continue;
      FailureOr<FunctionMemory> mem = analyzeFunctionMemory(fn);
      if (failed(mem))
        return signalPassFailure();
      assignOffsets(*mem);
      Builder b(&getContext());
      for (Operation *op : mem->ops) {
        SmallVector<int64_t> offsets;
        bool any = false;
        for (Value r : op->getResults()) {
          auto it = mem->bufferOf.find(r);
          offsets.push_back(it == mem->bufferOf.end()
                                ? -1
                                : mem->buffers[it->second].offset);
          any |= it != mem->bufferOf.end();
        }
        if (any)
          op->setAttr(kBuffersAttrName, b.getDenseI64ArrayAttr(offsets));
        if (auto it = mem->workspaceOf.find(op); it != mem->workspaceOf.end()) {
          const PlannedBuffer &w = mem->buffers[it->second];
          op->setAttr(kWorkspaceAttrName,
                      b.getDenseI64ArrayAttr({w.offset, w.bytes}));
        }
      }
      fn->setAttr(kMemoryPlanAttrName,
                  b.getDictionaryAttr({
                      b.getNamedAttr("arena_bytes", b.getI64IntegerAttr(mem->arenaBytes)),
                      b.getNamedAttr("peak_bytes", b.getI64IntegerAttr(mem->peakBytes)),
                      b.getNamedAttr("buffers", b.getI64IntegerAttr(
                                                    static_cast<int64_t>(mem->buffers.size()))),
                  }));
    }
  }
};
} // namespace
