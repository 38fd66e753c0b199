// Training state: counted buffers, initial weights, checkpoints, and the
// finite checks of loaded tensors.
#include "train/train_internal.h"

#include "pzrt/arena.h"
#include "pzrt/checkpoint.h"
#include "pzrt/error.h"

#include "core/internal.h"

#include "io/ckpt_dir.h"
#include "io/json.h"
#include "io/safetensors.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <deque>
#include <unistd.h>

namespace json = pzrt::json;

namespace pzrt::train {

// ---------------------------------------------------------------- buffers

Buffers::~Buffers() {
  if (!owning)
    return;
  for (auto *list : {&params, &grads, &accum, &states, &outputs})
    for (void *p : *list)
      pzrt_mem_free(p);
  for (auto *slotted : {&inputs, &saved, &weightSaved})
    for (const std::vector<void *> &slot : *slotted)
      for (void *p : slot)
        pzrt_mem_free(p);
  pzrt_mem_free(scalars);
  pzrt_arena_destroy(arena);
}

namespace {

// allocateBuffers' allocations, or, for planBuffers (plan != NULL), a
// record of them and a dummy non-NULL address.
struct Allocator {
  std::vector<PlannedBuffer> *plan = nullptr;
  void *operator()(uint64_t bytes, pzrt_mem_category cat, const char *what,
                   const char *name) const {
    if (plan) {
      plan->push_back({bytes, pzrt::format("%s '%s'", what, name)});
      return reinterpret_cast<void *>(uintptr_t{64});
    }
    void *p = pzrt_mem_alloc(static_cast<size_t>(bytes), cat);
    if (!p)
      throwInternal("allocating %llu bytes for %s '%s': %s", (unsigned long long)bytes, what,
                    name, pzrt_last_error());
    return p;
  }
};

void allocateWith(const pzrt_program *m, Buffers &b, const Allocator &alloc);

} // namespace

void allocateBuffers(const pzrt_program *m, Buffers &b) { allocateWith(m, b, Allocator{}); }

std::vector<PlannedBuffer> planBuffers(const pzrt_program *m) {
  std::vector<PlannedBuffer> plan;
  Buffers dry;
  dry.owning = false;
  allocateWith(m, dry, Allocator{&plan});
  return plan;
}

namespace {

void allocateWith(const pzrt_program *m, Buffers &b, const Allocator &alloc) {
  for (int i = 0; i < m->num_params; ++i) {
    const pzrt_tensor_spec &s = m->params[i];
    b.params.push_back(alloc(specBytes(s), PZRT_MEM_PARAMS, "parameter", s.name));
  }
  for (int i = 0; i < m->num_params; ++i) {
    const pzrt_tensor_spec &s = m->params[i];
    b.grads.push_back(alloc(gradBytes(m, i), PZRT_MEM_GRADS, "the gradient of", s.name));
  }
  if (usesAccumulators(m))
    for (int i = 0; i < m->num_params; ++i) {
      const pzrt_tensor_spec &s = m->params[i];
      b.accum.push_back(
          alloc(gradBytes(m, i), PZRT_MEM_WORKSPACE, "the gradient accumulator of", s.name));
    }
  for (int i = 0; i < m->num_states; ++i) {
    const pzrt_tensor_spec &s = m->states[i];
    b.states.push_back(alloc(specBytes(s), PZRT_MEM_OPTIMIZER, "optimizer state", s.name));
  }
  if (alloc.plan)
    alloc.plan->push_back({m->arena_bytes, "the activation arena"});
  else
    b.arena = pzrt_arena_create(static_cast<size_t>(m->arena_bytes),
                                static_cast<size_t>(m->arena_planned_peak));
  if (!b.arena && !alloc.plan)
    throwInternal("allocating the activation arena of %llu bytes: %s",
                  (unsigned long long)m->arena_bytes, pzrt_last_error());
  // A stage program: num_slots buffers per input and saved tensor (the
  // micro-batches in flight), one per output; any other program: one slot.
  const int slots = m->num_slots > 0 ? m->num_slots : 1;
  b.inputs.resize(static_cast<size_t>(slots));
  b.saved.resize(static_cast<size_t>(slots));
  for (int k = 0; k < slots; ++k) {
    for (int i = 0; i < m->num_inputs; ++i) {
      const pzrt_tensor_spec &s = m->inputs[i];
      b.inputs[k].push_back(alloc(specBytes(s), PZRT_MEM_DATA, "input", s.name));
    }
    for (int i = 0; i < m->num_saved; ++i) {
      const pzrt_tensor_spec &s = m->saved[i];
      b.saved[k].push_back(savedPool(m, i) == 0 ? alloc(specBytes(s), PZRT_MEM_WORKSPACE,
                                                        "saved tensor", s.name)
                                                : nullptr);
    }
  }
  b.weightSaved.resize(static_cast<size_t>(std::max(m->num_weight_slots, 0)));
  for (std::vector<void *> &slot : b.weightSaved)
    for (int i = 0; i < m->num_saved; ++i) {
      const pzrt_tensor_spec &s = m->saved[i];
      slot.push_back(savedPool(m, i) == 1 ? alloc(specBytes(s), PZRT_MEM_WORKSPACE,
                                                  "saved tensor", s.name)
                                          : nullptr);
    }
  for (int i = 0; i < m->num_outputs; ++i) {
    const pzrt_tensor_spec &s = m->outputs[i];
    b.outputs.push_back(alloc(specBytes(s), PZRT_MEM_WORKSPACE, "output", s.name));
  }
  b.scalars = alloc(kScalarBytes, PZRT_MEM_WORKSPACE, "the step's", "scalars");
  for (int f = 0; f < m->num_functions; ++f) {
    const pzrt_function_entry &e = m->functions[f];
    std::vector<std::vector<void *>> perMicroBatch;
    for (int micro = 0; micro < std::max(m->grad_accum, 1); ++micro) {
      const int k = micro % slots;
      std::vector<void *> args;
      for (int a = 0; a < e.num_args; ++a) {
        const pzrt_arg_binding &x = e.args[a];
        switch (x.kind) {
        case PZRT_ARG_PARAM: args.push_back(b.params[x.index]); break;
        case PZRT_ARG_GRAD: args.push_back(b.grads[x.index]); break;
        case PZRT_ARG_ACCUM: // not allocated when the schedule never runs it
          args.push_back(b.accum.empty() ? nullptr : b.accum[x.index]);
          break;
        case PZRT_ARG_STATE: args.push_back(b.states[x.index]); break;
        case PZRT_ARG_INPUT: args.push_back(b.inputs[k][x.index]); break;
        case PZRT_ARG_SAVED:
          args.push_back(savedPool(m, x.index) == 0
                             ? b.saved[k][x.index]
                             : b.weightSaved[micro % m->num_weight_slots][x.index]);
          break;
        case PZRT_ARG_OUTPUT: args.push_back(b.outputs[x.index]); break;
        default: args.push_back(static_cast<char *>(b.scalars) + 8 * x.index); break;
        }
      }
      perMicroBatch.push_back(std::move(args));
    }
    b.bindings.push_back(std::move(perMicroBatch));
  }
}

} // namespace

// ---------------------------------------------------------------- finite checks

namespace {

float loadFloat(const void *x, int64_t i, pzrt_dtype dtype) {
  switch (dtype) {
  case PZRT_F32:
    return static_cast<const float *>(x)[i];
  case PZRT_BF16:
    return pzrt_bf16_to_f32(static_cast<const uint16_t *>(x)[i]);
  default:
    return pzrt_f16_to_f32(static_cast<const uint16_t *>(x)[i]);
  }
}

} // namespace

bool hasNonFinite(const void *x, int64_t n, pzrt_dtype dtype) {
  if (dtype == PZRT_F32)
    return pzrt_has_overflow(static_cast<const float *>(x), n) != 0;
  if (dtype == PZRT_F64) {
    for (int64_t i = 0; i < n; ++i)
      if (!std::isfinite(static_cast<const double *>(x)[i]))
        return true;
    return false;
  }
  if (dtype != PZRT_BF16 && dtype != PZRT_F16)
    return false;
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(loadFloat(x, i, dtype)))
      return true;
  return false;
}

