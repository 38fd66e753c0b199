//===- FuseAttention.cpp - decomposed scaled dot-product attention --------===//
//
//   s = matmul(q, k^T)             k^T via transpose_rhs or pz.transpose
//   s = s / c  or  s * c           optional constant scale (or on q or k)
//   s = where(m, -inf, s)          optional mask: `causal` when m is the
//     or where(k, s, -inf)         constant strict upper triangle (k the
//     or s + m                     lower one; then a fill <= -1e9 will do)
//   s = s / c  or  s * c           optional scale after a where mask (GPT-J)
//   o = matmul(softmax(s, -1), v)
// becomes pz.attention(q, k, v). Keys and values that repeat grouped-query
// heads (reshape to [B, Hkv, 1, S, D], broadcast to [B, Hkv, n, S, D],
// reshape to [B, Hkv * n, S, D]) are read unrepeated. Scores computed on
// merged heads (GPT-NeoX's baddbmm: q and k reshaped [B, H, S, D] ->
// [B*H, S, D], the rank-3 product, scaled, plus zeros, reshaped back to
// [B, H, S, S]) are read as the rank-4 product of the unmerged q and k.
// Bloom's baddbmm(alibi, q, k^T) adds a constant that is not zeros: it
// becomes the op's `bias` (reshaped [B*H, 1|S, S] -> [B, H, 1|S, S]); its
// key may come already transposed ([B, H, D, S] merged to [B*H, D, S]), and
// its probabilities may be merged back to [B*H, S, S] for a rank-3 product
// with the merged values (bmm): the fused output is reshaped to
// [B*H, S, Dv].
//
//===----------------------------------------------------------------------===//

#include "FuseUtils.h"

#include "pz/Dialect/PZ/Transforms/FusionReport.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Matchers.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::fuse;

