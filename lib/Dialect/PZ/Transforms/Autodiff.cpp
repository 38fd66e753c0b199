//===- Autodiff.cpp - reverse-mode autodiff over pz -----------------------===//
//
// The forward function is one block of pz ops. Autodiff keeps the forward
// ops, appends the backward ops (each op's VJP, in reverse order) before
// the return, and returns the loss and the parameter gradients. Only ops on
// a path from a parameter to the loss are differentiated.
//
//===----------------------------------------------------------------------===//

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

#include "llvm/ADT/DenseSet.h"

namespace mlir::pz {
#define GEN_PASS_DEF_AUTODIFFPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-autodiff"

using namespace mlir;
using namespace mlir::pz;

namespace {

/// Whether argument i is differentiated: a parameter, or a pipeline
/// stage's activation input.
bool isSource(func::FuncOp fn, unsigned i) {
  if (fn.getArgAttr(i, PZDialect::kParamAttrName))
    return true;
  auto pipe = fn.getArgAttrOfType<StringAttr>(i, PZDialect::kPipeAttrName);
  return pipe && pipe.getValue() == "activation";
}

/// Values that depend on a parameter and that the loss depends on.
llvm::DenseSet<Value> activeValues(func::FuncOp fn, Value loss) {
  llvm::DenseSet<Value> fromParams, active;
  for (BlockArgument arg : fn.getArguments())
    if (isSource(fn, arg.getArgNumber()))
      fromParams.insert(arg);
  Block &body = fn.getBody().front();
  for (Operation &op : body)
    if (llvm::any_of(op.getOperands(),
                     [&](Value v) { return fromParams.contains(v); }))
      fromParams.insert(op.result_begin(), op.result_end());
  llvm::DenseSet<Value> toLoss = {loss};
  for (Operation &op : llvm::reverse(body))
    if (llvm::any_of(op.getResults(),
                     [&](Value v) { return toLoss.contains(v); }))
      toLoss.insert(op.operand_begin(), op.operand_end());
  for (Value v : fromParams)
    if (toLoss.contains(v))
      active.insert(v);
  return active;
}

struct AutodiffPass : public mlir::pz::impl::AutodiffPassBase<AutodiffPass> {
  using Base::Base;

  LogicalResult differentiate(func::FuncOp fn) {
    Block &body = fn.getBody().front();
    Operation *ret = body.getTerminator();
    std::optional<unsigned> lossIdx;
    std::string outputs;
    // A pipeline stage before the last one: its activation output is
    // differentiated from its gradient, which the next stage sends.
    bool staged = fn.getNumResults() == 1 && fn.getResultAttr(0, PZDialect::kPipeAttrName);
    if (staged)
      return differentiateFrom(fn, ret->getOperand(0));
    for (unsigned i = 0; i < fn.getNumResults(); ++i) {
      auto name = fn.getResultAttrOfType<StringAttr>(i, PZDialect::kOutputAttrName);
      std::string n = name ? name.getValue().str() : "result" + std::to_string(i);
      outputs += (outputs.empty() ? "" : ", ") + n;
      if (n == loss)
        lossIdx = i;
    }
    if (!lossIdx)
      return fn.emitError() << "no output is named '" << loss
                            << "' (outputs: " << outputs
                            << "); name the loss with --loss NAME or add one "
                               "with --add-loss cross-entropy";
    Value lossValue = ret->getOperand(*lossIdx);
    auto lossType = llvm::dyn_cast<RankedTensorType>(lossValue.getType());
    if (!lossType || !lossType.hasStaticShape() ||
        lossType.getNumElements() != 1 ||
        !llvm::isa<FloatType>(lossType.getElementType()))
      return fn.emitError() << "the loss '" << loss
                            << "' must be a float scalar, got "
                            << lossValue.getType();

    OpBuilder b(ret);
    Value seedValue;
    Location seedLoc =
        NameLoc::get(b.getStringAttr("loss/seed"), lossValue.getLoc());
    if (fn->getParentOfType<ModuleOp>()->hasAttr(
            PZDialect::kLossScalingAttrName)) {
      // Dynamic loss scaling: the backward pass starts from the scale, an
      // input that the runtime adjusts step by step.
      unsigned idx = fn.getNumArguments();
      auto scalarF32 = RankedTensorType::get({}, b.getF32Type());
      if (failed(fn.insertArgument(
              idx, scalarF32,
              withRole(b.getDictionaryAttr(b.getNamedAttr(
                           PZDialect::kInputAttrName, b.getStringAttr("loss_scale"))),
                       Role::loss_scale),
              fn.getLoc())))
        return failure();
      Value seed = fn.getArgument(idx);
      if (lossType != scalarF32)
        seed = ReshapeOp::create(
            b, seedLoc,
            CastOp::create(b, seedLoc, seed,
                           TypeAttr::get(lossType.getElementType())),
            b.getDenseI64ArrayAttr(lossType.getShape()));
      seedValue = seed;
    } else {
      Type elt = lossType.getElementType();
      auto one = DenseElementsAttr::get(
          lossType, FloatAttr::get(elt, 1.0).getValue());
      seedValue = ConstantOp::create(b, seedLoc, one);
    }
    // The runtime reads the loss by its role; it is an f32 scalar when the
    // program is to be trained (other float losses are for the interpreter).
    DictionaryAttr lossAttrs = b.getDictionaryAttr(
        b.getNamedAttr(PZDialect::kOutputAttrName, b.getStringAttr(loss)));
    if (lossType.getElementType().isF32())
      lossAttrs = withRole(lossAttrs, Role::loss);
    return backward(fn, lossValue, seedValue, lossAttrs);
  }

