// index.json of a save: the slices the rank files hold (boxes and flat
// ranges), merged and checked, plus the caller's position and checksums.
#include "io/ckpt_index.h"

#include "core/internal.h"
#include "io/ckpt_common.h"
#include "io/ckpt_dir.h"
#include "io/safetensors.h"

#include <cstdio>

namespace pzrt::ckpt {

json::Value intArray(const std::vector<int64_t> &v) {
  json::Value a = json::Value::array();
  for (int64_t x : v)
    a.push(x);
  return a;
}

namespace {

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

bool intVector(const json::Value *v, std::vector<int64_t> &out) {
  if (!v || !v->isArray())
    return false;
  for (const json::Value &x : v->items()) {
    if (!x.isInt())
      return false;
    out.push_back(x.asInt());
  }
  return true;
}

// The slice that entry t of rank file `path` (named fname in the index)
// holds, from the file's "pzrt" metadata m: the tensor it belongs to (its
// "tensor", for a second or later region of one; else the entry's name),
// its global shape and region (offsets, or "flat": [begin, end]), checked
// against the global shape and against the shape of the data the file
// holds.
int readSliceMeta(const std::string &path, const std::string &fname, const json::Value &m,
                  const StTensor &t, std::string &tensor, std::vector<int64_t> &shape,
                  Slice &sl) {
  const json::Value *s = m.find(t.name);
  const json::Value *off = s ? s->find("offsets") : nullptr;
  const json::Value *flat = s ? s->find("flat") : nullptr;
  const json::Value *of = s ? s->find("tensor") : nullptr;
  std::vector<int64_t> range;
  if (!s || !intVector(s->find("global_shape"), shape) || (off && flat) ||
      !(off ? intVector(off, sl.offsets) : intVector(flat, range) && range.size() == 2) ||
      (of && (!of->isString() || of->asString().empty())))
    return fail("checkpoint: '%s': no valid slice metadata for tensor '%s' (integer "
                "\"global_shape\", either \"offsets\" or a \"flat\" [begin, end], and an "
                "optional non-empty \"tensor\")",
                path.c_str(), t.name.c_str());
  tensor = of ? of->asString() : t.name;
  if (tensor != t.name)
    sl.key = t.name;
  sl.file = fname;
  const std::string what = "checkpoint: " + path + ": tensor '" + tensor + "'";
  if (off) {
    sl.extents = t.shape;
    return checkRegion(what, shape, sl.offsets, sl.extents);
  }
  sl.flat = true;
  sl.begin = range[0];
  sl.end = range[1];
  if (checkFlatRange(what, shape, sl.begin, sl.end))
    return -1;
  if (t.shape != storedShape(sl))
    return fail("%s: the %s slice is stored with the shape %s", what.c_str(),
                sliceStr(sl).c_str(), shapeStr(t.shape).c_str());
  return 0;
}

// Adds the slices of one rank file to entries.
int collectFile(const std::string &path, const std::string &fname, const std::string &dir,
                std::vector<TensorEntry> &entries) {
  StFile f;
  if (readSafetensors(path, f))
    return -1;
  const json::Value *meta = f.metadata.find("pzrt");
  json::Value m;
  std::string err;
  if (!meta || !json::parse(meta->asString(), m, err) || !m.isObject())
    return fail("checkpoint: '%s' lacks valid \"pzrt\" slice metadata %s", path.c_str(),
                err.c_str());
  for (const StTensor &t : f.tensors) {
    std::vector<int64_t> shape;
    std::string tensor;
    Slice sl;
    if (readSliceMeta(path, fname, m, t, tensor, shape, sl))
      return -1;
    TensorEntry *e = nullptr;
    for (auto &x : entries)
      if (x.name == tensor)
        e = &x;
    if (!e) {
      entries.push_back({tensor, t.dtype, shape, {}});
      e = &entries.back();
    } else if (e->dtype != t.dtype || e->shape != shape) {
      return fail("checkpoint: tensor '%s' is %s %s in %s but %s %s in an earlier region",
                  tensor.c_str(), pzrt_dtype_name(t.dtype), shapeStr(shape).c_str(),
                  fname.c_str(), pzrt_dtype_name(e->dtype), shapeStr(e->shape).c_str());
    }
    if (mergeSlice(*e, std::move(sl), "checkpoint " + dir))
      return -1;
  }
  return 0;
}

json::Value sliceJson(const Slice &s) {
  json::Value o = json::Value::object();
  o.set("file", s.file);
  if (!s.key.empty())
    o.set("key", s.key);
  if (s.flat) {
    o.set("flat", intArray({s.begin, s.end}));
  } else {
    o.set("offsets", intArray(s.offsets));
    o.set("extents", intArray(s.extents));
  }
  return o;
}

} // namespace

int buildIndex(const std::string &tmp, const std::string &dir, int world,
               const pzrt_ckpt_info &info, const std::vector<int64_t> &sums, std::string &text) {
  json::Value plan, extra;
  if (parseObject(info.plan_json, "plan", plan) || parseObject(info.extra_json, "extra", extra))
    return -1;
  std::vector<TensorEntry> entries;
  json::Value files = json::Value::array(), checksums = json::Value::object();
  for (int r = 0; r < world; ++r) {
    std::string fname = rankFileName(r);
    files.push(fname);
    json::Value c = json::Value::object();
    char hex[16];
    std::snprintf(hex, sizeof(hex), "%08x", static_cast<unsigned>(sums[2 * r]));
    c.set("bytes", sums[2 * r + 1]);
    c.set("crc32c", hex);
    checksums.set(fname, std::move(c));
    if (collectFile(tmp + "/" + fname, fname, dir, entries))
      return -1;
  }
  json::Value tjs = json::Value::object();
  bool anyFlat = false, anyKey = false;
  for (const TensorEntry &e : entries) {
    if (checkCoverage(e, "checkpoint " + dir))
      return -1;
    json::Value t = json::Value::object(), sl = json::Value::array();
    t.set("dtype", pzrt_dtype_name(e.dtype));
    t.set("shape", intArray(e.shape));
    for (const Slice &s : e.slices) {
      anyFlat = anyFlat || s.flat;
      anyKey = anyKey || !s.key.empty();
      sl.push(sliceJson(s));
    }
    t.set("slices", std::move(sl));
    tjs.set(e.name, std::move(t));
  }
  json::Value idx = json::Value::object(), rng = json::Value::object(),
              data = json::Value::object();
  idx.set("format", "pzrt-checkpoint");
  // Version 2 only when a flat slice needs it, 3 when a slice is stored
  // under a key other than its tensor's name (a rank's second region): an
  // older runtime then refuses the index by its version, not by a missing
  // key or tensor, and the other checkpoints still load there.
  idx.set("version", anyKey ? 3 : anyFlat ? 2 : 1);
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
  text = json::dump(idx, 1) + "\n";
  return 0;
}

} // namespace pzrt::ckpt
