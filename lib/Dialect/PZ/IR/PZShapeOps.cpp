//===- PZShapeOps.cpp - reshape, transpose, slice, gather and friends -----===//

#include "ShapeUtils.h"
#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Support/Limits.h"

#include "mlir/IR/Builders.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::detail;

//===----------------------------------------------------------------------===//
// reshape
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  auto t = rankedOrError(loc, adaptor.getInput(), "input");
  if (!t)
    return failure();
  ArrayRef<int64_t> target = adaptor.getShape();
  SmallVector<int64_t> shape(target);
  int64_t known = 1;
  std::optional<size_t> inferIdx;
  for (auto [i, d] : llvm::enumerate(target)) {
    if (d == -1) {
      if (inferIdx)
        return emitOptionalError(loc, "shape ", listStr(target),
                                 " has more than one -1");
      inferIdx = i;
    } else if (d < 0) {
      return emitOptionalError(loc, "shape ", listStr(target),
                               " has entry ", d,
                               "; entries are sizes (>= 0) or a single -1");
    } else if (llvm::MulOverflow(known, d, known)) {
      return emitOptionalError(loc, "shape ", listStr(target),
                               " has more elements than int64 can count");
    }
  }
  if (t.hasStaticShape()) {
    int64_t total = t.getNumElements();
    if (inferIdx) {
      if (known == 0)
        return emitOptionalError(loc, "shape ", listStr(target),
                                 " has a 0 entry: its -1 cannot be inferred");
      if (total % known != 0)
        return emitOptionalError(loc, "cannot reshape ", total,
                                 " elements into ", listStr(target));
      shape[*inferIdx] = total / known;
    } else if (total != known) {
      return emitOptionalError(loc, "cannot reshape ", shapeStr(t.getShape()),
                               " (", total, " elements) into ",
                               listStr(target), " (", known, " elements)");
    }
  } else if (inferIdx) {
    shape[*inferIdx] = ShapedType::kDynamic;
  }
  inferred.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

/// True when `v` has exactly `type`, and that type is fully static, so an
/// op producing `type` from `v` without moving elements is the identity.
static bool isStaticallyIdentity(Value v, Type type) {
  auto t = llvm::dyn_cast<RankedTensorType>(type);
  return v.getType() == type && t && t.hasStaticShape();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (isStaticallyIdentity(getInput(), getType()))
    return getInput();
  // reshape(reshape(x)) reads x directly.
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  return {};
}

//===----------------------------------------------------------------------===//
// transpose
//===----------------------------------------------------------------------===//

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto t = rankedOrError(loc, adaptor.getInput(), "input");
  if (!t)
    return failure();
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  if (static_cast<int64_t>(perm.size()) != t.getRank())
    return emitOptionalError(loc, "permutation ", listStr(perm), " has ",
                             perm.size(), " entries for rank ", t.getRank());
  SmallVector<bool> seen(perm.size(), false);
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= t.getRank() || seen[p])
      return emitOptionalError(loc, "permutation ", listStr(perm),
                               " is not a permutation of 0..",
                               t.getRank() - 1);
    seen[p] = true;
    shape.push_back(t.getDimSize(p));
  }
  inferred.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  ArrayRef<int64_t> perm = getPermutation();
  if (llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())) &&
      getInput().getType() == getType())
    return getInput();
  // transpose(transpose(x, p), q) == transpose(x, p[q[i]]).
  if (auto inner = getInput().getDefiningOp<TransposeOp>()) {
    SmallVector<int64_t> composed;
    for (int64_t q : perm)
      composed.push_back(inner.getPermutation()[q]);
    getInputMutable().assign(inner.getInput());
    setPermutation(composed);
    return getResult();
  }
  return {};
}

//===----------------------------------------------------------------------===//
// broadcast
//===----------------------------------------------------------------------===//

LogicalResult BroadcastOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto t = rankedOrError(loc, adaptor.getInput(), "input");
  if (!t)
    return failure();
  ArrayRef<int64_t> target = adaptor.getShape();
  if (static_cast<int64_t>(target.size()) < t.getRank())
    return emitOptionalError(loc, "cannot broadcast rank ", t.getRank(),
                             " to the lower rank ", target.size());
  int64_t lead = target.size() - t.getRank();
  for (auto [i, d] : llvm::enumerate(target)) {
    if (d < 1)
      return emitOptionalError(loc, "shape ", listStr(target),
                               " has the non-positive entry ", d);
    if (static_cast<int64_t>(i) < lead)
      continue;
    int64_t in = t.getDimSize(i - lead);
    if (!ShapedType::isDynamic(in) && in != 1 && in != d)
      return emitOptionalError(loc, "cannot broadcast ", shapeStr(t.getShape()),
                               " to ", listStr(target));
  }
  inferred.push_back(RankedTensorType::get(target, t.getElementType()));
  return success();
}

