//===- GraphImporter.cpp - An ONNX graph to func.func @forward ------------===//

#include "GraphImporter.h"
#include "InterpFold.h"
#include "OpRegistry.h"
#include "ShapeHelpers.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Support/Limits.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::onnx;

/// True when input `i` of `opType` must be known at import time (shapes,
/// axes, ratios) or only its shape is read. A float initializer read only
/// in such positions is a constant, not a trainable parameter.
static bool isStaticOperand(StringRef opType, unsigned i) {
  if (opType == "Shape" || opType == "Size" || opType == "ConstantOfShape" ||
      opType == "Range")
    return true;
  if (opType == "Slice")
    return i >= 1;
  if (opType == "Dropout")
    return i == 1 || i == 2;
  return i == 1 && llvm::is_contained({"Reshape", "Expand", "Squeeze",
                                       "Unsqueeze", "Split", "Trilu",
                                       "ReduceSum", "ReduceMean", "ReduceMax",
                                       "Tile", "CumSum"},
                                      opType);
}

FailureOr<SmallVector<Type>>
GraphImporter::inputTypes(SmallVectorImpl<unsigned> &which) {
  llvm::StringSet<> initNames;
  for (const Tensor &t : graph.initializers)
    initNames.insert(t.name);
  // Explicit shapes, then the symbols (dim_param) they fix.
  std::map<std::string, int64_t> symbols;
  for (const auto &[name, dims] : options.inputShapes) {
    const ValueInfo *in = nullptr;
    for (const ValueInfo &v : graph.inputs)
      if (v.name == name && !initNames.contains(v.name))
        in = &v;
    if (!in) {
      SmallVector<std::string> names;
      for (const ValueInfo &v : graph.inputs)
        if (!initNames.contains(v.name))
          names.push_back("'" + v.name + "'");
      return emitError(modelLoc())
             << "--input-shape names '" << name
             << "', but no data input has that name (data inputs: "
             << llvm::join(names, ", ") << ")";
    }
    if (in->dims.size() != dims.size())
      return emitError(modelLoc()) << "--input-shape " << name << " gives "
                                   << dims.size() << " dims, but input '"
                                   << name << "' has rank " << in->dims.size();
    for (auto [d, dim] : llvm::enumerate(in->dims)) {
      if (dim.size >= 0 && dim.size != dims[d])
        return emitError(modelLoc())
               << "--input-shape " << name << " sets dim " << d << " to "
               << dims[d] << ", but the model fixes it to " << dim.size;
      if (!dim.symbol.empty())
        symbols.emplace(dim.symbol, dims[d]);
    }
  }
  SmallVector<Type> types;
  for (auto [i, in] : llvm::enumerate(graph.inputs)) {
    if (initNames.contains(in.name))
      continue; // an initializer listed as input (IR version < 4)
    if (in.kind != ValueInfo::Kind::Tensor)
      return emitError(modelLoc())
             << "graph input '" << in.name
             << "' is not a tensor (sequences, maps and optionals are not "
                "supported)";
    Type elem = toMLIRType(&ctx, in.elemType);
    if (!elem)
      return emitError(modelLoc())
             << "graph input '" << in.name << "' has element type "
             << dataTypeName(in.elemType)
             << ", which the pz dialect does not have";
    if (!in.hasShape)
      return emitError(modelLoc())
             << "graph input '" << in.name
             << "' has no shape; the importer needs at least its rank";
    auto given = options.inputShapes.find(in.name);
    SmallVector<int64_t> shape;
    std::string symbolic;
    for (auto [d, dim] : llvm::enumerate(in.dims)) {
      int64_t size = dim.size;
      if (given != options.inputShapes.end())
        size = given->second[d];
      else if (size < 0 && symbols.count(dim.symbol))
        size = symbols[dim.symbol];
      shape.push_back(size < 0 ? ShapedType::kDynamic : size);
      symbolic += (d ? "x" : "") + (size >= 0            ? std::to_string(size)
                                    : dim.symbol.empty() ? "?"
                                                         : dim.symbol);
    }
    if (!boundedElementCount(shape))
      return emitError(modelLoc())
             << "graph input '" << in.name << "' has the shape " << symbolic
             << ", more than " << kMaxTensorElements
             << " (2^48) elements, the most a tensor may hold";
    if (llvm::any_of(shape, ShapedType::isDynamic))
      state.dynamicInputs.push_back(in.name + "=" + symbolic);
    types.push_back(RankedTensorType::get(shape, elem));
    which.push_back(i);
  }
  return types;
}

