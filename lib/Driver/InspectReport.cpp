//===- InspectReport.cpp - parallelize inspect OUTDIR ---------------------===//
//
// What a compiled program does per step, read from OUTDIR/report.json (the
// emitter's own accounting, which the runtime's byte counters and memory
// peaks are tested against): every collective with its kind, grid axes,
// bytes, reason, source and tensors, totals per kind and per axis group;
// the per-rank memory breakdown; and a pipeline's step simulated with the
// cost model's durations (simulatePipeline), stage by stage.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "pz/Plan/PipelineSchedule.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace mlir::pz::driver;
namespace json = llvm::json;

namespace {
std::string joined(const json::Array *a, llvm::StringRef sep) {
  std::string s;
  if (!a)
    return s;
  for (const json::Value &v : *a)
    if (auto str = v.getAsString())
      s += (s.empty() ? "" : sep.str()) + str->str();
  return s;
}

void printCollectives(const json::Object &comm, bool asJson, llvm::raw_ostream &os) {
  const json::Array *list = comm.getArray("collectives");
  std::map<std::string, int64_t> perKind, perAxes;
  int64_t total = 0;
  for (const json::Value &v : list ? *list : json::Array()) {
    const json::Object *c = v.getAsObject();
    if (!c)
      continue; // not ours: report.json lists objects
    int64_t bytes = c->getInteger("bytes").value_or(0);
    perKind[c->getString("kind").value_or("").str()] += bytes;
    perAxes[joined(c->getArray("axes"), "+")] += bytes;
    total += bytes;
  }
  if (asJson) {
    json::Object kinds, axes;
    for (auto &[k, b] : perKind)
      kinds[k] = b;
    for (auto &[k, b] : perAxes)
      axes[k] = b;
    os << llvm::formatv("{0:2}", json::Value(json::Object{
                                     {"collectives", list ? json::Value(json::Array(*list)) : json::Value(json::Array())},
                                     {"bytes_per_kind", std::move(kinds)},
                                     {"bytes_per_axes", std::move(axes)},
                                     {"bytes_per_step", total}}))
       << "\n";
    return;
  }
  size_t count = list ? list->size() : 0;
  os << "collectives of one step: " << count << " (bytes sent per rank)\n";
  if (count)
    os << llvm::formatv("  {0,-3} {1,-18} {2,-3} {3,-15} {4,-22} {5,12}  {6,-26} {7}\n", "#",
                        "function", "mb", "kind", "axes", "bytes", "reason", "source");
  int i = 0;
  for (const json::Value &v : list ? *list : json::Array()) {
    const json::Object *c = v.getAsObject();
    if (!c)
      continue;
    std::string tensors = joined(c->getArray("tensors"), ", ");
    os << llvm::formatv("  {0,-3} {1,-18} {2,-3} {3,-15} {4,-22} {5,12}  {6,-26} {7}{8}\n", ++i,
                        c->getString("function").value_or(""),
                        c->getInteger("micro_batch").value_or(0),
                        c->getString("kind").value_or(""), joined(c->getArray("axes"), "+"),
                        c->getInteger("bytes").value_or(0), c->getString("reason").value_or(""),
                        c->getString("source").value_or(""),
                        tensors.empty() ? "" : " [" + tensors + "]");
  }
  os << "bytes per kind:";
  for (auto &[k, b] : perKind)
    os << " " << k << " " << b;
  os << (perKind.empty() ? " none" : "") << "\nbytes per axes:";
  for (auto &[k, b] : perAxes)
    os << " " << k << " " << b;
  os << (perAxes.empty() ? " none" : "") << "\ntotal bytes per step: " << total << "\n";
}

void printMemory(const json::Object &memory, bool asJson, llvm::raw_ostream &os) {
  const json::Array *ranks = memory.getArray("per_rank");
  if (asJson) {
    os << llvm::formatv("{0:2}", json::Value(json::Object{
                                     {"per_rank", ranks ? json::Value(json::Array(*ranks)) : json::Value(json::Array())}}))
       << "\n";
    return;
  }
  os << "memory per rank (bytes; the measured peak equals the plan):\n";
  for (const json::Value &v : ranks ? *ranks : json::Array()) {
    const json::Object *r = v.getAsObject();
    if (!r)
      continue;
    os << "  rank " << r->getInteger("rank").value_or(0) << ": peak "
       << r->getInteger("peak_bytes").value_or(0) << " =";
    if (const json::Object *b = r->getObject("breakdown"))
      for (const char *k :
           {"parameters", "gradients", "optimizer_state", "activations", "workspace", "data"})
        os << " " << k << " " << b->getInteger(k).value_or(0);
    if (std::optional<int64_t> kept = r->getInteger("saved_activation_bytes"))
      os << "; kept for the backward pass " << *kept << " per micro-batch";
    const json::Object *byLayer = r->getObject("recomputed_bytes_by_layer");
    std::optional<int64_t> recomputed = r->getInteger("recomputed_bytes");
    if ((recomputed && *recomputed) || (byLayer && !byLayer->empty())) {
      os << " (" << recomputed.value_or(0) << " fewer with recompute";
      // The listed layers in name order (json::Object is unordered).
      std::vector<std::pair<std::string, int64_t>> layers;
      for (const auto &[name, bytes] : byLayer ? *byLayer : json::Object())
        layers.push_back({name.str(), bytes.getAsInteger().value_or(0)});
      llvm::sort(layers);
      for (auto [i, layer] : llvm::enumerate(layers))
        os << (i ? ", " : ": ") << layer.first << " " << layer.second;
      os << ")";
    }
    os << "\n";
  }
}
/// `--schedule`: each stage's forwards and backwards of one step as a row
/// of time columns, simulated with the cost model's durations (a forward
/// takes the stage's FLOPs per micro-batch / 3, a backward twice that),
/// the simulated idle fraction per stage and the formula's bubble.
/// Per stage, the mean over its ranks of the durations in `path` (the rows
/// of scripts/pptrace.py --json), in ms; an error names the file. With
/// `perChunk` (interleaved), per global stage from the rows' "stages"
/// ({"g": {forward_ms, backward_ms}}: a rank runs several chunks).
/// `transfer`: the mean of the rows' `transfer_ms` (a message's time from
/// its send to its arrival), 0 without any. The rows' "after" (the
/// runtime's own time after each kind of action) go to busyAfter and
/// idleAfter.
llvm::Expected<std::vector<mlir::pz::StageTimes>>
readStageTimes(llvm::StringRef path, int64_t stages, int64_t worldSize, bool perChunk,
               double &transfer) {
  auto fail = [&](const llvm::Twine &why) {
    return llvm::createStringError("--stage-times '" + path + "': " + why);
  };
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf)
    return fail(buf.getError().message());
  llvm::Expected<json::Value> rows = json::parse((*buf)->getBuffer());
  if (!rows)
    return fail(llvm::toString(rows.takeError()));
  const json::Array *list = rows->getAsArray();
  if (!list)
    return fail("not a JSON array of scripts/pptrace.py --json rows");
  std::vector<mlir::pz::StageTimes> times(stages, {0, 0, 0});
  std::vector<int> count(stages, 0);
  // Adds one triple of durations to stage g; false when it is not valid.
  auto add = [&](int64_t g, const json::Object *t) {
    std::optional<double> f = t ? t->getNumber("forward_ms") : std::nullopt;
    std::optional<double> b = t ? t->getNumber("backward_ms") : std::nullopt;
    if (g < 0 || g >= stages || !f || !b || *f <= 0 || *b < 0)
      return false;
    times[g].forward += *f;
    times[g].backward += *b;
    times[g].weight += t->getNumber("weight_backward_ms").value_or(0);
    ++count[g];
    return true;
  };
  int64_t perStage = std::max<int64_t>(worldSize / stages, 1);
  double transferSum = 0;
  int transfers = 0;
  // The runtime's time after each action (the rows' "after"), per stage.
  std::vector<mlir::pz::StageTimes> after(stages, {0, 0, 0});
  std::vector<int> afterCount(stages, 0);
  auto addAfter = [&](int64_t g, const json::Object *r) {
    const json::Object *a = r ? r->getObject("after") : nullptr;
    if (!a || g < 0 || g >= stages)
      return;
    static const char *const kinds[] = {"forward", "backward", "weight_backward"};
    for (int k = 0; k < 3; ++k)
      if (const json::Object *o = a->getObject(kinds[k])) {
        after[g].busyAfter[k] += std::max(o->getNumber("busy_ms").value_or(0), 0.0);
        after[g].idleAfter[k] += std::max(o->getNumber("idle_ms").value_or(0), 0.0);
      }
    ++afterCount[g];
  };
  for (auto [i, v] : llvm::enumerate(*list)) {
    const json::Object *r = v.getAsObject();
    if (std::optional<double> t = r ? r->getNumber("transfer_ms") : std::nullopt) {
      if (*t < 0)
        return fail("row " + llvm::Twine(i) + ": transfer_ms is negative");
      if (*t > 0) {
        transferSum += *t;
        ++transfers;
      }
    }
    if (!perChunk) {
      std::optional<int64_t> rank = r ? r->getInteger("rank") : std::nullopt;
      if (!rank || *rank < 0 || *rank >= worldSize || !add(*rank / perStage, r))
        return fail("row " + llvm::Twine(i) +
                    " needs a rank of the program, a positive forward_ms and a backward_ms");
      addAfter(*rank / perStage, r);
      continue;
    }
    const json::Object *per = r ? r->getObject("stages") : nullptr;
    if (!per)
      return fail("row " + llvm::Twine(i) + " has no per-stage durations (\"stages\")");
    for (const auto &[key, value] : *per) {
      int64_t g = -1;
      if (llvm::StringRef(key).getAsInteger(10, g) || !add(g, value.getAsObject()))
        return fail("row " + llvm::Twine(i) + ", stage '" + key.str() +
                    "': needs a stage of the program, a positive forward_ms and a backward_ms");
      addAfter(g, r); // the rank's time after an action, for each of its chunks
    }
  }
  for (int64_t s = 0; s < stages; ++s) {
    if (!count[s])
      return fail(perChunk ? "no durations of stage " + llvm::Twine(s)
                           : "no row for a rank of stage " + llvm::Twine(s));
    times[s] = {times[s].forward / count[s], times[s].backward / count[s],
                times[s].weight / count[s]};
    for (int k = 0; k < 3 && afterCount[s]; ++k) {
      times[s].busyAfter[k] = after[s].busyAfter[k] / afterCount[s];
      times[s].idleAfter[k] = after[s].idleAfter[k] / afterCount[s];
    }
  }
  transfer = transfers ? transferSum / transfers : 0.0;
  return times;
}

