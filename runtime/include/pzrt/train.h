/* pzrt/train.h - the training driver behind every compiled `train` program.
 *
 * The compiler emits a program: host functions (each runs kernels on buffers
 * of one rank), a table that binds their arguments to the driver's buffers,
 * and the schedule of actions of one training step; its main() is
 * `return pzrt_train_main(&program, argc, argv);`. The driver walks the
 * schedule every step. Everything else a user sees of the executable -- the
 * command line of CONTRACT.md, data feeding, the learning-rate schedule,
 * dynamic loss scaling, metrics, the progress line, traces, checkpoints --
 * lives here, once, and is tested once.
 *
 * Memory: the driver allocates, through pzrt_mem_alloc, exactly
 *   params (PZRT_MEM_PARAMS), grads (PZRT_MEM_GRADS), optimizer states
 *   (PZRT_MEM_OPTIMIZER), one arena of program->arena_bytes (PZRT_MEM_ARENA),
 *   one buffer per data input (PZRT_MEM_DATA), the scalar slots
 *   (PZRT_SCALAR_COUNT x 8 bytes) and, when a function binds PZRT_ARG_ACCUM,
 *   one gradient accumulator per parameter (PZRT_MEM_WORKSPACE);
 * the compiler predicts the same sum as program->planned_peak_bytes, and the
 * measured pzrt_mem_peak_total() must equal it. Staging buffers for file I/O
 * are not allocated through pzrt_mem_alloc. With bytes(spec) = product of
 * the local shape (1 for ndim 0; c for a flat-sharded spec) x
 * pzrt_dtype_size(dtype):
 *   planned_peak_bytes = sum bytes(params) + sum grad_bytes(params) x
 *                        (accumulators ? 2 : 1)
 *                      + sum bytes(states) + arena_bytes + sum bytes(inputs)
 *                      + 8 x PZRT_SCALAR_COUNT
 * (a grad and an accumulator have their parameter's dtype and shape, or,
 * with grad_shard_axes, ceil(N / n) elements of it). The
 * driver resets the peaks when it starts (pzrt_mem_reset_peaks) and prints a
 * one-line warning after the first step when the measured
 * pzrt_mem_peak_total() or pzrt_arena_peak() differs from the plan (a value
 * of 0 in the program means "unknown" and is not checked).
 *
 * Contract of the compiled functions and the schedule:
 *  - Buffers: params/grads/accumulators/states/inputs/scalars are the
 *    driver's (64-byte aligned, C order, the spec's local shape), bound to the
 *    functions' arguments by pzrt_arg_binding. Temporaries live in the arena;
 *    the functions acquire and release them with pzrt_arena_acquire/release.
 *    The driver calls pzrt_arena_release_all after every call, so nothing in
 *    the arena survives between calls.
 *  - Each step the driver sets the scalars LR, LOSS_SCALE and GRAD_SCALE,
 *    then runs the actions in order. Before a forward_backward it fills the
 *    data inputs with the action's micro-batch (and an input of role
 *    PZRT_INPUT_LOSS_SCALE, if any, with the scale); after it, it reads LOSS
 *    (the UNSCALED loss of the micro-batch); the step's loss is the mean over
 *    micro-batches (and over data-parallel ranks). Gradient accumulation,
 *    unscaling and the check for inf/NaN are the program's own functions
 *    (accumulate_grads, finalize_grads), because they must run where the
 *    gradients live.
 *  - CHECK_NUMERICS reads NONFINITE. Under loss scaling, a non-finite
 *    gradient on any rank skips the rest of the step, halves the scale and
 *    does not count as an applied update. Without, a non-finite gradient or
 *    loss stops the run with exit 3 naming the step and the first parameter.
 *  - Before an optimizer_step the driver sets STEP to the applied updates
 *    + 1 (a skipped step does not count, as with torch's GradScaler), so that
 *    AdamW's bias correction matches its moment estimates; LR is
 *    pzrt_lr_at() of the iteration (ctx->step), which counts every step.
 *    After it, it reads GRAD_NORM.
 *  - Data-parallel reductions (all-reduce, reduce-scatter) belong to the
 *    compiled functions. The driver's own agreement between ranks (the loss
 *    average, the numerics flag, the setup outcome) is not counted in the
 *    comm_bytes counters.
 *  - The functions return -1 with pzrt_last_error() set on failure; the
 *    driver reports it with the rank, step and micro-batch and exits 1.
 *
 * Data-parallel layout: the dp_size data-parallel ranks are the outermost
 * grid axes after pp. Without pipeline stages dp_size defaults to
 * world_size and rank r has dp rank r / (world_size / dp_size). With pp > 1
 * stages (pp the outermost axis), each stage has world_size / pp ranks;
 * dp_size defaults to world_size / pp, and rank r has dp rank
 * (r mod (world_size / pp)) / ((world_size / pp) / dp_size): its coordinate
 * over the dp axes, the same on every stage. The global batch is
 * G = rows x grad_accum x dp_size, where rows is shape[0] of the DATA
 * inputs (all equal; with stages, those of any stage that reads data).
 * Iteration t (from 1) of a run that started at data position P (0, or the
 * checkpoint's) uses global rows P + (t-start-1)*G ... + G-1; dp rank d
 * takes the contiguous G/dp_size rows from P + (t-start-1)*G + d*G/dp_size
 * and its micro-batches follow in order.
 * For token files a row is a window of S+1 tokens.
 *
 * Checkpoints (--save/--load, pzrt/checkpoint.h): every parameter and
 * optimizer state under its name (global shape; each rank writes its slice,
 * a flat-sharded one its flat range; any layout loads under any other),
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
  /* ZeRO flat sharding. shard_axes: a bit mask of grid axes (bit a for
   * pzrt_grid_axis a); 0: not flat-sharded (global_ndim is then unused).
   * When non-zero, the whole tensor of global_ndim dimensions and shape
   * global_shape (required; offsets must be NULL) is flattened in C order
   * and padded with zeros to n x c elements, where n = the product of
   * program->grid over the masked axes and c = ceil(N / n) for its N
   * elements; the rank with coordinate k over the masked axes holds elements
   * [k x c, (k+1) x c) as a 1-D buffer: ndim is 1 and shape[0] is c. k is
   * this rank's coordinates over the masked axes taken row-major in grid
   * order (outermost axis first), which is its rank in the communicator of
   * that axis group (ctx->comms). Elements past N are zero wherever the
   * driver fills the buffer (initial weights, checkpoint loads). The
   * checkpoint holds the whole tensor; each rank writes its valid range
   * [min(k x c, N), min((k+1) x c, N)) as a flat slice. */
  int32_t global_ndim;
  uint32_t shard_axes;
  /* Box sharding (tensor parallelism): per dim, a bit mask of grid axes
   * that split the dim in blocks, or NULL. When given, global_shape is
   * required and offsets must be NULL. Dim d of the rank's block is
   * b_d = ceil(global_shape[d] / n_d), n_d the product of program->grid
   * over the dim's axes, and the block starts at k_d x b_d, k_d the rank's
   * coordinate over those axes taken row-major in grid order; the last
   * blocks of a dim n_d does not divide end past it (padding: zero wherever
   * the driver fills it, never stored). Ranks that differ only in other
   * axes hold the same block, which a checkpoint stores once.
   * Without shard_axes, dim_axes has ndim values and shape is the block.
   * With shard_axes (tp with ZeRO), dim_axes has global_ndim values, no
   * axis both splits a dim and chunks, and the rank holds the flat chunk
   * of its block as above with N the block's elements: shape[0] is
   * ceil(N / n); a checkpoint holds the boxes of the whole tensor the
   * chunk's valid elements cover. */
  const uint32_t *dim_axes;
  /* 0 or 1: the program's tensor has the stored layout. g >= 2 (a fused
   * q/k/v projection, pz-interleave-qkv): along its one box-split dim d,
   * of size D over n ranks, the program's index r (g b) + i b + j holds the
   * stored index i (n b) + r b + j, for b = D / (g n): each rank's block is
   * its share of each of g equal parts of the stored dim (its heads of q,
   * k and v). Initial weights and checkpoints keep the stored layout; the
   * driver reads and writes each block as g boxes of it. */
  int32_t split_groups;
} pzrt_tensor_spec;

