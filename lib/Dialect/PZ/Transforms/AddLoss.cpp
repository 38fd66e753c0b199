//===- AddLoss.cpp - append a token cross-entropy to @forward -------------===//

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

namespace mlir::pz {
#define GEN_PASS_DEF_ADDLOSSPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-add-loss"

using namespace mlir;
using namespace mlir::pz;

namespace {
struct AddLossPass : public mlir::pz::impl::AddLossPassBase<AddLossPass> {
  using Base::Base;

  LogicalResult addLoss(func::FuncOp fn) {
    if (kind != "cross-entropy")
      return fn.emitError() << "unknown loss '" << kind
                            << "' (expected cross-entropy)";
    std::optional<unsigned> logitsIdx;
    for (unsigned i = 0; i < fn.getNumResults(); ++i) {
      auto n = fn.getResultAttrOfType<StringAttr>(i, PZDialect::kOutputAttrName);
      if (n && n.getValue() == "loss")
        return fn.emitError() << "the model already has an output named "
                                 "'loss'; drop --add-loss";
      if (n && n.getValue() == logits)
        logitsIdx = i;
    }
    if (!logitsIdx)
      return fn.emitError() << "--add-loss needs an output named '" << logits
                            << "'";
    for (unsigned i = 0; i < fn.getNumArguments(); ++i)
      if (auto n = fn.getArgAttrOfType<StringAttr>(i, PZDialect::kInputAttrName);
          n && n.getValue() == "labels")
        return fn.emitError() << "the model already has an input named "
                                 "'labels'";
    Operation *ret = fn.getBody().front().getTerminator();
    Value logitsValue = ret->getOperand(*logitsIdx);
    auto lt = llvm::dyn_cast<RankedTensorType>(logitsValue.getType());
    if (!lt || lt.getRank() < 1 || !llvm::isa<FloatType>(lt.getElementType()))
      return fn.emitError() << "output '" << logits
                            << "' must be a float tensor with a class dim";

    OpBuilder b(ret);
    auto labelsType =
        RankedTensorType::get(lt.getShape().drop_back(), b.getI64Type());
    unsigned argIdx = fn.getNumArguments();
    if (failed(fn.insertArgument(
            argIdx, labelsType,
            b.getDictionaryAttr(b.getNamedAttr(PZDialect::kInputAttrName,
                                               b.getStringAttr("labels"))),
            fn.getLoc())))
      return failure();
    Location loc = NameLoc::get(b.getStringAttr("loss"), logitsValue.getLoc());
    Value loss = CrossEntropyOp::create(b, loc, logitsValue,
                                        fn.getArgument(argIdx),
                                        Reduction::mean, -100);
    SmallVector<Value> results(ret->getOperands());
    results.push_back(loss);
    ret->setOperands(results);
    SmallVector<Attribute> attrs;
    for (unsigned i = 0; i < fn.getNumResults(); ++i)
      attrs.push_back(fn.getResultAttrDict(i));
    attrs.push_back(b.getDictionaryAttr(
        b.getNamedAttr(PZDialect::kOutputAttrName, b.getStringAttr("loss"))));
    fn.setFunctionType(b.getFunctionType(fn.getArgumentTypes(),
                                         ValueRange(results).getTypes()));
    fn.setAllResultAttrs(attrs);
    return success();
  }

  void runOnOperation() override {
    auto fn = getOperation().lookupSymbol<func::FuncOp>("forward");
    if (!fn) {
      getOperation().emitError() << "no function @forward";
      return signalPassFailure();
    }
    if (failed(addLoss(fn)))
      signalPassFailure();
  }
};
} // namespace
