//===- Passes.td - pz dialect passes --------------------------------------===//

#ifndef PZ_DIALECT_PZ_TRANSFORMS_PASSES_TD
#define PZ_DIALECT_PZ_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def SetInputShapesPass : Pass<"pz-set-input-shapes", "mlir::ModuleOp"> {
  let summary = "Fix the dynamic dims of named data inputs";
  let description = [{
    Gives every function argument marked `pz.input = "NAME"` the shape named
    for it in `shapes` (`NAME=DxD,NAME=DxD`), as `--input-shape` does. The
    new shape must keep the rank and agree with every static dim. Naming an
    input that no function has is an error. The shapes are then carried
    through the graph as `pz-infer-shapes` does, so that the IR verifies.
  }];
  let options = [
    Option<"shapes", "shapes", "std::string", /*default=*/"\"\"",
           "comma-separated NAME=DxDx... entries">,
  ];
  let dependentDialects = ["mlir::func::FuncDialect",
                           "mlir::tensor::TensorDialect"];
}

def InferShapesPass : Pass<"pz-infer-shapes", "mlir::ModuleOp"> {
  let summary = "Refine result types from the ops' shape inference";
  let description = [{
    Walks every function in order and replaces each pz op's result types by
    the inferred ones where inference knows more (a static dim where the IR
    has `?`). Function result types follow their returned values, and calls
    follow their callees, until nothing changes. Ops whose inference fails
    are reported with their location. Users outside pz that need the old
    type get a `tensor.cast`, and so do call operands that no longer match
    their callee's arguments.
  }];
  let dependentDialects = ["mlir::func::FuncDialect",
                           "mlir::tensor::TensorDialect"];
}


def AddLossPass : Pass<"pz-add-loss", "mlir::ModuleOp"> {
  let summary = "Append a token cross-entropy over the logits output";
  let description = [{
    `--add-loss cross-entropy`: the forward function gains a data input
    `labels` (integer ids shaped like the logits without their class dim)
    and an output `loss`, the mean cross-entropy over the tokens whose label
    is not -100. The `logits` output stays.
  }];
  let options = [
    Option<"kind", "kind", "std::string", /*default=*/"\"cross-entropy\"",
           "the loss to add (cross-entropy)">,
    Option<"logits", "logits", "std::string", /*default=*/"\"logits\"",
           "the output that holds the logits">,
  ];
}

def SplitStagesPass : Pass<"pz-split-stages", "mlir::ModuleOp"> {
  let summary = "Cut @forward into pipeline stages balanced by cost";
  let description = [{
    Pipeline parallelism (docs/design/0016). Cuts `@forward` into `stages`
    chunks at cut points, program points where exactly one activation (a
    value computed from both the data and the parameters, a transformer's
    residual stream) is live. Values computed from the parameters alone or
    from the data alone are cloned into every stage that reads them. The
    cuts minimize the costliest chunk, by each op's forward and backward
    FLOPs (StageCost.h), so the first and last stages carry the embedding
    and the head at their cost. With `memory-limit` (bytes; pp stages
    without virtual stages, the module's plan giving the schedule and the
    micro-batches) the cuts minimize the costliest chunk among those whose
    every stage's estimated memory fits (StageMemory.h: parameters with
    their gradients and optimizer states as ZeRO shards them, plus the
    activations of the micro-batches the schedule table keeps in flight);
    when none fits, the error gives the cost-balanced cut's estimates.
    `boundaries` pins the cuts instead: a
    layer name `L` cuts before the first op that reads a parameter
    `L.*`. Each chunk becomes a nested module `@stage_K` (the top module's
    attributes and `pz.stage = {index, flops}`) holding `@forward`, whose
    activation input and output carry `pz.pipe = "activation"`; the last
    stage returns the loss. Other outputs are dropped, as autodiff drops
    them.

    ```mlir
    module {
      module @stage_0 attributes {pz.stage = {flops = 1024 : i64, index = 0 : i64}} {
        func.func @forward(%x: tensor<4x8xf32> {pz.input = "x"}, %w: ... {pz.param = "fc1.weight"})
            -> (tensor<4x8xf32> {pz.pipe = "activation"})
      }
      module @stage_1 attributes {pz.stage = {flops = 1024 : i64, index = 1 : i64}} {
        func.func @forward(%h: tensor<4x8xf32> {pz.pipe = "activation"}, ...)
            -> (tensor<f32> {pz.output = "loss"})
      }
    }
    ```
  }];
  let options = [
    Option<"stages", "stages", "int64_t", /*default=*/"1",
           "the number of chunks (pp x virtual stages); 1 leaves the module alone">,
    ListOption<"boundaries", "boundaries", "std::string",
               "layers that start a stage (stages - 1 names), instead of the balanced cut">,
    Option<"loss", "loss", "std::string", /*default=*/"\"loss\"",
           "the output the last stage returns">,
    Option<"memoryLimit", "memory-limit", "int64_t", /*default=*/"0",
           "bytes a rank may hold (0: no limit): the balanced cut leaves out a stage whose "
           "estimated memory exceeds it">,
    Option<"optimizerStates", "optimizer-states", "int64_t", /*default=*/"2",
           "optimizer state tensors per parameter (AdamW 2, SGD with momentum 1), for the "
           "estimate">,
  ];
}

