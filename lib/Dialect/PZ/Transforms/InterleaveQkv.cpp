//===- InterleaveQkv.cpp - a fused q/k/v projection laid out per tp rank --===//
//
// Megatron splits a fused QKV weight by heads: each tp rank holds its heads
// of q, of k and of v. A box split of the stored [3h, k] weight cannot say
// that (rank 0's rows would be all of q and half of k), so this pass
// reorders the rows of the program's weight before autodiff: W' holds the
// stored rows (i, r, j) (part i of g, rank r of n, row j of h / n) at
// (r, i, j). Rank r's contiguous block of W' is then its share of every
// part, and pz-tensor-parallel's column-parallel split of W' is the split
// by heads. The slices that took q, k and v out of the projection read
// the same reordering back. The stored tensor keeps the model's layout:
// `pz.split_groups` tells the emitter, and the runtime maps each block of
// W' to the g boxes of the stored tensor it holds.
// docs/design/0014-tensor-parallel.md.
//
//===----------------------------------------------------------------------===//

#include "InterleaveQkv.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"

namespace mlir::pz {
#define GEN_PASS_DEF_INTERLEAVEQKVPASS
#include "pz/Dialect/PZ/Transforms/Passes.h.inc"
} // namespace mlir::pz

using namespace mlir;
using namespace mlir::pz;

namespace {

/// A parameter (an argument with pz.param) with no use but `user`, or with
/// no use but its cast to the compute type (mixed precision) that has no use
/// but `user`.
StringAttr soleParam(Value v, Operation *user) {
  if (auto cast = v.getDefiningOp<CastOp>()) {
    if (!v.hasOneUse() || *v.getUsers().begin() != user)
      return {};
    return soleParam(cast.getInput(), cast);
  }
  auto arg = llvm::dyn_cast<BlockArgument>(v);
  if (!arg || !v.hasOneUse() || *v.getUsers().begin() != user)
    return {};
  auto fn = llvm::dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
  return fn ? fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), PZDialect::kParamAttrName)
            : StringAttr();
}

/// The fused projection of `mm`: its weight, bias and the g slices of its
/// output's last dim, when they are equal parts of it.
struct Fused {
  StringAttr weight, bias;
  int64_t weightDim = 0;      // W's dim of the output features
  Value out;                  // the projection (plus bias) the slices read
  SmallVector<SliceOp> parts; // in the order of their starts
};

std::optional<Fused> matchFused(MatmulOp mm) {
  auto w = llvm::dyn_cast<RankedTensorType>(mm.getRhs().getType());
  auto r = llvm::dyn_cast<RankedTensorType>(mm.getType());
  Fused f;
  f.weight = soleParam(mm.getRhs(), mm);
  if (!f.weight || !w || w.getRank() != 2 || !r || !r.hasStaticShape())
    return std::nullopt;
  f.weightDim = mm.getTransposeRhs() ? 0 : 1;
  f.out = mm.getResult();
  if (f.out.hasOneUse())
    if (auto add = llvm::dyn_cast<AddOp>(*f.out.getUsers().begin())) {
      Value other = add.getLhs() == f.out ? add.getRhs() : add.getLhs();
      auto bt = llvm::dyn_cast<RankedTensorType>(other.getType());
      f.bias = soleParam(other, add);
      if (!f.bias || !bt || bt.getRank() != 1 || add.getType() != r)
        return std::nullopt;
      f.out = add.getResult();
    }
  const int64_t rank = r.getRank(), features = r.getShape().back();
  for (Operation *user : f.out.getUsers()) {
    auto s = llvm::dyn_cast<SliceOp>(user);
    if (!s)
      return std::nullopt;
    for (int64_t d = 0; d + 1 < rank; ++d)
      if (s.getStarts()[d] != 0 || s.getEnds()[d] != r.getDimSize(d) || s.getSteps()[d] != 1)
        return std::nullopt;
    if (s.getSteps()[rank - 1] != 1)
      return std::nullopt;
    f.parts.push_back(s);
  }
  llvm::sort(f.parts, [&](SliceOp a, SliceOp b) {
    return a.getStarts()[rank - 1] < b.getStarts()[rank - 1];
  });
  const int64_t g = f.parts.size();
  if (g < 2 || features % g != 0)
    return std::nullopt;
  const int64_t h = features / g;
  for (auto [i, s] : llvm::enumerate(f.parts))
    if (s.getStarts()[rank - 1] != static_cast<int64_t>(i) * h ||
        s.getEnds()[rank - 1] != static_cast<int64_t>(i + 1) * h)
      return std::nullopt;
  return f;
}

