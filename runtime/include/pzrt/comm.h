/* pzrt/comm.h - communicators, collectives, process grids, byte counters.
 *
 * A pzrt_comm is the single-rank communicator (no MPI, size 1), an MPI
 * communicator, or, for launches without MPI (torchrun's variables), the TCP
 * communicator (docs/design/0021: ring collectives over a TCP connection
 * between every pair of ranks; pzrt_comm_is_mpi() is 0 for it). Supported element types: PZRT_F32, PZRT_BF16 and PZRT_F16
 * (uint16 storage; reductions convert to fp32, reduce, and round once), and
 * PZRT_I64. Reductions: sum and max. send_buf == recv_buf is allowed for
 * all_reduce (in place).
 *
 * Built with CUDA and NCCL, the runtime also has NCCL communicators
 * (pzrt_nccl; created inside the runtime, see docs/design/0017): their
 * buffers are CUDA device memory, they also move PZRT_F64, PZRT_I32 and
 * PZRT_U8 (16-bit types are reduced by NCCL), overlapping buffers are an
 * error except NCCL's in-place forms (all_gather: send_buf is this rank's
 * block of recv_buf; reduce_scatter: recv_buf is this rank's block of
 * send_buf), and message tags are ignored: NCCL matches the messages
 * between two ranks in the order they are posted.
 *
 * Byte counters. Every operation adds to per-kind counters the bytes this rank
 * sends under the ring algorithms, with S the full (unsharded) buffer size in
 * bytes and n the communicator size (integer division per call):
 *   all_reduce       2(n-1)/n * S   (S = count * elem_size)
 *   all_gather       (n-1)/n * S    (S = n * send_count * elem_size)
 *   reduce_scatter   (n-1)/n * S    (S = n * recv_count * elem_size)
 *   all_to_all       (n-1)/n * S    (S = n * count_per_peer * elem_size)
 *   broadcast        (n-1)/n * S    (pipelined ring; S = count * elem_size)
 *   send             S              (the message size; recv counts nothing)
 *   barrier          0
 * The bytes use the logical element size (2 for bf16/fp16) even though the
 * MPI implementation reduces 16-bit data in fp32. Counters are per process and
 * include operations on sub-communicators.
 *
 * Timeouts. Each MPI or NCCL operation is started non-blocking and polled
 * against a deadline (pzrt_comm_set_timeout; default from PZRT_COMM_TIMEOUT,
 * else 600 s; 0 disables). An operation that misses its deadline prints
 *   "pzrt: rank R (of N): OP on communicator 'NAME' timed out after T s ..."
 * to stderr, flushes open trace files (and aborts every NCCL communicator)
 * and ends the job with exit code 124. MPI and NCCL errors (e.g. a peer that
 * died) end the job the same way, with exit code 1.
 *
 * Process grids. pzrt_grid_create lays ranks out row-major over the axes: the
 * LAST axis varies fastest. For dims {dp, tp, pp}:
 *   rank = (dp_i * tp + tp_i) * pp + pp_i.
 * pzrt_grid_axis_comm(g, a) groups the ranks that differ only in axis a,
 * ordered by their coordinate on a.
 *
 * Message tags for send/recv/sendrecv must be in [0, 32767].
 */
#ifndef PZRT_COMM_H
#define PZRT_COMM_H

#include "pzrt/types.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pzrt_comm pzrt_comm;
typedef struct pzrt_grid pzrt_grid;

typedef enum pzrt_reduce_op { PZRT_REDUCE_SUM = 0, PZRT_REDUCE_MAX = 1 } pzrt_reduce_op;

typedef enum pzrt_coll_kind {
  PZRT_COLL_ALL_REDUCE = 0,
  PZRT_COLL_ALL_GATHER = 1,
  PZRT_COLL_REDUCE_SCATTER = 2,
  PZRT_COLL_ALL_TO_ALL = 3,
  PZRT_COLL_BROADCAST = 4,
  PZRT_COLL_SEND = 5,
  PZRT_COLL_RECV = 6,
  PZRT_COLL_BARRIER = 7,
  PZRT_COLL_KIND_COUNT = 8
} pzrt_coll_kind;

