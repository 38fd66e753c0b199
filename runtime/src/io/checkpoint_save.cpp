// Collective checkpoint saving: per-rank safetensors, index.json with
// checksums, and the crash-safe replacement of ckpt_dir.h.
#include "pzrt/checkpoint.h"
#include "pzrt/error.h"

#include "comm/comm_impl.h"
#include "core/checked.h"
#include "core/internal.h"
#include "io/ckpt_common.h"
#include "io/ckpt_dir.h"
#include "io/ckpt_index.h"
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
  std::string key; // its entry in the rank file: the name, then NAME@1, NAME@2, ...
  pzrt_dtype dtype = PZRT_F32;
  std::vector<int64_t> shape;
  ckpt::Slice region; // a box, or a flat range (an empty one is not written)
  const void *data = nullptr;
};

// True on every rank iff ok on every rank. The synchronisation is not counted.
bool agree(pzrt_comm *comm, bool ok) {
  if (!comm || comm->size == 1)
    return ok;
  int64_t bad = ok ? 0 : 1;
  comm->allReduce(&bad, &bad, 1, PZRT_I64, PZRT_REDUCE_MAX);
  return bad == 0;
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
    if (p.region.flat && p.region.begin == p.region.end)
      continue;
    pzrt::StTensor t;
    t.name = p.key;
    t.dtype = p.dtype;
    t.shape = ckpt::storedShape(p.region);
    t.data = p.data;
    sts.push_back(std::move(t));
    json::Value s = json::Value::object();
    if (p.key != p.name) // a tensor's second and later regions in this file
      s.set("tensor", p.name);
    s.set("global_shape", ckpt::intArray(p.shape));
    if (p.region.flat)
      s.set("flat", ckpt::intArray({p.region.begin, p.region.end}));
    else
      s.set("offsets", ckpt::intArray(p.region.offsets));
    slices.set(p.key, std::move(s));
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
  std::string text;
  if (ckpt::buildIndex(tmp, dir, world, info, sums, text))
    return -1;
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

namespace {

// The checks add and add_flat share: the name, dtype and global shape,
// which go into p. A name added before (a rank holding several regions of
// a tensor: the flat chunk of a tensor-parallel block, the heads of a fused
// projection) must come with the same dtype and global shape; its region
// gets the next key, NAME@1, NAME@2, ...
int newEntry(const pzrt_ckpt_writer *w, const char *name, pzrt_dtype dtype, int ndim,
             const int64_t *global_shape, Pending &p) {
  if (!w || !name || !*name || std::strcmp(name, "__metadata__") == 0)
    return fail("checkpoint: invalid tensor name");
  if (pzrt_dtype_size(dtype) == 0)
    return fail("checkpoint: tensor '%s' has an invalid dtype %d", name, static_cast<int>(dtype));
  if (ndim < 0 || ndim > PZRT_CKPT_MAX_DIMS || (ndim > 0 && !global_shape))
    return fail("checkpoint: tensor '%s' has %d dimensions (0..%d allowed)", name, ndim,
                PZRT_CKPT_MAX_DIMS);
  p.name = name;
  p.key = name;
  p.dtype = dtype;
  p.shape.assign(global_shape, global_shape + ndim);
  int earlier = 0;
  for (const Pending &q : w->tensors)
    if (q.name == name) {
      if (q.dtype != dtype || q.shape != p.shape)
        return fail("checkpoint: tensor '%s' was added as %s %s and again as %s %s", name,
                    pzrt_dtype_name(q.dtype), ckpt::shapeStr(q.shape).c_str(),
                    pzrt_dtype_name(dtype), ckpt::shapeStr(p.shape).c_str());
      p.key = std::string(name) + "@" + std::to_string(++earlier);
    }
  int64_t bytes = 0;
  if (!pzrt::checkedBytes(p.shape.data(), p.shape.size(), pzrt_dtype_size(dtype), bytes))
    return fail("checkpoint: tensor '%s' has the global shape %s, which is negative or whose "
                "size in bytes overflows (more than 2^62)",
                name, ckpt::shapeStr(p.shape).c_str());
  return 0;
}

// Queues p, whose region must not share an element with the regions this
// writer already holds of the tensor (a caller adding the same elements
// twice).
int queue(pzrt_ckpt_writer *w, Pending p) {
  for (const Pending &q : w->tensors)
    if (q.name == p.name && ckpt::overlaps(q.region, p.region, p.shape))
      return fail("checkpoint: tensor '%s' was added twice over the same elements (%s, then "
                  "%s)",
                  p.name.c_str(), ckpt::sliceStr(q.region).c_str(),
                  ckpt::sliceStr(p.region).c_str());
  w->tensors.push_back(std::move(p));
  return 0;
}

} // namespace

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
  Pending p;
  if (newEntry(w, name, dtype, ndim, global_shape, p))
    return -1;
  for (int d = 0; d < ndim; ++d) {
    p.region.offsets.push_back(offsets ? offsets[d] : 0);
    p.region.extents.push_back(extents ? extents[d] : global_shape[d]);
  }
  if (ckpt::checkRegion(std::string("checkpoint: tensor '") + name + "'", p.shape,
                        p.region.offsets, p.region.extents))
    return -1;
  if (!data && ckpt::numel(p.region.extents) > 0)
    return fail("checkpoint: tensor '%s' has no data", name);
  p.data = data;
  return queue(w, std::move(p));
}

int pzrt_ckpt_writer_add_flat(pzrt_ckpt_writer *w, const char *name, pzrt_dtype dtype, int ndim,
                              const int64_t *global_shape, int64_t begin, int64_t end,
                              const void *data) {
  Pending p;
  if (newEntry(w, name, dtype, ndim, global_shape, p))
    return -1;
  if (ckpt::numel(p.shape) == 0 && begin == 0 && end == 0) {
    // No element, so no flat range to write: an empty whole box keeps the
    // tensor listed in the checkpoint.
    p.region.offsets.assign(p.shape.size(), 0);
    p.region.extents = p.shape;
  } else {
    if (ckpt::checkFlatRange(std::string("checkpoint: tensor '") + name + "'", p.shape, begin,
                             end))
      return -1;
    if (!data && end > begin)
      return fail("checkpoint: tensor '%s' has no data", name);
    p.region.flat = true;
    p.region.begin = begin;
    p.region.end = end;
  }
  p.data = data;
  return queue(w, std::move(p));
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
