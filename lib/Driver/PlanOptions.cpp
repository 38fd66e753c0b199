//===- PlanOptions.cpp - plan flags and --plan FILE -----------------------===//
//
// Every plan key has a flag of the same name (dp_replicate is
// --dp-replicate). Flags are read as text and go through setPlanKey, the
// same path as plan.yaml, so a bad value gets the same message in both; the
// message names the flag. A list key's flag takes its items separated by
// commas (--stage-boundaries h.2,h.5; --recompute h.0,h.2).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "pz/Support/InputFile.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <list>

using namespace mlir::pz;
using namespace mlir::pz::driver;
namespace cl = llvm::cl;

namespace {
struct FlagSpec {
  llvm::StringRef key;
  llvm::StringRef help;
  llvm::StringRef valueDesc = "V";
};
const FlagSpec kFlags[] = {
    {"dp_replicate", "replicated data-parallel degree (DDP)"},
    {"dp_shard", "sharded data-parallel degree (ZeRO/FSDP group size)"},
    {"zero", "ZeRO stage over dp_shard: 0, 1, 2 or 3"},
    {"tp", "tensor-parallel degree"},
    {"cp", "context-parallel degree"},
    {"pp", "pipeline-parallel stages"},
    {"schedule", "pipeline schedule: gpipe, 1f1b, interleaved, zb"},
    {"grad_accum", "micro-batches per step on each data-parallel rank"},
    {"virtual_stages", "model chunks per pipeline rank (interleaved)"},
    {"stage_boundaries", "layers that start a pipeline stage, comma-separated (h.2,h.5: "
                         "pp x virtual_stages - 1 names; default: cuts balanced by cost)",
     "LAYER,..."},
    {"recompute", "activation recomputation: none, selective, full, or the layers to recompute "
                  "in full, comma-separated (h.0,h.2)",
     "MODE|LAYER,..."},
    {"precision", "compute precision: fp32, bf16, fp16"},
    {"bucket_mb", "gradient bucket cap of dp_replicate in MiB (default 25; 0: a bucket per gradient)"},
};
} // namespace

struct PlanOptions::Impl {
  cl::opt<std::string> planFile{"plan", cl::desc("plan.yaml to apply"),
                                cl::value_desc("FILE"),
                                cl::cat(commandCategory())};
  cl::opt<bool> sp{"sp", cl::desc("sequence parallelism over the tp axis"),
                   cl::cat(commandCategory())};
  // One text option per key; std::list keeps their addresses stable.
  std::list<std::string> names;
  std::list<cl::opt<std::string>> flags;
  std::vector<std::pair<llvm::StringRef, cl::opt<std::string> *>> byKey;
  cl::alias microbatches;

  Impl()
      : microbatches("microbatches", cl::desc("alias of --grad-accum"),
                     cl::aliasopt(*addFlags()), cl::cat(commandCategory())) {}

  /// Creates the keyed flags; returns the --grad-accum one for the alias.
  cl::opt<std::string> *addFlags() {
    cl::opt<std::string> *gradAccum = nullptr;
    for (const FlagSpec &f : kFlags) {
      names.push_back(flagForKey(f.key).substr(2));
      flags.emplace_back(llvm::StringRef(names.back()), cl::desc(f.help),
                         cl::value_desc(f.valueDesc), cl::cat(commandCategory()));
      byKey.push_back({f.key, &flags.back()});
      if (f.key == "grad_accum")
        gradAccum = &flags.back();
    }
    return gradAccum;
  }
};

PlanOptions::PlanOptions() : impl(std::make_unique<Impl>()) {}
PlanOptions::~PlanOptions() = default;

llvm::StringRef PlanOptions::planFile() const { return impl->planFile; }

std::optional<Plan> PlanOptions::resolve() const {
  Plan plan;
  if (!impl->planFile.empty()) {
    if (std::string why = checkRegularFile(impl->planFile); !why.empty()) {
      printError("compile", "cannot read plan: " + why);
      return std::nullopt;
    }
    auto buf = llvm::MemoryBuffer::getFile(impl->planFile);
    if (!buf) {
      printError("compile", "cannot read plan '" + impl->planFile +
                                "': " + buf.getError().message());
      return std::nullopt;
    }
    auto parsed = parsePlanYAML((*buf)->getBuffer(), impl->planFile);
    if (!parsed) {
      llvm::errs() << llvm::toString(parsed.takeError()) << "\n";
      return std::nullopt;
    }
    plan = *parsed;
  }
  bool ok = true;
  for (auto &[key, opt] : impl->byKey) {
    if (!opt->getNumOccurrences())
      continue;
    if (auto err = setPlanKey(plan, key, *opt)) {
      llvm::errs() << flagForKey(key) << ": " << err->message << "\n";
      ok = false;
    }
  }
  if (impl->sp.getNumOccurrences())
    plan.sp = impl->sp;
  if (!ok)
    return std::nullopt;
  std::vector<PlanError> errors = validatePlan(plan);
  for (const PlanError &e : errors)
    llvm::errs() << flagForKey(e.key) << " (plan key '" << e.key
                 << "'): " << e.message << "\n";
  if (!errors.empty())
    return std::nullopt;
  return plan;
}
