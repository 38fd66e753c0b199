//===- OnnxImporter.cpp - Entry points of the ONNX import -----------------===//

#include "pz/Import/ONNX/OnnxImporter.h"

#include "GraphImporter.h"
#include "HostTensor.h"

#include "pz/Dialect/PZ/IR/PZOps.h"

#include "pz/Import/ONNX/OnnxReader.h"
#include "pz/Plan/InputShapes.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <map>
#include <set>

using namespace mlir;
using namespace mlir::pz::onnx;

bool mlir::pz::onnx::parseInputShapes(ArrayRef<std::string> specs,
                                      ImportOptions &options,
                                      std::string &error) {
  auto parsed = mlir::pz::parseInputShapes(specs);
  if (!parsed) {
    error = llvm::toString(parsed.takeError());
    return false;
  }
  for (auto &[name, shape] : *parsed)
    options.inputShapes[name] = shape;
  return true;
}

OwningOpRef<ModuleOp>
mlir::pz::onnx::importModel(MLIRContext &ctx, const Model &model,
                            StringRef path, const ImportOptions &options) {
  ctx.loadDialect<func::FuncDialect, PZDialect>();
  return GraphImporter(ctx, model, path, options).run();
}

/// Prints a diagnostic as `FILE:NODE#:0: error: node 'NAME': MESSAGE`, or
/// `FILE: error: MESSAGE` for problems of the whole model.
static void printDiagnostic(Diagnostic &diag, llvm::raw_ostream &os) {
  std::string where, node;
  Location loc = diag.getLocation();
  if (auto name = llvm::dyn_cast<NameLoc>(loc)) {
    node = name.getName().str();
    loc = name.getChildLoc();
  }
  if (auto file = llvm::dyn_cast<FileLineColLoc>(loc)) {
    where = file.getFilename().str();
    if (file.getLine() > 0)
      where += ":" + std::to_string(file.getLine()) + ":" +
               std::to_string(file.getColumn());
    else
      node.clear(); // graph inputs and initializers are not nodes
  }
  if (!where.empty())
    os << where << ": ";
  switch (diag.getSeverity()) {
  case DiagnosticSeverity::Error:
    os << "error: ";
    break;
  case DiagnosticSeverity::Warning:
    os << "warning: ";
    break;
  case DiagnosticSeverity::Note:
    os << "note: ";
    break;
  case DiagnosticSeverity::Remark:
    os << "remark: ";
    break;
  }
  if (!node.empty())
    os << "node '" << node << "': ";
  os << diag.str() << "\n";
  for (Diagnostic &note : diag.getNotes())
    printDiagnostic(note, os);
}

int mlir::pz::onnx::untieIdentityInitializers(Model &model) {
  Graph &graph = model.graph;
  std::map<std::string, size_t> floats;
  for (auto [i, t] : llvm::enumerate(graph.initializers))
    if (isFloatType(t.dataType))
      floats[t.name] = i;
  std::set<std::string> taken;
  for (const Tensor &t : graph.initializers)
    taken.insert(t.name);
  int untied = 0;
  std::vector<Node> kept;
  for (Node &node : graph.nodes) {
    auto it = node.opType == "Identity" && node.domain.empty() && node.inputs.size() == 1 &&
                      node.outputs.size() == 1
                  ? floats.find(node.inputs[0])
                  : floats.end();
    if (it == floats.end() || !taken.insert(node.outputs[0]).second) {
      kept.push_back(std::move(node));
      continue;
    }
    Tensor copy = graph.initializers[it->second];
    copy.name = node.outputs[0];
    graph.initializers.push_back(std::move(copy));
    ++untied;
  }
  graph.nodes = std::move(kept);
  return untied;
}

std::vector<std::pair<std::string, std::string>>
mlir::pz::onnx::findTransposedTables(const Model &model) {
  const Graph &graph = model.graph;
  std::set<std::string> tables;
  for (const Node &node : graph.nodes) {
    if (node.opType != "Gather" || !node.domain.empty() || node.inputs.empty())
      continue;
    const NodeAttribute *axis = node.findAttribute("axis");
    if (!axis || axis->i == 0)
      tables.insert(node.inputs[0]);
  }
  std::map<std::string, const Tensor *> byName;
  for (const Tensor &t : graph.initializers)
    if (isFloatType(t.dataType) && t.dims.size() == 2)
      byName[t.name] = &t;
  std::vector<std::pair<std::string, std::string>> found;
  for (const Tensor &copy : graph.initializers) {
    if (!byName.count(copy.name) || tables.count(copy.name))
      continue;
    for (const std::string &name : tables) {
      auto it = byName.find(name);
      if (it == byName.end())
        continue;
      const Tensor &table = *it->second;
      if (table.dataType != copy.dataType || table.dims[0] != copy.dims[1] ||
          table.dims[1] != copy.dims[0])
        continue;
      HostTensor a, b;
      std::string err;
      if (!HostTensor::fromTensor(table, a, err) ||
          !HostTensor::fromTensor(copy, b, err))
        continue; // the import reports unreadable tensors
      int64_t rows = table.dims[0], cols = table.dims[1];
      bool same = true;
      for (int64_t i = 0; same && i < rows; ++i)
        for (int64_t j = 0; same && j < cols; ++j) {
          double x = a.getDouble(i * cols + j), y = b.getDouble(j * rows + i);
          same = x == y || (std::isnan(x) && std::isnan(y));
        }
      if (same) {
        found.emplace_back(copy.name, name);
        break;
      }
    }
  }
  return found;
}

int mlir::pz::onnx::retieTransposedInitializers(Model &model) {
  std::vector<std::pair<std::string, std::string>> pairs =
      findTransposedTables(model);
  Graph &graph = model.graph;
  std::set<std::string> copies;
  for (const auto &[copy, table] : pairs) {
    copies.insert(copy);
    Node node;
    node.name = "/retie/" + copy;
    node.opType = "Transpose";
    node.inputs = {table};
    node.outputs = {copy};
    NodeAttribute perm;
    perm.name = "perm";
    perm.kind = NodeAttribute::Kind::Ints;
    perm.ints = {1, 0};
    node.attributes.push_back(std::move(perm));
    graph.nodes.insert(graph.nodes.begin(), std::move(node));
  }
  llvm::erase_if(graph.initializers,
                 [&](const Tensor &t) { return copies.count(t.name) != 0; });
  return static_cast<int>(pairs.size());
}

OwningOpRef<ModuleOp>
mlir::pz::onnx::importModelFile(MLIRContext &ctx, StringRef path,
                                const ImportOptions &options) {
  ScopedDiagnosticHandler handler(&ctx, [](Diagnostic &diag) {
    printDiagnostic(diag, llvm::errs());
    return success();
  });
  Model model;
  std::string error;
  if (!readModelFile(path.str(), model, error)) {
    emitError(UnknownLoc::get(&ctx)) << error;
    return nullptr;
  }
  if (options.externalFiles)
    llvm::append_range(*options.externalFiles, model.externalFiles);
  if (options.untieInitializers)
    untieIdentityInitializers(model);
  if (options.retieInitializers)
    retieTransposedInitializers(model);
  OwningOpRef<ModuleOp> module = importModel(ctx, model, path, options);
  if (!module || failed(verify(*module)))
    return nullptr;
  return module;
}
