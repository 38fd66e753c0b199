//===- Driver.h - the parallelize command-line driver ---------------------===//

#ifndef PZ_DRIVER_DRIVER_H
#define PZ_DRIVER_DRIVER_H

namespace mlir::pz::driver {

/// Exit codes of every parallelize subcommand (CONTRACT.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitInternal = 1,
  kExitUser = 2,
};

/// Entry point of `parallelize`: dispatches on the subcommand in argv[1].
int main(int argc, char **argv);

} // namespace mlir::pz::driver

#endif // PZ_DRIVER_DRIVER_H
