//===- SplitRules.cpp - how each pz op carries splits forward -------------===//
//
// The rule table of forwardSplits (SplitRules.h). A split never needs a
// rank's coordinate to be made: an operand is either split as its producer
// left it or all-gathered whole, never sliced out of a whole value; only
// undecided operands (parameters at their first use, splat constants) take
// a split the op chooses. A split loop that several values index is split
// only when every decided value is split alike on it.
//
//===----------------------------------------------------------------------===//

#include "pz/Dialect/PZ/Sharding/SplitRules.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/Dialect/Shard/Interfaces/ShardingInterface.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::pz;

namespace mlir::pz::sharding {

DimAxes wholeAxes(Value v) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  return DimAxes(t ? t.getRank() : 0, kWhole);
}

bool isWhole(ArrayRef<int16_t> axes) {
  return llvm::all_of(axes, [](int16_t a) { return a == kWhole; });
}

SmallVector<int16_t, 2> SplitContext::gridAxes(int16_t a) const {
  if (a == kWhole)
    return {};
  if (a == kContextTensor)
    return {contextAxis, columnAxis};
  return {a};
}

int16_t SplitContext::splitOf(ArrayRef<int16_t> axes) const {
  if (axes.empty())
    return kWhole;
  return axes.size() == 1 ? axes[0] : kContextTensor;
}

int64_t SplitContext::ranks(int16_t a) const {
  int64_t n = 1;
  for (int16_t g : gridAxes(a))
    n *= gridShape[g];
  return n;
}

bool SplitContext::overlap(int16_t a, int16_t b) const {
  SmallVector<int16_t, 2> ga = gridAxes(a);
  return llvm::any_of(gridAxes(b), [&](int16_t g) { return llvm::is_contained(ga, g); });
}

int64_t sequenceDim(Value v, const SplitContext &ctx) {
  auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
  if (ctx.sequenceAxis == kWhole || !t || t.getRank() < 3)
    return -1;
  bool batch = t.getDimSize(0) == ctx.batch || t.getDimSize(0) == 1;
  return batch && t.getDimSize(1) == ctx.seq ? 1 : -1;
}

bool isSequenceSplit(Value v, ArrayRef<int16_t> axes, const SplitContext &ctx) {
  return sequenceDim(v, ctx) == 1 && axes.size() > 1 && axes[1] == ctx.sequenceAxis;
}

