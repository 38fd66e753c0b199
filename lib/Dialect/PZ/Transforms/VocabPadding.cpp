//===- VocabPadding.cpp - pad a vocabulary tp does not divide -------------===//
//
// The word embedding's V rows, and the head weight (and bias) whose
// columns make the logits' classes, grow to Vp = the next multiple of tp in
// every step function; the padded rows stay zero and the padded logits are
// masked in the cross-entropy (VocabPadding.h).
//
//===----------------------------------------------------------------------===//

#include "VocabPadding.h"

#include "DataParallelUtils.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::pz;

namespace {

/// The parameter of @forward_backward that `v` is, if any.
StringRef paramArg(func::FuncOp fn, Value v) {
  auto a = llvm::dyn_cast<BlockArgument>(v);
  if (!a || a.getOwner() != &fn.getBody().front())
    return {};
  auto n = fn.getArgAttrOfType<StringAttr>(a.getArgNumber(), PZDialect::kParamAttrName);
  return n ? n.getValue() : StringRef();
}

struct Padding {
  int64_t vocab = 0, padded = 0;
  llvm::StringMap<int64_t> dims; // parameter -> its padded dim
  EmbeddingOp embedding;         // the word embedding's lookup
  Value ids;                     // its ids
  RankedTensorType table;        // its table, unpadded
};

/// Follows dim `d` of `v`, of V classes, back to the parameters it comes
/// from through reshapes that keep it last, casts, transposes, adds (a
/// bias) and matmuls (the right-hand side's columns). False for any other
/// producer.
bool traceClasses(func::FuncOp fn, Value v, int64_t d, Padding &pad) {
  auto t = llvm::cast<RankedTensorType>(v.getType());
  if (d < 0 || d >= t.getRank() || t.getDimSize(d) != pad.vocab)
    return false;
  if (StringRef p = paramArg(fn, v); !p.empty()) {
    auto [it, fresh] = pad.dims.try_emplace(p, d);
    return fresh || it->second == d;
  }
  Operation *op = v.getDefiningOp();
  if (!op)
    return false;
  auto typeOf = [](Value x) { return llvm::cast<RankedTensorType>(x.getType()); };
  if (auto r = llvm::dyn_cast<ReshapeOp>(op))
    return d == t.getRank() - 1 && typeOf(r.getInput()).getRank() > 0 &&
           traceClasses(fn, r.getInput(), typeOf(r.getInput()).getRank() - 1, pad);
  if (auto c = llvm::dyn_cast<CastOp>(op))
    return traceClasses(fn, c.getInput(), d, pad);
  if (auto tr = llvm::dyn_cast<TransposeOp>(op))
    return traceClasses(fn, tr.getInput(), tr.getPermutation()[d], pad);
  if (auto m = llvm::dyn_cast<MatmulOp>(op)) {
    int64_t r = typeOf(m.getRhs()).getRank();
    return d == t.getRank() - 1 && r >= 2 &&
           traceClasses(fn, m.getRhs(), m.getTransposeRhs() ? r - 2 : r - 1, pad);
  }
  if (llvm::isa<AddOp>(op)) {
    for (Value x : op->getOperands()) {
      int64_t xd = d - (t.getRank() - typeOf(x).getRank()); // numpy broadcasting
      if (xd >= 0 && typeOf(x).getDimSize(xd) != 1 && !traceClasses(fn, x, xd, pad))
        return false;
    }
    return true;
  }
  return false;
}

/// Whether `op` maps zeros in its padded operands to zeros (so padded rows
/// stay zero), or masks them (the cross-entropy, given the real classes).
/// A sum needs every operand padded: a value broadcast over the padded
/// dim (a scalar, a [B, S, 1] column) would fill the padding. A returned
/// padded value must be a parameter's (its gradient, state, new value):
/// any other output would change shape.
bool keepsPaddingZero(Operation *op, const llvm::SmallPtrSetImpl<Value> &padded,
                      const Padding &pad) {
  if (auto div = llvm::dyn_cast<DivOp>(op))
    return !padded.contains(div.getRhs());
  if (auto e = llvm::dyn_cast<EmbeddingOp>(op))
    return !padded.contains(e.getIds());
  if (llvm::isa<AddOp, SubOp>(op))
    return llvm::all_of(op->getOperands(), [&](Value v) { return padded.contains(v); });
  if (auto ret = llvm::dyn_cast<func::ReturnOp>(op)) {
    auto fn = ret->getParentOfType<func::FuncOp>();
    for (auto [i, v] : llvm::enumerate(ret.getOperands()))
      if (padded.contains(v) && !pad.dims.count(dp::paramOf(fn.getResultAttrDict(i))))
        return false;
    return true;
  }
  return llvm::isa<MulOp, NegOp, SqrtOp, AbsOp, SignOp, ReluOp, TanhOp, SinOp, ReshapeOp,
                   TransposeOp, CastOp, MatmulOp, ReduceSumOp, AllFiniteOp, EmbeddingGradOp,
                   CrossEntropyOp, CrossEntropyGradOp, AdamWUpdateOp, SGDUpdateOp>(op);
}

/// The embedding gradients of the word embedding (its ids, V rows).
bool isTableGrad(EmbeddingGradOp g, const Padding &pad) {
  return g.getIds() == pad.ids && static_cast<int64_t>(g.getVocab()) == pad.vocab &&
         g.getType().getShape() == pad.table.getShape();
}

/// The values of `fn` that hold padding once the parameters are padded
/// (by shape: a dim of V, downstream of a padded argument), or the op that
/// would read padding without keeping it zero.
Operation *findUnsafeReader(func::FuncOp fn, const Padding &pad,
                            llvm::SmallPtrSetImpl<Value> &padded) {
  for (BlockArgument a : fn.getArguments())
    if (pad.dims.count(dp::paramOf(fn.getArgAttrDict(a.getArgNumber()))))
      padded.insert(a);
  auto hasVocabDim = [&](Value v) {
    auto t = llvm::dyn_cast<RankedTensorType>(v.getType());
    return t && llvm::is_contained(t.getShape(), pad.vocab);
  };
  Operation *unsafe = nullptr;
  fn.walk([&](Operation *op) {
    if (auto g = llvm::dyn_cast<EmbeddingGradOp>(op); g && isTableGrad(g, pad)) {
      padded.insert(g.getResult());
      return WalkResult::advance();
    }
    if (llvm::none_of(op->getOperands(), [&](Value v) { return padded.contains(v); }))
      return WalkResult::advance();
    if (!keepsPaddingZero(op, padded, pad)) {
      unsafe = op;
      return WalkResult::interrupt();
    }
    for (Value r : op->getResults())
      if (hasVocabDim(r))
        padded.insert(r);
    return WalkResult::advance();
  });
  return unsafe;
}

RankedTensorType padded(RankedTensorType t, int64_t d, int64_t to) {
  SmallVector<int64_t> shape(t.getShape());
  shape[d] = to;
  return t.clone(shape);
}

/// Retypes the padded arguments of `fn` and every op result after them
/// (each op's own shape inference; a reshape's target and the table
/// gradient's vocab follow the padding), then the function's type.
LogicalResult retype(func::FuncOp fn, const Padding &pad) {
  Block &body = fn.getBody().front();
  for (BlockArgument a : body.getArguments()) {
    auto it = pad.dims.find(dp::paramOf(fn.getArgAttrDict(a.getArgNumber())));
    if (it != pad.dims.end())
      a.setType(padded(llvm::cast<RankedTensorType>(a.getType()), it->second, pad.padded));
  }
  for (Operation &op : body.without_terminator()) {
    if (auto g = llvm::dyn_cast<EmbeddingGradOp>(op); g && isTableGrad(g, pad)) {
      g.setVocab(pad.padded);
      g.getResult().setType(padded(g.getType(), 0, pad.padded));
      continue;
    }
    if (auto r = llvm::dyn_cast<ReshapeOp>(op)) {
      auto in = llvm::cast<RankedTensorType>(r.getInput().getType());
      SmallVector<int64_t> shape(r.getShape());
      // The one dim of V in the target grows with the input (one of V
      // became Vp): [B, S, Vp] -> [B S, Vp], [1, Vp, H] -> [Vp, H].
      if (in.getNumElements() != r.getType().getNumElements() &&
          llvm::count(shape, pad.vocab) == 1) {
        *llvm::find(shape, pad.vocab) = pad.padded;
        r.setShape(shape);
      }
    }
    auto infer = llvm::dyn_cast<InferTypeOpInterface>(&op);
    if (!infer)
      continue;
    SmallVector<Type> types;
    if (failed(infer.inferReturnTypes(op.getContext(), op.getLoc(), op.getOperands(),
                                      op.getRawDictionaryAttrs(), op.getPropertiesStorage(),
                                      op.getRegions(), types)))
      return op.emitError() << "while padding the vocabulary from " << pad.vocab << " to "
                            << pad.padded << ", this op's shapes no longer agree";
    for (auto [res, t] : llvm::zip(op.getResults(), types))
      res.setType(t);
  }
  fn.setType(FunctionType::get(fn.getContext(), body.getArgumentTypes(),
                               body.getTerminator()->getOperandTypes()));
  return success();
}

} // namespace

