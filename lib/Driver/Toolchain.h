//===- Toolchain.h - building generated programs ----------------*- C++ -*-===//

#ifndef PZ_LIB_DRIVER_TOOLCHAIN_H
#define PZ_LIB_DRIVER_TOOLCHAIN_H

#include "llvm/ADT/StringRef.h"

#include <string>

namespace mlir::pz::driver {

/// Compiles `cppPath` with the system C++ compiler ($PZ_CXX, else $CXX,
/// else c++) and links it with the runtime into `exePath`. On failure
/// returns false with the compiler's output in `error`.
bool buildProgram(llvm::StringRef cppPath, llvm::StringRef exePath, std::string &error);

} // namespace mlir::pz::driver

#endif // PZ_LIB_DRIVER_TOOLCHAIN_H
