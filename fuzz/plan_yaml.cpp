//===- plan_yaml.cpp - libFuzzer target: plan.yaml parsing ----------------===//
//
// Input: the text of a plan.yaml (compile --plan FILE). parsePlanYAML must
// return a valid plan or an error that starts with the file name; a plan it
// accepts must print as YAML that parses back to the same plan.
//
//===----------------------------------------------------------------------===//

#include "FuzzUtil.h"

#include "pz/Plan/Plan.h"

#include "llvm/Support/Error.h"

using namespace mlir::pz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  llvm::Expected<Plan> plan = parsePlanYAML(text, "fuzz.yaml");
  if (!plan) {
    std::string msg = llvm::toString(plan.takeError());
    if (!llvm::StringRef(msg).starts_with("fuzz.yaml"))
      pzfuzz::invariant("plan error does not name the file", msg);
    return 0;
  }
  if (!validatePlan(*plan).empty())
    pzfuzz::invariant("parsePlanYAML accepted a plan that validatePlan rejects");
  std::string printed = printPlanYAML(*plan);
  llvm::Expected<Plan> again = parsePlanYAML(printed, "printed.yaml");
  if (!again)
    pzfuzz::invariant("the printed plan does not parse", llvm::toString(again.takeError()));
  if (!(*again == *plan))
    pzfuzz::invariant("the printed plan parses to another plan", printed);
  return 0;
}
