// Checkpoint loading: index.json validation (types and ranges of every
// field), file checksums, and re-sharding on load.
#include "pzrt/checkpoint.h"

#include "core/checked.h"
#include "core/internal.h"
#include "io/ckpt_common.h"
#include "io/crc32c.h"
#include "io/fsutil.h"
#include "io/json.h"
#include "io/safetensors.h"

#include <cctype>
#include <climits>
#include <cstdlib>
#include <map>
#include <memory>

using pzrt::fail;
namespace json = pzrt::json;
namespace ckpt = pzrt::ckpt;

struct pzrt_ckpt {
  struct Sum {
    int64_t bytes = 0;
    uint32_t crc = 0;
  };
  std::string dir;
  int version = 1;
  int64_t step = 0;
  uint64_t rngSeed = 0, rngOffset = 0;
  int64_t dataPosition = 0;
  std::string plan, extra;
  std::vector<ckpt::TensorEntry> tensors;
  bool haveSums = false;
  std::map<std::string, Sum> sums;
  std::map<std::string, std::unique_ptr<pzrt::StFile>> files;

  const ckpt::TensorEntry *find(const char *name) const {
    for (const auto &t : tensors)
      if (t.name == name)
        return &t;
    return nullptr;
  }
  // Opens a rank file, first checking its size and CRC-32C against
  // index.json's "checksums" when it has them.
  const pzrt::StFile *file(const std::string &name) {
    auto it = files.find(name);
    if (it != files.end())
      return it->second.get();
    std::string path = dir + "/" + name;
    if (haveSums) {
      auto s = sums.find(name);
      if (s == sums.end()) {
        fail("checkpoint '%s': index.json has no checksum for '%s'", dir.c_str(), name.c_str());
        return nullptr;
      }
      pzrt::MappedFile raw;
      if (raw.open(path))
        return nullptr;
      if (static_cast<int64_t>(raw.size()) != s->second.bytes) {
        fail("'%s' is %zu bytes, but index.json records %lld: the file was truncated or "
             "replaced",
             path.c_str(), raw.size(), (long long)s->second.bytes);
        return nullptr;
      }
      uint32_t crc = pzrt::crc32c(0, raw.data(), raw.size());
      if (crc != s->second.crc) {
        fail("'%s' does not match its checksum in index.json (CRC-32C %08x recorded, %08x "
             "computed): the file is damaged",
             path.c_str(), static_cast<unsigned>(s->second.crc), static_cast<unsigned>(crc));
        return nullptr;
      }
    }
    auto f = std::make_unique<pzrt::StFile>();
    if (pzrt::readSafetensors(path, *f))
      return nullptr;
    return (files[name] = std::move(f)).get();
  }
};

