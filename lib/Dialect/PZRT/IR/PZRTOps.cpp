//===- PZRTOps.cpp - pzrt op verifiers and interfaces ---------------------===//

#include "pz/Dialect/PZRT/IR/PZRTOps.h"

#include "pz/Dialect/PZ/IR/PZDialect.h"

#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringSet.h"

#include <limits>

using namespace mlir;
using namespace mlir::pzrt;

//===----------------------------------------------------------------------===//
// Buffers
//===----------------------------------------------------------------------===//

LogicalResult ArenaOp::verify() {
  auto fn = (*this)->getParentOfType<func::FuncOp>();
  auto plan = fn ? fn->getAttrOfType<MemoryPlanAttr>(PZRTDialect::kMemoryPlanAttrName)
                 : MemoryPlanAttr();
  if (!plan)
    return emitOpError() << "needs a host function with a #pzrt.memory_plan";
  auto t = getResult().getType();
  if (!t.hasStaticShape() || t.getDimSize(0) != plan.getArenaBytes())
    return emitOpError() << "type " << t << " does not hold the plan's arena of "
                         << plan.getArenaBytes() << " bytes";
  return success();
}

/// The arena view a lifetime marker brackets, or failure.
static LogicalResult verifyArenaBuffer(Operation *op, Value buffer) {
  auto view = buffer.getDefiningOp<memref::ViewOp>();
  if (!view || !view.getSource().getDefiningOp<ArenaOp>())
    return op->emitOpError() << "operand must be a memref.view of pzrt.arena";
  if (!view.getSizes().empty() || !matchPattern(view.getByteShift(), m_Constant()))
    return op->emitOpError() << "operand must be a static view at a constant offset";
  return success();
}

LogicalResult LifetimeStartOp::verify() { return verifyArenaBuffer(*this, getBuffer()); }
LogicalResult LifetimeEndOp::verify() { return verifyArenaBuffer(*this, getBuffer()); }

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

func::FuncOp DispatchOp::getKernelFunc() {
  return SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(*this, getKernel());
}

/// Whether a buffer holds a value of a kernel's tensor type.
static bool holds(Type buffer, Type tensor) {
  auto m = llvm::dyn_cast<MemRefType>(buffer);
  auto t = llvm::dyn_cast<RankedTensorType>(tensor);
  return m && t && m.getShape() == t.getShape() && m.getElementType() == t.getElementType() &&
         m.getLayout().isIdentity();
}

LogicalResult DispatchOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto fn = symbols.lookupNearestSymbolFrom<func::FuncOp>(*this, getKernel());
  if (!fn)
    return emitOpError() << "kernel " << getKernel() << " is not a function";
  auto parent = fn->getParentOfType<ModuleOp>();
  if (!parent || parent.getSymName() != PZRTDialect::kKernelModuleName)
    return emitOpError() << "kernel " << getKernel() << " must live in the @"
                         << PZRTDialect::kKernelModuleName << " module";
  FunctionType ft = fn.getFunctionType();
  if (ft.getNumInputs() != getInputs().size() || ft.getNumResults() != getOutputs().size())
    return emitOpError() << "kernel " << getKernel() << " takes " << ft.getNumInputs()
                         << " inputs and gives " << ft.getNumResults() << " results, but "
                         << getInputs().size() << " and " << getOutputs().size()
                         << " buffers are passed";
  for (auto [i, pair] : llvm::enumerate(llvm::zip(getInputs().getTypes(), ft.getInputs())))
    if (!holds(std::get<0>(pair), std::get<1>(pair)))
      return emitOpError() << "input " << i << " of type " << std::get<0>(pair)
                           << " does not hold the kernel's " << std::get<1>(pair);
  for (auto [i, pair] : llvm::enumerate(llvm::zip(getOutputs().getTypes(), ft.getResults())))
    if (!holds(std::get<0>(pair), std::get<1>(pair)))
      return emitOpError() << "output " << i << " of type " << std::get<0>(pair)
                           << " does not hold the kernel's " << std::get<1>(pair);
  auto ws = fn->getAttrOfType<IntegerAttr>(PZRTDialect::kWorkspaceAttrName);
  if (ws && !getWorkspace())
    return emitOpError() << "kernel " << getKernel() << " needs a workspace of " << ws.getInt()
                         << " bytes";
  if (!ws && getWorkspace())
    return emitOpError() << "kernel " << getKernel() << " takes no workspace";
  if (ws && getWorkspace().getType().getDimSize(0) < ws.getInt())
    return emitOpError() << "workspace of " << getWorkspace().getType().getDimSize(0)
                         << " bytes is smaller than the kernel's " << ws.getInt();
  if (getStreamAttr().getValue().isNegative())
    return emitOpError() << "stream must not be negative";
  return success();
}

void DispatchOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &effects) {
  for (OpOperand &in : getInputsMutable())
    effects.emplace_back(MemoryEffects::Read::get(), &in);
  for (OpOperand &out : getOutputsMutable())
    effects.emplace_back(MemoryEffects::Write::get(), &out);
  for (OpOperand &ws : getWorkspaceMutable()) {
    effects.emplace_back(MemoryEffects::Read::get(), &ws);
    effects.emplace_back(MemoryEffects::Write::get(), &ws);
  }
}

//===----------------------------------------------------------------------===//
// Communication
//===----------------------------------------------------------------------===//

/// The size of the group of `axes` under the module's plan, if it has one.
static std::optional<int64_t> groupSize(Operation *op, ArrayAttr axes) {
  auto module = op->getParentOfType<ModuleOp>();
  while (module && !module->hasAttr(pz::PZDialect::kPlanAttrName))
    module = module->getParentOfType<ModuleOp>();
  if (!module)
    return std::nullopt;
  auto plan = llvm::cast<pz::PlanAttr>(module->getAttr(pz::PZDialect::kPlanAttrName)).getPlan();
  int64_t n = 1;
  for (StringRef a : axes.getAsValueRange<StringAttr>())
    n *= a == "pp" ? plan.pp : a == "dp_replicate" ? plan.dpReplicate
         : a == "dp_shard" ? plan.dpShard : a == "cp" ? plan.cp : plan.tp;
  return n;
}

static LogicalResult verifyAxes(Operation *op, ArrayAttr axes) {
  ArrayRef<StringRef> grid = gridAxisNames();
  int64_t last = -1;
  for (StringRef a : axes.getAsValueRange<StringAttr>()) {
    auto it = llvm::find(grid, a);
    if (it == grid.end())
      return op->emitOpError() << "unknown grid axis '" << a
                               << "' (expected pp, dp_replicate, dp_shard, cp or tp)";
    int64_t at = it - grid.begin();
    if (at <= last)
      return op->emitOpError() << "grid axes must be distinct and in grid order "
                                  "(pp, dp_replicate, dp_shard, cp, tp)";
    last = at;
  }
  if (axes.empty())
    return op->emitOpError() << "needs at least one grid axis";
  return success();
}

static int64_t numElements(Value v) { return llvm::cast<MemRefType>(v.getType()).getNumElements(); }
static Type elementType(Value v) { return llvm::cast<MemRefType>(v.getType()).getElementType(); }

/// Checks shared by every transfer: axes, stream, a request that one
/// pzrt.wait completes, and matching element types.
static LogicalResult verifyTransfer(Operation *op, ArrayAttr axes, IntegerAttr stream, Value request,
                                    Value src, Value dst) {
  if (failed(verifyAxes(op, axes)))
    return failure();
  if (stream.getValue().isNegative())
    return op->emitOpError() << "stream must not be negative";
  if (request && (!request.hasOneUse() || !llvm::isa<WaitOp>(*request.getUsers().begin())))
    return op->emitOpError() << "its request must be completed by exactly one pzrt.wait";
  if (src && dst && elementType(src) != elementType(dst))
    return op->emitOpError() << "source and destination element types differ";
  return success();
}

/// `big` must have `factor` times the elements of `small` when the group
/// size is known.
static LogicalResult verifyScaled(Operation *op, ArrayAttr axes, Value small, Value big,
                                  StringRef what) {
  std::optional<int64_t> n = groupSize(op, axes);
  if (n && numElements(big) != numElements(small) * *n)
    return op->emitOpError() << what << " must have " << *n << " (the group size) times "
                             << numElements(small) << " elements, got " << numElements(big);
  return success();
}

LogicalResult AllReduceOp::verify() {
  if (failed(verifyTransfer(*this, getAxes(), getStreamAttr(), getRequest(), getSrc(), getDst())))
    return failure();
  if (getSrc().getType() != getDst().getType())
    return emitOpError() << "source and destination must have the same type";
  return success();
}

