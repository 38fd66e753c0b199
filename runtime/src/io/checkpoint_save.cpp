// Collective checkpoint saving: per-rank safetensors, index.json with
// checksums, and the crash-safe replacement of ckpt_dir.h.
#include "pzrt/checkpoint.h"
#include "pzrt/error.h"

#include "comm/comm_impl.h"
#include "core/checked.h"
#include "core/internal.h"
#include "io/ckpt_common.h"
#include "io/ckpt_dir.h"
#include "io/fsutil.h"
#include "io/json.h"
#include "io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

using pzrt::fail;
namespace json = pzrt::json;
namespace ckpt = pzrt::ckpt;

namespace {

struct Pending {
  std::string name;
  pzrt_dtype dtype;
  std::vector<int64_t> shape, offsets, extents;
  const void *data;
};

json::Value intArray(const std::vector<int64_t> &v) {
  json::Value a = json::Value::array();
  for (int64_t x : v)
    a.push(x);
  return a;
}

// True on every rank iff ok on every rank. The synchronisation is not counted.
bool agree(pzrt_comm *comm, bool ok) {
  if (!comm || comm->size == 1)
    return ok;
  int64_t bad = ok ? 0 : 1;
  comm->allReduce(&bad, &bad, 1, PZRT_I64, PZRT_REDUCE_MAX);
  return bad == 0;
}

int parseObject(const char *text, const char *what, json::Value &out) {
  std::string err;
  if (!text) {
    out = json::Value::object();
    return 0;
  }
  if (!json::parse(text, out, err))
    return fail("checkpoint: the %s is not valid JSON: %s", what, err.c_str());
  if (!out.isObject())
    return fail("checkpoint: the %s must be a JSON object", what);
  return 0;
}

} // namespace

struct pzrt_ckpt_writer {
  std::string dir;
  pzrt_comm *comm = nullptr;
  int rank = 0, world = 1;
  int keepLast = 0; // 0: keep only DIR and leave DIR.step-* alone
  std::vector<Pending> tensors;

  int writeRankFile(const std::string &tmp, uint32_t &crc, uint64_t &bytes) const;
  int prepareTmp(const std::string &tmp, int64_t step) const;
  int writeIndex(const std::string &tmp, const pzrt_ckpt_info &info,
                 const std::vector<int64_t> &sums) const;
  int install(const std::string &tmp, int64_t step) const;
  void disposeOld(const std::string &old, int64_t oldStep) const;
  void cleanUp(int64_t step) const;
};

int pzrt_ckpt_writer::writeRankFile(const std::string &tmp, uint32_t &crc,
                                    uint64_t &bytes) const {
  std::vector<pzrt::StTensor> sts;
  json::Value slices = json::Value::object();
  for (const Pending &p : tensors) {
    pzrt::StTensor t;
    t.name = p.name;
    t.dtype = p.dtype;
    t.shape = p.extents;
    t.data = p.data;
    sts.push_back(std::move(t));
    json::Value s = json::Value::object();
    s.set("global_shape", intArray(p.shape));
    s.set("offsets", intArray(p.offsets));
    slices.set(p.name, std::move(s));
  }
  return pzrt::writeSafetensors(tmp + "/" + ckpt::rankFileName(rank), sts,
                                {{"format", "pt"}, {"pzrt", json::dump(slices)}}, &crc, &bytes);
}

