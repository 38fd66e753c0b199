//===- Report.cpp - OUTDIR/report.json ------------------------------------===//

#include "Report.h"

#include "pz/Dialect/PZ/IR/PZDialect.h"
#include "pz/Plan/PipelineSchedule.h"

#include "llvm/Support/JSON.h"

#include <numeric>

using namespace mlir;
using namespace mlir::pz;
using mlir::pz::driver::RecomputeSavings;
namespace json = llvm::json;

static json::Object planObject(const Plan &p) {
  json::Array boundaries;
  for (const std::string &name : p.stageBoundaries)
    boundaries.push_back(name);
  json::Value recompute = stringify(p.recompute);
  if (p.recompute == Recompute::Layers) {
    json::Array names;
    for (const std::string &name : p.recomputeLayers)
      names.push_back(name);
    recompute = std::move(names);
  }
  return json::Object{{"dp_replicate", p.dpReplicate},
                      {"dp_shard", p.dpShard},
                      {"zero", p.zero},
                      {"tp", p.tp},
                      {"sp", p.sp},
                      {"cp", p.cp},
                      {"pp", p.pp},
                      {"schedule", stringify(p.schedule)},
                      {"grad_accum", p.gradAccum},
                      {"virtual_stages", p.virtualStages},
                      {"stage_boundaries", std::move(boundaries)},
                      {"recompute", std::move(recompute)},
                      {"precision", stringify(p.precision)},
                      {"bucket_mb", p.bucketMb}};
}

std::string mlir::pz::driver::planJSON(const Plan &plan) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << json::Value(planObject(plan));
  return s;
}

std::vector<RecomputeSavings> mlir::pz::driver::recomputeSavings(ModuleOp module) {
  std::vector<RecomputeSavings> out;
  auto add = [&](ModuleOp m) {
    auto bytes = m->getAttrOfType<IntegerAttr>(PZDialect::kRecomputedBytesAttrName);
    if (!bytes)
      return;
    RecomputeSavings s;
    s.bytes = bytes.getInt();
    if (auto d = m->getAttrOfType<DictionaryAttr>(PZDialect::kRecomputedBytesByLayerAttrName))
      for (NamedAttribute e : d)
        s.byLayer.push_back({e.getName().str(), llvm::cast<IntegerAttr>(e.getValue()).getInt()});
    out.push_back(std::move(s));
  };
  add(module);
  for (auto m : module.getOps<ModuleOp>())
    if (m->hasAttr(PZDialect::kStageAttrName))
      add(m);
  return out;
}

/// Adds what recompute saves (savings[k], none past the end) to `o`.
static void addSavings(json::Object &o, llvm::ArrayRef<RecomputeSavings> savings, size_t k) {
  RecomputeSavings none;
  const RecomputeSavings &s = k < savings.size() ? savings[k] : none;
  json::Object byLayer;
  for (const auto &[layer, bytes] : s.byLayer)
    byLayer[layer] = bytes;
  o["recomputed_bytes"] = s.bytes;
  o["recomputed_bytes_by_layer"] = std::move(byLayer);
}

/// The bytes one step sends by reason.
static json::Object byReasonObject(const TrainProgramInfo &info) {
  json::Object byReason;
  for (const auto &[reason, bytes] : info.commBytesPerStepByReason)
    byReason[reason] = bytes;
  return byReason;
}

