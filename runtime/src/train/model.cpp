// Helpers over the compiler-emitted pzrt_program: sizes, shapes and checks.
#include "train/train_internal.h"

#include "core/checked.h"
#include "core/internal.h"
#include "io/ckpt_common.h"

#include <algorithm>
#include <cstring>
#include <set>

namespace pzrt::train {

// validateModel checks every spec's element and byte counts (checkedBytes),
// so these cannot overflow afterwards.
int64_t numel(const pzrt_tensor_spec &spec) {
  int64_t n = 1;
  for (int d = 0; d < spec.ndim; ++d)
    n *= spec.shape[d];
  return n;
}

int64_t numel(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

uint64_t specBytes(const pzrt_tensor_spec &spec) {
  return static_cast<uint64_t>(numel(spec)) * pzrt_dtype_size(spec.dtype);
}

std::string shapeStr(const pzrt_tensor_spec &spec) {
  std::string s = "[";
  for (int d = 0; d < spec.ndim; ++d)
    s += (d ? ", " : "") + std::to_string(spec.shape[d]);
  return s + "]";
}

std::string vecStr(const std::vector<int64_t> &v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

std::string specStr(const pzrt_tensor_spec &spec) {
  static const char *const kNames[PZRT_DTYPE_COUNT] = {"float32", "float16", "bfloat16",
                                                       "float64", "int32",   "int64",
                                                       "uint8",   "uint16",  "uint32",
                                                       "uint64",  "int8",    "int16"};
  const char *dt = spec.dtype >= 0 && spec.dtype < PZRT_DTYPE_COUNT ? kNames[spec.dtype] : "?";
  return std::string(dt) + " " + shapeStr(spec);
}

bool isSharded(const pzrt_tensor_spec &spec) { return spec.global_shape != nullptr; }

bool isFlatSharded(const pzrt_tensor_spec &spec) { return spec.shard_axes != 0; }

bool isChunkOfBlock(const pzrt_tensor_spec &spec) {
  return isFlatSharded(spec) && spec.dim_axes;
}

std::vector<int64_t> globalShape(const pzrt_tensor_spec &spec) {
  if (isFlatSharded(spec))
    return std::vector<int64_t>(spec.global_shape, spec.global_shape + spec.global_ndim);
  const int64_t *g = spec.global_shape ? spec.global_shape : spec.shape;
  return std::vector<int64_t>(g, g + spec.ndim);
}

namespace {
int64_t axisSize(const pzrt_program *m, int a) { return m->grid[a] > 0 ? m->grid[a] : 1; }
} // namespace

int64_t axesSize(const pzrt_program *m, uint32_t mask) {
  int64_t n = 1;
  for (int a = 0; a < PZRT_AXIS_COUNT; ++a)
    if (mask & (1u << a))
      n *= axisSize(m, a);
  return n;
}

int64_t axesCoord(const pzrt_program *m, uint32_t mask, int rank) {
  int64_t coord[PZRT_AXIS_COUNT], r = rank;
  for (int a = PZRT_AXIS_COUNT - 1; a >= 0; --a) { // the last axis varies fastest
    coord[a] = r % axisSize(m, a);
    r /= axisSize(m, a);
  }
  int64_t k = 0;
  for (int a = 0; a < PZRT_AXIS_COUNT; ++a)
    if (mask & (1u << a))
      k = k * axisSize(m, a) + coord[a];
  return k;
}

std::vector<int64_t> blockShape(const pzrt_program *m, const pzrt_tensor_spec &spec) {
  if (!isChunkOfBlock(spec))
    return std::vector<int64_t>(spec.shape, spec.shape + spec.ndim);
  std::vector<int64_t> b;
  for (int d = 0; d < spec.global_ndim; ++d) {
    const int64_t g = spec.global_shape[d], n = axesSize(m, spec.dim_axes[d]);
    b.push_back(g / n + (g % n != 0));
  }
  return b;
}

FlatRange flatRange(const pzrt_program *m, const pzrt_tensor_spec &spec, int rank) {
  // checked by validateModel
  const int64_t n = numel(spec.dim_axes ? blockShape(m, spec) : globalShape(spec));
  const int64_t c = spec.shape[0], k = axesCoord(m, spec.shard_axes, rank);
  // k x c <= (shards - 1) x c < N + c: no overflow (c = ceil(N / shards)).
  return FlatRange{std::min(k * c, n), std::min((k + 1) * c, n), c};
}

std::vector<int64_t> sliceOffsets(const pzrt_program *m, const pzrt_tensor_spec &spec, int rank) {
  std::vector<int64_t> block = blockShape(m, spec);
  std::vector<int64_t> off(block.size(), 0);
  if (spec.global_shape && spec.dim_axes)
    for (size_t d = 0; d < block.size(); ++d)
      off[d] = axesCoord(m, spec.dim_axes[d], rank) * block[d];
  else if (spec.global_shape && spec.offsets)
    for (size_t d = 0; d < block.size(); ++d)
      off[d] = spec.offsets[d];
  return off;
}

SlicePart slicePart(const pzrt_program *m, const pzrt_tensor_spec &spec, int rank) {
  SlicePart p;
  p.offsets = sliceOffsets(m, spec, rank);
  std::vector<int64_t> g = globalShape(spec), block = blockShape(m, spec);
  for (size_t d = 0; d < block.size(); ++d) {
    p.offsets[d] = std::min(p.offsets[d], g[d]);
    p.extents.push_back(std::min(block[d], g[d] - p.offsets[d]));
    p.clipped |= p.extents[d] != block[d];
  }
  return p;
}

std::vector<ChunkRegion> chunkRegions(const pzrt_program *m, const pzrt_tensor_spec &spec,
                                      int rank) {
  const FlatRange r = flatRange(m, spec, rank);
  const SlicePart p = slicePart(m, spec, rank);
  std::vector<ChunkRegion> out;
  for (const ckpt::Slice &b : ckpt::rangeBoxes(blockShape(m, spec), r.begin, r.end)) {
    ChunkRegion c{{}, {}, b.offsets};
    bool empty = false;
    for (size_t d = 0; d < b.offsets.size(); ++d) { // clipped to the block's real part
      const int64_t e = std::min(b.offsets[d] + b.extents[d], p.extents[d]) - b.offsets[d];
      c.extents.push_back(std::max<int64_t>(e, 0));
      c.offsets.push_back(p.offsets[d] + b.offsets[d]);
      empty |= e <= 0;
    }
    if (!empty)
      out.push_back(std::move(c));
  }
  return out;
}

int boxSplitDim(const pzrt_tensor_spec &spec) {
  const int ndim = isFlatSharded(spec) ? spec.global_ndim : spec.ndim;
  int dim = -1;
  for (int d = 0; spec.dim_axes && d < ndim; ++d)
    if (spec.dim_axes[d]) {
      if (dim >= 0)
        return -1;
      dim = d;
    }
  return dim;
}

std::vector<StoredPiece> storedPieces(const pzrt_program *m, const pzrt_tensor_spec &spec,
                                      const std::vector<int64_t> &offsets,
                                      const std::vector<int64_t> &extents) {
  if (spec.split_groups < 2)
    return {StoredPiece{offsets, extents, 0}};
  // validateModel checked: one split dim d, D divisible by g x n.
  const int d = boxSplitDim(spec);
  const int64_t g = spec.split_groups, n = axesSize(m, spec.dim_axes[d]);
  const int64_t b = spec.global_shape[d] / (g * n);
  std::vector<StoredPiece> out;
  for (int64_t p = offsets[d], end = offsets[d] + extents[d]; p < end;) {
    const int64_t r = p / (g * b), i = p % (g * b) / b, j = p % b;
    const int64_t run = std::min(b - j, end - p);
    StoredPiece piece{offsets, extents, p - offsets[d]};
    piece.offsets[d] = i * n * b + r * b + j;
    piece.extents[d] = run;
    out.push_back(std::move(piece));
    p += run;
  }
  return out;
}

int inputRole(const pzrt_program *m, int i) {
  return m->input_roles ? m->input_roles[i] : PZRT_INPUT_DATA;
}

int findDataInput(const pzrt_program *m, const char *name) {
  for (int i = 0; i < m->num_inputs; ++i)
    if (inputRole(m, i) == PZRT_INPUT_DATA && m->inputs[i].name &&
        std::strcmp(m->inputs[i].name, name) == 0)
      return i;
  return -1;
}

int64_t microBatchRows(const pzrt_program *m) {
  for (int i = 0; i < m->num_inputs; ++i)
    if (inputRole(m, i) == PZRT_INPUT_DATA && m->inputs[i].ndim >= 1)
      return m->inputs[i].shape[0];
  return 1;
}

bool usesAccumulators(const pzrt_program *m) {
  for (int i = 0; i < m->num_actions; ++i) {
    const pzrt_action &a = m->schedule[i];
    if (a.kind != PZRT_ACTION_RUN || a.function < 0 || a.function >= m->num_functions)
      continue;
    const pzrt_function_entry &f = m->functions[a.function];
    for (int k = 0; k < f.num_args; ++k)
      if (f.args[k].kind == PZRT_ARG_ACCUM)
        return true;
  }
  return false;
}

uint64_t gradBytes(const pzrt_program *m, int i) {
  const pzrt_tensor_spec &s = m->params[i];
  if (!m->grad_shard_axes || isFlatSharded(s))
    return specBytes(s);
  uint64_t n = 1;
  for (int d = 0; d < s.ndim; ++d)
    n *= static_cast<uint64_t>(s.shape[d]); // bounded by validateModel
  uint64_t shards = static_cast<uint64_t>(axesSize(m, m->grad_shard_axes));
  return (n + shards - 1) / shards * pzrt_dtype_size(s.dtype);
}

uint64_t plannedPeakFormula(const pzrt_program *m) {
  uint64_t total = kScalarBytes;
  for (int i = 0; i < m->num_params; ++i)
    total += specBytes(m->params[i]) + gradBytes(m, i) * (usesAccumulators(m) ? 2 : 1);
  for (int i = 0; i < m->num_states; ++i)
    total += specBytes(m->states[i]);
  // A stage program: num_slots x (inputs + saved of pool 0) +
  // num_weight_slots x saved of pool 1 + outputs (train.h).
  uint64_t slotted = 0, weightSlotted = 0;
  for (int i = 0; i < m->num_inputs; ++i)
    slotted += specBytes(m->inputs[i]);
  for (int i = 0; i < m->num_saved; ++i)
    (savedPool(m, i) == 0 ? slotted : weightSlotted) += specBytes(m->saved[i]);
  total += slotted * static_cast<uint64_t>(m->num_slots > 0 ? m->num_slots : 1) +
           weightSlotted * static_cast<uint64_t>(std::max(m->num_weight_slots, 0));
  for (int i = 0; i < m->num_outputs; ++i)
    total += specBytes(m->outputs[i]);
  return total + m->arena_bytes;
}

int numStages(const pzrt_program *m) {
  return m->grid[PZRT_AXIS_PP] > 0 ? m->grid[PZRT_AXIS_PP] : 1;
}

int numGlobalStages(const pzrt_program *m) {
  return numStages(m) * std::max(m->num_chunks, 1);
}

bool bindsScalar(const pzrt_program *m, int scalar) {
  for (int f = 0; f < m->num_functions; ++f)
    for (int a = 0; a < m->functions[f].num_args; ++a)
      if (m->functions[f].args[a].kind == PZRT_ARG_SCALAR &&
          m->functions[f].args[a].index == scalar)
        return true;
  return false;
}

namespace {

// A flat-sharded spec (train.h): a 1-D local buffer of c = ceil(N / n)
// elements, n being the number of ranks over its grid axes.
void checkFlatSpec(const pzrt_program *m, const pzrt_tensor_spec &s, const char *what) {
  if (s.shard_axes >= (1u << PZRT_AXIS_COUNT))
    throwInternal("model description: %s '%s' is flat-sharded over the axis mask 0x%x, which "
                  "names axes beyond the %d grid axes",
                  what, s.name, s.shard_axes, PZRT_AXIS_COUNT);
  if (!s.global_shape || s.global_ndim < 0 || s.global_ndim > PZRT_MAX_DIMS || s.offsets)
    throwInternal("model description: %s '%s' is flat-sharded, so it needs a global_shape of "
                  "global_ndim (0..%d) dimensions and no offsets (global_ndim %d, offsets %s)",
                  what, s.name, PZRT_MAX_DIMS, s.global_ndim, s.offsets ? "given" : "NULL");
  if (s.ndim != 1)
    throwInternal("model description: %s '%s' is flat-sharded, so its local shape must be 1-D "
                  "(the chunk); it is %s",
                  what, s.name, shapeStr(s).c_str());
  std::vector<int64_t> g = globalShape(s);
  int64_t n = 0, bytes = 0;
  if (!pzrt::checkedNumel(g.data(), g.size(), n) ||
      !pzrt::checkedBytes(g.data(), g.size(), pzrt_dtype_size(s.dtype), bytes))
    throwInternal("model description: %s '%s': the global shape %s is negative or has more "
                  "than 2^62 elements or bytes",
                  what, s.name, vecStr(g).c_str());
  if (s.dim_axes) { // the flat chunk of the rank's block (checkBoxSpec checked it)
    g = blockShape(m, s);
    n = numel(g); // at most the whole tensor's elements
  }
  int64_t shards = 1;
  for (int a = 0; a < PZRT_AXIS_COUNT; ++a)
    if ((s.shard_axes & (1u << a)) &&
        !pzrt::checkedMul(shards, m->grid[a] > 0 ? m->grid[a] : 1, shards))
      throwInternal("model description: %s '%s': the grid over its axes overflows", what, s.name);
  const int64_t chunk = n / shards + (n % shards != 0);
  if (s.shape[0] != chunk)
    throwInternal("model description: %s '%s' of global shape %s (%lld elements) is "
                  "flat-sharded over %lld ranks (axis mask 0x%x): its chunk must be "
                  "ceil(%lld / %lld) = %lld elements, but its local shape is %s",
                  what, s.name, vecStr(g).c_str(), (long long)n, (long long)shards,
                  s.shard_axes, (long long)n, (long long)shards, (long long)chunk,
                  shapeStr(s).c_str());
}

// A box-sharded spec (train.h): the local dim is the whole dim over the
// ranks of the dim's axes, rounded up (the last blocks then end in
// padding), each axis splitting one dim at most.
// Flat-sharded too (tp with ZeRO): the local shape is the flat chunk of
// that block, of global_ndim dims (checkFlatSpec).
void checkBoxSpec(const pzrt_program *m, const pzrt_tensor_spec &s, const char *what) {
  const bool flat = isFlatSharded(s);
  if (!s.global_shape || s.offsets || (flat && (s.global_ndim < 0 || s.global_ndim > PZRT_MAX_DIMS)))
    throwInternal("model description: %s '%s' is box-sharded, so it needs a global_shape and "
                  "no offsets%s",
                  what, s.name, flat ? ", and global_ndim in 0..8" : "");
  uint32_t used = 0;
  const int ndim = flat ? s.global_ndim : s.ndim;
  for (int d = 0; d < ndim; ++d) {
    const uint32_t mask = s.dim_axes[d];
    int64_t n = axesSize(m, mask), g = s.global_shape[d];
    if (mask >= (1u << PZRT_AXIS_COUNT) || (used & mask) || (mask & s.shard_axes) || g < 0 ||
        (!flat && s.shape[d] != g / n + (g % n != 0)))
      throwInternal("model description: %s '%s' dim %d: the local size %lld split over the "
                    "grid axes 0x%x (%lld ranks) must be the global %lld over the ranks, "
                    "rounded up, each axis splitting one dim and none the flat chunks",
                    what, s.name, d, (long long)s.shape[d], mask, (long long)n,
                    (long long)s.global_shape[d]);
    used |= mask;
  }
}

void checkSpec(const pzrt_program *m, const pzrt_tensor_spec &s, const char *what, int i) {
  if (!s.name || !*s.name)
    throwInternal("model description: %s %d has no name", what, i);
  if (pzrt_dtype_size(s.dtype) == 0)
    throwInternal("model description: %s '%s' has an invalid dtype %d", what, s.name,
                  static_cast<int>(s.dtype));
  if (s.ndim < 0 || s.ndim > PZRT_MAX_DIMS)
    throwInternal("model description: %s '%s' has %d dimensions (0..%d allowed)", what, s.name,
                  s.ndim, PZRT_MAX_DIMS);
  for (int d = 0; d < s.ndim; ++d) {
    if (s.shape[d] < 0)
      throwInternal("model description: %s '%s' has a negative dimension %s", what, s.name,
                    shapeStr(s).c_str());
    if (s.global_shape && !isFlatSharded(s)) {
      int64_t off = s.offsets ? s.offsets[d] : 0;
      if (off < 0 || s.global_shape[d] < 0 || s.shape[d] > s.global_shape[d] - off)
        throwInternal("model description: %s '%s': the slice %s at offset %lld of dimension %d "
                      "leaves the global dimension %lld",
                      what, s.name, shapeStr(s).c_str(), (long long)off, d,
                      (long long)s.global_shape[d]);
    }
  }
  if (s.dim_axes)
    checkBoxSpec(m, s, what);
  if (s.split_groups < 0 || (s.split_groups > 1 && (!s.dim_axes || boxSplitDim(s) < 0)))
    throwInternal("model description: %s '%s' has split_groups %d, which needs one box-split "
                  "dim",
                  what, s.name, s.split_groups);
  if (s.split_groups > 1) {
    const int d = boxSplitDim(s);
    const int64_t parts = s.split_groups * axesSize(m, s.dim_axes[d]);
    if (s.global_shape[d] % parts != 0)
      throwInternal("model description: %s '%s': dim %d of %lld is not %d parts per rank over "
                    "%lld ranks (split_groups)",
                    what, s.name, d, (long long)s.global_shape[d], s.split_groups,
                    (long long)axesSize(m, s.dim_axes[d]));
  }
  if (isFlatSharded(s))
    checkFlatSpec(m, s, what);
  int64_t bytes = 0;
  if (!pzrt::checkedBytes(s.shape, static_cast<size_t>(s.ndim), pzrt_dtype_size(s.dtype), bytes) ||
      (s.global_shape && !isFlatSharded(s) &&
       !pzrt::checkedBytes(s.global_shape, static_cast<size_t>(s.ndim), pzrt_dtype_size(s.dtype),
                           bytes)))
    throwInternal("model description: %s '%s' of shape %s%s has more than 2^62 elements or "
                  "bytes; was it compiled with a wrong --input-shape?",
                  what, s.name, shapeStr(s).c_str(), s.global_shape ? " (or its global shape)" : "");
}

bool isFloat(pzrt_dtype d) { return d == PZRT_F32 || d == PZRT_F16 || d == PZRT_BF16; }

// The function table binds every argument to a buffer that exists, and the
// schedule runs functions that exist, with one forward_backward per
// micro-batch and an optimizer step.
void validateFunctions(const pzrt_program *m) {
  if (m->num_functions < 1 || !m->functions || m->num_actions < 1 || !m->schedule)
    throwInternal("program description: no functions or no schedule");
  if (m->num_comm_groups < 0 || (m->num_comm_groups > 0 && !m->comm_groups))
    throwInternal("program description: inconsistent communicator groups");
  for (int g = 0; g < m->num_comm_groups; ++g)
    if (m->comm_groups[g] == 0 || m->comm_groups[g] >= (1u << PZRT_AXIS_COUNT))
      throwInternal("program description: communicator group %d has the axis mask %u", g,
                    m->comm_groups[g]);
  const bool stage = isStageProgram(m);
  for (int f = 0; f < m->num_functions; ++f) {
    const pzrt_function_entry &e = m->functions[f];
    const char *name = e.name ? e.name : "?";
    if (!e.fn || e.num_args < 0 || (e.num_args > 0 && !e.args) || e.role < 0 ||
        e.role > PZRT_FN_GRAD_NORM_SQ)
      throwInternal("program description: function %d ('%s') is incomplete", f, name);
    if (stage != (e.role == PZRT_FN_STAGE_FORWARD || e.role == PZRT_FN_STAGE_BACKWARD ||
                  e.role == PZRT_FN_STAGE_BACKWARD_WEIGHT) &&
        e.role != PZRT_FN_ACCUMULATE_GRADS && e.role != PZRT_FN_FINALIZE_GRADS &&
        e.role != PZRT_FN_OPTIMIZER_STEP && e.role != PZRT_FN_GRAD_NORM_SQ)
      throwInternal("program description: function '%s' has the role %d, which %s", name,
                    e.role,
                    stage ? "a pipeline stage program (num_slots >= 1) does not have"
                          : "only a pipeline stage program (num_slots >= 1) has");
    if (e.arena_bytes > m->arena_bytes || e.arena_peak_bytes > e.arena_bytes)
      throwInternal("program description: function '%s' needs an arena of %llu bytes, the "
                    "program has %llu",
                    name, (unsigned long long)e.arena_bytes,
                    (unsigned long long)m->arena_bytes);
    for (int a = 0; a < e.num_args; ++a) {
      const pzrt_arg_binding &b = e.args[a];
      int bound = b.kind == PZRT_ARG_PARAM || b.kind == PZRT_ARG_GRAD || b.kind == PZRT_ARG_ACCUM
                      ? m->num_params
                  : b.kind == PZRT_ARG_STATE  ? m->num_states
                  : b.kind == PZRT_ARG_INPUT  ? m->num_inputs
                  : b.kind == PZRT_ARG_SCALAR ? PZRT_SCALAR_COUNT
                  : b.kind == PZRT_ARG_SAVED  ? m->num_saved
                  : b.kind == PZRT_ARG_OUTPUT ? m->num_outputs
                                              : -1;
      if (bound < 0 || b.index < 0 || b.index >= bound)
        throwInternal("program description: argument %d of '%s' is bound to kind %d, index "
                      "%d, which does not exist",
                      a, name, b.kind, b.index);
    }
  }
  // Per micro-batch: its forward_backward (or its stage forward), its
  // stage backward and (zb) weight backward. A stage program's slot holds a
  // micro-batch from its first RECV or forward to its backward B (to its W
  // when W reads the slot); its weight slot, from B to W. No other
  // micro-batch may use either meanwhile.
  std::vector<int> forwards(static_cast<size_t>(m->grad_accum), 0), backwards = forwards,
                   weights = forwards;
  bool split = false, weightReadsSlot = false, pool1 = false;
  for (int i = 0; i < m->num_saved; ++i) {
    if (savedPool(m, i) != 0 && savedPool(m, i) != 1)
      throwInternal("program description: saved tensor %d ('%s') is in pool %d (0 or 1)", i,
                    m->saved[i].name, savedPool(m, i));
    pool1 = pool1 || savedPool(m, i) == 1;
  }
  for (int f = 0; f < m->num_functions; ++f) {
    const pzrt_function_entry &e = m->functions[f];
    if (e.role != PZRT_FN_STAGE_BACKWARD_WEIGHT)
      continue;
    split = true;
    for (int a = 0; a < e.num_args; ++a)
      weightReadsSlot = weightReadsSlot || e.args[a].kind == PZRT_ARG_INPUT ||
                        (e.args[a].kind == PZRT_ARG_SAVED && savedPool(m, e.args[a].index) == 0);
  }
  if (m->num_weight_slots < 0 || (pool1 && (!split || m->num_weight_slots < 1)) ||
      (!pool1 && m->num_weight_slots != 0))
    throwInternal("program description: %d weight slots for %s saved tensors of pool 1 and %s "
                  "weight backward",
                  m->num_weight_slots, pool1 ? "some" : "no", split ? "a" : "no");
  const int releases =
      split && weightReadsSlot ? PZRT_FN_STAGE_BACKWARD_WEIGHT : PZRT_FN_STAGE_BACKWARD;
  std::vector<int> holder(static_cast<size_t>(stage ? m->num_slots : 0), -1);
  std::vector<int> weightHolder(static_cast<size_t>(std::max(m->num_weight_slots, 0)), -1);
  int optimizer = 0;
  for (int i = 0; i < m->num_actions; ++i) {
    const pzrt_action &a = m->schedule[i];
    if (a.kind == PZRT_ACTION_CHECK_NUMERICS)
      continue;
    const bool send = a.kind == PZRT_ACTION_SEND, recv = a.kind == PZRT_ACTION_RECV;
    const bool valid =
        a.micro_batch >= 0 && a.micro_batch < m->grad_accum &&
        (a.kind == PZRT_ACTION_RUN ? a.function >= 0 && a.function < m->num_functions
         : send ? stage && a.tensor >= 0 && a.tensor < m->num_outputs
         : recv ? stage && a.tensor >= 0 && a.tensor < m->num_inputs &&
                      inputRole(m, a.tensor) >= PZRT_INPUT_ACTIVATION
                : false);
    if (!valid)
      throwInternal("program description: schedule action %d (kind %d, function %d, "
                    "micro-batch %d, tensor %d) is invalid",
                    i, a.kind, a.function, a.micro_batch, a.tensor);
    if (send)
      continue;
    const int role = recv ? -1 : m->functions[a.function].role;
    forwards[a.micro_batch] += role == PZRT_FN_FORWARD_BACKWARD || role == PZRT_FN_STAGE_FORWARD;
    backwards[a.micro_batch] += role == PZRT_FN_STAGE_BACKWARD;
    weights[a.micro_batch] += role == PZRT_FN_STAGE_BACKWARD_WEIGHT;
    optimizer += role == PZRT_FN_OPTIMIZER_STEP;
    if (stage && (recv || role == PZRT_FN_STAGE_FORWARD || role == PZRT_FN_STAGE_BACKWARD ||
                  (role == PZRT_FN_STAGE_BACKWARD_WEIGHT && weightReadsSlot))) {
      int &h = holder[static_cast<size_t>(a.micro_batch % m->num_slots)];
      if (h >= 0 && h != a.micro_batch)
        throwInternal("program description: schedule action %d uses the slot %d of micro-batch "
                      "%d while micro-batch %d holds it (%d slots are too few)",
                      i, a.micro_batch % m->num_slots, a.micro_batch, h, m->num_slots);
      h = role == releases ? -1 : a.micro_batch;
    }
    if (pool1 && (role == PZRT_FN_STAGE_BACKWARD || role == PZRT_FN_STAGE_BACKWARD_WEIGHT)) {
      int &h = weightHolder[static_cast<size_t>(a.micro_batch % m->num_weight_slots)];
      if (h >= 0 && h != a.micro_batch)
        throwInternal("program description: schedule action %d uses the weight slot %d of "
                      "micro-batch %d while micro-batch %d holds it (%d weight slots are too "
                      "few)",
                      i, a.micro_batch % m->num_weight_slots, a.micro_batch, h,
                      m->num_weight_slots);
      h = role == PZRT_FN_STAGE_BACKWARD_WEIGHT ? -1 : a.micro_batch;
    }
  }
  const char *fwd = stage ? "its stage forward" : "forward_backward";
  for (int k = 0; k < m->grad_accum; ++k) {
    const char *what = forwards[k] != 1                      ? fwd
                       : stage && backwards[k] != 1          ? "its stage backward"
                       : weights[k] != (split ? 1 : 0) ? "its weight backward"
                                                             : nullptr;
    if (what)
      throwInternal("program description: the schedule runs %s %d times for micro-batch %d "
                    "(%s expected)",
                    what,
                    forwards[k] != 1    ? forwards[k]
                    : backwards[k] != 1 ? backwards[k]
                                        : weights[k],
                    k, forwards[k] != 1 || backwards[k] != 1 || split ? "once" : "never");
  }
  if (optimizer != 1)
    throwInternal("program description: the schedule runs the optimizer %d times", optimizer);
}

// A stage program's own parts (train.h's pipeline stages): the saved set,
// the outputs and their roles, the activation inputs, the loss on the last
// stage only; none of them in another program.
void validateStageParts(const pzrt_program *m) {
  if (m->num_chunks < 0 || (m->num_chunks > 1 && !isStageProgram(m)) ||
      numStages(m) > INT32_MAX / std::max(m->num_chunks, 1))
    throwInternal("program description: %d chunks per rank", m->num_chunks);
  const int pp = numGlobalStages(m); // the global stages
  if (m->num_slots < 0 || m->num_saved < 0 || m->num_outputs < 0 ||
      (m->num_saved > 0 && !m->saved) ||
      (m->num_outputs > 0 && (!m->outputs || !m->output_roles)))
    throwInternal("program description: inconsistent pipeline-stage counts or NULL lists");
  if (m->pp_stage < 0 || m->pp_stage >= pp)
    throwInternal("program description: pp_stage %d is outside the %d stages of the grid",
                  m->pp_stage, pp);
  bool activations = false;
  for (int i = 0; i < m->num_inputs; ++i)
    activations |= inputRole(m, i) >= PZRT_INPUT_ACTIVATION;
  if (!isStageProgram(m)) {
    if (pp > 1 || m->pp_stage != 0 || m->num_saved || m->num_outputs || activations)
      throwInternal("program description: a pipeline-parallel plan (%d stages, stage %d, %d "
                    "saved tensors, %d outputs) needs stage programs with num_slots >= 1, run "
                    "by pzrt_train_main_stages",
                    pp, m->pp_stage, m->num_saved, m->num_outputs);
    return;
  }
  for (int i = 0; i < m->num_saved; ++i) {
    if (isFlatSharded(m->saved[i]))
      throwInternal("model description: saved tensor %d is flat-sharded", i);
    checkSpec(m, m->saved[i], "saved tensor", i);
  }
  for (int i = 0; i < m->num_outputs; ++i) {
    if (isFlatSharded(m->outputs[i]))
      throwInternal("model description: output %d is flat-sharded", i);
    checkSpec(m, m->outputs[i], "output", i);
    const int role = m->output_roles[i];
    if ((role != PZRT_INPUT_ACTIVATION && role != PZRT_INPUT_ACTIVATION_GRAD) ||
        (role == PZRT_INPUT_ACTIVATION && m->pp_stage == pp - 1) ||
        (role == PZRT_INPUT_ACTIVATION_GRAD && m->pp_stage == 0))
      throwInternal("program description: output '%s' of stage %d (of %d) has the role %d; an "
                    "output is an activation (not on the last stage) or an activation's "
                    "gradient (not on the first)",
                    m->outputs[i].name, m->pp_stage, pp, role);
  }
  for (int i = 0; i < m->num_inputs; ++i) {
    const int role = inputRole(m, i);
    if ((role == PZRT_INPUT_ACTIVATION && m->pp_stage == 0) ||
        (role == PZRT_INPUT_ACTIVATION_GRAD && m->pp_stage == pp - 1))
      throwInternal("program description: input '%s' of stage %d (of %d) has the role %d, "
                    "which has no neighbour to come from",
                    m->inputs[i].name, m->pp_stage, pp, role);
  }
  if (bindsScalar(m, PZRT_SCALAR_LOSS) != (m->pp_stage == pp - 1))
    throwInternal("program description: stage %d (of %d) %s the LOSS scalar; the last stage "
                  "and only it has the loss",
                  m->pp_stage, pp, m->pp_stage == pp - 1 ? "does not bind" : "binds");
  const int ranksPP = numStages(m);
  const int dp = m->dp_size > 0 ? m->dp_size : m->world_size / ranksPP;
  if (m->world_size % ranksPP != 0 || (m->world_size / ranksPP) % dp != 0)
    throwInternal("model description: %d stages and %d data-parallel ranks do not divide "
                  "world_size %d",
                  ranksPP, dp, m->world_size);
}

// Tied parameters (train.h's tied_params/tied_stages): a stage program's
// own checks; validateStages checks them across the stages.
void validateTied(const pzrt_program *m) {
  if (m->num_tied == 0)
    return;
  if (m->num_tied < 0 || !m->tied_params || !m->tied_stages)
    throwInternal("program description: inconsistent tied parameters (%d, or a NULL list)",
                  m->num_tied);
  if (!isStageProgram(m))
    throwInternal("program description: a program that is not a pipeline stage (num_slots 0) "
                  "ties %d parameter%s to other stages; only stage programs can",
                  m->num_tied, m->num_tied == 1 ? "" : "s");
  // The mask's range (interleaved: pp x v global stages) is validateStages'.
  std::set<int> seen;
  for (int i = 0; i < m->num_tied; ++i) {
    const int p = m->tied_params[i];
    const uint32_t mask = m->tied_stages[i];
    if (p < 0 || p >= m->num_params)
      throwInternal("program description: tied parameter %d is parameter %d, which does not "
                    "exist (%d parameters)",
                    i, p, m->num_params);
    if (!seen.insert(p).second)
      throwInternal("program description: parameter '%s' is tied twice", m->params[p].name);
    if (m->pp_stage >= 32 || !(mask & (1u << m->pp_stage)))
      throwInternal("program description: tied parameter '%s' of stage %d has the stage mask "
                    "0x%x, which does not hold this stage",
                    m->params[p].name, m->pp_stage, mask);
  }
  // The gradients are summed over the stages before finalize_grads, once
  // the step's gradients are complete.
  bool finalized = false;
  for (int i = 0; i < m->num_actions; ++i) {
    const pzrt_action &a = m->schedule[i];
    if (a.kind != PZRT_ACTION_RUN)
      continue;
    const int role = m->functions[a.function].role;
    if (role == PZRT_FN_FINALIZE_GRADS)
      finalized = true;
    else if (finalized && (role == PZRT_FN_STAGE_BACKWARD || role == PZRT_FN_ACCUMULATE_GRADS ||
                           role == PZRT_FN_STAGE_BACKWARD_WEIGHT))
      throwInternal("program description: schedule action %d computes gradients after "
                    "finalize_grads, but the tied parameters' gradients are summed over the "
                    "stages before it",
                    i);
  }
  if (!finalized)
    throwInternal("program description: stage %d ties parameters to other stages but runs no "
                  "finalize_grads, before which their gradients are summed",
                  m->pp_stage);
}

} // namespace

void validateModel(const pzrt_program *m) {
  if (!m)
    throwInternal("model description is NULL");
  if (m->abi_version != PZRT_ABI_VERSION)
    throwInternal("program description: ABI version %u, but this runtime implements %d; "
                  "recompile the program with this release",
                  m->abi_version, PZRT_ABI_VERSION);
  if (m->num_params < 0 || m->num_inputs < 0 || m->num_states < 0 ||
      (m->num_params > 0 && !m->params) || (m->num_inputs > 0 && !m->inputs) ||
      (m->num_states > 0 && !m->states))
    throwInternal("model description: inconsistent tensor counts or NULL tensor lists");
  if (m->grad_accum < 1)
    throwInternal("model description: grad_accum %d must be at least 1", m->grad_accum);
  if (m->world_size < 1)
    throwInternal("model description: world_size %d must be at least 1", m->world_size);
  int dp = m->dp_size > 0 ? m->dp_size : m->world_size;
  if (m->dp_size < 0 || m->world_size % dp != 0)
    throwInternal("model description: dp_size %d does not divide world_size %d", m->dp_size,
                  m->world_size);
  std::set<std::string> names;
  for (int i = 0; i < m->num_params; ++i) {
    checkSpec(m, m->params[i], "parameter", i);
    if (!isFloat(m->params[i].dtype))
      throwInternal("model description: parameter '%s' is %s; parameters must be float32, "
                    "bfloat16 or float16",
                    m->params[i].name, specStr(m->params[i]).c_str());
    if (!names.insert(m->params[i].name).second)
      throwInternal("model description: parameter name '%s' appears twice", m->params[i].name);
  }
  for (int i = 0; i < m->num_states; ++i) {
    checkSpec(m, m->states[i], "optimizer state", i);
    if (!names.insert(m->states[i].name).second)
      throwInternal("model description: optimizer state '%s' has the name of another "
                    "parameter or state (checkpoints need unique names)",
                    m->states[i].name);
  }
  std::set<std::string> inputNames;
  int lossScaleInputs = 0;
  int64_t rows = -1;
  for (int i = 0; i < m->num_inputs; ++i) {
    const pzrt_tensor_spec &s = m->inputs[i];
    if (isFlatSharded(s))
      throwInternal("model description: input %d ('%s') is flat-sharded; only parameters and "
                    "optimizer states can be",
                    i, s.name ? s.name : "?");
    checkSpec(m, s, "input", i);
    if (!inputNames.insert(s.name).second)
      throwInternal("model description: input name '%s' appears twice", s.name);
    int role = inputRole(m, i);
    if (role == PZRT_INPUT_LOSS_SCALE) {
      ++lossScaleInputs;
      if (s.dtype != PZRT_F32 || numel(s) != 1)
        throwInternal("model description: loss-scale input '%s' is %s; it must be a float32 "
                      "scalar",
                      s.name, specStr(s).c_str());
    } else if (role == PZRT_INPUT_DATA) {
      if (s.ndim < 1)
        throwInternal("model description: data input '%s' is a scalar; data inputs need a "
                      "batch dimension",
                      s.name);
      if (rows >= 0 && s.shape[0] != rows)
        throwInternal("model description: data inputs disagree on the micro-batch size: '%s' "
                      "has %lld rows, an earlier input %lld",
                      s.name, (long long)s.shape[0], (long long)rows);
      rows = s.shape[0];
      if (rows < 1)
        throwInternal("model description: data input '%s' has no rows", s.name);
    } else if (role != PZRT_INPUT_ACTIVATION && role != PZRT_INPUT_ACTIVATION_GRAD) {
      throwInternal("model description: input '%s' has an unknown role %d", s.name, role);
    }
  }
  if (lossScaleInputs > 1)
    throwInternal("model description: %d loss-scale inputs (at most one)", lossScaleInputs);
  validateFunctions(m);
  validateStageParts(m);
  validateTied(m);
  if (m->loss_scaling && lossScaleInputs != 1 && !bindsScalar(m, PZRT_SCALAR_LOSS_SCALE))
    throwInternal("model description: loss_scaling is on but neither an input has the role "
                  "PZRT_INPUT_LOSS_SCALE nor a function reads the LOSS_SCALE scalar");
  if (m->vocab < 0)
    throwInternal("model description: vocab %lld is negative", (long long)m->vocab);
  // The memory formula of train.h, whose terms are each below 2^62, must not
  // overflow either; nor may the arena exceed what can be allocated.
  if (m->arena_bytes > static_cast<uint64_t>(pzrt::kMaxCount))
    throwInternal("model description: the arena of %llu bytes is larger than 2^62 bytes",
                  (unsigned long long)m->arena_bytes);
  if (m->grad_shard_axes >= (1u << PZRT_AXIS_COUNT))
    throwInternal("model description: grad_shard_axes %u names an axis beyond the grid's %d",
                  m->grad_shard_axes, PZRT_AXIS_COUNT);
  int64_t total = static_cast<int64_t>(m->arena_bytes), grads = 0;
  bool ok = true;
  for (int i = 0; ok && i < m->num_params; ++i)
    ok = pzrt::checkedAdd(total, static_cast<int64_t>(specBytes(m->params[i])), total) &&
         pzrt::checkedAdd(grads, static_cast<int64_t>(gradBytes(m, i)), grads);
  ok = ok && pzrt::checkedMul(grads, usesAccumulators(m) ? 2 : 1, grads) &&
       pzrt::checkedAdd(total, grads, total);
  for (int i = 0; ok && i < m->num_states; ++i)
    ok = pzrt::checkedAdd(total, static_cast<int64_t>(specBytes(m->states[i])), total);
  int64_t slotted = 0, weightSlotted = 0;
  for (int i = 0; ok && i < m->num_inputs; ++i)
    ok = pzrt::checkedAdd(slotted, static_cast<int64_t>(specBytes(m->inputs[i])), slotted);
  for (int i = 0; ok && i < m->num_saved; ++i) {
    int64_t &pool = savedPool(m, i) == 0 ? slotted : weightSlotted;
    ok = pzrt::checkedAdd(pool, static_cast<int64_t>(specBytes(m->saved[i])), pool);
  }
  ok = ok && pzrt::checkedMul(slotted, m->num_slots > 0 ? m->num_slots : 1, slotted) &&
       pzrt::checkedAdd(total, slotted, total) &&
       pzrt::checkedMul(weightSlotted, std::max(m->num_weight_slots, 0), weightSlotted) &&
       pzrt::checkedAdd(total, weightSlotted, total);
  for (int i = 0; ok && i < m->num_outputs; ++i)
    ok = pzrt::checkedAdd(total, static_cast<int64_t>(specBytes(m->outputs[i])), total);
  if (!ok)
    throwInternal("model description: the buffers of train.h's memory formula add up to more "
                  "than 2^62 bytes");
}

namespace {

bool sameText(const char *a, const char *b) {
  return a == b || (a && b && std::strcmp(a, b) == 0);
}

// The transfers from stage `from` to its neighbour `to` in schedule order:
// (micro-batch, bytes) of from's SENDs of outputs of `role`, or, with
// recv, of to's RECVs of inputs of that role.
std::vector<std::pair<int, uint64_t>> transfers(const pzrt_program *m, int role, bool recv) {
  std::vector<std::pair<int, uint64_t>> out;
  for (int i = 0; i < m->num_actions; ++i) {
    const pzrt_action &a = m->schedule[i];
    if (a.kind != (recv ? PZRT_ACTION_RECV : PZRT_ACTION_SEND))
      continue;
    if ((recv ? inputRole(m, a.tensor) : m->output_roles[a.tensor]) == role)
      out.emplace_back(a.micro_batch, specBytes(recv ? m->inputs[a.tensor] : m->outputs[a.tensor]));
  }
  return out;
}

bool sameSchedule(const pzrt_lr_schedule &a, const pzrt_lr_schedule &b) {
  return a.kind == b.kind && a.lr == b.lr && a.warmup_steps == b.warmup_steps &&
         a.total_steps == b.total_steps && a.min_lr == b.min_lr;
}

} // namespace

void validateStages(const pzrt_program *const *stages, int n) {
  if (!stages || n < 1)
    throwInternal("program description: no stage programs");
  const pzrt_program *first = stages[0];
  for (int s = 0; s < n; ++s) {
    const pzrt_program *m = stages[s];
    if (!m)
      throwInternal("program description: stage program %d of %d is NULL", s, n);
    if (n > 1 && !isStageProgram(m))
      throwInternal("program description: stage program %d of %d has no slots (num_slots %d)",
                    s, n, m->num_slots);
    // Interleaved: n = pp x v chunk programs (global stage s is chunk s / pp
    // of the rank with pp coordinate s % pp).
    if (m->pp_stage != s || numGlobalStages(m) != n || m->world_size != first->world_size ||
        m->grad_accum != first->grad_accum || m->dp_size != first->dp_size ||
        std::memcmp(m->grid, first->grid, sizeof m->grid) != 0 || m->vocab != first->vocab ||
        !sameSchedule(m->lr_schedule, first->lr_schedule) ||
        !m->loss_scaling != !first->loss_scaling || !sameText(m->plan_json, first->plan_json) ||
        !sameText(m->init_file, first->init_file))
      throwInternal("program description: stage program %d of %d (pp_stage %d, %d stages in "
                    "its plan) is not a stage of the plan of stage 0 (it must have pp_stage %d "
                    "and the same grid, world size, grad_accum, dp_size, vocab, lr schedule, "
                    "loss scaling, plan and init file)",
                    s, n, m->pp_stage, numGlobalStages(m), s);
  }
  // A tied parameter is the same tensor in every stage of its mask: the same
  // name, dtype, shapes and gradient chunk, tied there with the same mask.
  // Two chunks of one rank (interleaved) cannot share one: the driver sums
  // a tied gradient over ranks.
  const int pp = numStages(first);
  for (int s = 0; s < n; ++s) {
    const pzrt_program *m = stages[s];
    for (int i = 0; i < m->num_tied; ++i) {
      const pzrt_tensor_spec &p = m->params[m->tied_params[i]];
      const uint32_t mask = m->tied_stages[i];
      if (n < 32 && (mask >> n) != 0)
        throwInternal("program description: stage %d ties parameter '%s' to the stages 0x%x, "
                      "beyond its %d stages",
                      s, p.name, mask, n);
      for (int t = 0; t < n && t < 32; ++t)
        if (t != s && t % pp == s % pp && (mask & (1u << t)))
          throwInternal("program description: parameter '%s' is tied over the stages 0x%x, "
                        "two of which (%d and %d) are chunks of one rank",
                        p.name, mask, s, t);
      for (int t = 0; t < n && t < 32; ++t) {
        if (t == s || !(mask & (1u << t)))
          continue;
        const pzrt_program *o = stages[t];
        int j = -1, k = -1;
        for (int q = 0; q < o->num_params && j < 0; ++q)
          if (std::strcmp(o->params[q].name, p.name) == 0)
            j = q;
        for (int q = 0; q < o->num_tied && j >= 0 && k < 0; ++q)
          if (o->tied_params[q] == j)
            k = q;
        if (j < 0 || k < 0 || o->tied_stages[k] != mask)
          throwInternal("program description: stage %d ties parameter '%s' to the stages 0x%x, "
                        "but stage %d %s",
                        s, p.name, mask, t,
                        j < 0   ? "has no parameter of that name"
                        : k < 0 ? "does not tie it"
                                : pzrt::format("ties it to the stages 0x%x", o->tied_stages[k])
                                      .c_str());
        const pzrt_tensor_spec &q = o->params[j];
        if (q.dtype != p.dtype || q.ndim != p.ndim ||
            std::memcmp(q.shape, p.shape, sizeof(int64_t) * static_cast<size_t>(p.ndim)) != 0 ||
            globalShape(q) != globalShape(p) || q.shard_axes != p.shard_axes ||
            gradBytes(o, j) != gradBytes(m, m->tied_params[i]))
          throwInternal("program description: the tied parameter '%s' is %s (gradient of %llu "
                        "bytes) on stage %d but %s (gradient of %llu bytes) on stage %d; its "
                        "copies must be alike",
                        p.name, specStr(p).c_str(),
                        (unsigned long long)gradBytes(m, m->tied_params[i]), s,
                        specStr(q).c_str(), (unsigned long long)gradBytes(o, j), t);
      }
    }
  }
  // Neighbours pair their SENDs and RECVs in order (the messages of one
  // direction are matched in order), with the same micro-batches and bytes.
  for (int s = 0; s + 1 < n; ++s)
    for (int role : {PZRT_INPUT_ACTIVATION, PZRT_INPUT_ACTIVATION_GRAD}) {
      const bool down = role == PZRT_INPUT_ACTIVATION; // from s to s + 1
      const pzrt_program *from = stages[down ? s : s + 1], *to = stages[down ? s + 1 : s];
      if (transfers(from, role, false) != transfers(to, role, true))
        throwInternal("program description: the %s that stage %d sends and stage %d receives "
                      "differ in number, order, micro-batch or size",
                      down ? "activations" : "activation gradients", from->pp_stage,
                      to->pp_stage);
    }
}

} // namespace pzrt::train
