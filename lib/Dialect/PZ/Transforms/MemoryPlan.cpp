//===- MemoryPlan.cpp - buffers, liveness and arena offsets ---------------===//

#include "pz/Dialect/PZ/Transforms/MemoryPlan.h"
#include "pz/Dialect/PZ/IR/PZOps.h"

#include "pz/Support/Limits.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "pzrt/kernels.h"

#include <algorithm>
#include <limits>

using namespace mlir;
using namespace mlir::pz;

int64_t mlir::pz::storageBytes(Type t) {
  if (t.isF32() || t.isInteger(32))
    return 4;
  if (t.isF64() || t.isInteger(64))
    return 8;
  if (t.isF16() || t.isBF16() || t.isInteger(16))
    return 2;
  if (t.isInteger(1) || t.isInteger(8))
    return 1;
  return 0;
}

/// n rounded up to the arena alignment; n <= kMaxTotalBytes, so no overflow.
static int64_t alignUp(int64_t n) {
  return (n + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment;
}

/// The attention dims [B, H, Hkv, Sq, Sk, D, Dv] of a query/key/value triple.
static void attentionDims(Value q, Value k, Value v, int64_t dims[7]) {
  auto qt = llvm::cast<RankedTensorType>(q.getType());
  auto kt = llvm::cast<RankedTensorType>(k.getType());
  auto vt = llvm::cast<RankedTensorType>(v.getType());
  dims[0] = qt.getDimSize(0);
  dims[1] = qt.getDimSize(1);
  dims[2] = kt.getDimSize(1);
  dims[3] = qt.getDimSize(2);
  dims[4] = kt.getDimSize(2);
  dims[5] = qt.getDimSize(3);
  dims[6] = vt.getDimSize(3);
}

/// The runtime's size_t as int64_t; INT64_MAX (refused by the memory plan)
/// when it does not fit.
static int64_t workspaceOrMax(size_t bytes) {
  return bytes > static_cast<size_t>(std::numeric_limits<int64_t>::max())
             ? std::numeric_limits<int64_t>::max()
             : static_cast<int64_t>(bytes);
}

int64_t mlir::pz::workspaceBytes(Operation *op) {
  int64_t d[7];
  if (auto att = llvm::dyn_cast<AttentionOp>(op)) {
    attentionDims(att.getQuery(), att.getKey(), att.getValue(), d);
    return workspaceOrMax(
        pzrt_attention_workspace_bytes(d[0], d[1], d[2], d[3], d[4], d[5], d[6], 0));
  }
  if (auto att = llvm::dyn_cast<AttentionGradOp>(op)) {
    attentionDims(att.getQuery(), att.getKey(), att.getValue(), d);
    return workspaceOrMax(
        pzrt_attention_workspace_bytes(d[0], d[1], d[2], d[3], d[4], d[5], d[6], 1));
  }
  return 0;
}

static bool isView(Operation *op) {
  return llvm::isa<ReshapeOp, tensor::CastOp>(op);
}

FailureOr<FunctionMemory> mlir::pz::analyzeFunctionMemory(func::FuncOp fn) {
  FunctionMemory mem;
  if (!fn.getBody().hasOneBlock())
    return fn.emitError() << "memory plan: '" << fn.getSymName()
                          << "' must have a single block";
  Block &body = fn.getBody().front();
  auto checkType = [&](Value v, Location loc) -> LogicalResult {
    auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
    if (!t)
      return emitError(loc) << "memory plan: value of type " << v.getType()
                            << " is not a ranked tensor";
    if (!t.hasStaticShape())
      return emitError(loc)
             << "memory plan: shape " << t
             << " is dynamic; fix the data inputs' dims with --input-shape";
    if (!storageBytes(t.getElementType()))
      return emitError(loc) << "memory plan: element type "
                            << t.getElementType() << " is not supported";
    std::optional<int64_t> n = boundedElementCount(t.getShape());
    if (!n || !boundedBytes(*n, storageBytes(t.getElementType())))
      return emitError(loc) << "memory plan: " << t << " holds more than "
                            << kMaxTensorBytes << " bytes";
    return success();
  };
  // Every buffer is at most kMaxTensorBytes; their sum is checked against
  // kMaxTotalBytes below, which bounds every offset and every live sum
  // assignOffsets forms (an offset is at most the sum of the buffers placed
  // below it).
  int64_t totalBytes = 0;
  auto addBuffer = [&](PlannedBuffer b, Location loc) -> LogicalResult {
    std::optional<int64_t> total = boundedTotal(totalBytes, b.bytes);
    if (!total)
      return emitError(loc) << "memory plan: the function's buffers together "
                            << "exceed " << kMaxTotalBytes << " bytes";
    totalBytes = *total;
    mem.buffers.push_back(b);
    return success();
  };
  for (BlockArgument arg : body.getArguments()) {
    if (failed(checkType(arg, fn.getLoc())))
      return failure();
    mem.kind[arg] = ValueKind::Argument;
  }
  auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
  for (Operation &op : body) {
    mem.index[&op] = static_cast<int64_t>(mem.ops.size());
    mem.ops.push_back(&op);
  }
  // Returned values written straight into the caller's buffers.
  llvm::DenseMap<Value, unsigned> firstReturn;
  for (auto [i, v] : llvm::enumerate(ret.getOperands()))
    firstReturn.try_emplace(v, static_cast<unsigned>(i));

  for (Operation *op : mem.ops) {
    if (op == ret.getOperation())
      continue;
    // A pz.fused body's values are scalars of its loop: they take no memory.
    if (op->getNumRegions() && !llvm::isa<FusedOp>(op))
      return op->emitError() << "memory plan: ops with regions are not supported";
    for (Value r : op->getResults()) {
      if (failed(checkType(r, op->getLoc())))
        return failure();
      if (llvm::isa<ConstantOp>(op)) {
        mem.kind[r] = ValueKind::Constant;
      } else if (isView(op)) {
        mem.kind[r] = ValueKind::View;
        Value src = op->getOperand(0);
        auto it = mem.viewRoot.find(src);
        mem.viewRoot[r] = it == mem.viewRoot.end() ? src : it->second;
      } else if (auto it = firstReturn.find(r); it != firstReturn.end()) {
        mem.kind[r] = ValueKind::Output;
        mem.outputIndex[r] = it->second;
      } else {
        mem.kind[r] = ValueKind::Arena;
        auto t = llvm::cast<RankedTensorType>(r.getType());
        PlannedBuffer b;
        b.value = r;
        b.owner = op;
        b.bytes = alignUp(t.getNumElements() * storageBytes(t.getElementType()));
        b.start = b.end = mem.index[op];
        mem.bufferOf[r] = mem.buffers.size();
        if (failed(addBuffer(b, op->getLoc())))
          return failure();
      }
    }
    if (int64_t ws = workspaceBytes(op)) {
      if (ws < 0 || ws > kMaxTotalBytes)
        return op->emitError() << "memory plan: the op's workspace exceeds "
                               << kMaxTotalBytes << " bytes";
      PlannedBuffer b;
      b.owner = op;
      b.bytes = alignUp(ws);
      b.start = b.end = mem.index[op];
      mem.workspaceOf[op] = mem.buffers.size();
      if (failed(addBuffer(b, op->getLoc())))
        return failure();
    }
  }
  // Extend each arena buffer to its last reader (through views).
  for (Operation *op : mem.ops) {
    int64_t at = mem.index[op];
    for (Value operand : op->getOperands()) {
      Value root = operand;
      if (auto it = mem.viewRoot.find(operand); it != mem.viewRoot.end())
        root = it->second;
      auto it = mem.bufferOf.find(root);
      if (it != mem.bufferOf.end())
        mem.buffers[it->second].end = std::max(mem.buffers[it->second].end, at);
    }
  }
  return mem;
}

void mlir::pz::assignOffsets(FunctionMemory &mem) {
  std::vector<size_t> order(mem.buffers.size());
  for (size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const PlannedBuffer &x = mem.buffers[a], &y = mem.buffers[b];
    if (x.bytes != y.bytes)
      return x.bytes > y.bytes;
    return x.start < y.start;
  });
  std::vector<size_t> placed;
  mem.arenaBytes = 0;
  for (size_t i : order) {
    PlannedBuffer &b = mem.buffers[i];
    std::vector<std::pair<int64_t, int64_t>> busy; // [offset, end) overlapping in time
    for (size_t j : placed) {
      const PlannedBuffer &o = mem.buffers[j];
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
    mem.arenaBytes = std::max(mem.arenaBytes, offset + b.bytes);
    placed.push_back(i);
  }
  // Peak of live bytes: a sweep over op positions.
  std::vector<int64_t> delta(mem.ops.size() + 1, 0);
  for (const PlannedBuffer &b : mem.buffers) {
    delta[b.start] += b.bytes;
    delta[b.end + 1] -= b.bytes;
  }
  int64_t live = 0;
  mem.peakBytes = 0;
  for (int64_t d : delta) {
    live += d;
    mem.peakBytes = std::max(mem.peakBytes, live);
  }
}
