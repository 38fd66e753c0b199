//===- OnnxImporter.h - ONNX graphs to the pz forward graph ---------------===//
//
// Imports an ONNX model (opset 13 to 21) into a module with one
// `func.func @forward` in the pz dialect, as examples/mlp/mlp.mlir shows:
//
// * graph inputs become arguments marked `pz.input = "name"`;
// * float initializers become arguments marked `pz.param = "name"` (the
//   initializer's own name, which is also the checkpoint name); integer and
//   bool initializers are constants;
// * graph outputs become results marked `pz.output = "name"`.
//
// Nodes whose inputs are all known constants (the shape arithmetic, tables
// and masks that exporters emit) are evaluated during the import and leave
// no IR: by the op's own folder, else by lowering the node and running the
// reference interpreter (pz::interp) on the ops it gave. Every op
// carries its node's location: `NameLoc(node name, FILE:node#:0)`.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_IMPORT_ONNX_ONNXIMPORTER_H
#define PZ_IMPORT_ONNX_ONNXIMPORTER_H

#include "pz/Import/ONNX/OnnxModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

#include <map>
#include <string>
#include <vector>

namespace mlir::pz::onnx {

/// The oldest and newest default-domain opsets the importer accepts.
constexpr int64_t kMinOpset = 13;
constexpr int64_t kMaxOpset = 21;

/// The most elements that the known constants nodes produce (folding) may
/// hold in one import, all together: 2^26, 512 MiB as the importer's
/// doubles. Each folded tensor also stays within 2^24 elements; a node
/// whose result would be larger is left to run time.
constexpr int64_t kMaxFoldedElements = int64_t(1) << 26;

struct ImportOptions {
  /// Static shapes for data inputs, by input name (`--input-shape`).
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// When set, importModelFile appends the files the model's external data
  /// came from (for the compiler's check that no output overwrites one).
  std::vector<std::string> *externalFiles = nullptr;
  /// The bound on what folding may allocate (kMaxFoldedElements); past it
  /// the import fails, naming the node.
  int64_t maxFoldedElements = kMaxFoldedElements;
  /// `--untie-initializers`: untieIdentityInitializers before importing.
  bool untieInitializers = false;
  /// `--retie-initializers`: retieTransposedInitializers before importing.
  bool retieInitializers = false;
};

/// Gives each parameter that an eval-mode torch.onnx.export merged into
/// another its own initializer: an Identity node whose input is a float
/// initializer becomes an initializer named by its output (the PyTorch
/// parameter's name), a copy of the input's value. Returns how many.
int untieIdentityInitializers(Model &model);

/// The float initializers that hold exactly the transpose of an embedding
/// table (a 2-D float initializer that a Gather reads along axis 0), as
/// (copy, table) pairs in the file's order: what torch.onnx.export's
/// do_constant_folding writes for a tied LM head (`wte.weight` transposed as
/// its own tensor), which then trains apart from the table.
std::vector<std::pair<std::string, std::string>>
findTransposedTables(const Model &model);

/// Ties each such copy to its table again: the copy's initializer is
/// removed and a Transpose node of the table, named `/retie/COPY`, defines
/// the copy's name, so that the head reads the table (and its gradient
/// reaches the table). Returns how many.
int retieTransposedInitializers(Model &model);

/// Parses `--input-shape` values: each is `NAME=DxDx...` or a comma-separated
/// list of them. Returns false and sets `error` on a malformed entry.
bool parseInputShapes(llvm::ArrayRef<std::string> specs, ImportOptions &options,
                      std::string &error);

/// Imports a model that `readModelFile` read from `path` (used in
/// locations). Problems are reported through the context's diagnostic
/// handlers; every unsupported op of the model is reported at once.
/// Returns null on failure.
OwningOpRef<ModuleOp> importModel(MLIRContext &ctx, const Model &model,
                                  llvm::StringRef path,
                                  const ImportOptions &options);

/// Reads, imports and verifies the model at `path`, printing problems to
/// stderr as `FILE:NODE#:0: error: node 'NAME': ...`. Returns null on
/// failure.
OwningOpRef<ModuleOp> importModelFile(MLIRContext &ctx, llvm::StringRef path,
                                      const ImportOptions &options);

/// The default-domain op types the importer supports, sorted.
std::vector<std::string> supportedOps();

} // namespace mlir::pz::onnx

#endif // PZ_IMPORT_ONNX_ONNXIMPORTER_H
