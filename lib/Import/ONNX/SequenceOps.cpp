//===- SequenceOps.cpp - Ops the importer evaluates only on constants -----===//
//
// The sequence ops (SplitToSequence, SequenceEmpty, SequenceConstruct,
// SequenceInsert, SequenceAt, SequenceErase, SequenceLength,
// ConcatFromSequence) and ScatterND. Exporters emit them on constants:
// GPT-J's repeat_interleave of its rotary tables, Bloom's causal mask
// written by slice assignment. The pz dialect has no sequence values and no
// ScatterND, so these ops fold on the host, element by element in the
// tensors' own element types (copies are exact; ScatterND's add and mul
// round once per element, as the ops do), and a node of them on run-time
// values is refused at the node. They are not claimed ops (0010, "Ops that
// only fold").
//
//===----------------------------------------------------------------------===//

#include "OpRegistry.h"
#include "ShapeHelpers.h"

using namespace mlir;
using namespace mlir::pz::onnx;

/// The known sequence of input `i`; an error when it is not one.
static FailureOr<const HostSequence *> sequenceInput(NodeContext &ctx,
                                                     unsigned i) {
  if (const HostSequence *s = ctx.getSequence(i))
    return s;
  return ctx.emitError() << ctx.getNode().opType << " input " << i << " ('"
                         << ctx.getNode().inputs[i]
                         << "') must be a sequence, but it is a tensor";
}

/// The known tensor of input `i`; an error when it is a sequence.
static FailureOr<const HostTensor *> tensorInput(NodeContext &ctx, unsigned i) {
  if (const HostTensor *t = ctx.getConstant(i))
    return t;
  return ctx.emitError() << ctx.getNode().opType << " input " << i << " ('"
                         << ctx.getNode().inputs[i]
                         << "') must be a tensor, but it is a sequence";
}

/// A position input (a one-element integer tensor) in [-n, n + extra).
static FailureOr<int64_t> positionInput(NodeContext &ctx, unsigned i, int64_t n,
                                        int64_t extra) {
  FailureOr<const HostTensor *> t = tensorInput(ctx, i);
  if (failed(t))
    return failure();
  if ((*t)->isFloat() || (*t)->size() != 1)
    return ctx.emitError() << ctx.getNode().opType
                           << " position must be one integer, got "
                           << dataTypeName((*t)->getType()) << " of shape "
                           << shapeString((*t)->getShape());
  int64_t p = (*t)->getInt(0);
  if (p < -n || p >= n + extra)
    return ctx.emitError() << ctx.getNode().opType << " position " << p
                           << " is outside [" << -n << ", " << n + extra - 1
                           << "] for a sequence of " << n << " tensors";
  return p < 0 ? p + n : p;
}

/// Copies `len` slices of `t` starting at `start` along `axis`.
static HostTensor sliceAxis(const HostTensor &t, int64_t axis, int64_t start,
                            int64_t len) {
  SmallVector<int64_t> shape(t.getShape());
  int64_t dim = shape[axis];
  shape[axis] = len;
  HostTensor out(t.getType(), shape);
  int64_t inner = 1, outer = 1;
  for (int64_t d = axis + 1; d < t.getRank(); ++d)
    inner *= shape[d];
  for (int64_t d = 0; d < axis; ++d)
    outer *= shape[d];
  int64_t o = 0;
  for (int64_t r = 0; r < outer; ++r)
    for (int64_t k = 0; k < len * inner; ++k)
      out.copyFrom(o++, t, (r * dim + start) * inner + k);
  assert(o == out.size() && "slice copies every element once");
  return out;
}

/// The shared pointer that holds input `i`'s known constant (held, not
/// copied, by the sequence it goes into).
static std::shared_ptr<const HostTensor> heldTensor(NodeContext &ctx,
                                                    unsigned i) {
  std::shared_ptr<const HostTensor> t = ctx.getHeldConstant(i);
  assert(t && "the input is a known constant");
  return t;
}

//===----------------------------------------------------------------------===//
// Building sequences
//===----------------------------------------------------------------------===//

static FailureOr<bool> foldSequenceEmpty(NodeContext &ctx) {
  FailureOr<int64_t> dtype =
      ctx.getInt("dtype", static_cast<int64_t>(DataType::Float));
  if (failed(dtype))
    return failure();
  HostSequence s;
  s.elemType = static_cast<DataType>(*dtype);
  ctx.setOutput(0, std::move(s));
  return true;
}

