//===- Plan.cpp - Plan keys and validation --------------------------------===//

#include "pz/Plan/Plan.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CheckedArithmetic.h"
#include "llvm/Support/FormatVariadic.h"

#include <cassert>

using namespace mlir::pz;
using llvm::StringRef;

StringRef mlir::pz::stringify(Schedule s) {
  switch (s) {
  case Schedule::GPipe:
    return "gpipe";
  case Schedule::OneFOneB:
    return "1f1b";
  case Schedule::Interleaved:
    return "interleaved";
  case Schedule::ZeroBubble:
    return "zb";
  }
  llvm_unreachable("unknown schedule");
}

StringRef mlir::pz::stringify(Recompute r) {
  switch (r) {
  case Recompute::None:
    return "none";
  case Recompute::Selective:
    return "selective";
  case Recompute::Full:
    return "full";
  case Recompute::Layers:
    return "layers";
  }
  llvm_unreachable("unknown recompute policy");
}

StringRef mlir::pz::stringify(Precision p) {
  switch (p) {
  case Precision::FP32:
    return "fp32";
  case Precision::BF16:
    return "bf16";
  case Precision::FP16:
    return "fp16";
  }
  llvm_unreachable("unknown precision");
}

std::optional<Schedule> mlir::pz::parseSchedule(StringRef s) {
  return llvm::StringSwitch<std::optional<Schedule>>(s)
      .Case("gpipe", Schedule::GPipe)
      .Case("1f1b", Schedule::OneFOneB)
      .Case("interleaved", Schedule::Interleaved)
      .Case("zb", Schedule::ZeroBubble)
      .Default(std::nullopt);
}

std::optional<Recompute> mlir::pz::parseRecompute(StringRef s) {
  return llvm::StringSwitch<std::optional<Recompute>>(s)
      .Case("none", Recompute::None)
      .Case("selective", Recompute::Selective)
      .Case("full", Recompute::Full)
      .Default(std::nullopt);
}

std::optional<Precision> mlir::pz::parsePrecision(StringRef s) {
  return llvm::StringSwitch<std::optional<Precision>>(s)
      .Case("fp32", Precision::FP32)
      .Case("bf16", Precision::BF16)
      .Case("fp16", Precision::FP16)
      .Default(std::nullopt);
}

bool Plan::operator==(const Plan &o) const {
  return dpReplicate == o.dpReplicate && dpShard == o.dpShard &&
         zero == o.zero && tp == o.tp && sp == o.sp && cp == o.cp &&
         pp == o.pp && schedule == o.schedule && gradAccum == o.gradAccum &&
         virtualStages == o.virtualStages && recompute == o.recompute &&
         precision == o.precision && bucketMb == o.bucketMb &&
         stageBoundaries == o.stageBoundaries &&
         recomputeLayers == o.recomputeLayers;
}

std::optional<int64_t> Plan::checkedWorldSize() const {
  std::optional<int64_t> n = 1;
  for (int64_t axis : {dpReplicate, dpShard, tp, cp, pp})
    if (n)
      n = llvm::checkedMul<int64_t>(*n, axis);
  return n;
}

int64_t Plan::worldSize() const {
  std::optional<int64_t> n = checkedWorldSize();
  assert(n && "worldSize() of a plan that validatePlan refuses");
  return n.value_or(0);
}

llvm::ArrayRef<StringRef> mlir::pz::planKeys() {
  static const StringRef keys[] = {
      "dp_replicate", "dp_shard",       "zero",             "tp",
      "sp",           "cp",             "pp",               "schedule",
      "grad_accum",   "virtual_stages", "stage_boundaries", "recompute",
      "precision",    "bucket_mb"};
  return keys;
}

bool mlir::pz::isListPlanKey(StringRef key) {
  return key == "stage_boundaries" || key == "recompute";
}

void mlir::pz::setPlanList(Plan &plan, StringRef key,
                           std::vector<std::string> items) {
  if (key == "stage_boundaries") {
    plan.stageBoundaries = std::move(items);
    return;
  }
  assert(key == "recompute" && "not a list key");
  plan.recompute = items.empty() ? Recompute::None : Recompute::Layers;
  plan.recomputeLayers = std::move(items);
}

