//===- parallelize.cpp - the parallelize command --------------------------===//
//
// The subcommands live in lib/Driver; this main only hands over.
//
//===----------------------------------------------------------------------===//

#include "pz/Driver/Driver.h"

int main(int argc, char **argv) { return mlir::pz::driver::main(argc, argv); }