OpFoldResult BroadcastOp::fold(FoldAdaptor) {
  if (isStaticallyIdentity(getInput(), getType()))
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// slice
//===----------------------------------------------------------------------===//

LogicalResult SliceOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto t = rankedOrError(loc, adaptor.getInput(), "input");
  if (!t)
    return failure();
  ArrayRef<int64_t> starts = adaptor.getStarts(), ends = adaptor.getEnds(),
                    steps = adaptor.getSteps();
  int64_t rank = t.getRank();
  if (static_cast<int64_t>(starts.size()) != rank ||
      static_cast<int64_t>(ends.size()) != rank ||
      static_cast<int64_t>(steps.size()) != rank)
    return emitOptionalError(loc, "starts, ends and steps need ", rank,
                             " entries each (one per dim), got ",
                             starts.size(), ", ", ends.size(), " and ",
                             steps.size());
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d) {
    std::string error;
    FailureOr<int64_t> count =
        sliceDimSize(d, t.getDimSize(d), starts[d], ends[d], steps[d], error);
    if (failed(count))
      return emitOptionalError(loc, error);
    shape.push_back(*count);
  }
  inferred.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor) {
  // The slice is its input when it takes every element in order. A dim of
  // size 0 or 1 that keeps its size is kept as it is, whatever the step; a
  // longer one needs start 0 and step 1 (a negative step keeps the size but
  // reverses the dim).
  if (!isStaticallyIdentity(getInput(), getType()))
    return {};
  ArrayRef<int64_t> shape = getType().getShape();
  for (int64_t d = 0, rank = shape.size(); d < rank; ++d)
    if (shape[d] > 1 && (getStarts()[d] != 0 || getSteps()[d] != 1))
      return {};
  return getInput();
}

//===----------------------------------------------------------------------===//
// concat
//===----------------------------------------------------------------------===//

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return emitOptionalError(loc, "expects at least one input");
  auto first = rankedOrError(loc, inputs.front(), "inputs");
  if (!first)
    return failure();
  int64_t axis = adaptor.getAxis();
  if (failed(checkAxis(loc, axis, first.getRank())))
    return failure();
  SmallVector<int64_t> shape(first.getShape());
  for (auto [i, v] : llvm::enumerate(inputs.drop_front())) {
    auto t = rankedOrError(loc, v, "inputs");
    if (!t)
      return failure();
    if (t.getElementType() != first.getElementType() ||
        t.getRank() != first.getRank())
      return emitOptionalError(loc, "input ", i + 1, " (", t,
                               ") differs in rank or element type from "
                               "input 0 (",
                               first, ")");
    for (int64_t d = 0; d < t.getRank(); ++d) {
      int64_t size = t.getDimSize(d);
      if (d == axis) {
        if (ShapedType::isDynamic(shape[d]) || ShapedType::isDynamic(size)) {
          shape[d] = ShapedType::kDynamic;
          continue;
        }
        std::optional<int64_t> sum = llvm::checkedAdd(shape[d], size);
        if (!sum || *sum > kMaxTensorElements)
          return emitOptionalError(loc, "the concatenated dim ", d,
                                   " exceeds ", kMaxTensorElements,
                                   " elements");
        shape[d] = *sum;
      } else if (!dimsAgree(shape[d], size)) {
        return emitOptionalError(loc, "input ", i + 1, " has size ", size,
                                 " on dim ", d, " where input 0 has ",
                                 shape[d]);
      } else {
        shape[d] = mergeDims(shape[d], size);
      }
    }
  }
  inferred.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

OpFoldResult ConcatOp::fold(FoldAdaptor) {
  if (getInputs().size() == 1 && getInputs().front().getType() == getType())
    return getInputs().front();
  return {};
}

//===----------------------------------------------------------------------===//
// gather, embedding, where
//===----------------------------------------------------------------------===//

LogicalResult GatherOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  auto t = rankedOrError(loc, adaptor.getInput(), "input");
  auto idx = rankedOrError(loc, adaptor.getIndices(), "indices");
  if (!t || !idx)
    return failure();
  int64_t axis = adaptor.getAxis();
  if (failed(checkAxis(loc, axis, t.getRank())))
    return failure();
  SmallVector<int64_t> shape(t.getShape().take_front(axis));
  llvm::append_range(shape, idx.getShape());
  llvm::append_range(shape, t.getShape().drop_front(axis + 1));
  inferred.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

