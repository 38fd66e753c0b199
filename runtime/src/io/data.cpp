// Token-file data loading, batch slicing and synthetic data.
#include "pzrt/data.h"
#include "pzrt/kernels.h"

#include "core/checked.h"
#include "core/internal.h"
#include "io/fsutil.h"

#include <cstring>

using pzrt::fail;

struct pzrt_token_file {
  pzrt::MappedFile file;
  const unsigned char *tokens = nullptr;
  int tokenBytes = 2;
  int64_t numTokens = 0;
  int64_t seqLen = 0;
  int64_t numWindows = 0;
};

namespace {

uint32_t readLE32(const unsigned char *p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

int64_t tokenAt(const pzrt_token_file *f, int64_t i) {
  const unsigned char *p = f->tokens + i * f->tokenBytes;
  if (f->tokenBytes == 2)
    return static_cast<int64_t>(p[0] | (p[1] << 8));
  return static_cast<int64_t>(readLE32(p));
}

// Recognises llm.c's 256 x int32 header when it agrees with the file size.
bool llmcHeader(const pzrt::MappedFile &file, int *tokenBytes, int64_t *numTokens) {
  if (file.size() < 1024)
    return false;
  uint32_t magic = readLE32(file.data()), version = readLE32(file.data() + 4);
  int bytes = 0;
  if (magic == 20240520u && version == 1)
    bytes = 2;
  else if (magic == 20240801u && version == 7)
    bytes = 4;
  else
    return false;
  uint64_t n = readLE32(file.data() + 8);
  if (1024 + n * static_cast<uint64_t>(bytes) != file.size())
    return false;
  *tokenBytes = bytes;
  *numTokens = static_cast<int64_t>(n);
  return true;
}

} // namespace

extern "C" {

int pzrt_batch_slice_range(const pzrt_batch_slice *s, int64_t *first, int64_t *count) {
  if (!s)
    return fail("batch slice is NULL");
  if (s->step < 0 || s->global_batch <= 0 || s->dp_size <= 0 || s->num_micro <= 0)
    return fail("batch slice: step=%lld global_batch=%lld dp_size=%d num_micro=%d must be "
                "positive (step >= 0)",
                (long long)s->step, (long long)s->global_batch, s->dp_size, s->num_micro);
  int64_t parts = static_cast<int64_t>(s->dp_size) * s->num_micro;
  if (s->global_batch % parts != 0)
    return fail("global batch %lld is not divisible by dp_size %d x micro-batches %d",
                (long long)s->global_batch, s->dp_size, s->num_micro);
  if (s->dp_rank < 0 || s->dp_rank >= s->dp_size || s->micro < 0 || s->micro >= s->num_micro)
    return fail("batch slice: dp_rank %d of %d or micro-batch %d of %d is out of range",
                s->dp_rank, s->dp_size, s->micro, s->num_micro);
  int64_t perRank = s->global_batch / s->dp_size;
  int64_t b = perRank / s->num_micro;
  int64_t base = 0;
  if (!pzrt::checkedMul(s->step, s->global_batch, base) ||
      !pzrt::checkedAdd(base, s->dp_rank * perRank + s->micro * b, base))
    return fail("batch slice: step %lld x global batch %lld overflows the row index",
                (long long)s->step, (long long)s->global_batch);
  *first = base;
  *count = b;
  return 0;
}

pzrt_token_file *pzrt_token_file_open(const char *path, int token_bytes, int64_t seq_len) {
  if (!path) {
    fail("token file: path is NULL");
    return nullptr;
  }
  if (token_bytes != 2 && token_bytes != 4) {
    fail("token file '%s': token size %d must be 2 (uint16) or 4 (uint32)", path, token_bytes);
    return nullptr;
  }
  if (seq_len <= 0) {
    fail("token file '%s': sequence length %lld must be positive", path, (long long)seq_len);
    return nullptr;
  }
  auto *f = new pzrt_token_file();
  if (f->file.open(path)) {
    delete f;
    return nullptr;
  }
  f->seqLen = seq_len;
  if (llmcHeader(f->file, &f->tokenBytes, &f->numTokens)) {
    f->tokens = f->file.data() + 1024;
  } else {
    f->tokenBytes = token_bytes;
    if (f->file.size() % static_cast<size_t>(token_bytes) != 0) {
      fail("token file '%s': size %zu bytes is not a multiple of the %d-byte token size (wrong "
           "--data-dtype?)",
           path, f->file.size(), token_bytes);
      delete f;
      return nullptr;
    }
    f->tokens = f->file.data();
    f->numTokens = static_cast<int64_t>(f->file.size() / static_cast<size_t>(token_bytes));
  }
  f->numWindows = f->numTokens > 0 ? (f->numTokens - 1) / seq_len : 0;
  if (f->numWindows < 1) {
    fail("token file '%s' has %lld tokens, fewer than the %lld needed for one window of "
         "sequence length %lld",
         path, (long long)f->numTokens, (long long)(seq_len + 1), (long long)seq_len);
    delete f;
    return nullptr;
  }
  return f;
}

void pzrt_token_file_close(pzrt_token_file *f) { delete f; }
int64_t pzrt_token_file_num_tokens(const pzrt_token_file *f) { return f ? f->numTokens : 0; }
int64_t pzrt_token_file_num_windows(const pzrt_token_file *f) { return f ? f->numWindows : 0; }

int pzrt_token_file_window(const pzrt_token_file *f, int64_t index, int64_t *input_ids,
                           int64_t *labels) {
  if (!f || index < 0)
    return fail("token_file_window: bad file or negative window index %lld", (long long)index);
  int64_t start = (index % f->numWindows) * f->seqLen;
  for (int64_t j = 0; j < f->seqLen; ++j) {
    input_ids[j] = tokenAt(f, start + j);
    labels[j] = tokenAt(f, start + j + 1);
  }
  return 0;
}

int pzrt_token_file_batch(const pzrt_token_file *f, const pzrt_batch_slice *slice, int64_t vocab,
                          int64_t *input_ids, int64_t *labels) {
  int64_t first = 0, count = 0;
  if (!f)
    return fail("token_file_batch: file is NULL");
  if (pzrt_batch_slice_range(slice, &first, &count))
    return -1;
  for (int64_t b = 0; b < count; ++b) {
    int64_t *in = input_ids + b * f->seqLen, *lab = labels + b * f->seqLen;
    pzrt_token_file_window(f, first + b, in, lab);
    if (vocab > 0) {
      int64_t start = ((first + b) % f->numWindows) * f->seqLen;
      for (int64_t j = 0; j <= f->seqLen; ++j) {
        int64_t tok = j < f->seqLen ? in[j] : lab[f->seqLen - 1];
        if (tok >= vocab)
          return fail("token file '%s': token %lld at position %lld is >= the vocabulary size "
                      "%lld",
                      f->file.path().c_str(), (long long)tok, (long long)(start + j),
                      (long long)vocab);
      }
    }
  }
  return 0;
}

int pzrt_synthetic_batch(uint64_t seed, int64_t vocab, int64_t seq_len,
                         const pzrt_batch_slice *slice, int64_t *input_ids, int64_t *labels) {
  if (vocab <= 0 || vocab > 0xffffffffLL || seq_len <= 0)
    return fail("synthetic data: vocab %lld (1 .. 2^32-1) or seq_len %lld is invalid",
                (long long)vocab, (long long)seq_len);
  int64_t first = 0, count = 0;
  if (pzrt_batch_slice_range(slice, &first, &count))
    return -1;
  const uint32_t key[2] = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  const uint64_t v = static_cast<uint64_t>(vocab);
  for (int64_t b = 0; b < count; ++b) {
    uint64_t w = static_cast<uint64_t>(first + b);
    int64_t prev = 0;
    for (int64_t j = 0; j <= seq_len; ++j) {
      // Two 32-bit words per token: a coin and a uniform token.
      const uint32_t ctr[4] = {static_cast<uint32_t>(j), static_cast<uint32_t>(j >> 32),
                               static_cast<uint32_t>(w), static_cast<uint32_t>(w >> 32)};
      uint32_t r[4];
      pzrt_philox4x32_10(ctr, key, r);
      int64_t uniform = static_cast<int64_t>((static_cast<uint64_t>(r[1]) * v) >> 32);
      int64_t tok = (j > 0 && (r[0] & 3u) != 0) ? (7 * prev + 3) % vocab : uniform;
      if (j < seq_len)
        input_ids[b * seq_len + j] = tok;
      if (j > 0)
        labels[b * seq_len + j - 1] = tok;
      prev = tok;
    }
  }
  return 0;
}

void pzrt_synthetic_floats(uint64_t seed, uint64_t step, uint64_t offset, float *out, int64_t n) {
  pzrt_rand_uniform(seed, step, offset, out, n);
  for (int64_t i = 0; i < n; ++i)
    out[i] = 2.0f * out[i] - 1.0f;
}

} // extern "C"