std::string mlir::pz::flagForKey(StringRef key) {
  std::string flag = "--" + key.str();
  std::replace(flag.begin() + 2, flag.end(), '_', '-');
  return flag;
}

namespace {
/// The field of an integer key.
int64_t *intField(Plan &p, StringRef key) {
  return llvm::StringSwitch<int64_t *>(key)
      .Case("dp_replicate", &p.dpReplicate)
      .Case("dp_shard", &p.dpShard)
      .Case("zero", &p.zero)
      .Case("tp", &p.tp)
      .Case("cp", &p.cp)
      .Case("pp", &p.pp)
      .Cases("grad_accum", "microbatches", &p.gradAccum)
      .Case("virtual_stages", &p.virtualStages)
      .Case("bucket_mb", &p.bucketMb)
      .Default(nullptr);
}

/// The largest value of an integer key (validatePlan's bound).
int64_t maxOf(StringRef key) {
  if (key == "zero")
    return 3;
  if (key == "grad_accum" || key == "microbatches")
    return kMaxGradAccum;
  if (key == "virtual_stages")
    return kMaxVirtualStages;
  if (key == "bucket_mb")
    return kMaxBucketMb;
  return kMaxAxisSize;
}

/// The items of a list key's textual value: split at commas, each trimmed
/// (validatePlan checks them, an empty item included, so that the YAML
/// sequence form gets the same rules).
std::vector<std::string> splitItems(StringRef v) {
  std::vector<std::string> out;
  llvm::SmallVector<StringRef> items;
  v.split(items, ',');
  for (StringRef item : items)
    out.push_back(item.trim().str());
  return out;
}

std::string quoteList(llvm::ArrayRef<StringRef> items) {
  std::string out;
  for (auto [i, s] : llvm::enumerate(items))
    out += (i ? ", " : "") + s.str();
  return out;
}
} // namespace

std::optional<PlanError> mlir::pz::setPlanKey(Plan &plan, StringRef key,
                                              StringRef value) {
  StringRef v = value.trim();
  auto bad = [&](StringRef expected) {
    return PlanError{key.str(), llvm::formatv("expected {0}, got '{1}'",
                                              expected, value)
                                    .str()};
  };
  if (int64_t *field = intField(plan, key)) {
    int64_t n;
    if (v.getAsInteger(10, n)) {
      // Digits that do not fit int64_t: say so rather than "not an integer".
      StringRef digits = v;
      bool negative = digits.consume_front("-");
      if (!negative)
        digits.consume_front("+");
      if (!digits.empty() && llvm::all_of(digits, llvm::isDigit) &&
          key == "zero")
        return PlanError{key.str(), llvm::formatv("ZeRO stage must be 0, 1, 2 "
                                                  "or 3, got {0}", v)
                                        .str()};
      if (!digits.empty() && llvm::all_of(digits, llvm::isDigit))
        return PlanError{key.str(),
                         negative ? llvm::formatv("must be a positive integer, "
                                                  "got {0}", v)
                                        .str()
                                  : llvm::formatv("must be at most {0}, got {1}",
                                                  maxOf(key), v)
                                        .str()};
      return bad("an integer");
    }
    *field = n;
    return std::nullopt;
  }
  if (key == "sp") {
    std::optional<bool> b = llvm::StringSwitch<std::optional<bool>>(v)
                                .Cases("true", "1", "yes", "on", true)
                                .Cases("false", "0", "no", "off", false)
                                .Default(std::nullopt);
    if (!b)
      return bad("true or false");
    plan.sp = *b;
    return std::nullopt;
  }
  if (key == "schedule") {
    auto s = parseSchedule(v);
    if (!s)
      return bad("one of gpipe, 1f1b, interleaved, zb");
    plan.schedule = *s;
    return std::nullopt;
  }
  if (key == "recompute") {
    // A mode, or else the names of the layers to recompute.
    if (auto r = parseRecompute(v)) {
      plan.recompute = *r;
      plan.recomputeLayers.clear();
      return std::nullopt;
    }
    if (v.empty())
      return bad("none, selective, full or layer names");
    setPlanList(plan, key, splitItems(v));
    return std::nullopt;
  }
  if (key == "precision") {
    auto p = parsePrecision(v);
    if (!p)
      return bad("one of fp32, bf16, fp16");
    plan.precision = *p;
    return std::nullopt;
  }
  if (key == "stage_boundaries") {
    setPlanList(plan, key,
                v.empty() ? std::vector<std::string>() : splitItems(v));
    return std::nullopt;
  }
  return PlanError{key.str(), "unknown plan key; the keys are " +
                                  quoteList(planKeys()) +
                                  " (microbatches is an alias of grad_accum)"};
}