int64_t firstNonFinite(const void *x, int64_t n, pzrt_dtype dtype) {
  if (!hasNonFinite(x, n, dtype))
    return -1;
  for (int64_t i = 0; i < n; ++i) {
    double v = dtype == PZRT_F64 ? static_cast<const double *>(x)[i] : loadFloat(x, i, dtype);
    if (!std::isfinite(v))
      return i;
  }
  return -1;
}

// ---------------------------------------------------------------- initial weights

std::string resolveInitFile(const char *initFile) {
  std::string f = initFile;
  if (!f.empty() && f[0] == '/')
    return f;
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return f; // relative to the working directory as a last resort
  std::string exe(buf, static_cast<size_t>(n));
  size_t slash = exe.find_last_of('/');
  return (slash == std::string::npos ? std::string(".") : exe.substr(0, slash)) + "/" + f;
}

namespace {

// Copies n elements from `in` (dtype from) to `out` (dtype to): equal
// dtypes, or F32 to BF16/F16 (rounded to nearest even).
void convertRun(const unsigned char *in, pzrt_dtype from, pzrt_dtype to, int64_t n,
                unsigned char *out) {
  if (from == to) {
    std::memcpy(out, in, static_cast<size_t>(n) * pzrt_dtype_size(from));
    return;
  }
  for (int64_t j = 0; j < n; ++j) {
    float v;
    std::memcpy(&v, in + j * 4, 4);
    uint16_t h = to == PZRT_BF16 ? pzrt_f32_to_bf16(v) : pzrt_f32_to_f16(v);
    std::memcpy(out + j * 2, &h, 2);
  }
}

// Zeroes a flat-sharded buffer's padding: its elements from r.end - r.begin
// to the chunk's end.
void zeroPadding(const pzrt_tensor_spec &s, const FlatRange &r, void *buf) {
  const size_t elem = pzrt_dtype_size(s.dtype);
  const int64_t valid = r.end - r.begin;
  std::memset(static_cast<unsigned char *>(buf) + valid * static_cast<int64_t>(elem), 0,
              static_cast<size_t>(r.chunk - valid) * elem);
}

// Visits the rows (runs along the last dim) of a box of `ext` placed at
// `at` inside a row-major tensor of shape `dims`: fn(element index in the
// box, element index in the tensor, row length).
template <typename Fn>
void forEachRow(const std::vector<int64_t> &ext, const std::vector<int64_t> &at,
                const int64_t *dims, Fn fn) {
  const size_t n = ext.size();
  int64_t total = 1;
  for (int64_t e : ext)
    total *= e;
  if (total == 0)
    return;
  const int64_t run = n ? ext[n - 1] : 1;
  std::vector<int64_t> idx(n, 0);
  for (int64_t done = 0; done < total; done += run) {
    int64_t to = 0;
    for (size_t d = 0; d < n; ++d)
      to = to * dims[d] + at[d] + idx[d];
    fn(done, to, run);
    for (size_t d = n >= 1 ? n - 1 : 0; d-- > 0;) {
      if (++idx[d] < ext[d])
        break;
      idx[d] = 0;
    }
  }
}

// Copies the rows of a box (extents ext at `at` inside a row-major tensor of
// shape dims) between its packed elements and the tensor, into the tensor
// when intoTensor. `tensor` holds the tensor's elements from index `first`
// on (a chunk of it).
void copyBoxRows(const std::vector<int64_t> &ext, const std::vector<int64_t> &at,
                 const int64_t *dims, size_t elem, unsigned char *packed, unsigned char *tensor,
                 bool intoTensor, int64_t first = 0) {
  forEachRow(ext, at, dims, [&](int64_t in, int64_t to, int64_t run) {
    unsigned char *x = packed + in * elem, *y = tensor + (to - first) * elem;
    std::memcpy(intoTensor ? y : x, intoTensor ? x : y, run * elem);
  });
}

// Copies the box (offsets, extents) of a C-order tensor of shape `global`
// (element dtype `from`) into dst (C order, dtype `to`), converting F32 to
// BF16/F16 when the dtypes differ.
void copySlice(const unsigned char *src, pzrt_dtype from, const std::vector<int64_t> &global,
               const std::vector<int64_t> &offsets, const std::vector<int64_t> &extents,
               pzrt_dtype to, void *dst) {
  const int64_t inElem = pzrt_dtype_size(from), outElem = pzrt_dtype_size(to);
  forEachRow(extents, offsets, global.data(), [&](int64_t at, int64_t in, int64_t run) {
    convertRun(src + in * inElem, from, to, run, static_cast<unsigned char *>(dst) + at * outElem);
  });
}

} // namespace

