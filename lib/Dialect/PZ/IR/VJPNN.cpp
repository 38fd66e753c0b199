//===- VJPNN.cpp - VJPs of matmul, norms, attention and losses ------------===//

#include "VJPUtils.h"

#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::detail;

LogicalResult MatmulOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                 SmallVectorImpl<Value> &out) {
  out.assign(2, Value());
  Value g = grads[0];
  if (!g)
    return success();
  GradBuilder gb(b, *this);
  Value a = getLhs(), w = getRhs();
  bool ta = getTransposeLhs(), tb = getTransposeRhs();
  auto mm = [&](Value x, Value y, bool tx, bool ty) -> Value {
    return MatmulOp::create(b, gb.loc(), x, y, tx ? b.getUnitAttr() : nullptr,
                            ty ? b.getUnitAttr() : nullptr);
  };
  // C = op(A) op(B); each case solves for A and B as stored.
  Value da, db;
  if (!ta && !tb) {
    da = mm(g, w, false, true);
    db = mm(a, g, true, false);
  } else if (ta && !tb) {
    da = mm(w, g, false, true);
    db = mm(a, g, false, false);
  } else if (!ta && tb) {
    da = mm(g, w, false, false);
    db = mm(g, a, true, false);
  } else {
    da = mm(w, g, true, true);
    db = mm(g, a, true, true);
  }
  out[0] = gb.sumToShape(da, a.getType());
  out[1] = gb.sumToShape(db, w.getType());
  return success(gb.ok());
}

LogicalResult LayerNormOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                    SmallVectorImpl<Value> &out) {
  out.assign(getNumOperands(), Value());
  if (!grads[0])
    return success();
  GradBuilder gb(b, *this);
  auto grad = LayerNormGradOp::create(b, gb.loc(), grads[0], getInput(),
                                      getScale(), getAxisAttr(),
                                      getEpsilonAttr());
  out[0] = grad.getGradInput();
  unsigned next = 1;
  if (getScale())
    out[next++] = grad.getGradScale();
  if (getBias())
    out[next] = grad.getGradBias();
  return success();
}

LogicalResult RMSNormOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                  SmallVectorImpl<Value> &out) {
  out.assign(getNumOperands(), Value());
  if (!grads[0])
    return success();
  GradBuilder gb(b, *this);
  auto grad = RMSNormGradOp::create(b, gb.loc(), grads[0], getInput(),
                                    getScale(), getAxisAttr(),
                                    getEpsilonAttr());
  out[0] = grad.getGradInput();
  if (getScale())
    out[1] = grad.getGradScale();
  return success();
}

LogicalResult CrossEntropyOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                       SmallVectorImpl<Value> &out) {
  out.assign(2, Value());
  if (!grads[0])
    return success();
  GradBuilder gb(b, *this);
  out[0] = CrossEntropyGradOp::create(b, gb.loc(), grads[0], getLogits(),
                                      getLabels(), getReductionAttr(),
                                      getIgnoreIndexAttr());
  return success();
}

/// True when `v` is computed from an argument of its function that
/// autodiff differentiates for (a parameter, or a pipeline stage's
/// activation input).
static bool dependsOnSource(Value v) {
  llvm::SmallPtrSet<Value, 16> seen;
  SmallVector<Value> work = {v};
  while (!work.empty()) {
    Value x = work.pop_back_val();
    if (!seen.insert(x).second)
      continue;
    if (auto arg = llvm::dyn_cast<BlockArgument>(x)) {
      auto fn = llvm::dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
      if (!fn)
        return true; // a region argument: be safe
      unsigned i = arg.getArgNumber();
      auto pipe = fn.getArgAttrOfType<StringAttr>(i, PZDialect::kPipeAttrName);
      if (fn.getArgAttr(i, PZDialect::kParamAttrName) ||
          (pipe && pipe.getValue() == "activation"))
        return true;
      continue;
    }
    llvm::append_range(work, x.getDefiningOp()->getOperands());
  }
  return false;
}

LogicalResult AttentionOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                    SmallVectorImpl<Value> &out) {
  out.assign(getNumOperands(), Value());
  if (!grads[0])
    return success();
  GradBuilder gb(b, *this);
  auto grad = AttentionGradOp::create(b, gb.loc(), grads[0], getQuery(),
                                      getKey(), getValue(), getMask(), getBias(),
                                      getCausalAttr(), getScaleAttr());
  out[0] = grad.getGradQuery();
  out[1] = grad.getGradKey();
  out[2] = grad.getGradValue();
  // A bias computed from a parameter (not ALiBi folded from constants).
  if (getBias() && dependsOnSource(getBias()))
    out[getMask() ? 4 : 3] = AttentionBiasGradOp::create(
        b, gb.loc(), grads[0], getQuery(), getKey(), getValue(), getBias(), getMask(),
        getCausalAttr(), getScaleAttr());
  return success();
}
