//===- parallelize-opt.cpp - mlir-opt with the pz dialects and passes ----===//

#include "pz/InitAllDialects.h"
#include "pz/InitAllPasses.h"

#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::pz::registerAllDialects(registry);
  mlir::pz::registerAllPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "Parallelize optimizer driver\n", registry));
}
