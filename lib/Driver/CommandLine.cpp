//===- CommandLine.cpp - option parsing shared by the subcommands ---------===//
//
// The option category, error printing and command-line parsing of every
// subcommand. With PlanOptions.cpp it forms PZDriverOptions, a library that
// needs no compiler pass (the plan-flags fuzz target links it alone).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "pz/Support/InputFile.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/STLExtras.h"
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

/// True for options that LLVM's parser also matches as the start of a longer
/// argument: grouped single-letter options and options with a glued value.
static bool matchesAsPrefix(const llvm::cl::Option *o) {
  return (o->getMiscFlags() & llvm::cl::Grouping) ||
         o->getFormattingFlag() == llvm::cl::Prefix ||
         o->getFormattingFlag() == llvm::cl::AlwaysPrefix;
}

/// LLVM's parser reads an unknown `-NAME` as grouped letters or a glued value
/// when NAME starts with such an option; `-h` (an alias of --help) is one, so
/// `--hedule=gpipe` (a typo of --schedule) or `-Wh` printed the help and
/// exited 0 without compiling anything. No parallelize option is used that
/// way: such an argument is an unknown option.
static bool rejectPrefixLookalikes(int argc, const char **argv) {
  auto &options = llvm::cl::getRegisteredOptions();
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg = argv[i];
    if (arg == "--")
      break;
    if (!arg.starts_with("-") || arg == "-")
      continue;
    // LLVM strips one or two dashes, no more: `----zero` names `--zero`,
    // an unknown option, and does not take the next argument as its value.
    llvm::StringRef name = arg.drop_front(arg.starts_with("--") ? 2 : 1)
                               .split('=')
                               .first;
    if (name.empty())
      continue;
    auto it = options.find(name);
    if (it != options.end()) {
      // `--flag VALUE`: skip the value, which may start with '-'.
      if (!arg.contains('=') &&
          it->second->getValueExpectedFlag() == llvm::cl::ValueRequired)
        ++i;
      continue;
    }
    for (llvm::StringRef p = name.drop_back(); !p.empty(); p = p.drop_back()) {
      auto pit = options.find(p);
      // Single-letter options are read as grouped letters too; LLVM's `-h`
      // is a default option that joins the map only once parsing starts.
      bool lookalike = p == "h" || (pit != options.end() &&
                                    (p.size() == 1 || matchesAsPrefix(pit->second)));
      if (!lookalike)
        continue;
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
  // LLVM reads @FILE arguments whatever they are: @/dev/zero never ends.
  if (!checkResponseFiles(argc, argv) || !rejectPrefixLookalikes(argc, argv))
    return false;
  std::string errors;
  llvm::raw_string_ostream errOS(errors);
  bool ok = llvm::cl::ParseCommandLineOptions(argc, argv, overview, &errOS);
  if (!ok) {
    llvm::errs() << errors;
    return false;
  }
  return checkRepeatedOptions(argv[0]);
}

bool mlir::pz::driver::optionGiven(llvm::StringRef name) {
  auto &options = llvm::cl::getRegisteredOptions();
  auto it = options.find(name);
  return it != options.end() && it->second->getNumOccurrences() > 0;
}

/// A flag that takes one value and is given twice is most likely a mistake
/// (llvm::cl would keep the last silently): refuse it. List options
/// (--input-shape, --mlir-print-ir-before=...) are repeatable by design.
bool mlir::pz::driver::checkRepeatedOptions(llvm::StringRef prog) {
  auto &options = llvm::cl::getRegisteredOptions();
  std::vector<std::string> repeated;
  for (auto &entry : options) {
    llvm::cl::Option *opt = entry.second;
    if (entry.first != opt->ArgStr || opt->getNumOccurrences() < 2)
      continue;
    auto flag = opt->getNumOccurrencesFlag();
    if (flag != llvm::cl::Optional && flag != llvm::cl::Required)
      continue;
    // An alias counts as its option (cl::alias forwards the occurrence).
    std::string names = (opt->ArgStr.size() == 1 ? "-" : "--") + opt->ArgStr.str();
    if (opt->ArgStr == "grad-accum")
      names += " (or its alias --microbatches)";
    repeated.push_back(names);
  }
  llvm::sort(repeated);
  for (const std::string &names : repeated)
    printError(prog.drop_front(llvm::StringRef("parallelize ").size()),
               names + ": given more than once; give each flag once");
  return repeated.empty();
}