/* What feeds a data input of forward_backward. */
typedef enum pzrt_input_role {
  PZRT_INPUT_DATA = 0,       /* one micro-batch of a data input (input_ids, labels, ...) */
  PZRT_INPUT_LOSS_SCALE = 1, /* f32 scalar: the current loss scale (fp16 training) */
  /* Pipeline stages (see "Pipeline stages" below). As an input: received from
   * a neighbouring stage by PZRT_ACTION_RECV. As an output (output_roles): sent
   * by PZRT_ACTION_SEND. */
  PZRT_INPUT_ACTIVATION = 2,     /* the activation between stage s and s + 1: an
                                    output of s, an input of s + 1 */
  PZRT_INPUT_ACTIVATION_GRAD = 3 /* its gradient: an output of s + 1, an input of s */
} pzrt_input_role;

typedef struct pzrt_device pzrt_device; /* pzrt/exec.h */
typedef struct pzrt_stream pzrt_stream; /* pzrt/exec.h */

/* Passed to the compiled host functions. */
typedef struct pzrt_step_ctx {
  pzrt_arena *arena;  /* the step's buffers live at offsets in this arena */
  char *arena_base;   /* pzrt_arena_base(arena) */
  uint64_t seed;      /* --seed: keys dropout masks */
  int64_t step;       /* the training step (iteration), counting from 1; with
                         seed, it keys dropout masks */
  int32_t micro_batch;/* the micro-batch the running action is for (0 .. grad_accum-1) */
  pzrt_trace *trace;  /* NULL unless --trace; rank 0 is pid 0, tid 0 is "driver" */
  pzrt_comm *comm;    /* the world communicator (single-rank one without MPI; NULL
                         outside pzrt_train_main) */
  double lr;          /* this step's learning rate, unrounded (the LR scalar holds it as
                         f32; torch.optim computes in double) */
  pzrt_device *device;          /* where the buffers live (pzrt/exec.h) */
  int32_t num_streams;          /* streams[0] computes, streams[1] communicates */
  pzrt_stream *const *streams;
  int32_t num_comms;            /* one communicator per group of grid axes, in the */
  pzrt_comm *const *comms;      /* order of program->comm_groups */
  /* Where the running micro-batch sits in the step's global batch, in
   * micro-batches: (data-parallel coordinate) x grad_accum + micro_batch.
   * A dropout over n elements indexes its mask from dropout_block x n, so
   * that every plan draws the mask one rank draws for the global batch
   * (the batch dim outermost). */
  int64_t dropout_block;
} pzrt_step_ctx;