namespace {

RankedTensorType typeOf(Value v) { return llvm::dyn_cast<RankedTensorType>(v.getType()); }

OpSplits allWhole(Operation *op) {
  OpSplits s;
  for (Value v : op->getOperands())
    s.operands.push_back(wholeAxes(v));
  for (Value v : op->getResults())
    s.results.push_back(wholeAxes(v));
  return s;
}

/// Each grid axis splits at most one loop: a later loop on a used axis is
/// whole.
void dropRepeatedAxes(MutableArrayRef<int16_t> loops, const SplitContext &ctx) {
  for (auto [i, a] : llvm::enumerate(loops))
    if (llvm::any_of(loops.take_front(i), [&](int16_t b) { return ctx.overlap(a, b); }))
      a = kWhole;
}

/// A loop's axis from the values indexing it: the axis every decided value
/// agrees on, whole when they disagree or none is decided. A sequence
/// split (isSequenceSplit) is a weak vote: it splits the loop only where no
/// other value splits it, and only when no other loop of the op takes its
/// axis (resolveLoops).
struct LoopVote {
  std::optional<int16_t> axis, weak, context;
  bool conflict = false, seen = false, weakConflict = false;
  void add(int16_t a) {
    if (seen && axis != a)
      conflict = true;
    seen = true;
    axis = a;
  }
  void addWeak(int16_t a) {
    if (weak && weak != a)
      weakConflict = true;
    weak = a;
  }
  /// A context split (over cp) beats whole votes; with a split over
  /// another axis on the loop, the loop is whole.
  void addContext(int16_t a) { context = a; }
  int16_t result() const {
    if (context)
      return !seen || (!conflict && *axis == kWhole) ? *context : kWhole;
    return !seen || conflict ? kWhole : *axis;
  }
  /// The sequence split, where the strong votes leave the loop whole: when
  /// no value splits it otherwise and, unless `beatsWhole`, none takes it
  /// whole.
  int16_t weakResult(bool beatsWhole) const {
    if (!weak || weakConflict || conflict || (seen && (*axis != kWhole || !beatsWhole)))
      return kWhole;
    return *weak;
  }
};

/// Adds each operand dim's vote: weak for a sequence split (which under
/// cp also votes for cp's split: the sequence, yielding, stays split over
/// cp).
void vote(LoopVote &v, Value operand, ArrayRef<int16_t> axes, int64_t d, const SplitContext &ctx) {
  if (d == 1 && isSequenceSplit(operand, axes, ctx)) {
    v.addWeak(axes[d]);
    if (axes[d] == kContextTensor)
      v.addContext(ctx.contextAxis);
  } else if (axes[d] != kWhole && axes[d] == ctx.contextAxis)
    v.addContext(axes[d]);
  else
    v.add(axes[d]);
}

/// The weak votes where they are not overruled: each on a loop the strong
/// votes left whole (or split over cp only, for a sequence split over cp
/// and tp; `skip(l)`: a loop that must stay whole), on axes no other loop
/// takes yet.
void addWeakVotes(MutableArrayRef<int16_t> loops, ArrayRef<LoopVote> votes, bool beatsWhole,
                  const SplitContext &ctx, llvm::function_ref<bool(unsigned)> skip) {
  for (auto [l, v] : llvm::enumerate(votes)) {
    int16_t w = v.weakResult(beatsWhole);
    bool open = loops[l] == kWhole || (w == kContextTensor && loops[l] == ctx.contextAxis);
    bool taken = llvm::any_of(llvm::enumerate(loops), [&](auto o) {
      return o.index() != l && ctx.overlap(o.value(), w);
    });
    if (open && w != kWhole && !skip(l) && !taken)
      loops[l] = w;
  }
}

/// Element maps (and the optimizer updates, which are element maps over
/// parameter-shaped values and scalars): operands broadcast numpy-style
/// into the result's dims; a stretched size-1 dim is whole.
OpSplits elementSplits(Operation *op, ArrayRef<OperandAxes> operands, const SplitContext &ctx) {
  RankedTensorType r = typeOf(op->getResult(0));
  if (!r)
    return allWhole(op);
  SmallVector<LoopVote> votes(r.getRank());
  auto lead = [&](Value v) { return r.getRank() - typeOf(v).getRank(); };
  for (auto [v, axes] : llvm::zip(op->getOperands(), operands)) {
    RankedTensorType t = typeOf(v);
    if (!t || t.getRank() > r.getRank())
      return allWhole(op);
    for (int64_t d = 0; axes && d < t.getRank(); ++d)
      if (!(t.getDimSize(d) == 1 && r.getDimSize(lead(v) + d) != 1))
        vote(votes[lead(v) + d], v, *axes, d, ctx);
  }
  DimAxes loops;
  for (const LoopVote &v : votes)
    loops.push_back(v.result());
  // A sequence split beats a whole operand here: the whole one is sliced
  // locally (the hidden states plus a position embedding).
  addWeakVotes(loops, votes, /*beatsWhole=*/true, ctx, [](unsigned) { return false; });
  dropRepeatedAxes(loops, ctx);
  OpSplits s;
  for (Value v : op->getOperands()) {
    RankedTensorType t = typeOf(v);
    DimAxes a(t.getRank(), kWhole);
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (!(t.getDimSize(d) == 1 && r.getDimSize(lead(v) + d) != 1))
        a[d] = loops[lead(v) + d];
    s.operands.push_back(a);
  }
  for (Value v : op->getResults())
    s.results.push_back(typeOf(v) && typeOf(v).getRank() == r.getRank() ? loops : wholeAxes(v));
  return s;
}

/// Ops with loops and indexing maps (matmul, transpose, sums, softmax, the
/// norms): a loop is split as the decided values indexing it agree; a split
/// reduction loop is a partial sum that the op's partition all-reduces,
/// which only the ops with `partialSums` take. `columnAxis`: the axis of
/// the matmul column rule.
OpSplits mapSplits(Operation *op, ArrayRef<OperandAxes> operands, bool partialSums,
                   const SplitContext &ctx) {
  auto iface = llvm::cast<shard::ShardingInterface>(op);
  SmallVector<utils::IteratorType> types = iface.getLoopIteratorTypes();
  SmallVector<AffineMap> maps = iface.getIndexingMaps();
  if (maps.size() != op->getNumOperands() + op->getNumResults())
    return allWhole(op);
  SmallVector<LoopVote> votes(types.size());
  for (auto [i, axes] : llvm::enumerate(operands)) {
    for (unsigned d = 0; axes && d < maps[i].getNumResults(); ++d)
      if (auto e = llvm::dyn_cast<AffineDimExpr>(maps[i].getResult(d)))
        vote(votes[e.getPosition()], op->getOperand(i), *axes, d, ctx);
  }
  DimAxes loops;
  for (auto [l, v] : llvm::enumerate(votes))
    loops.push_back(types[l] == utils::IteratorType::reduction && !partialSums ? kWhole
                                                                              : v.result());
  // Megatron's column-parallel linear: an undecided weight on the right of
  // a matmul whose input does not split its contraction takes the output
  // columns (n, the loop before k) when they divide.
  if (auto mm = llvm::dyn_cast<MatmulOp>(op); mm && ctx.columnAxis != kWhole && !operands[1] &&
                                                 operands[0] && loops.back() == kWhole) {
    unsigned n = loops.size() - 2;
    int64_t size = typeOf(mm.getResult()).getShape().back();
    if (loops[n] == kWhole && size % ctx.gridShape[ctx.columnAxis] == 0 &&
        !llvm::is_contained(loops, ctx.columnAxis))
      loops[n] = ctx.columnAxis;
  }
  // Sequence splits last: a column-parallel weight or any other split over
  // the axis all-gathers the sequence instead.
  if (!ctx.wholeSequence || !ctx.wholeSequence->contains(op))
    addWeakVotes(loops, votes, /*beatsWhole=*/false, ctx, [&](unsigned l) {
      return types[l] == utils::IteratorType::reduction && !partialSums;
    });
  dropRepeatedAxes(loops, ctx);
  OpSplits s;
  for (auto [i, map] : llvm::enumerate(maps)) {
    DimAxes a;
    for (AffineExpr e : map.getResults()) {
      auto dim = llvm::dyn_cast<AffineDimExpr>(e);
      a.push_back(dim ? loops[dim.getPosition()] : kWhole);
    }
    (i < op->getNumOperands() ? s.operands : s.results).push_back(a);
  }
  return s;
}

/// pz.reshape: dims pair into groups of equal products; a group keeps the
/// split of its input's major dim when that dim is the only split one of
/// the group and the split divides the result's major dim.
OpSplits reshapeSplits(ReshapeOp op, const OperandAxes &in, const SplitContext &ctx) {
  RankedTensorType it = typeOf(op.getInput()), ot = typeOf(op.getResult());
  OpSplits s = allWhole(op);
  if (!in || !it || !ot || !it.hasStaticShape() || !ot.hasStaticShape() ||
      it.getNumElements() == 0)
    return s;
  int64_t i = 0, j = 0, ri = it.getRank(), rj = ot.getRank();
  while (i < ri || j < rj) {
    if (i < ri && it.getDimSize(i) == 1 && (j == rj || ot.getDimSize(j) != 1)) {
      ++i;
      continue;
    }
    if (j < rj && ot.getDimSize(j) == 1 && (i == ri || it.getDimSize(i) != 1)) {
      ++j;
      continue;
    }
    int64_t gi = i, gj = j, pi = it.getDimSize(i++), pj = ot.getDimSize(j++);
    while (pi != pj) {
      if (pi < pj && i < ri)
        pi *= it.getDimSize(i++);
      else if (pj < pi && j < rj)
        pj *= ot.getDimSize(j++);
      else
        return allWhole(op);
    }
    int16_t a = (*in)[gi];
    bool onlyMajor = true;
    for (int64_t k = gi + 1; k < i; ++k)
      onlyMajor &= (*in)[k] == kWhole;
    if (a != kWhole && onlyMajor && it.getDimSize(gi) % ctx.ranks(a) == 0 &&
        ot.getDimSize(gj) % ctx.ranks(a) == 0) {
      s.operands[0][gi] = a;
      s.results[0][gj] = a;
    }
  }
  return s;
}

/// pz.slice (over its input's shape) and pz.slice_grad (over the shape it
/// scatters into): a dim taken whole keeps its split; a sliced dim is whole.
OpSplits sliceSplits(Operation *op, ArrayRef<int64_t> shape, ArrayRef<int64_t> starts,
                     ArrayRef<int64_t> ends, ArrayRef<int64_t> steps, const OperandAxes &in) {
  OpSplits s = allWhole(op);
  if (!in || ShapedType::isDynamicShape(shape))
    return s;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d)
    if (starts[d] == 0 && ends[d] == shape[d] && steps[d] == 1) {
      s.operands[0][d] = (*in)[d];
      s.results[0][d] = (*in)[d];
    }
  return s;
}