int printSchedule(const json::Object *pipeline, bool asJson, llvm::raw_ostream &os,
                  llvm::StringRef stageTimes = "", int64_t worldSize = 1) {
  const json::Array *perStage = pipeline ? pipeline->getArray("per_stage") : nullptr;
  if (!perStage || perStage->empty()) {
    if (asJson)
      os << llvm::formatv("{0:2}", json::Value(json::Object{{"schedule", "none"}})) << "\n";
    else
      os << "no pipeline: the program was compiled without --pp\n";
    return kExitOk;
  }
  std::vector<std::vector<mlir::pz::StageAction>> orders;
  std::vector<double> forward;
  for (const json::Value &v : *perStage) {
    const json::Object *st = v.getAsObject();
    auto order = mlir::pz::parseComputeOrder(st ? st->getString("order").value_or("") : "");
    std::optional<int64_t> flops = st ? st->getInteger("flops_per_micro_batch") : std::nullopt;
    if (!order || !flops || *flops < 0) {
      printError("inspect", "report.json: pipeline stage " + std::to_string(orders.size()) +
                                " has no valid order and flops_per_micro_batch");
      return kExitUser;
    }
    orders.push_back(std::move(*order));
    forward.push_back(static_cast<double>(*flops) / 3.0);
  }
  // Interleaved: per_stage holds the p x v chunks (global stages); each
  // rank runs its chunks from one table, which the plan determines.
  llvm::StringRef scheduleName = pipeline->getString("schedule").value_or("?");
  const bool interleaved = scheduleName == "interleaved";
  if (interleaved) {
    int64_t p = pipeline->getInteger("stages").value_or(0);
    int64_t m = pipeline->getInteger("microbatches").value_or(0);
    int64_t n = static_cast<int64_t>(orders.size());
    if (p < 1 || n % p != 0 || m < 1) {
      printError("inspect", "report.json: an interleaved pipeline needs stages (pp) dividing "
                            "the per_stage entries and microbatches");
      return kExitUser;
    }
    orders.clear();
    for (int64_t r = 0; r < p; ++r)
      orders.push_back(mlir::pz::pipelineSchedule(mlir::pz::Schedule::Interleaved, p, r, m, n / p));
  }
  // One unit: the shortest forward (all stages cost one unit when the
  // model gave no FLOPs).
  double unit = *std::min_element(forward.begin(), forward.end());
  if (unit <= 0) {
    unit = 1;
    std::fill(forward.begin(), forward.end(), 1.0);
  }
  // Measured durations: one unit is 1 ms; and the measured transfer time.
  std::vector<mlir::pz::StageTimes> measured;
  double transfer = 0;
  if (!stageTimes.empty()) {
    auto times = readStageTimes(
        stageTimes, static_cast<int64_t>(interleaved ? forward.size() : orders.size()), worldSize,
        interleaved, transfer);
    if (!times) {
      printError("inspect", llvm::toString(times.takeError()));
      return kExitUser;
    }
    measured = std::move(*times);
    unit = 1;
    for (auto [f, t] : llvm::zip(forward, measured))
      f = t.forward;
  }
  std::optional<mlir::pz::PipelineTimeline> tl =
      measured.empty() ? mlir::pz::simulatePipeline(orders, forward)
                       : mlir::pz::simulatePipeline(orders, measured, transfer);
  auto backwardOf = [&](size_t s) {
    return measured.empty() ? 2 * forward[s] / unit : measured[s].backward + measured[s].weight;
  };
  // A row's forward and backward: its stage's, or (interleaved) the sum of
  // its rank's chunks'.
  auto rowCosts = [&](size_t row) {
    double f = 0, b = 0;
    for (size_t g = row; g < forward.size(); g += tl->stages.size()) {
      f += forward[g] / unit;
      b += backwardOf(g);
    }
    return std::make_pair(f, b);
  };
  if (!tl) {
    printError("inspect", "report.json: the pipeline stages' orders deadlock");
    return kExitUser;
  }
  int64_t p = pipeline->getInteger("stages").value_or(static_cast<int64_t>(orders.size()));
  int64_t m = pipeline->getInteger("microbatches").value_or(0);
  double bubble = pipeline->getNumber("predicted_bubble").value_or(
      static_cast<double>(p - 1) / static_cast<double>(std::max<int64_t>(m + p - 1, 1)));
  llvm::StringRef schedule = pipeline->getString("schedule").value_or("?");
  auto label = [](const mlir::pz::TimedAction &t) {
    return mlir::pz::computeOrder({t.action});
  };
  if (asJson) {
    json::Array stages;
    for (size_t s = 0; s < tl->stages.size(); ++s) {
      json::Array actions;
      for (const mlir::pz::TimedAction &t : tl->stages[s])
        actions.push_back(
            json::Object{{"action", label(t)}, {"start", t.start / unit}, {"end", t.end / unit}});
      auto [f, b] = rowCosts(s);
      stages.push_back(json::Object{{interleaved ? "rank" : "stage", static_cast<int64_t>(s)},
                                    {"forward", f},
                                    {"backward", b},
                                    {"idle_fraction", tl->idleFraction[s]},
                                    {"actions", std::move(actions)}});
    }
    os << llvm::formatv("{0:2}", json::Value(json::Object{{"schedule", schedule},
                                                         {"stages", p},
                                                         {"microbatches", m},
                                                         {"unit_flops", measured.empty() ? unit : 0.0},
                                                         {"durations", measured.empty() ? "cost model" : "measured (ms)"},
                                                         {"transfer_ms", transfer},
                                                         {"makespan", tl->makespan / unit},
                                                         {"predicted_bubble", bubble},
                                                         {"per_stage", std::move(stages)}}))
       << "\n";
    return kExitOk;
  }
  // A column per unit, or wider when the step would take over 160.
  double makespan = tl->makespan / unit, perColumn = 1;
  constexpr int64_t kMaxColumns = 160;
  int64_t columns = static_cast<int64_t>(std::ceil(makespan - 1e-9));
  if (columns > kMaxColumns) {
    perColumn = makespan / kMaxColumns;
    columns = kMaxColumns;
  }
  size_t width = 0, digits = std::to_string(tl->stages.size() - 1).size();
  for (const auto &st : tl->stages)
    for (const mlir::pz::TimedAction &t : st)
      width = std::max(width, label(t).size());
  std::string columnText = perColumn == 1 ? std::string("unit")
                                           : llvm::formatv("{0:f2} units", perColumn).str();
  os << "pipeline schedule " << schedule << ": " << p << " stages, " << m << " micro-batches; ";
  if (!measured.empty()) {
    os << "durations measured (" << stageTimes << ")"
       << (transfer > 0 ? llvm::formatv(", transfers {0:f3} ms each", transfer).str() : "")
       << "\n1 unit = 1 ms; one column per " << columnText << "\n";
  } else {
    os << "forward = FLOPs / 3, backward = 2 x forward"
       << (schedule == "zb" ? " (B and W: one forward each)" : "") << "\n";
    size_t shortest = std::min_element(forward.begin(), forward.end()) - forward.begin();
    os << llvm::formatv("1 unit = stage {0}'s forward ({1:f0} FLOPs); one column per {2}\n",
                        shortest, unit, columnText);
  }
  for (size_t s = 0; s < tl->stages.size(); ++s) {
    std::string index = std::to_string(s);
    std::string line = (interleaved ? "  rank " : "  stage ") + index +
                       std::string(digits - index.size(), ' ') + " |";
    const std::vector<mlir::pz::TimedAction> &row = tl->stages[s];
    size_t k = 0;
    for (int64_t c = 0; c < columns; ++c) {
      // The action running in the middle of the column, if any.
      double t = (static_cast<double>(c) + 0.5) * perColumn * unit;
      while (k < row.size() && row[k].end <= t)
        ++k;
      std::string cell = k < row.size() && row[k].start <= t ? label(row[k]) : ".";
      line += (c ? " " : "") + cell + std::string(width - cell.size(), ' ');
    }
    os << llvm::StringRef(line).rtrim() << "\n";
  }
  // Interleaved: a rank's row adds up its chunks' costs.
  os << (interleaved ? "   rank" : "  stage") << "  forward  backward  idle (simulated)\n";
  for (size_t s = 0; s < tl->stages.size(); ++s) {
    auto [f, b] = rowCosts(s);
    os << llvm::formatv("  {0,5}  {1,7:f2}  {2,8:f2}  {3:f3}\n", s, f, b, tl->idleFraction[s]);
  }
  os << llvm::formatv("makespan: {0:f2} units; predicted bubble (the schedule with equal stage "
                      "costs): {1:f3}\n",
                      makespan, bubble);
  return kExitOk;
}
} // namespace

