/* pzrt/exec.h - what compiled host code calls besides its kernels.
 *
 * Host functions of a compiled program (lib/Target/Host) compute buffer
 * addresses, call their kernels and these functions; they never read or
 * write buffer contents themselves, so that the same host code drives host
 * (CPU) and device (CUDA) memory. Each call names the stream it runs on
 * (0 computes, 1 communicates). On the CPU device the compute stream runs
 * its work at once (events are always complete), and transfers on MPI
 * communicators run on one communication thread per process, in issue
 * order, blocking ones included: an asynchronous transfer runs while the
 * caller computes, until pzrt_wait (docs/design/0012-overlap.md). Every
 * request must be waited for before the compiled function returns: the
 * driver calls MPI itself between functions (MPI_THREAD_SERIALIZED).
 * PZRT_COMM_THREAD=0 runs transfers inside the call instead.
 *
 * On a device other than the CPU (the CUDA backend's device memory, which
 * host code cannot touch) the MPI transfers are "host-staged": each call
 * first waits for the compute stream (streams[0]) and copies its source
 * into host staging memory (pzrt_device_read); the transfer runs on host
 * memory (on the communication thread); the result is copied back to the
 * destination buffer (pzrt_device_write) when the call completes it: at
 * once without a request, else in pzrt_wait, before later kernels read it.
 * pzrt_copy and pzrt_chunk_on run on the compute stream, and events are
 * the device's.
 */
#ifndef PZRT_EXEC_H
#define PZRT_EXEC_H

#include "pzrt/comm.h"
#include "pzrt/train.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- devices and streams ---- */
/* The CPU device (buffers are host memory); process-wide, never destroyed. */
pzrt_device *pzrt_device_cpu(void);
const char *pzrt_device_name(const pzrt_device *device);
/* Copies between host memory and device buffers (on the CPU: memcpy). */
int pzrt_device_read(pzrt_device *device, void *host, const void *buffer, size_t bytes);
int pzrt_device_write(pzrt_device *device, void *buffer, const void *host, size_t bytes);
pzrt_stream *pzrt_stream_create(pzrt_device *device);
void pzrt_stream_destroy(pzrt_stream *stream);
/* Waits until the stream's work is done. */
int pzrt_stream_synchronize(pzrt_stream *stream);
/* Waits until the work issued on every stream of the device is done, so
 * that host code may read and write its buffers (the training driver calls
 * it before it touches a buffer: the data feed, checkpoints, pipeline
 * sends). A no-op on the CPU device. 0, or -1 with pzrt_last_error(). */
int pzrt_device_synchronize(pzrt_device *device);
/* The device's free and total memory in bytes (cudaMemGetInfo), for the
 * driver's check that its buffers fit before it allocates them. Both 0
 * where the device does not say (the CPU). 0, or -1 with pzrt_last_error(). */
int pzrt_device_mem_info(pzrt_device *device, size_t *free_bytes, size_t *total_bytes);

/* Device-side checks of compiled code (an index out of range, a zero
 * divisor) record a failure on the device without stopping; the driver
 * calls this after each compiled function: -1 with the failed check's
 * message (the CPU backend's), else 0. Synchronizes the device when the
 * program has such checks. Always 0 on the CPU device, whose checks fail
 * the function itself. */
int pzrt_device_check(pzrt_device *device);

/* Writes ctx->step where device code reads it (pzrt_cuda_step_word), in
 * order on the compute stream; the driver calls it before each compiled
 * function, so that a CUDA graph of the function sees the current step.
 * Nothing on the CPU or before device code asked for the step. 0, or -1
 * with pzrt_last_error(). */
int pzrt_step_publish(pzrt_step_ctx *ctx);

/* ---- calls of compiled host code (ctx is the step context) ---- */
/* Copies `bytes` from src to dst on the stream; nothing when they are the
 * same buffer. Buffers either coincide or do not overlap. Returns 0, or -1
 * with pzrt_last_error(). */
