//===- AsyncTransfers.cpp - start transfers early, wait where needed ------===//
//
// Every blocking transfer of a host function becomes its asynchronous form
// (a `!pzrt.request` result) with a `pzrt.wait` right before the first
// later op that touches one of its buffers: an op that reads, writes or
// hands on (another transfer, the return) the buffer or any view of it.
// Views are not touches; they move no data. The compute between the
// transfer and the wait overlaps it. A transfer whose next op already
// touches its buffers stays blocking. Transfers stay in program order (a
// stream runs its transfers in order), so every rank issues them in the
// same order.
//
// Buffers are compared by their root (the alloc, argument or global that
// views lead back to); pzrt-plan-memory keeps a transfer's buffers alive up
// to its wait.
//
//===----------------------------------------------------------------------===//

#include "pz/Dialect/PZRT/Transforms/Passes.h"

#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::pzrt {
#define GEN_PASS_DEF_ASYNCTRANSFERSPASS
#include "pz/Dialect/PZRT/Transforms/Passes.h.inc"
} // namespace mlir::pzrt

#define DEBUG_TYPE "pzrt-async-transfers"

using namespace mlir;
using namespace mlir::pzrt;

namespace {

bool isTransfer(Operation *op) {
  return llvm::isa<AllReduceOp, AllGatherOp, ReduceScatterOp, BroadcastOp, AllToAllOp, SendOp,
                   RecvOp, ShiftOp>(op);
}

/// The alloc, block argument or global a buffer is a view of.
Value rootOf(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

/// The first op after `transfer` that touches one of its buffers.
Operation *firstToucher(Operation *transfer) {
  llvm::SmallPtrSet<Value, 4> roots;
  for (Value v : transfer->getOperands())
    roots.insert(rootOf(v));
  for (Operation *op = transfer->getNextNode(); op; op = op->getNextNode()) {
    if (op->hasTrait<OpTrait::IsTerminator>())
      return op;
    if (llvm::isa<ViewLikeOpInterface>(op))
      continue;
    for (Value v : op->getOperands())
      if (llvm::isa<MemRefType>(v.getType()) && roots.contains(rootOf(v)))
        return op;
  }
  return nullptr;
}

/// The same transfer with a request, and its wait before `waitBefore`.
void makeAsync(Operation *transfer, Operation *waitBefore) {
  OpBuilder b(transfer);
  OperationState state(transfer->getLoc(), transfer->getName());
  state.addOperands(transfer->getOperands());
  state.addTypes(RequestType::get(transfer->getContext()));
  state.propertiesAttr = transfer->getPropertiesAsAttribute();
  for (NamedAttribute a : transfer->getDiscardableAttrs())
    state.addAttribute(a.getName(), a.getValue());
  Operation *async = b.create(state);
  b.setInsertionPoint(waitBefore);
  WaitOp::create(b, transfer->getLoc(), async->getResult(0));
  transfer->erase();
}

struct AsyncTransfersPass : public mlir::pzrt::impl::AsyncTransfersPassBase<AsyncTransfersPass> {
  using Base::Base;

  void runOnOperation() override {
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      if (fn.isExternal())
        continue;
      SmallVector<Operation *> transfers;
      fn.walk([&](Operation *op) {
        if (isTransfer(op) && op->getNumResults() == 0)
          transfers.push_back(op);
      });
      for (Operation *t : transfers) {
        Operation *toucher = firstToucher(t);
        if (!toucher) {
          t->emitError() << "pzrt-async-transfers: the transfer's block has no terminator";
          return signalPassFailure();
        }
        if (toucher != t->getNextNode())
          makeAsync(t, toucher);
      }
    }
  }
};

} // namespace