static FailureOr<bool> foldSequenceConstruct(NodeContext &ctx) {
  HostSequence s;
  for (unsigned i = 0; i < ctx.getNumInputs(); ++i) {
    FailureOr<const HostTensor *> t = tensorInput(ctx, i);
    if (failed(t))
      return failure();
    if (i == 0)
      s.elemType = (*t)->getType();
    else if ((*t)->getType() != s.elemType)
      return ctx.emitError()
             << "SequenceConstruct inputs have different element types "
             << dataTypeName(s.elemType) << " and "
             << dataTypeName((*t)->getType());
    s.items.push_back(heldTensor(ctx, i));
  }
  ctx.setOutput(0, std::move(s));
  return true;
}

static FailureOr<bool> foldSequenceInsert(NodeContext &ctx) {
  FailureOr<const HostSequence *> seq = sequenceInput(ctx, 0);
  FailureOr<const HostTensor *> t = tensorInput(ctx, 1);
  if (failed(seq) || failed(t))
    return failure();
  int64_t n = (*seq)->items.size();
  int64_t at = n;
  if (ctx.hasInput(2)) {
    FailureOr<int64_t> p = positionInput(ctx, 2, n, 1);
    if (failed(p))
      return failure();
    at = *p;
  }
  if ((*t)->getType() != (*seq)->elemType)
    return ctx.emitError() << "SequenceInsert inserts a "
                           << dataTypeName((*t)->getType())
                           << " tensor into a sequence of "
                           << dataTypeName((*seq)->elemType);
  HostSequence s = **seq;
  s.items.insert(s.items.begin() + at, heldTensor(ctx, 1));
  ctx.setOutput(0, std::move(s));
  return true;
}

static FailureOr<bool> foldSplitToSequence(NodeContext &ctx) {
  FailureOr<const HostTensor *> in = tensorInput(ctx, 0);
  FailureOr<int64_t> axisAttr = ctx.getInt("axis", 0);
  FailureOr<int64_t> keepdims = ctx.getInt("keepdims", 1);
  if (failed(in) || failed(axisAttr) || failed(keepdims))
    return failure();
  const HostTensor &x = **in;
  if (x.getRank() == 0)
    return ctx.emitError() << "SplitToSequence cannot split a scalar";
  FailureOr<int64_t> axis = normalizeAxis(ctx, *axisAttr, x.getRank());
  if (failed(axis))
    return failure();
  int64_t dim = x.getShape()[*axis];
  SmallVector<int64_t> lengths;
  bool squeeze = false;
  if (!ctx.hasInput(1)) {
    lengths.assign(dim, 1);
    squeeze = *keepdims == 0;
  } else {
    FailureOr<const HostTensor *> split = tensorInput(ctx, 1);
    if (failed(split))
      return failure();
    if ((*split)->isFloat() || (*split)->getRank() > 1)
      return ctx.emitError() << "SplitToSequence 'split' must be an integer "
                                "scalar or 1-D tensor";
    SmallVector<int64_t> given = (*split)->toInts();
    if ((*split)->getRank() == 0) {
      if (given[0] <= 0)
        return ctx.emitError()
               << "SplitToSequence 'split' must be positive, got " << given[0];
      for (int64_t start = 0; start < dim; start += given[0])
        lengths.push_back(std::min(given[0], dim - start));
    } else {
      int64_t sum = 0;
      for (int64_t l : given) {
        if (l < 0)
          return ctx.emitError()
                 << "SplitToSequence 'split' has a negative length " << l;
        sum += l;
      }
      if (sum != dim)
        return ctx.emitError()
               << "SplitToSequence 'split' sums to " << sum << ", but axis "
               << *axis << " has " << dim << " elements";
      lengths.assign(given.begin(), given.end());
    }
  }
  HostSequence s;
  s.elemType = x.getType();
  int64_t start = 0, elements = 0;
  for (int64_t len : lengths) {
    HostTensor piece = sliceAxis(x, *axis, start, len);
    start += len;
    if (squeeze) {
      SmallVector<int64_t> shape(piece.getShape());
      shape.erase(shape.begin() + *axis);
      piece = piece.reshaped(shape);
    }
    elements += piece.size();
    s.items.push_back(std::make_shared<const HostTensor>(std::move(piece)));
  }
  ctx.countFolded(elements);
  ctx.setOutput(0, std::move(s));
  return true;
}