// Rank 0: checks DIR once more, clears a leftover temporary directory of an
// earlier attempt at this step (only if it is recognisably ours) and creates
// the temporary directory with its marker.
int pzrt_ckpt_writer::prepareTmp(const std::string &tmp, int64_t step) const {
  if (ckpt::checkSaveTarget(dir))
    return pzrt::failStr(std::string("checkpoint: ") + pzrt_last_error());
  // A crash between the fallback's two renames left no DIR: first finish
  // that install (the newest complete leftover of ours becomes DIR), so that
  // clearing the temporary directory below never removes the only copy of
  // the newest checkpoint (it may be the one this run loaded).
  std::string note, newest = ckpt::resolveLoad(dir, note, /*ownNamesOnly=*/true);
  if (newest != dir && ckpt::classify(dir).kind == ckpt::DirKind::Absent) {
    if (std::rename(newest.c_str(), dir.c_str()) != 0)
      return fail("checkpoint: cannot move the complete leftover '%s' to '%s': %s",
                  newest.c_str(), dir.c_str(), std::strerror(errno));
    if (pzrt::fsyncDir(ckpt::parentDir(dir)))
      return -1;
  }
  ckpt::DirInfo t = ckpt::classify(tmp);
  if (t.kind == ckpt::DirKind::Foreign)
    return fail("checkpoint: the temporary directory '%s' already exists and is %s; it was left "
                "alone: remove it or choose another --save directory",
                tmp.c_str(), t.what.c_str());
  if (t.kind != ckpt::DirKind::Absent) {
    std::string kept;
    int rc = ckpt::removeOurs(tmp, &kept);
    if (rc < 0)
      return -1;
    if (rc > 0)
      return fail("checkpoint: the temporary directory '%s' of an earlier save also holds %s; "
                  "it was left alone: remove it",
                  tmp.c_str(), kept.c_str());
  }
  std::string parent = ckpt::parentDir(dir);
  if (pzrt::makeDirs(parent))
    return pzrt::failStr(std::string("checkpoint: ") + pzrt_last_error());
  if (::mkdir(tmp.c_str(), 0755) != 0)
    return fail("checkpoint: cannot create '%s': %s", tmp.c_str(), std::strerror(errno));
  std::string marker = "A pzrt checkpoint of step " + std::to_string(step) +
                       " is being written here; an unfinished save leaves this file behind.\n";
  if (pzrt::writeFileDurable(tmp + "/" + ckpt::kMarkerName, marker.data(), marker.size()) ||
      pzrt::fsyncDir(tmp) || pzrt::fsyncDir(parent))
    return -1;
  ckpt::crashPoint("after-marker");
  return 0;
}

// Rank 0, after every rank wrote its file: index.json (with every file's
// size and CRC-32C), durably; then the marker goes.
int pzrt_ckpt_writer::writeIndex(const std::string &tmp, const pzrt_ckpt_info &info,
                                 const std::vector<int64_t> &sums) const {
  json::Value plan, extra;
  if (parseObject(info.plan_json, "plan", plan) || parseObject(info.extra_json, "extra", extra))
    return -1;
  std::vector<ckpt::TensorEntry> entries;
  json::Value files = json::Value::array(), checksums = json::Value::object();
  for (int r = 0; r < world; ++r) {
    std::string fname = ckpt::rankFileName(r), path = tmp + "/" + fname;
    files.push(fname);
    json::Value c = json::Value::object();
    char hex[16];
    std::snprintf(hex, sizeof(hex), "%08x", static_cast<unsigned>(sums[2 * r]));
    c.set("bytes", sums[2 * r + 1]);
    c.set("crc32c", hex);
    checksums.set(fname, std::move(c));
    pzrt::StFile f;
    if (pzrt::readSafetensors(path, f))
      return -1;
    const json::Value *meta = f.metadata.find("pzrt");
    json::Value m;
    std::string err;
    if (!meta || !json::parse(meta->asString(), m, err) || !m.isObject())
      return fail("checkpoint: '%s' lacks valid \"pzrt\" slice metadata %s", path.c_str(),
                  err.c_str());
    for (const pzrt::StTensor &t : f.tensors) {
      const json::Value *s = m.find(t.name);
      const json::Value *gs = s ? s->find("global_shape") : nullptr;
      const json::Value *off = s ? s->find("offsets") : nullptr;
      if (!gs || !off)
        return fail("checkpoint: '%s': no slice metadata for tensor '%s'", path.c_str(),
                    t.name.c_str());
      ckpt::Slice sl{fname, {}, t.shape};
      std::vector<int64_t> shape;
      for (const json::Value &v : gs->items())
        shape.push_back(v.asInt());
      for (const json::Value &v : off->items())
        sl.offsets.push_back(v.asInt());
      ckpt::TensorEntry *e = nullptr;
      for (auto &x : entries)
        if (x.name == t.name)
          e = &x;
      if (!e) {
        entries.push_back({t.name, t.dtype, shape, {}});
        e = &entries.back();
      } else if (e->dtype != t.dtype || e->shape != shape) {
        return fail("checkpoint: tensor '%s' is %s %s in %s but %s %s in an earlier rank file",
                    t.name.c_str(), pzrt_dtype_name(t.dtype), ckpt::shapeStr(shape).c_str(),
                    fname.c_str(), pzrt_dtype_name(e->dtype), ckpt::shapeStr(e->shape).c_str());
      }
      if (ckpt::checkRegion("checkpoint: " + path + ": tensor '" + t.name + "'", shape,
                            sl.offsets, sl.extents) ||
          ckpt::mergeSlice(*e, std::move(sl), "checkpoint " + dir))
        return -1;
    }
  }
  json::Value tjs = json::Value::object();
  for (const ckpt::TensorEntry &e : entries) {
    if (ckpt::checkCoverage(e, "checkpoint " + dir))
      return -1;
    json::Value t = json::Value::object(), sl = json::Value::array();
    t.set("dtype", pzrt_dtype_name(e.dtype));
    t.set("shape", intArray(e.shape));
    for (const ckpt::Slice &s : e.slices) {
      json::Value o = json::Value::object();
      o.set("file", s.file);
      o.set("offsets", intArray(s.offsets));
      o.set("extents", intArray(s.extents));
      sl.push(std::move(o));
    }
    t.set("slices", std::move(sl));
    tjs.set(e.name, std::move(t));
  }
  json::Value idx = json::Value::object(), rng = json::Value::object(),
              data = json::Value::object();
  idx.set("format", "pzrt-checkpoint");
  idx.set("version", 1);
  idx.set("step", info.step);
  idx.set("world_size", world);
  idx.set("plan", std::move(plan));
  rng.set("seed", info.rng_seed);
  rng.set("offset", info.rng_offset);
  idx.set("rng", std::move(rng));
  data.set("position", info.data_position);
  idx.set("data", std::move(data));
  idx.set("extra", std::move(extra));
  idx.set("files", std::move(files));
  idx.set("checksums", std::move(checksums));
  idx.set("tensors", std::move(tjs));
  std::string text = json::dump(idx, 1) + "\n";
  std::string marker = tmp + "/" + ckpt::kMarkerName;
  if (pzrt::writeFileDurable(tmp + "/" + ckpt::kIndexName, text.data(), text.size()))
    return -1;
  if (unlink(marker.c_str()) != 0)
    return fail("checkpoint: cannot remove '%s': %s", marker.c_str(), std::strerror(errno));
  if (pzrt::fsyncDir(tmp))
    return -1;
  ckpt::crashPoint("after-index");
  return 0;
}

