//===- InlineSubgraphs.cpp - If and Loop with conditions known at import --===//
//
// A compiled pz program has no data-dependent control flow. Exporters still
// write If and Loop where the condition or trip count is a function of
// shapes and constants: torch writes `squeeze(x, d)` on a dim it cannot
// prove to be 1 as If(Equal(dim, 1), Squeeze, Identity), and
// `repeat_interleave` as a Loop over a sequence. Once the importer has
// folded the condition, an If is its taken branch and a Loop is its body
// repeated: both are imported inline, node by node, through the ordinary
// folders and lowerings. An If or Loop whose condition or trip count is
// computed at run time is refused at the node (0010, "If and Loop").
//
//===----------------------------------------------------------------------===//

#include "GraphImporter.h"
#include "ShapeHelpers.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::pz::onnx;

/// The most iterations a Loop may be unrolled into.
static constexpr int64_t kMaxLoopIterations = int64_t(1) << 16;

bool mlir::pz::onnx::isInlinedControlFlow(const Node &node) {
  return (node.domain.empty() || node.domain == "ai.onnx") &&
         (node.opType == "If" || node.opType == "Loop");
}

/// Appends to `out` the names `g` reads that it does not define.
static void collectOuterReads(const Graph &g, llvm::StringSet<> &seen,
                              std::vector<std::string> &out) {
  llvm::StringSet<> defined;
  for (const ValueInfo &in : g.inputs)
    defined.insert(in.name);
  for (const Tensor &t : g.initializers)
    defined.insert(t.name);
  for (const Node &n : g.nodes)
    for (const std::string &o : n.outputs)
      defined.insert(o);
  auto read = [&](const std::string &name) {
    if (!name.empty() && !defined.contains(name) && seen.insert(name).second)
      out.push_back(name);
  };
  for (const Node &n : g.nodes) {
    for (const std::string &in : n.inputs)
      read(in);
    for (const std::string &in : outerScopeReads(n))
      read(in);
  }
  for (const ValueInfo &o : g.outputs)
    read(o.name);
}

std::vector<std::string> mlir::pz::onnx::outerScopeReads(const Node &node) {
  std::vector<std::string> out;
  llvm::StringSet<> seen;
  for (const NodeAttribute &a : node.attributes)
    for (const auto &g : a.graphs)
      collectOuterReads(*g, seen, out);
  return out;
}

std::string GraphImporter::resolve(const std::string &name) const {
  for (const auto &scope : llvm::reverse(scopes)) {
    auto it = scope.find(name);
    if (it != scope.end())
      return it->second;
  }
  return name;
}

/// The subgraph attribute `name` of `node`; an error when it is missing or
/// not one graph.
static FailureOr<const Graph *> subgraphAttr(const Node &node, StringRef name,
                                             Location loc) {
  const NodeAttribute *a = node.findAttribute(name.str());
  if (!a || a->kind != NodeAttribute::Kind::Graph || a->graphs.size() != 1)
    return emitError(loc) << node.opType << " needs the graph attribute '"
                          << name << "'";
  return a->graphs.front().get();
}

/// The one-element condition `name` as a bool; an error naming `what` when
/// it is not known at import time.
static FailureOr<bool> knownCondition(const ImportState &state,
                                      const Node &node, const std::string &name,
                                      StringRef what, Location loc) {
  auto it = state.values.find(name);
  assert(it != state.values.end() && "node inputs are defined before it");
  const HostTensor *c = it->second.constant.get();
  if (!c)
    return emitError(loc)
           << node.opType << " " << what << " '" << name
           << "' is computed at run time; the importer takes an " << node.opType
           << " only when its " << what
           << " is known at import time (a compiled program has no "
              "data-dependent control flow)";
  if (c->size() != 1 || c->isFloat())
    return emitError(loc) << node.opType << " " << what << " '" << name
                          << "' must hold one boolean or integer, got "
                          << dataTypeName(c->getType()) << " of shape "
                          << shapeString(c->getShape());
  return c->getInt(0) != 0;
}