//===----------------------------------------------------------------------===//
// Reading sequences
//===----------------------------------------------------------------------===//

static FailureOr<bool> foldSequenceAt(NodeContext &ctx) {
  FailureOr<const HostSequence *> seq = sequenceInput(ctx, 0);
  if (failed(seq))
    return failure();
  FailureOr<int64_t> p = positionInput(ctx, 1, (*seq)->items.size(), 0);
  if (failed(p))
    return failure();
  ctx.setOutput(0, (*seq)->items[*p]);
  return true;
}

static FailureOr<bool> foldSequenceErase(NodeContext &ctx) {
  FailureOr<const HostSequence *> seq = sequenceInput(ctx, 0);
  if (failed(seq))
    return failure();
  int64_t n = (*seq)->items.size();
  if (n == 0)
    return ctx.emitError() << "SequenceErase on an empty sequence";
  int64_t at = n - 1;
  if (ctx.hasInput(1)) {
    FailureOr<int64_t> p = positionInput(ctx, 1, n, 0);
    if (failed(p))
      return failure();
    at = *p;
  }
  HostSequence s = **seq;
  s.items.erase(s.items.begin() + at);
  ctx.setOutput(0, std::move(s));
  return true;
}

static FailureOr<bool> foldSequenceLength(NodeContext &ctx) {
  FailureOr<const HostSequence *> seq = sequenceInput(ctx, 0);
  if (failed(seq))
    return failure();
  ctx.setOutput(0, HostTensor::fromInts(
                       {static_cast<int64_t>((*seq)->items.size())}, true));
  return true;
}

static FailureOr<bool> foldConcatFromSequence(NodeContext &ctx) {
  FailureOr<const HostSequence *> seq = sequenceInput(ctx, 0);
  FailureOr<int64_t> newAxis = ctx.getInt("new_axis", 0);
  if (failed(seq) || failed(newAxis))
    return failure();
  if (!ctx.hasAttr("axis"))
    return ctx.emitError() << "ConcatFromSequence has no 'axis' attribute";
  FailureOr<int64_t> axisAttr = ctx.getInt("axis", 0);
  if (failed(axisAttr))
    return failure();
  const auto &items = (*seq)->items;
  if (items.empty())
    return ctx.emitError() << "ConcatFromSequence of an empty sequence";
  bool stack = *newAxis != 0;
  int64_t rank = items.front()->getRank() + (stack ? 1 : 0);
  FailureOr<int64_t> axis = normalizeAxis(ctx, *axisAttr, rank);
  if (failed(axis))
    return failure();
  // Each item seen with the stacked axis inserted (size 1).
  auto viewShape = [&](const HostTensor &t) {
    SmallVector<int64_t> s(t.getShape());
    if (stack)
      s.insert(s.begin() + *axis, 1);
    return s;
  };
  SmallVector<int64_t> shape = viewShape(*items.front());
  shape[*axis] = 0;
  for (const auto &t : items) {
    SmallVector<int64_t> s = viewShape(*t);
    for (int64_t d = 0; d < rank; ++d)
      if (static_cast<int64_t>(s.size()) != rank ||
          (d != *axis && s[d] != shape[d]))
        return ctx.emitError()
               << "ConcatFromSequence items of shapes "
               << shapeString(items.front()->getShape()) << " and "
               << shapeString(t->getShape()) << " differ off the axis";
    shape[*axis] += s[*axis];
  }
  if (foldableElementCount(shape) < 0)
    return ctx.emitError() << "ConcatFromSequence would give the shape "
                           << shapeString(shape) << ", more than "
                           << kMaxFoldElements
                           << " elements, the most the importer folds";
  HostTensor out((*seq)->elemType, shape);
  int64_t outer = 1;
  for (int64_t d = 0; d < *axis; ++d)
    outer *= shape[d];
  int64_t o = 0;
  for (int64_t row = 0; row < outer; ++row)
    for (const auto &t : items) {
      int64_t block = t->size() / std::max<int64_t>(outer, 1);
      for (int64_t k = 0; k < block; ++k)
        out.copyFrom(o++, *t, row * block + k);
    }
  assert(o == out.size() && "concat copies every element once");
  ctx.setOutput(0, std::move(out));
  return true;
}

//===----------------------------------------------------------------------===//
// ScatterND
//===----------------------------------------------------------------------===//

