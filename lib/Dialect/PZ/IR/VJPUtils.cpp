//===- VJPUtils.cpp - small builders shared by the ops' VJPs --------------===//

#include "VJPUtils.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::detail;

/// `loc("NAME/grad"(forward loc))` when the forward op has a name, else
/// `loc("grad"(forward loc))`: gradient ops point at their forward op.
static Location backwardLoc(Operation *forward) {
  Location fwd = forward->getLoc();
  std::string name = "grad";
  if (auto n = llvm::dyn_cast<NameLoc>(fwd))
    name = (n.getName().getValue() + "/grad").str();
  return NameLoc::get(StringAttr::get(forward->getContext(), name), fwd);
}

GradBuilder::GradBuilder(OpBuilder &b, Operation *forward)
    : b(b), l(backwardLoc(forward)), forward(forward) {}

bool GradBuilder::needStatic(Type t) {
  if (llvm::cast<RankedTensorType>(t).hasStaticShape())
    return true;
  if (!failed)
    forward->emitOpError() << "needs static shapes to differentiate, got "
                           << t << "; fix the dynamic dims with --input-shape";
  failed = true;
  return false;
}

Value GradBuilder::add(Value x, Value y) { return AddOp::create(b, l, x, y); }
Value GradBuilder::sub(Value x, Value y) { return SubOp::create(b, l, x, y); }
Value GradBuilder::mul(Value x, Value y) { return MulOp::create(b, l, x, y); }
Value GradBuilder::div(Value x, Value y) { return DivOp::create(b, l, x, y); }
Value GradBuilder::neg(Value x) { return NegOp::create(b, l, x); }

Value GradBuilder::scalar(Value like, double v) {
  Type elt = getElementTypeOrSelf(like.getType());
  auto type = RankedTensorType::get({}, elt);
  Attribute value;
  if (auto f = llvm::dyn_cast<FloatType>(elt))
    value = DenseElementsAttr::get(type, FloatAttr::get(f, v).getValue());
  else
    value = DenseElementsAttr::get(
        type, IntegerAttr::get(elt, static_cast<int64_t>(v)).getValue());
  return ConstantOp::create(b, l, llvm::cast<TypedAttr>(value));
}

Value GradBuilder::sumToShape(Value grad, Type target) {
  auto g = llvm::cast<RankedTensorType>(grad.getType());
  auto t = llvm::cast<RankedTensorType>(target);
  if (g.getShape() == t.getShape())
    return grad;
  int64_t lead = g.getRank() - t.getRank();
  SmallVector<int64_t> axes;
  for (int64_t d = 0; d < g.getRank(); ++d)
    if (d < lead || (t.getDimSize(d - lead) == 1 && g.getDimSize(d) != 1))
      axes.push_back(d);
  Value summed = grad;
  if (!axes.empty())
    summed = ReduceSumOp::create(b, l, grad, b.getDenseI64ArrayAttr(axes),
                                 /*keepdims=*/b.getUnitAttr());
  if (summed.getType() == target)
    return summed;
  if (!needStatic(target))
    return nullptr;
  return ReshapeOp::create(b, l, summed,
                           b.getDenseI64ArrayAttr(t.getShape()));
}

Value GradBuilder::unreduce(Value grad, Type target, ArrayRef<int64_t> axes,
                            bool keptDims) {
  auto t = llvm::cast<RankedTensorType>(target);
  if (!needStatic(target))
    return nullptr;
  Value g = grad;
  if (!keptDims) {
    SmallVector<int64_t> kept(t.getShape());
    for (int64_t a : axes)
      kept[a] = 1;
    g = ReshapeOp::create(b, l, g, b.getDenseI64ArrayAttr(kept));
  }
  if (g.getType() == target)
    return g;
  return BroadcastOp::create(b, l, g, b.getDenseI64ArrayAttr(t.getShape()));
}

bool mlir::pz::detail::isDifferentiable(Value v) {
  return llvm::isa<FloatType>(getElementTypeOrSelf(v.getType()));
}
