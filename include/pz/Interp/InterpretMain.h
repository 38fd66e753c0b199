//===- InterpretMain.h - the pz-interpret command line ----------*- C++ -*-===//

#ifndef PZ_INTERP_INTERPRETMAIN_H
#define PZ_INTERP_INTERPRETMAIN_H

namespace mlir::pz::interp {

/// The whole of `pz-interpret`: parses the command line, evaluates one
/// function of an .mlir file on .npy inputs and writes its results as .npy
/// files. Returns the process exit code: 0 on success, 1 when evaluation
/// fails (an op reports an error), 2 for bad usage or inputs (a missing or
/// unknown input, a shape mismatch, a malformed .npy file, an unparsable
/// .mlir file).
int interpretMain(int argc, char **argv);

} // namespace mlir::pz::interp

#endif // PZ_INTERP_INTERPRETMAIN_H
