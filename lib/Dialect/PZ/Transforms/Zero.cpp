//===- Zero.cpp - dp_shard: ZeRO stages 1, 2 and 3, and HSDP ----------------===//
//
// Sharded data parallelism (ZeRO, Rajbhandari et al. 2020; FSDP). Each
// parameter is flattened and split into dp_shard = n chunks of
// c = ceil(N / n) elements (zero-padded), so that no dimension has to divide
// n; rank k of the dp_shard group owns elements [k c, (k+1) c) of every
// parameter's optimizer state (stage 1), gradient (stage 2) and parameter
// (stage 3). A bucket for a reduce-scatter holds chunk 0 of each of its
// tensors, then chunk 1, ... (ZeroUtils.h), so each rank receives its own.
//
// Stage 1 (@finalize_grads, @optimizer_step only): the finalized gradients
// are reduce-scattered in buckets (`zero.grad_reduce_scatter`), all-reduced
// over dp_replicate for HSDP (`hsdp.grad_all_reduce`) and averaged; each
// chunk goes to the leading c elements of its gradient's buffer
// (`pz.shard_prefix`).
// Stage 2: @forward_backward reduce-scatters each bucket right after the
// backward pass has produced its last gradient, and returns the chunks; the
// gradient and accumulator buffers are chunks; @finalize_grads averages
// (and, for HSDP, all-reduces) them once per step.
// Stage 3: parameters are chunks too (`pz.flat_shard`); @forward_backward
// all-gathers each layer's parameters before their first use in the
// forward pass and again before their first use in the backward pass
// (`zero3.param_gather`, "h.3 (forward)"), and the gathered copies die
// after their last use in that pass. Each gather is issued where the layer
// before it starts (prefetch), so that it overlaps that layer's compute.
// The reduce-scatters' chunks are sliced out before the return, so that
// each reduce-scatter overlaps the rest of the backward pass.
// @optimizer_step (every stage) updates the chunks: gradients and optimizer
// states are chunks (states: `pz.flat_shard`), the parameter's chunk is read
// with `pz.shard_chunk` below stage 3, the global norm's sum of squares is
// all-reduced over dp_shard (`zero.grad_norm`), and below stage 3 the
// updated chunks are all-gathered in buckets (`zero.param_all_gather`).
//
//===----------------------------------------------------------------------===//

#include "DataParallelUtils.h"
#include "StepFunctions.h"
#include "ZeroUtils.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"

#include "mlir/Analysis/TopologicalSortUtils.h"
#include "mlir/Dialect/Shard/IR/ShardDialect.h"
#include "llvm/ADT/MapVector.h"

#include <map>
#include <tuple>