int mlir::pz::driver::inspectOutDir(llvm::StringRef dir, bool collectives, bool memory,
                                    bool schedule, bool asJson, llvm::StringRef stageTimes) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "report.json");
  auto buf = llvm::MemoryBuffer::getFile(path);
  if (!buf) {
    printError("inspect", "'" + dir + "' is a directory without report.json (" +
                              buf.getError().message() + "); give a compiled OUTDIR or a MODEL");
    return kExitUser;
  }
  llvm::Expected<json::Value> report = json::parse((*buf)->getBuffer());
  const json::Object *root = report ? report->getAsObject() : nullptr;
  const json::Object *comm = root ? root->getObject("communication") : nullptr;
  const json::Object *mem = root ? root->getObject("memory") : nullptr;
  if (!comm || !mem) {
    if (!report)
      llvm::consumeError(report.takeError());
    printError("inspect", "'" + path + "' is not a report.json of parallelize compile");
    return kExitUser;
  }
  if (schedule && !collectives && !memory)
    return printSchedule(root->getObject("pipeline"), asJson, llvm::outs(), stageTimes,
                         root->getInteger("world_size").value_or(1));
  if (!stageTimes.empty()) {
    printError("inspect", "--stage-times goes with --schedule alone");
    return kExitUser;
  }
  if (!collectives && !memory) {
    collectives = memory = true;
    if (!asJson)
      llvm::outs() << "program: " << dir << " (world size "
                   << root->getInteger("world_size").value_or(1) << ")\n";
  }
  if (collectives)
    printCollectives(*comm, asJson, llvm::outs());
  if (memory)
    printMemory(*mem, asJson, llvm::outs());
  if (schedule)
    return printSchedule(root->getObject("pipeline"), asJson, llvm::outs());
  return kExitOk;
}
