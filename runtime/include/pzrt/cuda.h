/* pzrt/cuda.h - the CUDA device (docs/design/0018-cuda-backend.md).
 *
 * Built only with PZ_ENABLE_CUDA (library pzrt_cuda). A CUDA device is a
 * pzrt_device of pzrt/exec.h: its buffers are device memory (cudaMalloc:
 * the arena of pzrt_cuda_arena_alloc, the compiled programs' buffers of
 * pzrt_cuda_train_main), and its streams are CUDA streams. pzrt_copy,
 * pzrt_chunk_on, pzrt_event_record and pzrt_stream_wait on a step context
 * of the device run on its streams; MPI transfers are host-staged (exec.h). Every failing CUDA call becomes a pzrt error (pzrt_last_error())
 * that names the call and cudaGetErrorString's text; functions return 0, or
 * -1 with the error (NULL where they return a pointer).
 */
#ifndef PZRT_CUDA_H
#define PZRT_CUDA_H

#include "pzrt/exec.h"
#include "pzrt/run.h"
#include "pzrt/train.h"
#include "pzrt/types.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the device ---- */
/* CUDA device `ordinal`; process-wide, never destroyed (like the CPU
 * device). NULL with an error when there is no usable device: no driver,
 * cudaGetDeviceCount reporting 0, or an ordinal out of range.
 * pzrt_device_read/write on it synchronize the device first, so they see
 * all work issued on its streams, and return when the copy is done. */
pzrt_device *pzrt_device_cuda(int ordinal);
/* 1 when `device` is a CUDA device, else 0. */
int pzrt_device_is_cuda(const pzrt_device *device);
/* The number of CUDA devices; 0 when there is none or no driver (and then
 * pzrt_last_error() says why). Never fails otherwise. */
int pzrt_cuda_device_count(void);

/* The memory plan's arena: one cudaMalloc of `bytes` (256-byte aligned, as
 * the planner's offsets assume). *out is NULL for 0 bytes. Free it with
 * pzrt_cuda_free. */
int pzrt_cuda_arena_alloc(pzrt_device *device, size_t bytes, void **out);
int pzrt_cuda_free(pzrt_device *device, void *ptr);

/* The cudaStream_t of a CUDA device's stream (pzrt_stream_create), as a
 * void *; NULL with an error for a stream of another device. */
void *pzrt_cuda_stream_handle(pzrt_stream *stream);
/* The cudaStream_t (as a void *) of a step context's compute stream,
 * ctx->streams[0], on which the CUDA backend's kernels launch. NULL with an
 * error when ctx has no streams or its compute stream is not a CUDA
 * stream. */
void *pzrt_cuda_compute_stream(pzrt_step_ctx *ctx);

/* After a kernel launch of compiled code: 0, or -1 with an error naming
 * `where` (the op) when the launch failed. With PZRT_CUDA_SYNC=1 in the
 * environment it also synchronizes the device, so that a fault inside the
 * kernel (an illegal address) is reported here, naming the op whose kernel
 * faulted rather than whichever later call notices it. A debugging aid:
 * slow, and the driver runs no CUDA graph then. */
int pzrt_cuda_launched(const char *where);
/* 1 when PZRT_CUDA_SYNC=1 (read once per process), else 0. */
int pzrt_cuda_sync_debug(void);
/* PZRT_CUDA_SYNC's synchronization after a launch: waits for the process's
 * device (its waits poll the NCCL watch, and leave out the pipeline links'
 * streams). 0, or -1 with an error naming `where` and the fault. */
int pzrt_cuda_debug_sync(const char *where);

/* The device word where compiled kernels record a failed check (pz_flag of
 * pzrt/cuda_prelude.h), and the check's id: *id == 0 registers `message`
 * (the error pzrt_device_check reports, e.g. "'pz.gather' at f.mlir:3:5:
 * index out of range [0, 10)") and sets *id; a launcher keeps *id in a
 * static. The word is allocated on the first call. NULL with an error. */
int *pzrt_cuda_check_word(pzrt_step_ctx *ctx, const char *message, int *id);
/* The device word holding the step context's step (ctx->step, the training
 * step that keys dropout's masks), for device code: allocated and set on the
 * first call; the driver then writes each call's step there before the call
 * (pzrt_step_publish, in stream order). NULL with an error. */
const int64_t *pzrt_cuda_step_word(pzrt_step_ctx *ctx);
/* Compiled code calls this before host work that a CUDA graph cannot
 * replay (dropout keyed by the host's step): it ends a capture in progress
 * on this thread, running what it captured, so that the function runs
 * eagerly (the driver then keeps it eager). 0, or -1 with an error. */
int pzrt_cuda_uncapturable(pzrt_step_ctx *ctx, const char *why);

/* This process's device: its local rank (pzrt_env_discover: LOCAL_RANK,
 * OMPI_COMM_WORLD_LOCAL_RANK, MPI_LOCALRANKID or SLURM_LOCALID; the rank
 * without a local one) modulo the number of devices, so that several ranks
 * may share one GPU. NULL with pzrt_device_cuda's error when there is no
 * device ("no CUDA device ..."). */
