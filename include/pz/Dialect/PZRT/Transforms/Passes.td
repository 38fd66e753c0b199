//===- Passes.td - pzrt passes --------------------------------------------===//

#ifndef PZ_DIALECT_PZRT_TRANSFORMS_PASSES_TD
#define PZ_DIALECT_PZRT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def PlanMemoryPass : Pass<"pzrt-plan-memory", "mlir::ModuleOp"> {
  let summary = "Place every buffer of each host function in the rank's arena";
  let description = [{
    Replaces each `memref.alloc` of a host function by a `memref.view` of
    `pzrt.arena` at a byte offset, bracketed by `pzrt.lifetime_start` (where
    the alloc was) and `pzrt.lifetime_end` (after the buffer's last use,
    views of it included, or after the `pzrt.wait` of an asynchronous
    transfer that uses it). Buffers live at the same time never overlap.
    Offsets are 64-byte aligned and chosen greedily, largest buffer first,
    at the lowest offset free for the buffer's whole live range (as
    TFLite's arena planner does). The function gets
    `#pzrt.memory_plan<arena_bytes, peak_bytes, buffers>`: the arena's size,
    the largest sum of buffers live at one op, and the buffer count. The
    arena holds nothing between calls.
  }];
  let dependentDialects = ["mlir::pzrt::PZRTDialect", "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
}

def AsyncTransfersPass : Pass<"pzrt-async-transfers", "mlir::ModuleOp"> {
  let summary = "Start each transfer where it is issued and wait for it where it is needed";
  let description = [{
    Turns every blocking transfer of a host function (`pzrt.all_reduce`,
    `pzrt.reduce_scatter`, `pzrt.all_gather`, `pzrt.broadcast`,
    `pzrt.all_to_all`, `pzrt.send`, `pzrt.recv`) into its asynchronous
    form, with a `pzrt.wait` right before the first later op that touches
    one of its buffers: any op other than a view that has the buffer, or a
    view of the same alloc, argument or global, as an operand, or the
    function's return. The work between the two overlaps the transfer. A
    transfer that the very next op touches stays blocking. Transfers keep
    their order, which is the order every rank issues them in.
    `pzrt-plan-memory` then keeps each transfer's buffers alive until its
    wait.
  }];
  let dependentDialects = ["mlir::pzrt::PZRTDialect"];
}

def BuildSchedulePass : Pass<"pzrt-build-schedule", "mlir::ModuleOp"> {
  let summary = "Build the training step's schedule of actions";
  let description = [{
    Adds the `pzrt.schedule` that the runtime executes every step, from the
    module's host functions and its plan: for each of the `grad_accum`
    micro-batches `@forward_backward` (the first writing into the gradient
    accumulators when there are several), `@accumulate_grads` after each
    later one, then `@finalize_grads`, `pzrt.check_numerics` and
    `@optimizer_step`.
  }];
  let dependentDialects = ["mlir::pzrt::PZRTDialect"];
}

#endif // PZ_DIALECT_PZRT_TRANSFORMS_PASSES_TD