/// pz.concat: the dims other than the joined one, as the decided inputs
/// agree.
OpSplits concatSplits(ConcatOp op, ArrayRef<OperandAxes> operands, const SplitContext &ctx) {
  RankedTensorType r = typeOf(op.getResult());
  if (!r)
    return allWhole(op);
  SmallVector<LoopVote> votes(r.getRank());
  for (const OperandAxes &a : operands)
    for (int64_t d = 0; a && d < r.getRank(); ++d)
      votes[d].add((*a)[d]);
  DimAxes dims;
  for (auto [d, v] : llvm::enumerate(votes))
    dims.push_back(d == op.getAxis() ? kWhole : v.result());
  dropRepeatedAxes(dims, ctx);
  OpSplits s;
  s.operands.assign(op->getNumOperands(), dims);
  s.results.push_back(dims);
  return s;
}

/// The vocabulary-parallel ops (VocabModels.cpp): an undecided table of
/// pz.embedding takes the split of its rows over the column axis when the
/// axis divides them, and so does the gradient pz.embedding_grad makes;
/// cross-entropy and its gradient keep logits split on the classes.
OpSplits vocabSplits(Operation *op, ArrayRef<OperandAxes> operands, const SplitContext &ctx) {
  OpSplits s = allWhole(op);
  auto divides = [&](int64_t v) {
    return ctx.columnAxis != kWhole && v % ctx.gridShape[ctx.columnAxis] == 0;
  };
  // Only a word embedding is split: a table looked up by data (not at
  // constant ids, as positions are) with at least as many rows as columns
  // (not a segment or type table); the table and its gradient agree.
  auto wordTable = [&](Value ids, int64_t rows, int64_t cols) {
    return divides(rows) && rows >= cols && !ids.getDefiningOp<ConstantOp>();
  };
  // Context parallelism: token dims split over cp carry from the ids to
  // the rows (and back: the cotangent's rows and the ids split alike make
  // a partial sum of the table's gradient).
  auto contextSplit = [&](const OperandAxes &a) {
    return a && ctx.contextAxis != kWhole &&
           llvm::any_of(*a, [&](int16_t x) { return ctx.overlap(x, ctx.contextAxis); });
  };
  if (auto e = llvm::dyn_cast<EmbeddingOp>(op)) {
    RankedTensorType t = typeOf(e.getTable());
    if (!operands[0] && wordTable(e.getIds(), t.getDimSize(0), t.getDimSize(1)))
      s.operands[0][0] = ctx.columnAxis;
    else if (operands[0] && (*operands[0])[1] == kWhole)
      s.operands[0][0] = (*operands[0])[0];
    if (contextSplit(operands[1])) {
      s.operands[1] = *operands[1];
      llvm::copy(*operands[1], s.results[0].begin());
    }
    return s;
  }
  if (auto g = llvm::dyn_cast<EmbeddingGradOp>(op)) {
    if (wordTable(g.getIds(), g.getVocab(), typeOf(g.getResult()).getDimSize(1)))
      s.results[0][0] = ctx.columnAxis;
    // The rows as the cotangent's (the ids, whole or split, follow).
    // (A sequence split over cp and tp gathers over tp.)
    if (contextSplit(operands[0]) && operands[0]->back() == kWhole) {
      s.operands[0] = *operands[0];
      std::replace(s.operands[0].begin(), s.operands[0].end(), kContextTensor, ctx.contextAxis);
      s.operands[1].assign(s.operands[0].begin(), s.operands[0].end() - 1);
    }
    return s;
  }
  unsigned logits = llvm::isa<CrossEntropyOp>(op) ? 0 : 1;
  const OperandAxes &in = operands[logits];
  if (!in || in->empty())
    return s;
  // The rows may be split over cp (the losses are then summed over it),
  // the classes over the vocabulary's axis.
  DimAxes classes(in->size(), kWhole);
  classes.back() = in->back();
  for (size_t d = 0; d + 1 < in->size(); ++d)
    if ((*in)[d] != kWhole && (*in)[d] == ctx.contextAxis)
      classes[d] = (*in)[d];
  if (*in != classes || isWhole(classes))
    return s;
  s.operands[logits] = classes;
  s.operands[logits + 1].assign(classes.begin(), classes.end() - 1); // the labels
  if (llvm::isa<CrossEntropyGradOp>(op))
    s.results[0] = classes;
  else if (llvm::cast<CrossEntropyOp>(op).getReduction() == Reduction::none)
    s.results[0].assign(classes.begin(), classes.end() - 1);
  return s;
}