namespace {

/// The mask part of the pattern.
struct MaskMatch {
  Value scores; // the (scaled) scores under the mask
  bool causal = false;
  Value mask;   // i1 (true = keep) or additive float mask
  Value negate; // an i1 "masked out" condition to negate into `mask`
};

/// A masking constant of a causal mask: -inf, the lowest float (finfo.min)
/// or a negative number no smaller in magnitude than 1e9. In fp32, e^(s - c)
/// for a score s within 1e9 - 104 of the row's largest kept score is 0, so
/// such a mask drops exactly the keys -inf drops; a causal row always keeps
/// its diagonal, so no row is left with none (where -inf gives NaN and a
/// finite constant a uniform row).
bool isCausalFill(double c) { return c <= -1.0e9; }

/// How a constant causal mask is written.
enum class CausalForm {
  MaskedOut, // i1, true where the key is after the query (`triu(1)`)
  Keep,      // i1, true where the key is not after the query (`tril()`)
  Additive,  // float, a causal fill (isCausalFill) above the diagonal, else 0
};

/// True when `v` is a constant [..., S, S] mask written in `form` whose every
/// [S, S] slice is the causal one (a causal mask expanded over the batch by
/// an all-ones padding mask, as Llama's exports fold to, is one).
bool isCausalAttr(DenseElementsAttr attr, CausalForm form) {
  auto type = llvm::cast<RankedTensorType>(attr.getType());
  if (type.getRank() < 2 || type.getRank() > 4 || !type.hasStaticShape())
    return false;
  ArrayRef<int64_t> shape = type.getShape();
  int64_t rows = shape[shape.size() - 2], cols = shape.back();
  if (rows < 2 || rows != cols)
    return false; // a 1x1 mask says nothing about causality
  // Whether element k (row-major) lies above its slice's diagonal.
  auto isAbove = [&](int64_t k) {
    int64_t inSlice = k % (rows * cols);
    return inSlice % cols > inSlice / cols;
  };
  int64_t k = 0;
  if (form != CausalForm::Additive) {
    if (!type.getElementType().isInteger(1))
      return false;
    bool maskedOut = form == CausalForm::MaskedOut;
    for (bool b : attr.getValues<bool>()) {
      if (b != (isAbove(k) == maskedOut))
        return false;
      ++k;
    }
    return true;
  }
  if (!llvm::isa<FloatType>(type.getElementType()))
    return false;
  for (APFloat f : attr.getValues<APFloat>()) {
    bool above = isAbove(k);
    if (above ? !isCausalFill(f.convertToDouble()) : !f.isZero())
      return false;
    ++k;
  }
  return true;
}

bool isCausalConstant(Value v, CausalForm form) {
  DenseElementsAttr attr;
  return matchPattern(v, m_Constant(&attr)) && isCausalAttr(attr, form);
}

/// True for a scalar constant -inf (or the lowest finite float, which
/// masked_fill with finfo.min uses).
bool isMinusInf(Value v) {
  std::optional<double> c = getScalarConstant(v);
  return c && (*c == -std::numeric_limits<double>::infinity() || *c <= -3.0e38);
}

/// The ways to read the softmax input `s` as masked scores: through a
/// where with -inf, through an additive mask (either operand), or unmasked.
/// `fillScale` is a positive scale applied after the mask (GPT-J divides
/// the masked scores): the fills are judged as scaled, and an additive
/// mask, which the scale would have to multiply, is not read.
SmallVector<MaskMatch> matchMask(Value s, double fillScale = 1.0) {
  SmallVector<MaskMatch> out;
  auto scaled = [&](std::optional<double> c) -> std::optional<double> {
    if (c)
      return *c * fillScale;
    return c;
  };
  if (auto where = singleUseDefOf<WhereOp>(s)) {
    MaskMatch m;
    std::optional<double> fill = scaled(getScalarConstant(where.getOnTrue()));
    std::optional<double> keepFill =
        scaled(getScalarConstant(where.getOnFalse()));
    if (fill && isCausalFill(*fill) && !isMinusInf(where.getOnTrue()) &&
        isCausalConstant(where.getCondition(), CausalForm::MaskedOut)) {
      // masked_fill(triu(1), -1e9): causal however large the fill.
      m.scores = where.getOnFalse();
      m.causal = true;
    } else if (isMinusInf(where.getOnTrue())) {
      m.scores = where.getOnFalse();
      if (isCausalConstant(where.getCondition(), CausalForm::MaskedOut))
        m.causal = true;
      else
        m.negate = where.getCondition();
    } else if (keepFill && isCausalFill(*keepFill) &&
               isCausalConstant(where.getCondition(), CausalForm::Keep)) {
      // where(tril, s, finfo.min) (Hugging Face's GPT-2): causal.
      m.scores = where.getOnTrue();
      m.causal = true;
    } else if (isMinusInf(where.getOnFalse())) {
      m.scores = where.getOnTrue();
      m.mask = where.getCondition();
    }
    if (m.scores && where.getType() == m.scores.getType())
      out.push_back(m);
  } else if (auto add = fillScale == 1.0 ? singleUseDefOf<AddOp>(s)
                                          : AddOp()) {
    for (auto [sc, mk] : {std::pair(add.getLhs(), add.getRhs()),
                          std::pair(add.getRhs(), add.getLhs())}) {
      if (add.getType() != sc.getType())
        continue;
      MaskMatch m;
      m.scores = sc;
      if (isCausalConstant(mk, CausalForm::Additive))
        m.causal = true;
      else
        m.mask = mk;
      out.push_back(m);
    }
  }
  MaskMatch none;
  none.scores = s;
  out.push_back(none);
  return out;
}

/// The scores before an optional constant scale; sets `scale`.
Value matchScale(Value s, std::optional<double> &scale) {
  if (auto div = singleUseDefOf<DivOp>(s)) {
    std::optional<double> c = getScalarConstant(div.getRhs());
    if (c && *c > 0.0 && div.getType() == div.getLhs().getType()) {
      scale = 1.0 / *c;
      return div.getLhs();
    }
  }
  if (auto mul = singleUseDefOf<MulOp>(s)) {
    Value inner;
    eitherOrder(mul.getLhs(), mul.getRhs(), [&](Value a, Value c) {
      std::optional<double> v = getScalarConstant(c);
      if (!v || !(*v > 0.0) || mul.getType() != a.getType())
        return false;
      scale = *v;
      inner = a;
      return true;
    });
    if (inner)
      return inner;
  }
  return s;
}

/// The key [B, H, S, D] of `matmul(q, kt)`: kt itself with transpose_rhs,
/// else kt with its last two dims swapped, read through a pz.transpose.
/// Returns the source value and the permutation still to apply (empty when
/// none).
std::pair<Value, SmallVector<int64_t>> keyOf(MatmulOp qk) {
  Value kt = qk.getRhs();
  if (qk.getTransposeRhs())
    return {kt, {}};
  SmallVector<int64_t> perm = {0, 1, 3, 2};
  Value src = kt;
  if (auto t = defOf<TransposeOp>(kt)) {
    ArrayRef<int64_t> p = t.getPermutation();
    perm = {p[0], p[1], p[3], p[2]};
    src = t.getInput();
  }
  if (llvm::equal(perm, llvm::seq<int64_t>(0, 4)))
    perm.clear();
  return {src, perm};
}

bool dimsAgree(int64_t a, int64_t b) {
  return a == b || ShapedType::isDynamic(a) || ShapedType::isDynamic(b);
}

/// True when pz.attention accepts q [B,H,Sq,D], k [B,G,Sk,D], v [B,G,Sk,Dv]
/// and yields `result`.
bool shapesFit(ArrayRef<int64_t> q, ArrayRef<int64_t> k, ArrayRef<int64_t> v,
               ArrayRef<int64_t> result) {
  if (q.size() != 4 || k.size() != 4 || v.size() != 4)
    return false;
  if (ShapedType::isDynamic(q[1]) || ShapedType::isDynamic(k[1]) || k[1] == 0 ||
      q[1] % k[1] != 0)
    return false;
  return q[0] == k[0] && k[0] == v[0] && k[1] == v[1] &&
         dimsAgree(k[2], v[2]) && dimsAgree(q[3], k[3]) &&
         ArrayRef<int64_t>{q[0], q[1], q[2], v[3]} == result;
}

/// For x = reshape(broadcast(reshape(x0 [B,G,S,D] -> [B,G,1,S,D]) ->
/// [B,G,n,S,D]) -> [B,G*n,S,D]) returns (x0, n).
std::optional<std::pair<Value, int64_t>> peelRepeatedHeads(Value x) {
  auto outer = defOf<ReshapeOp>(x);
  auto bc = outer ? defOf<BroadcastOp>(outer.getInput()) : BroadcastOp();
  auto inner = bc ? defOf<ReshapeOp>(bc.getInput()) : ReshapeOp();
  if (!inner)
    return std::nullopt;
  auto t0 = inner.getInput().getType(), t1 = inner.getType();
  auto t2 = bc.getType(), t3 = outer.getType();
  if (!t0.hasStaticShape() || !t2.hasStaticShape() || t0.getRank() != 4 ||
      t2.getRank() != 5 || t3.getRank() != 4)
    return std::nullopt;
  ArrayRef<int64_t> s0 = t0.getShape(), s1 = t1.getShape(), s2 = t2.getShape(),
                    s3 = t3.getShape();
  int64_t n = s2[2];
  bool ok = s1 == ArrayRef<int64_t>{s0[0], s0[1], 1, s0[2], s0[3]} &&
            s2 == ArrayRef<int64_t>{s0[0], s0[1], n, s0[2], s0[3]} &&
            s3 == ArrayRef<int64_t>{s0[0], s0[1] * n, s0[2], s0[3]};
  if (!ok)
    return std::nullopt;
  return std::make_pair(inner.getInput(), n);
}

/// `x` without an added constant of its own type, which `bias` gets unless
/// it is zeros (baddbmm's `beta * input`: zeros in GPT-NeoX, ALiBi in Bloom).
/// The constant must broadcast to `x` without stretching it.
Value splitAddedConstant(Value x, Value &bias) {
  auto add = singleUseDefOf<AddOp>(x);
  if (!add)
    return x;
  Value out;
  eitherOrder(add.getLhs(), add.getRhs(), [&](Value a, Value c) {
    DenseElementsAttr attr;
    auto at = llvm::cast<RankedTensorType>(a.getType());
    auto ct = llvm::cast<RankedTensorType>(c.getType());
    if (a.getType() != add.getType() || !matchPattern(c, m_Constant(&attr)) ||
        !llvm::isa<FloatType>(attr.getElementType()) || ct.getElementType() != at.getElementType() ||
        ct.getRank() > at.getRank())
      return false;
    for (int64_t i = 1; i <= ct.getRank(); ++i) {
      int64_t cd = ct.getDimSize(ct.getRank() - i), ad = at.getDimSize(at.getRank() - i);
      if (cd != 1 && cd != ad)
        return false;
    }
    out = a;
    if (!attr.isSplat() || !attr.getSplatValue<APFloat>().isZero())
      bias = c;
    return true;
  });
  return out ? out : x;
}

/// `x` without an added constant of zeros of its own type (baddbmm's
/// `beta * input` with an all-zero input): splitAddedConstant's zeros.
Value skipAddZeros(Value x) {
  Value bias;
  Value rest = splitAddedConstant(x, bias);
  return bias ? x : rest;
}

/// For x = reshape(x4 [B, H, S, D] -> [B*H, S, D]) returns x4.
Value unmergeHeads(Value x) {
  auto r = defOf<ReshapeOp>(x);
  if (!r)
    return Value();
  auto in = llvm::cast<RankedTensorType>(r.getInput().getType());
  auto out = llvm::cast<RankedTensorType>(r.getType());
  if (!in.hasStaticShape() || !out.hasStaticShape() || in.getRank() != 4 ||
      out.getRank() != 3)
    return Value();
  ArrayRef<int64_t> a = in.getShape(), b = out.getShape();
  if (b != ArrayRef<int64_t>{a[0] * a[1], a[2], a[3]})
    return Value();
  return r.getInput();
}

/// Scores [B, H, Sq, Sk] computed on merged heads: s = reshape(t) from
/// [B*H, Sq, Sk], t = matmul(q3, k3^T) through an optional constant scale
/// and added zeros, q3 and k3 reshaped from [B, H, S, D]. Returns the
/// rank-3 product, the rank-4 q and k (k untransposed) and sets `scale`.
struct MergedScores {
  MatmulOp qk;
  Value q, k;
  bool kTransposed = false; // k is [B, H, D, S] (k^T per head)
  Value bias;               // an added constant on the rank-3 scores
};
std::optional<MergedScores> matchMergedScores(Value s,
                                              std::optional<double> &scale) {
  auto r = singleUseDefOf<ReshapeOp>(s);
  if (!r)
    return std::nullopt;
  auto in = llvm::cast<RankedTensorType>(r.getInput().getType());
  auto out = llvm::cast<RankedTensorType>(r.getType());
  if (!in.hasStaticShape() || !out.hasStaticShape() || in.getRank() != 3 ||
      out.getRank() != 4)
    return std::nullopt;
  ArrayRef<int64_t> a = in.getShape(), b = out.getShape();
  if (a != ArrayRef<int64_t>{b[0] * b[1], b[2], b[3]})
    return std::nullopt;
  MergedScores m;
  m.qk = singleUseDefOf<MatmulOp>(
      matchScale(splitAddedConstant(r.getInput(), m.bias), scale));
  if (!m.qk || m.qk.getTransposeLhs())
    return std::nullopt;
  m.q = unmergeHeads(m.qk.getLhs());
  Value kt = m.qk.getRhs();
  if (!m.qk.getTransposeRhs()) {
    auto t = defOf<TransposeOp>(kt);
    if (t && llvm::equal(t.getPermutation(), ArrayRef<int64_t>{0, 2, 1}))
      kt = t.getInput();
    else
      m.kTransposed = true; // Bloom: k^T merged from [B, H, D, S]
  }
  m.k = unmergeHeads(kt);
  if (!m.q || !m.k)
    return std::nullopt;
  auto q4 = llvm::cast<RankedTensorType>(m.q.getType()).getShape();
  if (q4[0] != b[0] || q4[1] != b[1])
    return std::nullopt; // the scores' heads are not q's
  return m;
}

/// What the pattern found: everything the rewrite needs.
struct AttentionMatch {
  MatmulOp qk;
  Value q, k, v, mask;
  Value bias; // an additive constant on the merged-head scores, [B, H, 1|Sq, Sk]
  RankedTensorType scoresType; // [B, H, Sq, Sk]
  bool mergedHeads = false;    // qk is the rank-3 product on merged heads
  bool mergedOutput = false;   // the product with v is rank 3 on merged heads
  MaskMatch maskMatch;
  SmallVector<int64_t> biasShape; // the bias reshaped to this (empty: as it is)
  DenseElementsAttr batchFreeBias; // one batch row of a bias equal in every row
  SmallVector<int64_t> perm; // a key read through this transpose
  std::optional<double> scale;
};

/// The fail-with-a-reason helper of matchAttention.
FailureOr<AttentionMatch> fail(std::string *why, const std::string &reason) {
  if (why)
    *why = reason;
  return failure();
}

std::string typeString(Value v) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << v.getType();
  return s;
}

