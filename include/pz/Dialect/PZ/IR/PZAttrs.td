//===- PZAttrs.td - pz dialect attributes ---------------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZATTRS_TD
#define PZ_DIALECT_PZ_IR_PZATTRS_TD

include "pz/Dialect/PZ/IR/PZBase.td"

// stage_boundaries: an array of strings, null when empty, so that an
// explicit `stage_boundaries = []` is the default and is not printed.
def PZ_StageBoundariesParameter : OptionalParameter<"::mlir::ArrayAttr",
    "layer names (strings) that start a pipeline stage"> {
  let parser = [{ [&]() -> ::mlir::FailureOr<::mlir::ArrayAttr> {
    ::mlir::ArrayAttr names;
    if ($_parser.parseAttribute(names))
      return ::mlir::failure();
    return names.empty() ? ::mlir::ArrayAttr() : names;
  }() }];
}

// recompute: a mode (a string) or the layers to recompute (an array of
// strings); null for "none" and for [], so that the default is not printed.
def PZ_RecomputeParameter : OptionalParameter<"::mlir::Attribute",
    "recompute mode (string) or layer names (array of strings)"> {
  let parser = [{ [&]() -> ::mlir::FailureOr<::mlir::Attribute> {
    ::mlir::Attribute value;
    if ($_parser.parseAttribute(value))
      return ::mlir::failure();
    auto str = ::llvm::dyn_cast<::mlir::StringAttr>(value);
    auto arr = ::llvm::dyn_cast<::mlir::ArrayAttr>(value);
    if ((str && str.getValue() == "none") || (arr && arr.empty()))
      return ::mlir::Attribute();
    return value;
  }() }];
}

def PZ_PlanAttr : PZ_Attr<"Plan", "plan"> {
  let summary = "The parallel plan of a training program";
  let description = [{
    The plan that the plan passes apply, printed on the module as
    `pz.plan`. Its keys are the ones of `plan.yaml` and of the `parallelize
    compile` flags (`dp_replicate` is `--dp-replicate`). Keys at their
    default value are not printed.

    | key | default | meaning |
    | --- | --- | --- |
    | dp_replicate | 1 | replicated data parallelism (DDP) |
    | dp_shard | 1 | sharded data parallelism; state sharded per `zero` |
    | zero | 0 | ZeRO stage over dp_shard: 1 optimizer state, 2 + gradients, 3 + parameters (FSDP) |
    | tp | 1 | tensor (Megatron) parallelism |
    | sp | false | sequence parallelism over the tp axis |
    | cp | 1 | context parallelism (sequence split for attention) |
    | pp | 1 | pipeline stages |
    | schedule | "1f1b" | gpipe, 1f1b, interleaved or zb |
    | grad_accum | 1 | micro-batches per step on each data-parallel rank |
    | virtual_stages | 1 | model chunks per pipeline rank (interleaved) |
    | stage_boundaries | [] | layers that start a pipeline stage (pp x virtual_stages - 1 names; empty: cuts balanced by cost) |
    | recompute | "none" | "none", "selective", "full", or an array of layer names to recompute in full (["h.0", "h.2"]) |
    | precision | "fp32" | fp32, bf16 or fp16 |
    | bucket_mb | 25 | gradient bucket cap of dp_replicate in MiB (0: one per gradient) |

    The world size is dp_replicate x dp_shard x tp x cp x pp. The verifier
    applies the same rules as `plan.yaml` validation.

    Example:

    ```mlir
    module attributes {pz.plan = #pz.plan<dp_replicate = 2, tp = 2, sp = true>} {}
    module attributes {pz.plan = #pz.plan<pp = 2, stage_boundaries = ["h.2"]>} {}
    module attributes {pz.plan = #pz.plan<recompute = ["h.0", "h.2"]>} {}
    ```
  }];
  let parameters = (ins
    DefaultValuedParameter<"int64_t", "1">:$dp_replicate,
    DefaultValuedParameter<"int64_t", "1">:$dp_shard,
    DefaultValuedParameter<"int64_t", "0">:$zero,
    DefaultValuedParameter<"int64_t", "1">:$tp,
    DefaultValuedParameter<"bool", "false">:$sp,
    DefaultValuedParameter<"int64_t", "1">:$cp,
    DefaultValuedParameter<"int64_t", "1">:$pp,
    StringRefParameter<"pipeline schedule", "\"1f1b\"">:$schedule,
    DefaultValuedParameter<"int64_t", "1">:$grad_accum,
    DefaultValuedParameter<"int64_t", "1">:$virtual_stages,
    PZ_StageBoundariesParameter:$stage_boundaries,
    PZ_RecomputeParameter:$recompute,
    StringRefParameter<"compute precision", "\"fp32\"">:$precision,
    DefaultValuedParameter<"int64_t", "25">:$bucket_mb
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The plan as a plain struct.
    ::mlir::pz::Plan getPlan() const;
    /// Builds the attribute from a plan (which must be valid).
    static PlanAttr get(::mlir::MLIRContext *ctx, const ::mlir::pz::Plan &plan);
  }];
}