/// The norms' gradients: the rows (the dims before the normalized ones) of
/// the cotangent and the input split alike carry to the input's gradient;
/// the scale and its gradients are whole (summed over split rows by the
/// partition).
template <typename Op>
OpSplits normGradSplits(Op op, ArrayRef<OperandAxes> operands, const SplitContext &ctx) {
  OpSplits s = allWhole(op);
  if (!operands[0] || !operands[1] || *operands[0] != *operands[1])
    return s;
  DimAxes rows = *operands[1];
  for (int64_t d = op.getAxis(); d < static_cast<int64_t>(rows.size()); ++d)
    rows[d] = kWhole;
  s.operands[0] = s.operands[1] = s.results[0] = rows;
  dropRepeatedAxes(s.results[0], ctx);
  if (s.results[0] != rows)
    return allWhole(op);
  return s;
}

/// Attention and its gradient: the heads (dim 1) split alike on the query,
/// key and value (and, for the gradient, the cotangent), every other dim
/// whole, carry to the results; a mask must not index the heads. With more
/// ranks than kv heads (a multiple of them), the query's heads split and
/// the key and value whole: each rank reads the kv head its query heads
/// share (Megatron's kv replication; AttentionModel in BoxModels.cpp), and
/// the key and value gradients come out whole.
///
/// Context parallelism: the query-shaped values (query, cotangent, result,
/// query gradient) keep a split of the query's sequence (dim 2) over cp;
/// the key and value are taken whole along theirs (all-gathered), and so is
/// a mask's key dim, while its query dim is split as the query's. The key
/// and value gradients are then partial sums over cp (AttentionModel).
OpSplits attentionSplits(Operation *op, Value query, Value key, Value value, Value mask,
                         Value bias, ArrayRef<OperandAxes> operands, const SplitContext &ctx) {
  OpSplits s = allWhole(op);
  int16_t heads = kWhole, context = kWhole;
  for (auto [v, axes] : llvm::zip(op->getOperands(), operands)) {
    if (v == mask || (bias && v == bias))
      continue;
    if (!axes || axes->size() != 4)
      return s;
    if (v == query) {
      heads = (*axes)[1];
      if ((*axes)[2] != kWhole && (*axes)[2] == ctx.contextAxis)
        context = (*axes)[2];
    }
  }
  if (heads == kWhole && context == kWhole)
    return s;
  // Ring attention (pz.ring, marked by pz-tensor-parallel): the keys'
  // sequence (and a key mask's) split as the queries'.
  bool ring = context != kWhole && op->hasAttr(kRingAttrName);
  DimAxes wantQ = {kWhole, heads, context, kWhole},
          wantKv = {kWhole, heads, ring ? context : kWhole, kWhole};
  int64_t n = ctx.ranks(heads), kvHeads = typeOf(key).getDimSize(1);
  bool replicated = heads != kWhole && kvHeads % n != 0 && n % kvHeads == 0 &&
                    typeOf(query).getDimSize(1) % n == 0;
  auto isKv = [&](Value v) { return v == key || v == value; };
  // Replicated key and value heads are taken whole, however they come
  // (under sp, a whole k projection runs on the rank's tokens: its output
  // is all-gathered along the sequence here); otherwise their heads split
  // as the query's, their sequence gathered.
  for (auto [v, axes] : llvm::zip(op->getOperands(), operands)) {
    if (v == mask || (bias && v == bias) || (isKv(v) && replicated))
      continue;
    if (isKv(v) ? (*axes)[1] != heads || (*axes)[0] != kWhole || (*axes)[3] != kWhole
                : *axes != wantQ)
      return s;
  }
  if (mask && typeOf(mask).getRank() >= 3 && typeOf(mask).getShape().drop_back(2).back() != 1 &&
      heads != kWhole)
    return s;
  for (Value v : op->getOperands())
    if (v != mask && v != bias && !(isKv(v) && replicated) && (typeOf(v).getDimSize(1) % n))
      return s;
  for (auto [i, v] : llvm::enumerate(op->getOperands())) {
    if (bias && v == bias) {
      // A bias (ALiBi) splits its heads as the query's unless it broadcasts
      // them; the rest whole (pz-tensor-parallel refuses a bias under cp).
      RankedTensorType t = typeOf(v);
      int64_t hd = t.getRank() - 3;
      if (heads != kWhole && hd >= 0 && t.getDimSize(hd) != 1)
        s.operands[i][hd] = heads;
      continue;
    }
    if (v == mask) {
      // The query dim (the mask's second to last) split as the query's
      // sequence unless it broadcasts; the rest whole.
      RankedTensorType t = typeOf(v);
      int64_t d = t.getRank() - (ring ? 1 : 2);
      if (context != kWhole && d >= 0 && t.getDimSize(d) != 1)
        s.operands[i][d] = context;
      continue;
    }
    s.operands[i] = isKv(v) ? (replicated ? wholeAxes(v) : wantKv) : wantQ;
  }
  // dk, dv: scattered along the sequence over cp (their producers' split).
  DimAxes wantKvGrad = {kWhole, heads, context, kWhole};
  for (auto [i, r] : llvm::enumerate(s.results))
    r = i == 0 ? wantQ : (replicated ? wholeAxes(op->getResult(i)) : wantKvGrad);
  return s;
}

} // namespace

