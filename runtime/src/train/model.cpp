// Helpers over the compiler-emitted pzrt_model: sizes, shapes and checks.
#include "train/train_internal.h"

#include "core/checked.h"

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

uint64_t specBytes(const pzrt_tensor_spec &spec) {
  return static_cast<uint64_t>(numel(spec)) * pzrt_dtype_size(spec.dtype);
}

std::string shapeStr(const pzrt_tensor_spec &spec) {
  std::string s = "[";
  for (int d = 0; d < spec.ndim; ++d)
    s += (d ? ", " : "") + std::to_string(spec.shape[d]);
  return s + "]";
}

std::string specStr(const pzrt_tensor_spec &spec) {
  static const char *const kNames[PZRT_DTYPE_COUNT] = {"float32", "float16", "bfloat16",
                                                       "float64", "int32",   "int64",
                                                       "uint8",   "uint16",  "uint32",
                                                       "uint64"};
  const char *dt = spec.dtype >= 0 && spec.dtype < PZRT_DTYPE_COUNT ? kNames[spec.dtype] : "?";
  return std::string(dt) + " " + shapeStr(spec);
}

bool isSharded(const pzrt_tensor_spec &spec) { return spec.global_shape != nullptr; }

std::vector<int64_t> globalShape(const pzrt_tensor_spec &spec) {
  const int64_t *g = spec.global_shape ? spec.global_shape : spec.shape;
  return std::vector<int64_t>(g, g + spec.ndim);
}

std::vector<int64_t> sliceOffsets(const pzrt_tensor_spec &spec) {
  std::vector<int64_t> off(static_cast<size_t>(spec.ndim), 0);
  if (spec.global_shape && spec.offsets)
    for (int d = 0; d < spec.ndim; ++d)
      off[d] = spec.offsets[d];
  return off;
}

int inputRole(const pzrt_model *m, int i) {
  return m->input_roles ? m->input_roles[i] : PZRT_INPUT_DATA;
}

int findDataInput(const pzrt_model *m, const char *name) {
  for (int i = 0; i < m->num_inputs; ++i)
    if (inputRole(m, i) == PZRT_INPUT_DATA && m->inputs[i].name &&
        std::strcmp(m->inputs[i].name, name) == 0)
      return i;
  return -1;
}

int64_t microBatchRows(const pzrt_model *m) {
  for (int i = 0; i < m->num_inputs; ++i)
    if (inputRole(m, i) == PZRT_INPUT_DATA && m->inputs[i].ndim >= 1)
      return m->inputs[i].shape[0];
  return 1;
}

uint64_t plannedPeakFormula(const pzrt_model *m) {
  uint64_t params = 0, total = 0;
  for (int i = 0; i < m->num_params; ++i)
    params += specBytes(m->params[i]);
  total = params * (m->grad_accum > 1 ? 3 : 2);
  for (int i = 0; i < m->num_states; ++i)
    total += specBytes(m->states[i]);
  for (int i = 0; i < m->num_inputs; ++i)
    total += specBytes(m->inputs[i]);
  return total + m->arena_bytes;
}

namespace {

void checkSpec(const pzrt_tensor_spec &s, const char *what, int i) {
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
    if (s.global_shape) {
      int64_t off = s.offsets ? s.offsets[d] : 0;
      if (off < 0 || s.global_shape[d] < 0 || s.shape[d] > s.global_shape[d] - off)
        throwInternal("model description: %s '%s': the slice %s at offset %lld of dimension %d "
                      "leaves the global dimension %lld",
                      what, s.name, shapeStr(s).c_str(), (long long)off, d,
                      (long long)s.global_shape[d]);
    }
  }
  int64_t bytes = 0;
  if (!pzrt::checkedBytes(s.shape, static_cast<size_t>(s.ndim), pzrt_dtype_size(s.dtype), bytes) ||
      (s.global_shape && !pzrt::checkedBytes(s.global_shape, static_cast<size_t>(s.ndim),
                                              pzrt_dtype_size(s.dtype), bytes)))
    throwInternal("model description: %s '%s' of shape %s%s has more than 2^62 elements or "
                  "bytes; was it compiled with a wrong --input-shape?",
                  what, s.name, shapeStr(s).c_str(), s.global_shape ? " (or its global shape)" : "");
}

bool isFloat(pzrt_dtype d) { return d == PZRT_F32 || d == PZRT_F16 || d == PZRT_BF16; }

} // namespace

void validateModel(const pzrt_model *m) {
  if (!m)
    throwInternal("model description is NULL");
  if (!m->forward_backward || !m->optimizer_step)
    throwInternal("model description: forward_backward and optimizer_step must be set");
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
    checkSpec(m->params[i], "parameter", i);
    if (!isFloat(m->params[i].dtype))
      throwInternal("model description: parameter '%s' is %s; parameters must be float32, "
                    "bfloat16 or float16",
                    m->params[i].name, specStr(m->params[i]).c_str());
    if (!names.insert(m->params[i].name).second)
      throwInternal("model description: parameter name '%s' appears twice", m->params[i].name);
  }
  for (int i = 0; i < m->num_states; ++i) {
    checkSpec(m->states[i], "optimizer state", i);
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
    checkSpec(s, "input", i);
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
    } else {
      throwInternal("model description: input '%s' has an unknown role %d", s.name, role);
    }
  }
  if (lossScaleInputs > 1)
    throwInternal("model description: %d loss-scale inputs (at most one)", lossScaleInputs);
  if (m->loss_scaling && lossScaleInputs != 1)
    throwInternal("model description: loss_scaling is on but no input has the role "
                  "PZRT_INPUT_LOSS_SCALE");
  if (m->vocab < 0)
    throwInternal("model description: vocab %lld is negative", (long long)m->vocab);
  // The memory formula of train.h, whose terms are each below 2^62, must not
  // overflow either; nor may the arena exceed what can be allocated.
  if (m->arena_bytes > static_cast<uint64_t>(pzrt::kMaxCount))
    throwInternal("model description: the arena of %llu bytes is larger than 2^62 bytes",
                  (unsigned long long)m->arena_bytes);
  int64_t total = static_cast<int64_t>(m->arena_bytes), params = 0;
  bool ok = true;
  for (int i = 0; ok && i < m->num_params; ++i)
    ok = pzrt::checkedAdd(params, static_cast<int64_t>(specBytes(m->params[i])), params);
  ok = ok && pzrt::checkedMul(params, m->grad_accum > 1 ? 3 : 2, params) &&
       pzrt::checkedAdd(total, params, total);
  for (int i = 0; ok && i < m->num_states; ++i)
    ok = pzrt::checkedAdd(total, static_cast<int64_t>(specBytes(m->states[i])), total);
  for (int i = 0; ok && i < m->num_inputs; ++i)
    ok = pzrt::checkedAdd(total, static_cast<int64_t>(specBytes(m->inputs[i])), total);
  if (!ok)
    throwInternal("model description: the buffers of train.h's memory formula add up to more "
                  "than 2^62 bytes");
}

} // namespace pzrt::train
