// Collective checkpoint saving: per-rank safetensors, index.json, atomic rename.
#include "pzrt/checkpoint.h"

#include "comm/comm_impl.h"
#include "core/internal.h"
#include "io/ckpt_common.h"
#include "io/fsutil.h"
#include "io/json.h"
#include "io/safetensors.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
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

std::string rankFile(int r) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "rank%05d.safetensors", r);
  return buf;
}

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

std::string parentDir(const std::string &p) {
  size_t slash = p.find_last_of('/');
  if (slash == std::string::npos)
    return ".";
  return slash == 0 ? "/" : p.substr(0, slash);
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
  std::vector<Pending> tensors;

  int writeRankFile(const std::string &tmp) const;
  int writeIndexAndRename(const std::string &tmp, const pzrt_ckpt_info &info) const;
};

int pzrt_ckpt_writer::writeRankFile(const std::string &tmp) const {
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
  return pzrt::writeSafetensors(tmp + "/" + rankFile(rank), sts,
                                {{"format", "pt"}, {"pzrt", json::dump(slices)}});
}

int pzrt_ckpt_writer::writeIndexAndRename(const std::string &tmp,
                                          const pzrt_ckpt_info &info) const {
  json::Value plan, extra;
  if (parseObject(info.plan_json, "plan", plan) || parseObject(info.extra_json, "extra", extra))
    return -1;
  std::vector<ckpt::TensorEntry> entries;
  json::Value files = json::Value::array();
  for (int r = 0; r < world; ++r) {
    std::string fname = rankFile(r), path = tmp + "/" + fname;
    files.push(fname);
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
  idx.set("tensors", std::move(tjs));
  std::string text = json::dump(idx, 1) + "\n";
  if (pzrt::writeFileDurable(tmp + "/index.json", text.data(), text.size()) ||
      pzrt::fsyncDir(tmp))
    return -1;
  std::string old = dir + ".old-" + std::to_string(getpid());
  bool hadOld = pzrt::pathExists(dir);
  if (hadOld && std::rename(dir.c_str(), old.c_str()) != 0)
    return fail("checkpoint: cannot move the previous '%s' aside: %s", dir.c_str(),
                std::strerror(errno));
  if (std::rename(tmp.c_str(), dir.c_str()) != 0)
    return fail("checkpoint: cannot rename '%s' to '%s': %s", tmp.c_str(), dir.c_str(),
                std::strerror(errno));
  if (pzrt::fsyncDir(parentDir(dir)))
    return -1;
  return hadOld ? pzrt::removeTree(old) : 0;
}

extern "C" {

pzrt_ckpt_writer *pzrt_ckpt_writer_create(const char *dir, pzrt_comm *comm) {
  if (!dir || !*dir) {
    fail("checkpoint: directory name is empty");
    return nullptr;
  }
  auto *w = new pzrt_ckpt_writer();
  w->dir = dir;
  while (w->dir.size() > 1 && w->dir.back() == '/')
    w->dir.pop_back();
  w->comm = comm;
  w->rank = comm ? comm->rank : 0;
  w->world = comm ? comm->size : 1;
  return w;
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
  std::string tmp = w->dir + ".tmp-" + std::to_string(step);
  const std::string otherRank = "checkpoint save to '" + w->dir + "' failed on another rank";
  bool ok = true;
  if (w->rank == 0)
    ok = pzrt::removeTree(tmp) == 0 && pzrt::makeDirs(tmp) == 0;
  if (!agree(w->comm, ok))
    return ok ? pzrt::failStr(otherRank) : -1;
  ok = w->writeRankFile(tmp) == 0;
  if (!agree(w->comm, ok))
    return ok ? pzrt::failStr(otherRank) : -1;
  if (w->rank == 0)
    ok = w->writeIndexAndRename(tmp, *info) == 0;
  if (!agree(w->comm, ok))
    return ok ? pzrt::failStr(otherRank) : -1;
  return 0;
}

void pzrt_ckpt_writer_destroy(pzrt_ckpt_writer *w) { delete w; }

} // extern "C"