// Rank 0: puts the complete checkpoint at tmp in DIR's place.
int pzrt_ckpt_writer::install(const std::string &tmp, int64_t step) const {
  const std::string parent = ckpt::parentDir(dir);
  ckpt::DirInfo cur = ckpt::classify(dir);
  if (cur.kind == ckpt::DirKind::Absent || cur.kind == ckpt::DirKind::Empty) {
    // rename(2) replaces an empty directory atomically.
    if (std::rename(tmp.c_str(), dir.c_str()) != 0)
      return fail("checkpoint: cannot rename '%s' to '%s': %s", tmp.c_str(), dir.c_str(),
                  std::strerror(errno));
    return pzrt::fsyncDir(parent);
  }
  if (cur.kind != ckpt::DirKind::Checkpoint) // changed since prepareTmp
    return ckpt::checkSaveTarget(dir) ? pzrt::failStr(std::string("checkpoint: ") +
                                                       pzrt_last_error())
                                      : fail("checkpoint: '%s' changed during the save",
                                             dir.c_str());
  int rc = ckpt::exchangeDisabledForTests() ? 1 : ckpt::renameExchange(tmp, dir);
  if (rc < 0)
    return pzrt::failStr(std::string("checkpoint: ") + pzrt_last_error());
  if (rc == 0) {
    // DIR holds the new checkpoint, tmp the previous one.
    if (pzrt::fsyncDir(parent))
      return -1;
    ckpt::crashPoint("after-exchange");
    disposeOld(tmp, cur.step);
    return 0;
  }
  // No atomic exchange here (e.g. NFS): move DIR aside, then tmp into place.
  // A crash in between leaves no DIR, and loading finds the complete
  // checkpoint at tmp (ckpt::resolveLoad).
  std::string aside = dir + ".pzrt-old-" + std::to_string(step);
  ckpt::DirInfo a = ckpt::classify(aside);
  if (a.kind != ckpt::DirKind::Absent) {
    std::string kept;
    if (a.kind == ckpt::DirKind::Foreign || ckpt::removeOurs(aside, &kept) != 0)
      return fail("checkpoint: '%s' is in the way of the save and is not a leftover of one%s%s; "
                  "it was left alone: remove it",
                  aside.c_str(), kept.empty() ? "" : ": it holds ", kept.c_str());
  }
  if (std::rename(dir.c_str(), aside.c_str()) != 0)
    return fail("checkpoint: cannot move the previous '%s' aside to '%s': %s", dir.c_str(),
                aside.c_str(), std::strerror(errno));
  if (pzrt::fsyncDir(parent))
    return -1;
  ckpt::crashPoint("after-aside");
  if (std::rename(tmp.c_str(), dir.c_str()) != 0)
    return fail("checkpoint: cannot rename '%s' to '%s': %s (the previous checkpoint is at '%s')",
                tmp.c_str(), dir.c_str(), std::strerror(errno), aside.c_str());
  if (pzrt::fsyncDir(parent))
    return -1;
  ckpt::crashPoint("after-install");
  disposeOld(aside, cur.step);
  return 0;
}

