// Checkpoint loading: index.json validation and re-sharding on load.
#include "pzrt/checkpoint.h"

#include "core/internal.h"
#include "io/ckpt_common.h"
#include "io/fsutil.h"
#include "io/json.h"
#include "io/safetensors.h"

#include <map>
#include <memory>

using pzrt::fail;
namespace json = pzrt::json;
namespace ckpt = pzrt::ckpt;

struct pzrt_ckpt {
  std::string dir;
  int64_t step = 0;
  uint64_t rngSeed = 0, rngOffset = 0;
  int64_t dataPosition = 0;
  std::string plan, extra;
  std::vector<ckpt::TensorEntry> tensors;
  std::map<std::string, std::unique_ptr<pzrt::StFile>> files;

  const ckpt::TensorEntry *find(const char *name) const {
    for (const auto &t : tensors)
      if (t.name == name)
        return &t;
    return nullptr;
  }
  const pzrt::StFile *file(const std::string &name) {
    auto it = files.find(name);
    if (it != files.end())
      return it->second.get();
    auto f = std::make_unique<pzrt::StFile>();
    if (pzrt::readSafetensors(dir + "/" + name, *f))
      return nullptr;
    return (files[name] = std::move(f)).get();
  }
};

namespace {

bool intVector(const json::Value *v, std::vector<int64_t> &out) {
  if (!v || !v->isArray())
    return false;
  out.clear();
  for (const json::Value &x : v->items()) {
    if (!x.isInt())
      return false;
    out.push_back(x.asInt());
  }
  return true;
}

int64_t intField(const json::Value &obj, const char *key, int64_t dflt) {
  const json::Value *v = obj.isObject() ? obj.find(key) : nullptr;
  return v && v->isInt() ? v->asInt() : dflt;
}

int parseTensor(pzrt_ckpt *ck, const std::string &where, const std::string &name,
                const json::Value &v) {
  ckpt::TensorEntry t;
  t.name = name;
  const json::Value *dt = v.isObject() ? v.find("dtype") : nullptr;
  if (!dt || !dt->isString() || pzrt_dtype_from_name(dt->asString().c_str(), &t.dtype))
    return fail("%s: tensor '%s' has a missing or unknown \"dtype\"", where.c_str(), name.c_str());
  if (!intVector(v.find("shape"), t.shape) || t.shape.size() > PZRT_CKPT_MAX_DIMS)
    return fail("%s: tensor '%s' has a missing or invalid \"shape\"", where.c_str(), name.c_str());
  const json::Value *sl = v.find("slices");
  if (!sl || !sl->isArray())
    return fail("%s: tensor '%s' has no \"slices\" array", where.c_str(), name.c_str());
  for (const json::Value &s : sl->items()) {
    ckpt::Slice slice;
    const json::Value *f = s.isObject() ? s.find("file") : nullptr;
    if (!f || !f->isString() || f->asString().empty() ||
        f->asString().find('/') != std::string::npos || f->asString()[0] == '.')
      return fail("%s: tensor '%s' has a slice without a plain file name", where.c_str(),
                  name.c_str());
    slice.file = f->asString();
    if (!intVector(s.find("offsets"), slice.offsets) ||
        !intVector(s.find("extents"), slice.extents))
      return fail("%s: tensor '%s' slice in %s lacks integer \"offsets\"/\"extents\"",
                  where.c_str(), name.c_str(), slice.file.c_str());
    t.slices.push_back(std::move(slice));
  }
  if (ckpt::checkCoverage(t, where))
    return -1;
  ck->tensors.push_back(std::move(t));
  return 0;
}

int parseIndex(pzrt_ckpt *ck) {
  std::string where = ck->dir + "/index.json", text, err;
  if (pzrt::readFile(where, text))
    return -1;
  json::Value idx;
  if (!json::parse(text, idx, err))
    return fail("%s: invalid JSON: %s", where.c_str(), err.c_str());
  const json::Value *fmt = idx.isObject() ? idx.find("format") : nullptr;
  if (!fmt || !fmt->isString() || fmt->asString() != "pzrt-checkpoint")
    return fail("%s: not a pzrt checkpoint index (\"format\" is not \"pzrt-checkpoint\")",
                where.c_str());
  if (intField(idx, "version", 0) != 1)
    return fail("%s: unsupported checkpoint version %lld (this runtime reads version 1)",
                where.c_str(), (long long)intField(idx, "version", 0));
  ck->step = intField(idx, "step", 0);
  const json::Value *rng = idx.find("rng"), *data = idx.find("data");
  if (rng) {
    ck->rngSeed = static_cast<uint64_t>(intField(*rng, "seed", 0));
    ck->rngOffset = static_cast<uint64_t>(intField(*rng, "offset", 0));
  }
  if (data)
    ck->dataPosition = intField(*data, "position", 0);
  const json::Value *plan = idx.find("plan"), *extra = idx.find("extra");
  ck->plan = plan ? json::dump(*plan) : "{}";
  ck->extra = extra ? json::dump(*extra) : "{}";
  const json::Value *ts = idx.find("tensors");
  if (!ts || !ts->isObject())
    return fail("%s: no \"tensors\" object", where.c_str());
  for (const auto &m : ts->members())
    if (parseTensor(ck, where, m.first, m.second))
      return -1;
  return 0;
}

} // namespace

