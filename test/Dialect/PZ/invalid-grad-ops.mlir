// RUN: parallelize-opt %s -split-input-file -verify-diagnostics

// Verifier and shape-rule errors of the gradient-only ops (PZGradOps.td).
// layer_norm_grad and rms_norm_grad are written in the generic form: their
// custom form crashes the parser (known-bugs-10.mlir).

func.func @gelu_grad_int(%g: tensor<4xi32>) -> tensor<4xi32> {
  // expected-error @+1 {{'pz.gelu_grad' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<4xi32>'}}
  %0 = pz.gelu_grad %g, %g erf : tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

func.func @relu_grad_result_type(%g: tensor<2x8xf32>, %x: tensor<2x8xf32>) -> tensor<2x8xf16> {
  // expected-error @+1 {{'pz.relu_grad' op requires the same type for all operands and results}}
  %0 = "pz.relu_grad"(%g, %x) : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf16>
  return %0 : tensor<2x8xf16>
}

// -----

func.func @relu_grad_operand_types(%g: tensor<2x8xf32>, %x: tensor<8xf32>) -> tensor<2x8xf32> {
  // expected-error @+1 {{'pz.relu_grad' op requires the same type for all operands and results}}
  %0 = "pz.relu_grad"(%g, %x) : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @layer_norm_grad_axis(%g: tensor<2x64xf32>, %x: tensor<2x64xf32>) -> tensor<64xf32> {
  // expected-error @+2 {{axis 2 is out of range for rank 2 (expected 0 <= axis < 2)}}
  // expected-error @+1 {{'pz.layer_norm_grad' op failed to infer returned types}}
  %0:3 = "pz.layer_norm_grad"(%g, %x) <{axis = 2 : i64, epsilon = 1.0e-05 : f64}> : (tensor<2x64xf32>, tensor<2x64xf32>) -> (tensor<2x64xf32>, tensor<64xf32>, tensor<64xf32>)
  return %0#1 : tensor<64xf32>
}

// -----

func.func @layer_norm_grad_input_type(%g: tensor<2x64xf32>, %x: tensor<2x32xf32>) -> tensor<32xf32> {
  // expected-error @+1 {{'pz.layer_norm_grad' op failed to verify that all of {grad, input, grad_input} have same type}}
  %0:3 = "pz.layer_norm_grad"(%g, %x) <{axis = 1 : i64, epsilon = 1.0e-05 : f64}> : (tensor<2x64xf32>, tensor<2x32xf32>) -> (tensor<2x32xf32>, tensor<32xf32>, tensor<32xf32>)
  return %0#1 : tensor<32xf32>
}

// -----

func.func @rms_norm_grad_scale_cotangent_shape(%g: tensor<2x64xf32>, %x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error @+2 {{'pz.rms_norm_grad' op inferred type(s) 'tensor<2x64xf32>', 'tensor<64xf32>' are incompatible with return type(s) of operation 'tensor<2x64xf32>', 'tensor<2x64xf32>'}}
  // expected-error @+1 {{'pz.rms_norm_grad' op failed to infer returned types}}
  %0:2 = "pz.rms_norm_grad"(%g, %x) <{axis = 1 : i64, epsilon = 1.0e-06 : f64}> : (tensor<2x64xf32>, tensor<2x64xf32>) -> (tensor<2x64xf32>, tensor<2x64xf32>)
  return %0#1 : tensor<2x64xf32>
}

// -----

func.func @reduce_max_grad_result_type(%g: tensor<4xf32>, %x: tensor<4x8xf32>) -> tensor<4x8xf64> {
  // expected-error @+1 {{'pz.reduce_max_grad' op failed to verify that all of {input, result} have same type}}
  %0 = "pz.reduce_max_grad"(%g, %x) <{axes = array<i64: 1>}> : (tensor<4xf32>, tensor<4x8xf32>) -> tensor<4x8xf64>
  return %0 : tensor<4x8xf64>
}

// -----

func.func @slice_grad_entry_counts(%g: tensor<4xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{'pz.slice_grad' op starts, ends and steps need one entry per dim}}
  %0 = pz.slice_grad %g [3, 3] starts [0] ends [4] steps [1] : tensor<4xf32> -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @slice_grad_rank(%g: tensor<4xf32>) -> tensor<4x4xf32> {
  // expected-error @+1 {{'pz.slice_grad' op grad has shape 4 but the forward result has shape 4x4}}
  %0 = pz.slice_grad %g [4, 4] starts [0, 0] ends [4, 4] steps [1, 1] : tensor<4xf32> -> tensor<4x4xf32>
  return %0 : tensor<4x4xf32>
}

// -----

func.func @slice_grad_negative_shape(%g: tensor<4xf32>) -> tensor<?xf32> {
  // expected-error @+1 {{'pz.slice_grad' op input_shape [-5] has a negative entry}}
  %0 = pz.slice_grad %g [-5] starts [0] ends [4] steps [1] : tensor<4xf32> -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

func.func @slice_grad_bad_slice(%g: tensor<4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'pz.slice_grad' op step 0 on dim 0 must be nonzero}}
  %0 = pz.slice_grad %g [3] starts [5] ends [1] steps [0] : tensor<4xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @slice_grad_end_past_size(%g: tensor<4xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'pz.slice_grad' op start 0, end 4, step 1 on dim 0 of size 3: a positive step needs 0 <= start <= end <= size}}
  %0 = pz.slice_grad %g [3] starts [0] ends [4] steps [1] : tensor<4xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// slice [1, 9) step 2 of 10 elements has 4 of them, not 5.
func.func @slice_grad_grad_shape(%g: tensor<5xf32>) -> tensor<10xf32> {
  // expected-error @+1 {{'pz.slice_grad' op grad has shape 5 but the forward result has shape 4}}
  %0 = pz.slice_grad %g [10] starts [1] ends [9] steps [2] : tensor<5xf32> -> tensor<10xf32>
  return %0 : tensor<10xf32>
}

// -----

func.func @slice_grad_negative_step_start_past_size(%g: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'pz.slice_grad' op start 3, end -1, step -1 on dim 0 of size 3: a negative step needs -1 <= end <= start <= size - 1}}
  %0 = pz.slice_grad %g [3] starts [3] ends [-1] steps [-1] : tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// start 9, end 0, step -3 of 10 elements takes 9, 6 and 3: three, not four.