static FailureOr<bool> foldScatterND(NodeContext &ctx) {
  FailureOr<const HostTensor *> dataIn = tensorInput(ctx, 0),
                                indicesIn = tensorInput(ctx, 1),
                                updatesIn = tensorInput(ctx, 2);
  FailureOr<std::string> reduction = ctx.getString("reduction", "none");
  if (failed(dataIn) || failed(indicesIn) || failed(updatesIn) ||
      failed(reduction))
    return failure();
  const HostTensor &data = **dataIn, &indices = **indicesIn,
                   &updates = **updatesIn;
  if (!llvm::is_contained({"none", "add", "mul", "max", "min"}, *reduction))
    return ctx.emitError() << "ScatterND reduction '" << *reduction
                           << "' is not one of none, add, mul, max, min";
  if (indices.isFloat() || indices.isBool() || indices.getRank() == 0)
    return ctx.emitError() << "ScatterND indices must be an integer tensor "
                              "of rank 1 or more";
  if (updates.getType() != data.getType())
    return ctx.emitError() << "ScatterND updates are "
                           << dataTypeName(updates.getType()) << ", the data "
                           << dataTypeName(data.getType());
  ArrayRef<int64_t> dShape = data.getShape(), iShape = indices.getShape();
  int64_t q = iShape.back();
  if (q > data.getRank())
    return ctx.emitError() << "ScatterND index depth " << q
                           << " exceeds the data's rank " << data.getRank();
  SmallVector<int64_t> want(iShape.drop_back());
  llvm::append_range(want, dShape.drop_front(q));
  if (updates.getShape() != ArrayRef<int64_t>(want))
    return ctx.emitError() << "ScatterND updates have the shape "
                           << shapeString(updates.getShape()) << ", not "
                           << shapeString(want)
                           << " (indices.shape[:-1] + data.shape[q:])";
  int64_t slice = 1;
  for (int64_t d : dShape.drop_front(q))
    slice *= d;
  SmallVector<int64_t> strides = stridesOf(dShape);
  HostTensor out = data;
  int64_t tuples = q ? indices.size() / q : 0;
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t base = 0;
    for (int64_t k = 0; k < q; ++k) {
      int64_t idx = indices.getInt(t * q + k), dim = dShape[k];
      if (idx < -dim || idx >= dim)
        return ctx.emitError() << "ScatterND index " << idx << " of tuple " << t
                               << " is outside [" << -dim << ", " << dim
                               << ") for data dim " << k;
      base += (idx < 0 ? idx + dim : idx) * strides[k];
    }
    for (int64_t e = 0; e < slice; ++e) {
      int64_t o = base + e, u = t * slice + e;
      if (*reduction == "none") {
        out.copyFrom(o, updates, u);
      } else if (data.isFloat()) {
        double a = out.getDouble(o), b = updates.getDouble(u);
        out.setDouble(o, *reduction == "add"   ? a + b
                         : *reduction == "mul" ? a * b
                         : *reduction == "max" ? std::max(a, b)
                                               : std::min(a, b));
      } else {
        // Integers wrap, as the integer ops do (unsigned arithmetic).
        int64_t a = out.getInt(o), b = updates.getInt(u);
        auto ua = static_cast<uint64_t>(a), ub = static_cast<uint64_t>(b);
        out.setInt(o, *reduction == "add"   ? static_cast<int64_t>(ua + ub)
                      : *reduction == "mul" ? static_cast<int64_t>(ua * ub)
                      : *reduction == "max" ? std::max(a, b)
                                            : std::min(a, b));
      }
    }
  }
  ctx.setOutput(0, std::move(out));
  return true;
}

void mlir::pz::onnx::registerSequenceOps(OpRegistry &r) {
  r.addFoldOnly("SequenceEmpty", foldSequenceEmpty, 0, true);
  r.addFoldOnly("SequenceConstruct", foldSequenceConstruct, 1, true);
  r.addFoldOnly("SequenceInsert", foldSequenceInsert, 2, true);
  r.addFoldOnly("SequenceAt", foldSequenceAt, 2, true);
  r.addFoldOnly("SequenceErase", foldSequenceErase, 1, true);
  r.addFoldOnly("SequenceLength", foldSequenceLength, 1, true);
  r.addFoldOnly("SplitToSequence", foldSplitToSequence, 1, true);
  r.addFoldOnly("ConcatFromSequence", foldConcatFromSequence, 1, true);
  r.addFoldOnly("ScatterND", foldScatterND, 3, false);
}