/* ---- the program ABI ---- */

#define PZRT_ABI_VERSION 6

/* A compiled host function: args[i] is the buffer its i-th argument is bound
 * to. Returns 0, or -1 with pzrt_last_error() naming the op that failed. */
typedef int (*pzrt_host_fn)(pzrt_step_ctx *ctx, void *const *args);

/* What a host function's argument is bound to. */
typedef enum pzrt_arg_kind {
  PZRT_ARG_PARAM = 0,  /* params[index] */
  PZRT_ARG_GRAD = 1,   /* grads[index] (a gradient of params[index]) */
  PZRT_ARG_ACCUM = 2,  /* the gradient accumulator of params[index] */
  PZRT_ARG_STATE = 3,  /* states[index] */
  PZRT_ARG_INPUT = 4,  /* inputs[index]: the running micro-batch */
  PZRT_ARG_SCALAR = 5, /* the scalar slot `index` (pzrt_scalar) */
  PZRT_ARG_SAVED = 6,  /* saved[index] in the slot of the running micro-batch */
  PZRT_ARG_OUTPUT = 7  /* outputs[index]: a tensor the stage sends */
} pzrt_arg_kind;

/* The step's scalars, in device memory like every buffer (the compiler's
 * #pz.role, in the same order). */
typedef enum pzrt_scalar {
  PZRT_SCALAR_LOSS = 0,       /* f32 out of forward_backward: the micro-batch's loss */
  PZRT_SCALAR_LR = 1,         /* f32 into optimizer_step: (float)lr of the iteration */
  PZRT_SCALAR_STEP = 2,       /* i64 into optimizer_step: applied updates, from 1 */
  PZRT_SCALAR_LOSS_SCALE = 3, /* f32 into forward_backward: the loss scale */
  PZRT_SCALAR_GRAD_NORM = 4,  /* f32 out of optimizer_step: the global gradient norm */
  PZRT_SCALAR_GRAD_SCALE = 5, /* f32 into finalize_grads: 1 / (grad_accum x loss scale) */
  PZRT_SCALAR_NONFINITE = 6,  /* i64 out of finalize_grads: the first parameter whose
                                 gradient has a NaN or an infinity, or -1 */
  PZRT_SCALAR_TP_INDEX = 7,   /* i64 into forward_backward: this rank's coordinate on the
                                 grid's tp axis */
  PZRT_SCALAR_GRAD_NORM_SQ = 8, /* f32 out of grad_norm_sq (a chunk's sum of squared
                                   gradients) and into optimizer_step (the sum over the
                                   rank's chunks): interleaved pipelines */
  PZRT_SCALAR_COUNT = 9
} pzrt_scalar;

