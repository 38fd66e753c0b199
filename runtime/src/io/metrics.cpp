// JSON-lines metrics writer.
#include "pzrt/metrics.h"

#include "pzrt/arena.h"
#include "pzrt/comm.h"

#include "core/internal.h"
#include "io/json.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

using pzrt::fail;
namespace json = pzrt::json;

struct pzrt_metrics {
  FILE *f = nullptr;
  std::string path;
  uint64_t last[PZRT_COLL_KIND_COUNT] = {};
  std::map<std::string, uint64_t> lastByReason;
};

namespace {
void snapshot(uint64_t *out) {
  for (int k = 0; k < PZRT_COLL_KIND_COUNT; ++k)
    out[k] = pzrt_comm_bytes(static_cast<pzrt_coll_kind>(k));
}

// The bytes counted under each reason, over every collective kind.
std::map<std::string, uint64_t> snapshotReasons() {
  std::map<std::string, uint64_t> out;
  for (int i = 0, n = pzrt_comm_reason_count(); i < n; ++i) {
    const char *name = pzrt_comm_reason_name(i);
    if (!name)
      continue;
    uint64_t b = 0;
    for (int k = 0; k < PZRT_COLL_KIND_COUNT; ++k)
      b += pzrt_comm_reason_bytes(i, static_cast<pzrt_coll_kind>(k));
    out[name] += b;
  }
  return out;
}
} // namespace

extern "C" {

pzrt_metrics *pzrt_metrics_open(const char *path, int append) {
  if (!path) {
    fail("metrics: path is NULL");
    return nullptr;
  }
  FILE *f = std::fopen(path, append ? "a" : "w");
  if (!f) {
    fail("metrics: cannot open '%s': %s", path, std::strerror(errno));
    return nullptr;
  }
  auto *m = new pzrt_metrics();
  m->f = f;
  m->path = path;
  snapshot(m->last);
  m->lastByReason = snapshotReasons();
  return m;
}

int pzrt_metrics_write(pzrt_metrics *m, const pzrt_step_metrics *s) {
  if (!m || !s)
    return fail("metrics_write: NULL argument");
  json::Value extra;
  if (s->extra_json) {
    std::string err;
    if (!json::parse(s->extra_json, extra, err) || !extra.isObject())
      return fail("metrics_write: extra_json is not a JSON object%s%s", err.empty() ? "" : ": ",
                  err.c_str());
  }
  uint64_t now[PZRT_COLL_KIND_COUNT];
  snapshot(now);
  std::map<std::string, uint64_t> nowByReason = snapshotReasons();
  std::string line = "{\"step\":" + std::to_string(s->step);
  auto num = [&](const char *key, double v) {
    line += ",\"";
    line += key;
    line += "\":";
    json::appendNumber(line, v);
  };
  num("loss", s->loss);
  num("grad_norm", s->grad_norm);
  num("lr", s->lr);
  num("step_time_s", s->step_time_s);
  num("tokens_per_s", s->tokens_per_s);
  line += ",\"comm_bytes\":{";
  bool first = true;
  for (int k = 0; k < PZRT_COLL_KIND_COUNT; ++k) {
    if (k == PZRT_COLL_RECV || k == PZRT_COLL_BARRIER)
      continue; // they send no bytes
    uint64_t b = s->comm_bytes ? s->comm_bytes[k] : now[k] - m->last[k];
    line += first ? "\"" : ",\"";
    line += pzrt_coll_kind_name(static_cast<pzrt_coll_kind>(k));
    line += "\":" + std::to_string(b);
    first = false;
  }
  // By reason: the change since the previous line (a reset of the
  // counters in between starts from zero).
  line += "},\"comm_bytes_by_reason\":{";
  first = true;
  for (const auto &[name, total] : nowByReason) {
    auto it = m->lastByReason.find(name);
    uint64_t before = it != m->lastByReason.end() && it->second <= total ? it->second : 0;
    if (!first)
      line += ',';
    json::appendString(line, name);
    line += ':' + std::to_string(total - before);
    first = false;
  }
  line += "},\"peak_bytes\":" +
          std::to_string(s->peak_bytes ? s->peak_bytes : pzrt_mem_peak_total());
  for (const auto &kv : extra.members()) {
    line += ',';
    json::appendString(line, kv.first);
    line += ':' + json::dump(kv.second);
  }
  line += "}\n";
  std::memcpy(m->last, now, sizeof(now));
  m->lastByReason = std::move(nowByReason);
  if (std::fwrite(line.data(), 1, line.size(), m->f) != line.size() || std::fflush(m->f) != 0)
    return fail("metrics: cannot write '%s': %s", m->path.c_str(), std::strerror(errno));
  return 0;
}

void pzrt_metrics_close(pzrt_metrics *m) {
  if (!m)
    return;
  std::fclose(m->f);
  delete m;
}

} // extern "C"