// A clipped slice (slicePart): the part's elements (packed, row-major) go
// to the front of each dim of the rank's block, the padding is zeroed.
void placePart(const pzrt_tensor_spec &s, const SlicePart &p, const void *part, void *block) {
  std::memset(block, 0, specBytes(s));
  copyBoxRows(p.extents, std::vector<int64_t>(p.extents.size(), 0), s.shape,
              pzrt_dtype_size(s.dtype), static_cast<unsigned char *>(const_cast<void *>(part)),
              static_cast<unsigned char *>(block), /*intoTensor=*/true);
}

// The inverse: the part of the block that holds elements, packed.
std::vector<unsigned char> takePart(const pzrt_tensor_spec &s, const SlicePart &p,
                                    const void *block) {
  const size_t e = pzrt_dtype_size(s.dtype);
  std::vector<unsigned char> part(static_cast<size_t>(numel(p.extents)) * e);
  copyBoxRows(p.extents, std::vector<int64_t>(p.extents.size(), 0), s.shape, e, part.data(),
              static_cast<unsigned char *>(const_cast<void *>(block)), /*intoTensor=*/false);
  return part;
}

void copyRegionRows(const pzrt_program *m, const pzrt_tensor_spec &s, int rank,
                    const ChunkRegion &c, void *packed, void *chunk, bool toChunk) {
  copyBoxRows(c.extents, c.at, blockShape(m, s).data(), pzrt_dtype_size(s.dtype),
              static_cast<unsigned char *>(packed), static_cast<unsigned char *>(chunk), toChunk,
              flatRange(m, s, rank).begin);
}