LogicalResult GraphImporter::createFunction() {
  SmallVector<unsigned> inputIdx;
  FailureOr<SmallVector<Type>> types = inputTypes(inputIdx);
  if (failed(types))
    return failure();
  // Initializers read only as shapes, axes or ratios are constants.
  llvm::StringSet<> dataUse;
  for (const Node &node : graph.nodes) {
    for (auto [i, in] : llvm::enumerate(node.inputs))
      if (!isStaticOperand(node.opType, i))
        dataUse.insert(in);
    for (const std::string &in : outerScopeReads(node))
      dataUse.insert(in);
  }
  for (const ValueInfo &out : graph.outputs)
    dataUse.insert(out.name);
  SmallVector<const Tensor *> params;
  for (const Tensor &t : graph.initializers) {
    bool used = state.usedNames.contains(t.name);
    if (isFloatType(t.dataType) && (!used || dataUse.contains(t.name))) {
      params.push_back(&t);
      types->push_back(
          RankedTensorType::get(t.dims, toMLIRType(&ctx, t.dataType)));
      continue;
    }
    if (!used)
      continue;
    HostTensor h;
    std::string err;
    if (!HostTensor::fromTensor(t, h, err))
      return emitError(modelLoc()) << "initializer: " << err;
    state.values.insert_or_assign(
        t.name,
        ImportedValue{Value(), std::make_shared<const HostTensor>(std::move(h)),
                      NameLoc::get(StringAttr::get(&ctx, t.name), modelLoc())});
  }

  OpBuilder &b = state.builder;
  fn = func::FuncOp::create(b, modelLoc(), "forward",
                            b.getFunctionType(*types, {}));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToEnd(entry);
  unsigned arg = 0;
  for (unsigned i : inputIdx) {
    const std::string &name = graph.inputs[i].name;
    fn.setArgAttr(arg, PZDialect::kInputAttrName, b.getStringAttr(name));
    BlockArgument v = entry->getArgument(arg++);
    v.setLoc(NameLoc::get(b.getStringAttr(name), modelLoc()));
    state.values.insert_or_assign(name, ImportedValue{v, nullptr, v.getLoc()});
  }
  for (const Tensor *t : params) {
    fn.setArgAttr(arg, PZDialect::kParamAttrName, b.getStringAttr(t->name));
    BlockArgument v = entry->getArgument(arg++);
    v.setLoc(NameLoc::get(b.getStringAttr(t->name), modelLoc()));
    state.values.insert_or_assign(t->name,
                                  ImportedValue{v, nullptr, v.getLoc()});
    state.params.insert(v);
  }
  return success();
}

