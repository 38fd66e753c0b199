//===- PlanMemory.cpp - the static arena plan of each host function -------===//
//
// Every memref.alloc of a host function is live from the alloc to the last op
// that uses it or a view of it, or to the pzrt.wait of an asynchronous
// transfer that uses it. Buffers are placed largest first (ties: the
// earlier first) at the lowest 64-byte aligned offset that no buffer live at
// an overlapping time occupies, as TFLite's arena planner does. Each alloc
// then becomes a memref.view of pzrt.arena bracketed by lifetime markers.
//
//===----------------------------------------------------------------------===//

#include "pz/Dialect/PZRT/Transforms/Passes.h"
#include "pz/Support/Limits.h"
#include "pz/Target/TargetInfo.h"

#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/Support/CheckedArithmetic.h"

#include <algorithm>

namespace mlir::pzrt {
#define GEN_PASS_DEF_PLANMEMORYPASS
#include "pz/Dialect/PZRT/Transforms/Passes.h.inc"
} // namespace mlir::pzrt

#define DEBUG_TYPE "pzrt-plan-memory"

using namespace mlir;
using namespace mlir::pzrt;

namespace {

struct Buffer {
  memref::AllocOp alloc;
  int64_t bytes = 0;  // aligned size
  int64_t start = 0;  // position of the alloc
  int64_t end = 0;    // position of the last use (through views)
  int64_t offset = 0; // once placed
};

struct Plan {
  std::vector<Buffer> buffers;
  int64_t arenaBytes = 0, peakBytes = 0;
};

/// Places the buffers (see the file comment) and computes the arena size and
/// the peak of live bytes.
void place(Plan &plan, int64_t positions) {
  std::vector<size_t> order(plan.buffers.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const Buffer &x = plan.buffers[a], &y = plan.buffers[b];
    if (x.bytes != y.bytes)
      return x.bytes > y.bytes;
    return x.start < y.start;
  });
  std::vector<size_t> placed;
  for (size_t i : order) {
    Buffer &b = plan.buffers[i];
    std::vector<std::pair<int64_t, int64_t>> busy; // [offset, end) overlapping in time
    for (size_t j : placed) {
      const Buffer &o = plan.buffers[j];
      if (o.start <= b.end && b.start <= o.end)
        busy.push_back({o.offset, o.offset + o.bytes});
    }
    std::sort(busy.begin(), busy.end());
    int64_t offset = 0;
    for (auto [lo, hi] : busy) {
      if (lo >= offset + b.bytes)
        break;
      offset = std::max(offset, hi);
    }
    b.offset = offset;
    plan.arenaBytes = std::max(plan.arenaBytes, offset + b.bytes);
    placed.push_back(i);
  }
  std::vector<int64_t> delta(positions + 1, 0);
  for (const Buffer &b : plan.buffers) {
    delta[b.start] += b.bytes;
    delta[b.end + 1] -= b.bytes;
  }
  int64_t live = 0;
  for (int64_t d : delta) {
    live += d;
    plan.peakBytes = std::max(plan.peakBytes, live);
  }
}