namespace {

// Reads a region of s's program tensor, packed, into out with `read` over
// the stored tensor: the region itself, or its stored pieces (split_groups)
// placed at their offsets along the split dim.
template <typename Read>
int readRegion(const pzrt_program *m, const pzrt_tensor_spec &s, const std::vector<int64_t> &off,
               const std::vector<int64_t> &ext, void *out, Read &read) {
  if (s.split_groups < 2)
    return read(off, ext, out);
  const size_t e = pzrt_dtype_size(s.dtype);
  const int d = boxSplitDim(s);
  for (const StoredPiece &p : storedPieces(m, s, off, ext)) {
    std::vector<unsigned char> piece(static_cast<size_t>(numel(p.extents)) * e);
    if (int rc = read(p.offsets, p.extents, piece.data()))
      return rc;
    std::vector<int64_t> at(ext.size(), 0);
    at[d] = p.at;
    copyBoxRows(p.extents, at, ext.data(), e, piece.data(), static_cast<unsigned char *>(out),
                /*intoTensor=*/true);
  }
  return 0;
}

// Fills the rank's block of s with `read(offsets, extents, out)`, which
// reads that region of the whole tensor, packed, into out: straight into
// the block, or, when the block is clipped (slicePart), into a packed part
// then placed among zeroed padding (an empty part reads nothing). Returns
// read's status. A flat chunk of a block (tp with ZeRO) reads each of its
// regions (chunkRegions) and places their rows; the rest is zeroed.
template <typename Read>
int fillBlock(const pzrt_program *m, const pzrt_tensor_spec &s, int rank, void *block,
              Read read) {
  if (isChunkOfBlock(s)) {
    std::memset(block, 0, specBytes(s));
    for (const ChunkRegion &c : chunkRegions(m, s, rank)) {
      std::vector<unsigned char> part(static_cast<size_t>(numel(c.extents)) *
                                      pzrt_dtype_size(s.dtype));
      if (int rc = readRegion(m, s, c.offsets, c.extents, part.data(), read))
        return rc;
      copyRegionRows(m, s, rank, c, part.data(), block, /*toChunk=*/true);
    }
    return 0;
  }
  SlicePart p = slicePart(m, s, rank);
  if (!p.clipped)
    return readRegion(m, s, p.offsets, p.extents, block, read);
  const int64_t n = numel(p.extents);
  std::vector<unsigned char> part(static_cast<size_t>(n) * pzrt_dtype_size(s.dtype));
  int rc = n ? readRegion(m, s, p.offsets, p.extents, part.data(), read) : 0;
  if (!rc)
    placePart(s, p, part.data(), block);
  return rc;
}

} // namespace

