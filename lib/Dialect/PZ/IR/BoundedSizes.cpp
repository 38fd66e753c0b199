//===- BoundedSizes.cpp - the tensor size bound of every pz operand -------===//
//
// Operands only: a result beyond the bound is refused where it is used (as
// the next op's operand) or where memory is planned for it (pz-plan-memory
// checks every value of a step function), so inference may still name such a
// type in a diagnostic or on a value nothing reads.
//

#include "pz/Dialect/PZ/IR/PZTraits.h"
#include "pz/Support/Limits.h"

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Operation.h"

using namespace mlir;

LogicalResult mlir::pz::traits::verifyBoundedTensorSize(
    Type type, llvm::function_ref<InFlightDiagnostic()> emitError,
    StringRef what) {
  auto t = llvm::dyn_cast<RankedTensorType>(type);
  if (!t || boundedElementCount(t.getShape()))
    return success();
  return emitError() << what << " has type " << type << ", more than "
                     << kMaxTensorElements
                     << " (2^48) elements; a tensor holds at most that many";
}

LogicalResult mlir::pz::traits::verifyBoundedTensorSizes(Operation *op) {
  auto emit = [op] { return op->emitOpError(); };
  for (auto [i, v] : llvm::enumerate(op->getOperands()))
    if (failed(verifyBoundedTensorSize(v.getType(), emit,
                                       "operand " + std::to_string(i))))
      return failure();
  return success();
}
