//===- SplitForwardBackward.cpp - a stage's forward and backward functions ===//
//
// Pipeline parallelism (docs/design/0016). A pipeline schedule runs a
// stage's forward and backward of a micro-batch at different times, so in
// a stage's module (pz.stage) @forward_backward becomes two functions:
//   @stage_forward:  the ops its output (the activation it sends, or the
//                    loss) needs; it returns that output and its saved set,
//                    the values the backward reads (pz.saved = "NAME");
//   @stage_backward: every other op, reading the saved set as arguments;
//                    it returns the gradients and the activation's gradient.
// Arguments go to whichever function reads them (both, for a parameter).
// Constants are cloned into the backward rather than saved.
//
//===----------------------------------------------------------------------===//

#include "StepFunctions.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::pz {
#define GEN_PASS_DEF_SPLITFORWARDBACKWARDPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-split-forward-backward"

using namespace mlir;
using namespace mlir::pz;

namespace {

constexpr const char *kPass = "pz-split-forward-backward";

DictionaryAttr attrsOr(OpBuilder &b, DictionaryAttr d) {
  return d ? d : b.getDictionaryAttr({});
}

/// A new function named `name` before `fb` of the ops `ops` (in order),
/// taking fb's arguments `args` and then `extra` (values of fb, with their
/// attributes) and returning `results` (values of fb) with `resultAttrs`.
func::FuncOp outline(OpBuilder &b, func::FuncOp fb, StringRef name, ArrayRef<Operation *> ops,
                     ArrayRef<unsigned> args, ArrayRef<Value> extra,
                     ArrayRef<DictionaryAttr> extraAttrs, ArrayRef<Value> results,
                     ArrayRef<DictionaryAttr> resultAttrs) {
  SmallVector<Type> types, resultTypes;
  SmallVector<DictionaryAttr> attrs;
  for (unsigned a : args) {
    types.push_back(fb.getArgumentTypes()[a]);
    attrs.push_back(attrsOr(b, fb.getArgAttrDict(a)));
  }
  for (auto [v, d] : llvm::zip(extra, extraAttrs)) {
    types.push_back(v.getType());
    attrs.push_back(d);
  }
  for (Value v : results)
    resultTypes.push_back(v.getType());
  b.setInsertionPoint(fb);
  auto fn = func::FuncOp::create(b, fb.getLoc(), name, b.getFunctionType(types, resultTypes));
  fn.setAllArgAttrs(attrs);
  fn.setAllResultAttrs(resultAttrs);
  for (NamedAttribute a : fb->getDiscardableAttrs())
    fn->setAttr(a.getName(), a.getValue());
  Block *entry = fn.addEntryBlock();
  IRMapping map;
  unsigned next = 0;
  for (unsigned a : args)
    map.map(fb.getArgument(a), entry->getArgument(next++));
  for (Value v : extra)
    map.map(v, entry->getArgument(next++));
  b.setInsertionPointToStart(entry);
  for (Operation *op : ops)
    b.clone(*op, map);
  SmallVector<Value> mapped;
  for (Value v : results)
    mapped.push_back(map.lookupOrDefault(v));
  func::ReturnOp::create(b, fb.getLoc(), mapped);
  return fn;
}

struct SplitForwardBackwardPass
    : public mlir::pz::impl::SplitForwardBackwardPassBase<SplitForwardBackwardPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!module->hasAttr(PZDialect::kStageAttrName))
      return;
    auto fb = module.lookupSymbol<func::FuncOp>("forward_backward");
    if (!fb || fb.isExternal())
      return;
    Block &body = fb.getBody().front();
    auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());

    // The forward's results: the activation it sends, or the loss.
    SmallVector<unsigned> fwdResults, bwdResults;
    for (unsigned i = 0; i < fb.getNumResults(); ++i)
      (isForwardResult(fb, i) ? fwdResults : bwdResults).push_back(i);
    if (fwdResults.empty()) {
      fb.emitError() << kPass << ": the stage's @forward_backward returns neither an "
                                 "activation nor a loss";
      return signalPassFailure();
    }
    llvm::DenseSet<Operation *> forward = forwardOps(fb);
    SmallVector<Operation *> fwdOps, bwdOps;
    for (Operation &op : body.without_terminator()) {
      if (!forward.contains(&op))
        bwdOps.push_back(&op);
      else if (llvm::isa<ConstantOp>(op) && llvm::any_of(op.getUsers(), [&](Operation *u) {
                 return !forward.contains(u) && u != ret;
               }))
        // used on both sides: cloned, not saved
        fwdOps.push_back(&op), bwdOps.push_back(&op);
      else
        fwdOps.push_back(&op);
    }
    llvm::DenseSet<Operation *> inBwd(bwdOps.begin(), bwdOps.end());

    // The saved set: forward values the backward reads (or returns).
    llvm::SetVector<Value> saved;
    auto needFromForward = [&](Value v) {
      Operation *def = v.getDefiningOp();
      if (def && !inBwd.contains(def))
        saved.insert(v);
    };
    for (Operation *op : bwdOps)
      for (Value v : op->getOperands())
        needFromForward(v);
    for (unsigned i : bwdResults)
      needFromForward(ret.getOperand(i));
    auto argsOf = [&](ArrayRef<Operation *> ops, ArrayRef<Value> returned) {
      llvm::SmallSetVector<unsigned, 8> used;
      auto note = [&](Value v) {
        if (auto a = llvm::dyn_cast<BlockArgument>(v); a && a.getOwner() == &body)
          used.insert(a.getArgNumber());
      };
      for (Operation *op : ops)
        op->walk([&](Operation *nested) { llvm::for_each(nested->getOperands(), note); });
      llvm::for_each(returned, note);
      SmallVector<unsigned> sorted(used.begin(), used.end());
      llvm::sort(sorted);
      return sorted;
    };

    OpBuilder b(module.getContext());
    SmallVector<DictionaryAttr> savedAttrs;
    for (unsigned i = 0; i < saved.size(); ++i)
      savedAttrs.push_back(b.getDictionaryAttr(
          b.getNamedAttr(PZDialect::kSavedAttrName, b.getStringAttr("saved." + std::to_string(i)))));
    SmallVector<Value> fwdValues, bwdValues;
    SmallVector<DictionaryAttr> fwdAttrs, bwdAttrs;
    for (unsigned i : fwdResults) {
      fwdValues.push_back(ret.getOperand(i));
      fwdAttrs.push_back(attrsOr(b, fb.getResultAttrDict(i)));
    }
    fwdValues.append(saved.begin(), saved.end());
    fwdAttrs.append(savedAttrs.begin(), savedAttrs.end());
    for (unsigned i : bwdResults) {
      bwdValues.push_back(ret.getOperand(i));
      bwdAttrs.push_back(attrsOr(b, fb.getResultAttrDict(i)));
    }
    SmallVector<Value> fwdReturned(fwdValues.begin(), fwdValues.end());
    outline(b, fb, "stage_forward", fwdOps, argsOf(fwdOps, fwdReturned), {}, {}, fwdValues,
            fwdAttrs);
    outline(b, fb, "stage_backward", bwdOps, argsOf(bwdOps, bwdValues), saved.getArrayRef(),
            savedAttrs, bwdValues, bwdAttrs);
    fb.erase();
  }
};

} // namespace
