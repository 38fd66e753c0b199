/* pzrt/train.h - the training driver behind every compiled `train` program.
 *
 * The compiler emits the step functions of one model (forward + backward, and
 * the optimizer update) as C++ and a constant pzrt_model describing them; its
 * main() is `return pzrt_train_main(&model, argc, argv);`. Everything a user
 * sees of the executable -- the command line of CONTRACT.md, data feeding,
 * gradient accumulation, the learning-rate schedule, dynamic loss scaling,
 * metrics, the progress line, traces, checkpoints -- lives here, once, and is
 * tested once.
 *
 * Memory: the driver allocates, through pzrt_mem_alloc, exactly
 *   params (PZRT_MEM_PARAMS), grads (PZRT_MEM_GRADS), optimizer states
 *   (PZRT_MEM_OPTIMIZER), one arena of model->arena_bytes (PZRT_MEM_ARENA),
 *   one buffer per data input (PZRT_MEM_DATA) and, when grad_accum > 1, one
 *   gradient accumulator per parameter (PZRT_MEM_WORKSPACE);
 * the compiler predicts the same sum as model->planned_peak_bytes, and the
 * measured pzrt_mem_peak_total() must equal it. Staging buffers for file I/O
 * are not allocated through pzrt_mem_alloc. With bytes(spec) = product of
 * shape (1 for ndim 0) x pzrt_dtype_size(dtype):
 *   planned_peak_bytes = sum bytes(params) x (grad_accum > 1 ? 3 : 2)
 *                      + sum bytes(states) + arena_bytes + sum bytes(inputs)
 * (a grad and an accumulator have their parameter's dtype and shape; every
 * entry of `inputs`, the loss-scale input included, gets one buffer). The
 * driver resets the peaks when it starts (pzrt_mem_reset_peaks) and prints a
 * one-line warning after the first step when the measured
 * pzrt_mem_peak_total() or pzrt_arena_peak() differs from the plan (a value
 * of 0 in the model means "unknown" and is not checked).
 *
 * Contract for the generated step functions:
 *  - Buffers: params/grads/states/inputs are the driver's (64-byte aligned,
 *    C order, the spec's local shape). Temporaries live in the arena; the
 *    functions acquire and release them with pzrt_arena_acquire/release. The
 *    driver calls pzrt_arena_release_all after every call, so a function may
 *    leave buffers live, but nothing in the arena survives between calls.
 *  - forward_backward OVERWRITES every grads[i] (it never accumulates). The
 *    driver accumulates micro-batches itself: micro-batch 0 writes into the
 *    accumulators, later ones into the grads buffers, which the driver adds
 *    to the accumulators; the grads buffers then receive the average
 *    sum / grad_accum. So the `grads` pointers differ between micro-batches.
 *  - *loss is the UNSCALED loss of the micro-batch (a per-example mean); the
 *    driver reports the mean over micro-batches (and over data-parallel
 *    ranks). Every rank must report it (pipeline stages included).
 *  - Loss scaling (loss_scaling = 1): the model must have exactly one input
 *    with role PZRT_INPUT_LOSS_SCALE (F32, one element), which the driver sets
 *    to the current scale before every forward_backward; the generated code
 *    multiplies the loss by it before the backward pass, so grads are the
 *    gradients of scale x loss. The driver checks all grads for inf/NaN,
 *    divides them by grad_accum x scale, updates the scaler and skips the
 *    optimizer on overflow. Without loss scaling a LOSS_SCALE input gets 1.
 *  - optimizer_step receives grads averaged over micro-batches and unscaled.
 *    Its `step` argument counts APPLIED updates from 1 (a step skipped for an
 *    overflow does not count, as with torch's GradScaler), so AdamW's bias
 *    correction matches its moment estimates; `lr` is pzrt_lr_at() of the
 *    iteration (ctx->step), which counts every step (ctx->lr holds it in
 *    double). Without loss scaling both are equal. The driver does not
 *    communicate gradients: data-parallel reductions (all-reduce,
 *    reduce-scatter) belong to the generated code, normally in optimizer_step
 *    (after accumulation). The driver's own agreement between ranks (the
 *    loss average, the overflow flag, the setup outcome) is not counted in
 *    the comm_bytes counters.
 *  - The functions return -1 with pzrt_last_error() set on failure; the
 *    driver reports it with the rank, step and micro-batch and exits 1.
 *
 * Data-parallel layout: the dp_size (default world_size) data-parallel
 * ranks are the outermost grid axis: rank r has dp rank r / (world_size /
 * dp_size). The global batch is G = rows x grad_accum x dp_size, where rows
 * is shape[0] of the DATA inputs (all equal). Iteration t (from 1) of a run
 * that started at data position P (0, or the checkpoint's) uses global rows
 * P + (t-start-1)*G ... + G-1; dp rank d takes the contiguous G/dp_size rows
 * from P + (t-start-1)*G + d*G/dp_size and its micro-batches follow in order.
 * For token files a row is a window of S+1 tokens.
 *
 * Checkpoints (--save/--load, pzrt/checkpoint.h): every parameter and
 * optimizer state under its name (global shape; each rank writes its slice),
 * "step" = the last completed iteration, "rng" = {seed, offset = step},
 * "data"."position" = the next global row, "plan" = plan_json, and "extra" =
 * {"model", "optimizer_step" (applied updates), "global_batch", "grad_accum",
 * "loss_scaler": {"scale", "good_steps", "growth_interval", "growth_factor",
 * "backoff_factor", "min_scale"}}. A resumed run continues bit for bit.
 *
 * Metrics lines (--metrics) carry metrics.h's members plus
 * "arena_peak_bytes" and, with loss scaling, "loss_scale" (the scale the step
 * used) and "skipped"; FILE.rankN.jsonl adds "rank" and "rank_loss" (this
 * rank's loss). Metrics files are truncated when a run starts.
 */
