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
 * global shape and the slice offsets (a flat slice: "flat": [begin, end]) as
 * a JSON string.
 *
 * index.json:
 *   {"format": "pzrt-checkpoint", "version": 1, "step": 100, "world_size": 2,
 *    "plan": {...caller's plan object...},
 *    "rng": {"seed": 1234, "offset": 100}, "data": {"position": 6400},
 *    "extra": {...}, "files": ["rank00000.safetensors", ...],
 *    "tensors": {"w": {"dtype": "F32", "shape": [8, 6],
 *                      "slices": [{"file": "rank00000.safetensors",
 *                                  "offsets": [0, 0], "extents": [4, 6]}, ...]}}}
 * A slice is a box (offsets and extents per dimension) or a flat range
 * {"file": ..., "flat": [begin, end]}: elements [begin, end) of the tensor
 * flattened in C order, stored as a 1-D tensor of end - begin elements (ZeRO
 * shards; empty ranges are not written). An index with a flat slice has
 * "version": 2, so that a runtime that knows only boxes refuses it clearly;
 * one with boxes only keeps version 1. Any request, box or flat, is
 * assembled from stored slices of either form. Identical slices saved by
 * several ranks (replicas) are listed once; slices of one tensor never
 * overlap and together cover it.
 *
 * "checksums" gives every file's size and CRC-32C (Castagnoli, as 8 hex
 * digits): {"rank00000.safetensors": {"bytes": 1234, "crc32c": "e3069283"}};
 * loading verifies each file it reads against them. Checkpoints of earlier
 * releases have no "checksums" and load unverified (pzrt_ckpt_has_checksums
 * tells).
 *
 * Saving is collective over the communicator. DIR must be absent, an empty
 * directory or a checkpoint (index.json of ours and rank files only);
 * anything else fails the save and is left untouched. Every rank writes its
 * file into DIR.pzrt-tmp-<step> (rank 0 first writes a marker file there, so
 * that an unfinished one is recognisable), the files are fsync'ed, rank 0
 * writes index.json, then swaps the directory with DIR atomically
 * (renameat2 RENAME_EXCHANGE; where the file system cannot, DIR moves aside
 * to DIR.pzrt-old-<step> first) and removes the previous checkpoint file by
 * file: only the names a save writes, never anything else. A failure on any
 * rank makes every rank return -1. The checkpoint's own synchronisation is
 * not counted in the communication byte counters. DIR must be on a file
 * system that every rank sees (rank 0 reads the other ranks' file headers to
 * build the index, and loading reads any file).
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
/* Registers this rank's flat slice of a tensor: elements [begin, end) of the
 * tensor of global shape (ndim values) flattened in C order; data holds
 * end - begin elements and must stay valid until commit. An empty range
 * (begin == end) is accepted and not written, except for a tensor without
 * elements, which is recorded as an empty box so that it exists. */
int pzrt_ckpt_writer_add_flat(pzrt_ckpt_writer *w, const char *name, pzrt_dtype dtype, int ndim,
                              const int64_t *global_shape, int64_t begin, int64_t end,
                              const void *data);
/* Keeps the keep_last most recent checkpoints: DIR and, as complete
 * checkpoints of their own, DIR.step-<step> (8 digits) for the keep_last - 1
 * before it; older DIR.step-* are removed at each save. Without a call, only
 * DIR is kept and DIR.step-* are left alone. */
int pzrt_ckpt_writer_set_keep_last(pzrt_ckpt_writer *w, int keep_last);
/* Writes everything (collective). 0 on success on every rank, else -1. */
int pzrt_ckpt_writer_commit(pzrt_ckpt_writer *w, const pzrt_ckpt_info *info);
void pzrt_ckpt_writer_destroy(pzrt_ckpt_writer *w);

/* ---- loading ---- */
typedef struct pzrt_ckpt pzrt_ckpt;

/* Reads and validates index.json (not collective). */
pzrt_ckpt *pzrt_ckpt_open(const char *dir);
void pzrt_ckpt_close(pzrt_ckpt *ck);
/* 1 if index.json records file checksums (verified as files are read), 0
 * for a checkpoint of an earlier release. */
int pzrt_ckpt_has_checksums(const pzrt_ckpt *ck);
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
/* Assembles elements [begin, end) of tensor `name` flattened in C order
 * into out (end - begin elements), from box or flat slices alike. The dtype
 * and global shape must match the checkpoint's; 0 <= begin <= end <= the
 * number of elements. */
int pzrt_ckpt_load_flat(pzrt_ckpt *ck, const char *name, pzrt_dtype dtype, int ndim,
                        const int64_t *global_shape, int64_t begin, int64_t end, void *out);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_CHECKPOINT_H */
