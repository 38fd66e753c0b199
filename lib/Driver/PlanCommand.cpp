//===- PlanCommand.cpp - parallelize plan ---------------------------------===//
//
// The planner (cost model and search) is not built yet. The subcommand
// already accepts and validates the pinned plan flags, so a user learns about
// a bad flag first, and then says plainly that the search does not exist.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir::pz::driver;
namespace cl = llvm::cl;

int mlir::pz::driver::planMain(int argc, const char **argv) {
  cl::opt<std::string> model(cl::Positional, cl::Required,
                             cl::desc("MODEL (.mlir, .onnx or a built-in spec)"),
                             cl::cat(commandCategory()));
  cl::opt<int> gpus("gpus", cl::desc("number of GPUs"), cl::Required,
                    cl::cat(commandCategory()));
  PlanOptions plan;
  if (!parseCommandLine(argc, argv,
                        "Search for the best parallel plan (not built yet).\n",
                        /*withMLIROptions=*/false))
    return kExitUser;
  if (!plan.resolve())
    return kExitUser;
  printError("plan", "the plan search (cost model and search) is not built "
                     "yet; write a plan with the compile flags instead");
  return kExitUser;
}