LogicalResult GraphImporter::importNode(const Node &node, Location loc) {
  if (isInlinedControlFlow(node))
    return node.opType == "If" ? importIf(node, loc) : importLoop(node, loc);
  const OpHandler *handler = getOpRegistry().lookup(node.domain, node.opType);
  assert(handler && "checkSupportedOps let only supported ops through");
  NodeContext nctx(state, node, opset, loc);
  for (unsigned i = 0; i < handler->minInputs; ++i)
    if (!nctx.hasInput(i))
      return nctx.emitError()
             << node.opType << " needs at least " << handler->minInputs
             << " inputs, but input " << i << " is missing";
  if (!handler->takesSequences)
    for (unsigned i = 0; i < nctx.getNumInputs(); ++i)
      if (nctx.getSequence(i))
        return nctx.emitError()
               << node.opType << " input " << i << " ('" << node.inputs[i]
               << "') is a sequence; only the sequence ops take sequences";
  bool done = false;
  if (nctx.allInputsConstant()) {
    // The op's own folder first; any other op on constants is folded by
    // lowering it and running the reference interpreter on the result.
    if (handler->fold) {
      FailureOr<bool> folded = handler->fold(nctx);
      if (failed(folded))
        return failure();
      done = *folded;
    }
    if (!done && handler->lower) {
      FailureOr<bool> folded = foldWithInterpreter(state, nctx, handler->lower);
      if (failed(folded))
        return failure();
      done = *folded;
    }
    if (done && state.foldedElements > state.maxFoldedElements)
      return nctx.emitError()
             << "folding this " << node.opType
             << " node brings the constant elements held on the host to "
             << state.foldedElements << ", past the import's bound of "
             << state.maxFoldedElements;
  }
  if (!done) {
    if (!handler->lower) {
      for (unsigned i = 0; i < nctx.getNumInputs(); ++i)
        if (nctx.hasInput(i) && !nctx.getConstant(i) && !nctx.getSequence(i))
          return nctx.emitError()
                 << node.opType << " needs inputs known at import time, but '"
                 << node.inputs[i] << "' is computed at run time"
                 << (handler->claimed ? ""
                                      : " (the importer evaluates this op "
                                        "only on constants: pz has no such "
                                        "op on data)");
      return nctx.emitError() << node.opType << " could not be evaluated";
    }
    if (failed(handler->lower(nctx)))
      return failure();
  }
  // A node's outputs stay within the tensor bound, so that the shape
  // products later nodes form from them cannot overflow.
  for (unsigned i = 0; i < nctx.getNumOutputs(); ++i) {
    auto it = i < node.outputs.size() && !node.outputs[i].empty()
                  ? state.values.find(node.outputs[i])
                  : state.values.end();
    if (it == state.values.end() || !it->second.value)
      continue;
    auto t = llvm::dyn_cast<RankedTensorType>(it->second.value.getType());
    if (t && !boundedElementCount(t.getShape()))
      return nctx.emitError()
             << node.opType << " output " << i << " ('" << node.outputs[i]
             << "') would have the type " << t << ", more than "
             << kMaxTensorElements
             << " (2^48) elements, the most a tensor may hold";
  }
  for (unsigned i = 0; i < nctx.getNumOutputs(); ++i)
    if (nctx.isOutputUsed(i) && !state.values.count(node.outputs[i]))
      return nctx.emitError()
             << node.opType << " output " << i << " ('" << node.outputs[i]
             << "') is read but the importer does not "
                "produce it";
  return success();
}

LogicalResult GraphImporter::createReturn() {
  OpBuilder &b = state.builder;
  SmallVector<Value> results;
  for (const ValueInfo &out : graph.outputs) {
    ImportedValue &v = state.values.find(out.name)->second;
    if (v.sequence)
      return emitError(modelLoc())
             << "graph output '" << out.name
             << "' is a sequence; the outputs of a pz program are tensors";
    if (!v.value) {
      if (!v.constant->getMLIRType(&ctx))
        return emitError(modelLoc())
               << "graph output '" << out.name << "' has element type "
               << dataTypeName(v.constant->getType())
               << ", which the pz dialect does not have";
      v.value = ConstantOp::create(b, v.loc ? Location(v.loc) : modelLoc(),
                                   v.constant->toAttr(&ctx));
    }
    results.push_back(v.value);
  }
  func::ReturnOp::create(b, modelLoc(), results);
  fn.setFunctionType(
      b.getFunctionType(fn.getArgumentTypes(), ValueRange(results).getTypes()));
  for (auto [i, out] : llvm::enumerate(graph.outputs))
    fn.setResultAttr(i, PZDialect::kOutputAttrName, b.getStringAttr(out.name));
  return success();
}

void GraphImporter::removeDeadOps() {
  SmallVector<Operation *> ops;
  for (Operation &op : fn.getBody().front().without_terminator())
    ops.push_back(&op);
  for (Operation *op : llvm::reverse(ops))
    if (op->use_empty() && isPure(op))
      op->erase();
}

OwningOpRef<ModuleOp> GraphImporter::run() {
  OwningOpRef<ModuleOp> module = ModuleOp::create(modelLoc());
  state.builder.setInsertionPointToEnd(module->getBody());
  SmallVector<unsigned> order;
  if (failed(checkModel()) || failed(checkSupportedOps()) ||
      failed(orderNodes(order)) || failed(createFunction()) ||
      failed(readPaddingIdx()))
    return nullptr;
  warnMergedInitializers();
  warnTransposedTables();
  for (unsigned index : order)
    if (failed(importNode(graph.nodes[index], nodeLoc(index))))
      return nullptr;
  if (failed(checkPaddingIdxUsed()) || failed(createReturn()))
    return nullptr;
  removeDeadOps();
  return module;
}