struct InterleaveQkvPass : public mlir::pz::impl::InterleaveQkvPassBase<InterleaveQkvPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto plan = module->getAttrOfType<PlanAttr>(PZDialect::kPlanAttrName);
    if (!plan || plan.getPlan().tp == 1)
      return;
    const int64_t n = plan.getPlan().tp;
    NamedAttrList groups;
    if (auto old = module->getAttrOfType<DictionaryAttr>(PZDialect::kSplitGroupsAttrName))
      groups.append(old.getValue());
    SmallVector<Fused> found;
    module.walk([&](MatmulOp mm) {
      if (std::optional<Fused> f = matchFused(mm))
        found.push_back(*f);
    });
    for (Fused &f : found) {
      const int64_t g = f.parts.size();
      const int64_t h = llvm::cast<RankedTensorType>(f.out.getType()).getShape().back() / g;
      if (h % n != 0) {
        f.parts.front().emitRemark()
            << "pz-interleave-qkv: the fused projection '" << f.weight.getValue() << "' has "
            << g << " parts of " << h << " features, which tp = " << n
            << " does not divide: it stays fused (and tp keeps it whole)";
        continue;
      }
      rewrite(f, n);
      Builder b(&getContext());
      groups.set(f.weight, b.getDenseI64ArrayAttr({g, f.weightDim}));
      if (f.bias)
        groups.set(f.bias, b.getDenseI64ArrayAttr({g, 0}));
    }
    if (!groups.empty())
      module->setAttr(PZDialect::kSplitGroupsAttrName, groups.getDictionary(&getContext()));
  }

  /// Part i of g becomes: reshape the output's features to [n, g, h / n],
  /// take [.., i, ..] and reshape back to h.
  static void rewrite(Fused &f, int64_t n) {
    auto t = llvm::cast<RankedTensorType>(f.out.getType());
    const int64_t g = f.parts.size(), h = t.getShape().back() / g, rank = t.getRank();
    OpBuilder b(f.parts.front());
    b.setInsertionPointAfterValue(f.out);
    Location loc = f.out.getLoc();
    SmallVector<int64_t> split(t.getShape().drop_back());
    split.append({n, g, h / n});
    Value byRank = ReshapeOp::create(b, loc, RankedTensorType::get(split, t.getElementType()),
                                     f.out, b.getDenseI64ArrayAttr(split));
    for (auto [i, s] : llvm::enumerate(f.parts)) {
      b.setInsertionPoint(s);
      SmallVector<int64_t> starts(rank + 2, 0), ends(split), steps(rank + 2, 1), one(split);
      starts[rank] = i;
      ends[rank] = i + 1;
      one[rank] = 1;
      Value part = SliceOp::create(b, s.getLoc(), RankedTensorType::get(one, t.getElementType()),
                                   byRank, b.getDenseI64ArrayAttr(starts),
                                   b.getDenseI64ArrayAttr(ends), b.getDenseI64ArrayAttr(steps));
      auto type = llvm::cast<RankedTensorType>(s.getType());
      Value back = ReshapeOp::create(b, s.getLoc(), type, part,
                                     b.getDenseI64ArrayAttr(type.getShape()));
      s.getResult().replaceAllUsesWith(back);
      s.erase();
    }
  }
};

} // namespace

namespace {

/// v reordered along dim d from [from0, from1, b] to [from1, from0, b]
/// (a reshape, a transpose of the two, a reshape back).
Value swapFactors(OpBuilder &b, Location loc, Value v, int64_t d, int64_t from0, int64_t from1) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> split(t.getShape().take_front(d));
  split.append({from0, from1, t.getDimSize(d) / (from0 * from1)});
  split.append(t.getShape().begin() + d + 1, t.getShape().end());
  SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, split.size()));
  std::swap(perm[d], perm[d + 1]);
  SmallVector<int64_t> swapped(split);
  std::swap(swapped[d], swapped[d + 1]);
  Value x = ReshapeOp::create(b, loc, RankedTensorType::get(split, t.getElementType()), v,
                              b.getDenseI64ArrayAttr(split));
  x = TransposeOp::create(b, loc, RankedTensorType::get(swapped, t.getElementType()), x,
                          b.getDenseI64ArrayAttr(perm));
  return ReshapeOp::create(b, loc, t, x, b.getDenseI64ArrayAttr(t.getShape()));
}

} // namespace

void mlir::pz::restoreStoredLayout(func::FuncOp fn, int64_t tp,
                                   llvm::function_ref<bool(StringRef)> isWhole) {
  auto module = fn->getParentOfType<ModuleOp>();
  auto groups = module->getAttrOfType<DictionaryAttr>(PZDialect::kSplitGroupsAttrName);
  if (!groups)
    return;
  NamedAttrList kept;
  Block &body = fn.getBody().front();
  auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
  OpBuilder b(fn.getContext());
  for (NamedAttribute e : groups) {
    StringRef name = e.getName().getValue();
    if (!isWhole(name)) {
      kept.push_back(e);
      continue;
    }
    auto gd = llvm::cast<DenseI64ArrayAttr>(e.getValue());
    const int64_t g = gd[0], d = gd[1];
    for (BlockArgument a : body.getArguments())
      if (auto p = fn.getArgAttrOfType<StringAttr>(a.getArgNumber(), PZDialect::kParamAttrName);
          p && p.getValue() == name && !a.use_empty()) {
        // Reordered where each use reads it, so that the forward and the
        // backward pass read the parameter itself (ZeRO 3 gathers it per
        // pass) and no reordered copy lives across the step.
        SmallVector<OpOperand *> uses;
        for (OpOperand &u : a.getUses())
          uses.push_back(&u);
        for (OpOperand *u : uses) {
          b.setInsertionPoint(u->getOwner());
          u->set(swapFactors(b, a.getLoc(), a, d, g, tp)); // [g, n, b] -> [n, g, b]
        }
      }
    for (OpOperand &r : ret->getOpOperands())
      if (auto gr = fn.getResultAttrOfType<StringAttr>(r.getOperandNumber(),
                                                       PZDialect::kGradAttrName);
          gr && gr.getValue() == name) {
        b.setInsertionPoint(ret);
        r.set(swapFactors(b, r.get().getLoc(), r.get(), d, tp, g)); // back to [g, n, b]
      }
  }
  if (kept.empty())
    module->removeAttr(PZDialect::kSplitGroupsAttrName);
  else
    module->setAttr(PZDialect::kSplitGroupsAttrName, kept.getDictionary(fn.getContext()));
}
