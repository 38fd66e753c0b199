//===- PZOps.td - pz dialect operations -----------------------------------===//
//
// Shape rules live in each op's inferReturnTypes (PZ_Op adds the interface);
// they report why an op is ill-formed. Other invariants live in verify().
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZOPS_TD
#define PZ_DIALECT_PZ_IR_PZOPS_TD

include "pz/Dialect/PZ/IR/PZBase.td"
include "pz/Dialect/PZ/IR/PZAttrs.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class PZ_BinaryOp<string mnemonic, Type t, string what>
    : PZ_Op<mnemonic, [Pure, PZ_VJP, PZ_ElementMap,
                       AllElementTypesMatch<["lhs", "rhs", "result"]>]> {
  let summary = "elementwise " # what # " with numpy broadcasting";
  let description = [{
    Computes `lhs }] # what # [{ rhs` elementwise. The shapes broadcast as
    numpy does: aligned from the right, a dim of 1 stretches to the other.
    Both operands and the result share one element type. Integer results
    wrap modulo 2^width (`200 + 100` is `44` in ui8); integer division
    truncates toward zero, and a zero divisor is an error.

    ```mlir
    %c = pz.}] # mnemonic # [{ %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
    ```
  }];
  let arguments = (ins t:$lhs, t:$rhs);
  let results = (outs t:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
}

def PZ_AddOp : PZ_BinaryOp<"add", PZ_NumericTensor, "+"> {
  let hasFolder = 1;
}
def PZ_SubOp : PZ_BinaryOp<"sub", PZ_NumericTensor, "-">;
def PZ_MulOp : PZ_BinaryOp<"mul", PZ_NumericTensor, "*"> {
  let hasFolder = 1;
}
def PZ_DivOp : PZ_BinaryOp<"div", PZ_NumericTensor, "/">;
def PZ_PowOp : PZ_BinaryOp<"pow", PZ_FloatTensor, "to the power of">;

class PZ_ExtremumOp<string mnemonic, string onnx, string which, string cmp>
    : PZ_BinaryOp<mnemonic, PZ_NumericTensor, which> {
  let summary = "elementwise " # which # " of two tensors with numpy broadcasting";
  let description = [{
    The }] # which # [{ of `lhs` and `rhs` elementwise (numpy's `}] # mnemonic #
    [{imum`, ONNX's variadic `}] # onnx # [{` as a chain of these). The shapes broadcast
    as numpy does; both operands and the result share one element type.
    A NaN on either side gives NaN. The VJP is `torch.}] # mnemonic #
    [{imum`'s: the cotangent goes to the operand that is }] # cmp #
    [{, and half of it to each operand where they are equal.

    ```mlir
    %c = pz.}] # mnemonic # [{ %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
    ```
  }];
}
def PZ_MaxOp : PZ_ExtremumOp<"max", "Max", "maximum", "larger">;
def PZ_MinOp : PZ_ExtremumOp<"min", "Min", "minimum", "smaller">;

class PZ_UnaryOp<string mnemonic, Type t, string what, list<Trait> traits = []>
    : PZ_Op<mnemonic, !listconcat(traits, [Pure, PZ_VJP, PZ_ElementMap,
                                           SameOperandsAndResultType]),
            /*inferFromTraits=*/1> {
  let summary = "elementwise " # what;
  let description = [{
    Computes }] # what # [{ of each element. The result has the operand's type.

    ```mlir
    %y = pz.}] # mnemonic # [{ %x : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins t:$input);
  let results = (outs t:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def PZ_NegOp : PZ_UnaryOp<"neg", PZ_NumericTensor, "-x"> {
  let hasFolder = 1;
}
def PZ_ExpOp : PZ_UnaryOp<"exp", PZ_FloatTensor, "exp(x)">;
def PZ_LogOp : PZ_UnaryOp<"log", PZ_FloatTensor, "the natural logarithm log(x)">;
def PZ_SqrtOp : PZ_UnaryOp<"sqrt", PZ_FloatTensor, "sqrt(x)">;
def PZ_RsqrtOp : PZ_UnaryOp<"rsqrt", PZ_FloatTensor, "1 / sqrt(x)">;
def PZ_TanhOp : PZ_UnaryOp<"tanh", PZ_FloatTensor, "tanh(x)">;
def PZ_ErfOp : PZ_UnaryOp<"erf", PZ_FloatTensor, "the error function erf(x)">;
def PZ_SinOp : PZ_UnaryOp<"sin", PZ_FloatTensor, "sin(x)">;
def PZ_CosOp : PZ_UnaryOp<"cos", PZ_FloatTensor, "cos(x)">;
def PZ_AbsOp : PZ_UnaryOp<"abs", PZ_NumericTensor,
                          "|x| (integers wrap: |INT_MIN| is INT_MIN)">;
def PZ_SignOp : PZ_UnaryOp<"sign", PZ_NumericTensor,
                           "the sign -1, 0 or 1 (NaN stays NaN)">;
def PZ_ReluOp : PZ_UnaryOp<"relu", PZ_FloatTensor, "max(x, 0)">;
def PZ_SigmoidOp : PZ_UnaryOp<"sigmoid", PZ_FloatTensor, "1 / (1 + exp(-x))">;
def PZ_SiluOp : PZ_UnaryOp<"silu", PZ_FloatTensor, "x * sigmoid(x)">;

def PZ_GeluOp : PZ_Op<"gelu", [Pure, PZ_VJP, SameOperandsAndResultType], 1> {
  let summary = "elementwise GELU, exact (erf) or tanh-approximated";
  let description = [{
    `erf`: `0.5 * x * (1 + erf(x / sqrt(2)))`.
    `tanh`: `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))`,
    the form GPT-2 uses (`torch.nn.functional.gelu(x, approximate='tanh')`).

    ```mlir
    %y = pz.gelu %x tanh : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$input, PZ_GeluApproxAttr:$approximate);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = "$input $approximate attr-dict `:` type($input)";
}