void loadInitFile(const pzrt_program *m, Buffers &b, int rank) {
  std::string path = resolveInitFile(m->init_file);
  pzrt::StFile f;
  if (pzrt::readSafetensors(path, f))
    throwUsage("initial weights: %s", pzrt_last_error());
  for (int i = 0; i < m->num_params; ++i) {
    const pzrt_tensor_spec &s = m->params[i];
    const pzrt::StTensor *t = f.find(s.name);
    std::vector<int64_t> global = globalShape(s);
    if (!t)
      throwUsage("initial weights '%s' have no tensor '%s' (parameter %d of %d, %s %s)",
                 path.c_str(), s.name, i + 1, m->num_params, pzrt_dtype_name(s.dtype),
                 vecStr(global).c_str());
    if (t->shape != global)
      throwUsage("initial weights '%s': tensor '%s' has shape %s, but the parameter is %s",
                 path.c_str(), s.name, vecStr(t->shape).c_str(), vecStr(global).c_str());
    if (t->dtype != s.dtype && t->dtype != PZRT_F32)
      throwUsage("initial weights '%s': tensor '%s' is %s; expected F32 or %s", path.c_str(),
                 s.name, pzrt_dtype_name(t->dtype), pzrt_dtype_name(s.dtype));
    int64_t valid = numel(s);
    if (isFlatSharded(s) && !isChunkOfBlock(s)) { // its flat range of the tensor, then zeros
      FlatRange r = flatRange(m, s, rank);
      convertRun(f.dataStart + t->begin + r.begin * static_cast<int64_t>(pzrt_dtype_size(t->dtype)),
                 t->dtype, s.dtype, r.end - r.begin, static_cast<unsigned char *>(b.params[i]));
      zeroPadding(s, r, b.params[i]);
      valid = r.end - r.begin;
    } else {
      fillBlock(m, s, rank, b.params[i],
                [&](const std::vector<int64_t> &off, const std::vector<int64_t> &ext, void *out) {
                  copySlice(f.dataStart + t->begin, t->dtype, global, off, ext, s.dtype, out);
                  return 0;
                });
    }
    if (int64_t at = firstNonFinite(b.params[i], valid, s.dtype); at >= 0)
      throwUsage("initial weights '%s': tensor '%s' holds a NaN or infinity (element %lld of "
                 "this rank's slice)",
                 path.c_str(), s.name, (long long)at);
  }
}

// ---------------------------------------------------------------- checkpoints

