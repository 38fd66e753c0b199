//===- SavedActivations.cpp - bytes the forward keeps for the backward ----===//
//
// An analysis pass: on @forward_backward, the bytes of the values the
// forward pass computes and the backward pass reads (docs/design/0015).
//
//===----------------------------------------------------------------------===//

#include "DataParallelUtils.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::pz {
#define GEN_PASS_DEF_SAVEDACTIVATIONSPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

using namespace mlir;
using namespace mlir::pz;

namespace {

int64_t bytesOf(Value v) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  if (!t || !t.hasStaticShape() || !t.getElementType().isIntOrFloat())
    return 0;
  return t.getNumElements() * llvm::divideCeil(t.getElementTypeBitWidth(), 8);
}

struct SavedActivationsPass
    : public mlir::pz::impl::SavedActivationsPassBase<SavedActivationsPass> {
  using Base::Base;

  void runOnOperation() override {
    auto fn = getOperation().lookupSymbol<func::FuncOp>("forward_backward");
    if (!fn || fn.isExternal())
      return;
    Operation *boundary = dp::lossOp(fn);
    if (!boundary || boundary->getParentOp() != fn.getOperation())
      return;
    int64_t saved = 0;
    Block &body = fn.getBody().front();
    // Activations depend on the data (the inputs): values computed from
    // parameters, constants and the rank's coordinates alone (a ZeRO-3
    // gather, a weight's transpose) are not.
    llvm::DenseSet<Value> data;
    for (BlockArgument a : body.getArguments())
      if (!fn.getArgAttr(a.getArgNumber(), PZDialect::kParamAttrName) &&
          !fn.getArgAttr(a.getArgNumber(), PZDialect::kRoleAttrName))
        data.insert(a);
    auto readAfterLoss = [&](Value r) {
      return llvm::any_of(r.getUsers(), [&](Operation *user) {
        // (a value returned as it is, the loss, is an output)
        Operation *top = body.findAncestorOpInBlock(*user);
        return top && boundary->isBeforeInBlock(top) &&
               !top->hasTrait<OpTrait::IsTerminator>();
      });
    };
    for (Operation &op : body) {
      bool fromData = false;
      op.walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          fromData |= data.contains(v);
      });
      for (Value r : op.getResults()) {
        if (!fromData)
          break;
        data.insert(r);
        if (!readAfterLoss(r))
          continue;
        saved += bytesOf(r);
        if (remarks)
          op.emitRemark() << "kept for the backward pass: " << r.getType() << ", " << bytesOf(r)
                          << " bytes";
      }
      if (&op == boundary)
        break;
    }
    fn->setAttr(PZDialect::kSavedActivationBytesAttrName,
                IntegerAttr::get(IntegerType::get(fn.getContext(), 64), saved));
  }
};

} // namespace
