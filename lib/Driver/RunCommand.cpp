//===- RunCommand.cpp - parallelize run -----------------------------------===//
//
// Launches OUTDIR/train on N ranks: through srun inside a Slurm allocation,
// otherwise through OpenMPI's mpirun (adding --allow-run-as-root for root and
// --oversubscribe when N exceeds the local cores), otherwise (no mpirun, or
// --launcher local) on this machine without MPI (LocalLauncher.cpp: the
// runtime's TCP host communicator).
//
// `run` execs the launcher instead of waiting for it as a child. Then the
// launcher is the process the user and the shell see: Ctrl-C, `kill PID`,
// SIGHUP from a closed terminal and a batch system's SIGTERM reach mpirun or
// srun directly, and both forward them to every rank and tear the job down;
// the job's exit status is the launcher's own. A parent that waited would
// have to forward each signal to the launcher's process group and mirror
// its exit status, and a SIGKILL to the parent would still orphan the job.
// Nothing remains to do after the launch, so nothing is lost by the exec.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Threading.h"
#include "llvm/Support/raw_ostream.h"

#include <cerrno>
#include <cstring>

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
  cl::opt<std::string> launcherOpt(
      "launcher",
      cl::desc("auto (srun in a Slurm allocation, else mpirun, else local), "
               "mpi, slurm, or local (this machine, without MPI)"),
      cl::init("auto"), cl::value_desc("auto|mpi|slurm|local"),
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

  const std::string how = launcherOpt;
  if (how != "auto" && how != "mpi" && how != "slurm" && how != "local") {
    printError("run", "--launcher: expected auto, mpi, slurm or local, got '" + how + "'");
    return kExitUser;
  }
  if (how == "local" && !hostfile.empty()) {
    printError("run", "--launcher local runs on this machine only; --hostfile needs mpirun");
    return kExitUser;
  }
  bool inSlurm = how == "slurm" || (how == "auto" && getenv("SLURM_JOB_ID") && hostfile.empty());
  const char *launcherName = inSlurm ? "srun" : "mpirun";
  auto launcher = how == "local" ? llvm::ErrorOr<std::string>(std::make_error_code(
                                       std::errc::no_such_file_or_directory))
                                 : llvm::sys::findProgramByName(launcherName);
  const bool local = how == "local" || (how == "auto" && !inSlurm && !launcher);
  if (local) {
    std::vector<std::string> trainArgs(std::next(positional.begin()), positional.end());
    if (dryRun) {
      llvm::outs() << "local " << ranks << " ranks (RANK, WORLD_SIZE, MASTER_ADDR=127.0.0.1, "
                   << "MASTER_PORT, PZRT_JOB_TOKEN): " << train;
      for (const std::string &a : trainArgs)
        llvm::outs() << " " << a;
      llvm::outs() << "\n";
      return kExitOk;
    }
    return launchLocal(std::string(train), trainArgs, ranks);
  }
  if (!launcher) {
    printError("run", std::string("cannot find '") + launcherName +
                          "' on PATH (install " + (inSlurm ? "Slurm" : "openmpi-bin") +
                          ", or run without MPI: --launcher local)");
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
  // What was printed must not be lost with the process image.
  llvm::outs().flush();
  llvm::errs().flush();
  if (int rc = checkStdout("run", kExitOk); rc != kExitOk)
    return rc;
  std::vector<char *> argv2;
  for (std::string &a : args)
    argv2.push_back(a.data());
  argv2.push_back(nullptr);
  ::execv(args.front().c_str(), argv2.data());
  printError("run", "launching " + args.front() + " failed: " +
                        std::strerror(errno));
  return kExitInternal;
}