def AutodiffPass : Pass<"pz-autodiff", "mlir::ModuleOp"> {
  let summary = "Reverse-mode autodiff: forward -> forward_backward";
  let description = [{
    Rewrites `@forward` into `@forward_backward`, which returns the loss
    (the scalar output named by `loss`) and, for every parameter the loss
    depends on, its gradient, marked `pz.grad = "NAME"`. Other outputs are
    dropped. Each op on a path from a parameter to the loss builds its VJP
    through VJPOpInterface; an op without one is an error at its location.
    Parameters the loss does not depend on get no gradient (as PyTorch's
    `None`), and the optimizer leaves them untouched.
  }];
  let options = [
    Option<"loss", "loss", "std::string", /*default=*/"\"loss\"",
           "the scalar output to minimise">,
  ];
}

def OptimizerPass : Pass<"pz-optimizer", "mlir::ModuleOp"> {
  let summary = "Build @optimizer_step: clipping and the parameter update";
  let description = [{
    Adds `@optimizer_step(params, grads, state, lr, step)` returning the
    updated parameters, the updated optimizer state and the global gradient
    norm (before clipping, as `torch.nn.utils.clip_grad_norm_` reports it).
    `adamw` is `torch.optim.AdamW`; `sgd` is `torch.optim.SGD` with
    momentum. With `grad-clip` > 0 every gradient is scaled by
    `min(1, grad_clip / (norm + 1e-6))` first. `no-decay-1d` exempts 1-D
    parameters (biases, norm weights) from weight decay. The learning rate
    arrives as the `lr` input each step; the schedule that produces it is
    recorded on the function as `pz.lr_schedule`, and the runtime evaluates
    it (`pzrt_lr_at`): a linear warmup over `warmup-steps`, then constant, or
    cosine decay to 0 at `total-steps`.
  }];
  let options = [
    Option<"optimizer", "optimizer", "std::string", /*default=*/"\"adamw\"",
           "adamw or sgd">,
    // Doubles print with every digit they need (RoundTripDouble), so that a
    // printed pipeline replays the same values.
    Option<"lr", "lr", "::mlir::pz::RoundTripDouble", /*default=*/"1e-3",
           "base learning rate">,
    Option<"beta1", "beta1", "::mlir::pz::RoundTripDouble", /*default=*/"0.9",
           "AdamW beta1">,
    Option<"beta2", "beta2", "::mlir::pz::RoundTripDouble",
           /*default=*/"0.999", "AdamW beta2">,
    Option<"eps", "eps", "::mlir::pz::RoundTripDouble", /*default=*/"1e-8",
           "AdamW epsilon">,
    Option<"weightDecay", "weight-decay", "::mlir::pz::RoundTripDouble",
           /*default=*/"0.01", "decoupled weight decay (AdamW) or L2 (SGD)">,
    Option<"momentum", "momentum", "::mlir::pz::RoundTripDouble",
           /*default=*/"0.0", "SGD momentum">,
    Option<"gradClip", "grad-clip", "::mlir::pz::RoundTripDouble",
           /*default=*/"0.0", "global-norm clipping threshold (0: off)">,
    Option<"noDecay1D", "no-decay-1d", "bool", /*default=*/"false",
           "exempt 1-D parameters from weight decay">,
    Option<"lrSchedule", "lr-schedule", "std::string",
           /*default=*/"\"constant\"", "constant or cosine">,
    Option<"warmupSteps", "warmup-steps", "int64_t", /*default=*/"0",
           "linear warmup steps (cosine)">,
    Option<"totalSteps", "total-steps", "int64_t", /*default=*/"0",
           "steps over which cosine decays to 0">,
  ];
}

