//===- ZeroUtils.cpp - flat, padded parameter chunks for pz-zero ----------===//

#include "ZeroUtils.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::zero;

Value zero::flatten(OpBuilder &b, Location loc, Value v, int64_t numel) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  if (t.getRank() == 1)
    return v;
  return ReshapeOp::create(b, loc, RankedTensorType::get({numel}, t.getElementType()), v,
                           b.getDenseI64ArrayAttr({numel}));
}

Value zero::slice1D(OpBuilder &b, Location loc, Value v, int64_t begin, int64_t end) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  if (begin == 0 && end == t.getDimSize(0))
    return v;
  return SliceOp::create(b, loc, RankedTensorType::get({end - begin}, t.getElementType()), v,
                         b.getDenseI64ArrayAttr({begin}), b.getDenseI64ArrayAttr({end}),
                         b.getDenseI64ArrayAttr({1}));
}

Value zero::concat1D(OpBuilder &b, Location loc, ArrayRef<Value> parts) {
  if (parts.size() == 1)
    return parts.front();
  int64_t total = 0;
  for (Value p : parts)
    total += llvm::cast<RankedTensorType>(p.getType()).getDimSize(0);
  Type elem = llvm::cast<RankedTensorType>(parts.front().getType()).getElementType();
  return ConcatOp::create(b, loc, RankedTensorType::get({total}, elem), parts,
                          b.getI64IntegerAttr(0));
}

Value zero::scalarConstant(OpBuilder &b, Location loc, Type elem, double v) {
  auto t = RankedTensorType::get({}, elem);
  return ConstantOp::create(b, loc, DenseElementsAttr::get(t, b.getFloatAttr(elem, v)));
}

Value zero::packForScatter(OpBuilder &b, Location loc, ArrayRef<Value> whole,
                           ArrayRef<const Layout *> layouts, int64_t n) {
  SmallVector<Value> padded;
  for (auto [v, l] : llvm::zip(whole, layouts)) {
    Value flat = flatten(b, loc, v, l->numel);
    if (n * l->chunk > l->numel) {
      auto zeros = ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(RankedTensorType::get({n * l->chunk - l->numel}, l->elem()),
                                 b.getFloatAttr(l->elem(), 0.0)));
      flat = concat1D(b, loc, {flat, zeros});
    }
    padded.push_back(flat);
  }
  if (padded.size() == 1)
    return padded.front();
  SmallVector<Value> parts;
  for (int64_t k = 0; k < n; ++k)
    for (auto [p, l] : llvm::zip(padded, layouts))
      parts.push_back(slice1D(b, loc, p, k * l->chunk, (k + 1) * l->chunk));
  return concat1D(b, loc, parts);
}

SmallVector<Value> zero::unpackGathered(OpBuilder &b, Location loc, Value gathered,
                                        ArrayRef<const Layout *> layouts, int64_t n) {
  int64_t total = 0;
  for (const Layout *l : layouts)
    total += l->chunk;
  SmallVector<Value> out;
  int64_t offset = 0;
  for (const Layout *l : layouts) {
    Value whole = gathered;
    if (layouts.size() > 1) {
      SmallVector<Value> parts;
      for (int64_t k = 0; k < n; ++k)
        parts.push_back(
            slice1D(b, loc, gathered, k * total + offset, k * total + offset + l->chunk));
      whole = concat1D(b, loc, parts);
    }
    whole = slice1D(b, loc, whole, 0, l->numel);
    if (l->type.getRank() != 1)
      whole = ReshapeOp::create(b, loc, l->type, whole, b.getDenseI64ArrayAttr(l->type.getShape()));
    out.push_back(whole);
    offset += l->chunk;
  }
  return out;
}

LogicalResult zero::retype(func::FuncOp fn, StringRef pass, ArrayRef<Value> chunked) {
  // Only what reads a chunk changes; everything else keeps its type.
  llvm::DenseSet<Value> changed(chunked.begin(), chunked.end());
  WalkResult r = fn.walk([&](Operation *op) -> WalkResult {
    if (llvm::none_of(op->getOperands(), [&](Value v) { return changed.contains(v); }))
      return WalkResult::advance();
    if (llvm::isa<func::ReturnOp>(op))
      return WalkResult::advance();
    if (auto sum = llvm::dyn_cast<ReduceSumOp>(op)) {
      // A sum over a whole tensor (the gradient norm's) is a sum over the
      // chunk, completed by an all-reduce; a partial one has no meaning on
      // chunks of the flattened tensor.
      if (llvm::cast<RankedTensorType>(sum.getResult().getType()).getRank() != 0)
        return op->emitError() << pass << ": a reduction over part of a sharded tensor cannot "
                                          "run on its flat chunks (only whole-tensor sums, as "
                                          "for the gradient norm, can)";
      auto in = llvm::cast<RankedTensorType>(sum.getInput().getType());
      sum.setAxes(llvm::to_vector(llvm::seq<int64_t>(0, in.getRank())));
    }
    auto infer = llvm::dyn_cast<InferTypeOpInterface>(op);
    if (!infer || !llvm::isa<PZDialect>(op->getDialect()))
      return op->emitError() << pass << ": '" << op->getName()
                             << "' reads a sharded tensor but cannot be run on its chunks";
    SmallVector<Type> inferred;
    if (failed(infer.inferReturnTypes(op->getContext(), op->getLoc(), op->getOperands(),
                                      op->getAttrDictionary(), op->getPropertiesStorage(),
                                      op->getRegions(), inferred)))
      return op->emitError() << pass << ": cannot shard this op of @" << fn.getSymName();
    for (auto [res, t] : llvm::zip(op->getResults(), inferred)) {
      if (res.getType() != t)
        changed.insert(res);
      res.setType(t);
    }
    return WalkResult::advance();
  });
  if (r.wasInterrupted())
    return failure();
  Operation *ret = fn.getBody().back().getTerminator();
  fn.setFunctionType(
      FunctionType::get(fn.getContext(), fn.getArgumentTypes(), ret->getOperandTypes()));
  return success();
}