/// Matches o = matmul(softmax(s), v) with the rest of the pattern above
/// `pv`; `why`, when given, gets the first step that does not match.
FailureOr<AttentionMatch> matchAttention(MatmulOp pv, std::string *why) {
  if (pv.getTransposeLhs() || pv.getTransposeRhs() ||
      (pv.getType().getRank() != 4 && pv.getType().getRank() != 3))
    return fail(why, "the product with the values is transposed or not of rank 4 (or 3 on "
                     "merged heads)");
  Value probs = pv.getLhs(), values = pv.getRhs();
  SmallVector<int64_t> result(pv.getType().getShape());
  bool mergedOutput = pv.getType().getRank() == 3;
  if (mergedOutput) {
    // Bloom's bmm: probabilities [B, H, Sq, Sk] merged to [B*H, Sq, Sk]
    // against values merged from [B, H, Sk, Dv].
    auto r = singleUseDefOf<ReshapeOp>(probs);
    Value v4 = unmergeHeads(values);
    auto p4 = r ? llvm::cast<RankedTensorType>(r.getInput().getType()) : RankedTensorType();
    if (!r || !v4 || !p4.hasStaticShape() || p4.getRank() != 4 ||
        r.getType().getShape() !=
            ArrayRef<int64_t>{p4.getDimSize(0) * p4.getDimSize(1), p4.getDimSize(2),
                              p4.getDimSize(3)} ||
        llvm::cast<RankedTensorType>(v4.getType()).getDimSize(0) != p4.getDimSize(0) ||
        llvm::cast<RankedTensorType>(v4.getType()).getDimSize(1) != p4.getDimSize(1))
      return fail(why, "the product with the values is of rank 3, but not probabilities "
                       "[B, H, Sq, Sk] merged to [B*H, Sq, Sk] against values merged from "
                       "[B, H, Sk, Dv]");
    probs = r.getInput();
    values = v4;
    result = {p4.getDimSize(0), p4.getDimSize(1), p4.getDimSize(2),
              llvm::cast<RankedTensorType>(v4.getType()).getDimSize(3)};
  }
  auto softmax = singleUseDefOf<SoftmaxOp>(probs);
  if (!softmax || softmax.getAxis() != 3)
    return fail(why, "the probabilities are not one softmax over the keys (dim 3) used once");
  AttentionMatch m;
  m.mergedOutput = mergedOutput;
  std::optional<MaskMatch> mask;
  std::optional<MergedScores> merged;
  // The softmax input as it is, then through a scale after the mask.
  std::optional<double> outerScale;
  Value inner = matchScale(softmax.getInput(), outerScale);
  SmallVector<std::pair<MaskMatch, std::optional<double>>> candidates;
  for (const MaskMatch &mm : matchMask(softmax.getInput()))
    candidates.push_back({mm, std::nullopt});
  if (inner != softmax.getInput())
    for (const MaskMatch &mm : matchMask(inner, *outerScale))
      if (mm.scores != inner || mm.causal || mm.mask || mm.negate)
        candidates.push_back({mm, outerScale});
  for (const auto &[mm, after] : candidates) {
    m.scale.reset();
    m.qk = singleUseDefOf<MatmulOp>(matchScale(mm.scores, m.scale));
    if (m.qk && !m.qk.getTransposeLhs() && m.qk.getType().getRank() == 4) {
      mask = mm;
    } else if ((merged = matchMergedScores(mm.scores, m.scale))) {
      if (merged->bias && after) {
        // A bias under a scale after the mask would have to be scaled too.
        merged.reset();
        continue;
      }
      m.qk = merged->qk;
      mask = mm;
    }
    if (mask) {
      if (after)
        m.scale = m.scale.value_or(1.0) * *after;
      break;
    }
  }
  if (!mask)
    return fail(why, "the softmax's input is not matmul(q, k^T) of rank 4 (through an optional "
                     "constant scale and mask: where(m, -inf, s) or s + m; or of rank 3 on "
                     "heads merged [B*H, S, D] and reshaped back), used once");
  m.maskMatch = *mask;
  m.v = values;
  m.scoresType = llvm::cast<RankedTensorType>(mask->scores.getType());
  auto [k, perm] = merged ? std::pair(merged->k, merged->kTransposed
                                                     ? SmallVector<int64_t>{0, 1, 3, 2}
                                                     : SmallVector<int64_t>())
                          : keyOf(m.qk);
  m.mergedHeads = merged.has_value();
  Value qIn = merged ? merged->q : m.qk.getLhs();
  // A scale applied to q or to k instead of the scores (q x d^-1/2, or
  // d^-1/4 on each): (c q) k^T = c (q k^T).
  std::optional<double> qScale, kScale;
  m.q = matchScale(qIn, qScale);
  m.k = matchScale(k, kScale);
  if (qScale || kScale)
    m.scale = m.scale.value_or(1.0) * qScale.value_or(1.0) * kScale.value_or(1.0);
  m.perm = SmallVector<int64_t>(perm.begin(), perm.end());
  SmallVector<int64_t> kShape(llvm::cast<RankedTensorType>(m.k.getType()).getShape());
  if (!m.perm.empty()) {
    if (kShape.size() != 4)
      return fail(why, "the key's transpose is not of rank 4");
    SmallVector<int64_t> permuted;
    for (int64_t p : m.perm)
      permuted.push_back(kShape[p]);
    kShape = permuted;
  } else if (auto pk = peelRepeatedHeads(m.k)) {
    // Grouped-query heads: read k and v unrepeated when both repeat alike.
    auto pvh = peelRepeatedHeads(m.v);
    if (pvh && pvh->second == pk->second) {
      m.k = pk->first;
      m.v = pvh->first;
      kShape = SmallVector<int64_t>(llvm::cast<RankedTensorType>(m.k.getType()).getShape());
    }
  }
  auto qType = llvm::cast<RankedTensorType>(m.q.getType());
  auto vType = llvm::cast<RankedTensorType>(m.v.getType());
  if (!shapesFit(qType.getShape(), kShape, vType.getShape(), result))
    return fail(why, "q " + typeString(m.q) + ", k " + typeString(m.k) + " and v " +
                         typeString(m.v) + " are not [B, H, S, D] heads that fit one another");
  if (merged && merged->bias) {
    // The bias of the rank-3 scores [B*H, 1|Sq, Sk]: [B, H, 1|Sq, Sk].
    m.bias = merged->bias;
    auto bt = llvm::cast<RankedTensorType>(m.bias.getType());
    ArrayRef<int64_t> sc = m.scoresType.getShape();
    if (bt.getRank() == 3 && bt.getDimSize(0) != 1)
      m.biasShape = {sc[0], sc[1], bt.getDimSize(1), bt.getDimSize(2)};
    // ALiBi built from an all-ones padding mask is the same in every batch
    // row: keep one, [1, H, 1|Sq, Sk] (the program does not depend on the
    // batch, and tp splits it by heads alone).
    DenseElementsAttr attr;
    if (!m.biasShape.empty() && sc[0] > 1 && matchPattern(m.bias, m_Constant(&attr))) {
      SmallVector<APFloat> all(attr.getValues<APFloat>());
      size_t row = all.size() / static_cast<size_t>(sc[0]);
      bool same = true;
      for (size_t i = row; same && i < all.size(); ++i)
        same = all[i].bitwiseIsEqual(all[i % row]);
      if (same) {
        m.biasShape[0] = 1;
        m.batchFreeBias = DenseElementsAttr::get(
            RankedTensorType::get(m.biasShape, bt.getElementType()), ArrayRef(all).take_front(row));
      }
    }
  }
  m.mask = mask->mask ? mask->mask : mask->negate;
  if (m.mask) {
    auto mt = llvm::cast<RankedTensorType>(m.mask.getType());
    SmallVector<int64_t> out;
    if (mt.getRank() > 4 ||
        !OpTrait::util::getBroadcastedShape(mt.getShape(), m.scoresType.getShape(), out) ||
        ArrayRef<int64_t>(out) != m.scoresType.getShape() ||
        (!mt.getElementType().isInteger(1) && mt.getElementType() != qType.getElementType()))
      return fail(why, "the mask " + typeString(m.mask) +
                           " does not broadcast to the scores " + typeString(mask->scores) +
                           " as a bool or a float of the scores' type");
  }
  return m;
}

