//===- PZFusionOps.cpp - pz.fused and pz.yield ----------------------------===//

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/Dialect/Traits.h"

using namespace mlir;
using namespace mlir::pz;

/// True when `shape` broadcasts numpy style to `domain` (unchanged by it).
static bool broadcastsTo(ArrayRef<int64_t> shape, ArrayRef<int64_t> domain) {
  SmallVector<int64_t> joint;
  return OpTrait::util::getBroadcastedShape(shape, domain, joint) &&
         ArrayRef<int64_t>(joint) == domain;
}

LogicalResult FusedOp::verifyRegions() {
  if (getNumResults() == 0)
    return emitOpError() << "needs at least one result";
  auto domainType = llvm::cast<RankedTensorType>(getResult(0).getType());
  if (!domainType.hasStaticShape())
    return emitOpError() << "needs a static domain, got " << domainType;
  ArrayRef<int64_t> domain = domainType.getShape();
  for (Type t : getResultTypes())
    if (llvm::cast<RankedTensorType>(t).getShape() != domain)
      return emitOpError() << "results must share one shape (the domain): "
                           << t << " against " << domainType;
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError() << "body takes " << body.getNumArguments()
                         << " arguments for " << getInputs().size() << " inputs";
  for (auto [i, arg, in] : llvm::enumerate(body.getArguments(), getInputs())) {
    if (arg.getType() != in.getType())
      return emitOpError() << "body argument #" << i << " has type "
                           << arg.getType() << ", its input " << in.getType();
    if (!broadcastsTo(llvm::cast<RankedTensorType>(in.getType()).getShape(), domain))
      return emitOpError() << "input #" << i << " of type " << in.getType()
                           << " does not broadcast to the domain "
                           << domainType;
  }
  auto yield = llvm::dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError() << "body must end in pz.yield";
  if (yield.getValues().getTypes() != getResultTypes())
    return yield.emitOpError() << "yields " << yield.getValues().getTypes()
                               << " for results " << getResultTypes();
  for (Value v : yield.getValues())
    if (llvm::isa<BlockArgument>(v))
      return yield.emitOpError() << "yields a body argument; a fused op "
                                    "returns values it computes";
  for (Operation &op : body.without_terminator()) {
    if (!op.hasTrait<traits::ElementMap>())
      return op.emitOpError() << "is not an element-map op and cannot be in "
                                 "pz.fused";
    for (Type t : op.getResultTypes())
      if (llvm::cast<RankedTensorType>(t).getShape() != domain)
        return op.emitOpError() << "result " << t
                                << " does not have the fused domain shape "
                                << domainType;
  }
  return success();
}