OpSplits forwardSplits(Operation *op, ArrayRef<OperandAxes> operands, const SplitContext &ctx) {
  // Only an op with a sharding model can be partitioned split.
  if (!llvm::isa<shard::ShardingInterface>(op))
    return allWhole(op);
  if (op->hasTrait<pz::traits::ElementMap>() ||
      llvm::isa<GeluOp, GeluGradOp, WhereOp, CastOp, CompareOp, pz::BroadcastOp, AdamWUpdateOp,
                SGDUpdateOp, DropoutOp>(op))
    return elementSplits(op, operands, ctx);
  if (llvm::isa<MatmulOp, TransposeOp, ReduceSumOp>(op))
    return mapSplits(op, operands, /*partialSums=*/true, ctx);
  if (llvm::isa<SoftmaxOp, LogSoftmaxOp, LayerNormOp, RMSNormOp>(op))
    return mapSplits(op, operands, /*partialSums=*/false, ctx);
  if (auto r = llvm::dyn_cast<ReshapeOp>(op))
    return reshapeSplits(r, operands[0], ctx);
  if (auto sl = llvm::dyn_cast<SliceOp>(op))
    return sliceSplits(op, typeOf(sl.getInput()).getShape(), sl.getStarts(), sl.getEnds(),
                       sl.getSteps(), operands[0]);
  if (auto sg = llvm::dyn_cast<SliceGradOp>(op))
    return sliceSplits(op, sg.getInputShape(), sg.getStarts(), sg.getEnds(), sg.getSteps(),
                       operands[0]);
  if (auto c = llvm::dyn_cast<ConcatOp>(op))
    return concatSplits(c, operands, ctx);
  if (auto g = llvm::dyn_cast<LayerNormGradOp>(op))
    return normGradSplits(g, operands, ctx);
  if (auto g = llvm::dyn_cast<RMSNormGradOp>(op))
    return normGradSplits(g, operands, ctx);
  if (auto a = llvm::dyn_cast<AttentionOp>(op))
    return attentionSplits(op, a.getQuery(), a.getKey(), a.getValue(), a.getMask(), a.getBias(),
                           operands, ctx);
  if (auto a = llvm::dyn_cast<AttentionGradOp>(op))
    return attentionSplits(op, a.getQuery(), a.getKey(), a.getValue(), a.getMask(), a.getBias(),
                           operands, ctx);
  if (llvm::isa<EmbeddingOp, EmbeddingGradOp, CrossEntropyOp, CrossEntropyGradOp>(op))
    return vocabSplits(op, operands, ctx);
  if (llvm::isa<AllFiniteOp>(op)) {
    // A rank-local check of its shard (the driver ORs the flags of all
    // ranks before it acts on them).
    OpSplits s = allWhole(op);
    if (operands[0])
      s.operands[0] = *operands[0];
    return s;
  }
  return allWhole(op);
}

} // namespace mlir::pz::sharding
