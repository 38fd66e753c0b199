//===- CommandLine.cpp - option parsing shared by the subcommands ---------===//
//
// The option category, error printing and command-line parsing of every
// subcommand. With PlanOptions.cpp it forms PZDriverOptions, a library that
// needs no compiler pass (the plan-flags fuzz target links it alone).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::pz::driver;

llvm::cl::OptionCategory &mlir::pz::driver::commandCategory() {
  static llvm::cl::OptionCategory cat("parallelize options");
  return cat;
}

static llvm::cl::OptionCategory &mlirCategory() {
  static llvm::cl::OptionCategory cat("MLIR options (IR printing, timing)");
  return cat;
}

void mlir::pz::driver::printError(llvm::StringRef subcommand,
                                  const llvm::Twine &msg) {
  std::string prefix = ("parallelize " + subcommand).str();
  llvm::WithColor::error(llvm::errs(), llvm::StringRef(prefix).rtrim())
      << msg << "\n";
}

/// LLVM's `-h` (an alias of --help) also matches any unknown argument that
/// starts with it, as if its letters were grouped single-letter options:
/// `--hedule=gpipe`, a typo of --schedule, would print the help and exit 0
/// without compiling anything. Such an argument is an unknown option.
static bool rejectHelpLookalikes(int argc, const char **argv) {
  auto &options = llvm::cl::getRegisteredOptions();
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg = argv[i];
    if (arg == "--")
      break;
    if (!arg.starts_with("-") || arg == "-")
      continue;
    llvm::StringRef name = arg.ltrim('-').split('=').first;
    auto it = options.find(name);
    if (it != options.end()) {
      // `--flag VALUE`: skip the value, which may start with '-'.
      if (!arg.contains('=') &&
          it->second->getValueExpectedFlag() == llvm::cl::ValueRequired)
        ++i;
      continue;
    }
    if (name.starts_with("h")) {
      llvm::errs() << argv[0] << ": Unknown command line argument '" << arg
                   << "'.  Try: '" << argv[0] << " --help'\n";
      return false;
    }
  }
  return true;
}

bool mlir::pz::driver::parseCommandLine(int argc, const char **argv,
                                        llvm::StringRef overview,
                                        bool withMLIROptions) {
  if (withMLIROptions) {
    registerAsmPrinterCLOptions();
    registerMLIRContextCLOptions();
    registerPassManagerCLOptions();
    registerDefaultTimingManagerCLOptions();
    for (auto &entry : llvm::cl::getRegisteredOptions()) {
      if (entry.first.starts_with("mlir-"))
        entry.second->addCategory(mlirCategory());
    }
  }
  llvm::cl::HideUnrelatedOptions({&commandCategory(), &mlirCategory()});
  if (!rejectHelpLookalikes(argc, argv))
    return false;
  std::string errors;
  llvm::raw_string_ostream errOS(errors);
  bool ok = llvm::cl::ParseCommandLineOptions(argc, argv, overview, &errOS);
  if (!ok)
    llvm::errs() << errors;
  return ok;
}