// The previous checkpoint, now at `old`: kept as DIR.step-<its step> under
// --keep-last K > 1, else removed (only what a save writes).
void pzrt_ckpt_writer::disposeOld(const std::string &old, int64_t oldStep) const {
  if (keepLast > 1 && oldStep >= 0) {
    char suffix[40];
    std::snprintf(suffix, sizeof(suffix), ".step-%08lld", (long long)oldStep);
    std::string kept = dir + suffix, what;
    ckpt::DirInfo k = ckpt::classify(kept);
    if (k.kind == ckpt::DirKind::Absent ||
        (k.kind != ckpt::DirKind::Foreign && ckpt::removeOurs(kept, &what) == 0)) {
      if (std::rename(old.c_str(), kept.c_str()) == 0) {
        pzrt::fsyncDir(ckpt::parentDir(dir));
        return;
      }
      std::fprintf(stderr, "pzrt: note: cannot keep the previous checkpoint as '%s': %s\n",
                   kept.c_str(), std::strerror(errno));
    } else {
      std::fprintf(stderr,
                   "pzrt: note: the previous checkpoint is not kept: '%s' is in the way and is "
                   "not a checkpoint of ours\n",
                   kept.c_str());
    }
  }
  std::string kept;
  int rc = ckpt::removeOurs(old, &kept);
  if (rc < 0)
    std::fprintf(stderr, "pzrt: note: the previous checkpoint at '%s' was not removed: %s\n",
                 old.c_str(), pzrt_last_error());
  else if (rc > 0)
    std::fprintf(stderr,
                 "pzrt: note: kept '%s' (the previous checkpoint's directory): it also holds %s, "
                 "which this program did not write\n",
                 old.c_str(), kept.c_str());
}

// Rank 0, after a successful save: removes what interrupted saves left
// beside DIR (DIR.pzrt-tmp-*, DIR.pzrt-old-*, only when they are recognisably
// ours) and, under --keep-last K, all but the K-1 newest DIR.step-*.
void pzrt_ckpt_writer::cleanUp(int64_t step) const {
  std::vector<ckpt::Sibling> kept;
  for (const ckpt::Sibling &s : ckpt::siblings(dir)) {
    if (s.kind == "step") {
      kept.push_back(s);
      continue;
    }
    if (s.kind != "pzrt-tmp" && s.kind != "pzrt-old")
      continue; // an earlier release's names could be a user's own copies
    if (s.kind == "pzrt-tmp" && s.number == step)
      continue; // cannot be: it became DIR
    ckpt::DirInfo c = ckpt::classify(s.path);
    if (c.kind == ckpt::DirKind::Foreign)
      continue;
    std::string what;
    if (ckpt::removeOurs(s.path, &what) < 0)
      std::fprintf(stderr, "pzrt: note: could not remove the leftover '%s': %s\n",
                   s.path.c_str(), pzrt_last_error());
  }
  if (keepLast < 1)
    return;
  std::sort(kept.begin(), kept.end(),
            [](const ckpt::Sibling &a, const ckpt::Sibling &b) { return a.number > b.number; });
  for (size_t i = static_cast<size_t>(keepLast - 1); i < kept.size(); ++i) {
    if (ckpt::classify(kept[i].path).kind != ckpt::DirKind::Checkpoint)
      continue;
    std::string what;
    if (ckpt::removeOurs(kept[i].path, &what) < 0)
      std::fprintf(stderr, "pzrt: note: could not remove the old checkpoint '%s': %s\n",
                   kept[i].path.c_str(), pzrt_last_error());
  }
}

