//===- PZGradOps.td - ops that only gradients use -------------------------===//
//
// Autodiff builds most VJPs from forward ops. The ops here are the
// backward halves that do not decompose well: they fuse what a kernel
// computes in one pass, or scatter where the forward op gathered.
//
//===----------------------------------------------------------------------===//

#ifndef PZ_DIALECT_PZ_IR_PZGRADOPS_TD
#define PZ_DIALECT_PZ_IR_PZGRADOPS_TD

include "pz/Dialect/PZ/IR/PZBase.td"

def PZ_GeluGradOp : PZ_Op<"gelu_grad", [Pure, SameOperandsAndResultType], 1> {
  let summary = "the gradient of pz.gelu";
  let description = [{
    `grad * gelu'(input)` for the given form.

    ```mlir
    %dx = pz.gelu_grad %g, %x tanh : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$grad, PZ_FloatTensor:$input,
                       PZ_GeluApproxAttr:$approximate);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $input $approximate attr-dict `:` type($input)";
}

def PZ_ReluGradOp : PZ_Op<"relu_grad", [Pure, PZ_ElementMap, SameOperandsAndResultType], 1> {
  let summary = "the gradient of pz.relu";
  let description = [{
    `grad` where `input > 0`, else 0 (PyTorch's convention at 0).

    ```mlir
    %dx = pz.relu_grad %g, %x : tensor<4x8xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$grad, PZ_FloatTensor:$input);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $input attr-dict `:` type($input)";
}

def PZ_LayerNormGradOp : PZ_Op<"layer_norm_grad",
    [Pure, AllTypesMatch<["grad", "input", "grad_input"]>]> {
  let summary = "the gradient of pz.layer_norm";
  let description = [{
    Given the cotangent `grad` of `layer_norm(input, scale, bias)`, returns
    the cotangents of the input, the scale and the bias. The scale and bias
    cotangents have the normalised shape `input.shape[axis:]` and are
    returned even when the forward op had no scale or bias (nothing uses
    them then). Without `scale` the forward scale is 1.

    ```mlir
    %dx, %dw, %db = pz.layer_norm_grad %g, %x scale(%w : tensor<64xf32>)
        {axis = 2 : i64, epsilon = 1.0e-05 : f64}
        : tensor<2x16x64xf32> -> tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$grad, PZ_FloatTensor:$input,
                       Optional<PZ_FloatTensor>:$scale, I64Attr:$axis,
                       F64Attr:$epsilon);
  let results = (outs PZ_FloatTensor:$grad_input, PZ_FloatTensor:$grad_scale,
                      PZ_FloatTensor:$grad_bias);
  let assemblyFormat = [{
    $grad `,` $input (`scale` `(` $scale^ `:` type($scale) `)`)? attr-dict `:`
        type($input) `->` type(results)
  }];
}

def PZ_RMSNormGradOp : PZ_Op<"rms_norm_grad",
    [Pure, AllTypesMatch<["grad", "input", "grad_input"]>]> {
  let summary = "the gradient of pz.rms_norm";
  let description = [{
    Given the cotangent `grad` of `rms_norm(input, scale)`, returns the
    cotangents of the input and of the scale (shape `input.shape[axis:]`,
    returned even without a forward scale).

    ```mlir
    %dx, %dw = pz.rms_norm_grad %g, %x scale(%w : tensor<64xf32>)
        {axis = 2 : i64, epsilon = 1.0e-06 : f64}
        : tensor<2x16x64xf32> -> tensor<2x16x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$grad, PZ_FloatTensor:$input,
                       Optional<PZ_FloatTensor>:$scale, I64Attr:$axis,
                       F64Attr:$epsilon);
  let results = (outs PZ_FloatTensor:$grad_input, PZ_FloatTensor:$grad_scale);
  let assemblyFormat = [{
    $grad `,` $input (`scale` `(` $scale^ `:` type($scale) `)`)? attr-dict `:`
        type($input) `->` type(results)
  }];
}

def PZ_ReduceMaxGradOp : PZ_Op<"reduce_max_grad",
    [Pure, AllTypesMatch<["input", "result"]>], 1> {
  let summary = "the gradient of pz.reduce_max";
  let description = [{
    Spreads `grad` (the reduced shape, with or without kept dims) evenly over
    the positions of `input` that equal their slice's maximum, as
    `torch.amax` does.

    ```mlir
    %dx = pz.reduce_max_grad %g, %x [1] : tensor<4xf32>, tensor<4x8xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$grad, PZ_FloatTensor:$input,
                       DenseI64ArrayAttr:$axes, UnitAttr:$keepdims);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = [{
    $grad `,` $input $axes attr-dict `:` type($grad) `,` type($input)
  }];
  let hasVerifier = 1;
}

def PZ_SliceGradOp : PZ_Op<"slice_grad", [Pure]> {
  let summary = "scatter a slice's cotangent into zeros of the input shape";
  let description = [{
    The transpose of `pz.slice`: a tensor of shape `input_shape`, zero except
    at the sliced positions, which hold `grad`. `starts`, `ends` and `steps`
    follow `pz.slice`'s rules, negative steps included: element `i` of
    `grad` goes where the slice took its element `i` from.

    ```mlir
    %dx = pz.slice_grad %g [16, 192] starts [0, 64] ends [16, 128] steps [1, 1] : tensor<16x64xf32> -> tensor<16x192xf32>
    ```
  }];
  let arguments = (ins PZ_Tensor:$grad, DenseI64ArrayAttr:$input_shape,
                       DenseI64ArrayAttr:$starts, DenseI64ArrayAttr:$ends,
                       DenseI64ArrayAttr:$steps);
  let results = (outs PZ_Tensor:$result);
  let assemblyFormat = [{
    $grad $input_shape `starts` $starts `ends` $ends `steps` $steps attr-dict
        `:` type($grad) `->` type($result)
  }];
  let hasVerifier = 1;
}

def PZ_GatherGradOp : PZ_Op<"gather_grad", [Pure]> {
  let summary = "scatter-add the cotangent of pz.gather";
  let description = [{
    The transpose of `pz.gather`: zeros of shape `input_shape`, to which each
    gathered slice of `grad` is added back at its index (repeated indices
    add up).

    ```mlir
    %dx = pz.gather_grad %g, %i [10, 4] {axis = 0 : i64} : tensor<3x4xf32>, tensor<3xi64> -> tensor<10x4xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$grad, PZ_IntTensor:$indices,
                       DenseI64ArrayAttr:$input_shape, I64Attr:$axis);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = [{
    $grad `,` $indices $input_shape attr-dict `:` type($grad) `,` type($indices)
        `->` type($result)
  }];
  let hasVerifier = 1;
}

def PZ_EmbeddingGradOp : PZ_Op<"embedding_grad", [Pure]> {
  let summary = "scatter-add the cotangent of pz.embedding";
  let description = [{
    A `vocab x D` tensor: row `v` is the sum of the rows of `grad` whose id
    is `v`.

    ```mlir
    %dt = pz.embedding_grad %g, %ids {vocab = 256 : i64} : tensor<2x16x64xf32>, tensor<2x16xi64> -> tensor<256x64xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$grad, PZ_IntTensor:$ids,
                       I64Attr:$vocab);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = [{
    $grad `,` $ids attr-dict `:` type($grad) `,` type($ids) `->` type($result)
  }];
  let hasVerifier = 1;
}

def PZ_CrossEntropyGradOp : PZ_Op<"cross_entropy_grad",
    [Pure, AllTypesMatch<["logits", "result"]>], 1> {
  let summary = "the gradient of pz.cross_entropy with respect to the logits";
  let description = [{
    `(softmax(logits) - onehot(labels)) * grad`, zero on ignored tokens, and
    divided by the count of tokens that are not ignored for `mean`. `grad`
    is a scalar for `mean` and `sum`, per token for `none`.

    ```mlir
    %dl = pz.cross_entropy_grad %g, %logits, %labels mean : tensor<f32>, tensor<2x16x256xf32>, tensor<2x16xi64>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$grad, PZ_FloatTensor:$logits,
                       PZ_IntTensor:$labels, PZ_ReductionAttr:$reduction,
                       DefaultValuedAttr<I64Attr, "-100">:$ignore_index);
  let results = (outs PZ_FloatTensor:$result);
  let assemblyFormat = [{
    $grad `,` $logits `,` $labels $reduction attr-dict `:` type($grad) `,`
        type($logits) `,` type($labels)
  }];
  let hasVerifier = 1;
}

def PZ_AttentionGradOp : PZ_Op<"attention_grad",
    [Pure, AttrSizedOperandSegments, AllTypesMatch<["query", "grad_query"]>,
     AllTypesMatch<["key", "grad_key"]>,
     AllTypesMatch<["value", "grad_value"]>], 1> {
  let summary = "the gradient of pz.attention";
  let description = [{
    Given the cotangent `grad` of `attention(query, key, value, mask, bias)`
    with the same `causal` and `scale`, returns the cotangents of the query,
    key and value. With grouped-query attention the key and value cotangents
    sum over the query heads that share a kv head. The mask gets no
    gradient; the bias's is pz.attention_bias_grad.

    ```mlir
    %dq, %dk, %dv = pz.attention_grad %g, %q, %k, %v {causal} : tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$grad, PZ_FloatTensor:$query,
                       PZ_FloatTensor:$key, PZ_FloatTensor:$value,
                       Optional<PZ_MaskTensor>:$mask, Optional<PZ_FloatTensor>:$bias,
                       UnitAttr:$causal, OptionalAttr<F64Attr>:$scale);
  let results = (outs PZ_FloatTensor:$grad_query, PZ_FloatTensor:$grad_key,
                      PZ_FloatTensor:$grad_value);
  let assemblyFormat = [{
    $grad `,` $query `,` $key `,` $value (`mask` `(` $mask^ `:` type($mask) `)`)?
        (`bias` `(` $bias^ `:` type($bias) `)`)? attr-dict `:` type($grad) `,` type($query) `,` type($key) `,` type($value)
  }];
  let hasVerifier = 1;
}

def PZ_AttentionBiasGradOp : PZ_Op<"attention_bias_grad",
    [Pure, AllTypesMatch<["bias", "grad_bias"]>], 1> {
  let summary = "the gradient of pz.attention's bias";
  let description = [{
    Given the cotangent `grad` of `attention(query, key, value, mask, bias)`
    with the same `causal` and `scale`, returns the bias's cotangent: with
    `P` the probabilities, `dP = grad V^T` and `dS = P * (dP - rowsum(dP *
    P))` (the cotangent of the scores after the scale), `dS` summed over
    the dims the bias broadcasts along (`[B, H, Sq, Sk]` reduced to the
    bias's shape). A dropped position contributes 0 (its probability is 0);
    a row with no kept key contributes NaN, as in pz.attention_grad. Autodiff
    builds it only for a bias computed from a parameter.

    ```mlir
    %db = pz.attention_bias_grad %g, %q, %k, %v bias(%b : tensor<1x4x1x16xf32>) {causal} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
    ```
  }];
  // The bias before the optional mask: the result type is inferred from a
  // fixed operand position.
  let arguments = (ins PZ_FloatTensor:$grad, PZ_FloatTensor:$query,
                       PZ_FloatTensor:$key, PZ_FloatTensor:$value,
                       PZ_FloatTensor:$bias, Optional<PZ_MaskTensor>:$mask,
                       UnitAttr:$causal, OptionalAttr<F64Attr>:$scale);
  let results = (outs PZ_FloatTensor:$grad_bias);
  let assemblyFormat = [{
    $grad `,` $query `,` $key `,` $value (`mask` `(` $mask^ `:` type($mask) `)`)?
        `bias` `(` $bias `:` type($bias) `)` attr-dict
        `:` type($grad) `,` type($query) `,` type($key) `,` type($value)
  }];
  let hasVerifier = 1;
}

def PZ_AttentionBlockGradOp : PZ_Op<"attention_block_grad",
    [Pure, AttrSizedOperandSegments, AllTypesMatch<["query", "grad_query"]>,
     AllTypesMatch<["key", "grad_key"]>, AllTypesMatch<["value", "grad_value"]>,
     AllTypesMatch<["grad", "out"]>], 1> {
  let summary = "the gradient of one key/value block of ring attention";
  let description = [{
    Given the cotangent `grad` of the whole attention's output `out`
    `[B, H, Sq, Dv]` and its log-sum-exp `lse` `[B, H, Sq]` (over every
    block, as the last pz.attention_block of the ring returns them), returns
    this block's part of the query's cotangent and the block's key and
    value cotangents (summed over the query heads that share a kv head):
    with `P = exp(scores - lse)` and `D = rowsum(grad * out)`,
    `grad_value = P^T grad`, `dS = P * (grad V^T - D)`,
    `grad_query = scale * dS K`, `grad_key = scale * dS^T Q`. Positions,
    mask and scale as pz.attention_block.

    ```mlir
    %dq, %dk, %dv = pz.attention_block_grad %g, %q, %k, %v, %o, %lse
        : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8xf32>
    ```
  }];
  let arguments = (ins PZ_FloatTensor:$grad, PZ_FloatTensor:$query, PZ_FloatTensor:$key,
                       PZ_FloatTensor:$value, PZ_FloatTensor:$out, PZ_FloatTensor:$lse,
                       Optional<1DTensorOf<[I64]>>:$query_positions,
                       Optional<1DTensorOf<[I64]>>:$key_positions,
                       Optional<PZ_MaskTensor>:$mask, OptionalAttr<F64Attr>:$scale);
  let results = (outs PZ_FloatTensor:$grad_query, PZ_FloatTensor:$grad_key,
                      PZ_FloatTensor:$grad_value);
  let assemblyFormat = [{
    $grad `,` $query `,` $key `,` $value `,` $out `,` $lse
        (`positions` `(` $query_positions^ `,` $key_positions `:` type($query_positions) `,`
         type($key_positions) `)`)?
        (`mask` `(` $mask^ `:` type($mask) `)`)? attr-dict
        `:` type($grad) `,` type($query) `,` type($key) `,` type($value) `,` type($lse)
  }];
  let hasVerifier = 1;
}

#endif // PZ_DIALECT_PZ_IR_PZGRADOPS_TD