LogicalResult
GraphImporter::importSubgraph(const Node &node, const Graph &g,
                              const std::string &prefix,
                              ArrayRef<ImportedValue> args, Location loc,
                              SmallVectorImpl<ImportedValue> &results) {
  if (args.size() != g.inputs.size())
    return emitError(loc) << node.opType << " subgraph '" << g.name
                          << "' takes " << g.inputs.size()
                          << " inputs, but the node gives it " << args.size();
  llvm::StringMap<std::string> scope;
  std::string clash;
  auto define = [&](const std::string &name) {
    std::string local = prefix + name;
    if (state.values.count(local))
      clash = local;
    scope[name] = local;
  };
  for (const ValueInfo &in : g.inputs)
    define(in.name);
  for (const Tensor &t : g.initializers)
    define(t.name);
  for (const Node &n : g.nodes)
    for (const std::string &o : n.outputs)
      if (!o.empty())
        define(o);
  if (!clash.empty())
    return emitError(loc) << node.opType << ": the inlined name '" << clash
                          << "' is already defined";
  scopes.push_back(std::move(scope));
  llvm::scope_exit popScope([&] { scopes.pop_back(); });

  for (auto [in, arg] : llvm::zip_equal(g.inputs, args))
    state.values.insert_or_assign(resolve(in.name), arg);
  for (const Tensor &t : g.initializers) {
    HostTensor h;
    std::string err;
    if (!HostTensor::fromTensor(t, h, err))
      return emitError(loc) << node.opType << " subgraph initializer: " << err;
    state.foldedElements += h.size();
    state.values.insert_or_assign(
        resolve(t.name),
        ImportedValue{Value(), std::make_shared<const HostTensor>(std::move(h)),
                      loc});
  }
  // The renamed nodes; every name they or their own subgraphs read is
  // marked used before any is imported (lowerings skip unused outputs).
  Location fileLoc = loc;
  if (auto named = llvm::dyn_cast<NameLoc>(loc))
    fileLoc = named.getChildLoc();
  std::vector<Node> nodes;
  nodes.reserve(g.nodes.size());
  for (const Node &n : g.nodes) {
    Node copy = n;
    for (std::string &in : copy.inputs)
      if (!in.empty())
        in = resolve(in);
    for (std::string &out : copy.outputs)
      if (!out.empty())
        out = resolve(out);
    for (const std::string &in : copy.inputs)
      state.usedNames.insert(in);
    for (const std::string &in : outerScopeReads(n))
      state.usedNames.insert(resolve(in));
    nodes.push_back(std::move(copy));
  }
  for (const ValueInfo &out : g.outputs)
    state.usedNames.insert(resolve(out.name));

  for (auto [n, copy] : llvm::zip_equal(g.nodes, nodes)) {
    Location at = NameLoc::get(
        StringAttr::get(&ctx, n.name.empty() ? n.opType : n.name), fileLoc);
    // Subgraph nodes come in topological order (ONNX requires it).
    for (auto [i, in] : llvm::enumerate(copy.inputs))
      if (!in.empty() && !state.values.count(in))
        return emitError(at)
               << n.opType << " reads '" << n.inputs[i]
               << "', which is not defined before it in its subgraph or "
                  "around it";
    for (const std::string &in : outerScopeReads(n))
      if (!state.values.count(resolve(in)))
        return emitError(at) << n.opType << "'s subgraph reads '" << in
                             << "', which is not defined before it";
    if (failed(importNode(copy, at)))
      return failure();
  }
  for (const ValueInfo &out : g.outputs) {
    auto it = state.values.find(resolve(out.name));
    if (it == state.values.end())
      return emitError(loc) << node.opType << " subgraph output '" << out.name
                            << "' is not defined";
    results.push_back(it->second);
  }
  return success();
}

LogicalResult GraphImporter::importIf(const Node &node, Location loc) {
  if (node.inputs.empty() || node.inputs[0].empty())
    return emitError(loc) << "If needs its condition input";
  FailureOr<bool> cond =
      knownCondition(state, node, node.inputs[0], "condition", loc);
  if (failed(cond))
    return failure();
  StringRef branch = *cond ? "then_branch" : "else_branch";
  FailureOr<const Graph *> g = subgraphAttr(node, branch, loc);
  if (failed(g))
    return failure();
  SmallVector<ImportedValue> results;
  if (failed(importSubgraph(node, **g, node.name + "/" + branch.str() + "/", {},
                            loc, results)))
    return failure();
  if (results.size() != node.outputs.size())
    return emitError(loc) << "If " << branch << " gives " << results.size()
                          << " outputs, but the node has "
                          << node.outputs.size();
  for (auto [name, v] : llvm::zip_equal(node.outputs, results))
    if (!name.empty())
      state.values.insert_or_assign(name, v);
  return success();
}