namespace {

struct CkptCloser {
  pzrt_ckpt *ck;
  ~CkptCloser() { pzrt_ckpt_close(ck); }
};

// Loads this rank's part of spec s: its box, or its flat range (padding
// zeroed). The finite check covers the loaded elements only.
void loadTensor(pzrt_ckpt *ck, const std::string &dir, const pzrt_program *m, int rank,
                const pzrt_tensor_spec &s, const char *what, void *out) {
  pzrt_dtype dt;
  int nd = 0;
  int64_t shape[PZRT_CKPT_MAX_DIMS];
  if (pzrt_ckpt_tensor_info(ck, s.name, &dt, &nd, shape))
    throwUsage("--load '%s': the checkpoint has no tensor '%s' (%s of the model); was it saved "
               "by another model or optimizer?",
               dir.c_str(), s.name, what);
  std::vector<int64_t> global = globalShape(s), have(shape, shape + nd);
  if (dt != s.dtype || have != global)
    throwUsage("--load '%s': tensor '%s' is %s %s in the checkpoint, but the model's %s is %s %s",
               dir.c_str(), s.name, pzrt_dtype_name(dt), vecStr(have).c_str(), what,
               pzrt_dtype_name(s.dtype), vecStr(global).c_str());
  int64_t dummy = 0, valid = numel(s);
  int rc = 0;
  if (isFlatSharded(s) && !isChunkOfBlock(s)) {
    FlatRange r = flatRange(m, s, rank);
    rc = pzrt_ckpt_load_flat(ck, s.name, s.dtype, s.global_ndim,
                             s.global_ndim ? global.data() : &dummy, r.begin, r.end, out);
    zeroPadding(s, r, out);
    valid = r.end - r.begin;
  } else {
    rc = fillBlock(m, s, rank, out,
                   [&](const std::vector<int64_t> &off, const std::vector<int64_t> &ext,
                       void *to) {
                     // regions of the whole tensor (a chunk of a block: global_ndim)
                     const int nd = static_cast<int>(global.size());
                     return pzrt_ckpt_load(ck, s.name, s.dtype, nd, nd ? global.data() : &dummy,
                                           nd ? off.data() : &dummy, nd ? ext.data() : &dummy,
                                           to);
                   });
  }
  if (rc)
    throwUsage("--load '%s': %s", dir.c_str(), pzrt_last_error());
  if (int64_t at = firstNonFinite(out, valid, s.dtype); at >= 0)
    throwUsage("--load '%s': %s '%s' holds a NaN or infinity (element %lld of this rank's "
               "slice); the checkpoint was saved after training diverged, or is damaged",
               dir.c_str(), what, s.name, (long long)at);
}

} // namespace