typedef struct pzrt_arg_binding {
  int32_t kind;  /* pzrt_arg_kind */
  int32_t index;
} pzrt_arg_binding;

/* What a host function does in the step. */
typedef enum pzrt_function_role {
  PZRT_FN_FORWARD_BACKWARD = 0, /* one micro-batch: the loss and the gradients
                                   (overwritten, of scale x loss under loss scaling) */
  PZRT_FN_ACCUMULATE_GRADS = 1, /* accumulators += gradients */
  PZRT_FN_FINALIZE_GRADS = 2,   /* gradients = accumulators / (grad_accum x scale);
                                   NONFINITE */
  PZRT_FN_OPTIMIZER_STEP = 3,   /* the update of params and states, GRAD_NORM */
  PZRT_FN_STAGE_FORWARD = 4,    /* a pipeline stage's forward of one micro-batch: its
                                   activation output (the last stage: LOSS) and saved set */
  PZRT_FN_STAGE_BACKWARD = 5,   /* its backward: the gradients (overwritten) and the
                                   activation's gradient output (not on stage 0); under
                                   the zb schedule only the activation's gradient (B) */
  PZRT_FN_STAGE_BACKWARD_WEIGHT = 6, /* zb: the rest of the backward (W), the gradients
                                       (overwritten), after B of the same micro-batch; a
                                       micro-batch's slot is held until its W */
  PZRT_FN_GRAD_NORM_SQ = 7      /* interleaved: a chunk's sum of squared gradients
                                   (GRAD_NORM_SQ), before any chunk's optimizer_step */
} pzrt_function_role;

typedef struct pzrt_function_entry {
  const char *name;               /* the host function ("forward_backward") */
  int32_t role;                   /* pzrt_function_role */
  pzrt_host_fn fn;
  int32_t num_args;
  const pzrt_arg_binding *args;   /* one binding per argument */
  uint64_t arena_bytes;           /* its #pzrt.memory_plan */
  uint64_t arena_peak_bytes;
} pzrt_function_entry;

typedef enum pzrt_action_kind {
  PZRT_ACTION_RUN = 0,            /* run functions[function] for micro_batch */
  PZRT_ACTION_CHECK_NUMERICS = 1, /* read LOSS and NONFINITE, agree over the ranks; then
                                     skip the rest of the step (loss scaling) or stop with
                                     exit 3 (no loss scaling) when they are not finite */
  PZRT_ACTION_SEND = 2,           /* send outputs[tensor] (of micro_batch) to the neighbour
                                     stage its role names */
  PZRT_ACTION_RECV = 3            /* receive inputs[tensor] of micro_batch, into its slot,
                                     from the neighbour stage its role names */
} pzrt_action_kind;

