//===- Zero.cpp - dp_shard: ZeRO stage 1 and HSDP ---------------------------===//
//
// Sharded data parallelism (ZeRO, Rajbhandari et al. 2020), stage 1: every
// rank holds the whole model and gradients, and the optimizer state of one
// chunk of every parameter. Each parameter is flattened and split into
// dp_shard chunks of c = ceil(N / dp_shard) elements (padded with zeros), so
// that no dimension has to divide dp_shard; rank k of the dp_shard group
// owns elements [k c, (k+1) c).
//
// @finalize_grads: the finalized gradients are packed into flat buckets,
// chunk k of every gradient of a bucket at position k (so that one
// reduce-scatter hands each rank its chunks), reduce-scattered over
// dp_shard (`zero.grad_reduce_scatter`), all-reduced over dp_replicate when
// it is > 1 (HSDP: `hsdp.grad_all_reduce`), averaged, and written into the
// leading c elements of each gradient's buffer (results marked
// `pz.shard_prefix`); the numerics check reads the chunks.
//
// @optimizer_step: gradients and optimizer states become the rank's chunks
// (states: `pz.flat_shard`, which the runtime allocates, checkpoints and
// reshards); each parameter's chunk is read with `pz.shard_chunk`; the sum
// of squares for the global gradient norm is all-reduced over dp_shard
// (`zero.grad_norm`); the updated chunks are all-gathered in buckets
// (`zero.param_all_gather`) and unpacked into the parameters.
//
//===----------------------------------------------------------------------===//

#include "DataParallelUtils.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

#include "mlir/Analysis/TopologicalSortUtils.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

namespace mlir::pz {
#define GEN_PASS_DEF_ZEROPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-zero"

using namespace mlir;
using namespace mlir::pz;

namespace {

constexpr StringLiteral kPass = "pz-zero";

/// How one parameter is sharded: N elements in chunks of c.
struct Layout {
  StringAttr name;
  RankedTensorType type; // the parameter's (and gradient's) type
  int64_t numel = 0;
  int64_t chunk = 0;     // c = ceil(numel / n)
  Type elem() const { return type.getElementType(); }
};

Value flatten(OpBuilder &b, Location loc, Value v, int64_t numel) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  if (t.getRank() == 1)
    return v;
  return ReshapeOp::create(b, loc, RankedTensorType::get({numel}, t.getElementType()), v,
                           b.getDenseI64ArrayAttr({numel}));
}

Value slice1D(OpBuilder &b, Location loc, Value v, int64_t begin, int64_t end) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  if (begin == 0 && end == t.getDimSize(0))
    return v;
  return SliceOp::create(b, loc, RankedTensorType::get({end - begin}, t.getElementType()), v,
                         b.getDenseI64ArrayAttr({begin}), b.getDenseI64ArrayAttr({end}),
                         b.getDenseI64ArrayAttr({1}));
}

Value concat1D(OpBuilder &b, Location loc, ArrayRef<Value> parts) {
  if (parts.size() == 1)
    return parts.front();
  int64_t total = 0;
  for (Value p : parts)
    total += llvm::cast<RankedTensorType>(p.getType()).getDimSize(0);
  Type elem = llvm::cast<RankedTensorType>(parts.front().getType()).getElementType();
  return ConcatOp::create(b, loc, RankedTensorType::get({total}, elem), parts,
                          b.getI64IntegerAttr(0));
}

Value scalarConstant(OpBuilder &b, Location loc, Type elem, double v) {
  auto t = RankedTensorType::get({}, elem);
  return ConstantOp::create(b, loc, DenseElementsAttr::get(t, b.getFloatAttr(elem, v)));
}