  /// A stage's forward: its output's gradient is a new argument.
  LogicalResult differentiateFrom(func::FuncOp fn, Value out) {
    OpBuilder b(fn.getBody().front().getTerminator());
    unsigned idx = fn.getNumArguments();
    if (failed(fn.insertArgument(idx, out.getType(),
                                 b.getDictionaryAttr(b.getNamedAttr(
                                     PZDialect::kPipeAttrName, b.getStringAttr("activation_grad"))),
                                 out.getLoc())))
      return failure();
    return backward(fn, out, fn.getArgument(idx), fn.getResultAttrDict(0));
  }

  /// Appends the VJPs from `seed` (the gradient of `out`) and returns `out`
  /// and the gradients: of the parameters, then of a stage's activation
  /// input.
  LogicalResult backward(func::FuncOp fn, Value out, Value seed, DictionaryAttr outAttrs) {
    Block &body = fn.getBody().front();
    Operation *ret = body.getTerminator();
    OpBuilder b(ret);
    llvm::DenseSet<Value> active = activeValues(fn, out);
    llvm::DenseMap<Value, Value> grads;
    grads[out] = seed;
    SmallVector<Operation *> forward;
    for (Operation &op : body)
      if (&op != ret)
        forward.push_back(&op);
    for (Operation *op : llvm::reverse(forward)) {
      SmallVector<Value> resultGrads;
      bool any = false;
      for (Value r : op->getResults()) {
        Value g = grads.lookup(r);
        resultGrads.push_back(g);
        any |= static_cast<bool>(g);
      }
      if (!any || llvm::none_of(op->getOperands(), [&](Value v) {
            return active.contains(v);
          }))
        continue;
      auto vjp = llvm::dyn_cast<VJPOpInterface>(op);
      if (!vjp)
        return op->emitError() << "cannot differentiate '" << op->getName()
                               << "': the op has no VJP";
      SmallVector<Value> operandGrads;
      if (failed(vjp.buildVJP(b, resultGrads, operandGrads)))
        return failure();
      for (auto [operand, g] : llvm::zip(op->getOperands(), operandGrads)) {
        if (!g || !active.contains(operand))
          continue;
        Value &acc = grads[operand];
        acc = acc ? AddOp::create(b, g.getLoc(), acc, g).getResult() : g;
      }
    }

    // Return the output and the gradients, in parameter order.
    SmallVector<Value> results = {out};
    SmallVector<Attribute> resultAttrs = {outAttrs};
    for (BlockArgument arg : fn.getArguments()) {
      auto name = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                  PZDialect::kParamAttrName);
      Value g = grads.lookup(arg);
      if (!name || !g)
        continue;
      results.push_back(g);
      resultAttrs.push_back(b.getDictionaryAttr(
          b.getNamedAttr(PZDialect::kGradAttrName, name)));
    }
    for (BlockArgument arg : fn.getArguments()) {
      auto pipe = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), PZDialect::kPipeAttrName);
      if (!pipe || pipe.getValue() != "activation")
        continue;
      Value g = grads.lookup(arg);
      if (!g) // an input the output does not depend on: a zero gradient
        g = ConstantOp::create(b, arg.getLoc(),
                               DenseElementsAttr::get(llvm::cast<ShapedType>(arg.getType()),
                                                      b.getZeroAttr(getElementTypeOrSelf(
                                                          arg.getType()))));
      results.push_back(g);
      resultAttrs.push_back(b.getDictionaryAttr(
          b.getNamedAttr(PZDialect::kPipeAttrName, b.getStringAttr("activation_grad"))));
    }
    ret->setOperands(results);
    fn.setFunctionType(b.getFunctionType(fn.getArgumentTypes(),
                                         ValueRange(results).getTypes()));
    fn.setAllResultAttrs(resultAttrs);
    fn.setSymName("forward_backward");
    return success();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fn = module.lookupSymbol<func::FuncOp>("forward");
    if (!fn) {
      module.emitError() << "no function @forward to differentiate";
      return signalPassFailure();
    }
    if (!fn.getBody().hasOneBlock()) {
      fn.emitError() << "@forward must be a single block";
      return signalPassFailure();
    }
    if (failed(differentiate(fn)))
      signalPassFailure();
  }
};
} // namespace
