// Data feeding: token files (--data PATH), .npy arrays (--data-npy) and
// synthetic data, one micro-batch of global rows at a time.
#include "train/train_internal.h"

#include "pzrt/error.h"
#include "pzrt/kernels.h"

#include <cstring>

namespace pzrt::train {

namespace {

// The stream of synthetic values of input i: far from the (seed, step)
// streams that dropout uses for steps 1, 2, ...
uint64_t syntheticStream(int input) { return (1ull << 63) | static_cast<uint64_t>(input); }

std::string dataInputList(const pzrt_program *m) {
  std::string s;
  for (int i = 0; i < m->num_inputs; ++i)
    if (inputRole(m, i) == PZRT_INPUT_DATA)
      s += (s.empty() ? "" : ", ") + std::string(m->inputs[i].name);
  return s.empty() ? "none" : s;
}

int64_t rowElems(const pzrt_tensor_spec &s) {
  int64_t n = 1;
  for (int d = 1; d < s.ndim; ++d)
    n *= s.shape[d];
  return n;
}

// ", 3, 4" for shape [b, 3, 4].
std::string rowShapeTail(const pzrt_tensor_spec &s) {
  std::string t;
  for (int d = 1; d < s.ndim; ++d)
    t += ", " + std::to_string(s.shape[d]);
  return t;
}

bool isIntDtype(pzrt_dtype d) {
  return d == PZRT_I32 || d == PZRT_I64 || d == PZRT_U8 || d == PZRT_U16 || d == PZRT_U32 ||
         d == PZRT_U64 || d == PZRT_I8 || d == PZRT_I16;
}

int64_t loadInt(const void *buf, int64_t i, pzrt_dtype d) {
  switch (d) {
  case PZRT_I32:
    return static_cast<const int32_t *>(buf)[i];
  case PZRT_I64:
    return static_cast<const int64_t *>(buf)[i];
  case PZRT_U8:
    return static_cast<const uint8_t *>(buf)[i];
  case PZRT_U16:
    return static_cast<const uint16_t *>(buf)[i];
  case PZRT_I8:
    return static_cast<const int8_t *>(buf)[i];
  case PZRT_I16:
    return static_cast<const int16_t *>(buf)[i];
  case PZRT_U64:
    return static_cast<int64_t>(static_cast<const uint64_t *>(buf)[i]);
  default:
    return static_cast<const uint32_t *>(buf)[i];
  }
}

void storeInt(void *buf, int64_t i, pzrt_dtype d, int64_t v) {
  switch (d) {
  case PZRT_I32:
    static_cast<int32_t *>(buf)[i] = static_cast<int32_t>(v);
    break;
  case PZRT_I64:
    static_cast<int64_t *>(buf)[i] = v;
    break;
  case PZRT_U8:
    static_cast<uint8_t *>(buf)[i] = static_cast<uint8_t>(v);
    break;
  case PZRT_U16:
    static_cast<uint16_t *>(buf)[i] = static_cast<uint16_t>(v);
    break;
  case PZRT_I8:
    static_cast<int8_t *>(buf)[i] = static_cast<int8_t>(v);
    break;
  case PZRT_I16:
    static_cast<int16_t *>(buf)[i] = static_cast<int16_t>(v);
    break;
  case PZRT_U64:
    static_cast<uint64_t *>(buf)[i] = static_cast<uint64_t>(v);
    break;
  default:
    static_cast<uint32_t *>(buf)[i] = static_cast<uint32_t>(v);
    break;
  }
}

void storeFloat(void *buf, int64_t i, pzrt_dtype d, float v) {
  switch (d) {
  case PZRT_F32:
    static_cast<float *>(buf)[i] = v;
    break;
  case PZRT_F64:
    static_cast<double *>(buf)[i] = v;
    break;
  case PZRT_BF16:
    static_cast<uint16_t *>(buf)[i] = pzrt_f32_to_bf16(v);
    break;
  default:
    static_cast<uint16_t *>(buf)[i] = pzrt_f32_to_f16(v);
    break;
  }
}

// Synthetic values for a row-major [rows, rowElems] input starting at global
// row `first`: element e of row w is element w*rowElems + e of the stream.
// Integer inputs are ids in [0, vocab), except `attention_mask` (all 1) and
// `token_type_ids` (all 0).
void syntheticGeneric(const pzrt_tensor_spec &s, int input, uint64_t seed, int64_t vocab,
                      int64_t first, int64_t rows, void *out) {
  const int64_t re = rowElems(s);
  const uint64_t stream = syntheticStream(input);
  if (isIntDtype(s.dtype) && (std::strcmp(s.name, "attention_mask") == 0 ||
                              std::strcmp(s.name, "token_type_ids") == 0)) {
    // BERT-style side inputs: attend everywhere, one segment.
    const int64_t fill = std::strcmp(s.name, "attention_mask") == 0 ? 1 : 0;
    for (int64_t i = 0; i < rows * re; ++i)
      storeInt(out, i, s.dtype, fill);
    return;
  }
  if (isIntDtype(s.dtype)) {
    const uint32_t key[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
    const uint64_t range = vocab > 0 ? static_cast<uint64_t>(vocab) : 1;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < re; ++j) {
        uint64_t e = static_cast<uint64_t>(first + r) * static_cast<uint64_t>(re) +
                     static_cast<uint64_t>(j);
        const uint32_t ctr[4] = {static_cast<uint32_t>(e), static_cast<uint32_t>(e >> 32),
                                 static_cast<uint32_t>(stream),
                                 static_cast<uint32_t>(stream >> 32)};
        uint32_t w[4];
        pzrt_philox4x32_10(ctr, key, w);
        uint64_t v = ((static_cast<uint64_t>(w[0]) << 32 | w[1]) % range);
        storeInt(out, r * re + j, s.dtype, static_cast<int64_t>(v));
      }
    return;
  }
  std::vector<float> tmp(static_cast<size_t>(re));
  for (int64_t r = 0; r < rows; ++r) {
    pzrt_synthetic_floats(seed, stream, static_cast<uint64_t>(first + r) * re, tmp.data(), re);
    for (int64_t j = 0; j < re; ++j)
      storeFloat(out, r * re + j, s.dtype, tmp[j]);
  }
}

void requireTokenInput(const pzrt_program *m, int i, const char *name, const char *what) {
  if (i < 0)
    throwUsage("%s needs a model with the data inputs input_ids and labels; this model's data "
               "inputs are: %s (use --data-npy)",
               what, dataInputList(m).c_str());
  const pzrt_tensor_spec &s = m->inputs[i];
  if (s.dtype != PZRT_I64 || s.ndim != 2)
    throwUsage("%s: the model's input '%s' is %s; token windows need int64 [batch, seq_len]",
               what, name, specStr(s).c_str());
}

} // namespace

DataFeed::~DataFeed() {
  pzrt_token_file_close(tokens_);
  for (pzrt_npy *a : npy_)
    pzrt_npy_close(a);
}

void DataFeed::open(const pzrt_program *original, const Options &opts, uint64_t seed,
                    int cpCoord, const std::vector<std::string> &planInputs) {
  // Context parallelism: an input split over cp (on dim 1, the sequence,
  // alone) is fed as whole rows and cut to the rank's zigzag chunks.
  view_ = *original;
  specs_.assign(original->inputs, original->inputs + original->num_inputs);
  cpSplit_.assign(specs_.size(), false);
  scratch_.assign(specs_.size(), {});
  cpCoord_ = cpCoord;
  for (size_t i = 0; i < specs_.size(); ++i) {
    pzrt_tensor_spec &s = specs_[i];
    if (!s.dim_axes || inputRole(original, static_cast<int>(i)) != PZRT_INPUT_DATA)
      continue; // the feed fills DATA inputs only
    const int cp = original->grid[PZRT_AXIS_CP];
    bool ok = s.global_shape && s.ndim >= 2 && !s.shard_axes &&
              s.dim_axes[1] == 1u << PZRT_AXIS_CP && cp > 1 &&
              s.global_shape[1] % (2 * cp) == 0 && s.shape[1] * cp == s.global_shape[1];
    for (int d = 0; ok && d < s.ndim; ++d)
      ok = d == 1 || (s.dim_axes[d] == 0 && s.shape[d] == s.global_shape[d]);
    if (!ok)
      throwInternal("model description: the input '%s' is split other than along its dim 1 "
                    "over cp, which the data feed does not do",
                    s.name);
    std::memcpy(s.shape, s.global_shape, sizeof(int64_t) * static_cast<size_t>(s.ndim));
    s.global_shape = nullptr;
    s.dim_axes = nullptr;
    cpSplit_[i] = true;
    scratch_[i].resize(static_cast<size_t>(numel(s)) * pzrt_dtype_size(s.dtype));
  }
  view_.inputs = specs_.data();
  const pzrt_program *m = &view_;
  model_ = m;
  kind_ = opts.data;
  seed_ = seed;
  rows_ = microBatchRows(m);
  idsInput_ = findDataInput(m, "input_ids");
  labelsInput_ = findDataInput(m, "labels");
  npy_.assign(static_cast<size_t>(m->num_inputs), nullptr);
  npyPath_.assign(static_cast<size_t>(m->num_inputs), "");

  // A pipeline stage has a subset of the model's token inputs: input_ids
  // (the first stage), labels (the last), both or neither; the rows are
  // those of the whole model either way.
  auto isWindows = [m](int i) {
    return i >= 0 && m->inputs[i].dtype == PZRT_I64 && m->inputs[i].ndim == 2;
  };
  if (kind_ == DataKind::Synthetic) {
    // input_ids/labels come as windows of one learnable token stream.
    if (!isWindows(idsInput_))
      idsInput_ = -1; // filled like any other input
    if (!isWindows(labelsInput_) || (idsInput_ < 0 && !isStageProgram(m)) ||
        (idsInput_ >= 0 && std::memcmp(m->inputs[labelsInput_].shape, m->inputs[idsInput_].shape,
                                       sizeof(int64_t) * 2) != 0))
      labelsInput_ = -1;
    if ((idsInput_ >= 0 || labelsInput_ >= 0) && m->vocab <= 0)
      throwUsage("--data synthetic: the model does not record its vocabulary size, which "
                 "synthetic token ids need; use --data PATH or --data-npy");
    desc_ = "synthetic data (seed " + std::to_string(seed) + ")";
    return;
  }

  if (kind_ == DataKind::TokenFile) {
    const std::string what = "--data '" + opts.dataPath + "'";
    bool dataInputs = false;
    for (int i = 0; i < m->num_inputs; ++i)
      dataInputs |= inputRole(m, i) == PZRT_INPUT_DATA;
    if (!isStageProgram(m) || idsInput_ >= 0)
      requireTokenInput(m, idsInput_, "input_ids", what.c_str());
    if (!isStageProgram(m) || labelsInput_ >= 0)
      requireTokenInput(m, labelsInput_, "labels", what.c_str());
    if (idsInput_ >= 0 && labelsInput_ >= 0 &&
        std::memcmp(m->inputs[idsInput_].shape, m->inputs[labelsInput_].shape,
                    sizeof(int64_t) * 2) != 0)
      throwUsage("%s: the model's input_ids %s and labels %s differ in shape", what.c_str(),
                 shapeStr(m->inputs[idsInput_]).c_str(),
                 shapeStr(m->inputs[labelsInput_]).c_str());
    for (int i = 0; i < m->num_inputs; ++i)
      if (inputRole(m, i) == PZRT_INPUT_DATA && i != idsInput_ && i != labelsInput_)
        throwUsage("%s: a token file feeds only input_ids and labels, but the model also has "
                   "the data input '%s' (use --data-npy for all of them)",
                   what.c_str(), m->inputs[i].name);
    if (!dataInputs) { // a middle pipeline stage reads no data
      desc_ = "token file '" + opts.dataPath + "' (not read by this stage)";
      return;
    }
    int64_t seq = m->inputs[idsInput_ >= 0 ? idsInput_ : labelsInput_].shape[1];
    tokens_ = pzrt_token_file_open(opts.dataPath.c_str(), opts.tokenBytes, seq);
    if (!tokens_)
      throwUsage("--data: %s", pzrt_last_error());
    desc_ = "token file '" + opts.dataPath + "' (" +
            std::to_string(pzrt_token_file_num_tokens(tokens_)) + " tokens, " +
            std::to_string(pzrt_token_file_num_windows(tokens_)) + " windows of " +
            std::to_string(seq) + "+1)";
    return;
  }

  // --data-npy. A pipeline stage loads the files of its own data inputs
  // and accepts the names of the other stages' (the whole plan's list).
  std::string planList;
  for (const std::string &n : planInputs)
    planList += (planList.empty() ? "" : ", ") + n;
  auto planReads = [&planInputs](const std::string &name) {
    for (const std::string &n : planInputs)
      if (n == name)
        return true;
    return false;
  };
  int64_t fileRows = -1;
  std::string firstFile;
  std::vector<std::pair<std::string, std::string>> others; // other stages' inputs
  for (const auto &[name, file] : opts.npy) {
    int i = findDataInput(m, name.c_str());
    if (i < 0 && planReads(name)) {
      others.emplace_back(name, file);
      continue;
    }
    if (i < 0)
      throwUsage("--data-npy: the model has no data input '%s'; its data inputs are: %s",
                 name.c_str(),
                 planInputs.empty() ? dataInputList(m).c_str()
                                    : (planList.empty() ? "none" : planList.c_str()));
    pzrt_npy *a = pzrt_npy_open(file.c_str());
    if (!a)
      throwUsage("--data-npy %s=%s: %s", name.c_str(), file.c_str(), pzrt_last_error());
    npy_[i] = a;
    npyPath_[i] = file;
    const pzrt_tensor_spec &s = m->inputs[i];
    const int64_t *shape = pzrt_npy_shape(a);
    int nd = pzrt_npy_ndim(a);
    std::string have = "[";
    for (int d = 0; d < nd; ++d)
      have += (d ? ", " : "") + std::to_string(shape[d]);
    have += "]";
    if (pzrt_npy_dtype(a) != s.dtype)
      throwUsage("--data-npy %s=%s: the array is %s %s, but input '%s' is %s", name.c_str(),
                 file.c_str(), pzrt_dtype_name(pzrt_npy_dtype(a)), have.c_str(), name.c_str(),
                 specStr(s).c_str());
    bool rowsMatch = nd == s.ndim;
    for (int d = 1; rowsMatch && d < nd; ++d)
      rowsMatch = shape[d] == s.shape[d];
    if (!rowsMatch || nd < 1)
      throwUsage("--data-npy %s=%s: the array has shape %s, but input '%s' is %s, so the "
                 "array must have shape [rows%s]",
                 name.c_str(), file.c_str(), have.c_str(), name.c_str(), specStr(s).c_str(),
                 rowShapeTail(s).c_str());
    if (shape[0] < 1)
      throwUsage("--data-npy %s=%s: the array has no rows", name.c_str(), file.c_str());
    if (fileRows >= 0 && shape[0] != fileRows)
      throwUsage("--data-npy: %s has %lld rows but %s has %lld; the inputs' rows must "
                 "correspond",
                 file.c_str(), (long long)shape[0], firstFile.c_str(), (long long)fileRows);
    fileRows = shape[0];
    firstFile = file;
  }
  for (int i = 0; i < m->num_inputs; ++i)
    if (inputRole(m, i) == PZRT_INPUT_DATA && !npy_[i])
      throwUsage("--data-npy: no file for the data input '%s' (%s); give every data input as "
                 "NAME=FILE.npy",
                 m->inputs[i].name, specStr(m->inputs[i]).c_str());
  // The rows of the whole plan's files must correspond too; the stage that
  // reads a file checks the rest of it.
  for (const auto &[name, file] : others) {
    pzrt_npy *a = pzrt_npy_open(file.c_str());
    if (!a)
      throwUsage("--data-npy %s=%s: %s", name.c_str(), file.c_str(), pzrt_last_error());
    const int64_t rows = pzrt_npy_ndim(a) >= 1 ? pzrt_npy_shape(a)[0] : -1;
    pzrt_npy_close(a);
    if (fileRows >= 0 && rows >= 1 && rows != fileRows)
      throwUsage("--data-npy: %s has %lld rows but %s has %lld; the inputs' rows must "
                 "correspond",
                 file.c_str(), (long long)rows, firstFile.c_str(), (long long)fileRows);
  }
  desc_ = fileRows >= 0 ? ".npy data (" + std::to_string(fileRows) + " rows)"
                        : std::string(".npy data (not read by this stage)");
}

void DataFeed::checkTokens(int input, int64_t first, const void *buf) const {
  const pzrt_program *m = model_;
  const pzrt_tensor_spec &s = m->inputs[input];
  if (m->vocab <= 0 || !isIntDtype(s.dtype))
    return;
  bool ids = std::strcmp(s.name, "input_ids") == 0;
  if (!ids && std::strcmp(s.name, "labels") != 0)
    return;
  const int64_t re = rowElems(s), n = numel(s);
  for (int64_t e = 0; e < n; ++e) {
    int64_t v = loadInt(buf, e, s.dtype);
    if ((v >= 0 && v < m->vocab) || (!ids && v == -100))
      continue;
    int64_t row = first + e / re;
    std::string where;
    if (tokens_) {
      int64_t w = row % pzrt_token_file_num_windows(tokens_);
      int64_t seq = s.shape[1];
      where = "token " + std::to_string(w * seq + e % re + (ids ? 0 : 1)) + " of " + desc_;
    } else if (npy_[input]) {
      where = "row " +
              std::to_string(row % pzrt_npy_shape(npy_[input])[0]) + " of '" +
              npyPath_[input] + "'";
    } else {
      where = "synthetic row " + std::to_string(row);
    }
    throwUsage("input '%s': %s is %lld, outside the model's vocabulary [0, %lld)%s", s.name,
               where.c_str(), (long long)v, (long long)m->vocab,
               ids ? "" : " (labels may also be -100: ignored)");
  }
}

void DataFeed::fill(int64_t first, void *const *inputs) {
  std::vector<void *> rows(inputs, inputs + specs_.size());
  for (size_t i = 0; i < specs_.size(); ++i)
    if (cpSplit_[i])
      rows[i] = scratch_[i].data();
  fillRows(first, rows.data());
  // Rank k of n on cp keeps chunks k and 2n-1-k of the 2n along dim 1.
  const int64_t n = model_->grid[PZRT_AXIS_CP];
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (!cpSplit_[i])
      continue;
    const pzrt_tensor_spec &s = specs_[i];
    const size_t inner = static_cast<size_t>(rowElems(s) / s.shape[1]) * pzrt_dtype_size(s.dtype);
    const int64_t h = s.shape[1] / (2 * n);
    const size_t chunk = static_cast<size_t>(h) * inner;
    auto *out = static_cast<unsigned char *>(inputs[i]);
    for (int64_t r = 0; r < s.shape[0]; ++r) {
      const unsigned char *row = scratch_[i].data() + static_cast<size_t>(r * s.shape[1]) * inner;
      for (int64_t c : {static_cast<int64_t>(cpCoord_), 2 * n - 1 - cpCoord_}) {
        std::memcpy(out, row + static_cast<size_t>(c) * chunk, chunk);
        out += chunk;
      }
    }
  }
}