/// Sets each result type of the pz ops in `fn` to what its operands infer,
/// in order, after argument types changed. A reduction over every axis of
/// an operand whose rank changed reduces over every axis of the new one.
LogicalResult retype(func::FuncOp fn) {
  WalkResult r = fn.walk([&](Operation *op) -> WalkResult {
    if (!llvm::isa<PZDialect>(op->getDialect()))
      return WalkResult::advance();
    if (auto sum = llvm::dyn_cast<ReduceSumOp>(op)) {
      auto in = llvm::cast<RankedTensorType>(sum.getInput().getType());
      if (static_cast<int64_t>(sum.getAxes().size()) != in.getRank()) {
        auto axes = llvm::to_vector(llvm::seq<int64_t>(0, in.getRank()));
        sum.setAxes(axes);
      }
    }
    auto infer = llvm::dyn_cast<InferTypeOpInterface>(op);
    if (!infer)
      return WalkResult::advance();
    SmallVector<Type> inferred;
    if (failed(infer.inferReturnTypes(op->getContext(), op->getLoc(), op->getOperands(),
                                      op->getAttrDictionary(), op->getPropertiesStorage(),
                                      op->getRegions(), inferred)))
      return op->emitError() << kPass << ": cannot shard this op of @" << fn.getSymName();
    for (auto [res, t] : llvm::zip(op->getResults(), inferred))
      res.setType(t);
    return WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

struct ZeroPass : public mlir::pz::impl::ZeroPassBase<ZeroPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto planAttr = module->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName);
    if (!planAttr)
      return;
    plan = planAttr.getPlan();
    // Stage 1 over dp_shard, alone or with dp_replicate (HSDP). Other
    // stages and axes are not built yet: such a module is left as it is
    // and `parallelize compile` refuses to generate code for it.
    if (plan.dpShard == 1 || plan.zero != 1 || plan.tp != 1 || plan.cp != 1 || plan.pp != 1)
      return;
    auto fin = module.lookupSymbol<func::FuncOp>("finalize_grads");
    auto opt = module.lookupSymbol<func::FuncOp>("optimizer_step");
    if (!fin || fin.isExternal() || !opt || opt.isExternal()) {
      module.emitError() << kPass << ": ZeRO stage " << plan.zero
                         << " shards the optimizer, but the module has no @finalize_grads and "
                            "@optimizer_step (a forward-only graph, or "
                            "pz-build-grad-functions has not run)";
      return signalPassFailure();
    }
    FailureOr<shard::GridOp> g = dp::getOrCreateWorldGrid(module, plan, kPass);
    if (failed(g))
      return signalPassFailure();
    grid = *g;
    if (failed(collectLayouts(opt)) || failed(shardGradients(fin)) ||
        failed(shardOptimizer(opt)))
      return signalPassFailure();
  }

  /// One layout per parameter of @optimizer_step, in model order.
  LogicalResult collectLayouts(func::FuncOp opt) {
    int64_t n = plan.dpShard;
    for (unsigned i = 0; i < opt.getNumArguments(); ++i) {
      auto name = opt.getArgAttrOfType<StringAttr>(i, PZDialect::kParamAttrName);
      if (!name)
        continue;
      auto t = llvm::dyn_cast<RankedTensorType>(opt.getArgumentTypes()[i]);
      if (!t || !t.hasStaticShape() || !llvm::isa<FloatType>(t.getElementType()))
        return opt.emitError() << kPass << ": parameter '" << name.getValue()
                               << "' is not a static float tensor";
      int64_t numel = t.getNumElements();
      layoutIndex[name] = layouts.size();
      layouts.push_back({name, t, numel, (numel + n - 1) / n});
    }
    return success();
  }

  Location locAt(func::FuncOp fn, const Twine &what) {
    return NameLoc::get(StringAttr::get(fn.getContext(), what), fn.getLoc());
  }

  /// Buckets over `ids` (indices into layouts) of n x c elements each.
  SmallVector<SmallVector<unsigned>> buckets(ArrayRef<unsigned> ids) {
    SmallVector<dp::BucketItem> items;
    for (unsigned id : ids) {
      const Layout &l = layouts[id];
      items.push_back({l.elem(), plan.dpShard * l.chunk * dp::elementBytes(l.elem())});
    }
    SmallVector<SmallVector<unsigned>> out = dp::makeBuckets(items, plan.bucketMb << 20);
    for (auto &bucket : out)
      for (unsigned &i : bucket)
        i = ids[i];
    return out;
  }

  ArrayAttr names(OpBuilder &b, ArrayRef<unsigned> ids) {
    SmallVector<Attribute> out;
    for (unsigned id : ids)
      out.push_back(layouts[id].name);
    return b.getArrayAttr(out);
  }

  void tag(Operation *op, StringRef kind, const std::string &source, ArrayAttr bucket) {
    op->setAttr(dp::kCommAttrName, pzrt::ReasonAttr::get(op->getContext(), kind, source));
    if (bucket)
      op->setAttr(dp::kBucketAttrName, bucket);
  }

  //===--------------------------------------------------------------------===//
  // @finalize_grads: reduce-scatter (and, for HSDP, all-reduce) in buckets.
  //===--------------------------------------------------------------------===//

  LogicalResult shardGradients(func::FuncOp fn) {
    Block &body = fn.getBody().front();
    auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
    int64_t n = plan.dpShard, m = plan.dpReplicate;
    // The finalized gradient of each parameter: what its check reads.
    DenseMap<unsigned, Value> finalized;
    DenseMap<unsigned, AllFiniteOp> checks;
    for (auto check : body.getOps<AllFiniteOp>()) {
      StringAttr name = dp::gradName(fn, check.getInput());
      auto it = name ? layoutIndex.find(name) : layoutIndex.end();
      if (it == layoutIndex.end() || check.getInput().getType() != layouts[it->second].type)
        return check.emitError() << kPass << ": cannot tell which gradient this check of "
                                            "@finalize_grads is for";
      finalized[it->second] = check.getInput();
      checks[it->second] = check;
    }
    if (finalized.size() != layouts.size())
      return fn.emitError() << kPass << ": @finalize_grads checks " << finalized.size()
                            << " gradients, but the optimizer updates " << layouts.size()
                            << " parameters";

    OpBuilder b(ret);
    SmallVector<unsigned> all = llvm::to_vector(llvm::seq<unsigned>(0, layouts.size()));
    SmallVector<SmallVector<unsigned>> bs = buckets(all);
    DenseMap<unsigned, Value> shards;
    SmallPtrSet<Operation *, 32> packing;
    for (auto [bi, bucket] : llvm::enumerate(bs)) {
      std::string label = "bucket " + std::to_string(bi + 1) + " of " + std::to_string(bs.size());
      Location at = locAt(fn, "zero/grads " + label);
      Type elem = layouts[bucket.front()].elem();
      // Each gradient flat and padded to n x c; then chunk k of every
      // gradient of the bucket at position k.
      SmallVector<Value> padded;
      for (unsigned id : bucket) {
        const Layout &l = layouts[id];
        Value flat = flatten(b, at, finalized[id], l.numel);
        if (Operation *d = flat.getDefiningOp(); d && flat != finalized[id])
          packing.insert(d);
        if (n * l.chunk > l.numel) {
          auto zeros = ConstantOp::create(
              b, at,
              DenseElementsAttr::get(RankedTensorType::get({n * l.chunk - l.numel}, elem),
                                     b.getFloatAttr(elem, 0.0)));
          flat = concat1D(b, at, {flat, zeros});
        }
        padded.push_back(flat);
      }
      SmallVector<Value> parts;
      int64_t total = 0;
      if (bucket.size() == 1) {
        parts.push_back(padded.front());
        total = layouts[bucket.front()].chunk;
      } else {
        for (int64_t k = 0; k < n; ++k)
          for (auto [j, id] : llvm::enumerate(bucket)) {
            int64_t c = layouts[id].chunk;
            parts.push_back(slice1D(b, at, padded[j], k * c, (k + 1) * c));
            if (k == 0)
              total += c;
          }
      }
      Value packed = concat1D(b, at, parts);
      auto shardType = RankedTensorType::get({total}, elem);
      auto scatter = shard::ReduceScatterOp::create(
          b, at, shardType, grid.getSymName(), ArrayRef<shard::GridAxis>{dp::kDpShardAxis},
          packed, shard::ReductionKind::Sum, /*scatter_axis=*/APInt(64, 0));
      tag(scatter, "zero.grad_reduce_scatter", label, names(b, bucket));
      Value sum = scatter.getResult();
      if (m > 1) {
        auto reduce = shard::AllReduceOp::create(b, at, sum, grid.getSymName(),
                                                 ArrayRef<shard::GridAxis>{dp::kDpReplicateAxis},
                                                 shard::ReductionKind::Sum);
        tag(reduce, "hsdp.grad_all_reduce", label, names(b, bucket));
        sum = reduce.getResult();
      }
      Value mean = MulOp::create(b, at, sum,
                                 scalarConstant(b, locAt(fn, "zero/ranks"), elem, 1.0 / (n * m)));
      int64_t offset = 0;
      for (unsigned id : bucket) {
        shards[id] = slice1D(b, at, mean, offset, offset + layouts[id].chunk);
        offset += layouts[id].chunk;
      }
    }

    // The numerics check reads this rank's chunk of the average.
    for (auto [id, check] : checks) {
      OpBuilder cb(ret);
      auto repl = AllFiniteOp::create(cb, check.getLoc(), shards[id]);
      check.getResult().replaceAllUsesWith(repl.getResult());
      check.erase();
    }

    // The results: each gradient's chunk, into its buffer's leading
    // elements, in model order where the gradients were.
    SmallVector<Value> results;
    SmallVector<Type> resultTypes;
    SmallVector<DictionaryAttr> resultAttrs;
    for (auto [id, l] : llvm::enumerate(layouts)) {
      results.push_back(shards[id]);
      resultTypes.push_back(shards[id].getType());
      resultAttrs.push_back(b.getDictionaryAttr(
          {b.getNamedAttr(PZDialect::kGradAttrName, l.name),
           b.getNamedAttr(PZDialect::kShardPrefixAttrName, b.getUnitAttr())}));
    }
    for (unsigned i = 0; i < fn.getNumResults(); ++i) {
      if (fn.getResultAttrOfType<StringAttr>(i, PZDialect::kGradAttrName))
        continue;
      results.push_back(ret.getOperand(i));
      resultTypes.push_back(fn.getResultTypes()[i]);
      DictionaryAttr d = fn.getResultAttrDict(i);
      resultAttrs.push_back(d ? d : b.getDictionaryAttr({}));
    }
    func::ReturnOp::create(b, ret.getLoc(), results);
    ret.erase();
    fn.setFunctionType(FunctionType::get(fn.getContext(), fn.getArgumentTypes(), resultTypes));
    fn.setAllResultAttrs(resultAttrs);
    if (!sortTopologically(&body))
      return fn.emitError() << kPass << ": @finalize_grads has a cycle";
    return success();
  }

  //===--------------------------------------------------------------------===//
  // @optimizer_step: the update on chunks, the parameters all-gathered.
  //===--------------------------------------------------------------------===//

  LogicalResult shardOptimizer(func::FuncOp fn) {
    Block &body = fn.getBody().front();
    auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
    MLIRContext *ctx = fn.getContext();
    OpBuilder b(ctx);
    b.setInsertionPointToStart(&body);
    SmallVector<Type> argTypes(fn.getArgumentTypes());
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      BlockArgument arg = body.getArgument(i);
      auto kindName = [&](StringRef kind) { return fn.getArgAttrOfType<StringAttr>(i, kind); };
      if (StringAttr p = kindName(PZDialect::kParamAttrName)) {
        const Layout &l = layouts[layoutIndex.lookup(p)];
        Location at = locAt(fn, "zero/" + p.getValue());
        Value flat = flatten(b, at, arg, l.numel);
        auto chunk = ShardChunkOp::create(
            b, at, RankedTensorType::get({l.chunk}, l.elem()), flat,
            FlatSymbolRefAttr::get(grid.getSymNameAttr()),
            b.getDenseI16ArrayAttr({dp::kDpShardAxis}), b.getI64IntegerAttr(plan.dpShard));
        arg.replaceAllUsesExcept(chunk.getResult(), flat.getDefiningOp() ? flat.getDefiningOp()
                                                                          : chunk.getOperation());
        continue;
      }
      StringAttr g = kindName(PZDialect::kGradAttrName);
      StringAttr s = kindName(PZDialect::kStateAttrName);
      if (!g && !s)
        continue;
      StringRef owner = g ? g.getValue() : s.getValue().split(':').second;
      auto it = layoutIndex.find(StringAttr::get(ctx, owner));
      if (it == layoutIndex.end())
        return fn.emitError() << kPass << ": argument " << i << " of @optimizer_step ("
                              << (g ? g : s) << ") belongs to no parameter";
      const Layout &l = layouts[it->second];
      if (arg.getType() != l.type)
        return fn.emitError() << kPass << ": argument " << i << " of @optimizer_step ("
                              << (g ? g : s) << ") does not have its parameter's type";
      auto chunkType = RankedTensorType::get({l.chunk}, l.elem());
      arg.setType(chunkType);
      argTypes[i] = chunkType;
      if (g) {
        fn.setArgAttr(i, PZDialect::kShardPrefixAttrName, b.getUnitAttr());
      } else {
        NamedAttrList shardInfo;
        shardInfo.set("shape", b.getDenseI64ArrayAttr(l.type.getShape()));
        shardInfo.set("grid_axes", b.getDenseI16ArrayAttr({dp::kDpShardAxis}));
        fn.setArgAttr(i, PZDialect::kFlatShardAttrName, shardInfo.getDictionary(ctx));
      }
    }
    fn.setFunctionType(FunctionType::get(ctx, argTypes, fn.getResultTypes()));
    if (failed(retype(fn)))
      return failure();

    // The global norm: the sum of squares over every chunk.
    Value norm;
    for (unsigned i = 0; i < fn.getNumResults(); ++i)
      if (resultRole(fn, i) == Role::grad_norm)
        norm = ret.getOperand(i);
    auto sqrt = norm ? norm.getDefiningOp<SqrtOp>() : SqrtOp();
    if (!sqrt)
      return fn.emitError() << kPass << ": @optimizer_step's gradient norm is not the square "
                                        "root of a sum of squares";
    b.setInsertionPoint(sqrt);
    auto sumSq = shard::AllReduceOp::create(b, locAt(fn, "zero/grad_norm"), sqrt.getInput(),
                                            grid.getSymName(),
                                            ArrayRef<shard::GridAxis>{dp::kDpShardAxis},
                                            shard::ReductionKind::Sum);
    tag(sumSq, "zero.grad_norm", "sum of squares", {});
    sqrt.getInputMutable().assign(sumSq.getResult());

    // The updated parameter chunks, all-gathered in buckets.
    b.setInsertionPoint(ret);
    SmallVector<Value> results(ret.getOperands());
    DenseMap<unsigned, unsigned> resultOf; // layout -> result index
    SmallVector<unsigned> updated;
    for (unsigned i = 0; i < fn.getNumResults(); ++i)
      if (auto p = fn.getResultAttrOfType<StringAttr>(i, PZDialect::kParamAttrName)) {
        unsigned id = layoutIndex.lookup(p);
        resultOf[id] = i;
        updated.push_back(id);
      }
    // Model order, so that the first bucket holds the first layers.
    SmallVector<unsigned> order(updated.rbegin(), updated.rend());
    SmallVector<SmallVector<unsigned>> bs = buckets(order);
    int64_t n = plan.dpShard;
    for (auto [bi, bucket] : llvm::enumerate(bs)) {
      std::string label = "bucket " + std::to_string(bi + 1) + " of " + std::to_string(bs.size());
      Location at = locAt(fn, "zero/params " + label);
      SmallVector<Value> chunks;
      int64_t total = 0;
      for (unsigned id : bucket) {
        chunks.push_back(results[resultOf[id]]);
        total += layouts[id].chunk;
      }
      Value packed = concat1D(b, at, chunks);
      Type elem = layouts[bucket.front()].elem();
      auto gather = shard::AllGatherOp::create(
          b, at, RankedTensorType::get({n * total}, elem), grid.getSymName(),
          ArrayRef<shard::GridAxis>{dp::kDpShardAxis}, packed, /*gather_axis=*/APInt(64, 0));
      tag(gather, "zero.param_all_gather", label, names(b, bucket));
      int64_t offset = 0;
      for (unsigned id : bucket) {
        const Layout &l = layouts[id];
        Value whole = gather.getResult();
        if (bucket.size() > 1) {
          SmallVector<Value> parts;
          for (int64_t k = 0; k < n; ++k)
            parts.push_back(slice1D(b, at, whole, k * total + offset, k * total + offset + l.chunk));
          whole = concat1D(b, at, parts);
        }
        whole = slice1D(b, at, whole, 0, l.numel);
        if (l.type.getRank() != 1)
          whole = ReshapeOp::create(b, at, l.type, whole, b.getDenseI64ArrayAttr(l.type.getShape()));
        results[resultOf[id]] = whole;
        offset += l.chunk;
      }
    }
    func::ReturnOp::create(b, ret.getLoc(), results);
    ret.erase();
    fn.setFunctionType(FunctionType::get(ctx, argTypes, ValueRange(results).getTypes()));
    return success();
  }

  Plan plan;
  shard::GridOp grid;
  SmallVector<Layout> layouts;
  DenseMap<StringAttr, unsigned> layoutIndex;
};

} // namespace