//===----------------------------------------------------------------------===//
// Multi-query attention with the heads among the queries (GPTBigCode)
//===----------------------------------------------------------------------===//
//
//   s = matmul(reshape(q, [B, S*H, D]), k^T)   k [B, Sk, D], one head
//   s = reshape(s * c + zeros, [B, S, H, Sk])
//   s = where(keep, s, finfo.min)              keep [b, S, 1, Sk] causal
//   o = matmul(reshape(softmax(s), [B, S*H, Sk]), v)   v [B, Sk, Dv]
// is pz.attention(transpose(q as [B, S, H, D]), k and v as one kv head)
// transposed and reshaped back to [B, S*H, Dv].

/// What the multi-query pattern found.
struct MultiQueryMatch {
  Value q, k, v; // q [B, S*H, D]; k [B, Sk, D]; v [B, Sk, Dv]
  int64_t heads = 0;
  bool causal = false;
  std::optional<double> scale;
};

/// A where mask on [B, S, H, Sk] scores whose condition is a constant with
/// one head, [b, S, 1, Sk] (the same elements as [b, 1, S, Sk]), that is
/// causal in the keep or masked-out form; sets `scores`.
bool matchMultiQueryCausal(Value s, Value &scores) {
  auto where = singleUseDefOf<WhereOp>(s);
  DenseElementsAttr attr;
  if (!where || !matchPattern(where.getCondition(), m_Constant(&attr)))
    return false;
  auto type = llvm::cast<RankedTensorType>(attr.getType());
  if (type.getRank() != 4 || type.getDimSize(2) != 1)
    return false;
  ArrayRef<int64_t> d = type.getShape();
  DenseElementsAttr moved = attr.reshape(
      RankedTensorType::get({d[0], 1, d[1], d[3]}, type.getElementType()));
  std::optional<double> fillOnFalse = getScalarConstant(where.getOnFalse());
  std::optional<double> fillOnTrue = getScalarConstant(where.getOnTrue());
  if (fillOnFalse && isCausalFill(*fillOnFalse) &&
      isCausalAttr(moved, CausalForm::Keep))
    scores = where.getOnTrue();
  else if (fillOnTrue && isCausalFill(*fillOnTrue) &&
           isCausalAttr(moved, CausalForm::MaskedOut))
    scores = where.getOnFalse();
  else
    return false;
  return where.getType() == scores.getType();
}