pzrt_device *pzrt_cuda_local_device(void);

/* ---- the main() of compiled CUDA programs ---- */
/* pzrt_train_main, pzrt_train_main_stages and pzrt_run_main on
 * pzrt_cuda_local_device(), with every buffer the driver allocates (the
 * arena included) in plain device memory (cudaMalloc), zero-filled; an
 * allocation larger than cudaMemGetInfo's free memory fails instead
 * (src/cuda/program_main.cpp says why). No device: the driver's setup failure
 * ("train: rank R: pzrt_device_cuda(0): no CUDA device ...", exit 1). */
int pzrt_cuda_train_main(const pzrt_program *program, int argc, char **argv);
int pzrt_cuda_train_main_stages(const pzrt_program *const *stages, int num_stages, int argc,
                                char **argv);
int pzrt_cuda_run_main(const pzrt_function *fn, int argc, char **argv);

/* ---- events (cudaEvent_t, timing disabled) ---- */
typedef struct pzrt_cuda_event pzrt_cuda_event;
pzrt_cuda_event *pzrt_cuda_event_create(pzrt_device *device);
void pzrt_cuda_event_destroy(pzrt_cuda_event *event);
/* Records the work issued so far on `stream`. */
int pzrt_cuda_event_record(pzrt_cuda_event *event, pzrt_stream *stream);
/* Makes `stream`'s later work wait for the event (the host does not wait). */
int pzrt_cuda_stream_wait_event(pzrt_stream *stream, pzrt_cuda_event *event);
int pzrt_cuda_event_synchronize(pzrt_cuda_event *event);
/* 1 when the recorded work is done, 0 when not yet, -1 on an error. */
int pzrt_cuda_event_query(pzrt_cuda_event *event);

/* ---- GEMM through cuBLASLt ---- */
/* The workspace the GEMM's heuristic may use; the memory plan gives every
 * GEMM this one planned buffer (GEMMs run in order on one stream). Less
 * works too (0 included) and may leave faster algorithms out. */
#define PZRT_CUDA_GEMM_WORKSPACE_BYTES ((size_t)32 << 20)

typedef enum pzrt_cuda_epilogue {
  PZRT_CUDA_EPILOGUE_NONE = 0,
  PZRT_CUDA_EPILOGUE_BIAS = 1,     /* C += bias[j], per column j of C */
  PZRT_CUDA_EPILOGUE_GELU_BIAS = 2 /* C = gelu_tanh(... + bias[j]) */
} pzrt_cuda_epilogue;

/* C[m x n] = epilogue(alpha * op(A) * op(B) + beta * C), row-major, with
 * the meaning of every argument as in pzrt_sgemm (pzrt/kernels.h) and the
 * same checks, made before any CUDA call. A, B, C, bias and the workspace
 * are device memory of stream's device.
 * - in_type (A and B): PZRT_F32, PZRT_BF16 or PZRT_F16; products are exact
 *   and sums fp32 (CUBLAS_COMPUTE_32F).
 * - out_type (C): PZRT_F32, or in_type itself.
 * - bias: n elements of out_type (NULL with EPILOGUE_NONE), added to every
 *   row after alpha and beta; GELU_BIAS then applies GELU's tanh form.
 * - k = 0 is refused (cuBLASLt has no empty product).
 * The call is asynchronous on `stream`. */
int pzrt_cuda_gemm(pzrt_stream *stream, int trans_a, int trans_b, int64_t m, int64_t n,
                   int64_t k, float alpha, const void *a, int64_t lda, const void *b,
                   int64_t ldb, pzrt_dtype in_type, float beta, void *c, int64_t ldc,
                   pzrt_dtype out_type, int epilogue, const void *bias, void *workspace,
                   size_t workspace_bytes);
/* `batch` GEMMs; matrix i starts at a + i*stride_a elements (likewise b, c);
 * a stride of 0 broadcasts A or B. The bias is the same for every matrix. */
int pzrt_cuda_gemm_strided_batched(pzrt_stream *stream, int trans_a, int trans_b, int64_t m,
                                   int64_t n, int64_t k, float alpha, const void *a, int64_t lda,
                                   int64_t stride_a, const void *b, int64_t ldb,
                                   int64_t stride_b, pzrt_dtype in_type, float beta, void *c,
                                   int64_t ldc, int64_t stride_c, pzrt_dtype out_type,
                                   int64_t batch, int epilogue, const void *bias,
                                   void *workspace, size_t workspace_bytes);

/* ---- shared libraries (cuBLASLt; NCCL later) ---- */
/* Loads cuBLASLt now (pzrt_cuda_gemm loads it on first use): 0, or -1 with
 * an error naming the library and the places searched. The library is
 * PZRT_CUBLASLT_LIBRARY when set, else libcublasLt.so.13, looked for in
 * <directory of the executable>/lib, then by dlopen's own search
 * (LD_LIBRARY_PATH, the executable's rpath, the system's cache). */
int pzrt_cuda_load_cublaslt(void);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_CUDA_H */
