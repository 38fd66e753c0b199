//===- InputFile.h - refuse inputs that would block a reader ----*- C++ -*-===//
//
// Opening a FIFO with no writer, or reading /dev/zero, blocks or never ends.
// The tools read their inputs (models, plans, .npy files, response files)
// only when the path names a regular file, as the ONNX importer and the
// runtime already do, and say what the path is otherwise.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_SUPPORT_INPUTFILE_H
#define PZ_SUPPORT_INPUTFILE_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir::pz {

/// Empty when `path` (after symlinks) is a regular file; otherwise why it
/// cannot be read: "'PATH' is a FIFO, not a regular file", "'PATH' does not
/// exist", ... A path that cannot be inspected is left to the caller's open,
/// which reports it.
std::string checkRegularFile(llvm::StringRef path);

/// Checks the `@FILE` response files among the arguments before LLVM's
/// command-line parser expands them; prints an error naming the argument
/// and returns false when one is not a regular file. An `@FILE` that names
/// nothing is left alone (LLVM keeps it as an argument).
bool checkResponseFiles(int argc, const char *const *argv);

} // namespace mlir::pz

#endif // PZ_SUPPORT_INPUTFILE_H
