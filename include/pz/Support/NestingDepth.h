//===- NestingDepth.h - bound bracket nesting before parsing ---*- C++ -*-===//
//
// MLIR's parser recurses once per nested bracket: a .mlir file with an
// attribute nested 10,000 deep overflows the stack. The tools scan the text
// first, in one linear pass that recurses nowhere, and refuse nesting deeper
// than kMaxNestingDepth with the bracket's line and column.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_SUPPORT_NESTINGDEPTH_H
#define PZ_SUPPORT_NESTINGDEPTH_H

#include "pz/Support/Limits.h"

#include "llvm/ADT/StringRef.h"

#include <cstddef>

namespace llvm {
class SourceMgr;
} // namespace llvm

namespace mlir::pz {

/// The offset of the first opening bracket of MLIR text (`(`, `[`, `{`, `<`)
/// that lies more than `maxDepth` brackets deep, or StringRef::npos. Brackets
/// in string literals and `//` comments do not count, nor does the `>` of
/// `->`; a closing bracket closes the innermost open one when they match and
/// is skipped otherwise (the parser reports it), so the count never
/// understates the parser's recursion.
size_t findDeepMLIRNesting(llvm::StringRef text,
                           unsigned maxDepth = kMaxNestingDepth);

/// Scans the main buffer of `sm` with findDeepMLIRNesting and, when it is
/// nested too deeply, reports `FILE:LINE:COL: error: ...` through `sm` and
/// returns false.
bool checkMLIRNesting(llvm::SourceMgr &sm,
                      unsigned maxDepth = kMaxNestingDepth);

} // namespace mlir::pz

#endif // PZ_SUPPORT_NESTINGDEPTH_H
