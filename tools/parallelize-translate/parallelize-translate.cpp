//===- parallelize-translate.cpp - mlir-translate with the pz emitters ---===//

#include "pz/Target/Emitter.h"

#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"

int main(int argc, char **argv) {
  mlir::pz::registerPZTranslations();
  return mlir::failed(mlir::mlirTranslateMain(argc, argv, "Parallelize translation driver\n"))
             ? 1
             : 0;
}