func.func @slice_grad_negative_step_grad_shape(%g: tensor<4xf32>) -> tensor<10xf32> {
  // expected-error @+1 {{'pz.slice_grad' op grad has shape 4 but the forward result has shape 3}}
  %0 = pz.slice_grad %g [10] starts [9] ends [0] steps [-3] : tensor<4xf32> -> tensor<10xf32>
  return %0 : tensor<10xf32>
}

// -----

func.func @slice_grad_result_contradicts_shape(%g: tensor<4xf32>) -> tensor<9xf32> {
  // expected-error @+2 {{'pz.slice_grad' op inferred type(s) 'tensor<8xf32>' are incompatible with return type(s) of operation 'tensor<9xf32>'}}
  // expected-error @+1 {{'pz.slice_grad' op failed to infer returned types}}
  %0 = pz.slice_grad %g [8] starts [0] ends [4] steps [1] : tensor<4xf32> -> tensor<9xf32>
  return %0 : tensor<9xf32>
}

// -----

func.func @slice_grad_i4(%g: tensor<4xi4>) -> tensor<8xi4> {
  // expected-error @+1 {{'pz.slice_grad' op operand #0 must be ranked tensor of}}
  %0 = pz.slice_grad %g [8] starts [0] ends [4] steps [1] : tensor<4xi4> -> tensor<8xi4>
  return %0 : tensor<8xi4>
}

// -----

