//===- GraphImporter.h - An ONNX graph to func.func @forward --------------===//
//
// The graph-level half of the import: checks the model (opset, outputs,
// unsupported ops, undefined inputs), orders the nodes, creates the function
// with its data inputs and parameters, imports every node through its
// folder or lowering, and returns the outputs.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_IMPORT_ONNX_GRAPHIMPORTER_H
#define PZ_LIB_IMPORT_ONNX_GRAPHIMPORTER_H

#include "NodeContext.h"

#include "pz/Import/ONNX/OnnxImporter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::pz::onnx {

/// The names a node's subgraphs (If's branches, Loop's body, nested ones
/// included) read from the scopes around the node, each once, in order of
/// first read: its implicit inputs.
std::vector<std::string> outerScopeReads(const Node &node);

/// True for the control-flow ops the importer inlines (If, Loop) rather
/// than imports through the op registry.
bool isInlinedControlFlow(const Node &node);

class GraphImporter {
public:
  GraphImporter(MLIRContext &ctx, const Model &model, StringRef path,
                const ImportOptions &options)
      : ctx(ctx), model(model), graph(model.graph), path(path.str()),
        options(options), state(&ctx) {
    state.maxFoldedElements = options.maxFoldedElements;
  }

  OwningOpRef<ModuleOp> run();

private:
  /// The graph exists, has outputs, and imports a supported opset.
  LogicalResult checkModel();
  /// Reports every node whose op the importer does not support, at once.
  LogicalResult checkSupportedOps();
  /// Warns about an initializer an eval-mode export merged across layers.
  void warnMergedInitializers();
  /// Warns about an initializer that holds an embedding table transposed
  /// (a constant-folded tied LM head), naming --retie-initializers.
  void warnTransposedTables();
  /// Reads the `parallelize.padding_idx` metadata into state.paddingIdx
  /// (after createFunction: it names parameters).
  LogicalResult readPaddingIdx();
  /// Every table the metadata names was read by an embedding lookup.
  LogicalResult checkPaddingIdxUsed();
  /// Checks that every name read is defined once, and orders the nodes
  /// topologically (stable: the file's order when it is already sorted).
  LogicalResult orderNodes(SmallVectorImpl<unsigned> &order);
  /// The function, its data inputs (with --input-shape applied) and its
  /// parameters; integer initializers become known constants.
  LogicalResult createFunction();
  FailureOr<SmallVector<Type>> inputTypes(SmallVectorImpl<unsigned> &which);
  LogicalResult importNode(const Node &node, Location loc);

  /// If with a condition known at import time: imports the branch taken.
  LogicalResult importIf(const Node &node, Location loc);
  /// Loop with a trip count and condition known at import time, unrolled:
  /// the body imported once per iteration.
  LogicalResult importLoop(const Node &node, Location loc);
  /// Imports the nodes of subgraph `g` of `node` with its inputs bound to
  /// `args`; its outputs go to `results`. Names `g` defines are renamed
  /// apart (`prefix` + name) in a scope of their own, so that they never
  /// meet the enclosing graph's; other names resolve outwards, as ONNX
  /// scoping says.
  LogicalResult importSubgraph(const Node &node, const Graph &g,
                               const std::string &prefix,
                               ArrayRef<ImportedValue> args, Location loc,
                               SmallVectorImpl<ImportedValue> &results);
  /// A name as the innermost subgraph being imported sees it.
  std::string resolve(const std::string &name) const;
  LogicalResult createReturn();
  /// Erases ops whose results nothing reads (constants no op needed, the
  /// log-softmax an NLL loss was fused through).
  void removeDeadOps();

  Location nodeLoc(unsigned index) const;
  Location modelLoc() const;

  MLIRContext &ctx;
  const Model &model;
  const Graph &graph;
  std::string path;
  const ImportOptions &options;
  ImportState state;
  int64_t opset = 0;
  func::FuncOp fn;
  /// The renamings of the subgraphs being imported, innermost last.
  SmallVector<llvm::StringMap<std::string>> scopes;
};

} // namespace mlir::pz::onnx

#endif // PZ_LIB_IMPORT_ONNX_GRAPHIMPORTER_H
