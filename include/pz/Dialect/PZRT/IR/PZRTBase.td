//===- PZRTBase.td - the runtime-call dialect, types and enums -----------===//
//
// `pzrt` is the level between the pz graph and the emitters: host functions
// on buffers (memrefs that are slices of the rank's arena), calls of device
// kernels, collectives on communicators named by grid axes, point-to-point
// transfers, streams and events, and the schedule of actions that the
// runtime executes each step. The emitters print only this level.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZRT_IR_PZRTBASE_TD
#define PZ_DIALECT_PZRT_IR_PZRTBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def PZRT_Dialect : Dialect {
  let name = "pzrt";
  let cppNamespace = "::mlir::pzrt";
  let summary = "Runtime calls on the buffers of one rank";
  let description = [{
    A module at this level holds:

    * **host functions** (`func.func` on memrefs, results passed as trailing
      out-parameters). Their buffers are slices of the rank's arena:
      `memref.view` of `pzrt.arena` at a byte offset, bracketed by
      `pzrt.lifetime_start` and `pzrt.lifetime_end`. The memory plan is thus
      the IR itself; `#pzrt.memory_plan` on the function records the arena
      size and its peak of live bytes. Constants are `memref.global`s.
    * **device kernels**, in the nested module `@kernels`: one `func.func` on
      tensors per computation, whose body is pz ops. `pzrt.dispatch` runs one
      on buffers. Each backend compiles the kernels its own way (the CPU
      backend into C++ loops and calls of its kernel library; the CUDA
      backend into device code and library calls), while every backend
      prints the host functions the same way.
    * **communication**: collectives (blocking, or started and waited for),
      send and recv, each on the communicator of a group of grid axes and
      carrying the reason it exists.
    * **streams and events**: each dispatch, copy and transfer runs on a
      stream (0 computes, 1 communicates); events order them.
    * the **schedule** (`pzrt.schedule`): the actions the runtime executes
      each training step.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let extraClassDeclaration = [{
    /// On a host function: the #pzrt.memory_plan.
    static constexpr ::llvm::StringLiteral kMemoryPlanAttrName =
        "pzrt.memory_plan";
    /// On a host function's out-parameter: the number of the result of the
    /// pz function it receives.
    static constexpr ::llvm::StringLiteral kResultAttrName = "pzrt.result";
    /// On a host function's argument that a result is written into in
    /// place: the number of that result of the pz function.
    static constexpr ::llvm::StringLiteral kTiedAttrName = "pzrt.tied";
    /// On a kernel: the scratch bytes it needs (its dispatch passes them).
    static constexpr ::llvm::StringLiteral kWorkspaceAttrName =
        "pzrt.workspace_bytes";
    /// The symbol name of the nested module holding the kernels.
    static constexpr ::llvm::StringLiteral kKernelModuleName = "kernels";
    /// On a module: the target the program was lowered for.
    static constexpr ::llvm::StringLiteral kTargetAttrName = "pzrt.target";
  }];
}

class PZRT_Op<string mnemonic, list<Trait> traits = []>
    : Op<PZRT_Dialect, mnemonic, traits>;

class PZRT_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<PZRT_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

class PZRT_Type<string name, string typeMnemonic>
    : TypeDef<PZRT_Dialect, name> {
  let mnemonic = typeMnemonic;
}

def PZRT_RequestType : PZRT_Type<"Request", "request"> {
  let summary = "an asynchronous transfer in flight";
  let description = [{
    Returned by the asynchronous form of a collective or a point-to-point
    transfer; `pzrt.wait` completes it. Each request is waited for exactly
    once, in the function that started it.
  }];
}

def PZRT_EventType : PZRT_Type<"Event", "event"> {
  let summary = "a point in a stream's work";
  let description = [{
    Recorded on one stream by `pzrt.event_record`; `pzrt.stream_wait` makes
    another stream wait until the work before the record is done.
  }];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def PZRT_RedSum : I32EnumAttrCase<"sum", 0>;
def PZRT_RedMax : I32EnumAttrCase<"max", 1>;
def PZRT_RedMin : I32EnumAttrCase<"min", 2>;
def PZRT_RedAvg : I32EnumAttrCase<"avg", 3>;
def PZRT_ReduceKind : I32EnumAttr<"ReduceKind",
    "how a collective combines the ranks' values",
    [PZRT_RedSum, PZRT_RedMax, PZRT_RedMin, PZRT_RedAvg]> {
  let cppNamespace = "::mlir::pzrt";
  let genSpecializedAttr = 0;
}
def PZRT_ReduceKindAttr : EnumAttr<PZRT_Dialect, PZRT_ReduceKind, "reduce"> {
  let assemblyFormat = "`<` $value `>`";
}

// Where a binding of a host function's argument points in the runtime's
// buffers. Tensors are indexed by the program's tables (params, states,
// inputs); scalars live in the step's scalar slots.
def PZRT_SlotParam : I32EnumAttrCase<"param", 0>;
def PZRT_SlotGrad : I32EnumAttrCase<"grad", 1>;
def PZRT_SlotAccum : I32EnumAttrCase<"accum", 2>;
def PZRT_SlotState : I32EnumAttrCase<"state", 3>;
def PZRT_SlotInput : I32EnumAttrCase<"input", 4>;
def PZRT_SlotKind : I32EnumAttr<"SlotKind", "a kind of runtime buffer",
    [PZRT_SlotParam, PZRT_SlotGrad, PZRT_SlotAccum, PZRT_SlotState,
     PZRT_SlotInput]> {
  let cppNamespace = "::mlir::pzrt";
  let genSpecializedAttr = 0;
}
def PZRT_SlotKindAttr : EnumAttr<PZRT_Dialect, PZRT_SlotKind, "slot"> {
  let assemblyFormat = "`<` $value `>`";
}

#endif // PZ_DIALECT_PZRT_IR_PZRTBASE_TD