extern "C" {

pzrt_ckpt *pzrt_ckpt_open(const char *dir) {
  if (!dir || !*dir) {
    fail("checkpoint: directory name is empty");
    return nullptr;
  }
  auto *ck = new pzrt_ckpt();
  ck->dir = dir;
  if (parseIndex(ck)) {
    delete ck;
    return nullptr;
  }
  return ck;
}

void pzrt_ckpt_close(pzrt_ckpt *ck) { delete ck; }

void pzrt_ckpt_get_info(const pzrt_ckpt *ck, pzrt_ckpt_info *info) {
  if (!ck || !info)
    return;
  info->step = ck->step;
  info->plan_json = ck->plan.c_str();
  info->rng_seed = ck->rngSeed;
  info->rng_offset = ck->rngOffset;
  info->data_position = ck->dataPosition;
  info->extra_json = ck->extra.c_str();
}

int pzrt_ckpt_num_tensors(const pzrt_ckpt *ck) {
  return ck ? static_cast<int>(ck->tensors.size()) : 0;
}

const char *pzrt_ckpt_tensor_name(const pzrt_ckpt *ck, int i) {
  if (!ck || i < 0 || i >= static_cast<int>(ck->tensors.size()))
    return nullptr;
  return ck->tensors[static_cast<size_t>(i)].name.c_str();
}

int pzrt_ckpt_tensor_info(const pzrt_ckpt *ck, const char *name, pzrt_dtype *dtype, int *ndim,
                          int64_t *shape) {
  const ckpt::TensorEntry *t = ck && name ? ck->find(name) : nullptr;
  if (!t)
    return fail("checkpoint '%s' has no tensor '%s'", ck ? ck->dir.c_str() : "?",
                name ? name : "(null)");
  if (dtype)
    *dtype = t->dtype;
  if (ndim)
    *ndim = static_cast<int>(t->shape.size());
  if (shape)
    for (size_t d = 0; d < t->shape.size(); ++d)
      shape[d] = t->shape[d];
  return 0;
}

int pzrt_ckpt_load(pzrt_ckpt *ck, const char *name, pzrt_dtype dtype, int ndim,
                   const int64_t *global_shape, const int64_t *offsets, const int64_t *extents,
                   void *out) {
  if (pzrt_ckpt_tensor_info(ck, name, nullptr, nullptr, nullptr))
    return -1;
  const ckpt::TensorEntry &t = *ck->find(name);
  std::vector<int64_t> shape(global_shape, global_shape + (ndim > 0 ? ndim : 0));
  if (dtype != t.dtype || shape != t.shape)
    return fail("checkpoint '%s': tensor '%s' is %s %s, but %s %s was requested", ck->dir.c_str(),
                name, pzrt_dtype_name(t.dtype), ckpt::shapeStr(t.shape).c_str(),
                pzrt_dtype_name(dtype), ckpt::shapeStr(shape).c_str());
  std::vector<int64_t> off(shape.size()), ext(shape);
  for (size_t d = 0; d < shape.size(); ++d) {
    off[d] = offsets ? offsets[d] : 0;
    ext[d] = extents ? extents[d] : shape[d];
  }
  std::string what = "checkpoint '" + ck->dir + "': load of tensor '" + name + "'";
  if (ckpt::checkRegion(what, shape, off, ext))
    return -1;
  size_t elem = pzrt_dtype_size(dtype);
  int64_t copied = 0;
  for (const ckpt::Slice &s : t.slices) {
    bool overlap = true;
    for (size_t d = 0; d < shape.size(); ++d)
      overlap = overlap && std::max(off[d], s.offsets[d]) <
                               std::min(off[d] + ext[d], s.offsets[d] + s.extents[d]);
    if (!overlap)
      continue;
    const pzrt::StFile *f = ck->file(s.file);
    if (!f)
      return -1;
    const pzrt::StTensor *st = f->find(name);
    if (!st)
      return fail("%s: '%s' does not contain the tensor although index.json says so",
                  what.c_str(), s.file.c_str());
    if (st->dtype != t.dtype || st->shape != s.extents)
      return fail("%s: '%s' holds it as %s %s, but index.json says %s %s", what.c_str(),
                  s.file.c_str(), pzrt_dtype_name(st->dtype), ckpt::shapeStr(st->shape).c_str(),
                  pzrt_dtype_name(t.dtype), ckpt::shapeStr(s.extents).c_str());
    copied += ckpt::copyIntersection(f->dataStart + st->begin, s.offsets, s.extents, out, off, ext,
                                     elem);
  }
  if (copied != ckpt::numel(ext))
    return fail("%s: the checkpoint's slices supplied %lld of %lld elements", what.c_str(),
                (long long)copied, (long long)ckpt::numel(ext));
  return 0;
}

} // extern "C"
