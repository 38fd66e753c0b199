//===- PZAttrs.td - pz dialect attributes ---------------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZATTRS_TD
#define PZ_DIALECT_PZ_IR_PZATTRS_TD

include "pz/Dialect/PZ/IR/PZBase.td"

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
    | recompute | "none" | none, selective or full |
    | precision | "fp32" | fp32, bf16 or fp16 |

    The world size is dp_replicate x dp_shard x tp x cp x pp. The verifier
    applies the same rules as `plan.yaml` validation.

    Example:

    ```mlir
    module attributes {pz.plan = #pz.plan<dp_replicate = 2, tp = 2, sp = true>} {}
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
    StringRefParameter<"recompute policy", "\"none\"">:$recompute,
    StringRefParameter<"compute precision", "\"fp32\"">:$precision
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

#endif // PZ_DIALECT_PZ_IR_PZATTRS_TD
