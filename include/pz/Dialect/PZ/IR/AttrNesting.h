//===- AttrNesting.h - bound the nesting of parsed attributes --*- C++ -*-===//
//
// Attribute aliases nest without nesting in the text: `#a1 = [#a0]`, ...,
// `#a99999 = [#a99998]` parses one line at a time, and then the printer, the
// verifiers of some attributes and MLIR's walkers recurse 100,000 deep. After
// parsing, the tools measure the nesting of every attribute, type and
// location a module holds (one iterative, memoized pass over each distinct
// value) and refuse more than kMaxNestingDepth levels.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_IR_ATTRNESTING_H
#define PZ_DIALECT_PZ_IR_ATTRNESTING_H

#include "pz/Support/Limits.h"

#include "mlir/IR/Operation.h"

namespace mlir::pz {

/// Fails, with an error at the op that holds it, when an attribute, type or
/// location under `root` nests more than `maxDepth` levels deep.
LogicalResult verifyAttributeNesting(Operation *root,
                                     unsigned maxDepth = kMaxNestingDepth);

} // namespace mlir::pz

#endif // PZ_DIALECT_PZ_IR_ATTRNESTING_H