FailureOr<MultiQueryMatch> matchMultiQuery(MatmulOp pv, std::string *why) {
  auto fail = [&](const std::string &reason) -> FailureOr<MultiQueryMatch> {
    if (why)
      *why = reason;
    return failure();
  };
  auto pvType = llvm::cast<RankedTensorType>(pv.getType());
  auto p3 = singleUseDefOf<ReshapeOp>(pv.getLhs());
  auto softmax = p3 ? singleUseDefOf<SoftmaxOp>(p3.getInput()) : SoftmaxOp();
  if (pv.getTransposeLhs() || pv.getTransposeRhs() || pvType.getRank() != 3 ||
      !softmax || softmax.getAxis() != 3 || !pvType.hasStaticShape())
    return fail("the probabilities are reshaped, but not [B, S, H, Sk] -> "
                "[B, S*H, Sk] for a rank-3 product with the values");
  ArrayRef<int64_t> p4 = softmax.getType().getShape();
  auto vType = llvm::cast<RankedTensorType>(pv.getRhs().getType());
  if (!softmax.getType().hasStaticShape() || !vType.hasStaticShape() ||
      p3.getType().getShape() !=
          ArrayRef<int64_t>{p4[0], p4[1] * p4[2], p4[3]} ||
      vType.getRank() != 3 || vType.getDimSize(0) != p4[0] ||
      vType.getDimSize(1) != p4[3])
    return fail("the probabilities are reshaped, but not [B, S, H, Sk] -> "
                "[B, S*H, Sk] for a rank-3 product with one head of values "
                "[B, Sk, Dv]");
  MultiQueryMatch m;
  m.heads = p4[2];
  m.v = pv.getRhs();
  Value scores = softmax.getInput();
  if (matchMultiQueryCausal(softmax.getInput(), scores))
    m.causal = true;
  auto s4 = singleUseDefOf<ReshapeOp>(scores);
  auto qk = s4 ? singleUseDefOf<MatmulOp>(
                     matchScale(skipAddZeros(s4.getInput()), m.scale))
               : MatmulOp();
  if (!qk || qk.getTransposeLhs() ||
      qk.getType().getShape() != p3.getType().getShape())
    return fail("multi-query probabilities, but the scores are not "
                "reshape(matmul(q, k^T) [B, S*H, Sk]) through an optional "
                "constant scale and a causal where");
  m.q = qk.getLhs();
  m.k = qk.getRhs();
  if (!qk.getTransposeRhs()) {
    auto t = defOf<TransposeOp>(m.k);
    if (!t || !llvm::equal(t.getPermutation(), ArrayRef<int64_t>{0, 2, 1}))
      return fail("multi-query scores, but k is not read through the swap "
                  "of its last two dims");
    m.k = t.getInput();
  }
  auto kType = llvm::cast<RankedTensorType>(m.k.getType());
  if (!kType.hasStaticShape() ||
      !llvm::cast<RankedTensorType>(m.q.getType()).hasStaticShape() ||
      kType.getShape() !=
      ArrayRef<int64_t>{p4[0], p4[3],
                        llvm::cast<RankedTensorType>(m.q.getType())
                            .getDimSize(2)})
    return fail("multi-query scores, but k " + typeString(m.k) +
                " is not one head [B, Sk, D]");
  return m;
}