void DataFeed::fillRows(int64_t first, void *const *inputs) {
  const pzrt_program *m = model_;
  switch (kind_) {
  case DataKind::TokenFile: {
    if (!tokens_)
      break; // a stage without token inputs
    const int any = idsInput_ >= 0 ? idsInput_ : labelsInput_;
    const int64_t seq = m->inputs[any].shape[1];
    std::vector<int64_t> scratch(static_cast<size_t>(seq));
    for (int64_t r = 0; r < rows_; ++r) {
      int64_t *ids = idsInput_ >= 0 ? static_cast<int64_t *>(inputs[idsInput_]) + r * seq
                                    : scratch.data();
      int64_t *labels = labelsInput_ >= 0
                            ? static_cast<int64_t *>(inputs[labelsInput_]) + r * seq
                            : scratch.data();
      if (pzrt_token_file_window(tokens_, first + r, ids, labels))
        throwUsage("--data: %s", pzrt_last_error());
    }
    break;
  }
  case DataKind::Npy:
    for (int i = 0; i < m->num_inputs; ++i)
      if (npy_[i] && pzrt_npy_rows(npy_[i], first, rows_, inputs[i]))
        throwUsage("--data-npy %s=%s: %s", m->inputs[i].name, npyPath_[i].c_str(),
                   pzrt_last_error());
    break;
  case DataKind::Synthetic: {
    // Row r of the token inputs depends on (seed, r) only: a stage with
    // labels alone gets the labels the whole model gets.
    if (idsInput_ >= 0 || labelsInput_ >= 0) {
      const int64_t seq = m->inputs[idsInput_ >= 0 ? idsInput_ : labelsInput_].shape[1];
      std::vector<int64_t> scratch(static_cast<size_t>(seq));
      for (int64_t r = 0; r < rows_; ++r) {
        pzrt_batch_slice one{first + r, 1, 0, 1, 0, 1};
        int64_t *ids = idsInput_ >= 0 ? static_cast<int64_t *>(inputs[idsInput_]) + r * seq
                                      : scratch.data();
        int64_t *labels = labelsInput_ >= 0
                              ? static_cast<int64_t *>(inputs[labelsInput_]) + r * seq
                              : scratch.data();
        if (pzrt_synthetic_batch(seed_, m->vocab, seq, &one, ids, labels))
          throwInternal("synthetic data: %s", pzrt_last_error());
      }
    }
    for (int i = 0; i < m->num_inputs; ++i)
      if (inputRole(m, i) == PZRT_INPUT_DATA && i != idsInput_ && i != labelsInput_)
        syntheticGeneric(m->inputs[i], i, seed_, m->vocab, first, rows_, inputs[i]);
    break;
  }
  }
  for (int i = 0; i < m->num_inputs; ++i)
    if (inputRole(m, i) == PZRT_INPUT_DATA)
      checkTokens(i, first, inputs[i]);
}

} // namespace pzrt::train