//===----------------------------------------------------------------------===//
// Normalisation and reductions
//===----------------------------------------------------------------------===//

class PZ_SoftmaxBase<string mnemonic, string what>
    : PZ_Op<mnemonic, [Pure, PZ_VJP, SameOperandsAndResultType], 1> {
  let summary = what # " along one axis";
  let description = [{
    Computes }] # what # [{ along `axis` (0 <= axis < rank), subtracting the
    maximum first so that large inputs do not overflow.

    ```mlir
    %y = pz.}] # mnemonic # [{ %x {axis = 1 : i64} : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$input, I64Attr:$axis);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def PZ_SoftmaxOp : PZ_SoftmaxBase<"softmax", "softmax">;
def PZ_LogSoftmaxOp : PZ_SoftmaxBase<"log_softmax", "log-softmax">;

def PZ_LayerNormOp : PZ_Op<"layer_norm",
    [Pure, PZ_VJP, AttrSizedOperandSegments, AllElementTypesMatch<["input", "result"]>]> {
  let summary = "layer normalisation over the trailing dims";
  let description = [{
    Normalises `input` over the dims `axis ..< rank` to zero mean and unit
    variance (biased variance, `epsilon` added before the square root), then
    multiplies by `scale` and adds `bias` when they are given. `scale` and
    `bias` have the shape `input.shape[axis:]`. This is ONNX
    LayerNormalization and `torch.nn.LayerNorm`.

    ```mlir
    %y = pz.layer_norm %x scale(%w : tensor<64xf32>) bias(%b : tensor<64xf32>)
           {axis = 2 : i64, epsilon = 1.0e-05 : f64} : tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$input, Optional<PZ_FloatTensor>:$scale,
                       Optional<PZ_FloatTensor>:$bias, I64Attr:$axis,
                       F64Attr:$epsilon);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`scale` `(` $scale^ `:` type($scale) `)`)?
           (`bias` `(` $bias^ `:` type($bias) `)`)? attr-dict `:` type($input)
           `->` type($result)
  }];
  let hasVerifier = 1;
}

