//===- PZRTOps.td - pzrt operations ---------------------------------------===//

#ifndef PZ_DIALECT_PZRT_IR_PZRTOPS_TD
#define PZ_DIALECT_PZRT_IR_PZRTOPS_TD

include "pz/Dialect/PZRT/IR/PZRTBase.td"
include "pz/Dialect/PZRT/IR/PZRTAttrs.td"

def PZRT_Buffer : MemRefRankOf<[AnyType], [0, 1, 2, 3, 4, 5, 6, 7, 8]>;
def PZRT_ByteBuffer : MemRefRankOf<[I8], [1]>;
// A list of grid axis names, outermost first (pp, dp_replicate, dp_shard,
// cp, tp): the ranks that share every other coordinate form the group.
defvar PZRT_AxesAttr = StrArrayAttr;

//===----------------------------------------------------------------------===//
// Buffers
//===----------------------------------------------------------------------===//

def PZRT_ArenaOp : PZRT_Op<"arena", [Pure]> {
  let summary = "the arena of the rank, as bytes";
  let description = [{
    The per-rank memory that holds every temporary buffer of a host
    function: each buffer is a `memref.view` of it at a byte offset chosen
    by `pzrt-plan-memory`. Its size is the function's
    `#pzrt.memory_plan` `arena_bytes` (the runtime allocates the largest over
    the program's functions once; every call starts with an empty arena).

    ```mlir
    %arena = pzrt.arena : memref<512xi8>
    %c64 = arith.constant 64 : index
    %h = memref.view %arena[%c64][] : memref<512xi8> to memref<16x4xf32>
    ```
  }];
  let results = (outs PZRT_ByteBuffer:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
  let hasVerifier = 1;
}

class PZRT_LifetimeOp<string mnemonic> : PZRT_Op<mnemonic> {
  let arguments = (ins PZRT_Buffer:$buffer);
  let assemblyFormat = "$buffer attr-dict `:` type($buffer)";
  let hasVerifier = 1;
}

def PZRT_LifetimeStartOp : PZRT_LifetimeOp<"lifetime_start"> {
  let summary = "an arena buffer becomes live";
  let description = [{
    Marks the start of the live range of a buffer (a `memref.view` of
    `pzrt.arena`). The runtime checks that no live buffer overlaps it (a
    memory-plan bug fails loudly instead of corrupting data) and measures the
    arena's peak of live bytes, which the driver compares with the plan.

    ```mlir
    pzrt.lifetime_start %h : memref<16x4xf32>
    ```
  }];
}

def PZRT_LifetimeEndOp : PZRT_Op<"lifetime_end"> {
  let summary = "an arena buffer dies";
  let description = [{
    Ends the live range that `pzrt.lifetime_start` began; the bytes may be
    reused by buffers that start later.
  }];
  let arguments = (ins PZRT_Buffer:$buffer);
  let assemblyFormat = "$buffer attr-dict `:` type($buffer)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Kernels
//===----------------------------------------------------------------------===//

def PZRT_DispatchOp : PZRT_Op<"dispatch",
    [AttrSizedOperandSegments,
     DeclareOpInterfaceMethods<SymbolUserOpInterface>,
     DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "runs a device kernel on buffers";
  let description = [{
    Runs `kernel`, a function of the `@kernels` module, with its tensor
    arguments read from `inputs` and its results written to `outputs`
    (buffers of the same shapes and element types, in order). A kernel with
    a `pzrt.workspace_bytes` attribute also gets a scratch buffer of that
    many bytes. An output may be the same buffer as an input when the kernel
    updates it in place (the optimizer updates do); otherwise outputs never
    overlap inputs. `stream` is the stream it runs on (0: compute).

    ```mlir
    pzrt.dispatch @kernels::@fwd_3_matmul(%x, %w : memref<16x8xf32>, memref<4x8xf32>)
        outs(%h : memref<16x4xf32>)
    ```
  }];
  let arguments = (ins SymbolRefAttr:$kernel, Variadic<PZRT_Buffer>:$inputs,
                       Variadic<PZRT_Buffer>:$outputs,
                       Optional<PZRT_ByteBuffer>:$workspace,
                       DefaultValuedAttr<I32Attr, "0">:$stream);
  let assemblyFormat = [{
    $kernel `(` ($inputs^ `:` type($inputs))? `)`
    `outs` `(` ($outputs^ `:` type($outputs))? `)`
    (`workspace` `(` $workspace^ `:` type($workspace) `)`)? attr-dict
  }];
  let extraClassDeclaration = [{
    /// The kernel function, or null.
    ::mlir::func::FuncOp getKernelFunc();
  }];
}

//===----------------------------------------------------------------------===//
// Communication
//===----------------------------------------------------------------------===//

// A transfer runs on the communicator of the ranks that differ only in
// `axes` (grid order, outermost first) and says why it exists. Without a
// `request` result it blocks; with one it starts and `pzrt.wait` completes it.
class PZRT_CommOp<string mnemonic, list<Trait> traits = []>
    : PZRT_Op<mnemonic, traits # [
        DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let hasVerifier = 1;
}

def PZRT_AllReduceOp : PZRT_CommOp<"all_reduce"> {
  let summary = "combines a buffer over a group of ranks";
  let description = [{
    `dst` = the reduction of `src` over the ranks of the group (every rank
    gets the result). `src` and `dst` have the same type and may be the same
    buffer. A ring moves 2(n-1)/n times the bytes of `src` per rank.

    ```mlir
    pzrt.all_reduce sum %g, %g on ["dp_replicate"] reason <"ddp.grad_bucket", "bucket 1 of 1">
        : memref<1024xf32>, memref<1024xf32>
    ```
  }];
  let arguments = (ins PZRT_ReduceKindAttr:$op, PZRT_Buffer:$src, PZRT_Buffer:$dst,
                       PZRT_AxesAttr:$axes, PZRT_ReasonAttr:$reason,
                       DefaultValuedAttr<I32Attr, "1">:$stream);
  let results = (outs Optional<PZRT_RequestType>:$request);
  let assemblyFormat = [{
    $op $src `,` $dst `on` $axes `reason` $reason attr-dict `:` type($src) `,` type($dst)
    (`->` type($request)^)?
  }];
}

def PZRT_AllGatherOp : PZRT_CommOp<"all_gather"> {
  let summary = "concatenates each rank's buffer on every rank";
  let description = [{
    `dst` holds the `src` of every rank of the group, in group order, along
    the outermost dim: `dst` has n times the elements of `src`. Moves (n-1)/n
    times the bytes of `dst` per rank.
  }];
  let arguments = (ins PZRT_Buffer:$src, PZRT_Buffer:$dst, PZRT_AxesAttr:$axes,
                       PZRT_ReasonAttr:$reason,
                       DefaultValuedAttr<I32Attr, "1">:$stream);
  let results = (outs Optional<PZRT_RequestType>:$request);
  let assemblyFormat = [{
    $src `,` $dst `on` $axes `reason` $reason attr-dict `:` type($src) `,` type($dst)
    (`->` type($request)^)?
  }];
}

def PZRT_ReduceScatterOp : PZRT_CommOp<"reduce_scatter"> {
  let summary = "reduces a buffer over the group and keeps this rank's part";
  let description = [{
    Rank i of the group gets part i (outermost dim, equal parts) of the
    reduction of `src`: `src` has n times the elements of `dst`. Moves
    (n-1)/n times the bytes of `src` per rank.
  }];
  let arguments = (ins PZRT_ReduceKindAttr:$op, PZRT_Buffer:$src, PZRT_Buffer:$dst,
                       PZRT_AxesAttr:$axes, PZRT_ReasonAttr:$reason,
                       DefaultValuedAttr<I32Attr, "1">:$stream);
  let results = (outs Optional<PZRT_RequestType>:$request);
  let assemblyFormat = [{
    $op $src `,` $dst `on` $axes `reason` $reason attr-dict `:` type($src) `,` type($dst)
    (`->` type($request)^)?
  }];
}

def PZRT_ChunkOp : PZRT_Op<"chunk", [
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "copies this rank's chunk of a buffer, zero-padded";
  let description = [{
    With k this rank's index in the group of `axes` (the ranks that differ
    only in those axes, in grid order) and c the bytes of `dst`, `dst` =
    bytes [k c, (k+1) c) of `src`, the part past the end of `src` zero.
    No data moves between ranks and no bytes are counted; it reads the part
    of a replicated buffer this rank owns (`pz.shard_chunk`).

    ```mlir
    pzrt.chunk %p, %mine on ["dp_shard"] : memref<10xf32>, memref<3xf32>
    ```
  }];
  let arguments = (ins PZRT_Buffer:$src, PZRT_Buffer:$dst, PZRT_AxesAttr:$axes);
  let assemblyFormat = [{
    $src `,` $dst `on` $axes attr-dict `:` type($src) `,` type($dst)
  }];
  let hasVerifier = 1;
}

def PZRT_BroadcastOp : PZRT_CommOp<"broadcast"> {
  let summary = "copies one rank's buffer to the group";
  let description = [{
    Every rank of the group gets the `buffer` of the group's rank `root`.
  }];
  let arguments = (ins PZRT_Buffer:$buffer, I64Attr:$root, PZRT_AxesAttr:$axes,
                       PZRT_ReasonAttr:$reason,
                       DefaultValuedAttr<I32Attr, "1">:$stream);
  let results = (outs Optional<PZRT_RequestType>:$request);
  let assemblyFormat = [{
    $buffer `from` $root `on` $axes `reason` $reason attr-dict `:` type($buffer)
    (`->` type($request)^)?
  }];
}

def PZRT_AllToAllOp : PZRT_CommOp<"all_to_all"> {
  let summary = "exchanges equal parts of a buffer between all ranks of a group";
  let description = [{
    Part j (outermost dim, n equal parts) of `src` on rank i becomes part i
    of `dst` on rank j. `src` and `dst` have the same type.
  }];
  let arguments = (ins PZRT_Buffer:$src, PZRT_Buffer:$dst, PZRT_AxesAttr:$axes,
                       PZRT_ReasonAttr:$reason,
                       DefaultValuedAttr<I32Attr, "1">:$stream);
  let results = (outs Optional<PZRT_RequestType>:$request);
  let assemblyFormat = [{
    $src `,` $dst `on` $axes `reason` $reason attr-dict `:` type($src) `,` type($dst)
    (`->` type($request)^)?
  }];
}

def PZRT_SendOp : PZRT_CommOp<"send"> {
  let summary = "sends a buffer to a peer along the group";
  let description = [{
    Sends `buffer` to the rank `peer` positions further along the group
    (which wraps around; a pipeline sends forward with +1 on `["pp"]`). The
    peer posts a `pzrt.recv` of the same type with `peer` negated.

    ```mlir
    pzrt.send %act to 1 on ["pp"] reason <"pp.activation", "stage 0 to 1, h.5"> : memref<8x64x128xf32>
    ```
  }];
  let arguments = (ins PZRT_Buffer:$buffer, I64Attr:$peer, PZRT_AxesAttr:$axes,
                       PZRT_ReasonAttr:$reason,
                       DefaultValuedAttr<I32Attr, "1">:$stream);
  let results = (outs Optional<PZRT_RequestType>:$request);
  let assemblyFormat = [{
    $buffer `to` $peer `on` $axes `reason` $reason attr-dict `:` type($buffer)
    (`->` type($request)^)?
  }];
}

def PZRT_RecvOp : PZRT_CommOp<"recv"> {
  let summary = "receives a buffer from a peer along the group";
  let description = [{
    Receives into `buffer` what the rank `peer` positions along the group
    sends (`-1`: the previous rank).
  }];
  let arguments = (ins PZRT_Buffer:$buffer, I64Attr:$peer, PZRT_AxesAttr:$axes,
                       PZRT_ReasonAttr:$reason,
                       DefaultValuedAttr<I32Attr, "1">:$stream);
  let results = (outs Optional<PZRT_RequestType>:$request);
  let assemblyFormat = [{
    $buffer `from` $peer `on` $axes `reason` $reason attr-dict `:` type($buffer)
    (`->` type($request)^)?
  }];
}

def PZRT_ShiftOp : PZRT_CommOp<"shift"> {
  let summary = "passes a buffer around the group's ring";
  let description = [{
    Sends `src` to the rank `offset` positions further along the group and
    receives into `dst` what the rank `offset` positions before sends,
    wrapping around (a ring: context parallelism's key/value blocks). Both
    go together, so no rank waits on its own send. `src` and `dst` have one
    type and are distinct buffers. Moves the bytes of `src` per rank.

    ```mlir
    pzrt.shift %kv, %next by 1 on ["cp"] reason <"cp.ring_kv_shift", "step 1 of 2, attn">
        : memref<2x2x8x16xf32>, memref<2x2x8x16xf32>
    ```
  }];
  let arguments = (ins PZRT_Buffer:$src, PZRT_Buffer:$dst, I64Attr:$offset,
                       PZRT_AxesAttr:$axes, PZRT_ReasonAttr:$reason,
                       DefaultValuedAttr<I32Attr, "1">:$stream);
  let results = (outs Optional<PZRT_RequestType>:$request);
  let assemblyFormat = [{
    $src `,` $dst `by` $offset `on` $axes `reason` $reason attr-dict `:` type($src) `,`
    type($dst) (`->` type($request)^)?
  }];
}

def PZRT_WaitOp : PZRT_Op<"wait"> {
  let summary = "completes an asynchronous transfer";
  let description = [{
    Blocks the op's stream until the transfer that returned `request` is
    done; its buffers may then be read (and, for a send, overwritten).
  }];
  let arguments = (ins PZRT_RequestType:$request);
  let assemblyFormat = "$request attr-dict";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Streams and events
//===----------------------------------------------------------------------===//

def PZRT_EventRecordOp : PZRT_Op<"event_record"> {
  let summary = "records an event on a stream";
  let description = [{
    The event completes when the work enqueued on `stream` before it is
    done.

    ```mlir
    %e = pzrt.event_record {stream = 0 : i32}
    pzrt.stream_wait %e {stream = 1 : i32}
    ```
  }];
  let arguments = (ins I32Attr:$stream);
  let results = (outs PZRT_EventType:$event);
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def PZRT_StreamWaitOp : PZRT_Op<"stream_wait"> {
  let summary = "makes a stream wait for an event";
  let description = [{
    Work enqueued on `stream` after this op starts only once `event` has
    completed.
  }];
  let arguments = (ins PZRT_EventType:$event, I32Attr:$stream);
  let assemblyFormat = "$event attr-dict";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// The schedule
//===----------------------------------------------------------------------===//

def PZRT_ScheduleOp : PZRT_Op<"schedule",
    [HasParent<"::mlir::ModuleOp">, NoTerminator, SingleBlock]> {
  let summary = "the actions the runtime executes in one training step";
  let description = [{
    Holds the step's actions in order; the runtime walks them every step.
    Built by `pzrt-build-schedule` from the plan. A single-rank step with two
    micro-batches:

    ```mlir
    pzrt.schedule {
      pzrt.run @forward_backward {micro_batch = 0 : i64, grads = #pzrt.slot<accum>}
      pzrt.run @forward_backward {micro_batch = 1 : i64}
      pzrt.run @accumulate_grads {micro_batch = 1 : i64}
      pzrt.run @finalize_grads
      pzrt.check_numerics
      pzrt.run @optimizer_step
    }
    ```

    An interleaved pipeline rank holds several chunks' modules, and runs
    their schedules merged into one order: `order` gives each action's
    place in the rank's step (strictly increasing along the schedule,
    one per action). Without it the place is the action's index.
  }];
  let arguments = (ins OptionalAttr<DenseI64ArrayAttr>:$order);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "attr-dict-with-keyword $body";
  let hasRegionVerifier = 1;
}

def PZRT_RunOp : PZRT_Op<"run",
    [HasParent<"ScheduleOp">, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "calls a host function";
  let description = [{
    Calls the host function `callee` with each argument bound to the
    runtime's buffer of its role (`pz.param`, `pz.grad`, `pz.state`,
    `pz.input`, `pz.role`). `micro_batch` selects the rows of the data
    inputs and keys dropout. With `grads = #pzrt.slot<accum>`, the
    gradient arguments bind to the gradient accumulators instead of the
    gradient buffers.
  }];
  let arguments = (ins FlatSymbolRefAttr:$callee,
                       DefaultValuedAttr<I64Attr, "0">:$micro_batch,
                       OptionalAttr<PZRT_SlotKindAttr>:$grads);
  let assemblyFormat = "$callee attr-dict";
}

def PZRT_CheckNumericsOp : PZRT_Op<"check_numerics", [HasParent<"ScheduleOp">]> {
  let summary = "the host decides whether the step's update applies";
  let description = [{
    The runtime reads the loss and the `nonfinite` scalar that
    `@finalize_grads` wrote, agrees on them with every rank, and then either
    goes on (finite gradients), skips the rest of the step and lowers the
    loss scale (fp16 loss scaling), or stops the run naming the first
    parameter whose gradient is not finite (fp32 and bf16).
  }];
  let assemblyFormat = "attr-dict";
}

def PZRT_StageSendOp : PZRT_Op<"stage_send", [HasParent<"ScheduleOp">]> {
  let summary = "a pipeline stage sends a tensor to its neighbour";
  let description = [{
    In a pipeline stage's schedule (docs/design/0016): sends the stage's
    output `tensor` (`activation` to the next stage, `activation_grad` to
    the previous one) of micro-batch `micro_batch`. The neighbour's
    schedule has the matching `pzrt.stage_recv`.

    ```mlir
    pzrt.stage_send "activation" {micro_batch = 1 : i64}
    ```
  }];
  let arguments = (ins StrAttr:$tensor, DefaultValuedAttr<I64Attr, "0">:$micro_batch);
  let assemblyFormat = "$tensor attr-dict";
  let hasVerifier = 1;
}

def PZRT_StageRecvOp : PZRT_Op<"stage_recv", [HasParent<"ScheduleOp">]> {
  let summary = "a pipeline stage receives a tensor from its neighbour";
  let description = [{
    Receives the stage's input `tensor` (`activation` from the previous
    stage, `activation_grad` from the next one) of micro-batch
    `micro_batch`, into that micro-batch's slot.

    ```mlir
    pzrt.stage_recv "activation_grad" {micro_batch = 0 : i64}
    ```
  }];
  let arguments = (ins StrAttr:$tensor, DefaultValuedAttr<I64Attr, "0">:$micro_batch);
  let assemblyFormat = "$tensor attr-dict";
  let hasVerifier = 1;
}

#endif // PZ_DIALECT_PZRT_IR_PZRTOPS_TD
