//===- GraphChecks.cpp - Model checks and node order before the import ----===//

#include "GraphImporter.h"
#include "OpRegistry.h"

#include "pz/Dialect/PZ/IR/PZDialect.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/JSON.h"

#include <functional>
#include <queue>

using namespace mlir;
using namespace mlir::pz::onnx;

Location GraphImporter::modelLoc() const {
  return FileLineColLoc::get(&ctx, path, 0, 0);
}

Location GraphImporter::nodeLoc(unsigned index) const {
  const Node &node = graph.nodes[index];
  std::string name =
      node.name.empty() ? node.opType + "_" + std::to_string(index) : node.name;
  return NameLoc::get(StringAttr::get(&ctx, name),
                      FileLineColLoc::get(&ctx, path, index + 1, 0));
}

LogicalResult GraphImporter::checkModel() {
  if (!model.hasGraph)
    return emitError(modelLoc()) << "the model has no graph";
  std::optional<int64_t> version;
  for (const OpsetImport &o : model.opsets)
    if (o.domain.empty())
      version = o.version;
  if (!version)
    return emitError(modelLoc())
           << "the model imports no opset of the default domain (ai.onnx)";
  if (*version < kMinOpset || *version > kMaxOpset)
    return emitError(modelLoc())
           << "the model uses opset " << *version
           << "; the importer supports opsets " << kMinOpset << " to "
           << kMaxOpset << " (convert it with onnx.version_converter)";
  opset = *version;
  if (graph.outputs.empty())
    return emitError(modelLoc()) << "the graph has no outputs";
  return success();
}

LogicalResult GraphImporter::checkSupportedOps() {
  struct Unsupported {
    std::string domain;
    SmallVector<std::string> nodes;
  };
  // By op type, in order of first appearance.
  std::vector<std::pair<std::string, Unsupported>> byType;
  llvm::StringMap<size_t> index;
  const OpRegistry &registry = getOpRegistry();
  // The nodes of subgraphs too (they are imported when inlined).
  std::function<void(const Graph &)> visit = [&](const Graph &g) {
    for (auto [i, node] : llvm::enumerate(g.nodes)) {
      for (const NodeAttribute &a : node.attributes)
        for (const auto &sub : a.graphs)
          visit(*sub);
      if (isInlinedControlFlow(node) ||
          registry.lookup(node.domain, node.opType))
        continue;
      std::string key = node.domain + "::" + node.opType;
      auto [it, inserted] = index.try_emplace(key, byType.size());
      if (inserted)
        byType.emplace_back(key, Unsupported());
      Unsupported &u = byType[it->second].second;
      u.domain = node.domain;
      u.nodes.push_back(node.name.empty()
                            ? node.opType + "_" + std::to_string(i)
                            : node.name);
    }
  };
  visit(graph);
  if (byType.empty())
    return success();
  size_t total = 0;
  for (auto &entry : byType)
    total += entry.second.nodes.size();
  InFlightDiagnostic diag = emitError(modelLoc());
  diag << total << (total == 1 ? " node uses" : " nodes use") << " "
       << byType.size() << " ONNX op type" << (byType.size() == 1 ? "" : "s")
       << " that the importer does not support:";
  for (auto &[key, u] : byType) {
    StringRef opType = StringRef(key).split("::").second;
    std::string domain = u.domain.empty() ? "ai.onnx" : u.domain;
    std::string version = "?";
    for (const OpsetImport &o : model.opsets)
      if (o.domain == u.domain)
        version = std::to_string(o.version);
    diag << "\n  " << opType << " (domain " << domain << ", opset " << version
         << "): " << u.nodes.size() << " node"
         << (u.nodes.size() == 1 ? "" : "s") << ": ";
    constexpr size_t kShown = 3;
    for (size_t i = 0; i < std::min(kShown, u.nodes.size()); ++i)
      diag << (i ? ", " : "") << "'" << u.nodes[i] << "'";
    if (u.nodes.size() > kShown)
      diag << " and " << u.nodes.size() - kShown << " more";
  }
  return diag;
}

