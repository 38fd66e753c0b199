//===- Passes.td - conversions between the pz levels ----------------------===//

#ifndef PZ_CONVERSION_PASSES_TD
#define PZ_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertPZToPZRTPass : Pass<"convert-pz-to-pzrt", "mlir::ModuleOp"> {
  let summary = "Lower the pz step functions to host functions on buffers";
  let description = [{
    Turns every function of the module (pz ops on tensors) into a host
    function of the runtime-call level:

    * arguments become buffers (memrefs of the same shape); each result
      becomes a trailing out-parameter marked `pzrt.result = i`, except a
      result *tied* to an argument (the same `pz.param` or `pz.state` name:
      the optimizer's updates), which is written into the argument's buffer;
    * every computing op is outlined into a kernel (a `func.func` on tensors
      in the nested module `@kernels`) and run by `pzrt.dispatch` on
      buffers: the op's result goes straight into an out-parameter when it is
      returned, else into a new `memref.alloc` (placed later by
      `pzrt-plan-memory`); ops that need scratch memory get a workspace of
      the target's size;
    * `pz.constant` becomes a `memref.global` read by `memref.get_global`;
    * `pz.reshape` and `tensor.cast` become `memref.reinterpret_cast` views
      of the same bytes;
    * a returned value that was not written in place (an argument, a view, a
      constant, a value returned twice) is copied with `memref.copy`.

    An in-place update must be the last reader of the argument it
    overwrites, and only the optimizer updates may read and overwrite one
    buffer in the same op; anything else is an error.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "the backend: cpu or cuda">,
  ];
  let dependentDialects = ["mlir::pzrt::PZRTDialect", "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect", "mlir::func::FuncDialect"];
}

#endif // PZ_CONVERSION_PASSES_TD
