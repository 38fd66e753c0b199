//===- IRDump.h - write the IR after every pass ---------------------------===//

#ifndef PZ_LIB_DRIVER_IRDUMP_H
#define PZ_LIB_DRIVER_IRDUMP_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"

#include <string>
#include <vector>

namespace mlir::pz::driver {

/// Adds an instrumentation that writes DIR/00-input.mlir before the first
/// pass and DIR/NN-PASS.mlir after each pass (the whole module, with
/// locations). A failing pass writes DIR/NN-PASS.failed.mlir. Returns false
/// when DIR cannot be created. `written` collects the file names.
bool addIRDumping(PassManager &pm, ModuleOp module, llvm::StringRef dir,
                  std::vector<std::string> &written);

/// Whether `fileName` has the form of a dump (NN-NAME.mlir): addIRDumping
/// removes such files from DIR before it writes its own.
bool isDumpFileName(llvm::StringRef fileName);

/// Prints a module with source locations, as the dumps do.
void printModuleWithLocations(ModuleOp module, llvm::raw_ostream &os);

} // namespace mlir::pz::driver

#endif // PZ_LIB_DRIVER_IRDUMP_H