def BuildGradFunctionsPass : Pass<"pz-build-grad-functions", "mlir::ModuleOp"> {
  let summary = "Build @accumulate_grads and @finalize_grads over the step's gradients";
  let description = [{
    The gradient work between the backward passes and the optimizer, as
    compiled functions (they run where the gradients live, host or device):

    * with `grad_accum` K > 1 (the module's `pz.plan`),
      `@accumulate_grads(accum..., grads...) -> accum...` adds one
      micro-batch's gradients to the accumulators (`pz.accum`), in place;
    * `@finalize_grads` turns the sum into the gradients the optimizer
      reads, `grads = accum x (1/K)` (x `grad_scale`, an argument the runtime
      sets to 1/(K x loss scale), under fp16 loss scaling), and returns
      `nonfinite`: the number of the first parameter (in model order) whose
      gradient has a NaN or an infinity, or -1.

    The runtime reads `nonfinite` to skip the step (loss scaling) or to stop
    naming the parameter (fp32 and bf16).

    ```mlir
    func.func @finalize_grads(%a: tensor<4xf32> {pz.accum = "w"})
        -> (tensor<4xf32> {pz.grad = "w"}, tensor<i64> {pz.output = "nonfinite", pz.role = #pz.role<nonfinite>})
    ```
  }];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

def TensorParallelPass : Pass<"pz-tensor-parallel", "mlir::ModuleOp"> {
  let summary = "Split the model over tp (Megatron's column and row parallel "
                "linears) and cp (the sequence, ring attention) and partition "
                "the step with upstream shard-partition";
  let description = [{
    A plan pass. When the module's `pz.plan` has `tp` n > 1 or `cp` c > 1
    (and no `pp`, which is not built yet; pz-data-parallel and pz-zero then
    work on each rank's blocks), it gives every value of each
    training-step function a split over the grid `@world`'s tp and cp axes and
    lets the upstream `shard-partition` pass rewrite the function into the
    per-rank program, whose collectives the pz ops' sharding models insert
    with their reasons (`tp.partial_sum` and the op's source).

    The splits come from the rules of `pz/Dialect/PZ/Sharding/SplitRules.h`,
    applied to the ops in order in `@forward_backward`:

    * a parameter takes its split at its first use: the weight on the right
      of a matmul whose input is whole is split on the output columns
      (column parallel, when tp divides them); the weight of a matmul whose
      input is split on the contraction is split on its rows (row parallel:
      the product is a partial sum, all-reduced over tp); a bias takes the
      split of the values it is added to;
    * every other value takes what its op's rule gives it; an operand that
      an op cannot take split is all-gathered whole. Nothing is ever sliced
      out of a whole value, but under `sp`.

    With `sp` (sequence parallelism), the values that hold the token
    input's sequence ([b, s, ...]) are split along it: a partial sum there
    (a row-parallel output, a column-parallel input gradient, the
    vocab-parallel embedding) is reduce-scattered (`sp.partial_sum`), a
    sequence split yields to every other split over tp (the input of a
    column-parallel linear is all-gathered, `sp.all_gather`, and gathered
    again in the backward pass), and a whole operand of an element map is
    sliced locally (`pz.shard_chunk`). tp must divide the sequence. Dropout
    of a split value draws the masks of its elements' indices in the whole
    value (the block form of `pz.dropout`).

    With `cp` (context parallelism), the token inputs are split along their
    sequence over the cp axis in the zigzag layout (rank r holds chunks r
    and 2c-1-r of 2c: the driver feeds them, `pz.box_shard` on the input),
    and so is every value derived from them; a whole operand of an element
    map is sliced locally in the same order. Attention runs as a ring
    (`pz.attention_block` per step, the key and value blocks passed on with
    `shard.shift`, `cp.ring_kv_shift`, their gradients `cp.ring_kv_grad_shift`)
    when its mask, if any, masks keys only and tp does not replicate its kv
    heads; otherwise it reads its keys and values all-gathered
    (`cp.all_gather`, the gradients reduce-scattered, `cp.kv_grad`). The
    loss sums its tokens and their count over cp (`cp.loss_sum`,
    `cp.loss_count`), and each parameter's gradient is a partial sum over
    cp (`cp.partial_sum`). 2c must divide the sequence. With sp, each cp
    rank's tokens are split again over tp (shard split axes [cp, tp]), which
    must divide them; reshards between splits run one grid axis at a time.
    Dropout draws each element's mask from its index in the whole value
    (the block form, with each split dim's indices). With `grad_accum` > 1
    and no ZeRO, the gradients' sums over cp move to the start of
    `@finalize_grads`, once per step (source "NAME (once per step)").

    `@accumulate_grads`, `@finalize_grads` and `@optimizer_step` are
    partitioned with each parameter's gradients, accumulators and optimizer
    state split as the parameter: the gradient norm's sums of squares over
    split parameters are all-reduced over tp. The split arguments carry
    `pz.box_shard = {shape = global shape, dim_axes = per dim the grid axis
    or -1}`, which the runtime reads to load and save each rank's block.

    A parameter whose gradient would come out of `@forward_backward` whole
    while the parameter is split (making it split would need slicing by the
    rank's coordinate) is kept whole, and the walk starts again; a remark
    names the parameters kept whole. The word embedding splits on the
    vocabulary (vocab-parallel lookup and cross-entropy, which read the
    rank's coordinate from a `tp_index` argument the pass adds, and
    `pz.vocab` records the whole vocabulary). tp that does not divide the
    attention heads is an error.

    ```mlir
    %y = pz.matmul %h, %w2 {transpose_rhs} : tensor<4x32xf32>, tensor<10x32xf32> -> tensor<4x10xf32>
    %s = shard.all_reduce %y on @world grid_axes = [4] {pz.comm = #pzrt.reason<"tp.partial_sum", "/fc2/Gemm">} : tensor<4x10xf32> -> tensor<4x10xf32>
    ```
  }];
  let dependentDialects = ["mlir::shard::ShardDialect", "mlir::pzrt::PZRTDialect",
                           "mlir::tensor::TensorDialect"];
}

def DataParallelPass : Pass<"pz-data-parallel", "mlir::ModuleOp"> {
  let summary = "Average the gradients over dp_replicate in flat buckets (DDP)";
  let description = [{
    A plan pass. When the module's `pz.plan` has `dp_replicate` n > 1, it
    rewrites `@finalize_grads` so that the gradients it finalizes are
    averaged over the n replicas before the numerics check and the
    optimizer (gradient-norm clipping included) read them:

    * the gradients, in reverse model order (the order the backward pass
      finishes them), are packed into flat buckets of at most `bucket_mb`
      MiB of one element type (`bucket_mb = 0`: one gradient per bucket; a
      gradient larger than the cap has a bucket of its own);
    * each bucket is summed by one upstream `shard.all_reduce` on the
      program's grid `@world` (`pp x dp_replicate x dp_shard x cp x tp`,
      created if absent) over its dp_replicate axis, carrying its reason
      `pz.comm = #pzrt.reason<"ddp.grad_bucket", "bucket i of N">` and its
      gradients `pz.bucket = [names]`;
    * the sum is scaled by 1/n and unpacked into the gradients.

    With `grad_accum` K > 1 the micro-batches accumulate locally and only
    the finished sum communicates (DDP's no_sync). A gradient that
    `@finalize_grads` only checked (K = 1 without loss scaling) becomes a
    result (`pz.grad`, tied to its argument). Without a plan, or with
    `dp_replicate` = 1, the module is left as it is. With tp or cp it
    averages each rank's blocks (pz-tensor-parallel runs first); with
    `dp_shard` pz-zero does the averaging (HSDP); `pp` is not built yet
    (`parallelize compile` refuses to generate code for it, naming the key).

    ```mlir
    %b = pz.concat %w2, %w1 {axis = 0 : i64} : (tensor<4xf32>, tensor<8xf32>) -> tensor<12xf32>
    %s = shard.all_reduce %b on @world grid_axes = [1] {pz.comm = #pzrt.reason<"ddp.grad_bucket", "bucket 1 of 1">} : tensor<12xf32> -> tensor<12xf32>
    ```
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::shard::ShardDialect",
                           "mlir::pzrt::PZRTDialect"];
}

def ZeroPass : Pass<"pz-zero", "mlir::ModuleOp"> {
  let summary = "Shard optimizer state, gradients and parameters over dp_shard (ZeRO 1-3, HSDP)";
  let description = [{
    A plan pass. When the module's `pz.plan` has `dp_shard` n > 1 (`zero`
    1, 2 or 3; with `dp_replicate` m > 1 too: HSDP), every parameter is
    flattened and split into n chunks of c = ceil(N / n) elements
    (zero-padded, so no dimension has to divide n); rank k of the dp_shard
    group owns chunk k. A bucket (at most `bucket_mb` MiB, reverse model
    order for gradients) holds chunk 0 of each of its tensors, then chunk
    1, and so on, so that one reduce-scatter hands every rank its chunks.

    * Stage 1: `@finalize_grads` reduce-scatters the finalized gradients
      over dp_shard (upstream `shard.reduce_scatter`, reason
      `zero.grad_reduce_scatter`), all-reduces the chunks over dp_replicate
      (HSDP, `hsdp.grad_all_reduce`) and averages them; each chunk is a
      result marked `pz.shard_prefix` (written into the leading c elements
      of the gradient's full buffer).
    * Stage 2: `@forward_backward` reduce-scatters each bucket right after
      the op that computes its last gradient and returns the chunks (the
      gradient and accumulator buffers are chunks); `@accumulate_grads`
      adds chunks; `@finalize_grads` all-reduces them over dp_replicate
      (HSDP) and averages them, once per step.
    * Stage 3: also the parameters are chunks (`pz.flat_shard`).
      `@forward_backward` all-gathers each layer's parameters (a layer: the
      name up to its first numeric component, "h.3") before their first use
      in the forward pass, which ends at the loss, and again before their
      first use in the backward pass, only those the backward pass reads
      (`zero3.param_gather`, "h.3 (forward)", "h.3 (backward)").
    * `@optimizer_step`: gradients and optimizer states are chunks (states:
      `pz.flat_shard = {shape, grid_axes}`, which the runtime allocates,
      checkpoints and reshards as chunks of the flattened tensor); below
      stage 3 each parameter's chunk is read with `pz.shard_chunk` and the
      updated chunks are all-gathered in buckets (`zero.param_all_gather`);
      the sum of squares of the global gradient norm is all-reduced over
      dp_shard (`zero.grad_norm`).

    Every collective carries `pz.comm = #pzrt.reason<kind, source>` and the
    tensors it moves (`pz.bucket`). dp_shard with tp, cp or pp is not built
    yet: such a module is left as it is (`parallelize compile` refuses to
    generate code for it).
  }];
  let dependentDialects = ["mlir::shard::ShardDialect", "mlir::pzrt::PZRTDialect"];
}

def FusePatternsPass : Pass<"pz-fuse-patterns", "mlir::ModuleOp"> {
  let summary = "Fuse decomposed norms, activations and attention into pz ops";
  let description = [{
    Rewrites the op patterns that exporters leave decomposed into the pz
    dialect's high-level ops, which carry their own VJP, sharding rule and
    fused kernel:

    * layer norm (`ReduceMean`, `Sub`, `Pow 2`, `ReduceMean`, `Add eps`,
      `Sqrt`, `Div`, then optional `Mul w`, `Add b`) -> `pz.layer_norm`;
    * RMS norm (`Pow 2`, `ReduceMean`, `Add eps`, `Sqrt` then `Div` or a
      reciprocal and `Mul`, or `Rsqrt` and `Mul`, then optional `Mul w`)
      -> `pz.rms_norm`;
    * GELU, erf form `0.5 * x * (1 + erf(x / sqrt(2)))` and tanh form
      `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))`, in any
      association of the products -> `pz.gelu erf|tanh`;
    * SiLU `x * sigmoid(x)` -> `pz.silu`;
    * scaled dot-product attention: `matmul(q, k^T)`, an optional `div` or
      `mul` by a constant (of the scores, or of q or k), an optional mask (`where(mask, -inf, s)` or an
      additive `add(s, m)`), `softmax` over the last dim and `matmul(p, v)`
      -> `pz.attention`, `causal` when the mask is the constant strict upper
      triangle (filled with -inf, the lowest float or a number at most
      -1e9, which drop exactly the same keys in fp32), with the mask as
      operand otherwise. A key transposed by
      `pz.transpose` is read through it, and grouped-query heads repeated by
      reshape / broadcast / reshape are read unrepeated;
    * `pz.matmul` of a `pz.transpose` that swaps the last two dims ->
      `pz.matmul {transpose_lhs|transpose_rhs}`.

    Constants are matched by value with a tolerance of a few ulps of their
    element type. Intermediate values read by other ops are not fused.
  }];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

def InterleaveQkvPass : Pass<"pz-interleave-qkv", "mlir::ModuleOp"> {
  let summary = "Lay a fused q/k/v projection out per tp rank, so that tp "
                "splits it by heads";
  let description = [{
    A plan pass that runs before autodiff, when the module's `pz.plan` has
    `tp` n > 1. A fused projection (GPT-2's `c_attn`) is a matmul by a
    parameter W whose output features are the g equal parts q, k and v
    (g = 3), each read by a slice of the last dim, optionally plus a bias.
    A contiguous split of W by rows would give rank 0 all of q and half of
    k. The pass gives W, and its bias, a new layout W' whose rows are the
    stored rows reordered as [n, g, h / n] from [g, n, h / n]: each rank's
    contiguous block of W' is its h / n features of q, of k and of v, so
    that pz-tensor-parallel's column-parallel split of W' is the split by
    heads. The slices read the projection's output through the same
    reordering (a reshape to [..., n, g, h / n], a slice of one of g, a
    reshape back), which the split rules carry on the rank's block.

    Only the layout changes; the stored tensor (initial weights,
    checkpoints) keeps the model's. The module records each reordered
    parameter in `pz.split_groups = {name = g}`, and the runtime maps each
    rank's block of W' to the g boxes of the stored tensor it holds. A
    parameter with another use, parts of unequal size (grouped-query q, k,
    v) or h not divisible by n is left fused, and tp then keeps it whole.
  }];
}

def MixedPrecisionPass : Pass<"pz-mixed-precision", "mlir::ModuleOp"> {
  let summary = "Compute @forward in bf16 or fp16 with fp32 master weights";
  let description = [{
    Runs before autodiff. Parameters (the fp32 master weights) and float data
    inputs are cast to the compute type where the function starts; float
    constants are converted; every op then takes the compute type from its
    operands. The cross-entropy reads its logits cast back to fp32 (as
    Megatron-LM computes the loss), and the loss is returned in fp32.
    Autodiff then differentiates through the casts, so the parameter
    gradients arrive in fp32. With `precision=fp16` the module records the
    dynamic loss-scaling policy (DeepSpeed's defaults: initial scale 2^16
    (`loss-scale`), growth x2 after 1000 good steps (`loss-scale-window`),
    backoff 0.5, skip the step on overflow) as `pz.loss_scaling`, and
    autodiff seeds the backward pass with the `loss_scale` input instead of
    1. `precision=fp32` does nothing.
  }];
  let options = [
    Option<"precision", "precision", "std::string", /*default=*/"\"bf16\"",
           "fp32, bf16 or fp16">,
    Option<"lossScale", "loss-scale", "::mlir::pz::RoundTripDouble", /*default=*/"65536.0",
           "fp16: the initial loss scale">,
    Option<"lossScaleWindow", "loss-scale-window", "int64_t", /*default=*/"1000",
           "fp16: good steps before the scale doubles">,
  ];
}

def RecomputePass : Pass<"pz-recompute", "mlir::ModuleOp"> {
  let summary = "Recompute forward values in the backward pass instead of keeping them";
  let description = [{
    Activation recomputation (docs/design/0016), on `@forward_backward`
    after the plan passes. Each forward value the backward pass reads and
    the mode selects is recomputed: its op, and the selected ops it reads,
    are cloned right before the first backward op that reads it (located
    `recompute`). What stays read across is what the forward keeps: a
    pipeline stage's saved set (pz-split-forward-backward) and
    pz-saved-activations' count.

    * `selective`: the attention core, as Korthikanti et al.: each
      softmax over rank-4 scores, the ops that make the scores from their
      matmul (scale, mask), and the dropout on the probabilities. The
      linears' inputs are kept. A fused attention has no such ops, so
      there is nothing to recompute.
    * `full`: everything but the layer inputs, the values alone live at a
      cut point of the forward (as pz-split-stages cuts).
    * `layers`: full recompute of the named layers (`layers`, or the plan's
      `recompute: [h.0, h.2]`) and nothing else. Layer `h.0` is the ops from
      the cut point at or before the first op that reads a parameter
      `h.0.*` (directly or through values computed from parameters alone)
      to the cut point after the last one; all their values but the
      layer's input and output (the next layer's input) are recomputed,
      the cut points inside the layer included.

    With pipeline stages (nested modules with `pz.stage`), the pass runs on
    the top module and on each stage's `@forward_backward`: a stage
    recomputes the listed layers it holds, and a name that no stage holds a
    parameter of is an error (`recompute: no parameter of layer 'h.9'`). On
    a stage's module alone, names it does not hold are left to the others.

    The module (each stage's module) records what the forward no longer
    keeps for the backward, per micro-batch: `pz.recomputed_bytes` (the
    saved set's bytes before less after) and, for `layers`,
    `pz.recomputed_bytes_by_layer` ({"h.0" = bytes}, every listed layer the
    module holds). report.json shows them per rank and stage.

    A recomputed dropout draws the mask the forward drew (seed, step,
    element index). The mode comes from `mode` (`layers` when only `layers`
    is given), else from the plan's `recompute` key; `none` leaves the
    module alone.

    ```mlir
    // parallelize-opt --pz-recompute=layers=h.1
    module attributes {pz.recomputed_bytes = 4096 : i64,
                       pz.recomputed_bytes_by_layer = {"h.1" = 4096 : i64}} {...}
    ```
  }];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"\"",
           "none, selective, full or layers; empty: the plan's recompute key">,
    ListOption<"layers", "layers", "std::string",
               "the layers mode layers recomputes (h.0,h.2); empty: the plan's">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "a remark with the number of recomputed values">,
  ];
}

def SplitForwardBackwardPass : Pass<"pz-split-forward-backward", "mlir::ModuleOp"> {
  let summary = "Split a pipeline stage's @forward_backward into its forward and backward";
  let description = [{
    Pipeline parallelism (docs/design/0016). In a stage's module
    (`pz.stage`, pz-split-stages), after the plan passes, splits
    `@forward_backward` into `@stage_forward`, the ops its output (the
    activation it sends, or the loss) needs, and `@stage_backward`, every
    other op. The forward also returns its saved set, the values the
    backward reads, marked `pz.saved = "saved.N"`; the backward takes them
    as arguments of the same names, then returns the gradients and the
    gradient of the stage's activation input. Constants read on both
    sides are cloned instead of saved. A module without `pz.stage` is left
    alone.

    ```mlir
    func.func @stage_forward(%h: tensor<4x8xf32> {pz.pipe = "activation"}, %w: ...)
        -> (tensor<4x8xf32> {pz.pipe = "activation"}, tensor<4x8xf32> {pz.saved = "saved.0"})
    func.func @stage_backward(%w: ..., %g: tensor<4x8xf32> {pz.pipe = "activation_grad"},
                              %s: tensor<4x8xf32> {pz.saved = "saved.0"})
        -> (tensor<8x8xf32> {pz.grad = "fc2.weight"}, tensor<4x8xf32> {pz.pipe = "activation_grad"})
    ```
  }];
}

def SplitGradNormPass : Pass<"pz-split-grad-norm", "mlir::ModuleOp"> {
  let summary = "Move an interleaved chunk's squared gradient norm out of its optimizer";
  let description = [{
    Interleaved pipelines (docs/design/0016). A rank holds several chunks
    (virtual stages), each a stage module with its own `@optimizer_step`,
    but one gradient norm clips them all. In a stage module (`pz.stage`) of
    a plan with `virtual_stages > 1`, after the plan passes, this pass
    outlines the ops that compute the sum of squares under
    `@optimizer_step`'s gradient norm (the square root of it), with the
    collectives among them, into `@grad_norm_sq`, whose result has
    `#pz.role<grad_norm_sq>`. `@optimizer_step` then takes the rank's sum
    over its chunks as a new last argument with that role; the driver runs
    every chunk's `@grad_norm_sq`, adds the results and passes the sum to
    every chunk's optimizer. Any other module is left alone.

    ```mlir
    func.func @grad_norm_sq(%g: tensor<8xf32> {pz.grad = "w"})
        -> (tensor<f32> {pz.output = "grad_norm_sq", pz.role = #pz.role<grad_norm_sq>})
    func.func @optimizer_step(..., %sq: tensor<f32> {pz.input = "grad_norm_sq",
                                                     pz.role = #pz.role<grad_norm_sq>})
    ```
  }];
}

def SavedActivationsPass : Pass<"pz-saved-activations", "mlir::ModuleOp"> {
  let summary = "Record the bytes of activations the forward pass keeps for the backward pass";
  let description = [{
    An analysis. On `@forward_backward` (one micro-batch on one rank, after
    the plan passes and fusion), the values the forward pass computes and
    the backward pass reads: results of ops up to the one that yields the
    loss (the result with `#pz.role<loss>`) that an op after it, other
    than the return, uses.
    Activations depend on the data: values computed from parameters,
    constants and role arguments (the rank's coordinates) alone, such as
    a ZeRO-3 gather, are not. Their bytes
    are recorded as `pz.saved_activation_bytes` on the function; the
    driver reports them per rank in `report.json` (memory,
    `saved_activation_bytes`), the quantity Korthikanti et al. count when
    they show activation memory falling with tensor and sequence
    parallelism. The boundary is the op that yields the loss as fusion
    left it (a fused group that took in backward element maps would move
    it later; none of the exports tp-parity checks does). A function
    without a loss result is left alone. With
    `remarks`, each kept value gets a remark with its bytes.

    ```mlir
    func.func @forward_backward(...) attributes {pz.saved_activation_bytes = 4096 : i64}
    ```
  }];
  let options = [
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "emit a remark on each kept value with its bytes">,
  ];
}

def FuseElementwisePass : Pass<"pz-fuse-elementwise", "mlir::ModuleOp"> {
  let summary = "Fuse chains of element-map ops into single loops";
  let description = [{
    Groups element-map ops (`pz.add`, `pz.mul`, `pz.exp`, `pz.cast`,
    `pz.where`, ..., the ops with the `ElementMap` trait) that have one
    static result shape into `pz.fused` ops, which the backend runs as one
    loop over that shape. Walking each function in order, an op joins the
    group of the latest operand producer with the same result shape, unless
    a value of that group is read, outside the group, by an op that comes
    before it (the fused op takes the place of the group's last op). A group
    of one op stays as it is.

    The fused op's inputs are the values the group reads from outside; its
    results are the group values read outside it (or returned). The other
    values are never stored, so they take no memory and no memory traffic.
    Every op keeps its own element type and rounding, so fusing does not
    change a single bit of the results.

    ```mlir
    %s = pz.add %x, %b : tensor<8x64xf32>, tensor<64xf32> -> tensor<8x64xf32>
    %t = pz.tanh %s : tensor<8x64xf32>
    // becomes
    %t = pz.fused (%x, %b) : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32> {
    ^bb0(%a: tensor<8x64xf32>, %c: tensor<64xf32>):
      %0 = pz.add %a, %c : tensor<8x64xf32>, tensor<64xf32> -> tensor<8x64xf32>
      %1 = pz.tanh %0 : tensor<8x64xf32>
      pz.yield %1 : tensor<8x64xf32>
    }
    ```
  }];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

#endif // PZ_DIALECT_PZ_TRANSFORMS_PASSES_TD
