//===- DataParallelUtils.cpp - shared by the data-parallel plan passes ----===//

#include "DataParallelUtils.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::pz;

FailureOr<shard::GridOp> dp::getOrCreateWorldGrid(ModuleOp module, const Plan &plan,
                                                  StringRef pass) {
  SmallVector<int64_t> shape = {plan.pp, plan.dpReplicate, plan.dpShard, plan.cp, plan.tp};
  Operation *existing = module.lookupSymbol("world");
  if (auto g = llvm::dyn_cast_or_null<shard::GridOp>(existing)) {
    if (g.getShape() != ArrayRef<int64_t>(shape))
      return g.emitError() << pass << ": grid @world does not have the plan's shape "
                                      "pp x dp_replicate x dp_shard x cp x tp";
    return g;
  }
  if (existing)
    return existing->emitError() << pass
                                 << ": the symbol @world is taken by something that is not a grid";
  OpBuilder b(module.getBodyRegion());
  b.setInsertionPointToStart(module.getBody());
  return shard::GridOp::create(b, NameLoc::get(b.getStringAttr("world")), "world", shape);
}

StringRef dp::paramOf(DictionaryAttr attrs) {
  if (!attrs)
    return {};
  for (StringRef kind : {PZDialect::kParamAttrName, PZDialect::kGradAttrName,
                         PZDialect::kAccumAttrName})
    if (auto n = attrs.getAs<StringAttr>(kind))
      return n.getValue();
  if (auto n = attrs.getAs<StringAttr>(PZDialect::kStateAttrName))
    return n.getValue().split(':').second;
  return {};
}

Operation *dp::lossOp(func::FuncOp fn) {
  Operation *ret = fn.getBody().front().getTerminator();
  for (OpOperand &r : ret->getOpOperands())
    if (auto role = fn.getResultAttrOfType<RoleAttr>(r.getOperandNumber(),
                                                    PZDialect::kRoleAttrName);
        role && role.getValue() == Role::loss)
      return r.get().getDefiningOp();
  return nullptr;
}

StringAttr dp::gradName(func::FuncOp fn, Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (def->getNumOperands() == 0)
      return {};
    v = def->getOperand(0);
  }
  auto arg = llvm::cast<BlockArgument>(v);
  for (StringRef kind : {PZDialect::kGradAttrName, PZDialect::kAccumAttrName})
    if (auto n = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), kind))
      return n;
  return {};
}

SmallVector<SmallVector<unsigned>> dp::makeBuckets(ArrayRef<BucketItem> items,
                                                   int64_t capBytes) {
  SmallVector<SmallVector<unsigned>> buckets;
  int64_t bytes = 0;
  Type elem;
  for (int64_t i = static_cast<int64_t>(items.size()) - 1; i >= 0; --i) {
    const BucketItem &it = items[i];
    if (buckets.empty() || it.elementType != elem || bytes + it.bytes > capBytes) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().push_back(static_cast<unsigned>(i));
    bytes += it.bytes;
    elem = it.elementType;
  }
  return buckets;
}