FailureOr<llvm::StringMap<SmallVector<int64_t>>>
mlir::pz::padVocabulary(ModuleOp module, int64_t tp, StringRef pass) {
  llvm::StringMap<SmallVector<int64_t>> stored;
  auto fb = module.lookupSymbol<func::FuncOp>("forward_backward");
  if (!fb || fb.isExternal())
    return stored;
  Padding pad;
  SmallVector<EmbeddingOp> words;
  fb.walk([&](EmbeddingOp e) {
    auto t = llvm::cast<RankedTensorType>(e.getTable().getType());
    if (!e.getIds().getDefiningOp<ConstantOp>() && t.getDimSize(0) >= t.getDimSize(1) &&
        t.getDimSize(0) % tp)
      words.push_back(e);
  });
  if (words.empty())
    return stored;
  pad.embedding = words[0];
  pad.ids = pad.embedding.getIds();
  pad.table = pad.embedding.getTable().getType();
  pad.vocab = pad.table.getDimSize(0);
  pad.padded = (pad.vocab + tp - 1) / tp * tp;
  auto keepWhole = [&](Operation *at, const Twine &why) {
    at->emitRemark() << pass << ": the vocabulary of " << pad.vocab
                     << " does not divide over tp = " << tp << " and is not padded (" << why
                     << "): the embedding and the logits stay whole on every rank";
    return llvm::StringMap<SmallVector<int64_t>>();
  };
  if (words.size() > 1)
    return keepWhole(words[1], "more than one table is looked up by data");
  // Under mixed precision the table is a cast of the parameter, which the
  // padding does not follow yet (0014).
  StringRef table = paramArg(fb, pad.embedding.getTable());
  if (table.empty())
    return keepWhole(pad.embedding, pad.embedding.getTable().getDefiningOp<CastOp>()
                                        ? "the table reaches the lookup through a cast (mixed "
                                          "precision), which the padding does not follow yet"
                                        : "the table is not a parameter");
  pad.dims[table] = 0;
  SmallVector<Operation *> losses;
  bool traced = true;
  fb.walk([&](CrossEntropyOp ce) {
    auto t = llvm::cast<RankedTensorType>(ce.getLogits().getType());
    if (t.getShape().back() != pad.vocab)
      return;
    losses.push_back(ce);
    traced &= traceClasses(fb, ce.getLogits(), t.getRank() - 1, pad);
  });
  if (!traced)
    return keepWhole(losses.back(), "the logits' classes come from an op it cannot follow");
  SmallVector<func::FuncOp> fns;
  for (StringRef name : {"forward_backward", "accumulate_grads", "finalize_grads",
                         "optimizer_step"})
    if (auto fn = module.lookupSymbol<func::FuncOp>(name); fn && !fn.isExternal())
      fns.push_back(fn);
  llvm::SmallPtrSet<Value, 32> logits; // @forward_backward's padded values
  for (func::FuncOp fn : fns) {
    llvm::SmallPtrSet<Value, 32> held;
    if (Operation *op = findUnsafeReader(fn, pad, held))
      return keepWhole(op, "'" + op->getName().getStringRef() +
                               "' reads the padded classes and would not keep them zero");
    if (fn == fb)
      logits = std::move(held);
  }
  for (auto &[name, d] : pad.dims) {
    BlockArgument a;
    for (BlockArgument x : fb.getArguments())
      if (paramArg(fb, x) == name)
        a = x;
    assert(a && "a padded parameter is an argument of @forward_backward");
    stored[name] = SmallVector<int64_t>(llvm::cast<RankedTensorType>(a.getType()).getShape());
  }
  for (func::FuncOp fn : fns)
    if (failed(retype(fn, pad)))
      return failure();
  // The losses that read padded logits mask them; the driver checks ids
  // against the real vocabulary.
  Builder b(module.getContext());
  fb.walk([&](Operation *op) {
    if (llvm::isa<CrossEntropyOp, CrossEntropyGradOp>(op) &&
        logits.contains(op->getOperand(llvm::isa<CrossEntropyOp>(op) ? 0 : 1)))
      op->setAttr(sharding::kValidClassesAttrName, b.getI64IntegerAttr(pad.vocab));
  });
  fb->setAttr(PZDialect::kVocabAttrName, b.getI64IntegerAttr(pad.vocab));
  SmallVector<StringRef> names(stored.keys());
  llvm::sort(names);
  pad.embedding.emitRemark() << pass << ": the vocabulary of " << pad.vocab
                             << " does not divide over tp = " << tp << ": it is padded to "
                             << pad.padded << " (" << pad.padded / tp << " per rank) in "
                             << llvm::join(names, ", ")
                             << "; the padded classes are masked out of the loss, and "
                                "checkpoints keep the "
                             << pad.vocab << " real ones";
  return stored;
}