std::string mlir::pz::getPlanKey(const Plan &plan, StringRef key) {
  if (int64_t *field = intField(const_cast<Plan &>(plan), key))
    return std::to_string(*field);
  if (key == "sp")
    return plan.sp ? "true" : "false";
  if (key == "schedule")
    return stringify(plan.schedule).str();
  if (key == "recompute")
    return plan.recompute == Recompute::Layers
               ? llvm::join(plan.recomputeLayers, ",")
               : stringify(plan.recompute).str();
  if (key == "precision")
    return stringify(plan.precision).str();
  if (key == "stage_boundaries")
    return llvm::join(plan.stageBoundaries, ",");
  llvm_unreachable("unknown plan key");
}

namespace {
/// The rules for the layer names of a list key: non-empty, no comma (the
/// flag's separator), none of `reserved`, each named once. Reports the
/// first bad item only: a list of a million empty names is one error.
void checkNames(StringRef key, const std::vector<std::string> &names,
                llvm::ArrayRef<StringRef> reserved,
                llvm::function_ref<void(StringRef, std::string)> fail) {
  llvm::StringMap<size_t> seen;
  for (auto [i, name] : llvm::enumerate(names)) {
    if (name.empty()) {
      fail(key, llvm::formatv("item {0} is empty; each item names a layer",
                              i + 1));
      return;
    }
    if (StringRef(name).contains(',')) {
      fail(key, llvm::formatv("'{0}' holds a comma; a layer name cannot (the "
                              "flag separates names by commas)",
                              name));
      return;
    }
    if (llvm::is_contained(reserved, name)) {
      fail(key, llvm::formatv("'{0}' is a mode, not a layer name; give it "
                              "alone",
                              name));
      return;
    }
    auto [it, inserted] = seen.try_emplace(name, i);
    if (!inserted) {
      fail(key, llvm::formatv("'{0}' is named twice (items {1} and {2})", name,
                              it->second + 1, i + 1));
      return;
    }
  }
}
} // namespace