namespace {

// `"key"` for messages, with the value found: "\"step\" (got 3.5)".
std::string got(const json::Value &v) {
  std::string t = json::dump(v);
  if (t.size() > 40)
    t = t.substr(0, 37) + "...";
  return "got " + t;
}

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

// An integer member within [lo, hi]; `dflt` when absent and not required.
int intMember(const std::string &where, const json::Value &obj, const char *path, const char *key,
              int64_t lo, int64_t hi, bool required, int64_t &out) {
  const json::Value *v = obj.find(key);
  if (!v) {
    if (required)
      return fail("%s: no \"%s%s\"", where.c_str(), path, key);
    return 0;
  }
  if (!v->isInt())
    return fail("%s: \"%s%s\" must be an integer (%s)", where.c_str(), path, key, got(*v).c_str());
  if (v->asInt() < lo || v->asInt() > hi)
    return fail("%s: \"%s%s\" is %lld, outside [%lld, %lld]", where.c_str(), path, key,
                (long long)v->asInt(), (long long)lo, (long long)hi);
  out = v->asInt();
  return 0;
}

// An optional member that must be an object when present.
int objectMember(const std::string &where, const json::Value &obj, const char *key,
                 const json::Value *&out) {
  out = obj.find(key);
  if (out && !out->isObject())
    return fail("%s: \"%s\" must be an object (%s)", where.c_str(), key, got(*out).c_str());
  return 0;
}

bool plainFileName(const json::Value *f) {
  return f && f->isString() && !f->asString().empty() &&
         f->asString().find('/') == std::string::npos && f->asString()[0] != '.';
}

// A slice of index.json: {"file", "offsets", "extents"} or, from version 2,
// {"file", "flat": [begin, end]}; from version 3 with an optional "key",
// its entry in the file (else the tensor's name). Ranges are checked by
// checkCoverage.
int parseSlice(const pzrt_ckpt *ck, const std::string &where, const std::string &name,
               const json::Value &s, ckpt::Slice &slice) {
  const json::Value *f = s.isObject() ? s.find("file") : nullptr;
  if (!plainFileName(f))
    return fail("%s: tensor '%s' has a slice without a plain file name", where.c_str(),
                name.c_str());
  slice.file = f->asString();
  if (const json::Value *key = s.find("key")) {
    if (ck->version < 3 || !key->isString() || key->asString().empty() ||
        key->asString().find('\0') != std::string::npos)
      return fail("%s: tensor '%s' slice in %s: \"key\" must be a non-empty string and "
                  "needs \"version\" 3",
                  where.c_str(), name.c_str(), slice.file.c_str());
    slice.key = key->asString();
  }
  if (ck->haveSums && !ck->sums.count(slice.file))
    return fail("%s: tensor '%s' has a slice in '%s', which \"checksums\" does not list",
                where.c_str(), name.c_str(), slice.file.c_str());
  const json::Value *flat = s.find("flat");
  if (!flat) {
    if (!intVector(s.find("offsets"), slice.offsets) ||
        !intVector(s.find("extents"), slice.extents))
      return fail("%s: tensor '%s' slice in %s lacks integer \"offsets\"/\"extents\"",
                  where.c_str(), name.c_str(), slice.file.c_str());
    return 0;
  }
  std::vector<int64_t> range;
  if (ck->version < 2)
    return fail("%s: tensor '%s' has a \"flat\" slice in %s, which needs \"version\" 2",
                where.c_str(), name.c_str(), slice.file.c_str());
  if (s.find("offsets") || s.find("extents") || !intVector(flat, range) || range.size() != 2)
    return fail("%s: tensor '%s' slice in %s: \"flat\" must be [begin, end] (two integers) "
                "and comes without \"offsets\"/\"extents\"",
                where.c_str(), name.c_str(), slice.file.c_str());
  slice.flat = true;
  slice.begin = range[0];
  slice.end = range[1];
  return 0;
}

int parseTensor(pzrt_ckpt *ck, const std::string &where, const std::string &name,
                const json::Value &v) {
  ckpt::TensorEntry t;
  t.name = name;
  // Names reach the C API as C strings: one with a NUL would be listed
  // under a name that finds nothing.
  if (name.empty() || name.find('\0') != std::string::npos)
    return fail("%s: tensor name %s is empty or holds a NUL character", where.c_str(),
                json::dump(json::Value(name)).c_str());
  if (!v.isObject())
    return fail("%s: tensor '%s' is not an object", where.c_str(), name.c_str());
  const json::Value *dt = v.find("dtype");
  if (!dt || !dt->isString() || pzrt_dtype_from_name(dt->asString().c_str(), &t.dtype))
    return fail("%s: tensor '%s' has a missing or unknown \"dtype\"", where.c_str(), name.c_str());
  if (!intVector(v.find("shape"), t.shape) || t.shape.size() > PZRT_CKPT_MAX_DIMS)
    return fail("%s: tensor '%s' has a missing or invalid \"shape\" (an array of at most %d "
                "integers)",
                where.c_str(), name.c_str(), PZRT_CKPT_MAX_DIMS);
  int64_t bytes = 0;
  if (!pzrt::checkedBytes(t.shape.data(), t.shape.size(), pzrt_dtype_size(t.dtype), bytes))
    return fail("%s: tensor '%s' has the \"shape\" %s, which is negative or whose size in bytes "
                "overflows (more than 2^62)",
                where.c_str(), name.c_str(), ckpt::shapeStr(t.shape).c_str());
  const json::Value *sl = v.find("slices");
  if (!sl || !sl->isArray())
    return fail("%s: tensor '%s' has no \"slices\" array", where.c_str(), name.c_str());
  for (const json::Value &s : sl->items()) {
    ckpt::Slice slice;
    if (parseSlice(ck, where, name, s, slice))
      return -1;
    t.slices.push_back(std::move(slice));
  }
  if (ckpt::checkCoverage(t, where))
    return -1;
  ck->tensors.push_back(std::move(t));
  return 0;
}

int parseChecksums(pzrt_ckpt *ck, const std::string &where, const json::Value &cs) {
  if (!cs.isObject())
    return fail("%s: \"checksums\" must be an object (%s)", where.c_str(), got(cs).c_str());
  ck->haveSums = true;
  for (const auto &m : cs.members()) {
    json::Value name(m.first);
    if (!plainFileName(&name))
      return fail("%s: \"checksums\" names '%s', which is not a plain file name", where.c_str(),
                  m.first.c_str());
    const json::Value &e = m.second;
    const json::Value *c = e.isObject() ? e.find("crc32c") : nullptr;
    pzrt_ckpt::Sum sum;
    std::string field = "checksums\".\"" + m.first + "\".\"";
    if (!e.isObject() ||
        intMember(where, e, field.c_str(), "bytes", 0, pzrt::kMaxCount, true, sum.bytes))
      return e.isObject() ? -1
                          : fail("%s: \"checksums\".\"%s\" must be an object", where.c_str(),
                                 m.first.c_str());
    bool hex = c && c->isString() && c->asString().size() == 8;
    for (size_t i = 0; hex && i < 8; ++i)
      hex = std::isxdigit(static_cast<unsigned char>(c->asString()[i])) != 0;
    if (!hex)
      return fail("%s: \"checksums\".\"%s\".\"crc32c\" must be 8 hexadecimal digits%s%s",
                  where.c_str(), m.first.c_str(), c ? " (" : "", c ? got(*c).append(")").c_str() : "");
    sum.crc = static_cast<uint32_t>(std::strtoul(c->asString().c_str(), nullptr, 16));
    ck->sums[m.first] = sum;
  }
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
  // Version 2 adds flat slices, 3 slice keys; everything else is as in
  // version 1.
  const json::Value *ver = idx.find("version");
  if (!ver || !ver->isInt() || ver->asInt() < 1 || ver->asInt() > 3)
    return fail("%s: unsupported checkpoint \"version\" %s (this runtime reads versions 1 "
                "to 3)",
                where.c_str(), ver ? json::dump(*ver).c_str() : "(missing)");
  ck->version = static_cast<int>(ver->asInt());
  int64_t world = 1, seed = 0, offset = 0;
  // "step" may be absent (0: e.g. weights converted from elsewhere), but when
  // present it must be a non-negative integer.
  if (intMember(where, idx, "", "step", 0, pzrt::kMaxCount, false, ck->step) ||
      intMember(where, idx, "", "world_size", 1, INT32_MAX, false, world))
    return -1;
  const json::Value *rng, *data, *plan, *extra;
  if (objectMember(where, idx, "rng", rng) || objectMember(where, idx, "data", data) ||
      objectMember(where, idx, "plan", plan) || objectMember(where, idx, "extra", extra))
    return -1;
  // The seed and offset are uint64 values, written as their int64 bit pattern.
  if (rng && (intMember(where, *rng, "rng\".\"", "seed", INT64_MIN, INT64_MAX, false, seed) ||
              intMember(where, *rng, "rng\".\"", "offset", INT64_MIN, INT64_MAX, false, offset)))
    return -1;
  ck->rngSeed = static_cast<uint64_t>(seed);
  ck->rngOffset = static_cast<uint64_t>(offset);
  if (data && intMember(where, *data, "data\".\"", "position", 0, pzrt::kMaxCount, false,
                        ck->dataPosition))
    return -1;
  ck->plan = plan ? json::dump(*plan) : "{}";
  ck->extra = extra ? json::dump(*extra) : "{}";
  if (const json::Value *files = idx.find("files")) {
    if (!files->isArray())
      return fail("%s: \"files\" must be an array of file names (%s)", where.c_str(),
                  got(*files).c_str());
    for (const json::Value &f : files->items())
      if (!plainFileName(&f))
        return fail("%s: \"files\" holds %s, which is not a plain file name", where.c_str(),
                    json::dump(f).c_str());
  }
  if (const json::Value *cs = idx.find("checksums"); cs && parseChecksums(ck, where, *cs))
    return -1;
  const json::Value *ts = idx.find("tensors");
  if (!ts || !ts->isObject())
    return fail("%s: no \"tensors\" object", where.c_str());
  for (const auto &m : ts->members())
    if (parseTensor(ck, where, m.first, m.second))
      return -1;
  return 0;
}

// The tensor a load asks for, when its dtype and global shape match.
const ckpt::TensorEntry *checkRequest(const pzrt_ckpt *ck, const char *name, pzrt_dtype dtype,
                                      int ndim, const int64_t *global_shape) {
  if (pzrt_ckpt_tensor_info(ck, name, nullptr, nullptr, nullptr))
    return nullptr;
  const ckpt::TensorEntry *t = ck->find(name);
  std::vector<int64_t> shape;
  if (global_shape && ndim > 0)
    shape.assign(global_shape, global_shape + ndim);
  if (dtype != t->dtype || shape != t->shape) {
    fail("checkpoint '%s': tensor '%s' is %s %s, but %s %s was requested", ck->dir.c_str(), name,
         pzrt_dtype_name(t->dtype), ckpt::shapeStr(t->shape).c_str(), pzrt_dtype_name(dtype),
         ckpt::shapeStr(shape).c_str());
    return nullptr;
  }
  return t;
}

// Fills `want` (a box or a flat range, its data at out) from the stored
// slices that overlap it, opening only their files.
int assemble(pzrt_ckpt *ck, const ckpt::TensorEntry &t, const ckpt::Slice &want,
             const std::string &what, void *out) {
  const size_t elem = pzrt_dtype_size(t.dtype);
  int64_t copied = 0;
  for (const ckpt::Slice &s : t.slices) {
    if (!ckpt::overlaps(s, want, t.shape))
      continue;
    const pzrt::StFile *f = ck->file(s.file);
    if (!f)
      return -1;
    const std::string &key = s.key.empty() ? t.name : s.key;
    const pzrt::StTensor *st = f->find(key);
    if (!st)
      return fail("%s: '%s' does not contain the tensor (as '%s') although index.json says so",
                  what.c_str(), s.file.c_str(), key.c_str());
    if (st->dtype != t.dtype || st->shape != ckpt::storedShape(s))
      return fail("%s: '%s' holds it as %s %s, but index.json says %s %s (slice %s)",
                  what.c_str(), s.file.c_str(), pzrt_dtype_name(st->dtype),
                  ckpt::shapeStr(st->shape).c_str(), pzrt_dtype_name(t.dtype),
                  ckpt::shapeStr(ckpt::storedShape(s)).c_str(), ckpt::sliceStr(s).c_str());
    copied += ckpt::copyRegion(f->dataStart + st->begin, s, out, want, t.shape, elem);
  }
  if (copied != ckpt::sliceNumel(want))
    return fail("%s: the checkpoint's slices supplied %lld of %lld elements", what.c_str(),
                (long long)copied, (long long)ckpt::sliceNumel(want));
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

int pzrt_ckpt_has_checksums(const pzrt_ckpt *ck) { return ck && ck->haveSums ? 1 : 0; }

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
  const ckpt::TensorEntry *t = checkRequest(ck, name, dtype, ndim, global_shape);
  if (!t)
    return -1;
  ckpt::Slice want;
  for (size_t d = 0; d < t->shape.size(); ++d) {
    want.offsets.push_back(offsets ? offsets[d] : 0);
    want.extents.push_back(extents ? extents[d] : t->shape[d]);
  }
  std::string what = "checkpoint '" + ck->dir + "': load of tensor '" + name + "'";
  if (ckpt::checkRegion(what, t->shape, want.offsets, want.extents))
    return -1;
  return assemble(ck, *t, want, what, out);
}

int pzrt_ckpt_load_flat(pzrt_ckpt *ck, const char *name, pzrt_dtype dtype, int ndim,
                        const int64_t *global_shape, int64_t begin, int64_t end, void *out) {
  const ckpt::TensorEntry *t = checkRequest(ck, name, dtype, ndim, global_shape);
  if (!t)
    return -1;
  ckpt::Slice want;
  want.flat = true;
  want.begin = begin;
  want.end = end;
  std::string what = "checkpoint '" + ck->dir + "': load of tensor '" + name + "' (" +
                     ckpt::sliceStr(want) + ")";
  if (ckpt::checkFlatRange(what, t->shape, begin, end))
    return -1;
  return assemble(ck, *t, want, what, out);
}

} // extern "C"