/// The schedule and, per stage, its cost, slots, saved set, traffic and
/// order of work; the schedule's predicted bubble ((p - 1) / (m + p - 1)
/// for GPipe and 1F1B, (p - 1) / (3m + p - 1) for ZB-H1 with m >= p).
static json::Object pipelineObject(const Plan &plan, const TrainProgramInfo &info,
                                   llvm::ArrayRef<RecomputeSavings> savings) {
  json::Object o{{"schedule", plan.pp > 1 ? stringify(plan.schedule) : "none"},
                 {"stages", plan.pp},
                 {"microbatches", plan.gradAccum}};
  if (info.stages.empty())
    return o;
  // The schedule's own bubble: its orders run with equal stage costs (B
  // twice F; under zb, B and W each as F), the mean idle fraction.
  // Interleaved: the ranks' merged tables, each chunk 1 / v of a stage.
  std::vector<std::vector<StageAction>> orders;
  std::vector<double> costs;
  if (plan.schedule == Schedule::Interleaved) {
    for (int64_t r = 0; r < plan.pp; ++r)
      orders.push_back(
          pipelineSchedule(plan.schedule, plan.pp, r, plan.gradAccum, plan.virtualStages));
    costs.assign(static_cast<size_t>(plan.pp * plan.virtualStages),
                 1.0 / static_cast<double>(plan.virtualStages));
  } else {
    for (const TrainProgramInfo &s : info.stages)
      if (std::optional<std::vector<StageAction>> order = parseComputeOrder(s.computeOrder))
        orders.push_back(std::move(*order));
    costs.assign(orders.size(), 1.0);
  }
  if (std::optional<PipelineTimeline> tl = simulatePipeline(orders, costs))
    o["predicted_bubble"] = std::accumulate(tl->idleFraction.begin(), tl->idleFraction.end(), 0.0) /
                            static_cast<double>(tl->idleFraction.size());
  json::Array stages;
  for (const TrainProgramInfo &s : info.stages) {
    json::Object stage{{"stage", s.stage},
                       {"rank_coordinate", s.stage % plan.pp},
                       {"chunk", s.stage / plan.pp},
                       {"flops_per_micro_batch", s.stageFlops},
                       {"parameters", static_cast<int64_t>(s.params.size())},
                       {"slots", s.slots},
                       {"saved_bytes_per_micro_batch", s.savedBytes},
                       {"weight_slots", s.weightSlots},
                       {"weight_saved_bytes_per_micro_batch", s.weightSavedBytes},
                       {"peak_bytes", s.peakBytes},
                       {"bytes_per_step_by_reason", byReasonObject(s)},
                       {"order", s.computeOrder}};
    addSavings(stage, savings, static_cast<size_t>(s.stage));
    stages.push_back(std::move(stage));
  }
  o["per_stage"] = std::move(stages);
  return o;
}

/// What the ranks of pp coordinate `coord` hold: the programs of the
/// stages coord, coord + pp, ... (one without interleaving), their bytes and
/// traffic added up.
static TrainProgramInfo rankOfChunks(const std::vector<TrainProgramInfo> &stages, int64_t pp,
                                     int64_t coord) {
  TrainProgramInfo sum = stages[static_cast<size_t>(coord)];
  for (size_t k = static_cast<size_t>(coord + pp); k < stages.size();
       k += static_cast<size_t>(pp)) {
    const TrainProgramInfo &s = stages[k];
    for (int64_t TrainProgramInfo::*f :
         {&TrainProgramInfo::paramBytes, &TrainProgramInfo::gradBytes,
          &TrainProgramInfo::stateBytes, &TrainProgramInfo::arenaBytes,
          &TrainProgramInfo::workspaceBytes, &TrainProgramInfo::dataBytes,
          &TrainProgramInfo::peakBytes, &TrainProgramInfo::savedBytes})
      sum.*f += s.*f;
    sum.arenaPeakBytes += s.arenaPeakBytes;
    for (const auto &[kind, bytes] : s.commBytesPerStep)
      sum.commBytesPerStep[kind] += bytes;
    for (const auto &[reason, bytes] : s.commBytesPerStepByReason)
      sum.commBytesPerStepByReason[reason] += bytes;
    sum.collectives.insert(sum.collectives.end(), s.collectives.begin(), s.collectives.end());
  }
  return sum;
}

std::vector<TrainProgramInfo>
mlir::pz::driver::programsPerPipelineRank(const Plan &plan, const TrainProgramInfo &info) {
  if (info.stages.empty())
    return {info};
  std::vector<TrainProgramInfo> perCoord;
  for (int64_t c = 0; c < plan.pp; ++c)
    perCoord.push_back(rankOfChunks(info.stages, plan.pp, c));
  return perCoord;
}

std::string mlir::pz::driver::ranksOverMemoryLimit(const Plan &plan, const TrainProgramInfo &info,
                                                   int64_t limit) {
  std::string out;
  llvm::raw_string_ostream os(out);
  std::vector<TrainProgramInfo> perCoord = programsPerPipelineRank(plan, info);
  const int64_t perStage = plan.worldSize() / std::max<int64_t>(plan.pp, 1);
  for (auto [c, p] : llvm::enumerate(perCoord)) {
    if (p.peakBytes <= limit)
      continue;
    int64_t first = static_cast<int64_t>(c) * perStage;
    if (perStage == 1)
      os << "  rank " << first;
    else
      os << "  ranks " << first << ".." << first + perStage - 1;
    if (!info.stages.empty())
      os << " (pp coordinate " << c << ")";
    os << (perStage == 1 ? " needs " : " need ") << p.peakBytes << " bytes, " << p.peakBytes - limit
       << " over the limit: parameters " << p.paramBytes << ", gradients " << p.gradBytes
       << ", optimizer state " << p.stateBytes << ", activations " << p.arenaBytes
       << ", workspace " << p.workspaceBytes << ", data " << p.dataBytes << "\n";
  }
  return out;
}

