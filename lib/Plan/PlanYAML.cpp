//===- PlanYAML.cpp - plan.yaml reading and writing -----------------------===//
//
// Reading goes through LLVM's YAML I/O into a map of raw strings, so that
// every value error can name its key; the value rules are setPlanKey's and
// validatePlan's. Locations come from a second, structural walk.
//
//===----------------------------------------------------------------------===//

#include "pz/Plan/Plan.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/YAMLParser.h"
#include "llvm/Support/YAMLTraits.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace mlir::pz;
using llvm::StringRef;

namespace {
/// The document as written: key -> textual value, in file order.
struct RawPlan {
  std::map<std::string, std::string> values;
};
} // namespace

template <>
struct llvm::yaml::CustomMappingTraits<RawPlan> {
  static void inputOne(IO &io, StringRef key, RawPlan &raw) {
    std::string value;
    io.mapRequired(key.str().c_str(), value);
    raw.values[key.str()] = value;
  }
  static void output(IO &io, RawPlan &raw) {
    for (auto &[k, v] : raw.values)
      io.mapRequired(k.c_str(), v);
  }
};

namespace {
/// Finds `line:col` of a top-level key, or an empty string.
std::string locateKey(StringRef text, StringRef key) {
  llvm::SourceMgr sm;
  llvm::yaml::Stream stream(text, sm, /*ShowColors=*/false);
  std::string none;
  for (llvm::yaml::Document &doc : stream) {
    auto *map = llvm::dyn_cast_or_null<llvm::yaml::MappingNode>(doc.getRoot());
    if (!map)
      return none;
    for (llvm::yaml::KeyValueNode &kv : *map) {
      auto *k = llvm::dyn_cast_or_null<llvm::yaml::ScalarNode>(kv.getKey());
      llvm::SmallString<32> storage;
      if (!k || k->getValue(storage) != key)
        continue;
      auto lc = sm.getLineAndColumn(llvm::SMLoc::getFromPointer(
          k->getSourceRange().Start.getPointer()));
      return llvm::formatv("{0}:{1}", lc.first, lc.second).str();
    }
    return none;
  }
  return none;
}

/// `line:col` of the first document's root when it is an alias, or "".
std::string locateRootAlias(StringRef text) {
  llvm::SourceMgr sm;
  sm.setDiagHandler([](const llvm::SMDiagnostic &, void *) {}); // Input reports
  llvm::yaml::Stream stream(text, sm, /*ShowColors=*/false);
  llvm::yaml::document_iterator doc = stream.begin();
  if (doc == stream.end())
    return "";
  auto *alias = llvm::dyn_cast_or_null<llvm::yaml::AliasNode>(doc->getRoot());
  if (!alias)
    return "";
  // The name points into the text, just after the '*' (an alias node's
  // source range is that of the token after it, which may lie elsewhere).
  const char *at = alias->getName().data();
  if (at <= text.begin() || at > text.end())
    return "1:1";
  auto lc = sm.getLineAndColumn(llvm::SMLoc::getFromPointer(at - 1));
  return llvm::formatv("{0}:{1}", lc.first, lc.second).str();
}
} // namespace

llvm::Expected<Plan> mlir::pz::parsePlanYAML(StringRef text,
                                             StringRef fileName) {
  std::string diagText;
  llvm::raw_string_ostream diagOS(diagText);
  auto handler = [](const llvm::SMDiagnostic &d, void *ctx) {
    auto &os = *static_cast<llvm::raw_string_ostream *>(ctx);
    os << d.getLineNo() << ":" << (d.getColumnNo() + 1) << ": "
       << d.getMessage() << "\n";
  };
  RawPlan raw;
  if (text.trim().empty())
    return llvm::createStringError(
        llvm::formatv("{0}: the plan is empty; write keys such as 'tp: 2'",
                      fileName));
  // LLVM's YAML I/O dereferences a null node when a document's root is an
  // alias (`*a`): report it here instead.
  if (std::string loc = locateRootAlias(text); !loc.empty())
    return llvm::createStringError(llvm::formatv(
        "{0}:{1}: not a YAML mapping of plan keys (a plan has no aliases)",
        fileName, loc));
  llvm::yaml::Input in(text, nullptr, handler, &diagOS);
  in >> raw;
  if (in.error()) {
    std::string msg;
    for (StringRef line : llvm::split(StringRef(diagText).trim(), '\n'))
      msg += (msg.empty() ? "" : "\n") + (fileName + ":" + line).str();
    if (msg.empty())
      msg = (fileName + ": not a YAML mapping of plan keys").str();
    return llvm::createStringError(msg);
  }

  Plan plan;
  std::vector<PlanError> errors;
  if (raw.values.count("grad_accum") && raw.values.count("microbatches") &&
      raw.values["grad_accum"] != raw.values["microbatches"])
    errors.push_back({"microbatches", "is an alias of grad_accum and the two "
                                      "disagree"});
  for (StringRef key : planKeys()) {
    auto it = raw.values.find(key.str());
    if (it == raw.values.end() && key == "grad_accum")
      it = raw.values.find("microbatches");
    if (it == raw.values.end())
      continue;
    if (auto err = setPlanKey(plan, key, it->second)) {
      err->key = it->first;
      errors.push_back(*err);
    }
  }
  for (auto &[key, value] : raw.values) {
    (void)value;
    if (key != "microbatches" && !llvm::is_contained(planKeys(), key))
      errors.push_back(*setPlanKey(plan, key, ""));
  }
  if (errors.empty())
    errors = validatePlan(plan);
  if (errors.empty())
    return plan;

  std::string msg;
  for (const PlanError &e : errors) {
    std::string key = e.key;
    if (key == "grad_accum" && !raw.values.count(key))
      key = "microbatches";
    std::string loc = locateKey(text, key);
    msg += llvm::formatv("{0}{1}{2}: plan key '{3}': {4}", msg.empty() ? "" : "\n",
                         fileName, loc.empty() ? "" : ":" + loc, key,
                         e.message)
               .str();
  }
  return llvm::createStringError(msg);
}

std::string mlir::pz::printPlanYAML(const Plan &plan) {
  std::string out;
  llvm::raw_string_ostream os(out);
  for (StringRef key : planKeys())
    os << key << ": " << getPlanKey(plan, key) << "\n";
  return out;
}
