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
// Under the zb schedule the backward splits again, by the same rule, into
//   @stage_backward:        the ops the activation's gradient needs (B);
//   @stage_backward_weight: the rest, the weights' gradients (W), reading
//                           B's values it needs as more saved tensors,
//                           and the slot's tensors it reads (saved, received
//                           or data) passed through B likewise, so that the
//                           micro-batch's slot is free after B (the runtime
//                           keeps B's saved tensors in weight slots).
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

/// Whether argument `a` of a stage function lives in the micro-batch's
/// slot: a saved tensor, a received activation or gradient, a data input.
bool slotted(func::FuncOp fn, BlockArgument a) {
  unsigned i = a.getArgNumber();
  return fn.getArgAttr(i, PZDialect::kSavedAttrName) || fn.getArgAttr(i, PZDialect::kPipeAttrName) ||
         isDataInput(fn, i);
}

/// Splits `fb` into @first, the ops of `firstOps` returning results
/// `firstResults` and the saved set (values of `firstOps` the rest reads or
/// returns, named "saved.<savedBase + i>"), and @second, every other op,
/// returning the other results. With `passSlotted`, the slotted arguments
/// the second function reads pass through the first into the saved set
/// too, so that the second reads nothing of the micro-batch's slot. Erases
/// fb; returns the saved set's size.
unsigned split(func::FuncOp fb, const llvm::DenseSet<Operation *> &firstOps,
               ArrayRef<unsigned> firstResults, StringRef first, StringRef second,
               unsigned savedBase, bool passSlotted = false) {
  Block &body = fb.getBody().front();
  auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
  SmallVector<unsigned> secondResults;
  for (unsigned i = 0; i < fb.getNumResults(); ++i)
    if (!llvm::is_contained(firstResults, i))
      secondResults.push_back(i);
  SmallVector<Operation *> fwdOps, bwdOps;
  for (Operation &op : body.without_terminator()) {
    if (!firstOps.contains(&op))
      bwdOps.push_back(&op);
    else if (llvm::isa<ConstantOp>(op) && llvm::any_of(op.getUsers(), [&](Operation *u) {
               return !firstOps.contains(u) && u != ret;
             }))
      // used on both sides: cloned, not saved
      fwdOps.push_back(&op), bwdOps.push_back(&op);
    else
      fwdOps.push_back(&op);
  }
  llvm::DenseSet<Operation *> inBwd(bwdOps.begin(), bwdOps.end());

  // The saved set: values of the first function the second reads (or returns).
  llvm::SetVector<Value> saved;
  auto needFromFirst = [&](Value v) {
    Operation *def = v.getDefiningOp();
    auto arg = llvm::dyn_cast<BlockArgument>(v);
    if ((def && !inBwd.contains(def)) ||
        (passSlotted && arg && arg.getOwner() == &body && slotted(fb, arg)))
      saved.insert(v);
  };
  for (Operation *op : bwdOps)
    for (Value v : op->getOperands())
      needFromFirst(v);
  for (unsigned i : secondResults)
    needFromFirst(ret.getOperand(i));
  auto argsOf = [&](ArrayRef<Operation *> ops, ArrayRef<Value> returned, bool second) {
    llvm::SmallSetVector<unsigned, 8> used;
    auto note = [&](Value v) {
      if (auto a = llvm::dyn_cast<BlockArgument>(v);
          a && a.getOwner() == &body && !(second && saved.contains(v)))
        used.insert(a.getArgNumber());
    };
    for (Operation *op : ops)
      op->walk([&](Operation *nested) { llvm::for_each(nested->getOperands(), note); });
    llvm::for_each(returned, note);
    SmallVector<unsigned> sorted(used.begin(), used.end());
    llvm::sort(sorted);
    return sorted;
  };

  OpBuilder b(fb.getContext());
  SmallVector<DictionaryAttr> savedAttrs;
  for (unsigned i = 0; i < saved.size(); ++i)
    savedAttrs.push_back(b.getDictionaryAttr(b.getNamedAttr(
        PZDialect::kSavedAttrName, b.getStringAttr("saved." + std::to_string(savedBase + i)))));
  auto resultsOf = [&](ArrayRef<unsigned> results, SmallVector<Value> &values,
                       SmallVector<DictionaryAttr> &attrs) {
    for (unsigned i : results) {
      values.push_back(ret.getOperand(i));
      attrs.push_back(attrsOr(b, fb.getResultAttrDict(i)));
    }
  };
  SmallVector<Value> fwdValues, bwdValues;
  SmallVector<DictionaryAttr> fwdAttrs, bwdAttrs;
  resultsOf(firstResults, fwdValues, fwdAttrs);
  fwdValues.append(saved.begin(), saved.end());
  fwdAttrs.append(savedAttrs.begin(), savedAttrs.end());
  resultsOf(secondResults, bwdValues, bwdAttrs);
  outline(b, fb, first, fwdOps, argsOf(fwdOps, fwdValues, false), {}, {}, fwdValues, fwdAttrs);
  outline(b, fb, second, bwdOps, argsOf(bwdOps, bwdValues, true), saved.getArrayRef(), savedAttrs,
          bwdValues, bwdAttrs);
  fb.erase();
  return saved.size();
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
    // The forward's results: the activation it sends, or the loss.
    SmallVector<unsigned> fwdResults;
    for (unsigned i = 0; i < fb.getNumResults(); ++i)
      if (isForwardResult(fb, i))
        fwdResults.push_back(i);
    if (fwdResults.empty()) {
      fb.emitError() << kPass << ": the stage's @forward_backward returns neither an "
                                 "activation nor a loss";
      return signalPassFailure();
    }
    unsigned saved = split(fb, forwardOps(fb), fwdResults, "stage_forward", "stage_backward", 0);

    // Zero-bubble schedules run the backward in two parts: B, the ops the
    // activation's gradient needs (none in the first stage), and W, the rest
    // (the weights' gradients), reading B's values as more saved tensors.
    auto plan = module->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName);
    if (!plan || plan.getPlan().schedule != Schedule::ZeroBubble)
      return;
    auto bwd = module.lookupSymbol<func::FuncOp>("stage_backward");
    SmallVector<unsigned> inputGrad;
    for (unsigned i = 0; i < bwd.getNumResults(); ++i)
      if (auto pipe = bwd.getResultAttrOfType<StringAttr>(i, PZDialect::kPipeAttrName);
          pipe && pipe.getValue() == "activation_grad")
        inputGrad.push_back(i);
    bwd.setSymName("stage_backward_all");
    split(bwd, opsNeededBy(bwd, inputGrad), inputGrad, "stage_backward", "stage_backward_weight",
          saved, /*passSlotted=*/true);
  }
};

} // namespace
