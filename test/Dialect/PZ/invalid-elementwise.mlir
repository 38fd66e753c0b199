// RUN: parallelize-opt %s -split-input-file -verify-diagnostics

// Verifier and shape-rule errors of the elementwise ops (binary, unary,
// gelu), softmax / log_softmax, the reductions and dropout.
//
// A failed shape rule reports why, then "failed to infer returned types".

//===----------------------------------------------------------------------===//
// Binary ops
//===----------------------------------------------------------------------===//

func.func @add_mixed_element_types(%a: tensor<2xf32>, %b: tensor<2xi32>) -> tensor<2xf32> {
  // expected-error @+1 {{'pz.add' op failed to verify that all of {lhs, rhs, result} have same element type}}
  %0 = pz.add %a, %b : tensor<2xf32>, tensor<2xi32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @add_result_element_type(%a: tensor<2xf32>) -> tensor<2xf16> {
  // expected-error @+1 {{'pz.add' op failed to verify that all of {lhs, rhs, result} have same element type}}
  %0 = pz.add %a, %a : tensor<2xf32>, tensor<2xf32> -> tensor<2xf16>
  return %0 : tensor<2xf16>
}

// -----

func.func @add_i1(%a: tensor<2xi1>) -> tensor<2xi1> {
  // expected-error @+1 {{'pz.add' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float or 8-bit signless integer or 16-bit signless integer or 32-bit signless integer or 64-bit signless integer or 8-bit unsigned integer or 16-bit unsigned integer or 32-bit unsigned integer or 64-bit unsigned integer values, but got 'tensor<2xi1>'}}
  %0 = pz.add %a, %a : tensor<2xi1>, tensor<2xi1> -> tensor<2xi1>
  return %0 : tensor<2xi1>
}

// -----

func.func @add_unsigned_and_signless(%a: tensor<2xui8>, %b: tensor<2xi8>) -> tensor<2xui8> {
  // expected-error @+1 {{'pz.add' op failed to verify that all of {lhs, rhs, result} have same element type}}
  %0 = pz.add %a, %b : tensor<2xui8>, tensor<2xi8> -> tensor<2xui8>
  return %0 : tensor<2xui8>
}

// -----

func.func @add_ui8_ui16(%a: tensor<2xui8>, %b: tensor<2xui16>) -> tensor<2xui8> {
  // expected-error @+1 {{'pz.add' op failed to verify that all of {lhs, rhs, result} have same element type}}
  %0 = pz.add %a, %b : tensor<2xui8>, tensor<2xui16> -> tensor<2xui8>
  return %0 : tensor<2xui8>
}

// -----

func.func @exp_ui8(%a: tensor<2xui8>) -> tensor<2xui8> {
  // expected-error @+1 {{'pz.exp' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<2xui8>'}}
  %0 = pz.exp %a : tensor<2xui8>
  return %0 : tensor<2xui8>
}

// -----

func.func @pow_ui32(%a: tensor<2xui32>) -> tensor<2xui32> {
  // expected-error @+1 {{'pz.pow' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<2xui32>'}}
  %0 = pz.pow %a, %a : tensor<2xui32>, tensor<2xui32> -> tensor<2xui32>
  return %0 : tensor<2xui32>
}

// -----

func.func @add_si32(%a: tensor<2xsi32>) -> tensor<2xsi32> {
  // expected-error @+1 {{'pz.add' op operand #0 must be ranked tensor of}}
  %0 = pz.add %a, %a : tensor<2xsi32>, tensor<2xsi32> -> tensor<2xsi32>
  return %0 : tensor<2xsi32>
}

// -----

func.func @add_i4(%a: tensor<2xi4>) -> tensor<2xi4> {
  // expected-error @+1 {{'pz.add' op operand #0 must be ranked tensor of}}
  %0 = pz.add %a, %a : tensor<2xi4>, tensor<2xi4> -> tensor<2xi4>
  return %0 : tensor<2xi4>
}

// -----

func.func @add_unranked_custom(%a: tensor<*xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{custom op 'pz.add' invalid kind of type specified: expected builtin.tensor, but found 'tensor<*xf32>'}}
  %0 = pz.add %a, %a : tensor<*xf32>, tensor<*xf32> -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @add_unranked_generic(%a: tensor<*xf32>) -> tensor<*xf32> {
  // expected-error @+1 {{'pz.add' op operand #0 must be ranked tensor of}}
  %0 = "pz.add"(%a, %a) : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  return %0 : tensor<*xf32>
}

// -----

func.func @add_vector(%a: vector<2xf32>) -> vector<2xf32> {
  // expected-error @+1 {{custom op 'pz.add' invalid kind of type specified: expected builtin.tensor, but found 'vector<2xf32>'}}
  %0 = pz.add %a, %a : vector<2xf32>, vector<2xf32> -> vector<2xf32>
  return %0 : vector<2xf32>
}

// -----

func.func @sub_no_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{shapes 2x3 and 4 do not broadcast}}
  // expected-error @+1 {{'pz.sub' op failed to infer returned types}}
  %0 = pz.sub %a, %b : tensor<2x3xf32>, tensor<4xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @div_no_broadcast_dynamic(%a: tensor<?x3xf32>, %b: tensor<4xf32>) -> tensor<?x3xf32> {
  // expected-error @+2 {{shapes ?x3 and 4 do not broadcast}}
  // expected-error @+1 {{'pz.div' op failed to infer returned types}}
  %0 = pz.div %a, %b : tensor<?x3xf32>, tensor<4xf32> -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

func.func @mul_result_contradicts_inference(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<3x3xf32> {
  // expected-error @+2 {{'pz.mul' op inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<3x3xf32>'}}
  // expected-error @+1 {{'pz.mul' op failed to infer returned types}}
  %0 = pz.mul %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @div_result_rank(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+2 {{'pz.div' op inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<3xf32>'}}
  // expected-error @+1 {{'pz.div' op failed to infer returned types}}
  %0 = pz.div %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @pow_int(%a: tensor<2xi32>) -> tensor<2xi32> {
  // expected-error @+1 {{'pz.pow' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<2xi32>'}}
  %0 = pz.pow %a, %a : tensor<2xi32>, tensor<2xi32> -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

//===----------------------------------------------------------------------===//
// Unary ops and gelu
//===----------------------------------------------------------------------===//

func.func @exp_int(%a: tensor<2xi32>) -> tensor<2xi32> {
  // expected-error @+1 {{'pz.exp' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<2xi32>'}}
  %0 = pz.exp %a : tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

func.func @silu_int_generic(%a: tensor<2xi64>) -> tensor<2xi64> {
  // expected-error @+1 {{'pz.silu' op operand #0 must be ranked tensor of 16-bit float}}
  %0 = "pz.silu"(%a) : (tensor<2xi64>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

func.func @neg_i1(%a: tensor<2xi1>) -> tensor<2xi1> {
  // expected-error @+1 {{'pz.neg' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float or 8-bit signless integer or 16-bit signless integer or 32-bit signless integer or 64-bit signless integer or 8-bit unsigned integer or 16-bit unsigned integer or 32-bit unsigned integer or 64-bit unsigned integer values, but got 'tensor<2xi1>'}}
  %0 = pz.neg %a : tensor<2xi1>
  return %0 : tensor<2xi1>
}

// -----

func.func @relu_result_shape(%a: tensor<2xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'pz.relu' op requires the same type for all operands and results}}
  %0 = "pz.relu"(%a) : (tensor<2xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @tanh_result_element_type(%a: tensor<2xf32>) -> tensor<2xf16> {
  // expected-error @+1 {{'pz.tanh' op requires the same type for all operands and results}}
  %0 = "pz.tanh"(%a) : (tensor<2xf32>) -> tensor<2xf16>
  return %0 : tensor<2xf16>
}

// -----

func.func @gelu_unknown_form(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{custom op 'pz.gelu' expected string or keyword containing one of the following enum values for attribute 'approximate' [erf, tanh]}}
  %0 = pz.gelu %a sigmoid : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @gelu_bad_enum_value(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{invalid properties {approximate = 7 : i32} for op pz.gelu: Invalid attribute `approximate` in property conversion: 7 : i32}}
  %0 = "pz.gelu"(%a) <{approximate = 7 : i32}> : (tensor<2xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @gelu_int(%a: tensor<2xi64>) -> tensor<2xi64> {
  // expected-error @+1 {{'pz.gelu' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<2xi64>'}}
  %0 = pz.gelu %a erf : tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

//===----------------------------------------------------------------------===//
// softmax, log_softmax
//===----------------------------------------------------------------------===//

func.func @softmax_axis_too_large(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{axis 2 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %0 = pz.softmax %a {axis = 2 : i64} : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @log_softmax_negative_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{axis -1 is out of range for rank 2 (expected 0 <= axis < 2)}}
  %0 = pz.log_softmax %a {axis = -1 : i64} : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @softmax_scalar(%a: tensor<f32>) -> tensor<f32> {
  // expected-error @+1 {{axis 0 is out of range for rank 0 (expected 0 <= axis < 0)}}
  %0 = pz.softmax %a {axis = 0 : i64} : tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @softmax_missing_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'pz.softmax' op requires attribute 'axis'}}
  %0 = pz.softmax %a : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @softmax_i32_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{attribute 'axis' failed to satisfy constraint: 64-bit signless integer attribute}}
  %0 = pz.softmax %a {axis = 1 : i32} : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @log_softmax_int(%a: tensor<2x3xi32>) -> tensor<2x3xi32> {
  // expected-error @+1 {{'pz.log_softmax' op operand #0 must be ranked tensor of 16-bit float}}
  %0 = pz.log_softmax %a {axis = 1 : i64} : tensor<2x3xi32>
  return %0 : tensor<2x3xi32>
}

// -----

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

func.func @reduce_no_axes(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{expects at least one axis to reduce}}
  // expected-error @+1 {{'pz.reduce_sum' op failed to infer returned types}}
  %0 = pz.reduce_sum %a [] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @reduce_axis_too_large(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+2 {{axis 2 is out of range for rank 2 (expected 0 <= axis < 2)}}
  // expected-error @+1 {{'pz.reduce_max' op failed to infer returned types}}
  %0 = pz.reduce_max %a [2] : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @reduce_negative_axis(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+2 {{axis -1 is out of range for rank 2}}
  // expected-error @+1 {{'pz.reduce_mean' op failed to infer returned types}}
  %0 = pz.reduce_mean %a [-1] : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @reduce_unsorted_axes(%a: tensor<2x3xf32>) -> tensor<f32> {
  // expected-error @+2 {{axes must be sorted and unique, got [1, 0]}}
  // expected-error @+1 {{'pz.reduce_sum' op failed to infer returned types}}
  %0 = pz.reduce_sum %a [1, 0] : tensor<2x3xf32> -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @reduce_duplicate_axes(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+2 {{axes must be sorted and unique, got [1, 1]}}
  // expected-error @+1 {{'pz.reduce_sum' op failed to infer returned types}}
  %0 = pz.reduce_sum %a [1, 1] : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @reduce_keepdims_result(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error @+2 {{'pz.reduce_sum' op inferred type(s) 'tensor<2x1xf32>' are incompatible with return type(s) of operation 'tensor<2xf32>'}}
  // expected-error @+1 {{'pz.reduce_sum' op failed to infer returned types}}
  %0 = pz.reduce_sum %a [1] {keepdims} : tensor<2x3xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @reduce_no_keepdims_result(%a: tensor<2x3xf32>) -> tensor<2x1xf32> {
  // expected-error @+2 {{'pz.reduce_max' op inferred type(s) 'tensor<2xf32>' are incompatible with return type(s) of operation 'tensor<2x1xf32>'}}
  // expected-error @+1 {{'pz.reduce_max' op failed to infer returned types}}
  %0 = pz.reduce_max %a [1] : tensor<2x3xf32> -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// -----

func.func @reduce_mean_int(%a: tensor<2x3xi32>) -> tensor<2xi32> {
  // expected-error @+1 {{'pz.reduce_mean' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<2x3xi32>'}}
  %0 = pz.reduce_mean %a [1] : tensor<2x3xi32> -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

func.func @reduce_result_element_type(%a: tensor<2x3xf32>) -> tensor<2xf64> {
  // expected-error @+1 {{'pz.reduce_sum' op failed to verify that all of {input, result} have same element type}}
  %0 = pz.reduce_sum %a [1] : tensor<2x3xf32> -> tensor<2xf64>
  return %0 : tensor<2xf64>
}

// -----

func.func @reduce_max_i1(%a: tensor<2x3xi1>) -> tensor<2xi1> {
  // expected-error @+1 {{'pz.reduce_max' op operand #0 must be ranked tensor of}}
  %0 = pz.reduce_max %a [1] : tensor<2x3xi1> -> tensor<2xi1>
  return %0 : tensor<2xi1>
}

// -----

//===----------------------------------------------------------------------===//
// dropout
//===----------------------------------------------------------------------===//

func.func @dropout_rate_one(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'pz.dropout' op rate must satisfy 0 <= rate < 1, got 1.000000e+00}}
  %0 = pz.dropout %a {rate = 1.0 : f64, seed = 0 : i64} : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @dropout_block_without_shape(%a: tensor<2x4xf32>, %k: tensor<4xi64>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'pz.dropout' op indices, global_shape and split_dims come together}}
  %0 = pz.dropout %a indices(%k : tensor<4xi64>) {rate = 0.5 : f64, seed = 0 : i64, split_dims = array<i64: 1>} : tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @dropout_block_too_long(%a: tensor<2x3xf32>, %k: tensor<3xi64>) -> tensor<2x3xf32> {
  // expected-error @+1 {{'pz.dropout' op the input's dim 1 (3) is not a block of global_shape's (2)}}
  %0 = pz.dropout %a indices(%k : tensor<3xi64>) {global_shape = array<i64: 2, 2>, rate = 0.5 : f64, seed = 0 : i64, split_dims = array<i64: 1>} : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @dropout_block_empty(%a: tensor<2x0xf32>, %k: tensor<2xi64>) -> tensor<2x0xf32> {
  // expected-error @+1 {{'pz.dropout' op a split input must be static and not empty, of the rank of global_shape (2)}}
  %0 = pz.dropout %a indices(%k : tensor<2xi64>) {global_shape = array<i64: 4, 0>, rate = 0.5 : f64, seed = 0 : i64, split_dims = array<i64: 0>} : tensor<2x0xf32>
  return %0 : tensor<2x0xf32>
}

// -----

func.func @dropout_block_other_dim(%a: tensor<2x4xf32>, %k: tensor<4xi64>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'pz.dropout' op the input's dim 0 (2) is not a block of global_shape's (4)}}
  %0 = pz.dropout %a indices(%k : tensor<4xi64>) {global_shape = array<i64: 4, 8>, rate = 0.5 : f64, seed = 0 : i64, split_dims = array<i64: 1>} : tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @dropout_block_index_count(%a: tensor<2x4xf32>, %k: tensor<2xi64>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'pz.dropout' op indices 0 has 2 entries for the input's dim 1 of 4}}
  %0 = pz.dropout %a indices(%k : tensor<2xi64>) {global_shape = array<i64: 2, 8>, rate = 0.5 : f64, seed = 0 : i64, split_dims = array<i64: 1>} : tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @dropout_block_dims_order(%a: tensor<2x4xf32>, %i: tensor<2xi64>, %k: tensor<4xi64>) -> tensor<2x4xf32> {
  // expected-error @+1 {{'pz.dropout' op split_dims must increase within the input's dims, got 0}}
  %0 = pz.dropout %a indices(%k, %i : tensor<4xi64>, tensor<2xi64>) {global_shape = array<i64: 4, 8>, rate = 0.5 : f64, seed = 0 : i64, split_dims = array<i64: 1, 0>} : tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @dropout_negative_rate(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'pz.dropout' op rate must satisfy 0 <= rate < 1, got -5.000000e-01}}
  %0 = pz.dropout %a {rate = -0.5 : f64, seed = 0 : i64} : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @dropout_nan_rate(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'pz.dropout' op rate must satisfy 0 <= rate < 1, got nan}}
  %0 = pz.dropout %a {rate = 0x7FF8000000000000 : f64, seed = 0 : i64} : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @dropout_missing_seed(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{'pz.dropout' op requires attribute 'seed'}}
  %0 = pz.dropout %a {rate = 0.5 : f64} : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @dropout_f32_rate(%a: tensor<2xf32>) -> tensor<2xf32> {
  // expected-error @+1 {{attribute 'rate' failed to satisfy constraint: 64-bit float attribute}}
  %0 = pz.dropout %a {rate = 0.5 : f32, seed = 0 : i64} : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @dropout_int(%a: tensor<2xi32>) -> tensor<2xi32> {
  // expected-error @+1 {{'pz.dropout' op operand #0 must be ranked tensor of 16-bit float}}
  %0 = pz.dropout %a {rate = 0.5 : f64, seed = 0 : i64} : tensor<2xi32>
  return %0 : tensor<2xi32>
}