LogicalResult EmbeddingOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  auto table = rankedOrError(loc, adaptor.getTable(), "table");
  auto ids = rankedOrError(loc, adaptor.getIds(), "ids");
  if (!table || !ids)
    return failure();
  if (table.getRank() != 2)
    return emitOptionalError(loc, "table must have rank 2 (vocab x dim), got ",
                             table);
  SmallVector<int64_t> shape(ids.getShape());
  shape.push_back(table.getDimSize(1));
  inferred.push_back(RankedTensorType::get(shape, table.getElementType()));
  return success();
}

LogicalResult EmbeddingOp::verify() {
  std::optional<int64_t> pad = getPaddingIdx();
  if (!pad)
    return success();
  int64_t vocab = getTable().getType().getDimSize(0);
  if (*pad < 0 || (!ShapedType::isDynamic(vocab) && *pad >= vocab))
    return emitOpError() << "padding_idx " << *pad
                         << " is not a row of the table (vocabulary "
                         << vocab << ")";
  return success();
}

LogicalResult WhereOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  auto c = rankedOrError(loc, adaptor.getCondition(), "condition");
  auto a = rankedOrError(loc, adaptor.getOnTrue(), "on_true");
  auto b = rankedOrError(loc, adaptor.getOnFalse(), "on_false");
  if (!c || !a || !b)
    return failure();
  SmallVector<int64_t> ab, shape;
  if (failed(broadcastOrError(loc, a.getShape(), b.getShape(), ab)) ||
      failed(broadcastOrError(loc, c.getShape(), ab, shape)))
    return failure();
  inferred.push_back(RankedTensorType::get(shape, a.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// cast, constant
//===----------------------------------------------------------------------===//

LogicalResult CastOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  auto t = rankedOrError(loc, adaptor.getInput(), "input");
  if (!t)
    return failure();
  if (!adaptor.getDtypeAttr())
    return emitOptionalError(loc, "expects a dtype");
  inferred.push_back(t.clone(adaptor.getDtype()));
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor) {
  if (getInput().getType() == getType())
    return getInput();
  return {};
}

LogicalResult ConstantOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &inferred) {
  auto value = adaptor.getValueAttr();
  if (!value)
    return emitOptionalError(loc, "expects a value");
  inferred.push_back(value.getType());
  return success();
}

LogicalResult ConstantOp::verify() {
  if (!llvm::isa<ElementsAttr>(getValue()))
    return emitOpError() << "value must be an elements attribute such as "
                            "dense<...>, got "
                         << getValue();
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// gather_elements, scatter_elements
//===----------------------------------------------------------------------===//

/// `indices` has the rank of `input`, and on every dim but `axis` it is no
/// larger (dynamic dims pass).
static LogicalResult checkElementIndices(MaybeLoc loc, RankedTensorType input,
                                         RankedTensorType indices,
                                         int64_t axis) {
  if (failed(checkAxis(loc, axis, input.getRank())))
    return failure();
  if (indices.getRank() != input.getRank())
    return emitOptionalError(loc, "indices of rank ", indices.getRank(),
                             " for an input of rank ", input.getRank(),
                             "; they must agree");
  for (int64_t d = 0; d < input.getRank(); ++d) {
    int64_t i = indices.getDimSize(d), n = input.getDimSize(d);
    if (d != axis && !ShapedType::isDynamic(i) && !ShapedType::isDynamic(n) &&
        i > n)
      return emitOptionalError(loc, "indices ", shapeStr(indices.getShape()),
                               " are larger than the input ",
                               shapeStr(input.getShape()), " on dim ", d);
  }
  return success();
}

LogicalResult
GatherElementsOp::inferReturnTypes(MLIRContext *, MaybeLoc loc,
                                   Adaptor adaptor,
                                   SmallVectorImpl<Type> &inferred) {
  auto t = rankedOrError(loc, adaptor.getInput(), "input");
  auto idx = rankedOrError(loc, adaptor.getIndices(), "indices");
  if (!t || !idx ||
      failed(checkElementIndices(loc, t, idx, adaptor.getAxis())))
    return failure();
  inferred.push_back(RankedTensorType::get(idx.getShape(), t.getElementType()));
  return success();
}

LogicalResult ScatterElementsOp::verify() {
  MaybeLoc loc = getLoc();
  RankedTensorType t = getInput().getType(), idx = getIndices().getType(),
                   upd = getUpdates().getType();
  if (failed(checkElementIndices(loc, t, idx, getAxis())))
    return failure();
  if (upd.getRank() != idx.getRank() ||
      !llvm::all_of(llvm::zip(upd.getShape(), idx.getShape()),
                    [](auto p) {
                      return dimsAgree(std::get<0>(p), std::get<1>(p));
                    }))
    return emitOpError() << "updates " << shapeStr(upd.getShape())
                         << " and indices " << shapeStr(idx.getShape())
                         << " must have one shape";
  return success();
}