/// Rewrites a matched multi-query attention.
void rewriteMultiQuery(MatmulOp pv, const MultiQueryMatch &m,
                       PatternRewriter &rewriter) {
  Location loc = pv.getLoc();
  auto qType = llvm::cast<RankedTensorType>(m.q.getType());
  auto kType = llvm::cast<RankedTensorType>(m.k.getType());
  auto vType = llvm::cast<RankedTensorType>(m.v.getType());
  Type elem = qType.getElementType();
  int64_t b = qType.getDimSize(0), h = m.heads;
  int64_t s = qType.getDimSize(1) / h, d = qType.getDimSize(2);
  int64_t sk = kType.getDimSize(1), dv = vType.getDimSize(2);
  auto reshape = [&](Value x, ArrayRef<int64_t> shape) -> Value {
    return ReshapeOp::create(rewriter, loc, RankedTensorType::get(shape, elem),
                             x, rewriter.getDenseI64ArrayAttr(shape));
  };
  Value q = TransposeOp::create(rewriter, loc, reshape(m.q, {b, s, h, d}),
                                rewriter.getDenseI64ArrayAttr({0, 2, 1, 3}));
  Value k = reshape(m.k, {b, 1, sk, d});
  Value v = reshape(m.v, {b, 1, sk, dv});
  FloatAttr scaleAttr;
  double sc = m.scale.value_or(1.0);
  if (!isNear(sc, 1.0 / std::sqrt(static_cast<double>(d)), elem))
    scaleAttr = rewriter.getF64FloatAttr(sc);
  Value o = AttentionOp::create(
      rewriter, loc, RankedTensorType::get({b, h, s, dv}, elem), q, k, v,
      Value(), Value(), m.causal ? rewriter.getUnitAttr() : UnitAttr(), scaleAttr);
  Value back = TransposeOp::create(rewriter, loc, o,
                                   rewriter.getDenseI64ArrayAttr({0, 2, 1, 3}));
  rewriter.replaceOp(pv, reshape(back, {b, s * h, dv}));
}