LogicalResult GraphImporter::importLoop(const Node &node, Location loc) {
  FailureOr<const Graph *> body = subgraphAttr(node, "body", loc);
  if (failed(body))
    return failure();
  auto given = [&](unsigned i) {
    return i < node.inputs.size() && !node.inputs[i].empty();
  };
  int64_t carried = node.inputs.size() < 2 ? 0 : node.inputs.size() - 2;
  int64_t scans = int64_t((*body)->outputs.size()) - 1 - carried;
  if ((*body)->inputs.size() != size_t(carried + 2) || scans < 0)
    return emitError(loc) << "Loop body takes " << (*body)->inputs.size()
                          << " inputs and gives " << (*body)->outputs.size()
                          << " outputs, which does not fit " << carried
                          << " loop-carried values";
  if (node.outputs.size() > size_t(carried + scans))
    return emitError(loc) << "Loop has " << node.outputs.size()
                          << " outputs, but its body gives " << carried
                          << " loop-carried values and " << scans
                          << " scan outputs";
  std::optional<int64_t> tripCount;
  if (given(0)) {
    auto it = state.values.find(node.inputs[0]);
    const HostTensor *m = it->second.constant.get();
    if (!m)
      return emitError(loc)
             << "Loop trip count '" << node.inputs[0]
             << "' is computed at run time; the importer unrolls a Loop only "
                "when its trip count and condition are known at import time";
    if (m->size() != 1 || m->isFloat())
      return emitError(loc) << "Loop trip count must be one integer";
    tripCount = m->getInt(0);
  }
  bool cond = true;
  if (given(1)) {
    FailureOr<bool> c =
        knownCondition(state, node, node.inputs[1], "condition", loc);
    if (failed(c))
      return failure();
    cond = *c;
  }
  SmallVector<ImportedValue> values;
  for (int64_t i = 0; i < carried; ++i) {
    if (!given(2 + i))
      return emitError(loc) << "Loop loop-carried input " << i << " is missing";
    values.push_back(state.values.find(node.inputs[2 + i])->second);
  }
  SmallVector<SmallVector<std::shared_ptr<const HostTensor>>> scanItems(scans);
  int64_t iter = 0;
  for (; (!tripCount || iter < *tripCount) && cond; ++iter) {
    if (iter >= kMaxLoopIterations)
      return emitError(loc) << "Loop runs more than " << kMaxLoopIterations
                            << " iterations at import time, the most the "
                               "importer unrolls";
    SmallVector<ImportedValue> args;
    args.push_back(ImportedValue{
        Value(),
        std::make_shared<const HostTensor>(HostTensor::fromInts({iter}, true)),
        loc});
    HostTensor c(DataType::Bool, {});
    c.setInt(0, 1);
    args.push_back(ImportedValue{
        Value(), std::make_shared<const HostTensor>(std::move(c)), loc});
    llvm::append_range(args, values);
    SmallVector<ImportedValue> results;
    if (failed(importSubgraph(node, **body,
                              node.name + "/body." + std::to_string(iter) + "/",
                              args, loc, results)))
      return failure();
    const ImportedValue &condOut = results.front();
    if (!condOut.constant || condOut.constant->size() != 1 ||
        condOut.constant->isFloat())
      return emitError(loc) << "Loop body's condition output '"
                            << (*body)->outputs.front().name
                            << "' is not one boolean known at import time; "
                               "the importer unrolls only loops whose every "
                               "iteration's condition is known";
    cond = condOut.constant->getInt(0) != 0;
    values.assign(results.begin() + 1, results.begin() + 1 + carried);
    for (int64_t k = 0; k < scans; ++k) {
      const ImportedValue &s = results[1 + carried + k];
      if (!s.constant)
        return emitError(loc)
               << "Loop scan output '" << (*body)->outputs[1 + carried + k].name
               << "' is computed at run time; the importer stacks only scan "
                  "outputs known at import time";
      scanItems[k].push_back(s.constant);
    }
  }
  for (int64_t i = 0; i < carried && size_t(i) < node.outputs.size(); ++i)
    if (!node.outputs[i].empty())
      state.values.insert_or_assign(node.outputs[i], values[i]);
  for (int64_t k = 0; k < scans; ++k) {
    size_t o = carried + k;
    if (o >= node.outputs.size() || node.outputs[o].empty())
      continue;
    if (scanItems[k].empty())
      return emitError(loc) << "Loop ran no iteration, so its scan output '"
                            << node.outputs[o] << "' has no known shape";
    const HostTensor &first = *scanItems[k].front();
    SmallVector<int64_t> shape{iter};
    llvm::append_range(shape, first.getShape());
    if (foldableElementCount(shape) < 0)
      return emitError(loc) << "Loop scan output '" << node.outputs[o]
                            << "' would have the shape " << shapeString(shape)
                            << ", more than " << kMaxFoldElements
                            << " elements, the most the importer folds";
    HostTensor out(first.getType(), shape);
    int64_t e = 0;
    for (const auto &item : scanItems[k]) {
      if (item->getShape() != first.getShape() ||
          item->getType() != first.getType())
        return emitError(loc)
               << "Loop scan output '" << node.outputs[o]
               << "' changes its type or shape between iterations";
      for (int64_t j = 0; j < item->size(); ++j)
        out.copyFrom(e++, *item, j);
    }
    state.foldedElements += out.size();
    state.values.insert_or_assign(
        node.outputs[o],
        ImportedValue{Value(),
                      std::make_shared<const HostTensor>(std::move(out)), loc});
  }
  if (state.foldedElements > state.maxFoldedElements)
    return emitError(loc) << "unrolling this Loop brings the constant "
                             "elements held on the host to "
                          << state.foldedElements
                          << ", past the import's bound of "
                          << state.maxFoldedElements;
  return success();
}
