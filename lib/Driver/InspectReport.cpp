//===- InspectReport.cpp - parallelize inspect OUTDIR ---------------------===//
//
// What a compiled program does per step, read from OUTDIR/report.json (the
// emitter's own accounting, which the runtime's byte counters and memory
// peaks are tested against): every collective with its kind, grid axes,
// bytes, reason, source and tensors, totals per kind and per axis group;
// and the per-rank memory breakdown.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

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
    os << "\n";
  }
}
} // namespace

int mlir::pz::driver::inspectOutDir(llvm::StringRef dir, bool collectives, bool memory,
                                    bool asJson) {
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
  return kExitOk;
}