LogicalResult planFunction(func::FuncOp fn, const pz::TargetInfo &target) {
  Block &body = fn.getBody().front();
  llvm::DenseMap<Operation *, int64_t> position;
  llvm::DenseMap<Value, size_t> bufferOf; // allocs and views of them
  Plan plan;
  int64_t at = 0, totalBytes = 0;
  for (Operation &op : body) {
    position[&op] = at;
    if (auto alloc = llvm::dyn_cast<memref::AllocOp>(&op)) {
      MemRefType t = alloc.getType();
      if (!t.hasStaticShape() || !t.getLayout().isIdentity())
        return alloc.emitError() << "pzrt-plan-memory: buffer type " << t
                                 << " is not static and row-major";
      int64_t elt = target.storageBytes(t.getElementType());
      std::optional<int64_t> count = pz::boundedElementCount(t.getShape());
      std::optional<int64_t> bytes =
          elt && count ? pz::boundedBytes(*count, elt) : std::nullopt;
      int64_t align = target.arenaAlignment();
      if (!bytes)
        return alloc.emitError() << "pzrt-plan-memory: buffer " << t << " holds more than "
                                 << pz::kMaxTensorBytes << " bytes";
      Buffer b;
      b.alloc = alloc;
      b.bytes = (*bytes + align - 1) / align * align;
      // Offsets are at most the sum of the buffers placed below them.
      std::optional<int64_t> total = pz::boundedTotal(totalBytes, b.bytes);
      if (!total)
        return alloc.emitError() << "pzrt-plan-memory: the buffers of '" << fn.getSymName()
                                 << "' together exceed " << pz::kMaxTotalBytes << " bytes";
      totalBytes = *total;
      b.start = b.end = at;
      bufferOf[alloc.getResult()] = plan.buffers.size();
      plan.buffers.push_back(b);
    } else if (auto view = llvm::dyn_cast<ViewLikeOpInterface>(&op)) {
      if (auto it = bufferOf.find(view.getViewSource()); it != bufferOf.end())
        for (Value r : op.getResults())
          bufferOf[r] = it->second;
    }
    for (Value operand : op.getOperands())
      if (auto it = bufferOf.find(operand); it != bufferOf.end())
        plan.buffers[it->second].end = std::max(plan.buffers[it->second].end, at);
    // An asynchronous transfer uses its buffers until its wait.
    if (auto wait = llvm::dyn_cast<WaitOp>(&op)) {
      for (Value operand : wait.getRequest().getDefiningOp()->getOperands())
        if (auto it = bufferOf.find(operand); it != bufferOf.end())
          plan.buffers[it->second].end = std::max(plan.buffers[it->second].end, at);
    }
    ++at;
  }
  place(plan, at);

  OpBuilder builder(fn.getContext());
  builder.setInsertionPointToStart(&body);
  auto arenaType = MemRefType::get({plan.arenaBytes}, builder.getI8Type());
  Value arena = ArenaOp::create(builder, fn.getLoc(), arenaType);
  // Lifetime ends after each buffer's last use, in buffer order.
  std::vector<std::vector<Value>> endsAt(at);
  for (Buffer &b : plan.buffers) {
    builder.setInsertionPoint(b.alloc);
    Location loc = b.alloc.getLoc();
    Value offset = arith::ConstantIndexOp::create(builder, loc, b.offset);
    Value view = memref::ViewOp::create(builder, loc, b.alloc.getType(), arena, offset,
                                        ValueRange{});
    LifetimeStartOp::create(builder, loc, view);
    b.alloc.getResult().replaceAllUsesWith(view);
    endsAt[b.end].push_back(view);
  }
  for (Operation &op : llvm::make_early_inc_range(body)) {
    auto it = position.find(&op);
    if (it == position.end() || endsAt[it->second].empty())
      continue;
    if (op.hasTrait<OpTrait::IsTerminator>())
      builder.setInsertionPoint(&op);
    else
      builder.setInsertionPointAfter(&op);
    for (Value v : endsAt[it->second])
      LifetimeEndOp::create(builder, op.getLoc(), v);
  }
  for (Buffer &b : plan.buffers)
    b.alloc.erase();
  fn->setAttr(PZRTDialect::kMemoryPlanAttrName,
              MemoryPlanAttr::get(fn.getContext(), plan.arenaBytes, plan.peakBytes,
                                  static_cast<int64_t>(plan.buffers.size())));
  return success();
}

struct PlanMemoryPass : public mlir::pzrt::impl::PlanMemoryPassBase<PlanMemoryPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto name = module->getAttrOfType<StringAttr>(PZRTDialect::kTargetAttrName);
    std::optional<pz::TargetInfo> target = pz::TargetInfo::get(name ? name.getValue() : "cpu");
    if (!target) {
      module.emitError() << "pzrt-plan-memory: unknown target";
      return signalPassFailure();
    }
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (fn.isExternal())
        continue;
      if (!fn.getBody().hasOneBlock()) {
        fn.emitError() << "pzrt-plan-memory: '" << fn.getSymName() << "' must have one block";
        return signalPassFailure();
      }
      if (failed(planFunction(fn, *target)))
        return signalPassFailure();
    }
  }
};

} // namespace
