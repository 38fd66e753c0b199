//===- InputShapes.h - parsing --input-shape NAME=DxDx... -----------------===//

#ifndef PZ_PLAN_INPUTSHAPES_H
#define PZ_PLAN_INPUTSHAPES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mlir::pz {

/// Input name -> shape of one micro-batch.
using InputShapes = std::map<std::string, std::vector<int64_t>>;

/// Parses `NAME=DxDx...` entries (each spec may hold several, separated by
/// commas; positive dims, at most kMaxTensorElements elements, each name
/// once). The error names the first malformed entry.
llvm::Expected<InputShapes> parseInputShapes(llvm::ArrayRef<std::string> specs);

} // namespace mlir::pz

#endif // PZ_PLAN_INPUTSHAPES_H
