//===- OpRegistry.h - The ONNX ops the importer supports ------------------===//
//
// Each supported op type has a folder, which evaluates the node on the host
// when all its inputs are known constants, and a lowering, which emits pz
// ops. Either may be absent: an op without a folder always lowers; an op
// without a lowering needs constant inputs. The op families register
// themselves from their own files.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_LIB_IMPORT_ONNX_OPREGISTRY_H
#define PZ_LIB_IMPORT_ONNX_OPREGISTRY_H

#include "NodeContext.h"

#include "llvm/ADT/StringMap.h"

#include <string>
#include <vector>

namespace mlir::pz::onnx {

/// Evaluates a node whose inputs are all known constants and sets its
/// outputs. Returns true when it did, false to let the lowering handle the
/// node instead, and failure (after reporting) when the node is invalid.
using FoldFn = FailureOr<bool> (*)(NodeContext &ctx);
/// Emits pz ops for a node and sets its outputs.
using LowerFn = LogicalResult (*)(NodeContext &ctx);

struct OpHandler {
  FoldFn fold = nullptr;
  LowerFn lower = nullptr;
  /// How many leading inputs must be given (not omitted).
  unsigned minInputs = 1;
  /// False for an op the importer only evaluates on constants whose node
  /// tests run it on data (ScatterND, the sequence ops): it is not listed
  /// by `inspect --list-onnx-ops`, so the conformance run does not select
  /// its node tests (0010, "Ops that only fold").
  bool claimed = true;
  /// True for the sequence ops, the only ones that read sequences.
  bool takesSequences = false;
};

class OpRegistry {
public:
  void add(llvm::StringRef opType, FoldFn fold, LowerFn lower,
           unsigned minInputs = 1) {
    handlers[opType] = OpHandler{fold, lower, minInputs};
  }
  /// An op evaluated only when its inputs are known at import time; not
  /// claimed (see OpHandler::claimed).
  void addFoldOnly(llvm::StringRef opType, FoldFn fold, unsigned minInputs,
                   bool takesSequences) {
    handlers[opType] =
        OpHandler{fold, nullptr, minInputs, /*claimed=*/false, takesSequences};
  }
  /// The handler of a default-domain op, or null.
  const OpHandler *lookup(llvm::StringRef domain, llvm::StringRef opType) const;
  /// The claimed op types, sorted.
  std::vector<std::string> names() const;

private:
  llvm::StringMap<OpHandler> handlers;
};

/// The registry with every op family registered.
const OpRegistry &getOpRegistry();

void registerElementwiseOps(OpRegistry &registry);
void registerConstantOps(OpRegistry &registry);
void registerShapeOps(OpRegistry &registry);
void registerSliceOps(OpRegistry &registry);
void registerGatherOps(OpRegistry &registry);
void registerNNOps(OpRegistry &registry);
void registerLossOps(OpRegistry &registry);
void registerSequenceOps(OpRegistry &registry);

} // namespace mlir::pz::onnx

#endif // PZ_LIB_IMPORT_ONNX_OPREGISTRY_H
