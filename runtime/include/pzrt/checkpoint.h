/* pzrt/checkpoint.h - sharded checkpoints that reload under any sharding.
 *
 * A checkpoint is a directory:
 *   rank00000.safetensors, rank00001.safetensors, ...   one per rank
 *   index.json
 * Each rank file is a safetensors file: an 8-byte little-endian header length
 * N, N bytes of JSON header {name: {"dtype", "shape", "data_offsets": [b, e]},
 * "__metadata__": {...}} (padded with spaces to a multiple of 8), then the
 * raw little-endian data; offsets are relative to the end of the header and
 * the tensors' data is contiguous. A rank file holds this rank's slice of each
 * tensor under the tensor's global name; "__metadata__"."pzrt" records the
 * global shape and the slice offsets as a JSON string.
 *
 * index.json:
 *   {"format": "pzrt-checkpoint", "version": 1, "step": 100, "world_size": 2,
 *    "plan": {...caller's plan object...},
 *    "rng": {"seed": 1234, "offset": 100}, "data": {"position": 6400},
 *    "extra": {...}, "files": ["rank00000.safetensors", ...],
 *    "tensors": {"w": {"dtype": "F32", "shape": [8, 6],
 *                      "slices": [{"file": "rank00000.safetensors",
 *                                  "offsets": [0, 0], "extents": [4, 6]}, ...]}}}
 * Identical slices saved by several ranks (replicas) are listed once; slices
 * of one tensor never overlap and together cover it.
 *
 * Saving is collective over the communicator: every rank writes its file into
 * DIR.tmp-<step>, the files are fsync'ed, rank 0 writes index.json, and after
 * every rank has succeeded rank 0 renames the directory to DIR (replacing an
 * older DIR). A failure on any rank makes every rank return -1. The checkpoint's
 * own synchronisation is not counted in the communication byte counters.
 * DIR must be on a file system that every rank sees (rank 0 reads the other
 * ranks' file headers to build the index, and loading reads any file).
 */
#ifndef PZRT_CHECKPOINT_H
#define PZRT_CHECKPOINT_H

#include "pzrt/comm.h"
#include "pzrt/types.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PZRT_CKPT_MAX_DIMS 16

typedef struct pzrt_ckpt_info {
  int64_t step;
  const char *plan_json;  /* a JSON object; NULL means {} */
  uint64_t rng_seed;
  uint64_t rng_offset;    /* the RNG counter position (e.g. the step it resumes at) */
  int64_t data_position;  /* the next window / row index of the data stream */
  const char *extra_json; /* an optional JSON object, stored as "extra"; NULL means {} */
} pzrt_ckpt_info;

/* ---- saving ---- */
typedef struct pzrt_ckpt_writer pzrt_ckpt_writer;

/* comm may be NULL for a single process. */
pzrt_ckpt_writer *pzrt_ckpt_writer_create(const char *dir, pzrt_comm *comm);
/* Registers this rank's slice of a tensor: global shape (ndim values), the
 * slice's offsets and extents per dimension (NULL: the whole tensor). The data
 * (C order, extents shape) is not copied and must stay valid until commit. */
int pzrt_ckpt_writer_add(pzrt_ckpt_writer *w, const char *name, pzrt_dtype dtype, int ndim,
                         const int64_t *global_shape, const int64_t *offsets,
                         const int64_t *extents, const void *data);
/* Writes everything (collective). 0 on success on every rank, else -1. */
int pzrt_ckpt_writer_commit(pzrt_ckpt_writer *w, const pzrt_ckpt_info *info);
void pzrt_ckpt_writer_destroy(pzrt_ckpt_writer *w);

/* ---- loading ---- */
typedef struct pzrt_ckpt pzrt_ckpt;

/* Reads and validates index.json (not collective). */
pzrt_ckpt *pzrt_ckpt_open(const char *dir);
void pzrt_ckpt_close(pzrt_ckpt *ck);
/* Fills the info; the JSON strings are owned by ck. */
void pzrt_ckpt_get_info(const pzrt_ckpt *ck, pzrt_ckpt_info *info);
int pzrt_ckpt_num_tensors(const pzrt_ckpt *ck);
const char *pzrt_ckpt_tensor_name(const pzrt_ckpt *ck, int i);
/* shape needs room for PZRT_CKPT_MAX_DIMS values. -1 if the name is unknown. */
int pzrt_ckpt_tensor_info(const pzrt_ckpt *ck, const char *name, pzrt_dtype *dtype, int *ndim,
                          int64_t *shape);
/* Assembles the slice [offsets, offsets+extents) of tensor `name` into out
 * (C order) from whichever files hold overlapping slices. The dtype and
 * global shape must match the checkpoint's. offsets/extents NULL: the whole
 * tensor. */
int pzrt_ckpt_load(pzrt_ckpt *ck, const char *name, pzrt_dtype dtype, int ndim,
                   const int64_t *global_shape, const int64_t *offsets, const int64_t *extents,
                   void *out);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_CHECKPOINT_H */
