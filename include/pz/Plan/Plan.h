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
/// Activation recomputation: none, selective (the attention core), full
/// (all but the layer inputs) or Layers (full recompute of the layers
/// Plan::recomputeLayers names, nothing elsewhere).
enum class Recompute { None, Selective, Full, Layers };
enum class Precision { FP32, BF16, FP16 };

llvm::StringRef stringify(Schedule s);
/// "layers" for Recompute::Layers (the pass and pipeline option's mode; the
/// plan key holds the names instead).
llvm::StringRef stringify(Recompute r);
llvm::StringRef stringify(Precision p);
std::optional<Schedule> parseSchedule(llvm::StringRef s);
/// none, selective or full (a plan's recompute key is one of these or a
/// list of layer names).
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
  /// Layers that start a pipeline stage ("h.3": the stage begins at the
  /// first op reading a parameter "h.3.*"), pp x virtual_stages - 1 of them
  /// in program order; empty lets pz-split-stages balance the cuts by cost.
  std::vector<std::string> stageBoundaries;
  Recompute recompute = Recompute::None;
  /// With Recompute::Layers (plan key `recompute` given as a list, "h.0":
  /// the ops that read a parameter "h.0.*" and the ops between them), the
  /// layers recomputed in full: only each layer's input is kept. Empty
  /// otherwise.
  std::vector<std::string> recomputeLayers;
  Precision precision = Precision::FP32;
  /// The size cap of a gradient bucket of dp_replicate in MiB (DDP's
  /// bucket_cap_mb); 0 gives every gradient a bucket of its own.
  int64_t bucketMb = 25;

  /// dp_replicate x dp_shard x tp x cp x pp, or nullopt when the product
  /// overflows int64_t (only an unvalidated plan can get there).
  std::optional<int64_t> checkedWorldSize() const;
  /// The world size of a plan that validatePlan accepts (<= kMaxWorldSize).
  int64_t worldSize() const;
  /// The data-parallel ranks: dp_replicate x dp_shard (of a valid plan).
  int64_t dpSize() const { return dpReplicate * dpShard; }
  bool operator==(const Plan &o) const;
};

/// The bounds validatePlan enforces (README, "The plan"). They keep every
/// product of plan values, and the products the runtime forms with them
/// (global batch = micro-batch x grad_accum x dp ranks), far inside int64_t,
/// and the values the compiler emits inside the runtime's int32_t fields.
inline constexpr int64_t kMaxAxisSize = int64_t(1) << 16;     // each axis
inline constexpr int64_t kMaxWorldSize = int64_t(1) << 20;    // their product
inline constexpr int64_t kMaxGradAccum = int64_t(1) << 20;    // micro-batches
inline constexpr int64_t kMaxVirtualStages = int64_t(1) << 10; // per pp rank
inline constexpr int64_t kMaxBucketMb = int64_t(1) << 20;      // MiB per bucket

/// One problem found in a plan: the key it concerns and why.
struct PlanError {
  std::string key;
  std::string message;
};

/// Whether `key` may hold a list of strings: stage_boundaries, and
/// recompute (a mode, or the layers to recompute).
bool isListPlanKey(llvm::StringRef key);

/// Sets a list key from its items (a YAML sequence; setPlanKey splits the
/// textual form). recompute: an empty list is none.
void setPlanList(Plan &plan, llvm::StringRef key,
                 std::vector<std::string> items);

/// The plan keys in their canonical order. `microbatches` is accepted as an
/// alias of `grad_accum` and is not listed here.
llvm::ArrayRef<llvm::StringRef> planKeys();

/// The command-line flag of a plan key: `dp_replicate` -> `--dp-replicate`.
std::string flagForKey(llvm::StringRef key);

/// Every rule the plan breaks, in key order; empty when the plan is valid.
std::vector<PlanError> validatePlan(const Plan &plan);

/// Sets one key from its textual value (as written in YAML or on the command
/// line). Returns an error naming the key when the value does not parse.
/// A list key takes its items separated by commas, each trimmed:
/// stage_boundaries (an empty value is the empty list), recompute (none,
/// selective, full, or else layer names).
std::optional<PlanError> setPlanKey(Plan &plan, llvm::StringRef key,
                                    llvm::StringRef value);

/// The textual value of one key; a list key's items joined by commas (which
/// setPlanKey reads back: validatePlan refuses an item holding a comma).
std::string getPlanKey(const Plan &plan, llvm::StringRef key);

/// The most problems a plan.yaml report lists; the rest are counted.
inline constexpr size_t kMaxPlanErrors = 20;

/// Parses a plan.yaml document and validates it. Errors read
/// `FILE:LINE:COL: plan key 'KEY': REASON`, one per line, the first
/// kMaxPlanErrors of them, then `FILE: ... and N more errors`. The file holds
/// one YAML document: a flat mapping of plan keys to scalar values, or to a
/// sequence of scalars for a list key (stage_boundaries: [h.2, h.5],
/// recompute: [h.0, h.2]); nesting
/// is refused past kMaxNestingDepth levels without recursing into it.
llvm::Expected<Plan> parsePlanYAML(llvm::StringRef text,
                                   llvm::StringRef fileName);

/// Writes the plan as YAML, every key, in canonical order; a list as a flow
/// sequence (stage_boundaries `[]` when empty; recompute a list only for
/// Recompute::Layers), its items double-quoted unless plain.
std::string printPlanYAML(const Plan &plan);

} // namespace mlir::pz

#endif // PZ_PLAN_PLAN_H