struct FuseAttention : OpRewritePattern<MatmulOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MatmulOp pv,
                                PatternRewriter &rewriter) const override {
    if (pv.getType().getRank() == 3) {
      FailureOr<MultiQueryMatch> mq = matchMultiQuery(pv, nullptr);
      if (succeeded(mq)) {
        rewriteMultiQuery(pv, *mq, rewriter);
        return success();
      }
    }
    FailureOr<AttentionMatch> m = matchAttention(pv, nullptr);
    if (failed(m))
      return failure();
    Location loc = pv.getLoc();
    Value k = m->k, maskValue = m->mask, bias = m->bias;
    auto reshape = [&](Value x, ArrayRef<int64_t> shape) -> Value {
      auto t = llvm::cast<RankedTensorType>(x.getType());
      return ReshapeOp::create(rewriter, loc, RankedTensorType::get(shape, t.getElementType()),
                               x, rewriter.getDenseI64ArrayAttr(shape));
    };
    if (m->batchFreeBias)
      bias = ConstantOp::create(rewriter, loc, m->batchFreeBias.getType(), m->batchFreeBias);
    else if (bias && !m->biasShape.empty())
      bias = reshape(bias, m->biasShape);
    if (!m->perm.empty())
      k = TransposeOp::create(rewriter, m->qk.getLoc(), k,
                              rewriter.getDenseI64ArrayAttr(m->perm));
    if (m->maskMatch.negate)
      maskValue = NotOp::create(rewriter, loc, m->maskMatch.negate);
    // The default scale is 1 / sqrt(head dim): leave it implicit then.
    auto qType = llvm::cast<RankedTensorType>(m->q.getType());
    double s = m->scale.value_or(1.0);
    int64_t d = qType.getDimSize(3);
    FloatAttr scaleAttr;
    if (ShapedType::isDynamic(d) ||
        !isNear(s, 1.0 / std::sqrt(static_cast<double>(d)), qType.getElementType()))
      scaleAttr = rewriter.getF64FloatAttr(s);
    auto vType = llvm::cast<RankedTensorType>(m->v.getType());
    auto outType = RankedTensorType::get({qType.getDimSize(0), qType.getDimSize(1),
                                          qType.getDimSize(2), vType.getDimSize(3)},
                                         qType.getElementType());
    Value o = AttentionOp::create(rewriter, loc, m->mergedOutput ? outType : pv.getType(), m->q,
                                  k, m->v, maskValue, bias,
                                  m->maskMatch.causal ? rewriter.getUnitAttr() : UnitAttr(),
                                  scaleAttr);
    if (m->mergedOutput)
      o = reshape(o, pv.getType().getShape());
    rewriter.replaceOp(pv, o);
    return success();
  }
};

} // namespace

