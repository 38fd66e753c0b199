//===- Report.cpp - OUTDIR/report.json ------------------------------------===//

#include "Report.h"

#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace mlir::pz;
namespace json = llvm::json;

static json::Object planObject(const Plan &p) {
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
                      {"recompute", stringify(p.recompute)},
                      {"precision", stringify(p.precision)},
                      {"bucket_mb", p.bucketMb}};
}

std::string mlir::pz::driver::planJSON(const Plan &plan) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << json::Value(planObject(plan));
  return s;
}

void mlir::pz::driver::writeReport(llvm::raw_ostream &os, llvm::StringRef model,
                                   const Plan &plan, const TrainProgramInfo &info) {
  json::Array ranks;
  for (int64_t r = 0; r < plan.worldSize(); ++r)
    ranks.push_back(json::Object{
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
        {"saved_activation_bytes", info.savedActivationBytes}});
  json::Object comm{{"all_reduce", 0},     {"all_gather", 0}, {"reduce_scatter", 0},
                    {"all_to_all", 0},     {"broadcast", 0},  {"send", 0}};
  for (const auto &[kind, bytes] : info.commBytesPerStep)
    comm[kind] = bytes;
  json::Object byReason;
  for (const auto &[reason, bytes] : info.commBytesPerStepByReason)
    byReason[reason] = bytes;
  json::Array collectives;
  for (const TrainProgramInfo::Collective &c : info.collectives) {
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
      {"backend", "cpu"},
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
      {"pipeline", json::Object{{"schedule", plan.pp > 1 ? stringify(plan.schedule) : "none"},
                                {"stages", plan.pp},
                                {"microbatches", plan.gradAccum}}},
      {"tensors", json::Object{{"parameters", static_cast<int64_t>(info.params.size())},
                               {"parameter_elements", info.paramBytes / 4},
                               {"optimizer_states", static_cast<int64_t>(info.states.size())},
                               {"inputs", static_cast<int64_t>(info.inputs.size())}}},
  };
  os << llvm::formatv("{0:2}", json::Value(std::move(report))) << "\n";
}