def PZ_RMSNormOp : PZ_Op<"rms_norm",
    [Pure, PZ_VJP, AllElementTypesMatch<["input", "result"]>]> {
  let summary = "RMS normalisation over the trailing dims";
  let description = [{
    Computes `input * rsqrt(mean(input^2 over dims axis..<rank) + epsilon)`,
    then multiplies by `scale` (shape `input.shape[axis:]`) when given, as
    Llama's RMSNorm does.

    ```mlir
    %y = pz.rms_norm %x scale(%w : tensor<64xf32>)
           {axis = 2 : i64, epsilon = 1.0e-06 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$input, Optional<PZ_FloatTensor>:$scale,
                       I64Attr:$axis, F64Attr:$epsilon);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`scale` `(` $scale^ `:` type($scale) `)`)? attr-dict `:`
           type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

class PZ_ReduceOp<string mnemonic, Type t, string what>
    : PZ_Op<mnemonic, [Pure, PZ_VJP, AllElementTypesMatch<["input", "result"]>]> {
  let summary = what # " over a set of axes";
  let description = [{
    Reduces `input` with }] # what # [{ over `axes` (sorted, unique,
    0 <= axis < rank, at least one). With `keepdims` the reduced dims stay
    as 1; without, they are dropped.

    ```mlir
    %s = pz.}] # mnemonic # [{ %x [1] {keepdims} : tensor<4x8xf32> -> tensor<4x1xf32>
    ```
  }];
  let arguments = (ins t:$input, DenseI64ArrayAttr:$axes, UnitAttr:$keepdims);
  let results = (outs t:$result);
  let assemblyFormat = [{
    $input $axes attr-dict `:` type($input) `->` type($result)
  }];
}

def PZ_ReduceSumOp : PZ_ReduceOp<"reduce_sum", PZ_NumericTensor, "a sum">;
def PZ_ReduceMeanOp : PZ_ReduceOp<"reduce_mean", PZ_FloatTensor, "the mean">;
def PZ_ReduceMaxOp : PZ_ReduceOp<"reduce_max", PZ_NumericTensor, "the maximum">;

def PZ_CumSumOp : PZ_Op<"cumsum", [Pure, PZ_VJP, SameOperandsAndResultType], 1> {
  let summary = "cumulative sum along one axis (ONNX CumSum)";
  let description = [{
    Element `i` along `axis` (0 <= axis < rank) is the sum of the elements
    `0..i` (inclusive). With `exclusive` the element itself is left out
    (the first sum is 0); with `reverse` the sums run from the end of the
    axis. Float sums accumulate in double; integer sums wrap modulo
    2^width, as the other integer ops do. Its gradient is the cumulative
    sum of the cotangent in the other direction.

    ```mlir
    %y = pz.cumsum %x {axis = 1 : i64, exclusive, reverse} : tensor<2x8xf32>
    ```
  }];
  let arguments = (ins PZ_NumericTensor:$input, I64Attr:$axis,
                       UnitAttr:$exclusive, UnitAttr:$reverse);
  let results = (outs PZ_NumericTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def PZ_AllFiniteOp : PZ_Op<"all_finite", [Pure]> {
  let summary = "whether every element of a float tensor is finite";
  let description = [{
    True when no element of `input` is NaN or infinite (an empty tensor is
    finite). `@finalize_grads` checks every gradient with it, so that loss
    scaling can skip an overflowing step and fp32 training can stop at the
    first non-finite gradient. It has no gradient.

    ```mlir
    %ok = pz.all_finite %g : tensor<128x64xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$input);
  let results = (outs 0DTensorOf<[I1]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def PZ_ShardChunkOp : PZ_Op<"shard_chunk", [Pure]> {
  let summary = "this rank's chunk of a flat tensor, zero-padded";
  let description = [{
    Splits the 1-D `input` of N elements into `chunks` equal chunks of
    c = ceil(N / chunks) elements (the tensor padded with zeros to
    chunks x c) and returns chunk k, where k is the calling rank's index in
    its group of `grid_axes` of `grid` (the ranks that differ only in those
    axes, in grid order). It moves no data between ranks: it is how a ZeRO
    pass reads the part of a replicated parameter whose optimizer state this
    rank owns. `chunks` must be the group's size (the lowering checks it
    against the grid); the result has c elements.

    ```mlir
    %mine = pz.shard_chunk %flat on @world grid_axes = [2] chunks = 4
        : tensor<10xf32> -> tensor<3xf32>
    ```
  }];
  let arguments = (ins PZ_Tensor:$input, FlatSymbolRefAttr:$grid,
                       DenseI16ArrayAttr:$grid_axes, I64Attr:$chunks);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = [{
    $input `on` $grid `grid_axes` `=` $grid_axes `chunks` `=` $chunks attr-dict
    `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def PZ_MatmulOp : PZ_Op<"matmul",
    [Pure, PZ_VJP, AllElementTypesMatch<["lhs", "rhs", "result"]>]> {
  let summary = "batched matrix product with optional transposes";
  let description = [{
    Multiplies the two trailing dims of `lhs` (M x K, or K x M with
    `transpose_lhs`) by those of `rhs` (K x N, or N x K with
    `transpose_rhs`). Leading dims are batch dims and broadcast as numpy
    does. Both operands have rank 2 or more.

    ```mlir
    %y = pz.matmul %x, %w {transpose_rhs} : tensor<8x16x64xf32>, tensor<256x64xf32> -> tensor<8x16x256xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$lhs, PZ_FloatTensor:$rhs,
                       UnitAttr:$transpose_lhs, UnitAttr:$transpose_rhs);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs) `->` type($result)
  }];
}