/* "all_reduce", "all_gather", "reduce_scatter", "all_to_all", "broadcast",
 * "send", "recv", "barrier". */
const char *pzrt_coll_kind_name(pzrt_coll_kind kind);

/* ---- creation ---- */
/* The single-rank communicator: rank 0 of 1, every collective is a copy. */
pzrt_comm *pzrt_comm_create_single(void);
/* MPI_COMM_WORLD (calls MPI_Init_thread if MPI is not initialized yet; then
 * pzrt_comm_finalize() finalizes it). Returns NULL with an error message if
 * the MPI world size disagrees with the launcher environment. */
pzrt_comm *pzrt_comm_create_mpi(void);
/* Single rank when the environment names no launcher; the TCP communicator
 * under torchrun's variables (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT;
 * PZRT_JOB_TOKEN required); MPI under Open MPI, PMI or Slurm.
 * PZRT_HOST_COMM=mpi|tcp overrides the choice. */
pzrt_comm *pzrt_comm_create_auto(void);
/* Splits like MPI_Comm_split: ranks with the same color form one
 * communicator, ordered by key (ties by parent rank). color must be >= 0. */
pzrt_comm *pzrt_comm_split(pzrt_comm *comm, int color, int key, const char *name);
void pzrt_comm_destroy(pzrt_comm *comm);
/* Finalizes MPI if pzrt initialized it. Call after destroying communicators. */
void pzrt_comm_finalize(void);

int pzrt_comm_rank(const pzrt_comm *comm);
int pzrt_comm_size(const pzrt_comm *comm);
/* The rank of this process in the world communicator. */
int pzrt_comm_world_rank(const pzrt_comm *comm);
const char *pzrt_comm_name(const pzrt_comm *comm);
/* 1 for MPI communicators, 0 for the single-rank and TCP ones. */
int pzrt_comm_is_mpi(const pzrt_comm *comm);
/* Seconds an operation may take before the job is aborted (0 = forever).
 * Sub-communicators inherit the value at split time. */
void pzrt_comm_set_timeout(pzrt_comm *comm, double seconds);
double pzrt_comm_timeout(const pzrt_comm *comm);

/* ---- collectives; all return 0, or -1 with pzrt_last_error() ---- */
int pzrt_all_reduce(pzrt_comm *comm, const void *send_buf, void *recv_buf, size_t count,
                    pzrt_dtype dtype, pzrt_reduce_op op);
/* recv_buf holds size * send_count elements, rank r's block at r*send_count. */
int pzrt_all_gather(pzrt_comm *comm, const void *send_buf, void *recv_buf, size_t send_count,
                    pzrt_dtype dtype);
/* send_buf holds size * recv_count elements; rank r receives the reduction of
 * block r. */
int pzrt_reduce_scatter(pzrt_comm *comm, const void *send_buf, void *recv_buf,
                        size_t recv_count, pzrt_dtype dtype, pzrt_reduce_op op);
/* Block p of send_buf (count elements each) goes to rank p, arriving as block
 * (this rank) of its recv_buf. */
int pzrt_all_to_all(pzrt_comm *comm, const void *send_buf, void *recv_buf, size_t count,
                    pzrt_dtype dtype);
int pzrt_broadcast(pzrt_comm *comm, void *buf, size_t count, pzrt_dtype dtype, int root);
int pzrt_send(pzrt_comm *comm, const void *buf, size_t count, pzrt_dtype dtype, int dst, int tag);
int pzrt_recv(pzrt_comm *comm, void *buf, size_t count, pzrt_dtype dtype, int src, int tag);
/* Posts a send to dst and a receive from src together and waits for both
 * (the deadlock-free exchange between pipeline neighbours). send_count or
 * recv_count may be 0 to skip that side. Counts the send bytes. */