LogicalResult AllGatherOp::verify() {
  if (failed(verifyTransfer(*this, getAxes(), getStreamAttr(), getRequest(), getSrc(), getDst())))
    return failure();
  return verifyScaled(*this, getAxes(), getSrc(), getDst(), "the destination");
}

LogicalResult ReduceScatterOp::verify() {
  if (failed(verifyTransfer(*this, getAxes(), getStreamAttr(), getRequest(), getSrc(), getDst())))
    return failure();
  return verifyScaled(*this, getAxes(), getDst(), getSrc(), "the source");
}

LogicalResult ChunkOp::verify() {
  if (failed(verifyAxes(*this, getAxes())))
    return failure();
  if (elementType(getSrc()) != elementType(getDst()))
    return emitOpError() << "source and destination element types differ";
  std::optional<int64_t> n = groupSize(*this, getAxes());
  int64_t c = numElements(getDst()), total = numElements(getSrc());
  if (n && (c * *n < total || (c - 1) * *n >= total) && !(total == 0 && c == 0))
    return emitOpError() << "the destination must hold ceil(" << total << " / " << *n
                         << ") elements (one of " << *n << " chunks), got " << c;
  return success();
}

LogicalResult BroadcastOp::verify() {
  if (failed(verifyTransfer(*this, getAxes(), getStreamAttr(), getRequest(), Value(), Value())))
    return failure();
  std::optional<int64_t> n = groupSize(*this, getAxes());
  if (getRootAttr().getInt() < 0 || (n && getRootAttr().getInt() >= *n))
    return emitOpError() << "root " << getRootAttr().getInt() << " is not a rank of the group";
  return success();
}

LogicalResult AllToAllOp::verify() {
  if (failed(verifyTransfer(*this, getAxes(), getStreamAttr(), getRequest(), getSrc(), getDst())))
    return failure();
  if (getSrc().getType() != getDst().getType())
    return emitOpError() << "source and destination must have the same type";
  std::optional<int64_t> n = groupSize(*this, getAxes());
  auto t = llvm::cast<MemRefType>(getSrc().getType());
  if (n && (t.getRank() == 0 || t.getDimSize(0) % *n != 0))
    return emitOpError() << "the outermost dim must split into " << *n << " equal parts";
  return success();
}

LogicalResult SendOp::verify() {
  if (failed(verifyTransfer(*this, getAxes(), getStreamAttr(), getRequest(), Value(), Value())))
    return failure();
  if (getPeerAttr().getInt() == 0)
    return emitOpError() << "peer offset 0 sends to itself";
  return success();
}

LogicalResult ShiftOp::verify() {
  if (failed(verifyTransfer(*this, getAxes(), getStreamAttr(), getRequest(), getSrc(), getDst())))
    return failure();
  if (getSrc().getType() != getDst().getType())
    return emitOpError() << "source and destination must have the same type";
  if (getSrc() == getDst())
    return emitOpError() << "source and destination must be distinct buffers";
  if (getOffsetAttr().getInt() == 0)
    return emitOpError() << "offset 0 shifts to itself";
  return success();
}

LogicalResult RecvOp::verify() {
  if (failed(verifyTransfer(*this, getAxes(), getStreamAttr(), getRequest(), Value(), Value())))
    return failure();
  if (getPeerAttr().getInt() == 0)
    return emitOpError() << "peer offset 0 receives from itself";
  return success();
}

/// Transfers read their source and write their destination.
template <typename OpT>
static void transferEffects(OpT op, OpOperand *read, OpOperand *written,
                            SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &e) {
  if (read)
    e.emplace_back(MemoryEffects::Read::get(), read);
  if (written)
    e.emplace_back(MemoryEffects::Write::get(), written);
}

void AllReduceOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &e) {
  transferEffects(*this, &getSrcMutable(), &getDstMutable(), e);
}
void AllGatherOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &e) {
  transferEffects(*this, &getSrcMutable(), &getDstMutable(), e);
}
void ReduceScatterOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &e) {
  transferEffects(*this, &getSrcMutable(), &getDstMutable(), e);
}
void ChunkOp::getEffects(SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &e) {
  transferEffects(*this, &getSrcMutable(), &getDstMutable(), e);
}
void BroadcastOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &e) {
  transferEffects(*this, &getBufferMutable(), &getBufferMutable(), e);
}
void AllToAllOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &e) {
  transferEffects(*this, &getSrcMutable(), &getDstMutable(), e);
}
void SendOp::getEffects(SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &e) {
  transferEffects(*this, &getBufferMutable(), nullptr, e);
}
void ShiftOp::getEffects(SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &e) {
  transferEffects(*this, &getSrcMutable(), &getDstMutable(), e);
}
void RecvOp::getEffects(SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>> &e) {
  transferEffects(*this, nullptr, &getBufferMutable(), e);
}

LogicalResult WaitOp::verify() {
  Operation *def = getRequest().getDefiningOp();
  if (!def || !llvm::isa<AllReduceOp, AllGatherOp, ReduceScatterOp, BroadcastOp, AllToAllOp,
                         SendOp, RecvOp, ShiftOp>(def))
    return emitOpError() << "waits for a request that no transfer started";
  if (def->getBlock() != (*this)->getBlock() || !def->isBeforeInBlock(*this))
    return emitOpError() << "must follow the transfer it completes in the same block";
  return success();
}

//===----------------------------------------------------------------------===//
// Streams and events
//===----------------------------------------------------------------------===//

LogicalResult EventRecordOp::verify() {
  if (getStreamAttr().getValue().isNegative())
    return emitOpError() << "stream must not be negative";
  return success();
}

LogicalResult StreamWaitOp::verify() {
  if (getStreamAttr().getValue().isNegative())
    return emitOpError() << "stream must not be negative";
  return success();
}

//===----------------------------------------------------------------------===//
// The schedule
//===----------------------------------------------------------------------===//

LogicalResult ScheduleOp::verifyRegions() {
  for (Operation &op : getBody().front())
    if (!llvm::isa<RunOp, CheckNumericsOp, StageSendOp, StageRecvOp>(op))
      return op.emitOpError() << "is not a schedule action (pzrt.run, pzrt.check_numerics, "
                                 "pzrt.stage_send, pzrt.stage_recv)";
  auto module = (*this)->getParentOfType<ModuleOp>();
  if (llvm::range_size(module.getOps<ScheduleOp>()) != 1)
    return emitOpError() << "a module holds at most one schedule";
  if (std::optional<ArrayRef<int64_t>> order = getOrder()) {
    size_t n = getBody().front().getOperations().size();
    if (order->size() != n)
      return emitOpError() << "has " << order->size() << " places in 'order' for " << n
                           << " actions";
    for (size_t i = 0; i < order->size(); ++i)
      if ((*order)[i] < 0 || (*order)[i] > std::numeric_limits<int32_t>::max() ||
          (i > 0 && (*order)[i] <= (*order)[i - 1]))
        return emitOpError() << "'order' must increase strictly within [0, 2^31): place " << i
                             << " is " << (*order)[i];
  }
  return success();
}

LogicalResult RunOp::verifySymbolUses(SymbolTableCollection &symbols) {
  auto module = (*this)->getParentOfType<ModuleOp>();
  auto fn = symbols.lookupSymbolIn<func::FuncOp>(module, getCalleeAttr());
  if (!fn || fn.isExternal())
    return emitOpError() << "calls " << getCalleeAttr() << ", which is not a host function";
  if (getMicroBatchAttr().getInt() < 0)
    return emitOpError() << "micro-batch must not be negative";
  if (auto g = getGrads(); g && *g != SlotKind::grad && *g != SlotKind::accum)
    return emitOpError() << "gradients bind to grad or accum slots only";
  return success();
}

static LogicalResult verifyStageTransfer(Operation *op, StringRef tensor, int64_t micro) {
  if (tensor != "activation" && tensor != "activation_grad")
    return op->emitOpError() << "transfers 'activation' or 'activation_grad', not '" << tensor
                             << "'";
  if (micro < 0)
    return op->emitOpError() << "micro-batch must not be negative";
  return success();
}

LogicalResult StageSendOp::verify() {
  return verifyStageTransfer(*this, getTensor(), getMicroBatch());
}

LogicalResult StageRecvOp::verify() {
  return verifyStageTransfer(*this, getTensor(), getMicroBatch());
}

#define GET_OP_CLASSES
#include "pz/Dialect/PZRT/IR/PZRTOps.cpp.inc"
