//===- PZLogicOps.cpp - comparisons and boolean ops -----------------------===//

#include "ShapeUtils.h"
#include "VJPUtils.h"
#include "pz/Dialect/PZ/IR/PZOps.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::detail;

//===----------------------------------------------------------------------===//
// compare
//===----------------------------------------------------------------------===//

LogicalResult CompareOp::inferReturnTypes(MLIRContext *ctx, MaybeLoc loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  auto l = rankedOrError(loc, adaptor.getLhs(), "lhs");
  auto r = rankedOrError(loc, adaptor.getRhs(), "rhs");
  if (!l || !r)
    return failure();
  SmallVector<int64_t> shape;
  if (failed(broadcastOrError(loc, l.getShape(), r.getShape(), shape)))
    return failure();
  inferred.push_back(RankedTensorType::get(shape, IntegerType::get(ctx, 1)));
  return success();
}

LogicalResult CompareOp::verify() {
  Type elem = getLhs().getType().getElementType();
  if (elem.isInteger(1) && getPredicate() != ComparePredicate::eq)
    return emitOpError() << "predicate '"
                         << stringifyComparePredicate(getPredicate())
                         << "' needs numeric operands; i1 masks compare with "
                            "'eq' only";
  return success();
}

/// Masks carry no gradient.
LogicalResult CompareOp::buildVJP(OpBuilder &, ArrayRef<Value>,
                                  SmallVectorImpl<Value> &out) {
  out.assign((*this)->getNumOperands(), Value());
  return success();
}

//===----------------------------------------------------------------------===//
// not
//===----------------------------------------------------------------------===//

LogicalResult NotOp::buildVJP(OpBuilder &, ArrayRef<Value>,
                              SmallVectorImpl<Value> &out) {
  out.assign((*this)->getNumOperands(), Value());
  return success();
}

//===----------------------------------------------------------------------===//
// trilu
//===----------------------------------------------------------------------===//

LogicalResult TriluOp::verify() {
  if (getType().getRank() < 2)
    return emitOpError() << "needs rank >= 2 (the trailing dims form "
                            "matrices), got "
                         << getType();
  return success();
}

/// The cotangent keeps the same triangle.
LogicalResult TriluOp::buildVJP(OpBuilder &b, ArrayRef<Value> grads,
                                SmallVectorImpl<Value> &out) {
  out.assign((*this)->getNumOperands(), Value());
  if (!grads[0] || !isDifferentiable(getInput()))
    return success();
  GradBuilder gb(b, *this);
  out[0] =
      TriluOp::create(b, gb.loc(), grads[0], getUpperAttr(), getDiagonalAttr());
  return success();
}
