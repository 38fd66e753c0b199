//===- NodeContext.cpp - What an op's folder and lowering see
//--------------===//

#include "NodeContext.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::onnx;

const HostTensor *NodeContext::getConstant(unsigned i) const {
  if (!hasInput(i))
    return nullptr;
  auto it = state.values.find(node.inputs[i]);
  return it == state.values.end() ? nullptr : it->second.constant.get();
}

std::shared_ptr<const HostTensor>
NodeContext::getHeldConstant(unsigned i) const {
  if (!hasInput(i))
    return nullptr;
  auto it = state.values.find(node.inputs[i]);
  return it == state.values.end() ? nullptr : it->second.constant;
}

const HostSequence *NodeContext::getSequence(unsigned i) const {
  if (!hasInput(i))
    return nullptr;
  auto it = state.values.find(node.inputs[i]);
  return it == state.values.end() ? nullptr : it->second.sequence.get();
}

bool NodeContext::allInputsConstant() const {
  for (unsigned i = 0, e = getNumInputs(); i < e; ++i)
    if (hasInput(i) && !getConstant(i) && !getSequence(i))
      return false;
  return true;
}

FailureOr<Value> NodeContext::materialize(const HostTensor &t, Location at) {
  if (!t.getMLIRType(getContext()))
    return emitError() << "a constant of element type "
                       << dataTypeName(t.getType())
                       << " would have to become IR, but the pz dialect has "
                          "no such element type";
  return ConstantOp::create(state.builder, at, t.toAttr(getContext()))
      .getResult();
}

FailureOr<Value> NodeContext::getValue(unsigned i) {
  if (!hasInput(i))
    return emitError() << node.opType << " is missing its input " << i;
  ImportedValue &v = state.values.find(node.inputs[i])->second;
  if (v.value)
    return v.value;
  if (!v.constant)
    return emitError() << node.opType << " reads the sequence '"
                       << node.inputs[i]
                       << "' as a tensor; sequences exist only at import "
                          "time, for the sequence ops to fold";
  FailureOr<Value> c = materialize(*v.constant, v.loc ? Location(v.loc) : loc);
  if (succeeded(c))
    v.value = *c;
  return c;
}

SmallVector<int64_t> NodeContext::getShape(unsigned i) const {
  if (!hasInput(i))
    return {};
  if (const HostTensor *c = getConstant(i))
    return SmallVector<int64_t>(c->getShape());
  const ImportedValue &v = state.values.find(node.inputs[i])->second;
  return SmallVector<int64_t>(
      llvm::cast<RankedTensorType>(v.value.getType()).getShape());
}

DataType NodeContext::getDataType(unsigned i) const {
  if (!hasInput(i))
    return DataType::Undefined;
  if (const HostTensor *c = getConstant(i))
    return c->getType();
  const ImportedValue &v = state.values.find(node.inputs[i])->second;
  return fromMLIRType(
      llvm::cast<RankedTensorType>(v.value.getType()).getElementType());
}

std::optional<int64_t> NodeContext::takePaddingIdx(Value table) {
  auto it = state.paddingIdx.find(table);
  if (it == state.paddingIdx.end())
    return std::nullopt;
  state.paddingIdxUsed.insert(table);
  return it->second;
}

bool NodeContext::isParameter(unsigned i) const {
  if (!hasInput(i) || getConstant(i))
    return false;
  return state.params.contains(state.values.find(node.inputs[i])->second.value);
}

FailureOr<SmallVector<int64_t>>
NodeContext::getConstantInts(unsigned i, StringRef what) const {
  const HostTensor *c = getConstant(i);
  if (!c) {
    if (!hasInput(i))
      emitError() << node.opType << " needs its " << what << " input";
    else
      emitError() << node.opType << " needs a constant " << what
                  << ", but its input '" << node.inputs[i]
                  << "' is computed at run time";
    return failure();
  }
  if (c->isFloat()) {
    emitError() << node.opType << " needs an integer " << what << ", got "
                << dataTypeName(c->getType());
    return failure();
  }
  return c->toInts();
}