void mlir::pz::fuse::populateFuseAttentionPatterns(
    RewritePatternSet &patterns) {
  patterns.add<FuseAttention>(patterns.getContext());
}

std::string mlir::pz::fuse::whyAttentionNotFused(SoftmaxOp softmax) {
  auto t = llvm::cast<RankedTensorType>(softmax.getType());
  if (softmax.getAxis() != t.getRank() - 1)
    return "a softmax over dim " + std::to_string(softmax.getAxis()) + " of " +
           typeString(softmax.getResult()) + ", not over the last (the keys)";
  if (!softmax->hasOneUse())
    return "its probabilities have " + std::to_string(llvm::range_size(softmax->getUses())) +
           " uses (a fused attention keeps none of them)";
  Operation *user = *softmax->user_begin();
  // Multi-query probabilities reshaped to [B, S*H, Sk] for a rank-3 product
  // (other reshapes, such as Bloom's [B*H, S, Sk], are reported below).
  ArrayRef<int64_t> p4 = t.getShape();
  if (auto r = llvm::dyn_cast<ReshapeOp>(user);
      r && r->hasOneUse() && llvm::isa<MatmulOp>(*r->user_begin()) &&
      p4.size() == 4 &&
      r.getType().getShape() == ArrayRef<int64_t>{p4[0], p4[1] * p4[2], p4[3]}) {
    auto pv3 = llvm::cast<MatmulOp>(*r->user_begin());
    std::string why;
    if (pv3.getLhs() == r.getResult() && pv3.getType().getRank() == 3) {
      if (failed(matchMultiQuery(pv3, &why)))
        return why;
      return "it matches the multi-query pattern (an op of the pattern has "
             "other uses)";
    }
  }
  // Bloom's probabilities merged to [B*H, Sq, Sk] for a rank-3 product.
  if (auto r = llvm::dyn_cast<ReshapeOp>(user);
      r && r->hasOneUse() && llvm::isa<MatmulOp>(*r->user_begin()) && p4.size() == 4 &&
      r.getType().getShape() == ArrayRef<int64_t>{p4[0] * p4[1], p4[2], p4[3]}) {
    auto pv3 = llvm::cast<MatmulOp>(*r->user_begin());
    std::string why;
    if (pv3.getLhs() == r.getResult() && pv3.getType().getRank() == 3) {
      if (failed(matchAttention(pv3, &why)))
        return why;
      return "it matches the pattern (an op of the pattern has other uses)";
    }
  }
  auto pv = llvm::dyn_cast<MatmulOp>(user);
  if (!pv || pv.getLhs() != softmax.getResult()) {
    std::string s = "its probabilities feed '" + user->getName().getStringRef().str() + "'";
    if (auto n = llvm::dyn_cast<NameLoc>(user->getLoc()))
      s += " ('" + n.getName().str() + "')";
    if (llvm::isa<DropoutOp>(user))
      s += ": dropout on the attention probabilities is not fused into pz.attention";
    else
      s += ", not the product with the values";
    return s;
  }
  std::string why;
  if (failed(matchAttention(pv, &why)))
    return why;
  return "it matches the pattern (an op of the pattern has other uses)";
}