std::vector<PlanError> mlir::pz::validatePlan(const Plan &p) {
  std::vector<PlanError> errors;
  auto fail = [&](StringRef key, std::string msg) {
    errors.push_back({key.str(), std::move(msg)});
  };
  bool axesInRange = true;
  for (StringRef key : {"dp_replicate", "dp_shard", "tp", "cp", "pp",
                        "grad_accum", "virtual_stages"}) {
    int64_t v = *intField(const_cast<Plan &>(p), key);
    int64_t max = maxOf(key);
    if (v < 1)
      fail(key, llvm::formatv("must be a positive integer, got {0}", v));
    else if (v > max)
      fail(key, llvm::formatv("must be at most {0}, got {1}", max, v));
    axesInRange &= v >= 1 && v <= max;
  }
  // Each axis is at most 2^16, so the product of the five fits in int64_t
  // only by luck; it is computed with checks and bounded on its own.
  if (axesInRange) {
    std::optional<int64_t> world = p.checkedWorldSize();
    if (!world || *world > kMaxWorldSize) {
      // Name the largest axis: the one most likely to be the mistake.
      StringRef biggest = "dp_replicate";
      int64_t most = 0;
      for (StringRef key : {"dp_replicate", "dp_shard", "tp", "cp", "pp"}) {
        int64_t v = *intField(const_cast<Plan &>(p), key);
        if (v > most) {
          most = v;
          biggest = key;
        }
      }
      fail(biggest,
           llvm::formatv("the world size dp_replicate x dp_shard x tp x cp x "
                         "pp = {0} x {1} x {2} x {3} x {4} {5} exceeds {6} "
                         "ranks",
                         p.dpReplicate, p.dpShard, p.tp, p.cp, p.pp,
                         world ? "= " + std::to_string(*world)
                               : std::string("(beyond int64)"),
                         kMaxWorldSize));
    }
  }
  if (p.bucketMb < 0)
    fail("bucket_mb", llvm::formatv("must be 0 (a bucket per gradient) or a "
                                    "positive number of MiB, got {0}",
                                    p.bucketMb));
  else if (p.bucketMb > kMaxBucketMb)
    fail("bucket_mb", llvm::formatv("must be at most {0}, got {1}",
                                    kMaxBucketMb, p.bucketMb));
  if (p.zero < 0 || p.zero > 3)
    fail("zero", llvm::formatv("ZeRO stage must be 0, 1, 2 or 3, got {0}",
                               p.zero));
  else if (p.zero > 0 && p.dpShard == 1)
    fail("zero", llvm::formatv("ZeRO stage {0} shards state over the dp_shard "
                               "axis, which is 1; set dp_shard > 1",
                               p.zero));
  else if (p.zero == 0 && p.dpShard > 1)
    fail("dp_shard", llvm::formatv("dp_shard = {0} shards state over "
                                   "data-parallel ranks and needs zero 1, 2 "
                                   "or 3; use dp_replicate for replicated "
                                   "data parallelism",
                                   p.dpShard));
  if (p.sp && p.tp == 1)
    fail("sp", "sequence parallelism splits activations over the tp axis and "
               "needs tp > 1");
  bool pipelined = p.pp > 1;
  if ((p.schedule == Schedule::Interleaved ||
       p.schedule == Schedule::ZeroBubble) &&
      !pipelined)
    fail("schedule", llvm::formatv("schedule '{0}' needs pp > 1",
                                   stringify(p.schedule)));
  if (p.schedule == Schedule::Interleaved && p.virtualStages < 2)
    fail("virtual_stages", "schedule 'interleaved' needs virtual_stages >= 2");
  if (p.virtualStages > 1 && p.schedule != Schedule::Interleaved)
    fail("virtual_stages",
         llvm::formatv("virtual_stages = {0} needs schedule 'interleaved', "
                       "got '{1}'",
                       p.virtualStages, stringify(p.schedule)));
  if (p.schedule == Schedule::Interleaved && pipelined && p.gradAccum >= 1 &&
      p.gradAccum % p.pp != 0)
    fail("grad_accum",
         llvm::formatv("interleaved 1F1B runs micro-batches in groups of pp; "
                       "grad_accum ({0}) must be a multiple of pp ({1})",
                       p.gradAccum, p.pp));
  if (!p.stageBoundaries.empty()) {
    const std::vector<std::string> &names = p.stageBoundaries;
    if (!pipelined) {
      fail("stage_boundaries",
           llvm::formatv("names the layers that start pipeline stages and "
                         "needs pp > 1, got pp = {0}",
                         p.pp));
    } else if (p.pp <= kMaxAxisSize && p.virtualStages >= 1 &&
               p.virtualStages <= kMaxVirtualStages) {
      // Both factors are bounded, so the product fits.
      int64_t want = p.pp * p.virtualStages - 1;
      if (static_cast<int64_t>(names.size()) != want)
        fail("stage_boundaries",
             llvm::formatv("names {0} layer{1}; pp x virtual_stages = {2} x "
                           "{3} stages need {4}",
                           names.size(), names.size() == 1 ? "" : "s", p.pp,
                           p.virtualStages, want));
    }
    checkNames("stage_boundaries", names, {}, fail);
  }
  if (p.recompute == Recompute::Layers && p.recomputeLayers.empty())
    fail("recompute",
         "names no layer; give none, selective, full or layer names");
  else if (p.recompute != Recompute::Layers && !p.recomputeLayers.empty())
    fail("recompute", llvm::formatv("is '{0}' and also names layers",
                                    stringify(p.recompute)));
  else
    checkNames("recompute", p.recomputeLayers, {"none", "selective", "full"},
               fail);
  return errors;
}
