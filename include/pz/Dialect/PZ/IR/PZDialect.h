//===- PZDialect.h - The pz dialect ---------------------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZDIALECT_H
#define PZ_DIALECT_PZ_IR_PZDIALECT_H

#include "pz/Plan/Plan.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"

namespace mlir::pz {
/// True when each pair of types could describe the same value: the same
/// element type and rank, and dims that are equal or dynamic on one side.
/// Printed result types may thus be more or less static than inferred ones;
/// pz-infer-shapes replaces them by the most static.
bool areRefinableTypes(TypeRange inferred, TypeRange actual);

/// Names an op's results after its source location's name (an ONNX node
/// name) or, without one, after the op's mnemonic.
void nameResultsFromLoc(Operation *op, OpAsmSetValueNameFn setNameFn);
} // namespace mlir::pz

namespace mlir {
/// Float parameters of pz attributes (`lr = 3.0e-04`) parse as IEEE doubles.
template <>
struct FieldParser<llvm::APFloat> {
  static FailureOr<llvm::APFloat> parse(AsmParser &parser) {
    llvm::APFloat value(0.0);
    if (parser.parseFloat(llvm::APFloat::IEEEdouble(), value))
      return failure();
    return value;
  }
};
} // namespace mlir

#include "pz/Dialect/PZ/IR/PZDialect.h.inc"
#include "pz/Dialect/PZ/IR/PZEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "pz/Dialect/PZ/IR/PZAttrs.h.inc"

namespace mlir::pz {
/// `attrs` with `pz.role = #pz.role<role>` added.
DictionaryAttr withRole(DictionaryAttr attrs, Role role);
/// The pz.role of argument (or result) `i` of a function, if any.
std::optional<Role> argRole(Operation *fn, unsigned i);
std::optional<Role> resultRole(Operation *fn, unsigned i);
} // namespace mlir::pz

#endif // PZ_DIALECT_PZ_IR_PZDIALECT_H