def PZ_RoleLoss : I32EnumAttrCase<"loss", 0>;
def PZ_RoleLR : I32EnumAttrCase<"lr", 1>;
def PZ_RoleStep : I32EnumAttrCase<"step", 2>;
def PZ_RoleLossScale : I32EnumAttrCase<"loss_scale", 3>;
def PZ_RoleGradNorm : I32EnumAttrCase<"grad_norm", 4>;
def PZ_RoleGradScale : I32EnumAttrCase<"grad_scale", 5>;
def PZ_RoleNonfinite : I32EnumAttrCase<"nonfinite", 6>;
def PZ_RoleTpIndex : I32EnumAttrCase<"tp_index", 7>;
def PZ_RoleGradNormSq : I32EnumAttrCase<"grad_norm_sq", 8>;
def PZ_Role : I32EnumAttr<"Role",
    "the runtime scalar that a function argument or result carries",
    [PZ_RoleLoss, PZ_RoleLR, PZ_RoleStep, PZ_RoleLossScale, PZ_RoleGradNorm,
     PZ_RoleGradScale, PZ_RoleNonfinite, PZ_RoleTpIndex, PZ_RoleGradNormSq]> {
  let cppNamespace = "::mlir::pz";
  let genSpecializedAttr = 0;
}
def PZ_RoleAttr : EnumAttr<PZ_Dialect, PZ_Role, "role"> {
  let assemblyFormat = "`<` $value `>`";
  let summary = "what a scalar argument or result of a step function is";
  let description = [{
    The runtime binds scalars by this role, never by name:

    | role | where | type | meaning |
    | --- | --- | --- | --- |
    | loss | result of `@forward_backward` | f32 | the micro-batch's loss (unscaled) |
    | lr | argument of `@optimizer_step` | f32 | this step's learning rate |
    | step | argument of `@optimizer_step` | i64 | applied updates, from 1 |
    | loss_scale | argument of `@forward_backward` | f32 | the dynamic loss scale |
    | grad_norm | result of `@optimizer_step` | f32 | the global gradient norm |
    | grad_scale | argument of `@finalize_grads` | f32 | 1 / (micro-batches x loss scale) |
    | nonfinite | result of `@finalize_grads` | i64 | the first parameter whose gradient is not finite, or -1 |
    | tp_index | argument of `@forward_backward` | i64 | this rank's coordinate on the grid's tp axis (pz-tensor-parallel) |
    | grad_norm_sq | result of `@grad_norm_sq`, argument of `@optimizer_step` | f32 | interleaved: a chunk's sum of squared gradients; the sum over the rank's chunks (pz-split-grad-norm) |

    ```mlir
    func.func @optimizer_step(..., %lr: tensor<f32> {pz.input = "lr", pz.role = #pz.role<lr>})
    ```
  }];
}

def PZ_LRConstant : I32EnumAttrCase<"constant", 0>;
def PZ_LRCosine : I32EnumAttrCase<"cosine", 1>;
def PZ_LRScheduleKind : I32EnumAttr<"LRScheduleKind", "a learning-rate schedule",
    [PZ_LRConstant, PZ_LRCosine]> {
  let cppNamespace = "::mlir::pz";
}

def PZ_LRScheduleAttr : PZ_Attr<"LRSchedule", "lr_schedule"> {
  let summary = "the learning-rate schedule of the optimizer";
  let description = [{
    Set by `pz-optimizer` on `@optimizer_step`; the runtime evaluates it at
    every step. `constant` holds `lr` (after `warmup_steps` of linear warmup
    from 0 when set); `cosine` warms up the same way, then decays as
    `lr * 0.5 * (1 + cos(pi * progress))` until `total_steps`.

    ```mlir
    #pz.lr_schedule<kind = cosine, lr = 3.0e-04, warmup_steps = 100, total_steps = 2000>
    ```
  }];
  let parameters = (ins "LRScheduleKind":$kind, APFloatParameter<"base rate">:$lr,
                        "int64_t":$warmup_steps, "int64_t":$total_steps);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def PZ_LossScalingAttr : PZ_Attr<"LossScaling", "loss_scaling"> {
  let summary = "dynamic loss scaling (fp16 training)";
  let description = [{
    Set on the module by `pz-mixed-precision` for fp16: the loss is
    multiplied by a scale that starts at `initial_scale`, is multiplied by
    `backoff_factor` (and the step skipped) when a gradient overflows, and
    by `growth_factor` after `growth_interval` steps without overflow.

    ```mlir
    #pz.loss_scaling<initial_scale = 6.553600e+04, growth_interval = 1000, growth_factor = 2.000000e+00, backoff_factor = 5.000000e-01>
    ```
  }];
  let parameters = (ins APFloatParameter<"initial scale">:$initial_scale,
                        "int64_t":$growth_interval,
                        APFloatParameter<"growth factor">:$growth_factor,
                        APFloatParameter<"backoff factor">:$backoff_factor);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

#endif // PZ_DIALECT_PZ_IR_PZATTRS_TD