namespace mlir::pz {
#define GEN_PASS_DEF_ZEROPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

#define DEBUG_TYPE "pz-zero"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::zero;

namespace {

constexpr StringLiteral kPass = "pz-zero";

/// The layer a parameter belongs to for stage 3's gathers: its name up to
/// the first all-digit component ("h.3.mlp.c_fc.weight" -> "h.3"), or the
/// whole name when it has none (FSDP wraps each transformer block).
std::string layerOf(StringRef name) {
  SmallVector<StringRef> parts;
  name.split(parts, '.');
  std::string key;
  for (StringRef p : parts) {
    key += (key.empty() ? "" : ".") + p.str();
    if (!p.empty() && llvm::all_of(p, llvm::isDigit))
      return key;
  }
  return name.str();
}

struct ZeroPass : public mlir::pz::impl::ZeroPassBase<ZeroPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // One instance runs on every pipeline stage's module in turn.
    layouts.clear();
    layoutIndex.clear();
    chunkArg.clear();
    grid = shard::GridOp();
    auto planAttr = module->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName);
    if (!planAttr)
      return;
    plan = planAttr.getPlan();
    // dp_shard alone or with dp_replicate (HSDP), after tp and cp
    // (pz-tensor-parallel: each rank's blocks, their gradients summed over
    // cp). pp is not built yet: such a module is left as it is and
    // `parallelize compile` refuses to generate code for it.
    if (plan.dpShard == 1 || plan.zero < 1 ||
        (plan.pp != 1 && !module->hasAttr(PZDialect::kStageAttrName)))
      return;
    auto lookup = [&](StringRef name) {
      auto fn = module.lookupSymbol<func::FuncOp>(name);
      return fn && !fn.isExternal() ? fn : func::FuncOp();
    };
    func::FuncOp fb = lookup("forward_backward"), acc = lookup("accumulate_grads"),
                 fin = lookup("finalize_grads"), opt = lookup("optimizer_step");
    if (!fb || !fin || !opt) {
      module.emitError() << kPass << ": ZeRO stage " << plan.zero
                         << " shards the training step, but the module lacks @forward_backward, "
                            "@finalize_grads or @optimizer_step (a forward-only graph, or "
                            "pz-build-grad-functions has not run)";
      return signalPassFailure();
    }
    FailureOr<shard::GridOp> g = dp::getOrCreateWorldGrid(module, plan, kPass);
    if (failed(g))
      return signalPassFailure();
    grid = *g;
    if (failed(collectLayouts(opt)))
      return signalPassFailure();
    if (plan.zero >= 3 && failed(gatherParameters(fb)))
      return signalPassFailure();
    if (plan.zero >= 2) {
      if (failed(scatterInBackward(fb)) || (acc && failed(chunkArguments(acc))) ||
          failed(chunkArguments(fin)))
        return signalPassFailure();
    }
    if (failed(finalizeGradients(fin)) || failed(shardOptimizer(opt)))
      return signalPassFailure();
  }

  //===--------------------------------------------------------------------===//
  // Layouts, buckets, reasons.
  //===--------------------------------------------------------------------===//

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

  /// The layout of a function argument's role name (pz.param, pz.grad,
  /// pz.accum, or the parameter of a pz.state "kind:param"), or null.
  const Layout *layoutOfArg(func::FuncOp fn, unsigned i) {
    for (StringRef kind :
         {PZDialect::kParamAttrName, PZDialect::kGradAttrName, PZDialect::kAccumAttrName}) {
      if (auto n = fn.getArgAttrOfType<StringAttr>(i, kind)) {
        auto it = layoutIndex.find(n);
        return it == layoutIndex.end() ? nullptr : &layouts[it->second];
      }
    }
    if (auto s = fn.getArgAttrOfType<StringAttr>(i, PZDialect::kStateAttrName)) {
      auto it = layoutIndex.find(StringAttr::get(fn.getContext(), s.getValue().split(':').second));
      return it == layoutIndex.end() ? nullptr : &layouts[it->second];
    }
    return nullptr;
  }

  Location locAt(func::FuncOp fn, const Twine &what) {
    return NameLoc::get(StringAttr::get(fn.getContext(), what), fn.getLoc());
  }

  /// Buckets over `ids` (indices into layouts) of n x c elements each, in
  /// the reverse order of `ids`.
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

  SmallVector<const Layout *> layoutsOf(ArrayRef<unsigned> ids) {
    SmallVector<const Layout *> out;
    for (unsigned id : ids)
      out.push_back(&layouts[id]);
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

  static std::string label(size_t i, size_t count) {
    return "bucket " + std::to_string(i + 1) + " of " + std::to_string(count);
  }

  Value reduceScatter(OpBuilder &b, Location at, Value packed, ArrayRef<unsigned> bucket,
                      const std::string &source) {
    int64_t total = 0;
    for (unsigned id : bucket)
      total += layouts[id].chunk;
    auto type = RankedTensorType::get({total}, layouts[bucket.front()].elem());
    auto scatter = shard::ReduceScatterOp::create(
        b, at, type, grid.getSymName(), ArrayRef<shard::GridAxis>{dp::kDpShardAxis}, packed,
        shard::ReductionKind::Sum, /*scatter_axis=*/APInt(64, 0));
    tag(scatter, "zero.grad_reduce_scatter", source, names(b, bucket));
    return scatter.getResult();
  }

  Value allGather(OpBuilder &b, Location at, Value packed, ArrayRef<unsigned> bucket,
                  StringRef kind, const std::string &source) {
    auto t = llvm::cast<RankedTensorType>(packed.getType());
    auto gather = shard::AllGatherOp::create(
        b, at, RankedTensorType::get({plan.dpShard * t.getDimSize(0)}, t.getElementType()),
        grid.getSymName(), ArrayRef<shard::GridAxis>{dp::kDpShardAxis}, packed,
        /*gather_axis=*/APInt(64, 0));
    tag(gather, kind, source, names(b, bucket));
    return gather.getResult();
  }

  /// The pz.flat_shard attribute of a chunk of `l`.
  DictionaryAttr flatShardAttr(OpBuilder &b, const Layout &l) {
    NamedAttrList info;
    info.set("shape", b.getDenseI64ArrayAttr(l.type.getShape()));
    info.set("grid_axes", b.getDenseI16ArrayAttr({dp::kDpShardAxis}));
    return info.getDictionary(b.getContext());
  }

  //===--------------------------------------------------------------------===//
  // Stage 3: parameters as chunks, gathered per layer in forward and backward.
  //===--------------------------------------------------------------------===//

  LogicalResult gatherParameters(func::FuncOp fn) {
    Block &body = fn.getBody().front();
    DenseMap<Operation *, unsigned> position;
    for (auto [i, op] : llvm::enumerate(body))
      position[&op] = i;
    // The forward pass ends at the op that computes the loss, or a pipeline
    // stage's activation (a stage before the last has no loss).
    std::optional<unsigned> forwardEnd;
    auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
    for (unsigned i = 0; i < fn.getNumResults(); ++i)
      if (isForwardResult(fn, i))
        if (Operation *def = ret.getOperand(i).getDefiningOp())
          forwardEnd = std::max(forwardEnd.value_or(0), position[def]);
    unsigned lossAt = forwardEnd.value_or(body.getOperations().size());

    // Per layer (in order of first use) and pass: the uses to redirect.
    struct Phase {
      SmallVector<unsigned> ids;             // the layer's parameters
      SmallVector<SmallVector<OpOperand *>> uses; // per id
      Operation *first = nullptr;
    };
    // (layer, backward, element type): one gather moves one element type.
    using PhaseKey = std::tuple<std::string, bool, std::string>;
    llvm::MapVector<PhaseKey, Phase, std::map<PhaseKey, unsigned>> phases;
    OpBuilder b(fn.getContext());
    SmallVector<Type> argTypes(fn.getArgumentTypes());
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      auto name = fn.getArgAttrOfType<StringAttr>(i, PZDialect::kParamAttrName);
      if (!name)
        continue;
      const Layout *l = layoutOfArg(fn, i);
      if (!l)
        continue; // no gradient (frozen, unused, a buffer): stays whole
      if (fn.getArgumentTypes()[i] != l->type)
        return fn.emitError() << kPass << ": parameter '" << name.getValue()
                              << "' of @forward_backward does not match @optimizer_step's";
      unsigned id = l - layouts.data();
      BlockArgument arg = body.getArgument(i);
      for (OpOperand &use : arg.getUses()) {
        Operation *user = use.getOwner();
        bool backward = position[user] > lossAt;
        std::string elem;
        llvm::raw_string_ostream(elem) << l->elem();
        Phase &p = phases[{layerOf(name.getValue()), backward, elem}];
        auto it = llvm::find(p.ids, id);
        if (it == p.ids.end()) {
          p.ids.push_back(id);
          p.uses.emplace_back();
          it = p.ids.end() - 1;
        }
        p.uses[it - p.ids.begin()].push_back(&use);
        if (!p.first || position[user] < position[p.first])
          p.first = user;
      }
      arg.setType(l->chunkType());
      argTypes[i] = l->chunkType();
      fn.setArgAttr(i, PZDialect::kFlatShardAttrName, flatShardAttr(b, *l));
      chunkArg[id] = arg;
    }
    // Prefetch: each phase's gather is issued where the phase before it
    // starts computing, so that it runs while that phase computes (after
    // pzrt-async-transfers); its parameters are unpacked where the phase
    // needs them: one phase ahead (a layer with several element types has
    // a phase per type, all prefetched together).
    SmallVector<std::pair<PhaseKey, Phase *>> order;
    for (auto &[key, p] : phases)
      order.push_back({key, &p});
    llvm::stable_sort(order, [&](const auto &x, const auto &y) {
      return position[x.second->first] < position[y.second->first];
    });
    for (auto [i, entry] : llvm::enumerate(order)) {
      auto &[key, pp] = entry;
      Phase &p = *pp;
      std::string source =
          std::get<0>(key) + (std::get<1>(key) ? " (backward)" : " (forward)");
      b.setInsertionPoint(i > 0 ? order[i - 1].second->first : p.first);
      Location at = locAt(fn, "zero3/" + source);
      SmallVector<Value> chunks;
      for (unsigned id : p.ids)
        chunks.push_back(chunkArg[id]);
      Value gathered =
          allGather(b, at, concat1D(b, at, chunks), p.ids, "zero3.param_gather", source);
      b.setInsertionPoint(p.first);
      SmallVector<Value> whole = unpackGathered(b, at, gathered, layoutsOf(p.ids), plan.dpShard);
      for (auto [j, uses] : llvm::enumerate(p.uses))
        for (OpOperand *use : uses)
          use->set(whole[j]);
    }
    fn.setFunctionType(FunctionType::get(fn.getContext(), argTypes, fn.getResultTypes()));
    return success();
  }

  //===--------------------------------------------------------------------===//
  // Stages 2 and 3: the gradients reduce-scattered as backward produces them.
  //===--------------------------------------------------------------------===//

  LogicalResult scatterInBackward(func::FuncOp fn) {
    Block &body = fn.getBody().front();
    auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
    DenseMap<Operation *, unsigned> position;
    for (auto [i, op] : llvm::enumerate(body))
      position[&op] = i;
    DenseMap<unsigned, unsigned> resultOf; // layout -> result index
    SmallVector<unsigned> ids;
    for (unsigned i = 0; i < fn.getNumResults(); ++i)
      if (auto n = fn.getResultAttrOfType<StringAttr>(i, PZDialect::kGradAttrName)) {
        auto it = layoutIndex.find(n);
        if (it == layoutIndex.end() || ret.getOperand(i).getType() != layouts[it->second].type)
          return fn.emitError() << kPass << ": gradient '" << n.getValue()
                                << "' of @forward_backward does not match its parameter";
        resultOf[it->second] = i;
        ids.push_back(it->second);
      }
    llvm::sort(ids);
    SmallVector<Value> results(ret.getOperands());
    SmallVector<SmallVector<unsigned>> bs = buckets(ids);
    OpBuilder b(fn.getContext()), tail(ret);
    for (auto [bi, bucket] : llvm::enumerate(bs)) {
      // Right after the op that produces the bucket's last gradient.
      Operation *last = nullptr;
      SmallVector<Value> grads;
      for (unsigned id : bucket) {
        Value g = results[resultOf[id]];
        grads.push_back(g);
        if (Operation *def = g.getDefiningOp(); def && (!last || position[def] > position[last]))
          last = def;
      }
      if (last)
        b.setInsertionPointAfter(last);
      else
        b.setInsertionPointToStart(&body);
      std::string source = label(bi, bs.size());
      Location at = locAt(fn, "zero/grads " + source);
      Value packed = packForScatter(b, at, grads, layoutsOf(bucket), plan.dpShard);
      Value sum = reduceScatter(b, at, packed, bucket, source);
      int64_t offset = 0;
      for (unsigned id : bucket) {
        results[resultOf[id]] = slice1D(tail, at, sum, offset, offset + layouts[id].chunk);
        offset += layouts[id].chunk;
      }
    }
    b.setInsertionPoint(ret);
    func::ReturnOp::create(b, ret.getLoc(), results);
    ret.erase();
    fn.setFunctionType(FunctionType::get(fn.getContext(), fn.getArgumentTypes(),
                                         ValueRange(results).getTypes()));
    return success();
  }

  /// Gradient and accumulator arguments become chunks; the elementwise body
  /// follows.
  LogicalResult chunkArguments(func::FuncOp fn) {
    Block &body = fn.getBody().front();
    SmallVector<Type> argTypes(fn.getArgumentTypes());
    SmallVector<Value> chunked;
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      if (!fn.getArgAttr(i, PZDialect::kGradAttrName) && !fn.getArgAttr(i, PZDialect::kAccumAttrName))
        continue;
      const Layout *l = layoutOfArg(fn, i);
      if (!l || argTypes[i] != l->type)
        return fn.emitError() << kPass << ": argument " << i << " of @" << fn.getSymName()
                              << " does not have its parameter's type";
      argTypes[i] = l->chunkType();
      body.getArgument(i).setType(argTypes[i]);
      chunked.push_back(body.getArgument(i));
    }
    fn.setFunctionType(FunctionType::get(fn.getContext(), argTypes, fn.getResultTypes()));
    return retype(fn, kPass, chunked);
  }

  //===--------------------------------------------------------------------===//
  // @finalize_grads: the chunks of the average.
  //===--------------------------------------------------------------------===//

  LogicalResult finalizeGradients(func::FuncOp fn) {
    Block &body = fn.getBody().front();
    auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
    int64_t n = plan.dpShard, m = plan.dpReplicate;
    bool scattered = plan.zero >= 2; // stage 1 reduce-scatters here
    DenseMap<unsigned, Value> finalized;
    SmallVector<std::pair<unsigned, AllFiniteOp>> checks;
    for (auto check : body.getOps<AllFiniteOp>()) {
      StringAttr name = dp::gradName(fn, check.getInput());
      auto it = name ? layoutIndex.find(name) : layoutIndex.end();
      Type want = it == layoutIndex.end() ? Type()
                  : scattered            ? Type(layouts[it->second].chunkType())
                                         : Type(layouts[it->second].type);
      if (it == layoutIndex.end() || check.getInput().getType() != want)
        return check.emitError() << kPass << ": cannot tell which gradient this check of "
                                            "@finalize_grads is for";
      finalized[it->second] = check.getInput();
      checks.push_back({it->second, check});
    }
    if (finalized.size() != layouts.size())
      return fn.emitError() << kPass << ": @finalize_grads checks " << finalized.size()
                            << " gradients, but the optimizer updates " << layouts.size()
                            << " parameters";

    OpBuilder b(ret);
    SmallVector<unsigned> all = llvm::to_vector(llvm::seq<unsigned>(0, layouts.size()));
    SmallVector<SmallVector<unsigned>> bs = buckets(all);
    DenseMap<unsigned, Value> chunks;
    for (auto [bi, bucket] : llvm::enumerate(bs)) {
      std::string source = label(bi, bs.size());
      Location at = locAt(fn, "zero/grads " + source);
      SmallVector<Value> values;
      for (unsigned id : bucket)
        values.push_back(finalized[id]);
      Type elem = layouts[bucket.front()].elem();
      if (scattered && m == 1) {
        // Already summed over dp_shard: average each chunk where it is.
        Value inv = scalarConstant(b, locAt(fn, "zero/ranks"), elem, 1.0 / n);
        for (unsigned id : bucket)
          chunks[id] = MulOp::create(b, at, finalized[id], inv);
        continue;
      }
      Value sum = scattered ? concat1D(b, at, values)
                            : reduceScatter(b, at,
                                            packForScatter(b, at, values, layoutsOf(bucket), n),
                                            bucket, source);
      if (m > 1) {
        auto reduce = shard::AllReduceOp::create(b, at, sum, grid.getSymName(),
                                                 ArrayRef<shard::GridAxis>{dp::kDpReplicateAxis},
                                                 shard::ReductionKind::Sum);
        tag(reduce, "hsdp.grad_all_reduce", source, names(b, bucket));
        sum = reduce.getResult();
      }
      Value mean =
          MulOp::create(b, at, sum, scalarConstant(b, locAt(fn, "zero/ranks"), elem, 1.0 / (n * m)));
      int64_t offset = 0;
      for (unsigned id : bucket) {
        chunks[id] = slice1D(b, at, mean, offset, offset + layouts[id].chunk);
        offset += layouts[id].chunk;
      }
    }
    // The numerics check reads this rank's chunk of the average.
    for (auto [id, check] : checks) {
      auto repl = AllFiniteOp::create(b, check.getLoc(), chunks[id]);
      check.getResult().replaceAllUsesWith(repl.getResult());
      check.erase();
    }
    // The results: each gradient's chunk (stage 1: into the leading
    // elements of its full buffer), in model order, then the rest.
    SmallVector<Value> results;
    SmallVector<DictionaryAttr> resultAttrs;
    for (auto [id, l] : llvm::enumerate(layouts)) {
      results.push_back(chunks[id]);
      NamedAttrList attrs;
      attrs.set(PZDialect::kGradAttrName, l.name);
      if (!scattered)
        attrs.set(PZDialect::kShardPrefixAttrName, b.getUnitAttr());
      resultAttrs.push_back(attrs.getDictionary(fn.getContext()));
    }
    for (unsigned i = 0; i < fn.getNumResults(); ++i) {
      if (fn.getResultAttrOfType<StringAttr>(i, PZDialect::kGradAttrName))
        continue;
      results.push_back(ret.getOperand(i));
      DictionaryAttr d = fn.getResultAttrDict(i);
      resultAttrs.push_back(d ? d : b.getDictionaryAttr({}));
    }
    func::ReturnOp::create(b, ret.getLoc(), results);
    ret.erase();
    fn.setFunctionType(FunctionType::get(fn.getContext(), fn.getArgumentTypes(),
                                         ValueRange(results).getTypes()));
    fn.setAllResultAttrs(resultAttrs);
    if (!sortTopologically(&body))
      return fn.emitError() << kPass << ": @finalize_grads has a cycle";
    return success();
  }

  //===--------------------------------------------------------------------===//
  // @optimizer_step: the update on chunks.
  //===--------------------------------------------------------------------===//

  LogicalResult shardOptimizer(func::FuncOp fn) {
    Block &body = fn.getBody().front();
    MLIRContext *ctx = fn.getContext();
    OpBuilder b(ctx);
    b.setInsertionPointToStart(&body);
    SmallVector<Type> argTypes(fn.getArgumentTypes());
    SmallVector<Value> chunked;
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      const Layout *l = layoutOfArg(fn, i);
      if (!l)
        continue;
      BlockArgument arg = body.getArgument(i);
      if (arg.getType() != l->type)
        return fn.emitError() << kPass << ": argument " << i
                              << " of @optimizer_step does not have its parameter's type";
      bool param = fn.getArgAttr(i, PZDialect::kParamAttrName) != nullptr;
      if (param && plan.zero < 3) {
        // The full (replicated) parameter: read this rank's chunk.
        Location at = locAt(fn, "zero/" + l->name.getValue());
        Value flat = flatten(b, at, arg, l->numel);
        auto chunk = ShardChunkOp::create(
            b, at, l->chunkType(), flat, FlatSymbolRefAttr::get(grid.getSymNameAttr()),
            b.getDenseI16ArrayAttr({dp::kDpShardAxis}), b.getI64IntegerAttr(plan.dpShard));
        arg.replaceAllUsesExcept(chunk.getResult(), flat.getDefiningOp() ? flat.getDefiningOp()
                                                                          : chunk.getOperation());
        chunked.push_back(chunk.getResult());
        continue;
      }
      arg.setType(l->chunkType());
      argTypes[i] = l->chunkType();
      chunked.push_back(arg);
      if (fn.getArgAttr(i, PZDialect::kGradAttrName)) {
        if (plan.zero == 1)
          fn.setArgAttr(i, PZDialect::kShardPrefixAttrName, b.getUnitAttr());
      } else {
        fn.setArgAttr(i, PZDialect::kFlatShardAttrName, flatShardAttr(b, *l));
      }
    }
    fn.setFunctionType(FunctionType::get(ctx, argTypes, fn.getResultTypes()));
    if (failed(retype(fn, kPass, chunked)))
      return failure();

    // The global norm: the sum of squares over every chunk.
    auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
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
    if (plan.zero >= 3)
      return success(); // the chunks are the parameters

    // Below stage 3: the updated chunks, all-gathered into the parameters.
    b.setInsertionPoint(ret);
    SmallVector<Value> results(ret.getOperands());
    DenseMap<unsigned, unsigned> resultOf;
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
    for (auto [bi, bucket] : llvm::enumerate(bs)) {
      std::string source = label(bi, bs.size());
      Location at = locAt(fn, "zero/params " + source);
      SmallVector<Value> chunks;
      for (unsigned id : bucket)
        chunks.push_back(results[resultOf[id]]);
      Value gathered =
          allGather(b, at, concat1D(b, at, chunks), bucket, "zero.param_all_gather", source);
      for (auto [id, whole] :
           llvm::zip(bucket, unpackGathered(b, at, gathered, layoutsOf(bucket), plan.dpShard)))
        results[resultOf[id]] = whole;
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
  DenseMap<unsigned, Value> chunkArg; // stage 3: each parameter's chunk argument
};

} // namespace