LogicalResult GraphImporter::orderNodes(SmallVectorImpl<unsigned> &order) {
  // Who defines each name: -1 for graph inputs and initializers.
  llvm::StringMap<int64_t> producer;
  for (const ValueInfo &in : graph.inputs)
    producer[in.name] = -1;
  for (const Tensor &t : graph.initializers)
    producer[t.name] = -1;
  for (auto [i, node] : llvm::enumerate(graph.nodes)) {
    for (const std::string &out : node.outputs) {
      if (out.empty())
        continue;
      auto [it, inserted] = producer.try_emplace(out, i);
      if (!inserted)
        return emitError(nodeLoc(i))
               << node.opType << " output '" << out
               << "' is already defined by "
               << (it->second < 0 ? std::string("a graph input or "
                                                "initializer")
                                  : "node " + std::to_string(it->second + 1));
    }
  }
  // Every read name must be defined.
  SmallVector<SmallVector<unsigned>> users(graph.nodes.size());
  SmallVector<unsigned> pending(graph.nodes.size(), 0);
  for (auto [i, node] : llvm::enumerate(graph.nodes)) {
    // A subgraph's reads of this graph's names order the node after their
    // producers, as its inputs do.
    std::vector<std::string> reads = node.inputs;
    llvm::append_range(reads, outerScopeReads(node));
    for (const std::string &in : reads) {
      if (in.empty())
        continue;
      state.usedNames.insert(in);
      auto it = producer.find(in);
      if (it == producer.end())
        return emitError(nodeLoc(i))
               << node.opType << " reads '" << in
               << "', which no node, graph input or initializer defines";
      if (it->second >= 0) {
        users[it->second].push_back(i);
        ++pending[i];
      }
    }
  }
  for (const ValueInfo &out : graph.outputs) {
    state.usedNames.insert(out.name);
    if (!producer.count(out.name))
      return emitError(modelLoc())
             << "graph output '" << out.name
             << "' is not defined by any node, graph input or initializer";
  }
  // Kahn's algorithm, always taking the first ready node in file order:
  // a sorted file keeps its order.
  std::priority_queue<unsigned, std::vector<unsigned>, std::greater<unsigned>>
      ready;
  for (unsigned i = 0; i < graph.nodes.size(); ++i)
    if (pending[i] == 0)
      ready.push(i);
  while (!ready.empty()) {
    unsigned i = ready.top();
    ready.pop();
    order.push_back(i);
    for (unsigned u : users[i])
      if (--pending[u] == 0)
        ready.push(u);
  }
  if (order.size() != graph.nodes.size()) {
    for (unsigned i = 0; i < graph.nodes.size(); ++i)
      if (pending[i] != 0)
        return emitError(nodeLoc(i))
               << graph.nodes[i].opType << " is part of a cycle in the graph";
  }
  return success();
}

/// The layer a node belongs to by its name: the path up to its first
/// all-digit component ("/transformer/h.3/ln_1/LayerNormalization" ->
/// "/transformer/h.3"), or empty when the name has none.
static std::string layerOfNode(StringRef name) {
  size_t start = 0;
  for (size_t i = 0; i <= name.size(); ++i) {
    if (i < name.size() && name[i] != '/' && name[i] != '.')
      continue;
    StringRef part = name.slice(start, i);
    if (!part.empty() && llvm::all_of(part, llvm::isDigit))
      return name.take_front(i).str();
    start = i + 1;
  }
  return "";
}

/// The metadata key of nn.Embedding's padding_idx: a JSON object mapping
/// each embedding table (a float initializer) to the row its lookups give
/// no gradient, `{"bert.embeddings.word_embeddings.weight": 0}`. The export
/// helper (python-frontend/parallelize/userexport.py) writes it.
static constexpr llvm::StringLiteral kPaddingIdxKey = "parallelize.padding_idx";

LogicalResult GraphImporter::readPaddingIdx() {
  for (const auto &[key, text] : model.metadata) {
    if (key != kPaddingIdxKey)
      continue;
    auto fail = [&, &key = key]() {
      return emitError(modelLoc()) << "metadata key '" << key << "': ";
    };
    llvm::Expected<llvm::json::Value> parsed = llvm::json::parse(text);
    if (!parsed)
      return fail() << "not JSON (" << llvm::toString(parsed.takeError())
                    << "); expected an object mapping embedding tables to "
                       "row indices, e.g. {\"wte.weight\": 0}";
    const llvm::json::Object *obj = parsed->getAsObject();
    if (!obj)
      return fail() << "expected a JSON object mapping embedding tables to "
                       "row indices, e.g. {\"wte.weight\": 0}";
    // Sorted, so that the first error does not depend on hashing.
    SmallVector<std::pair<std::string, const llvm::json::Value *>> entries;
    for (const auto &kv : *obj)
      entries.emplace_back(kv.first.str(), &kv.second);
    llvm::sort(entries, llvm::less_first());
    for (const auto &[name, v] : entries) {
      const Tensor *table = nullptr;
      for (const Tensor &t : graph.initializers)
        if (t.name == name)
          table = &t;
      auto it = state.values.find(name);
      if (!table || it == state.values.end() || !it->second.value ||
          !state.params.contains(it->second.value))
        return fail() << "'" << name
                      << "' is not a float initializer of the graph (a "
                         "parameter an embedding lookup reads)";
      if (table->dims.size() != 2)
        return fail() << "'" << name << "' has rank " << table->dims.size()
                      << "; an embedding table has rank 2 (vocab x dim)";
      std::optional<int64_t> idx = v->getAsInteger();
      if (!idx) {
        std::string got;
        llvm::raw_string_ostream os(got);
        os << *v;
        return fail() << "the row of '" << name
                      << "' must be an integer, got " << got;
      }
      if (*idx < 0 || *idx >= table->dims[0])
        return fail() << "the row " << *idx << " of '" << name
                      << "' is out of range for its " << table->dims[0]
                      << " rows";
      state.paddingIdx[it->second.value] = *idx;
    }
  }
  return success();
}