int pzrt_copy(pzrt_step_ctx *ctx, void *dst, const void *src, size_t bytes);

/* Events: pzrt.event_record / pzrt.stream_wait. An event is an opaque
 * token of the step context; the CPU device's events are complete when
 * recorded. */
typedef struct pzrt_event pzrt_event;
pzrt_event *pzrt_event_record(pzrt_step_ctx *ctx, int stream);
int pzrt_stream_wait(pzrt_step_ctx *ctx, pzrt_event *event, int stream);

/* Collectives and transfers on ctx->comms[group] (pzrt.all_reduce, ...).
 * `reason` is the transfer's reason kind ("ddp.grad_bucket"). With a
 * non-NULL `request` the transfer may still run when the call returns;
 * pzrt_wait completes it (and frees the request). Counts and roots are in
 * elements of dtype; op is a pzrt_reduce_op. */
typedef struct pzrt_request pzrt_request;
int pzrt_all_reduce_on(pzrt_step_ctx *ctx, int group, const void *src, void *dst, size_t count,
                       pzrt_dtype dtype, int op, const char *reason, int stream,
                       pzrt_request **request);
int pzrt_all_gather_on(pzrt_step_ctx *ctx, int group, const void *src, void *dst,
                       size_t src_count, pzrt_dtype dtype, const char *reason, int stream,
                       pzrt_request **request);
int pzrt_reduce_scatter_on(pzrt_step_ctx *ctx, int group, const void *src, void *dst,
                           size_t dst_count, pzrt_dtype dtype, int op, const char *reason,
                           int stream, pzrt_request **request);
int pzrt_broadcast_on(pzrt_step_ctx *ctx, int group, void *buffer, size_t count,
                      pzrt_dtype dtype, int root, const char *reason, int stream,
                      pzrt_request **request);
int pzrt_all_to_all_on(pzrt_step_ctx *ctx, int group, const void *src, void *dst,
                       size_t count, pzrt_dtype dtype, const char *reason, int stream,
                       pzrt_request **request);
/* peer: the rank that many positions further along the group (wrapping). */
int pzrt_send_on(pzrt_step_ctx *ctx, int group, const void *buffer, size_t count,
                 pzrt_dtype dtype, int peer, const char *reason, int stream,
                 pzrt_request **request);
int pzrt_recv_on(pzrt_step_ctx *ctx, int group, void *buffer, size_t count, pzrt_dtype dtype,
                 int peer, const char *reason, int stream, pzrt_request **request);
/* pzrt.shift: sends `count` elements of src to the rank `offset` positions
 * further along the group and receives as many into dst from the rank
 * `offset` positions before (wrapping; both posted together). src and dst
 * must not overlap. Counted as a send of src's bytes. */
int pzrt_shift_on(pzrt_step_ctx *ctx, int group, const void *src, void *dst, size_t count,
                  pzrt_dtype dtype, int offset, const char *reason, int stream,
                  pzrt_request **request);
int pzrt_wait(pzrt_step_ctx *ctx, pzrt_request *request);
/* Waits until every transfer issued so far (by any step context) is done.
 * For a compiled function that failed with requests outstanding: call it
 * before its buffers are released. On one rank the transfers complete; on
 * several, a transfer whose peers never join it waits for the
 * communication timeout. */
void pzrt_exec_drain(void);

/* This rank's ZeRO chunk of a replicated buffer (train.h's flat sharding):
 * with k = pzrt_comm_rank(ctx->comms[group]), copies bytes
 * [k x dst_bytes, min(src_bytes, (k+1) x dst_bytes)) of src to the start of
 * dst and zero-fills the rest of dst (all of it when k x dst_bytes >=
 * src_bytes): the padding of the last chunks. No communication; counts no
 * bytes. src and dst do not overlap. Returns 0, or -1 with
 * pzrt_last_error(). */
int pzrt_chunk_on(pzrt_step_ctx *ctx, int group, const void *src, void *dst, size_t src_bytes,
                  size_t dst_bytes);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_EXEC_H */
