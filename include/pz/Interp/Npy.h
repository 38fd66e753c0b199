//===- Npy.h - read and write NumPy .npy files ------------------*- C++ -*-===//
//
// The `.npy` format (NumPy's format.py): a magic string, a version, a
// little-endian header length and a Python dict literal with `descr`,
// `fortran_order` and `shape`, then the raw elements.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_INTERP_NPY_H
#define PZ_INTERP_NPY_H

#include "pz/Interp/Interpreter.h"

#include "llvm/Support/Error.h"

namespace mlir::pz::interp {

/// Parses the bytes of a .npy file, versions 1.0 to 3.0, with a bool,
/// signed or unsigned integer, or float (2, 4 or 8 bytes) dtype of either
/// byte order, in C or Fortran order. The tensor has a null element type;
/// `isIntegerDtype` (when given) says whether the dtype was bool or an
/// integer. Errors read "NAME: malformed npy at byte N: WHAT".
llvm::Expected<HostTensor> parseNpy(StringRef bytes, StringRef name,
                                    bool *isIntegerDtype = nullptr);

/// Reads and parses a .npy file.
llvm::Expected<HostTensor> readNpy(StringRef path,
                                   bool *isIntegerDtype = nullptr);

/// Serialises a tensor as .npy version 1.0: `<f8` when its element type is
/// a float type (or null), `<u8` for ui8 to ui64, `<i8` for i32, i64 and
/// i1.
std::string serializeNpy(const HostTensor &tensor);

/// Writes serializeNpy(tensor) to `path`.
llvm::Error writeNpy(StringRef path, const HostTensor &tensor);

} // namespace mlir::pz::interp

#endif // PZ_INTERP_NPY_H