#ifndef PZRT_TRAIN_H
#define PZRT_TRAIN_H

#include "pzrt/arena.h"
#include "pzrt/comm.h"
#include "pzrt/schedule.h"
#include "pzrt/trace.h"
#include "pzrt/types.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PZRT_MAX_DIMS 8

typedef struct pzrt_tensor_spec {
  const char *name; /* parameter name (ONNX initializer), input name or state name */
  pzrt_dtype dtype;
  int32_t ndim;
  int64_t shape[PZRT_MAX_DIMS];     /* this rank's (local) shape */
  /* Optional, for a tensor sharded over ranks; NULL for an unsharded one.
   * global_shape: the whole tensor's shape (ndim values); offsets: where this
   * rank's slice (extents = shape) starts in it (NULL: all zeros). Checkpoints
   * and init files hold whole tensors; each rank reads and writes its slice
   * (replicated slices are stored once). Being the last members, they are
   * zero when an initializer leaves them out. */
  const int64_t *global_shape;
  const int64_t *offsets;
} pzrt_tensor_spec;

/* What feeds a data input of forward_backward. */
typedef enum pzrt_input_role {
  PZRT_INPUT_DATA = 0,       /* one micro-batch of a data input (input_ids, labels, ...) */
  PZRT_INPUT_LOSS_SCALE = 1  /* f32 scalar: the current loss scale (fp16 training) */
} pzrt_input_role;

/* Passed to the generated step functions. */
typedef struct pzrt_step_ctx {
  pzrt_arena *arena;  /* the step's buffers live at offsets in this arena */
  char *arena_base;   /* pzrt_arena_base(arena) */
  uint64_t seed;      /* --seed: keys dropout masks */
  int64_t step;       /* the training step (iteration), counting from 1; with
                         seed, it keys dropout masks */
  int32_t micro_batch;/* 0 .. grad_accum-1 within the step (0 in optimizer_step) */
  pzrt_trace *trace;  /* NULL unless --trace; rank 0 is pid 0, tid 0 is "driver" */
  pzrt_comm *comm;    /* the world communicator (single-rank one without MPI; NULL
                         outside pzrt_train_main) */
  double lr;          /* this step's learning rate, unrounded: optimizer_step's float
                         `lr` argument is (float)ctx->lr; use this one to match
                         torch.optim bit for bit (it computes in double) */
} pzrt_step_ctx;

/* Runs forward and backward on one micro-batch: params[num_params],
 * inputs[num_inputs] (in the order of model->inputs), writes the scalar
 * (unscaled) loss to *loss and the gradient of each parameter (of scale x
 * loss under loss scaling) to grads[i] (overwriting). Returns 0, or -1 with
 * pzrt_last_error() set. */
