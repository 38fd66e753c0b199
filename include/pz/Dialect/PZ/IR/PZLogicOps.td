//===- PZLogicOps.td - comparisons and boolean ops ------------------------===//
//
// Masks at run time: comparisons, logical not and the triangle of a matrix.
// ONNX Equal, Less, Not and Trilu lower to them when their inputs are not
// known constants (constant masks fold away during the import).
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZLOGICOPS_TD
#define PZ_DIALECT_PZ_IR_PZLOGICOPS_TD

include "pz/Dialect/PZ/IR/PZBase.td"

def PZ_CmpEq : I32EnumAttrCase<"eq", 0>;
def PZ_CmpLt : I32EnumAttrCase<"lt", 1>;
def PZ_CmpLe : I32EnumAttrCase<"le", 2>;
def PZ_CmpGt : I32EnumAttrCase<"gt", 3>;
def PZ_CmpGe : I32EnumAttrCase<"ge", 4>;
def PZ_ComparePredicateAttr : I32EnumAttr<"ComparePredicate",
    "an elementwise comparison: eq, lt, le, gt or ge",
    [PZ_CmpEq, PZ_CmpLt, PZ_CmpLe, PZ_CmpGt, PZ_CmpGe]> {
  let cppNamespace = "::mlir::pz";
}

def PZ_CompareOp : PZ_Op<"compare",
    [Pure, PZ_VJP, PZ_ElementMap, AllElementTypesMatch<["lhs", "rhs"]>]> {
  let summary = "elementwise comparison with numpy broadcasting";
  let description = [{
    Compares `lhs` with `rhs` elementwise and yields an `i1` mask: `eq`
    (==), `lt` (<), `le` (<=), `gt` (>) or `ge` (>=). The shapes broadcast
    as numpy does; both operands share one element type. Floats compare as
    IEEE values (a NaN compares false, also with itself). `i1` operands
    allow `eq` only. This is ONNX Equal, Less, LessOrEqual, Greater and
    GreaterOrEqual.

    ```mlir
    %m = pz.compare lt, %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xi1>
    ```
  }];
  let arguments = (ins PZ_ComparePredicateAttr:$predicate, PZ_Tensor:$lhs,
                       PZ_Tensor:$rhs);
  let results = (outs PZ_BoolTensor:$result);
  let assemblyFormat = [{
    $predicate `,` $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->`
           type($result)
  }];
  let hasVerifier = 1;
}

def PZ_NotOp : PZ_Op<"not", [Pure, PZ_VJP, PZ_ElementMap, SameOperandsAndResultType], 1> {
  let summary = "elementwise logical not of a mask";
  let description = [{
    Flips every element of an `i1` tensor (ONNX Not).

    ```mlir
    %keep = pz.not %masked : tensor<16x16xi1>
    ```
  }];
  let arguments = (ins PZ_BoolTensor:$input);
  let results = (outs PZ_BoolTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def PZ_TriluOp : PZ_Op<"trilu", [Pure, PZ_VJP, SameOperandsAndResultType],
                           1> {
  let summary = "keep the upper or lower triangle of the trailing matrices";
  let description = [{
    Treats the two trailing dims as matrices (leading dims are a batch) and
    keeps element `(i, j)` when `j - i >= diagonal` (with `upper`) or
    `j - i <= diagonal` (without); the others become zero (`false` for
    `i1`). This is ONNX Trilu with a constant `k`: `torch.triu(x, 1)` is
    `upper` with `diagonal = 1`. The input has rank 2 or more.

    ```mlir
    %causal = pz.trilu %ones upper diagonal 1 : tensor<16x16xi1>
    %lower = pz.trilu %x : tensor<2x4x4xf32>
    ```
  }];
  let arguments = (ins PZ_Tensor:$input, UnitAttr:$upper,
                       DefaultValuedAttr<I64Attr, "0">:$diagonal);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = [{
    $input (`upper` $upper^)? (`diagonal` $diagonal^)? attr-dict `:`
           type($input)
  }];
  let hasVerifier = 1;
}

#endif // PZ_DIALECT_PZ_IR_PZLOGICOPS_TD