typedef struct pzrt_action {
  int32_t kind;        /* pzrt_action_kind */
  int32_t function;    /* PZRT_ACTION_RUN: index into functions */
  int32_t micro_batch; /* PZRT_ACTION_RUN of forward_backward or a stage function, SEND,
                          RECV: the micro-batch */
  int32_t tensor;      /* SEND: index into outputs; RECV: index into inputs */
  int32_t order;       /* interleaved: its place in the rank's step, increasing along
                          the program's schedule; a rank runs its chunks' programs'
                          actions merged by it (distinct places). A rank with one
                          program runs the schedule in its order and ignores it. */
} pzrt_action;

/* The grid axes, outermost first; a communicator group is a bit mask of them
 * (bit a for axis a): the ranks that differ only in those axes. */
typedef enum pzrt_grid_axis {
  PZRT_AXIS_PP = 0,
  PZRT_AXIS_DP_REPLICATE = 1,
  PZRT_AXIS_DP_SHARD = 2,
  PZRT_AXIS_CP = 3,
  PZRT_AXIS_TP = 4,
  PZRT_AXIS_COUNT = 5
} pzrt_grid_axis;

typedef struct pzrt_program {
  uint32_t abi_version;           /* PZRT_ABI_VERSION */
  const char *name;
  int32_t num_params;
  const pzrt_tensor_spec *params;
  int32_t num_inputs;
  const pzrt_tensor_spec *inputs; /* shapes of ONE micro-batch */
  const int32_t *input_roles;     /* pzrt_input_role per input */
  int32_t num_states;
  const pzrt_tensor_spec *states; /* zero at the start, e.g. "exp_avg:W" */
  uint64_t arena_bytes;           /* arena size: the largest of the functions' */
  uint64_t arena_planned_peak;    /* the largest of the functions' peaks of live bytes */
  uint64_t planned_peak_bytes;    /* predicted pzrt_mem_peak_total() (report.json) */
  int32_t grad_accum;             /* micro-batches per step (>= 1) */
  int32_t world_size;             /* ranks the plan was compiled for */
  int32_t dp_size;                /* data-parallel ranks (0: world_size); see above */
  int32_t grid[PZRT_AXIS_COUNT];  /* the grid's axis sizes (all 1: one rank) */
  int64_t vocab;                  /* token ids must be < vocab (0: unchecked) */
  pzrt_lr_schedule lr_schedule;
  const pzrt_loss_scaler *loss_scaling; /* the scaler's start (fp16); NULL: none */
  const char *init_file;          /* initial weights: safetensors file, relative to the
                                     executable's directory (an absolute path is used as
                                     is); every parameter under its name with its (global)
                                     shape, dtype F32 or the parameter's dtype; other
                                     tensors are ignored. NULL: parameters start at 0 */
  const char *plan_json;          /* the plan as a JSON object (stored in checkpoints);
                                     NULL: {} */
  int32_t num_functions;
  const pzrt_function_entry *functions;
  int32_t num_actions;
  const pzrt_action *schedule;    /* one step's actions, in order */
  int32_t num_comm_groups;
  const uint32_t *comm_groups;    /* bit masks of grid axes: ctx->comms[i] */
  /* ZeRO stage 2 and 3: the gradients (and their accumulators) are chunks
   * over these grid axes (bit mask; 0: each gradient has its parameter's
   * shape): the gradient of a parameter of N elements is a 1-D buffer of
   * ceil(N / n) elements, n the ranks over the axes; this rank's chunk of
   * the averaged gradient (train.h's flat-shard rule). A flat-sharded
   * parameter's gradient is its chunk anyway. Last member: zero when an
   * initializer leaves it out. */
  uint32_t grad_shard_axes;
  /* Pipeline stages (pzrt_train_main_stages); all zero otherwise. */
  int32_t pp_stage;               /* this program's stage: its ranks' coordinate on the pp axis */
  int32_t num_slots;              /* micro-batches in flight (>= 1 for a stage program) */
  int32_t num_saved;
  const pzrt_tensor_spec *saved;  /* the saved set: what the stage's forward keeps for its
                                     backward, one buffer per tensor per slot */
  int32_t num_outputs;
  const pzrt_tensor_spec *outputs;/* tensors the stage sends, one buffer each */
  const int32_t *output_roles;    /* PZRT_INPUT_ACTIVATION (to stage + 1) or
                                     PZRT_INPUT_ACTIVATION_GRAD (to stage - 1) */
  /* Parameters that several stages hold (a tied embedding and LM head):
   * tied_params[i] indexes params, tied_stages[i] is the bit mask of the
   * stages that hold it (this one among them). Before FINALIZE_GRADS the
   * driver sums the parameter's gradient (its accumulator when the step
   * accumulates) over the ranks of those stages that share this rank's
   * other grid coordinates, so that every copy takes the same update. The
   * bytes count as all_reduce under reason "pp.tied_grad". */
  int32_t num_tied;
  const int32_t *tied_params;
  const uint32_t *tied_stages;
  /* ZB-H1 (a PZRT_FN_STAGE_BACKWARD_WEIGHT function): saved_pools[i] is 0
   * for a saved tensor of the forward (in the micro-batch's slot, held
   * from its first RECV or forward to its backward B, like the inputs) and 1
   * for one B keeps for W (in its weight slot, micro-batch m mod
   * num_weight_slots, held from B to W). NULL: every saved tensor in pool 0. */
  int32_t num_weight_slots;
  const int32_t *saved_pools;
  /* Interleaved pipelines: the chunks (virtual stages) per rank, v >= 1 (0
   * reads as 1). The plan has pp x v global stages, pp_stage among them;
   * stage s runs on the ranks of pp coordinate s mod pp, which hold the
   * stages s mod pp, s mod pp + pp, ... (pzrt_train_main_stages). */
  int32_t num_chunks;
} pzrt_program;

