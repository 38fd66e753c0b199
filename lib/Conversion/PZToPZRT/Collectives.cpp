//===- Collectives.cpp - shard collectives become pzrt transfers ----------===//
//
// The plan passes put upstream `shard` collectives on the program's grid
// `@world` (pp x dp_replicate x dp_shard x cp x tp). Each becomes the pzrt
// transfer on the communicator group of its grid axes, with the reason the
// inserting pass gave it (`pz.comm`). An all-reduce of a temporary that
// nothing else reads runs in place; otherwise its result gets a buffer.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/Dialect/Shard/IR/ShardOps.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::lowering;

bool lowering::isCollectiveOp(Operation *op) { return llvm::isa<shard::AllReduceOp>(op); }

LogicalResult FunctionLowering::lowerCollective(Operation *op) {
  auto reduce = llvm::cast<shard::AllReduceOp>(op);
  auto grid = SymbolTable::lookupNearestSymbolFrom<shard::GridOp>(op, reduce.getGridAttr());
  ArrayRef<StringRef> names = pzrt::gridAxisNames();
  if (!grid || grid.getShape().size() != names.size())
    return op->emitError() << "convert-pz-to-pzrt: collective on " << reduce.getGridAttr()
                           << ", which is not the program's grid of " << names.size()
                           << " axes (pp x dp_replicate x dp_shard x cp x tp)";
  SmallVector<Attribute> axes;
  for (shard::GridAxis a : reduce.getGridAxes()) {
    if (a < 0 || static_cast<size_t>(a) >= names.size())
      return op->emitError() << "convert-pz-to-pzrt: grid axis " << a << " is not an axis of "
                             << reduce.getGridAttr();
    axes.push_back(b.getStringAttr(names[a]));
  }
  auto reason = op->getAttrOfType<pzrt::ReasonAttr>("pz.comm");
  if (!reason)
    return op->emitError() << "convert-pz-to-pzrt: collective without a reason "
                              "(pz.comm = #pzrt.reason<kind, source>)";
  pzrt::ReduceKind kind;
  switch (reduce.getReduction()) {
  case shard::ReductionKind::Sum:
    kind = pzrt::ReduceKind::sum;
    break;
  case shard::ReductionKind::Max:
    kind = pzrt::ReduceKind::max;
    break;
  default:
    return op->emitError() << "convert-pz-to-pzrt: the runtime reduces by sum or max, not "
                           << shard::stringifyReductionKind(reduce.getReduction());
  }
  if (reduce.getInput().getType() != reduce.getResult().getType())
    return op->emitError() << "convert-pz-to-pzrt: an all-reduce that converts "
                           << reduce.getInput().getType() << " to "
                           << reduce.getResult().getType() << " has no runtime call";
  auto t = llvm::dyn_cast<RankedTensorType>(reduce.getInput().getType());
  if (!t || !t.hasStaticShape())
    return op->emitError() << "convert-pz-to-pzrt: collective of type "
                           << reduce.getInput().getType() << " is not static";
  Value src = buffers.lookup(reduce.getInput());
  Operation *def = reduce.getInput().getDefiningOp();
  bool inPlace = def && !isViewOp(def) && !llvm::isa<ConstantOp>(def) &&
                 reduce.getInput().hasOneUse();
  Value dst = directOutput.lookup(reduce.getResult());
  if (!dst)
    dst = inPlace ? src : memref::AllocOp::create(b, op->getLoc(), bufferType(t)).getResult();
  buffers[reduce.getResult()] = dst;
  pzrt::AllReduceOp::create(b, op->getLoc(), /*request=*/Type(), kind, src, dst,
                            b.getArrayAttr(axes), reason, /*stream=*/1);
  return success();
}