LogicalResult NodeContext::requireStatic(ArrayRef<int64_t> shape,
                                         StringRef what) const {
  if (llvm::none_of(shape, ShapedType::isDynamic))
    return success();
  std::string dims;
  for (auto [i, d] : llvm::enumerate(shape))
    dims += (i ? "x" : "") +
            (ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d));
  InFlightDiagnostic diag = emitError();
  diag << node.opType << " needs the static shape of " << what << ", but it is "
       << dims << ". Fix the dynamic dims of the data "
       << "inputs with --input-shape NAME=DxD...";
  if (!state.dynamicInputs.empty())
    diag << " (dynamic now: " << llvm::join(state.dynamicInputs, ", ") << ")";
  return diag;
}

bool NodeContext::isOutputUsed(unsigned i) const {
  return i < node.outputs.size() && !node.outputs[i].empty() &&
         state.usedNames.contains(node.outputs[i]);
}

void NodeContext::setOutput(unsigned i, Value v) {
  if (i >= node.outputs.size() || node.outputs[i].empty())
    return;
  state.values.insert_or_assign(node.outputs[i],
                                ImportedValue{v, nullptr, loc});
}

void NodeContext::setOutput(unsigned i, std::shared_ptr<const HostTensor> t) {
  assert(t && "a known constant output needs a tensor");
  if (i >= node.outputs.size() || node.outputs[i].empty())
    return;
  state.values.insert_or_assign(node.outputs[i],
                                ImportedValue{Value(), std::move(t), loc});
}

void NodeContext::setOutput(unsigned i, HostSequence s) {
  if (i >= node.outputs.size() || node.outputs[i].empty())
    return;
  state.values.insert_or_assign(
      node.outputs[i],
      ImportedValue{Value(), nullptr, loc,
                    std::make_shared<const HostSequence>(std::move(s))});
}

void NodeContext::setOutput(unsigned i, HostTensor t) {
  if (i >= node.outputs.size() || node.outputs[i].empty())
    return;
  const size_t h = static_cast<size_t>(t.hash());
  std::shared_ptr<const HostTensor> held;
  for (auto [it, end] = state.interned.equal_range(h); it != end && !held; ++it)
    if (it->second->sameAs(t))
      held = it->second;
  if (!held) {
    state.foldedElements += t.size();
    held = std::make_shared<const HostTensor>(std::move(t));
    state.interned.emplace(h, held);
  }
  state.values.insert_or_assign(node.outputs[i], ImportedValue{Value(), held, loc});
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

/// Reports an attribute of the wrong kind.
static LogicalResult wrongKind(const NodeContext &ctx, const NodeAttribute &a,
                               StringRef want) {
  return ctx.emitError() << ctx.getNode().opType << " attribute '" << a.name
                         << "' must be " << want << ", got "
                         << attributeKindName(a.kind);
}

FailureOr<int64_t> NodeContext::getInt(StringRef name, int64_t dflt) const {
  const NodeAttribute *a = findAttr(name);
  if (!a)
    return dflt;
  if (a->kind != NodeAttribute::Kind::Int)
    return wrongKind(*this, *a, "INT");
  return a->i;
}

FailureOr<double> NodeContext::getFloat(StringRef name, double dflt) const {
  const NodeAttribute *a = findAttr(name);
  if (!a)
    return dflt;
  if (a->kind != NodeAttribute::Kind::Float)
    return wrongKind(*this, *a, "FLOAT");
  return static_cast<double>(a->f);
}

FailureOr<std::string> NodeContext::getString(StringRef name,
                                              StringRef dflt) const {
  const NodeAttribute *a = findAttr(name);
  if (!a)
    return dflt.str();
  if (a->kind != NodeAttribute::Kind::String)
    return wrongKind(*this, *a, "STRING");
  return a->s;
}

FailureOr<std::optional<SmallVector<int64_t>>>
NodeContext::getInts(StringRef name) const {
  const NodeAttribute *a = findAttr(name);
  if (!a)
    return std::optional<SmallVector<int64_t>>();
  if (a->kind != NodeAttribute::Kind::Ints)
    return wrongKind(*this, *a, "INTS");
  return std::optional<SmallVector<int64_t>>(
      SmallVector<int64_t>(a->ints.begin(), a->ints.end()));
}