void mlir::pz::driver::writeReport(llvm::raw_ostream &os, llvm::StringRef model,
                                   const Plan &plan, const TrainProgramInfo &info,
                                   llvm::ArrayRef<RecomputeSavings> savings,
                                   const ReportTarget &target) {
  json::Array ranks;
  // A pipeline's ranks hold their stage's program (pp is the outermost
  // axis); interleaved, the programs of their chunks, added up.
  std::vector<TrainProgramInfo> perCoord = programsPerPipelineRank(plan, info);
  auto stageOf = [&](int64_t r) -> const TrainProgramInfo & {
    return info.stages.empty() ? info : perCoord[r / (plan.worldSize() / plan.pp)];
  };
  for (int64_t r = 0; r < plan.worldSize(); ++r) {
    const TrainProgramInfo &info = stageOf(r);
    json::Object rank{
        {"rank", r},
        {"peak_bytes", info.peakBytes},
        {"breakdown",
         json::Object{{"parameters", info.paramBytes},
                      {"gradients", info.gradBytes},
                      {"optimizer_state", info.stateBytes},
                      {"activations", info.arenaBytes},
                      {"workspace", info.workspaceBytes},
                      {"data", info.dataBytes}}},
        {"arena", json::Object{{"bytes", info.arenaBytes},
                               {"peak_live_bytes", info.arenaPeakBytes}}},
        {"saved_activation_bytes",
         info.stage >= 0 ? info.savedBytes : info.savedActivationBytes}};
    addSavings(rank, savings, static_cast<size_t>(std::max<int64_t>(info.stage, 0)));
    ranks.push_back(std::move(rank));
  }
  json::Object comm{{"all_reduce", 0},     {"all_gather", 0}, {"reduce_scatter", 0},
                    {"all_to_all", 0},     {"broadcast", 0},  {"send", 0}};
  // Rank 0's traffic (all its chunks').
  const TrainProgramInfo &first = stageOf(0);
  for (const auto &[kind, bytes] : first.commBytesPerStep)
    comm[kind] = bytes;
  json::Object byReason;
  for (const auto &[reason, bytes] : first.commBytesPerStepByReason)
    byReason[reason] = bytes;
  json::Array collectives;
  for (const TrainProgramInfo::Collective &c : first.collectives) {
    json::Array axes, tensors;
    for (const std::string &a : c.axes)
      axes.push_back(a);
    for (const std::string &t : c.tensors)
      tensors.push_back(t);
    collectives.push_back(json::Object{{"function", c.function},
                                       {"micro_batch", c.microBatch},
                                       {"kind", c.kind},
                                       {"axes", std::move(axes)},
                                       {"bytes", c.bytes},
                                       {"reason", c.reason},
                                       {"source", c.source},
                                       {"tensors", std::move(tensors)}});
  }
  json::Object report{
      {"model", model},
      {"backend", target.backend},
      {"world_size", plan.worldSize()},
      {"plan", planObject(plan)},
      {"memory",
       json::Object{
           {"per_rank", std::move(ranks)},
           {"notes", "peak_bytes is the high-water mark of everything the runtime allocates: "
                     "parameters, gradients, optimizer state, the activation arena (its full "
                     "size), data buffers, gradient accumulators and the step's scalar slots (workspace)."}}},
      {"communication",
       json::Object{{"bytes_per_step", std::move(comm)},
                    {"bytes_per_step_by_reason", std::move(byReason)},
                    {"collectives", std::move(collectives)},
                    {"notes", "bytes one rank sends per step in the compiled program's "
                              "collectives, counted as the runtime counts them (ring "
                              "all-reduce 2(n-1)/n x S); the driver's own agreement "
                              "between ranks (the loss average, the numerics flag) is "
                              "not counted"}}},
      {"pipeline", pipelineObject(plan, info, savings)},
      {"tensors", json::Object{{"parameters", static_cast<int64_t>(info.params.size())},
                               {"parameter_elements", info.paramBytes / 4},
                               {"optimizer_states", static_cast<int64_t>(info.states.size())},
                               {"inputs", static_cast<int64_t>(info.inputs.size())}}},
  };
  if (target.backend == "cuda") {
    report["gpu_arch"] = target.gpuArch;
    report["emulated"] = target.emulated;
  }
  os << llvm::formatv("{0:2}", json::Value(std::move(report))) << "\n";
}