/* The whole `train` program. Options (CONTRACT.md; `--opt=value` works too):
 *   --steps N (default 10; with --load: N more) --seed S (default 0; with --load: the
 *   checkpoint's) --log-every K (default 10; 0 = quiet)
 *   --data PATH [--data-dtype uint16|uint32] | --data-npy NAME=F.npy[,...] | --data synthetic
 *     (default synthetic). --data PATH needs exactly the DATA inputs input_ids and
 *     labels, int64 [b, S]; --data-npy must name every DATA input, with its dtype and
 *     row shape (with pipeline stages: every DATA input of any stage; each stage
 *     loads its own, and every file must have the same rows). Synthetic:
 *     input_ids/labels from pzrt_synthetic_batch, other integer inputs uniform
 *     in [0, vocab) (0 if vocab is 0), float inputs: row w of input i is
 *     pzrt_synthetic_floats(seed, 2^63 + i, w x row elements, ...).
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
int pzrt_train_main(const pzrt_program *program, int argc, char **argv);

/* Pipeline stages: one program per stage, stages[s] with pp_stage s, all of
 * one plan (grid[PZRT_AXIS_PP] = num_stages, the same grid, world size,
 * grad_accum, lr schedule, plan_json and init_file). A rank runs the program
 * of its coordinate on the pp axis (the outermost: rank / (world_size / pp)).
 * Everything of pzrt_train_main holds per stage, with these differences:
 *  - Slots. Micro-batch m uses slot m mod num_slots: one buffer per input and
 *    per saved tensor in each slot (an argument bound to PZRT_ARG_INPUT or
 *    PZRT_ARG_SAVED gets the one of the running action's micro-batch). The
 *    outputs have one buffer each. The memory formula's "sum bytes(inputs)"
 *    becomes num_slots x (sum bytes(inputs) + sum bytes(saved of pool 0)) +
 *    num_weight_slots x sum bytes(saved of pool 1) + sum bytes(outputs).
 *  - Before a RUN of a PZRT_FN_STAGE_FORWARD the driver fills the stage's DATA
 *    inputs (a subset of the model's: the first stage's input_ids, the last's
 *    labels) with the micro-batch; a stage reads the rows every stage reads.
 *    After it, on the stage that has the loss (a function binds the LOSS
 *    scalar), it reads LOSS. The step's loss is the mean over micro-batches
 *    and over the data-parallel ranks of the last stage; every rank learns it
 *    at CHECK_NUMERICS, which every stage's schedule has.
 *  - SEND and RECV exchange a whole buffer with the rank of the same
 *    coordinates on the other axes and pp coordinate stage + 1 (an ACTIVATION
 *    output, an ACTIVATION_GRAD input) or stage - 1 (the other two). A SEND
 *    is posted (pzrt_isend); the next function that writes its buffer, and
 *    the end of the step, wait for it. A RECV blocks. The bytes count as
 *    sends under reasons "pp.activation" and "pp.activation_grad".
 *  - Checkpoints hold every stage's parameters and states: a stage writes its
 *    own, and loads them from any checkpoint that holds them.
 *  - Tied parameters (pzrt_program's tied_params): every stage of the mask
 *    holds the parameter (same name, dtype, shapes, gradient chunk), tied
 *    with the same mask, and runs finalize_grads after its last gradient
 *    (stage backward or accumulate_grads). Once a step, before the first
 *    finalize_grads, the driver all-reduces (sum) the whole gradient
 *    buffer (the accumulator when the program binds accumulators) over the
 *    ranks of the mask's stages with this rank's coordinates on the other
 *    axes, the tied parameters in the order (mask, name) on every stage;
 *    a trace event "all_reduce" (category "comm") per parameter. Every copy
 *    then takes the same update, so the copies stay bitwise alike, as do
 *    their optimizer states (a checkpoint stores them once). GRAD_NORM, if
 *    summed over the stages, must count a tied parameter once: the
 *    compiled optimizer of the lowest stage of its mask includes it, the
 *    others leave it out.
 * Returns as pzrt_train_main. */
