//===- ShapeRefinement.h - carry static shapes through a module -----------===//

#ifndef PZ_DIALECT_PZ_TRANSFORMS_SHAPEREFINEMENT_H
#define PZ_DIALECT_PZ_TRANSFORMS_SHAPEREFINEMENT_H

#include "mlir/IR/BuiltinOps.h"

namespace mlir::pz {

/// Replaces pz op result types by the inferred ones where inference is more
/// static, updates function result types from their returns and the result
/// types of the calls to them, until nothing changes. Fails, with a
/// diagnostic at the op, when an op's shape rules fail.
/// Calls whose operands then differ from their callee's (compatible)
/// argument types get a tensor.cast.
LogicalResult refineShapes(ModuleOp module);

/// After `v` changed type from `oldType`, gives every user outside the pz
/// dialect (other than func.return and func.call, which refineShapes
/// handles) a tensor.cast back to `oldType`, so that it still verifies.
void keepTypeForForeignUsers(Value v, Type oldType);

} // namespace mlir::pz

#endif // PZ_DIALECT_PZ_TRANSFORMS_SHAPEREFINEMENT_H
