//===- pz-interpret.cpp - run a pz function on .npy inputs ----------------===//
//
// The reference interpreter's command line; the logic lives in PZInterp.
//
//===----------------------------------------------------------------------===//

#include "pz/Interp/InterpretMain.h"

int main(int argc, char **argv) {
  return mlir::pz::interp::interpretMain(argc, argv);
}