func.func @gather_grad_negative_shape(%g: tensor<3x4xf32>, %i: tensor<3xi64>) -> tensor<?x4xf32> {
  // expected-error @+1 {{'pz.gather_grad' op input_shape [-3, 4] has a negative entry}}
  %0 = pz.gather_grad %g, %i [-3, 4] {axis = 0 : i64} : tensor<3x4xf32>, tensor<3xi64> -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// gather(input [10, 4], indices [3], axis 0) has shape [3, 4], not [7, 9].
func.func @gather_grad_grad_shape(%g: tensor<7x9xf32>, %i: tensor<3xi64>) -> tensor<10x4xf32> {
  // expected-error @+1 {{'pz.gather_grad' op grad has shape 7x9 but the forward result has shape 3x4}}
  %0 = pz.gather_grad %g, %i [10, 4] {axis = 0 : i64} : tensor<7x9xf32>, tensor<3xi64> -> tensor<10x4xf32>
  return %0 : tensor<10x4xf32>
}

// -----

func.func @gather_grad_result_contradicts_shape(%g: tensor<3x4xf32>, %i: tensor<3xi64>) -> tensor<10x5xf32> {
  // expected-error @+2 {{'pz.gather_grad' op inferred type(s) 'tensor<10x4xf32>' are incompatible with return type(s) of operation 'tensor<10x5xf32>'}}
  // expected-error @+1 {{'pz.gather_grad' op failed to infer returned types}}
  %0 = pz.gather_grad %g, %i [10, 4] {axis = 0 : i64} : tensor<3x4xf32>, tensor<3xi64> -> tensor<10x5xf32>
  return %0 : tensor<10x5xf32>
}

// -----

func.func @gather_grad_int(%g: tensor<3x4xi32>, %i: tensor<3xi64>) -> tensor<10x4xi32> {
  // expected-error @+1 {{'pz.gather_grad' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<3x4xi32>'}}
  %0 = pz.gather_grad %g, %i [10, 4] {axis = 0 : i64} : tensor<3x4xi32>, tensor<3xi64> -> tensor<10x4xi32>
  return %0 : tensor<10x4xi32>
}

// -----

// The verifier reports a scalar grad before the shape rule does.
func.func @embedding_grad_scalar_grad(%g: tensor<f32>, %i: tensor<i64>) -> tensor<4x1xf32> {
  // expected-error @+1 {{'pz.embedding_grad' op grad has shape scalar but the forward result has shape 1}}
  %0 = pz.embedding_grad %g, %i {vocab = 4 : i64} : tensor<f32>, tensor<i64> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @embedding_grad_zero_vocab(%g: tensor<2x8xf32>, %i: tensor<2xi64>) -> tensor<0x8xf32> {
  // expected-error @+2 {{needs a grad of rank >= 1 and vocab >= 1}}
  // expected-error @+1 {{'pz.embedding_grad' op failed to infer returned types}}
  %0 = pz.embedding_grad %g, %i {vocab = 0 : i64} : tensor<2x8xf32>, tensor<2xi64> -> tensor<0x8xf32>
  return %0 : tensor<0x8xf32>
}

// -----

func.func @embedding_grad_grad_shape(%g: tensor<2x16x64xf32>, %i: tensor<2x8xi64>) -> tensor<256x64xf32> {
  // expected-error @+1 {{'pz.embedding_grad' op grad has shape 2x16x64 but the forward result has shape 2x8x64}}
  %0 = pz.embedding_grad %g, %i {vocab = 256 : i64} : tensor<2x16x64xf32>, tensor<2x8xi64> -> tensor<256x64xf32>
  return %0 : tensor<256x64xf32>
}

// -----

func.func @embedding_grad_result_vocab(%g: tensor<2x8xf32>, %i: tensor<2xi64>) -> tensor<5x8xf32> {
  // expected-error @+2 {{'pz.embedding_grad' op inferred type(s) 'tensor<4x8xf32>' are incompatible with return type(s) of operation 'tensor<5x8xf32>'}}
  // expected-error @+1 {{'pz.embedding_grad' op failed to infer returned types}}
  %0 = pz.embedding_grad %g, %i {vocab = 4 : i64} : tensor<2x8xf32>, tensor<2xi64> -> tensor<5x8xf32>
  return %0 : tensor<5x8xf32>
}

// -----

func.func @embedding_grad_float_ids(%g: tensor<2x8xf32>, %i: tensor<2xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'pz.embedding_grad' op operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<2xf32>'}}
  %0 = pz.embedding_grad %g, %i {vocab = 4 : i64} : tensor<2x8xf32>, tensor<2xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @reduce_max_grad_axis(%g: tensor<4xf32>, %x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{axis 7 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %0 = pz.reduce_max_grad %g, %x [7] : tensor<4xf32>, tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @reduce_max_grad_unsorted_axes(%g: tensor<f32>, %x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'pz.reduce_max_grad' op axes must be sorted and unique}}
  %0 = pz.reduce_max_grad %g, %x [1, 0] : tensor<f32>, tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @reduce_max_grad_grad_shape(%g: tensor<4xf32>, %x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'pz.reduce_max_grad' op grad has shape 4 but the forward result has shape 4x1}}
  %0 = pz.reduce_max_grad %g, %x [1] {keepdims} : tensor<4xf32>, tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @cross_entropy_grad_scalar_logits(%g: tensor<f32>, %l: tensor<f32>, %t: tensor<i64>) -> tensor<f32> {
  // expected-error @+1 {{'pz.cross_entropy_grad' op logits need a class dim}}
  %0 = pz.cross_entropy_grad %g, %l, %t mean : tensor<f32>, tensor<f32>, tensor<i64>
  return %0 : tensor<f32>
}

// -----

func.func @cross_entropy_grad_labels(%g: tensor<f32>, %l: tensor<2x16x256xf32>, %t: tensor<5xi64>) -> tensor<2x16x256xf32> {
  // expected-error @+1 {{'pz.cross_entropy_grad' op labels have shape 5 but the logits' token dims are 2x16}}
  %0 = pz.cross_entropy_grad %g, %l, %t mean : tensor<f32>, tensor<2x16x256xf32>, tensor<5xi64>
  return %0 : tensor<2x16x256xf32>
}

// -----

// With mean and sum the cotangent is a scalar.
func.func @cross_entropy_grad_mean_grad(%g: tensor<2x16xf32>, %l: tensor<2x16x256xf32>, %t: tensor<2x16xi64>) -> tensor<2x16x256xf32> {
  // expected-error @+1 {{'pz.cross_entropy_grad' op grad has shape 2x16 but the forward result has shape scalar}}
  %0 = pz.cross_entropy_grad %g, %l, %t mean : tensor<2x16xf32>, tensor<2x16x256xf32>, tensor<2x16xi64>
  return %0 : tensor<2x16x256xf32>
}

// -----

// With none it is per token.
func.func @cross_entropy_grad_none_grad(%g: tensor<f32>, %l: tensor<2x16x256xf32>, %t: tensor<2x16xi64>) -> tensor<2x16x256xf32> {
  // expected-error @+1 {{'pz.cross_entropy_grad' op grad has shape scalar but the forward result has shape 2x16}}
  %0 = pz.cross_entropy_grad %g, %l, %t none : tensor<f32>, tensor<2x16x256xf32>, tensor<2x16xi64>
  return %0 : tensor<2x16x256xf32>
}

// -----

func.func @cross_entropy_grad_result_type(%g: tensor<f32>, %l: tensor<2x8xf32>, %t: tensor<2xi64>) -> tensor<2x8xf16> {
  // expected-error @+1 {{'pz.cross_entropy_grad' op failed to verify that all of {logits, result} have same type}}
  %0 = "pz.cross_entropy_grad"(%g, %l, %t) <{reduction = 0 : i32, ignore_index = -100 : i64}> : (tensor<f32>, tensor<2x8xf32>, tensor<2xi64>) -> tensor<2x8xf16>
  return %0 : tensor<2x8xf16>
}

// -----

func.func @cross_entropy_grad_unknown_reduction(%g: tensor<f32>, %l: tensor<2x8xf32>, %t: tensor<2xi64>) -> tensor<2x8xf32> {
  // expected-error @+1 {{custom op 'pz.cross_entropy_grad' expected string or keyword containing one of the following enum values for attribute 'reduction' [mean, sum, none]}}
  %0 = pz.cross_entropy_grad %g, %l, %t avg : tensor<f32>, tensor<2x8xf32>, tensor<2xi64>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @attention_grad_value_cotangent(%g: tensor<1x1x2x4xf32>, %q: tensor<1x1x2x4xf32>) -> tensor<1x1x2x4xf32> {
  // expected-error @+1 {{'pz.attention_grad' op failed to verify that all of {value, grad_value} have same type}}
  %0:3 = "pz.attention_grad"(%g, %q, %q, %q) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 0, 0>}> : (tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>) -> (tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>, tensor<1x1x2x8xf32>)
  return %0#0 : tensor<1x1x2x4xf32>
}

// -----

func.func @attention_grad_rank(%g: tensor<7xf32>, %q: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'pz.attention_grad' op query, key and value must have rank 4}}
  %0:3 = pz.attention_grad %g, %q, %q, %q : tensor<7xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
  return %0#0 : tensor<3xf32>
}

// -----

// The forward shape rules apply to the forward operands.
func.func @attention_grad_forward_rule(%g: tensor<1x6x2x4xf32>, %q: tensor<1x6x2x4xf32>, %kv: tensor<1x4x2x4xf32>) -> tensor<1x6x2x4xf32> {
  // expected-error @+1 {{query heads (6) must be a multiple of key/value heads (4)}}
  %0:3 = pz.attention_grad %g, %q, %kv, %kv : tensor<1x6x2x4xf32>, tensor<1x6x2x4xf32>, tensor<1x4x2x4xf32>, tensor<1x4x2x4xf32>
  return %0#0 : tensor<1x6x2x4xf32>
}

// -----

func.func @attention_grad_grad_shape(%g: tensor<1x2x2x4xf32>, %q: tensor<1x2x2x8xf32>, %k: tensor<1x2x2x8xf32>, %v: tensor<1x2x2x16xf32>) -> tensor<1x2x2x8xf32> {
  // expected-error @+1 {{'pz.attention_grad' op grad has shape 1x2x2x4 but the forward result has shape 1x2x2x16}}
  %0:3 = pz.attention_grad %g, %q, %k, %v : tensor<1x2x2x4xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x8xf32>, tensor<1x2x2x16xf32>
  return %0#0 : tensor<1x2x2x8xf32>
}

// -----

func.func @attention_grad_int_mask(%g: tensor<1x1x2x4xf32>, %m: tensor<2x2xi32>) -> tensor<1x1x2x4xf32> {
  // expected-error @+1 {{'pz.attention_grad' op operand #4 must be ranked tensor of 1-bit signless integer or 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<2x2xi32>'}}
  %0:3 = pz.attention_grad %g, %g, %g, %g mask(%m : tensor<2x2xi32>) : tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>, tensor<1x1x2x4xf32>
  return %0#0 : tensor<1x1x2x4xf32>
}
