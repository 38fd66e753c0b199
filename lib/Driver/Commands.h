//===- Commands.h - subcommands of parallelize and shared helpers ---------===//

#ifndef PZ_LIB_DRIVER_COMMANDS_H
#define PZ_LIB_DRIVER_COMMANDS_H

#include "pz/Driver/Driver.h"
#include "pz/Dialect/PZ/Transforms/Passes.h"
#include "pz/Plan/Plan.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/CommandLine.h"

#include <memory>

namespace mlir::pz::driver {

/// Each subcommand gets argv with argv[0] = "parallelize SUBCOMMAND".
int compileMain(int argc, const char **argv);
int planMain(int argc, const char **argv);
int runMain(int argc, const char **argv);
int inspectMain(int argc, const char **argv);

/// The option category every subcommand shows in --help.
llvm::cl::OptionCategory &commandCategory();

/// Parses the registered options; on a bad flag prints the reason and
/// returns false (the caller exits with kExitUser). Hides options that do
/// not belong to this subcommand from --help.
bool parseCommandLine(int argc, const char **argv, llvm::StringRef overview,
                      bool withMLIROptions);

/// The plan flags of CONTRACT.md (--dp-replicate ... --precision) and
/// --plan FILE. Construct one inside a subcommand, before parsing.
class PlanOptions {
public:
  PlanOptions();
  ~PlanOptions();
  /// plan.yaml (when given) overridden by the flags that were set, then
  /// validated. Prints the problems, naming flags or keys, on failure.
  std::optional<Plan> resolve() const;
  /// The --plan FILE given, or empty.
  llvm::StringRef planFile() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// The optimizer flags of CONTRACT.md (--optimizer, --lr, --momentum,
/// --betas, --eps, --weight-decay, --grad-clip, --lr-schedule,
/// --warmup-steps, --total-steps) plus --no-decay-1d.
class OptimizerFlags {
public:
  OptimizerFlags();
  ~OptimizerFlags();
  /// The pz-optimizer options; prints a message naming the flag and
  /// returns nullopt when a value is out of range.
  std::optional<OptimizerPassOptions> resolve() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// Refuses (printing each) options that take one value and were given more
/// than once; list options may repeat. parseCommandLine calls it; `prog` is
/// argv[0] ("parallelize SUBCOMMAND").
bool checkRepeatedOptions(llvm::StringRef prog);

/// Flushes stdout; when writing it failed, prints why and turns an exit
/// code of 0 into kExitUser (like a file that cannot be written).
int checkStdout(llvm::StringRef subcommand, int rc);

/// Returns whether the user gave the (MLIR) option `name` on the command
/// line, e.g. "mlir-print-op-on-diagnostic".
bool optionGiven(llvm::StringRef name);

/// Loads a model (.mlir in the pz dialect, or .onnx) into a module,
/// printing diagnostics with their file locations. `inputShapes` are the
/// --input-shape values; the ONNX import uses them to fix dynamic dims.
/// Returns null on failure. A .mlir file nested deeper than
/// kMaxNestingDepth brackets is refused before parsing. `externalFiles`, when
/// given, receives the files an ONNX model's external data came from.
/// `untieInitializers`, `retieInitializers`: --untie-initializers and
/// --retie-initializers (onnx::ImportOptions).
OwningOpRef<ModuleOp> loadModel(MLIRContext &ctx, llvm::StringRef path,
                                llvm::ArrayRef<std::string> inputShapes = {},
                                std::vector<std::string> *externalFiles = nullptr,
                                bool untieInitializers = false, bool retieInitializers = false);

/// Starts `ranks` copies of `train` on this machine with torchrun's variables
/// and a job token (LocalLauncher.cpp), waits for them and returns the job's
/// exit status.
int launchLocal(const std::string &train, llvm::ArrayRef<std::string> trainArgs, int ranks);

/// Prints "parallelize SUBCOMMAND: error: MSG" to stderr.
void printError(llvm::StringRef subcommand, const llvm::Twine &msg);

/// `parallelize inspect OUTDIR [--collectives] [--memory] [--schedule
/// [--stage-times FILE]] [--json]`: what report.json says of one step
/// (InspectReport.cpp); with `stageTimes`, the schedule simulated with
/// measured durations (scripts/pptrace.py --json) instead of the cost model's.
int inspectOutDir(llvm::StringRef dir, bool collectives, bool memory, bool schedule,
                  bool asJson, llvm::StringRef stageTimes = "");

/// Prints diagnostics as `FILE:LINE:COL: error: 'NAME': message` (NAME: the
/// op's name location, e.g. the ONNX node) on stderr while it lives.
std::unique_ptr<ScopedDiagnosticHandler> installDiagnosticPrinter(MLIRContext &ctx);

} // namespace mlir::pz::driver

#endif // PZ_LIB_DRIVER_COMMANDS_H