//===----------------------------------------------------------------------===//
// Shape and data movement
//===----------------------------------------------------------------------===//

def PZ_ReshapeOp : PZ_Op<"reshape", [Pure, PZ_VJP, AllElementTypesMatch<["input", "result"]>]> {
  let summary = "reinterpret the elements with a new shape";
  let description = [{
    Keeps the elements in row-major order and gives them `shape`. One entry
    of `shape` may be -1: it is the count that keeps the number of elements
    (not allowed together with a 0 entry). Other entries are sizes >= 0, so
    an empty tensor reshapes to another empty shape.

    ```mlir
    %y = pz.reshape %x [8, -1] : tensor<8x16x64xf32> -> tensor<8x1024xf32>
    ```
  }];
  let arguments = (ins PZ_Tensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = "$input $shape attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
}

def PZ_TransposeOp : PZ_Op<"transpose", [Pure, PZ_VJP, AllElementTypesMatch<["input", "result"]>]> {
  let summary = "permute the dims";
  let description = [{
    Result dim `i` is input dim `permutation[i]`; `permutation` is a
    permutation of `0 ..< rank`.

    ```mlir
    %y = pz.transpose %x [0, 2, 1, 3] : tensor<2x16x4x8xf32> -> tensor<2x4x16x8xf32>
    ```
  }];
  let arguments = (ins PZ_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = [{
    $input $permutation attr-dict `:` type($input) `->` type($result)
  }];
  let hasFolder = 1;
}

def PZ_BroadcastOp : PZ_Op<"broadcast", [Pure, PZ_VJP, PZ_ElementMap,
                                         AllElementTypesMatch<["input", "result"]>]> {
  let summary = "broadcast to a shape, numpy style";
  let description = [{
    Aligns `input` with `shape` from the right and stretches dims of size 1;
    leading dims are added. Every entry of `shape` is positive.

    ```mlir
    %y = pz.broadcast %b [8, 16, 64] : tensor<64xf32> -> tensor<8x16x64xf32>
    ```
  }];
  let arguments = (ins PZ_Tensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = "$input $shape attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
}

def PZ_SliceOp : PZ_Op<"slice", [Pure, PZ_VJP, AllElementTypesMatch<["input", "result"]>]> {
  let summary = "a strided box of a tensor";
  let description = [{
    Takes elements `starts[d], starts[d] + steps[d], ...` up to `ends[d]`
    (exclusive) on every dim `d`, in that order. `starts`, `ends` and `steps`
    have one entry per dim, and a step is nonzero:

    - a positive step walks up: `0 <= start <= end <= size`, and the dim
      takes the elements below `end`, `ceil((end - start) / step)` of them;
    - a negative step walks down (a reversal): `-1 <= end <= start <=
      size - 1`, and the dim takes the elements above `end`,
      `ceil((start - end) / -step)` of them. `end = -1` runs through
      element 0.

    `start == end` takes no element. These are the bounds ONNX Slice clamps
    to; unlike ONNX's, a negative `end` never counts from the back.

    ```mlir
    %y = pz.slice %x starts [0, 64] ends [16, 128] steps [1, 1] : tensor<16x192xf32> -> tensor<16x64xf32>
    // The rows of %x in reverse order, every other column.
    %r = pz.slice %x starts [15, 0] ends [-1, 192] steps [-1, 2] : tensor<16x192xf32> -> tensor<16x96xf32>
    ```
  }];
  let arguments = (ins PZ_Tensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$ends, DenseI64ArrayAttr:$steps);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = [{
    $input `starts` $starts `ends` $ends `steps` $steps attr-dict `:`
           type($input) `->` type($result)
  }];
  let hasFolder = 1;
}

def PZ_ConcatOp : PZ_Op<"concat", [Pure, PZ_VJP]> {
  let summary = "join tensors along one axis";
  let description = [{
    Joins one or more tensors of the same rank and element type along
    `axis`; every other dim agrees.

    ```mlir
    %y = pz.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
    ```
  }];
  let arguments = (ins Variadic<PZ_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type($inputs, $result)";
  let hasFolder = 1;
}

def PZ_GatherOp : PZ_Op<"gather", [Pure, PZ_VJP, AllElementTypesMatch<["input", "result"]>]> {
  let summary = "pick slices along one axis by index (ONNX Gather)";
  let description = [{
    The result has shape `input.shape[:axis] + indices.shape +
    input.shape[axis+1:]`. Indices must lie in `[0, input.shape[axis])`;
    the importer normalises negative ones.

    ```mlir
    %y = pz.gather %x, %i {axis = 0 : i64} : tensor<10x4xf32>, tensor<3xi64> -> tensor<3x4xf32>
    ```
  }];
  let arguments = (ins PZ_Tensor:$input, PZ_IntTensor:$indices, I64Attr:$axis);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $indices attr-dict `:` type($input) `,` type($indices) `->` type($result)
  }];
}

def PZ_GatherElementsOp : PZ_Op<"gather_elements",
    [Pure, PZ_VJP, AllElementTypesMatch<["input", "result"]>]> {
  let summary = "pick elements along one axis by index (ONNX GatherElements)";
  let description = [{
    `indices` has the rank of `input` and gives the result its shape; on
    every dim but `axis` it is no larger than `input`. Element `p` of the
    result is `input[p with p[axis] replaced by indices[p]]`. An index lies
    in `[-n, n)` with `n = input.shape[axis]`; a negative one counts from
    the end, and one outside is an error at run time. The gradient
    scatter-adds the cotangent (`pz.scatter_elements {accumulate}`).

    ```mlir
    %y = pz.gather_elements %x, %i {axis = 1 : i64} : tensor<3x5xf32>, tensor<3x2xi64> -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins PZ_Tensor:$input, PZ_IntTensor:$indices, I64Attr:$axis);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $indices attr-dict `:` type($input) `,` type($indices) `->` type($result)
  }];
}

def PZ_ScatterElementsOp : PZ_Op<"scatter_elements",
    [Pure, PZ_VJP, AllTypesMatch<["input", "result"]>,
     AllElementTypesMatch<["input", "updates"]>], 1> {
  let summary = "write elements along one axis by index (ONNX ScatterElements)";
  let description = [{
    The result is `input` with element `p` of `updates` written to
    `input[p with p[axis] replaced by indices[p]]`, for every `p` in
    row-major order (a later write to the same element wins); with
    `accumulate` it is added instead (ONNX `reduction = "add"`). `indices`
    and `updates` have one shape, of the rank of `input` and on every dim
    but `axis` no larger. Indices are as in `pz.gather_elements`.

    ```mlir
    %y = pz.scatter_elements %x, %i, %u {axis = 1 : i64, accumulate} : tensor<3x5xf32>, tensor<3x2xi64>, tensor<3x2xf32> -> tensor<3x5xf32>
    ```
  }];
  let arguments = (ins PZ_Tensor:$input, PZ_IntTensor:$indices, PZ_Tensor:$updates,
                       I64Attr:$axis, UnitAttr:$accumulate);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = [{
    $input `,` $indices `,` $updates attr-dict `:` type($input) `,` type($indices) `,`
        type($updates) `->` type($result)
  }];
  let hasVerifier = 1;
}

def PZ_EmbeddingOp : PZ_Op<"embedding", [Pure, PZ_VJP, AllElementTypesMatch<["table", "result"]>]> {
  let summary = "look up rows of an embedding table";
  let description = [{
    `table` is `V x D`; the result has shape `ids.shape + [D]`. This is the
    token-embedding lookup; its sharding rule splits the vocabulary.

    `padding_idx` (optional, in `[0, V)`) is PyTorch's
    `nn.Embedding(padding_idx=p)`: the lookup gives row `p` no gradient.
    The forward pass is unchanged; the VJP zeroes the cotangent of every
    token whose id is `p` before it is scattered into the table, so row
    `p` receives nothing from this lookup (other readers of the table, a
    tied LM head, still contribute to it). The ONNX importer sets it from
    the model's `parallelize.padding_idx` metadata.

    ```mlir
    %e = pz.embedding %wte, %ids : tensor<256x64xf32>, tensor<2x16xi64> -> tensor<2x16x64xf32>
    %p = pz.embedding %wte, %ids {padding_idx = 0 : i64} : tensor<256x64xf32>, tensor<2x16xi64> -> tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$table, PZ_IntTensor:$ids,
                       OptionalAttr<I64Attr>:$padding_idx);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = [{
    $table `,` $ids attr-dict `:` type($table) `,` type($ids) `->` type($result)
  }];
  let hasVerifier = 1;
}

def PZ_WhereOp : PZ_Op<"where", [Pure, PZ_VJP, PZ_ElementMap,
                                 AllElementTypesMatch<["on_true", "on_false", "result"]>]> {
  let summary = "select elementwise by a mask, with broadcasting";
  let description = [{
    Takes `on_true` where `condition` holds and `on_false` elsewhere. The
    three shapes broadcast as numpy does.

    ```mlir
    %y = pz.where %m, %x, %c : tensor<16x16xi1>, tensor<2x4x16x16xf32>, tensor<f32> -> tensor<2x4x16x16xf32>
    ```
  }];
  let arguments = (ins PZ_BoolTensor:$condition, PZ_Tensor:$on_true,
                       PZ_Tensor:$on_false);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = [{
    $condition `,` $on_true `,` $on_false attr-dict `:` type($condition) `,`
           type($on_true) `,` type($on_false) `->` type($result)
  }];
}

def PZ_CastOp : PZ_Op<"cast", [Pure, PZ_VJP, PZ_ElementMap]> {
  let summary = "convert the element type";
  let description = [{
    Converts every element to `dtype`, as ONNX Cast does: to a float type
    values round to nearest even; between integer types values wrap modulo
    2^width (two's complement for i32/i64: `300` to ui8 is `44`, `-1` to
    ui8 is `255`, ui32 `4294967295` to i32 is `-1`); floats to integers
    truncate toward zero, then wrap the same way (a float outside the
    range of i64, or of ui64 for ui64, has no defined result); `i1` maps
    to 0 and 1, and to `i1` nonzero is true.

    ```mlir
    %y = pz.cast %x : tensor<4x8xf32> to bf16
    ```
  }];
  let arguments = (ins PZ_Tensor:$input, TypeAttrOf<PZ_Element>:$dtype);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` $dtype";
  let hasFolder = 1;
}

def PZ_ConstantOp : PZ_Op<"constant", [ConstantLike, Pure, PZ_VJP]> {
  let summary = "a constant tensor";
  let description = [{
    ```mlir
    %c = pz.constant dense<[1.0, 2.0]> : tensor<2xf32>
    ```
  }];
  let arguments = (ins TypedAttrInterface:$value);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Neural-network ops
//===----------------------------------------------------------------------===//

def PZ_CrossEntropyOp : PZ_Op<"cross_entropy", [Pure, PZ_VJP]> {
  let summary = "token cross-entropy from logits, with an ignore index";
  let description = [{
    `logits` is `[..., C]` and `labels` is `[...]` (integer class ids). Per
    token the loss is `logsumexp(logits) - logits[label]`; tokens whose label
    is `ignore_index` contribute nothing. `mean` divides the sum by the count
    of tokens that are not ignored (as `torch.nn.functional.cross_entropy`
    does), `sum` adds, and `none` returns the per-token losses (0 where
    ignored). The result has the logits' element type.

    ```mlir
    %loss = pz.cross_entropy %logits, %labels mean : tensor<2x16x256xf32>, tensor<2x16xi64> -> tensor<f32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$logits, PZ_IntTensor:$labels,
                       PZ_ReductionAttr:$reduction,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = [{
    $logits `,` $labels $reduction attr-dict `:` type($logits) `,` type($labels)
           `->` type($result)
  }];
}

def PZ_AttentionOp : PZ_Op<"attention",
    [Pure, PZ_VJP, AttrSizedOperandSegments,
     AllElementTypesMatch<["query", "key", "value", "result"]>]> {
  let summary = "scaled dot-product attention, causal or masked";
  let description = [{
    `query` is `[B, H, Sq, D]`, `key` is `[B, Hkv, Sk, D]` and `value` is
    `[B, Hkv, Sk, Dv]`, with `H` a multiple of `Hkv` (grouped-query
    attention: query head `h` reads kv head `h / (H / Hkv)`). The result is
    `softmax(scale * Q K^T + mask) V`, shaped `[B, H, Sq, Dv]`. `scale`
    defaults to `1 / sqrt(D)`. `causal` masks key positions after the query
    position (top-left aligned, as PyTorch's `is_causal`). `mask`, when given,
    broadcasts to `[B, H, Sq, Sk]`: an `i1` mask keeps positions that are
    true, a float mask is added to the scores.

    `bias`, when given, is an additive position bias on the scaled scores
    (ALiBi): `softmax(scale * Q K^T + bias + mask) V`, added before the mask
    and `causal` drop positions. It has the query's element type and
    broadcasts to `[B, H, Sq, Sk]` (aligned from the right, each dim 1 or
    equal: `[1, H, 1, Sk]` for ALiBi, `[B, H, Sq, Sk]` in general). Unlike a
    float mask it may sit next to an `i1` mask or `causal`. A bias computed
    from a parameter gets its gradient from pz.attention_bias_grad; one
    folded from constants (ALiBi as exporters write it) needs none.

    ```mlir
    %o = pz.attention %q, %k, %v {causal} : tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
    %a = pz.attention %q, %k, %v bias(%alibi : tensor<1x4x1x16xf32>) {causal} : tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$query, PZ_FloatTensor:$key,
                       PZ_FloatTensor:$value, Optional<PZ_MaskTensor>:$mask,
                       Optional<PZ_FloatTensor>:$bias,
                       UnitAttr:$causal, OptionalAttr<F64Attr>:$scale);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` `(` $mask^ `:` type($mask) `)`)?
           (`bias` `(` $bias^ `:` type($bias) `)`)? attr-dict
           `:` type($query) `,` type($key) `,` type($value) `->` type($result)
  }];
  let hasVerifier = 1;
}

def PZ_AttentionBlockOp : PZ_Op<"attention_block",
    [Pure, AttrSizedOperandSegments, AllTypesMatch<["acc", "result"]>,
     AllTypesMatch<["lse", "result_lse"]>,
     AllElementTypesMatch<["query", "key", "value", "acc", "lse"]>], 1> {
  let summary = "one key/value block of ring attention, merged online";
  let description = [{
    One step of ring attention (context parallelism): the queries `query`
    `[B, H, Sq, D]` attend to one block of the keys, `key` `[B, Hkv, Sk, D]`
    and `value` `[B, Hkv, Sk, Dv]` (grouped-query heads as pz.attention),
    and the block's result is merged into the running one: `acc`
    `[B, H, Sq, Dv]`, the output over the keys seen so far (normalized), and
    `lse` `[B, H, Sq]`, the log-sum-exp of their scores. With `l` the
    log-sum-exp of the block's kept scores `scale * Q K^T (+ mask)`:
    `result_lse = logaddexp(lse, l)` and `result = acc * exp(lse -
    result_lse) + softmax(scores) V * exp(l - result_lse)`. A ring starts
    from `acc = 0`, `lse = -inf`; a row with no kept key leaves both as they
    are. `query_positions` `[Sq]` and `key_positions` `[Sk]` (i64, together)
    make it causal by the tokens' positions: key j is dropped for query i
    when its position is greater. `mask` broadcasts to `[B, H, Sq, Sk]` as
    pz.attention's. `scale` defaults to `1 / sqrt(D)`.

    ```mlir
    %o, %l = pz.attention_block %q, %k, %v into %acc, %lse positions(%qp, %kp : tensor<8xi64>, tensor<8xi64>)
        : tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$query, PZ_FloatTensor:$key, PZ_FloatTensor:$value,
                       PZ_FloatTensor:$acc, PZ_FloatTensor:$lse,
                       Optional<1DTensorOf<[I64]>>:$query_positions,
                       Optional<1DTensorOf<[I64]>>:$key_positions,
                       Optional<PZ_MaskTensor>:$mask, OptionalAttr<F64Attr>:$scale);
  let results = (outs PZ_FloatTensor:$result, PZ_FloatTensor:$result_lse);
  let assemblyFormat = [{
    $query `,` $key `,` $value `into` $acc `,` $lse
        (`positions` `(` $query_positions^ `,` $key_positions `:` type($query_positions) `,`
         type($key_positions) `)`)?
        (`mask` `(` $mask^ `:` type($mask) `)`)? attr-dict
        `:` type($query) `,` type($key) `,` type($value) `,` type($acc) `,` type($lse)
  }];
  let hasVerifier = 1;
}

def PZ_DropoutOp : PZ_Op<"dropout",
    [Pure, PZ_VJP, AllTypesMatch<["input", "result"]>], 1> {
  let summary = "seeded inverted dropout";
  let description = [{
    Zeroes each element with probability `rate` and scales the others by
    `1 / (1 - rate)`. The mask comes from a counter-based generator keyed by
    `seed`, the training step and the element index, so the backward pass
    and every rank regenerate the same mask without storing it.
    `0 <= rate < 1`.

    A block of a split value (after tensor, sequence or context
    parallelism): with `global_shape`, `split_dims` and one 1-D i64
    `indices` tensor per split dim, the input holds, along each split dim
    `split_dims[k]`, the elements at `indices[k]` of a value of
    `global_shape` (in its other dims, all of them), and each element draws
    the mask of its index in the whole value, so that every split draws the
    single rank's mask. A block of equal parts takes `[r L, (r + 1) L)`;
    context parallelism's zigzag layout two chunks from both ends. The
    indices must lie in `[0, global_shape[d])`; `split_dims` increase.

    ```mlir
    %y = pz.dropout %x {rate = 1.0e-01 : f64, seed = 7 : i64} : tensor<2x16x64xf32>
    %b = pz.dropout %xb indices(%i : tensor<8xi64>)
             {global_shape = array<i64: 2, 16, 64>, rate = 1.0e-01 : f64, seed = 7 : i64,
              split_dims = array<i64: 1>} : tensor<2x8x64xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$input, Variadic<1DTensorOf<[I64]>>:$indices,
                       F64Attr:$rate, I64Attr:$seed,
                       OptionalAttr<DenseI64ArrayAttr>:$global_shape,
                       OptionalAttr<DenseI64ArrayAttr>:$split_dims);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = [{
    $input (`indices` `(` $indices^ `:` type($indices) `)`)? attr-dict `:` type($input)
  }];
  let builders = [
    OpBuilder<(ins "Value":$input, "FloatAttr":$rate, "IntegerAttr":$seed), [{
      build($_builder, $_state, input.getType(), input, /*indices=*/ValueRange(), rate, seed,
            /*global_shape=*/nullptr, /*split_dims=*/nullptr);
    }]>
  ];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Optimizer updates
//===----------------------------------------------------------------------===//

def PZ_SGDUpdateOp : PZ_Op<"sgd_update", [Pure]> {
  let summary = "one SGD step with momentum and weight decay";
  let description = [{
    As `torch.optim.SGD` (dampening 0, no Nesterov):
    `g = grad + weight_decay * param`; `buf = momentum * momentum_buffer + g`
    (or `g` when momentum is 0); `new_param = param - lr * buf`. `lr` is a
    scalar f32 tensor so that schedules can change it per step. The
    parameter, gradient and buffer have one element type and compatible
    shapes; the results take their most static shape.

    ```mlir
    %p1, %b1 = pz.sgd_update %p, %g, %b, %lr {momentum = 9.0e-01 : f64, weight_decay = 0.0 : f64}
        : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$param, PZ_FloatTensor:$grad,
                       PZ_FloatTensor:$momentum_buffer, PZ_F32Scalar:$lr,
                       F64Attr:$momentum, F64Attr:$weight_decay);
  let results = (outs PZ_FloatTensor:$new_param,
                      PZ_FloatTensor:$new_momentum_buffer);
  let assemblyFormat = [{
    $param `,` $grad `,` $momentum_buffer `,` $lr attr-dict `:` type($param)
           `,` type($grad) `,` type($momentum_buffer) `,` type($lr)
  }];
  let hasVerifier = 1;
}

def PZ_AdamWUpdateOp : PZ_Op<"adamw_update", [Pure]> {
  let summary = "one AdamW step, exactly as torch.optim.AdamW";
  let description = [{
    With `t = step` (counting from 1):
    `param' = param * (1 - lr * weight_decay)`;
    `m = beta1 * exp_avg + (1 - beta1) * grad`;
    `v = beta2 * exp_avg_sq + (1 - beta2) * grad^2`;
    `new_param = param' - lr * (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)`.
    The parameter, gradient and moments have one element type and
    compatible shapes; the results take their most static shape.

    ```mlir
    %p1, %m1, %v1 = pz.adamw_update %p, %g, %m, %v, %lr, %t
        {beta1 = 9.0e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.0e-08 : f64, weight_decay = 1.0e-02 : f64}
        : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<f32>, tensor<i64>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$param, PZ_FloatTensor:$grad,
                       PZ_FloatTensor:$exp_avg, PZ_FloatTensor:$exp_avg_sq,
                       PZ_F32Scalar:$lr, PZ_IntScalar:$step, F64Attr:$beta1,
                       F64Attr:$beta2, F64Attr:$eps, F64Attr:$weight_decay);
  let results = (outs PZ_FloatTensor:$new_param, PZ_FloatTensor:$new_exp_avg,
                      PZ_FloatTensor:$new_exp_avg_sq);
  let assemblyFormat = [{
    $param `,` $grad `,` $exp_avg `,` $exp_avg_sq `,` $lr `,` $step attr-dict
           `:` type($param) `,` type($grad) `,` type($exp_avg) `,`
           type($exp_avg_sq) `,` type($lr) `,` type($step)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Further op groups, one file each
//===----------------------------------------------------------------------===//

include "pz/Dialect/PZ/IR/PZLogicOps.td"
include "pz/Dialect/PZ/IR/PZGradOps.td"
include "pz/Dialect/PZ/IR/PZFusionOps.td"

#endif // PZ_DIALECT_PZ_IR_PZOPS_TD