int pzrt_sendrecv(pzrt_comm *comm, const void *send_buf, size_t send_count, int dst,
                  void *recv_buf, size_t recv_count, int src, pzrt_dtype dtype, int tag);
/* A send that returns once posted: `buf` must stay unchanged until
 * pzrt_send_wait(*request) returns (a pipeline stage keeps computing while its
 * activation travels). Counts the bytes as pzrt_send. A count of 0 sends
 * nothing (as pzrt_send and pzrt_recv of 0) and returns a NULL request. */
typedef struct pzrt_send_request pzrt_send_request;
int pzrt_isend(pzrt_comm *comm, const void *buf, size_t count, pzrt_dtype dtype, int dst, int tag,
               pzrt_send_request **request);
/* Waits for the send to complete (under the communicator's timeout, as the
 * collectives) and frees the request. NULL is a no-op. */
int pzrt_send_wait(pzrt_send_request *request);
int pzrt_barrier(pzrt_comm *comm);
/* pzrt_barrier with a void* argument, usable as a pzrt_barrier_fn callback. */
int pzrt_comm_barrier_cb(void *comm);

/* ---- byte counters (per process, all communicators) ---- */
uint64_t pzrt_comm_bytes(pzrt_coll_kind kind);
uint64_t pzrt_comm_calls(pzrt_coll_kind kind);
uint64_t pzrt_comm_bytes_total(void);
/* Clears the counters by kind and by reason. */
void pzrt_comm_reset_counters(void);

/* ---- byte counters by reason (per process) ----
 * The transfers of compiled code (pzrt/exec.h) name their reason kind
 * ("ddp.grad_bucket"); each adds the bytes it counted under its collective
 * kind to that reason's counter too. Reasons are numbered in order of first
 * use, from 0, until pzrt_comm_reset_counters. */
/* Adds `bytes` to the counter of (reason, kind). Returns 0, or -1 with
 * pzrt_last_error() for a NULL or empty reason or an unknown kind. */
int pzrt_comm_count_reason(const char *reason, pzrt_coll_kind kind, uint64_t bytes);
/* How many reasons have been counted. */
int pzrt_comm_reason_count(void);
/* The name of reason i (NULL when i is out of range); valid until the next
 * pzrt_comm_reset_counters. */
const char *pzrt_comm_reason_name(int i);
/* The bytes reason i counted under one collective kind (0 out of range). */
uint64_t pzrt_comm_reason_bytes(int i, pzrt_coll_kind kind);

/* ---- process grids ---- */
/* dims[i] > 0, product == pzrt_comm_size(world); names may be NULL (then
 * "axis0", "axis1", ...). The grid keeps a pointer to world. */
pzrt_grid *pzrt_grid_create(pzrt_comm *world, int ndims, const int *dims,
                            const char *const *names);
void pzrt_grid_destroy(pzrt_grid *grid);
int pzrt_grid_ndims(const pzrt_grid *grid);
int pzrt_grid_dim(const pzrt_grid *grid, int axis);
/* -1 if no axis has that name. */
int pzrt_grid_axis_index(const pzrt_grid *grid, const char *name);
/* This rank's coordinate on an axis. */
int pzrt_grid_coord(const pzrt_grid *grid, int axis);
/* The world rank at the given coordinates (ndims values), or -1. */
int pzrt_grid_rank_of(const pzrt_grid *grid, const int *coords);
/* The communicator along one axis (owned by the grid). */
pzrt_comm *pzrt_grid_axis_comm(pzrt_grid *grid, int axis);
/* The communicator over several axes (axis_mask bit i = axis i), ordered
 * row-major over the chosen axes (last fastest). Owned by the grid. The
 * single-axis communicators are created by pzrt_grid_create; other masks are
 * created on first use, which is collective: every rank of the grid must ask
 * for the same masks in the same order. */
pzrt_comm *pzrt_grid_axes_comm(pzrt_grid *grid, unsigned axis_mask);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_COMM_H */