extern "C" {

pzrt_ckpt_writer *pzrt_ckpt_writer_create(const char *dir, pzrt_comm *comm) {
  if (!dir || !*dir) {
    fail("checkpoint: directory name is empty");
    return nullptr;
  }
  std::string d = ckpt::normalizeDir(dir);
  if (d.empty()) {
    fail("checkpoint: '%s' cannot be a checkpoint directory: a save replaces the directory by "
         "renaming, so give it a name (not '.', '..' or '/')",
         dir);
    return nullptr;
  }
  auto *w = new pzrt_ckpt_writer();
  w->dir = d;
  w->comm = comm;
  w->rank = comm ? comm->rank : 0;
  w->world = comm ? comm->size : 1;
  return w;
}

int pzrt_ckpt_writer_set_keep_last(pzrt_ckpt_writer *w, int keep_last) {
  if (!w || keep_last < 1)
    return fail("checkpoint: keep_last %d must be at least 1", keep_last);
  w->keepLast = keep_last;
  return 0;
}

int pzrt_ckpt_writer_add(pzrt_ckpt_writer *w, const char *name, pzrt_dtype dtype, int ndim,
                         const int64_t *global_shape, const int64_t *offsets,
                         const int64_t *extents, const void *data) {
  if (!w || !name || !*name || std::strcmp(name, "__metadata__") == 0)
    return fail("checkpoint: invalid tensor name");
  if (pzrt_dtype_size(dtype) == 0)
    return fail("checkpoint: tensor '%s' has an invalid dtype %d", name, static_cast<int>(dtype));
  if (ndim < 0 || ndim > PZRT_CKPT_MAX_DIMS || (ndim > 0 && !global_shape))
    return fail("checkpoint: tensor '%s' has %d dimensions (0..%d allowed)", name, ndim,
                PZRT_CKPT_MAX_DIMS);
  for (const Pending &p : w->tensors)
    if (p.name == name)
      return fail("checkpoint: tensor '%s' was added twice", name);
  Pending p{name, dtype, {}, {}, {}, data};
  for (int d = 0; d < ndim; ++d) {
    p.shape.push_back(global_shape[d]);
    p.offsets.push_back(offsets ? offsets[d] : 0);
    p.extents.push_back(extents ? extents[d] : global_shape[d]);
  }
  int64_t bytes = 0;
  if (!pzrt::checkedBytes(p.shape.data(), p.shape.size(), pzrt_dtype_size(dtype), bytes))
    return fail("checkpoint: tensor '%s' has the global shape %s, which is negative or whose "
                "size in bytes overflows (more than 2^62)",
                name, ckpt::shapeStr(p.shape).c_str());
  if (ckpt::checkRegion(std::string("checkpoint: tensor '") + name + "'", p.shape, p.offsets,
                        p.extents))
    return -1;
  if (!data && ckpt::numel(p.extents) > 0)
    return fail("checkpoint: tensor '%s' has no data", name);
  w->tensors.push_back(std::move(p));
  return 0;
}

int pzrt_ckpt_writer_commit(pzrt_ckpt_writer *w, const pzrt_ckpt_info *info) {
  if (!w || !info)
    return fail("checkpoint: commit needs a writer and an info");
  int64_t step = info->step;
  if (w->comm && w->comm->size > 1)
    w->comm->broadcast(&step, 1, PZRT_I64, 0); // all ranks use rank 0's directory name
  if (step < 0)
    return fail("checkpoint: step %lld is negative", (long long)step);
  std::string tmp = w->dir + ".pzrt-tmp-" + std::to_string(step);
  const std::string otherRank = "checkpoint save to '" + w->dir + "' failed on another rank";
  bool ok = true;
  if (w->rank == 0)
    ok = w->prepareTmp(tmp, step) == 0;
  if (!agree(w->comm, ok))
    return ok ? pzrt::failStr(otherRank) : -1;
  uint32_t crc = 0;
  uint64_t bytes = 0;
  ok = w->writeRankFile(tmp, crc, bytes) == 0;
  if (!agree(w->comm, ok))
    return ok ? pzrt::failStr(otherRank) : -1;
  // Every file's CRC-32C and size, for rank 0's index.
  std::vector<int64_t> sums(2 * static_cast<size_t>(w->world), 0);
  int64_t mine[2] = {static_cast<int64_t>(crc), static_cast<int64_t>(bytes)};
  if (w->comm && w->comm->size > 1) {
    if (w->comm->allGather(mine, sums.data(), 2, PZRT_I64) != 0)
      return -1;
  } else {
    sums[0] = mine[0];
    sums[1] = mine[1];
  }
  if (w->rank == 0)
    ok = w->writeIndex(tmp, *info, sums) == 0 && w->install(tmp, step) == 0;
  if (!agree(w->comm, ok))
    return ok ? pzrt::failStr(otherRank) : -1;
  if (w->rank == 0)
    w->cleanUp(step);
  return 0;
}

void pzrt_ckpt_writer_destroy(pzrt_ckpt_writer *w) { delete w; }

} // extern "C"