void loadCheckpoint(const pzrt_program *m, Buffers &b, const std::string &given, TrainPosition &pos,
                    std::vector<std::string> &notes, int rank) {
  std::string note;
  const std::string dir = ckpt::resolveLoad(given, note);
  if (!note.empty())
    notes.push_back("--load: " + note);
  pzrt_ckpt *ck = pzrt_ckpt_open(dir.c_str());
  if (!ck)
    throwUsage("--load '%s': %s", dir.c_str(), pzrt_last_error());
  CkptCloser closer{ck};
  if (!pzrt_ckpt_has_checksums(ck))
    notes.push_back("--load '" + dir +
                    "': its index.json records no checksums (a checkpoint of an earlier "
                    "release); its files are loaded without verification");
  for (int i = 0; i < m->num_params; ++i)
    loadTensor(ck, dir, m, rank, m->params[i], "parameter", b.params[i]);
  for (int i = 0; i < m->num_states; ++i)
    loadTensor(ck, dir, m, rank, m->states[i], "optimizer state", b.states[i]);
  pzrt_ckpt_info info;
  pzrt_ckpt_get_info(ck, &info);
  if (info.step < 0 || info.data_position < 0)
    throwUsage("--load '%s': step %lld or data position %lld is negative", dir.c_str(),
               (long long)info.step, (long long)info.data_position);
  pos.step = info.step;
  pos.seed = info.rng_seed;
  pos.dataPosition = info.data_position;
  pos.appliedUpdates = info.step;
  pzrt_loss_scaler_init_default(&pos.scaler);
  json::Value extra;
  std::string err;
  const std::string where = "--load '" + dir + "': index.json: \"extra\"";
  if (!info.extra_json || !json::parse(info.extra_json, extra, err) || !extra.isObject())
    return;
  auto intIn = [&](const json::Value &obj, const char *key, int64_t lo, int64_t hi,
                   int64_t &out) {
    const json::Value *v = obj.find(key);
    if (!v)
      return;
    if (!v->isInt() || v->asInt() < lo || v->asInt() > hi)
      throwUsage("%s: \"%s\" must be an integer in [%lld, %lld] (got %s)", where.c_str(), key,
                 (long long)lo, (long long)hi, json::dump(*v).c_str());
    out = v->asInt();
  };
  intIn(extra, "optimizer_step", 0, info.step, pos.appliedUpdates);
  const json::Value *ls = extra.find("loss_scaler");
  if (!ls)
    return;
  if (!ls->isObject())
    throwUsage("%s: \"loss_scaler\" must be an object", where.c_str());
  auto num = [&](const char *k, double &out) {
    const json::Value *v = ls->find(k);
    if (!v)
      return;
    if (!v->isNumber() || !std::isfinite(v->asDouble()) || !(v->asDouble() > 0))
      throwUsage("%s: \"loss_scaler\".\"%s\" must be a positive number (got %s)",
                 where.c_str(), k, json::dump(*v).c_str());
    out = v->asDouble();
  };
  num("scale", pos.scaler.scale);
  num("growth_factor", pos.scaler.growth_factor);
  num("backoff_factor", pos.scaler.backoff_factor);
  num("min_scale", pos.scaler.min_scale);
  int64_t good = pos.scaler.good_steps, interval = pos.scaler.growth_interval;
  intIn(*ls, "good_steps", 0, INT32_MAX, good);
  intIn(*ls, "growth_interval", 1, INT32_MAX, interval);
  pos.scaler.good_steps = static_cast<decltype(pos.scaler.good_steps)>(good);
  pos.scaler.growth_interval = static_cast<decltype(pos.scaler.growth_interval)>(interval);
}

void saveCheckpoint(const pzrt_program *m, const Buffers &b, const std::string &dir, pzrt_comm *comm,
                    const TrainPosition &pos, int64_t globalBatch, int keepLast) {
  saveCheckpoint({{m, &b}}, dir, comm, pos, globalBatch, keepLast);
}

