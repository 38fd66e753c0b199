//===- plan_flags.cpp - libFuzzer target: the plan flags ------------------===//
//
// Input: command-line arguments, one per line, as `parallelize compile`
// gets them. They go through the driver's own option parsing
// (parseCommandLine) and PlanOptions::resolve, which must return a valid plan
// or print why not; a bad flag is an error, never a crash.
//
// Left out: arguments that name options outside the parallelize category
// (LLVM's own --help, --version, ... exit or act on the process), response
// files (@FILE) and --plan FILE, which read files (plan_yaml.cpp fuzzes the
// plan's text).
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"

#include "Commands.h" // lib/Driver

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/CommandLine.h"

#include <vector>

using namespace mlir::pz;

static bool keep(llvm::StringRef arg) {
  if (arg.starts_with("@"))
    return false;
  if (!arg.starts_with("-"))
    return true;
  llvm::StringRef name = arg.ltrim('-').split('=').first;
  if (name == "plan" || name == "h") // -h: LLVM's help, added while parsing
    return false;
  auto &options = llvm::cl::getRegisteredOptions();
  auto it = options.find(name);
  if (it == options.end())
    return true; // an unknown option: an error to report
  return llvm::is_contained(it->second->Categories, &driver::commandCategory());
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static driver::PlanOptions *planOptions = new driver::PlanOptions();
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  if (text.contains('\0'))
    return -1; // argv strings cannot hold NUL
  llvm::SmallVector<llvm::StringRef> lines;
  text.split(lines, '\n');
  std::vector<std::string> args = {"parallelize compile"};
  for (llvm::StringRef line : lines)
    if (keep(line))
      args.push_back(line.str());
  std::vector<const char *> argv;
  for (const std::string &a : args)
    argv.push_back(a.c_str());

  llvm::cl::ResetAllOptionOccurrences();
  if (!driver::parseCommandLine(static_cast<int>(argv.size()), argv.data(), "fuzz",
                                /*withMLIROptions=*/false))
    return 0;
  std::optional<Plan> plan = planOptions->resolve();
  if (plan && !validatePlan(*plan).empty())
    pzfuzz::invariant("PlanOptions::resolve returned a plan that validatePlan rejects");
  return 0;
}
