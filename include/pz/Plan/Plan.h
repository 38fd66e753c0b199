//===- Plan.h - The parallel plan, its validation and its YAML form ------===//
//
// The plan is plain data with no MLIR dependency: the CLI, the YAML reader,
// the `#pz.plan` attribute and the planner all go through this one struct
// and this one validator, so every entry point applies the same rules.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_PLAN_PLAN_H
#define PZ_PLAN_PLAN_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::pz {

enum class Schedule { GPipe, OneFOneB, Interleaved, ZeroBubble };
enum class Recompute { None, Selective, Full };
enum class Precision { FP32, BF16, FP16 };

llvm::StringRef stringify(Schedule s);
llvm::StringRef stringify(Recompute r);
llvm::StringRef stringify(Precision p);
std::optional<Schedule> parseSchedule(llvm::StringRef s);
std::optional<Recompute> parseRecompute(llvm::StringRef s);
std::optional<Precision> parsePrecision(llvm::StringRef s);

/// A parallel plan. Field names follow the plan keys (see planKeys()).
struct Plan {
  int64_t dpReplicate = 1;
  int64_t dpShard = 1;
  int64_t zero = 0;
  int64_t tp = 1;
  bool sp = false;
  int64_t cp = 1;
  int64_t pp = 1;
  Schedule schedule = Schedule::OneFOneB;
  int64_t gradAccum = 1;
  int64_t virtualStages = 1;
  Recompute recompute = Recompute::None;
  Precision precision = Precision::FP32;

  /// dp_replicate x dp_shard x tp x cp x pp.
  int64_t worldSize() const { return dpReplicate * dpShard * tp * cp * pp; }
  bool operator==(const Plan &o) const;
};

/// One problem found in a plan: the key it concerns and why.
struct PlanError {
  std::string key;
  std::string message;
};

/// The plan keys in their canonical order. `microbatches` is accepted as an
/// alias of `grad_accum` and is not listed here.
llvm::ArrayRef<llvm::StringRef> planKeys();

/// The command-line flag of a plan key: `dp_replicate` -> `--dp-replicate`.
std::string flagForKey(llvm::StringRef key);

/// Every rule the plan breaks, in key order; empty when the plan is valid.
std::vector<PlanError> validatePlan(const Plan &plan);

/// Sets one key from its textual value (as written in YAML or on the command
/// line). Returns an error naming the key when the value does not parse.
std::optional<PlanError> setPlanKey(Plan &plan, llvm::StringRef key,
                                    llvm::StringRef value);

/// The textual value of one key.
std::string getPlanKey(const Plan &plan, llvm::StringRef key);

/// Parses a plan.yaml document and validates it. Errors read
/// `FILE:LINE:COL: plan key 'KEY': REASON`, one per line, all of them.
llvm::Expected<Plan> parsePlanYAML(llvm::StringRef text,
                                   llvm::StringRef fileName);

/// Writes the plan as YAML, every key, in canonical order.
std::string printPlanYAML(const Plan &plan);

} // namespace mlir::pz

#endif // PZ_PLAN_PLAN_H