void saveCheckpoint(const std::vector<std::pair<const pzrt_program *, const Buffers *>> &programs,
                    const std::string &dir, pzrt_comm *comm, const TrainPosition &pos,
                    int64_t globalBatch, int keepLast) {
  const pzrt_program *m = programs.front().first;
  struct WriterCloser {
    pzrt_ckpt_writer *w;
    ~WriterCloser() { pzrt_ckpt_writer_destroy(w); }
  } w{pzrt_ckpt_writer_create(dir.c_str(), comm)};
  if (!w.w)
    throwInternal("checkpoint save to '%s': %s", dir.c_str(), pzrt_last_error());
  if (keepLast > 0 && pzrt_ckpt_writer_set_keep_last(w.w, keepLast))
    throwInternal("checkpoint save to '%s': %s", dir.c_str(), pzrt_last_error());
  // The writer copies shapes and regions at once but reads the data at
  // commit: packed clipped slices live until then (stable addresses).
  std::deque<std::vector<unsigned char>> parts;
  const int rank = comm ? pzrt_comm_rank(comm) : 0; // the grid rank, as in createGroupComms
  // A region of s's program tensor, packed at data: its stored pieces
  // (split_groups), each packed again, or itself.
  auto addRegion = [&](const pzrt_tensor_spec &s, const std::vector<int64_t> &global,
                       const std::vector<int64_t> &off, const std::vector<int64_t> &ext,
                       const void *data) {
    if (s.split_groups < 2)
      return pzrt_ckpt_writer_add(w.w, s.name, s.dtype, static_cast<int>(global.size()),
                                  global.data(), off.data(), ext.data(), data);
    const size_t e = pzrt_dtype_size(s.dtype);
    const int d = boxSplitDim(s);
    for (const StoredPiece &p : storedPieces(m, s, off, ext)) {
      parts.emplace_back(static_cast<size_t>(numel(p.extents)) * e);
      unsigned char *to = parts.back().data();
      std::vector<int64_t> at(ext.size(), 0);
      at[d] = p.at;
      copyBoxRows(p.extents, at, ext.data(), e, to,
                  static_cast<unsigned char *>(const_cast<void *>(data)), /*intoTensor=*/false);
      if (int rc = pzrt_ckpt_writer_add(w.w, s.name, s.dtype, static_cast<int>(global.size()),
                                        global.data(), p.offsets.data(), p.extents.data(), to))
        return rc;
    }
    return 0;
  };
  auto add = [&](const pzrt_tensor_spec &s, const void *data) {
    const std::vector<int64_t> global = globalShape(s);
    int rc = 0;
    if (isChunkOfBlock(s)) { // each region, packed, as a box of the tensor
      for (const ChunkRegion &c : chunkRegions(m, s, rank)) {
        if (rc)
          break;
        parts.emplace_back(static_cast<size_t>(numel(c.extents)) * pzrt_dtype_size(s.dtype));
        copyRegionRows(m, s, rank, c, parts.back().data(), const_cast<void *>(data),
                       /*toChunk=*/false);
        rc = addRegion(s, global, c.offsets, c.extents, parts.back().data());
      }
    } else if (isFlatSharded(s)) { // the valid range only (the writer skips an empty one)
      FlatRange r = flatRange(m, s, rank);
      rc = pzrt_ckpt_writer_add_flat(w.w, s.name, s.dtype, s.global_ndim, global.data(), r.begin,
                                     r.end, data);
    } else {
      SlicePart p = slicePart(m, s, rank);
      if (p.clipped) { // the elements only, packed (the writer keeps a pointer until commit)
        parts.push_back(takePart(s, p, data));
        data = parts.back().data();
      }
      rc = addRegion(s, global, p.offsets, p.extents, data);
    }
    if (rc)
      throwInternal("checkpoint save to '%s': %s", dir.c_str(), pzrt_last_error());
  };
  for (const auto &[program, buffers] : programs) {
    m = program;
    for (int i = 0; i < m->num_params; ++i)
      add(m->params[i], buffers->params[i]);
    for (int i = 0; i < m->num_states; ++i)
      add(m->states[i], buffers->states[i]);
  }
  m = programs.front().first;

  json::Value extra = json::Value::object(), ls = json::Value::object();
  extra.set("model", m->name ? m->name : "");
  extra.set("optimizer_step", pos.appliedUpdates);
  extra.set("global_batch", globalBatch);
  extra.set("grad_accum", m->grad_accum);
  ls.set("scale", pos.scaler.scale);
  ls.set("good_steps", pos.scaler.good_steps);
  ls.set("growth_interval", pos.scaler.growth_interval);
  ls.set("growth_factor", pos.scaler.growth_factor);
  ls.set("backoff_factor", pos.scaler.backoff_factor);
  ls.set("min_scale", pos.scaler.min_scale);
  extra.set("loss_scaler", std::move(ls));
  std::string extraText = json::dump(extra);

  pzrt_ckpt_info info{};
  info.step = pos.step;
  info.plan_json = m->plan_json;
  info.rng_seed = pos.seed;
  info.rng_offset = static_cast<uint64_t>(pos.step);
  info.data_position = pos.dataPosition;
  info.extra_json = extraText.c_str();
  if (pzrt_ckpt_writer_commit(w.w, &info))
    throwInternal("checkpoint save to '%s': %s", dir.c_str(), pzrt_last_error());
}

} // namespace pzrt::train