typedef int (*pzrt_forward_backward_fn)(pzrt_step_ctx *ctx, void *const *params,
                                        void *const *inputs, float *loss, void *const *grads);
/* Updates params and states in place from grads (already averaged over
 * micro-batches and unscaled); lr is this step's rate, step counts applied
 * updates from 1 (see above); writes the global gradient norm (before
 * clipping) to *grad_norm. */
typedef int (*pzrt_optimizer_fn)(pzrt_step_ctx *ctx, void *const *params, void *const *grads,
                                 void *const *states, float lr, int64_t step, float *grad_norm);

typedef struct pzrt_model {
  const char *name;
  int32_t num_params;
  const pzrt_tensor_spec *params;
  int32_t num_inputs;
  const pzrt_tensor_spec *inputs; /* shapes of ONE micro-batch */
  const int32_t *input_roles;     /* pzrt_input_role per input */
  int32_t num_states;
  const pzrt_tensor_spec *states; /* zero at the start, e.g. "exp_avg:W" */
  uint64_t arena_bytes;           /* arena size: the highest end offset of the plan */
  uint64_t arena_planned_peak;    /* the plan's peak of live arena bytes */
  uint64_t planned_peak_bytes;    /* predicted pzrt_mem_peak_total() (report.json) */
  int32_t grad_accum;             /* micro-batches per step (>= 1) */
  int32_t world_size;             /* ranks the plan was compiled for */
  int64_t vocab;                  /* token ids must be < vocab (0: unchecked) */
  pzrt_lr_schedule lr_schedule;
  int32_t loss_scaling;           /* 1: dynamic loss scaling (DeepSpeed defaults) */
  const char *init_file;          /* initial weights: safetensors file, relative to the
                                     executable's directory (an absolute path is used as
                                     is); every parameter under its name with its (global)
                                     shape, dtype F32 or the parameter's dtype; other
                                     tensors are ignored. NULL: parameters start at 0 */
  const char *plan_json;          /* the plan as a JSON object (stored in checkpoints);
                                     NULL: {} */
  pzrt_forward_backward_fn forward_backward;
  pzrt_optimizer_fn optimizer_step;
  int32_t dp_size;                /* data-parallel ranks (0: world_size); see above */
} pzrt_model;

/* The whole `train` program. Options (CONTRACT.md; `--opt=value` works too):
 *   --steps N (default 10; with --load: N more) --seed S (default 0; with --load: the
 *   checkpoint's) --log-every K (default 10; 0 = quiet)
 *   --data PATH [--data-dtype uint16|uint32] | --data-npy NAME=F.npy[,...] | --data synthetic
 *     (default synthetic). --data PATH needs exactly the DATA inputs input_ids and
 *     labels, int64 [b, S]; --data-npy must name every DATA input, with its dtype and
 *     row shape. Synthetic: input_ids/labels from pzrt_synthetic_batch, other integer
 *     inputs uniform in [0, vocab) (0 if vocab is 0), float inputs: row w of input i
 *     is pzrt_synthetic_floats(seed, 2^63 + i, w x row elements, ...).
 *   --metrics FILE.jsonl [--metrics-all] (FILE.rankN.jsonl on every rank)
 *   --trace FILE.json (rank 0; rank N > 0 writes FILE.rankN.json)
 *   --save DIR [--save-every K] (at steps that are multiples of K, and at the end)
 *     [--keep-last K]; DIR must be absent, empty or a checkpoint (checked at startup)
 *   --load DIR --comm-timeout SECONDS (default $PZRT_COMM_TIMEOUT or 600) --threads N
 *   (BLAS threads) --help
 * Every option but --data-npy is given at most once.
 * Progress lines go to stdout (rank 0), warnings and errors to stderr; a failed
 * write to stdout is an error.
 * Returns the process exit code: 0, 2 for bad usage or input (message on
 * stderr naming the option, file or rank), 3 when, without loss scaling, the
 * loss or a gradient is NaN/Inf (checked before every optimizer step; the
 * message names the step and the first parameter in model order; every rank
 * stops), 1 for an internal failure. With more than one rank, a failure on
 * one rank after setup (e.g. in a step function) aborts the whole job through
 * the communicator, so that no rank waits forever in a collective. */
int pzrt_train_main(const pzrt_model *model, int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_TRAIN_H */
