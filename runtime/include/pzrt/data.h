/* pzrt/data.h - training data: token files, .npy arrays, synthetic data.
 *
 * Token files (--data PATH). A flat file of little-endian token ids, uint16
 * (default) or uint32, as nanoGPT writes them. A file that starts with
 * llm.c's 1024-byte header (int32 magic 20240520, version 1 = uint16 tokens or
 * 2 = uint32 tokens, token count) is recognised when the header agrees with
 * the file size; the tokens after it are used.
 *
 * With sequence length S, window i is tokens [i*S, i*S + S] (S+1 tokens):
 * input_ids = the first S, labels = the last S. There are
 * W = floor((ntokens - 1) / S) whole windows; window index w means window
 * w mod W (wrapping around the file). Step t (from 0) uses windows
 * t*G ... t*G + G - 1 for the global batch G. Data-parallel rank r of D takes
 * the contiguous slice of G/D windows starting at t*G + r*G/D; its K
 * micro-batches of B = G/(D*K) sequences follow in order, so micro-batch k
 * holds windows t*G + r*G/D + k*B ... + B - 1.
 *
 * .npy arrays (--data-npy NAME=FILE.npy). Format versions 1.0, 2.0 and 3.0,
 * little-endian '<f4', '<i4', '<i8' (and '|u1', '<u2'), C order. Rows (index
 * along the first axis) select samples: step t uses rows t*G ... t*G+G-1,
 * wrapping modulo the number of rows, sliced over ranks and micro-batches as
 * above.
 */
#ifndef PZRT_DATA_H
#define PZRT_DATA_H

#include "pzrt/types.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Where one rank's micro-batch sits in the global batch. */
typedef struct pzrt_batch_slice {
  int64_t step;          /* from 0 */
  int64_t global_batch;  /* G, sequences (rows) per step */
  int dp_rank;           /* r */
  int dp_size;           /* D; G must be divisible by D * num_micro */
  int micro;             /* k */
  int num_micro;         /* K */
} pzrt_batch_slice;

/* The first global window (row) index of the slice and its size B; -1 with an
 * error if G is not divisible by D*K or an index is out of range. */
int pzrt_batch_slice_range(const pzrt_batch_slice *slice, int64_t *first, int64_t *count);

/* ---- token files ---- */
typedef struct pzrt_token_file pzrt_token_file;

/* token_bytes: 2 (uint16) or 4 (uint32). Fails if the file cannot be read,
 * its size is not a multiple of token_bytes, or it is shorter than S+1 tokens. */
pzrt_token_file *pzrt_token_file_open(const char *path, int token_bytes, int64_t seq_len);
void pzrt_token_file_close(pzrt_token_file *f);
int64_t pzrt_token_file_num_tokens(const pzrt_token_file *f);
int64_t pzrt_token_file_num_windows(const pzrt_token_file *f);
/* Window `index` (wrapped): input_ids and labels get S values each. */
int pzrt_token_file_window(const pzrt_token_file *f, int64_t index, int64_t *input_ids,
                           int64_t *labels);
/* One micro-batch: B*S input ids and labels, row-major [B, S]. If vocab > 0,
 * a token >= vocab is an error naming the file and token position. */
int pzrt_token_file_batch(const pzrt_token_file *f, const pzrt_batch_slice *slice, int64_t vocab,
                          int64_t *input_ids, int64_t *labels);

/* ---- .npy files ---- */
typedef struct pzrt_npy pzrt_npy;

/* Parses and validates the header; errors name the file, the problem and its
 * byte offset. The data is memory-mapped. */
pzrt_npy *pzrt_npy_open(const char *path);
void pzrt_npy_close(pzrt_npy *a);
pzrt_dtype pzrt_npy_dtype(const pzrt_npy *a);
int pzrt_npy_ndim(const pzrt_npy *a);
const int64_t *pzrt_npy_shape(const pzrt_npy *a);
/* Elements per row (product of shape[1:]; 1 for 1-d arrays). */
int64_t pzrt_npy_row_elems(const pzrt_npy *a);
const void *pzrt_npy_data(const pzrt_npy *a);
/* Copies rows first .. first+count-1 (each wrapped modulo shape[0]). */
int pzrt_npy_rows(const pzrt_npy *a, int64_t first, int64_t count, void *out);
/* One micro-batch of rows (see pzrt_batch_slice). */
int pzrt_npy_batch(const pzrt_npy *a, const pzrt_batch_slice *slice, void *out);

/* ---- synthetic data (--data synthetic) ---- */
/* A deterministic, learnable token stream: window w is generated from
 * (seed, w) alone. Each next token is (7*prev + 3) mod vocab with
 * probability 3/4, otherwise uniform. Fills [B, S] input ids and labels. */
int pzrt_synthetic_batch(uint64_t seed, int64_t vocab, int64_t seq_len,
                         const pzrt_batch_slice *slice, int64_t *input_ids, int64_t *labels);
/* Uniform floats in [-1, 1) for elements offset .. offset+n-1 of stream
 * (seed, step). */
void pzrt_synthetic_floats(uint64_t seed, uint64_t step, uint64_t offset, float *out, int64_t n);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_DATA_H */
