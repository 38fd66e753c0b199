//===- PZFusionOps.td - fused elementwise loops ---------------------------===//
//
// pz.fused holds a chain of element-map ops (PZ_ElementMap) that the backend
// runs as one loop: the values inside never exist as whole tensors. Built by
// pz-fuse-elementwise just before the memory plan.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZFUSIONOPS_TD
#define PZ_DIALECT_PZ_IR_PZFUSIONOPS_TD

include "mlir/Interfaces/ControlFlowInterfaces.td"

def PZ_FusedOp : Op<PZ_Dialect, "fused",
    [IsolatedFromAbove, RecursiveMemoryEffects, SingleBlock,
     OpAsmOpInterface]> {
  let summary = "element-map ops run as one loop";
  let description = [{
    Runs its body once per element of the *domain*, the shape shared by all
    of its results and by every value computed in the body. The block
    arguments stand for `inputs` (same types); each input broadcasts numpy
    style to the domain, so an input of shape `[64]` in a `[8, 64]` domain
    is read with a stride of 0 along the first dim. Body ops are element-map
    ops (`pz.add`, `pz.exp`, `pz.cast`, `pz.where`, ...); each computes one
    element of its result from the operand elements at the same position,
    with exactly the rounding it has on its own (an f32 op rounds to f32, a
    bf16 op to bf16). `pz.yield` names the body values that the fused op
    returns; the others are never stored.

    ```mlir
    %y = pz.fused (%x, %b) : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32> {
    ^bb0(%a: tensor<8x64xf32>, %c: tensor<64xf32>):
      %s = pz.add %a, %c : tensor<8x64xf32>, tensor<64xf32> -> tensor<8x64xf32>
      %t = pz.tanh %s : tensor<8x64xf32>
      pz.yield %t : tensor<8x64xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<PZ_Tensor>:$inputs);
  let results = (outs Variadic<PZ_Tensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `(` $inputs `)` attr-dict `:` functional-type($inputs, $results) $body
  }];
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    void getAsmResultNames(::mlir::OpAsmSetValueNameFn setNameFn) {
      ::mlir::pz::nameResultsFromLoc(getOperation(), setNameFn);
    }
    /// The shape every result and body value has.
    ::llvm::ArrayRef<int64_t> getDomain() {
      return ::llvm::cast<::mlir::RankedTensorType>(getResult(0).getType())
          .getShape();
    }
  }];
}

def PZ_YieldOp : Op<PZ_Dialect, "yield",
    [Pure, Terminator, ReturnLike, HasParent<"FusedOp">]> {
  let summary = "the results of a pz.fused body";
  let description = [{
    Ends the body of `pz.fused`; its operands, values computed in the body,
    become the fused op's results (same types).
  }];
  let arguments = (ins Variadic<PZ_Tensor>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // PZ_DIALECT_PZ_IR_PZFUSIONOPS_TD