LogicalResult GraphImporter::checkPaddingIdxUsed() {
  for (const auto &[key, text] : model.metadata) {
    if (key != kPaddingIdxKey)
      continue;
    for (BlockArgument arg : fn.getArguments()) {
      if (!state.paddingIdx.count(arg) || state.paddingIdxUsed.contains(arg))
        continue;
      auto name = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                  pz::PZDialect::kParamAttrName);
      return emitError(modelLoc())
             << "metadata key '" << key << "': '" << name.getValue()
             << "' is given a padding_idx, but no Gather reads it as an "
                "embedding table (axis 0 of a 2-D float parameter)";
    }
  }
  return success();
}

void GraphImporter::warnTransposedTables() {
  for (const auto &[copy, table] : findTransposedTables(model))
    emitWarning(modelLoc())
        << "initializer '" << copy << "' holds exactly the transpose of the embedding table '"
        << table
        << "': torch.onnx.export's do_constant_folding writes a tied LM head so, and the two "
           "then train as separate parameters (the tie is broken). --retie-initializers reads '"
        << copy << "' as the transpose of '" << table
        << "'; or export with do_constant_folding=False";
}

void GraphImporter::warnMergedInitializers() {
  // Which nodes read each float initializer (as data, not as a shape).
  llvm::StringMap<SmallVector<unsigned>> readers;
  llvm::StringSet<> floats;
  for (const Tensor &t : graph.initializers)
    if (isFloatType(t.dataType))
      floats.insert(t.name);
  for (auto [index, node] : llvm::enumerate(graph.nodes))
    for (const std::string &in : node.inputs)
      if (floats.contains(in) && !llvm::is_contained(readers[in], index))
        readers[in].push_back(index);
  // An eval-mode export merges equal initializers (every norm's scale of
  // ones becomes one tensor), which then reads as one parameter tied across
  // layers. torch.onnx.export (1.13) keeps one of the equal tensors and
  // gives each other parameter's name to an Identity of it (`Identity_7`:
  // h.0.ln_1.bias -> h.1.ln_2.bias): an initializer read by such Identity
  // nodes stands for several parameters.
  for (const Tensor &t : graph.initializers) {
    auto it = readers.find(t.name);
    if (it == readers.end())
      continue;
    SmallVector<std::string> aliases;
    for (unsigned index : it->second)
      if (graph.nodes[index].opType == "Identity" && graph.nodes[index].inputs.size() == 1 &&
          graph.nodes[index].outputs.size() == 1)
        aliases.push_back("'" + graph.nodes[index].outputs[0] + "'");
    if (!aliases.empty()) {
      size_t n = aliases.size();
      if (n > 4) {
        aliases.resize(4);
        aliases.push_back("...");
      }
      emitWarning(modelLoc())
          << "initializer '" << t.name << "' stands for " << n + 1
          << " parameters (itself and, through Identity nodes, " << llvm::join(aliases, ", ")
          << "): they train as one parameter. An eval-mode torch.onnx.export merges equal "
             "initializers (every norm scale of ones becomes one tensor); export with "
             "training=torch.onnx.TrainingMode.TRAINING and do_constant_folding=False so "
             "that each keeps its own";
      continue;
    }
    // Without the Identity nodes (another exporter, or a graph rewritten
    // since): a tensor read by nodes of several numbered layers is such a
    // merge; a weight tied on purpose (the token embedding read by the LM
    // head) is read by nodes outside numbered layers, and is left alone.
    if (it->second.size() < 2)
      continue;
    llvm::StringSet<> layers;
    for (unsigned index : it->second)
      layers.insert(layerOfNode(graph.nodes[index].name));
    if (layers.size() < 2 || layers.contains(""))
      continue;
    SmallVector<std::string> names;
    for (unsigned index : llvm::ArrayRef(it->second).take_front(4))
      names.push_back("'" + graph.nodes[index].name + "'");
    if (it->second.size() > 4)
      names.push_back("...");
    emitWarning(modelLoc())
        << "initializer '" << t.name << "' is read by " << it->second.size()
        << " nodes in " << layers.size() << " layers (" << llvm::join(names, ", ")
        << "): it trains as one parameter tied across those layers. An eval-mode "
           "torch.onnx.export merges equal initializers (every norm scale of ones becomes "
           "one tensor); export with training=torch.onnx.TrainingMode.TRAINING and "
           "do_constant_folding=False so that each layer keeps its own";
  }
}
