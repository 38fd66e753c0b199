//===- PZRTAttrs.td - pzrt attributes -------------------------------------===//

#ifndef PZ_DIALECT_PZRT_IR_PZRTATTRS_TD
#define PZ_DIALECT_PZRT_IR_PZRTATTRS_TD

include "pz/Dialect/PZRT/IR/PZRTBase.td"

def PZRT_MemoryPlanAttr : PZRT_Attr<"MemoryPlan", "memory_plan"> {
  let summary = "the arena of one host function";
  let description = [{
    Set by `pzrt-plan-memory` on each host function: `arena_bytes` is the
    arena the function needs (the highest end of a buffer), `peak_bytes` the
    largest sum of buffers live at one time, `buffers` how many buffers
    (workspaces included) it placed. Every `memref.view` of `pzrt.arena` in
    the function lies inside `arena_bytes`.

    ```mlir
    func.func @f(...) attributes {pzrt.memory_plan = #pzrt.memory_plan<arena_bytes = 512, peak_bytes = 512, buffers = 2>}
    ```
  }];
  let parameters = (ins "int64_t":$arena_bytes, "int64_t":$peak_bytes,
                        "int64_t":$buffers);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def PZRT_ReasonAttr : PZRT_Attr<"Reason", "reason"> {
  let summary = "why a transfer exists";
  let description = [{
    Every collective and point-to-point transfer carries the pass-level
    reason it exists and its source, for example
    `#pzrt.reason<"ddp.grad_bucket", "bucket 2 of 7">` or
    `#pzrt.reason<"zero3.param_gather", "h.3.mlp.c_fc.weight (forward)">`.
    The kind (a dotted identifier) keys the runtime's byte counters
    (`comm_bytes_by_reason`); both appear in `inspect --collectives` and in
    traces.
  }];
  let parameters = (ins StringRefParameter<"reason kind">:$kind,
                        StringRefParameter<"source">:$source);
  let assemblyFormat = "`<` $kind `,` $source `>`";
  let genVerifyDecl = 1;
}

#endif // PZ_DIALECT_PZRT_IR_PZRTATTRS_TD