int pzrt_train_main_stages(const pzrt_program *const *stages, int num_stages, int argc,
                           char **argv);

/* ---- a device other than the CPU ---- */
/* What a backend with its own device gives the driver (pzrt_cuda's
 * pzrt_cuda_train_main). pzrt itself stays free of any device library.
 *  - open_device(user): called once in setup, after the communicator and
 *    before any buffer is allocated; returns the device every buffer lives
 *    on (ctx->device; the driver creates its two streams there), or NULL
 *    with pzrt_last_error(), which ends the run like any setup failure
 *    ("train: rank R: MESSAGE", exit 1; --help and usage errors need no
 *    device).
 *  - allocator: where pzrt_mem_alloc takes every counted buffer from
 *    (params, grads, accumulators, states, inputs, saved tensors, outputs,
 *    scalars and the arena) while the driver runs; NULL: host memory. The
 *    memory may be out of the host's reach (CUDA device memory): on a
 *    device other than the CPU the driver reads and writes buffer contents
 *    only through pzrt_device_read/write (exec.h; the data feed, weights,
 *    checkpoints, pipeline sends and receives, tied gradients), and exec.h's
 *    MPI transfers stage through host memory. Before allocating, the driver
 *    compares its plan's bytes with pzrt_device_mem_info's free memory.
 *  - data_comm(control, &comm, user): may be NULL. Called on every rank of
 *    a multi-rank run, once every rank has opened its device: sets *comm to
 *    the world communicator the compiled collectives' groups are split
 *    from (NCCL on device buffers), or to NULL for `control` itself (MPI,
 *    host-staged). The driver's own exchanges (its agreements, pipeline
 *    sends, tied gradients, checkpoints) stay on `control`. The hook must
 *    decide the same on every rank (it may agree over `control`). 0, or -1
 *    with pzrt_last_error() (exit 1).
 * NULL hooks: the CPU device, as pzrt_train_main. */
typedef struct pzrt_device_hooks {
  pzrt_device *(*open_device)(void *user);
  const struct pzrt_mem_allocator *allocator;
  void *user;
  int (*data_comm)(pzrt_comm *control, pzrt_comm **comm, void *user);
} pzrt_device_hooks;
int pzrt_train_main_on(const pzrt_program *program, int argc, char **argv,
                       const pzrt_device_hooks *hooks);
int pzrt_train_main_stages_on(const pzrt_program *const *stages, int num_stages, int argc,
                              char **argv, const pzrt_device_hooks *hooks);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_TRAIN_H */
