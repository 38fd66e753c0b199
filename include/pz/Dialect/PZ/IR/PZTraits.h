//===- PZTraits.h - pz op traits --------------------------------*- C++ -*-===//
//
// ElementMap (PZ_ElementMap in ODS) marks ops whose result element at each
// position is a function of the operand elements at the same position, the
// operands broadcast numpy style to the result shape. pz-fuse-elementwise
// fuses chains of them into one pz.fused loop; the marker has no verifier of
// its own (each op verifies its broadcasting).
//
// BoundedTensorSizes (PZ_BoundedTensorSizes, on every pz op and listed first
// so that it runs before the op's own verifier and its type inference) refuses
// an operand tensor with more than kMaxTensorElements elements
// (pz/Support/Limits.h), so that no shape product an op's verifier or
// inference forms from its operands can overflow. Results are checked where
// they are read (the next op's operands) and where memory is planned.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZTRAITS_H
#define PZ_DIALECT_PZ_IR_PZTRAITS_H

#include "mlir/IR/OpDefinition.h"

namespace mlir::pz::traits {

template <typename ConcreteType>
class ElementMap : public ::mlir::OpTrait::TraitBase<ConcreteType, ElementMap> {};

/// The check of BoundedTensorSizes: every ranked operand type.
::mlir::LogicalResult verifyBoundedTensorSizes(::mlir::Operation *op);

/// The same check for one type; `what` names the value in the message
/// ("operand 1", "result 0", "argument 3"). Unranked and non-tensor types pass.
::mlir::LogicalResult verifyBoundedTensorSize(::mlir::Type type,
                                              ::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError,
                                              ::llvm::StringRef what);

template <typename ConcreteType>
class BoundedTensorSizes
    : public ::mlir::OpTrait::TraitBase<ConcreteType, BoundedTensorSizes> {
public:
  static ::mlir::LogicalResult verifyTrait(::mlir::Operation *op) {
    return verifyBoundedTensorSizes(op);
  }
};

} // namespace mlir::pz::traits

#endif // PZ_DIALECT_PZ_IR_PZTRAITS_H
