//===- RunCommand.cpp - parallelize run -----------------------------------===//
//
// Launches OUTDIR/train on N ranks: through srun inside a Slurm allocation,
// otherwise through OpenMPI's mpirun (adding --allow-run-as-root for root and
// --oversubscribe when N exceeds the local cores).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/raw_ostream.h"

#include <unistd.h>

using namespace mlir::pz::driver;
namespace cl = llvm::cl;

int mlir::pz::driver::runMain(int argc, const char **argv) {
  cl::opt<int> ranks("n", cl::desc("number of ranks"), cl::Required,
                     cl::value_desc("N"), cl::cat(commandCategory()));
  cl::opt<std::string> hostfile("hostfile",
                                cl::desc("mpirun hostfile for several machines"),
                                cl::value_desc("FILE"),
                                cl::cat(commandCategory()));
  cl::opt<bool> dryRun("dry-run", cl::desc("print the launch command only"),
                       cl::cat(commandCategory()));
  cl::list<std::string> positional(
      cl::Positional, cl::OneOrMore,
      cl::desc("OUTDIR [-- train options]"), cl::cat(commandCategory()));
  if (!parseCommandLine(argc, argv,
                        "Run a compiled program on N ranks.\n",
                        /*withMLIROptions=*/false))
    return kExitUser;
  if (ranks < 1) {
    printError("run", "-n: expected a positive number of ranks, got " +
                          std::to_string(ranks));
    return kExitUser;
  }
  llvm::SmallString<256> train(positional.front());
  llvm::sys::path::append(train, "train");
  if (!llvm::sys::fs::can_execute(train)) {
    printError("run", "no compiled program at '" + train +
                          "'; run 'parallelize compile MODEL -o " +
                          positional.front() + "' first");
    return kExitUser;
  }

  bool inSlurm = getenv("SLURM_JOB_ID") && hostfile.empty();
  const char *launcherName = inSlurm ? "srun" : "mpirun";
  auto launcher = llvm::sys::findProgramByName(launcherName);
  if (!launcher) {
    printError("run", std::string("cannot find '") + launcherName +
                          "' on PATH (install openmpi-bin)");
    return kExitUser;
  }
  std::vector<std::string> args = {*launcher};
  if (inSlurm) {
    args.push_back("--ntasks=" + std::to_string(ranks));
  } else {
    if (geteuid() == 0)
      args.push_back("--allow-run-as-root");
    if (ranks > static_cast<int>(llvm::get_physical_cores()) ||
        ranks > static_cast<int>(llvm::hardware_concurrency().compute_thread_count()))
      args.push_back("--oversubscribe");
    args.push_back("-n");
    args.push_back(std::to_string(ranks));
    if (!hostfile.empty()) {
      args.push_back("--hostfile");
      args.push_back(hostfile);
    }
  }
  args.push_back(std::string(train));
  for (const std::string &a : llvm::drop_begin(positional))
    args.push_back(a);

  if (dryRun) {
    for (auto [i, a] : llvm::enumerate(args))
      llvm::outs() << (i ? " " : "") << a;
    llvm::outs() << "\n";
    return kExitOk;
  }
  std::vector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::string err;
  int rc = llvm::sys::ExecuteAndWait(args.front(), argRefs, std::nullopt, {},
                                     0, 0, &err);
  if (rc < 0) {
    printError("run", "launching " + args.front() + " failed: " + err);
    return kExitInternal;
  }
  return rc;
}
