// RUN: parallelize-opt %s -split-input-file -verify-diagnostics

// Verifier and shape-rule errors of matmul, layer_norm, rms_norm,
// cross_entropy and attention.

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

// The canonical case: inference says 2x4, the IR says 2x5.
func.func @matmul_result_contradicts_inference(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x5xf32> {
  // expected-error @+2 {{'pz.matmul' op inferred type(s) 'tensor<2x4xf32>' are incompatible with return type(s) of operation 'tensor<2x5xf32>'}}
  // expected-error @+1 {{'pz.matmul' op failed to infer returned types}}
  %0 = pz.matmul %a, %b : tensor<2x3xf32>, tensor<3x4xf32> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @matmul_result_rank(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<1x2x4xf32> {
  // expected-error @+2 {{'pz.matmul' op inferred type(s) 'tensor<2x4xf32>' are incompatible with return type(s) of operation 'tensor<1x2x4xf32>'}}
  // expected-error @+1 {{'pz.matmul' op failed to infer returned types}}
  %0 = pz.matmul %a, %b : tensor<2x3xf32>, tensor<3x4xf32> -> tensor<1x2x4xf32>
  return %0 : tensor<1x2x4xf32>
}

// -----

func.func @matmul_rank_one(%a: tensor<3xf32>, %b: tensor<3x4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{operands need rank >= 2, got 'tensor<3xf32>' and 'tensor<3x4xf32>'}}
  // expected-error @+1 {{'pz.matmul' op failed to infer returned types}}
  %0 = pz.matmul %a, %b : tensor<3xf32>, tensor<3x4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @matmul_contraction(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+2 {{contraction dims differ: lhs 2x3 has K = 3, rhs 4x5 has K = 4}}
  // expected-error @+1 {{'pz.matmul' op failed to infer returned types}}
  %0 = pz.matmul %a, %b : tensor<2x3xf32>, tensor<4x5xf32> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @matmul_contraction_transposed(%a: tensor<3x2xf32>, %b: tensor<3x4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{contraction dims differ: lhs 3x2 (transposed) has K = 3, rhs 3x4 (transposed) has K = 4}}
  // expected-error @+1 {{'pz.matmul' op failed to infer returned types}}
  %0 = pz.matmul %a, %b {transpose_lhs, transpose_rhs} : tensor<3x2xf32>, tensor<3x4xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @matmul_batch_does_not_broadcast(%a: tensor<2x4x8xf32>, %b: tensor<3x8x5xf32>) -> tensor<2x4x5xf32> {
  // expected-error @+2 {{shapes 2 and 3 do not broadcast}}
  // expected-error @+1 {{'pz.matmul' op failed to infer returned types}}
  %0 = pz.matmul %a, %b : tensor<2x4x8xf32>, tensor<3x8x5xf32> -> tensor<2x4x5xf32>
  return %0 : tensor<2x4x5xf32>
}

// -----

func.func @matmul_int(%a: tensor<2x3xi32>, %b: tensor<3x4xi32>) -> tensor<2x4xi32> {
  // expected-error @+1 {{'pz.matmul' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<2x3xi32>'}}
  %0 = pz.matmul %a, %b : tensor<2x3xi32>, tensor<3x4xi32> -> tensor<2x4xi32>
  return %0 : tensor<2x4xi32>
}

// -----

func.func @matmul_mixed_precision(%a: tensor<2x3xbf16>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'pz.matmul' op failed to verify that all of {lhs, rhs, result} have same element type}}
  %0 = pz.matmul %a, %b : tensor<2x3xbf16>, tensor<3x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// layer_norm, rms_norm
//===----------------------------------------------------------------------===//

func.func @layer_norm_axis(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{axis 2 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %0 = pz.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-05 : f64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @layer_norm_epsilon_zero(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'pz.layer_norm' op epsilon must be positive, got 0.000000e+00}}
  %0 = pz.layer_norm %x {axis = 1 : i64, epsilon = 0.0 : f64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @layer_norm_scale_shape(%x: tensor<2x8xf32>, %w: tensor<4xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'pz.layer_norm' op scale has shape 4 but the normalised dims are 8}}
  %0 = pz.layer_norm %x scale(%w : tensor<4xf32>) {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @layer_norm_scale_rank(%x: tensor<2x8xf32>, %w: tensor<8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'pz.layer_norm' op scale has shape 8 but the normalised dims are 2x8}}
  %0 = pz.layer_norm %x scale(%w : tensor<8xf32>) {axis = 0 : i64, epsilon = 1.0e-05 : f64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @layer_norm_bias_shape(%x: tensor<2x8xf32>, %w: tensor<8xf32>, %b: tensor<1x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'pz.layer_norm' op bias has shape 1x8 but the normalised dims are 8}}
  %0 = pz.layer_norm %x scale(%w : tensor<8xf32>) bias(%b : tensor<1x8xf32>) {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @layer_norm_scale_element_type(%x: tensor<2x8xf32>, %w: tensor<8xbf16>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'pz.layer_norm' op scale element type 'bf16' differs from the input's 'f32'}}
  %0 = pz.layer_norm %x scale(%w : tensor<8xbf16>) {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @layer_norm_bias_element_type(%x: tensor<2x8xf32>, %b: tensor<8xf64>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'pz.layer_norm' op bias element type 'f64' differs from the input's 'f32'}}
  %0 = pz.layer_norm %x bias(%b : tensor<8xf64>) {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @layer_norm_result_element_type(%x: tensor<2x8xf32>) -> tensor<2x8xf16> {
  // expected-error @+1 {{'pz.layer_norm' op failed to verify that all of {input, result} have same element type}}
  %0 = pz.layer_norm %x {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<2x8xf32> -> tensor<2x8xf16>
  return %0 : tensor<2x8xf16>
}

// -----

func.func @layer_norm_result_shape(%x: tensor<2x8xf32>) -> tensor<8x2xf32> {
  // expected-error @+2 {{'pz.layer_norm' op inferred type(s) 'tensor<2x8xf32>' are incompatible with return type(s) of operation 'tensor<8x2xf32>'}}
  // expected-error @+1 {{'pz.layer_norm' op failed to infer returned types}}
  %0 = pz.layer_norm %x {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<2x8xf32> -> tensor<8x2xf32>
  return %0 : tensor<8x2xf32>
}

// -----

func.func @layer_norm_int(%x: tensor<2x8xi32>) -> tensor<2x8xi32> {
  // expected-error @+1 {{'pz.layer_norm' op operand #0 must be ranked tensor of 16-bit float}}
  %0 = pz.layer_norm %x {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<2x8xi32> -> tensor<2x8xi32>
  return %0 : tensor<2x8xi32>
}

// -----

func.func @rms_norm_axis(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{axis -1 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %0 = pz.rms_norm %x {axis = -1 : i64, epsilon = 1.0e-06 : f64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @rms_norm_negative_epsilon(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'pz.rms_norm' op epsilon must be positive, got -1.000000e-06}}
  %0 = pz.rms_norm %x {axis = 1 : i64, epsilon = -1.0e-06 : f64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @rms_norm_scale_shape(%x: tensor<2x8xf32>, %w: tensor<2xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'pz.rms_norm' op scale has shape 2 but the normalised dims are 8}}
  %0 = pz.rms_norm %x scale(%w : tensor<2xf32>) {axis = 1 : i64, epsilon = 1.0e-06 : f64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @rms_norm_scale_element_type(%x: tensor<2x8xbf16>, %w: tensor<8xf32>) -> tensor<2x8xbf16> {
  // expected-error @+1 {{'pz.rms_norm' op scale element type 'f32' differs from the input's 'bf16'}}
  %0 = pz.rms_norm %x scale(%w : tensor<8xf32>) {axis = 1 : i64, epsilon = 1.0e-06 : f64} : tensor<2x8xbf16> -> tensor<2x8xbf16>
  return %0 : tensor<2x8xbf16>
}

// -----

func.func @rms_norm_missing_epsilon(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'pz.rms_norm' op requires attribute 'epsilon'}}
  %0 = pz.rms_norm %x {axis = 1 : i64} : tensor<2x8xf32> -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

//===----------------------------------------------------------------------===//
// cross_entropy
//===----------------------------------------------------------------------===//

func.func @cross_entropy_scalar_logits(%l: tensor<f32>, %t: tensor<i64>) -> tensor<f32> {
  // expected-error @+2 {{logits need a class dim, got 'tensor<f32>'}}
  // expected-error @+1 {{'pz.cross_entropy' op failed to infer returned types}}
  %0 = pz.cross_entropy %l, %t mean : tensor<f32>, tensor<i64> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @cross_entropy_label_shape(%l: tensor<2x16x256xf32>, %t: tensor<2x8xi64>) -> tensor<f32> {
  // expected-error @+2 {{labels have shape 2x8 but the logits' token dims are 2x16}}
  // expected-error @+1 {{'pz.cross_entropy' op failed to infer returned types}}
  %0 = pz.cross_entropy %l, %t mean : tensor<2x16x256xf32>, tensor<2x8xi64> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @cross_entropy_label_rank(%l: tensor<2x16x256xf32>, %t: tensor<32xi64>) -> tensor<f32> {
  // expected-error @+2 {{labels have shape 32 but the logits' token dims are 2x16}}
  // expected-error @+1 {{'pz.cross_entropy' op failed to infer returned types}}
  %0 = pz.cross_entropy %l, %t sum : tensor<2x16x256xf32>, tensor<32xi64> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @cross_entropy_none_scalar_result(%l: tensor<2x256xf32>, %t: tensor<2xi64>) -> tensor<f32> {
  // expected-error @+2 {{'pz.cross_entropy' op inferred type(s) 'tensor<2xf32>' are incompatible with return type(s) of operation 'tensor<f32>'}}
  // expected-error @+1 {{'pz.cross_entropy' op failed to infer returned types}}
  %0 = pz.cross_entropy %l, %t none : tensor<2x256xf32>, tensor<2xi64> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @cross_entropy_mean_tensor_result(%l: tensor<2x256xf32>, %t: tensor<2xi64>) -> tensor<2xf32> {
  // expected-error @+2 {{'pz.cross_entropy' op inferred type(s) 'tensor<f32>' are incompatible with return type(s) of operation 'tensor<2xf32>'}}
  // expected-error @+1 {{'pz.cross_entropy' op failed to infer returned types}}
  %0 = pz.cross_entropy %l, %t mean : tensor<2x256xf32>, tensor<2xi64> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @cross_entropy_result_element_type(%l: tensor<2x256xbf16>, %t: tensor<2xi64>) -> tensor<f32> {
  // expected-error @+2 {{'pz.cross_entropy' op inferred type(s) 'tensor<bf16>' are incompatible with return type(s) of operation 'tensor<f32>'}}
  // expected-error @+1 {{'pz.cross_entropy' op failed to infer returned types}}
  %0 = pz.cross_entropy %l, %t sum : tensor<2x256xbf16>, tensor<2xi64> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @cross_entropy_float_labels(%l: tensor<2x256xf32>, %t: tensor<2xf32>) -> tensor<f32> {
  // expected-error @+1 {{'pz.cross_entropy' op operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<2xf32>'}}
  %0 = pz.cross_entropy %l, %t mean : tensor<2x256xf32>, tensor<2xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @cross_entropy_int_logits(%l: tensor<2x256xi32>, %t: tensor<2xi64>) -> tensor<i32> {
  // expected-error @+1 {{'pz.cross_entropy' op operand #0 must be ranked tensor of 16-bit float}}
  %0 = pz.cross_entropy %l, %t mean : tensor<2x256xi32>, tensor<2xi64> -> tensor<i32>
  return %0 : tensor<i32>
}

// -----

func.func @cross_entropy_unknown_reduction(%l: tensor<2x256xf32>, %t: tensor<2xi64>) -> tensor<f32> {
  // expected-error @+1 {{custom op 'pz.cross_entropy' expected string or keyword containing one of the following enum values for attribute 'reduction' [mean, sum, none]}}
  %0 = pz.cross_entropy %l, %t max : tensor<2x256xf32>, tensor<2xi64> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

//===----------------------------------------------------------------------===//
// attention

// -----

//===----------------------------------------------------------------------===//

func.func @attention_rank(%q: tensor<4x16x8xf32>) -> tensor<4x16x8xf32> {
  // expected-error @+2 {{query, key and value must have rank 4 ([batch, heads, seq, dim]), got 'tensor<4x16x8xf32>', 'tensor<4x16x8xf32>' and 'tensor<4x16x8xf32>'}}
  // expected-error @+1 {{'pz.attention' op failed to infer returned types}}
  %0 = pz.attention %q, %q, %q : tensor<4x16x8xf32>, tensor<4x16x8xf32>, tensor<4x16x8xf32> -> tensor<4x16x8xf32>
  return %0 : tensor<4x16x8xf32>
}

// -----

func.func @attention_batch(%q: tensor<2x4x16x8xf32>, %k: tensor<3x4x16x8xf32>) -> tensor<2x4x16x8xf32> {
  // expected-error @+2 {{batch sizes differ: query 2, key 3, value 3}}
  // expected-error @+1 {{'pz.attention' op failed to infer returned types}}
  %0 = pz.attention %q, %k, %k : tensor<2x4x16x8xf32>, tensor<3x4x16x8xf32>, tensor<3x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_value_batch(%q: tensor<2x4x16x8xf32>, %v: tensor<1x4x16x8xf32>) -> tensor<2x4x16x8xf32> {
  // expected-error @+2 {{batch sizes differ: query 2, key 2, value 1}}
  // expected-error @+1 {{'pz.attention' op failed to infer returned types}}
  %0 = pz.attention %q, %q, %v : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<1x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_kv_heads(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x2x16x8xf32>) -> tensor<2x4x16x8xf32> {
  // expected-error @+2 {{key has 4 heads but value has 2}}
  // expected-error @+1 {{'pz.attention' op failed to infer returned types}}
  %0 = pz.attention %q, %k, %v : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x2x16x8xf32> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_kv_seq(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x32x8xf32>) -> tensor<2x4x16x8xf32> {
  // expected-error @+2 {{key has sequence length 16 but value has 32}}
  // expected-error @+1 {{'pz.attention' op failed to infer returned types}}
  %0 = pz.attention %q, %k, %v : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x32x8xf32> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_head_dim(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x16xf32>) -> tensor<2x4x16x16xf32> {
  // expected-error @+2 {{query head dim 8 differs from key head dim 16}}
  // expected-error @+1 {{'pz.attention' op failed to infer returned types}}
  %0 = pz.attention %q, %k, %k : tensor<2x4x16x8xf32>, tensor<2x4x16x16xf32>, tensor<2x4x16x16xf32> -> tensor<2x4x16x16xf32>
  return %0 : tensor<2x4x16x16xf32>
}

// -----

func.func @attention_gqa_not_multiple(%q: tensor<1x6x16x8xf32>, %k: tensor<1x4x16x8xf32>) -> tensor<1x6x16x8xf32> {
  // expected-error @+2 {{query heads (6) must be a multiple of key/value heads (4)}}
  // expected-error @+1 {{'pz.attention' op failed to infer returned types}}
  %0 = pz.attention %q, %k, %k : tensor<1x6x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32> -> tensor<1x6x16x8xf32>
  return %0 : tensor<1x6x16x8xf32>
}

// -----

func.func @attention_zero_kv_heads(%q: tensor<1x4x2x8xf32>, %k: tensor<1x0x2x8xf32>) -> tensor<1x4x2x8xf32> {
  // expected-error @+2 {{query heads (4) and key/value heads (0) must be positive}}
  // expected-error @+1 {{'pz.attention' op failed to infer returned types}}
  %o = pz.attention %q, %k, %k : tensor<1x4x2x8xf32>, tensor<1x0x2x8xf32>, tensor<1x0x2x8xf32> -> tensor<1x4x2x8xf32>
  return %o : tensor<1x4x2x8xf32>
}

// -----

func.func @attention_result_value_dim(%q: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x4xf32>) -> tensor<2x4x16x8xf32> {
  // expected-error @+2 {{'pz.attention' op inferred type(s) 'tensor<2x4x16x4xf32>' are incompatible with return type(s) of operation 'tensor<2x4x16x8xf32>'}}
  // expected-error @+1 {{'pz.attention' op failed to infer returned types}}
  %0 = pz.attention %q, %q, %v : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x4xf32> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_scale_zero(%q: tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32> {
  // expected-error @+1 {{'pz.attention' op scale must be positive, got 0.000000e+00}}
  %0 = pz.attention %q, %q, %q {scale = 0.0 : f64} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_scale_f32(%q: tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32> {
  // expected-error @+1 {{attribute 'scale' failed to satisfy constraint: 64-bit float attribute}}
  %0 = pz.attention %q, %q, %q {scale = 0.5 : f32} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_mask_does_not_broadcast(%q: tensor<2x4x16x8xf32>, %m: tensor<16x8xi1>) -> tensor<2x4x16x8xf32> {
  // expected-error @+1 {{'pz.attention' op mask of shape 16x8 does not broadcast to the scores' shape 2x4x16x16}}
  %0 = pz.attention %q, %q, %q mask(%m : tensor<16x8xi1>) : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

// The mask must broadcast TO the scores' shape, not merely with it.
func.func @attention_mask_bigger_than_scores(%q: tensor<2x4x1x8xf32>, %k: tensor<2x4x16x8xf32>, %m: tensor<2x4x5x16xi1>) -> tensor<2x4x1x8xf32> {
  // expected-error @+1 {{'pz.attention' op mask of shape 2x4x5x16 does not broadcast to the scores' shape 2x4x1x16}}
  %o = pz.attention %q, %k, %k mask(%m : tensor<2x4x5x16xi1>) : tensor<2x4x1x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x1x8xf32>
  return %o : tensor<2x4x1x8xf32>
}

// -----

// With a mask, a query of the wrong rank gets the rank error only.
func.func @attention_rank_with_mask(%q: tensor<4x8xf32>, %m: tensor<4x4xi1>) -> tensor<4x8xf32> {
  // expected-error @+2 {{query, key and value must have rank 4 ([batch, heads, seq, dim]), got 'tensor<4x8xf32>', 'tensor<4x8xf32>' and 'tensor<4x8xf32>'}}
  // expected-error @+1 {{'pz.attention' op failed to infer returned types}}
  %o = pz.attention %q, %q, %q mask(%m : tensor<4x4xi1>) : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  return %o : tensor<4x8xf32>
}

// -----

func.func @attention_mask_rank(%q: tensor<2x4x16x8xf32>, %m: tensor<1x2x4x16x16xi1>) -> tensor<2x4x16x8xf32> {
  // expected-error @+1 {{'pz.attention' op mask of shape 1x2x4x16x16 does not broadcast to the scores' shape 2x4x16x16}}
  %0 = pz.attention %q, %q, %q mask(%m : tensor<1x2x4x16x16xi1>) : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_float_mask_element_type(%q: tensor<2x4x16x8xf32>, %m: tensor<16x16xbf16>) -> tensor<2x4x16x8xf32> {
  // expected-error @+1 {{'pz.attention' op a float mask must have the query's element type 'f32', got 'bf16'}}
  %0 = pz.attention %q, %q, %q mask(%m : tensor<16x16xbf16>) : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_int_mask(%q: tensor<2x4x16x8xf32>, %m: tensor<16x16xi32>) -> tensor<2x4x16x8xf32> {
  // expected-error @+1 {{'pz.attention' op operand #3 must be ranked tensor of 1-bit signless integer or 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<16x16xi32>'}}
  %0 = pz.attention %q, %q, %q mask(%m : tensor<16x16xi32>) : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_mixed_element_types(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf16>) -> tensor<2x4x16x8xf32> {
  // expected-error @+1 {{'pz.attention' op failed to verify that all of {query, key, value, result} have same element type}}
  %0 = pz.attention %q, %k, %k : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf16>, tensor<2x4x16x8xf16> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_block_acc_type(%q: tensor<2x4x8x16xf32>, %kv: tensor<2x2x8x16xf32>, %acc: tensor<2x4x8x8xf32>, %lse: tensor<2x4x8xf32>) -> tensor<2x4x8x8xf32> {
  // expected-error @+1 {{'pz.attention_block' op the running output must have the attention's result type 'tensor<2x4x8x16xf32>', got 'tensor<2x4x8x8xf32>'}}
  %0:2 = pz.attention_block %q, %kv, %kv into %acc, %lse : tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x4x8x8xf32>, tensor<2x4x8xf32>
  return %0#0 : tensor<2x4x8x8xf32>
}

// -----

func.func @attention_block_lse_type(%q: tensor<2x4x8x16xf32>, %kv: tensor<2x2x8x16xf32>, %lse: tensor<2x4x1xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{'pz.attention_block' op the log-sum-exp must have type 'tensor<2x4x8xf32>', got 'tensor<2x4x1xf32>'}}
  %0:2 = pz.attention_block %q, %kv, %kv into %q, %lse : tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x1xf32>
  return %0#0 : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_block_positions(%q: tensor<2x4x8x16xf32>, %kv: tensor<2x2x8x16xf32>, %lse: tensor<2x4x8xf32>, %qp: tensor<8xi64>, %kp: tensor<4xi64>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{'pz.attention_block' op positions 'tensor<8xi64>' and 'tensor<4xi64>' must match the query's and key's sequences (8, 8)}}
  %0:2 = pz.attention_block %q, %kv, %kv into %q, %lse positions(%qp, %kp : tensor<8xi64>, tensor<4xi64>) : tensor<2x4x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x2x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8xf32>
  return %0#0 : tensor<2x4x8x16xf32>
}

// -----

func.func @attention_block_grad_heads(%q: tensor<2x4x8x16xf32>, %kv: tensor<2x3x8x16xf32>, %lse: tensor<2x4x8xf32>) -> tensor<2x4x8x16xf32> {
  // expected-error @+1 {{query heads (4) must be a multiple of key/value heads (3)}}
  %0:3 = pz.attention_block_grad %q, %q, %kv, %kv, %q, %lse : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x3x8x16xf32>, tensor<2x3x8x16xf32>, tensor<2x4x8xf32>
  return %0#0 : tensor<2x4x8x16xf32>
}

// -----

// A bias must broadcast to the scores [B, H, Sq, Sk] (here 3 heads, not 4).
func.func @attention_bias_does_not_broadcast(%q: tensor<2x4x16x8xf32>, %b: tensor<1x3x1x16xf32>) -> tensor<2x4x16x8xf32> {
  // expected-error @+1 {{'pz.attention' op bias of shape 1x3x1x16 does not broadcast to the scores' shape 2x4x16x16 (each dim 1 or equal, aligned from the right)}}
  %0 = pz.attention %q, %q, %q bias(%b : tensor<1x3x1x16xf32>) {causal} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_bias_element_type(%q: tensor<2x4x16x8xf32>, %b: tensor<4x1x16xbf16>) -> tensor<2x4x16x8xf32> {
  // expected-error @+1 {{'pz.attention' op the bias must have the query's element type 'f32', got 'bf16'}}
  %0 = pz.attention %q, %q, %q bias(%b : tensor<4x1x16xbf16>) : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_grad_bias_rank(%q: tensor<2x4x16x8xf32>, %b: tensor<1x2x4x16x16xf32>) -> tensor<2x4x16x8xf32> {
  // expected-error @+1 {{'pz.attention_grad' op bias of shape 1x2x4x16x16 does not broadcast to the scores' shape 2x4x16x16}}
  %0:3 = pz.attention_grad %q, %q, %q, %q bias(%b : tensor<1x2x4x16x16xf32>) : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
  return %0#0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_bias_grad_shape(%q: tensor<2x4x16x8xf32>, %b: tensor<1x4x2x16xf32>) -> tensor<1x4x2x16xf32> {
  // expected-error @+1 {{'pz.attention_bias_grad' op bias of shape 1x4x2x16 does not broadcast to the scores' shape 2x4x16x16}}
  %0 = pz.attention_bias_grad %q, %q, %q, %q bias(%b : tensor<1x4x2x16xf32>) : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
  return %0 : tensor<1x4x2x16xf32>
}

