//===- PZTraits.h - pz op traits --------------------------------*- C++ -*-===//
//
// ElementMap (PZ_ElementMap in ODS) marks ops whose result element at each
// position is a function of the operand elements at the same position, the
// operands broadcast numpy style to the result shape. pz-fuse-elementwise
// fuses chains of them into one pz.fused loop; the marker has no verifier of
// its own (each op verifies its broadcasting).
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZTRAITS_H
#define PZ_DIALECT_PZ_IR_PZTRAITS_H

#include "mlir/IR/OpDefinition.h"

namespace mlir::pz::traits {

template <typename ConcreteType>
class ElementMap : public ::mlir::OpTrait::TraitBase<ConcreteType, ElementMap> {};

} // namespace mlir::pz::traits

#endif // PZ_DIALECT_PZ_IR_PZTRAITS_H
