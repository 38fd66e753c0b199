// RUN: parallelize-opt %s -split-input-file -verify-diagnostics

// Verifier and shape-rule errors of gather, embedding, where, cast and
// constant.

//===----------------------------------------------------------------------===//
// gather, embedding, where
//===----------------------------------------------------------------------===//

func.func @gather_axis_out_of_range(%a: tensor<10x4xf32>, %i: tensor<3xi64>) -> tensor<10x3xf32> {
  // expected-error @+2 {{axis 2 is out of range for rank 2 (expected 0 <= axis < 2)}}
  // expected-error @+1 {{'pz.gather' op failed to infer returned types}}
  %0 = pz.gather %a, %i {axis = 2 : i64} : tensor<10x4xf32>, tensor<3xi64> -> tensor<10x3xf32>
  return %0 : tensor<10x3xf32>
}

// -----

func.func @gather_float_indices(%a: tensor<10x4xf32>, %i: tensor<3xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{'pz.gather' op operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<3xf32>'}}
  %0 = pz.gather %a, %i {axis = 0 : i64} : tensor<10x4xf32>, tensor<3xf32> -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// Indices, ids and labels are signless (ONNX's int32/int64 indices); an
// unsigned tensor is data.
func.func @gather_unsigned_indices(%a: tensor<10x4xui8>, %i: tensor<3xui32>) -> tensor<3x4xui8> {
  // expected-error @+1 {{'pz.gather' op operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<3xui32>'}}
  %0 = pz.gather %a, %i {axis = 0 : i64} : tensor<10x4xui8>, tensor<3xui32> -> tensor<3x4xui8>
  return %0 : tensor<3x4xui8>
}

// -----

func.func @gather_result_element_type(%a: tensor<10x4xf32>, %i: tensor<3xi64>) -> tensor<3x4xi64> {
  // expected-error @+1 {{'pz.gather' op failed to verify that all of {input, result} have same element type}}
  %0 = pz.gather %a, %i {axis = 0 : i64} : tensor<10x4xf32>, tensor<3xi64> -> tensor<3x4xi64>
  return %0 : tensor<3x4xi64>
}

// -----

func.func @gather_result_shape(%a: tensor<10x4xf32>, %i: tensor<2x3xi64>) -> tensor<6x4xf32> {
  // expected-error @+2 {{'pz.gather' op inferred type(s) 'tensor<2x3x4xf32>' are incompatible with return type(s) of operation 'tensor<6x4xf32>'}}
  // expected-error @+1 {{'pz.gather' op failed to infer returned types}}
  %0 = pz.gather %a, %i {axis = 0 : i64} : tensor<10x4xf32>, tensor<2x3xi64> -> tensor<6x4xf32>
  return %0 : tensor<6x4xf32>
}

// -----

func.func @embedding_table_rank(%t: tensor<4x256x64xf32>, %ids: tensor<2xi64>) -> tensor<2x64xf32> {
  // expected-error @+2 {{table must have rank 2 (vocab x dim), got 'tensor<4x256x64xf32>'}}
  // expected-error @+1 {{'pz.embedding' op failed to infer returned types}}
  %0 = pz.embedding %t, %ids : tensor<4x256x64xf32>, tensor<2xi64> -> tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

func.func @embedding_float_ids(%t: tensor<256x64xf32>, %ids: tensor<2xf32>) -> tensor<2x64xf32> {
  // expected-error @+1 {{'pz.embedding' op operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<2xf32>'}}
  %0 = pz.embedding %t, %ids : tensor<256x64xf32>, tensor<2xf32> -> tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

func.func @embedding_int_table(%t: tensor<256x64xi32>, %ids: tensor<2xi64>) -> tensor<2x64xi32> {
  // expected-error @+1 {{'pz.embedding' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values, but got 'tensor<256x64xi32>'}}
  %0 = pz.embedding %t, %ids : tensor<256x64xi32>, tensor<2xi64> -> tensor<2x64xi32>
  return %0 : tensor<2x64xi32>
}

// -----

func.func @embedding_padding_idx_past_vocab(%t: tensor<256x64xf32>, %ids: tensor<2xi64>) -> tensor<2x64xf32> {
  // expected-error @+1 {{'pz.embedding' op padding_idx 256 is not a row of the table (vocabulary 256)}}
  %0 = pz.embedding %t, %ids {padding_idx = 256 : i64} : tensor<256x64xf32>, tensor<2xi64> -> tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

func.func @embedding_padding_idx_negative(%t: tensor<256x64xf32>, %ids: tensor<2xi64>) -> tensor<2x64xf32> {
  // expected-error @+1 {{'pz.embedding' op padding_idx -1 is not a row of the table (vocabulary 256)}}
  %0 = pz.embedding %t, %ids {padding_idx = -1 : i64} : tensor<256x64xf32>, tensor<2xi64> -> tensor<2x64xf32>
  return %0 : tensor<2x64xf32>
}

// -----

func.func @embedding_result_dim(%t: tensor<256x64xf32>, %ids: tensor<2xi64>) -> tensor<2x256xf32> {
  // expected-error @+2 {{'pz.embedding' op inferred type(s) 'tensor<2x64xf32>' are incompatible with return type(s) of operation 'tensor<2x256xf32>'}}
  // expected-error @+1 {{'pz.embedding' op failed to infer returned types}}
  %0 = pz.embedding %t, %ids : tensor<256x64xf32>, tensor<2xi64> -> tensor<2x256xf32>
  return %0 : tensor<2x256xf32>
}

// -----

func.func @where_float_condition(%c: tensor<4xf32>, %a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'pz.where' op operand #0 must be ranked tensor of 1-bit signless integer values, but got 'tensor<4xf32>'}}
  %0 = pz.where %c, %a, %a : tensor<4xf32>, tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @where_branch_element_types(%c: tensor<4xi1>, %a: tensor<4xf32>, %b: tensor<4xf16>) -> tensor<4xf32> {
  // expected-error @+1 {{'pz.where' op failed to verify that all of {on_true, on_false, result} have same element type}}
  %0 = pz.where %c, %a, %b : tensor<4xi1>, tensor<4xf32>, tensor<4xf16> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @where_branches_do_not_broadcast(%c: tensor<4xi1>, %a: tensor<4xf32>, %b: tensor<3xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{shapes 4 and 3 do not broadcast}}
  // expected-error @+1 {{'pz.where' op failed to infer returned types}}
  %0 = pz.where %c, %a, %b : tensor<4xi1>, tensor<4xf32>, tensor<3xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @where_condition_does_not_broadcast(%c: tensor<5x1xi1>, %a: tensor<2x4xf32>, %b: tensor<f32>) -> tensor<2x4xf32> {
  // expected-error @+2 {{shapes 5x1 and 2x4 do not broadcast}}
  // expected-error @+1 {{'pz.where' op failed to infer returned types}}
  %0 = pz.where %c, %a, %b : tensor<5x1xi1>, tensor<2x4xf32>, tensor<f32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @where_result_shape(%c: tensor<3x4xi1>, %a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+2 {{'pz.where' op inferred type(s) 'tensor<3x4xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>'}}
  // expected-error @+1 {{'pz.where' op failed to infer returned types}}
  %0 = pz.where %c, %a, %a : tensor<3x4xi1>, tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

//===----------------------------------------------------------------------===//
// cast, constant
//===----------------------------------------------------------------------===//

func.func @cast_to_i4(%a: tensor<4xf32>) -> tensor<4xi4> {
  // expected-error @+1 {{'pz.cast' op attribute 'dtype' failed to satisfy constraint: type attribute of 16-bit float or bfloat16 type or 32-bit float or 64-bit float or 8-bit signless integer or 16-bit signless integer or 32-bit signless integer or 64-bit signless integer or 8-bit unsigned integer or 16-bit unsigned integer or 32-bit unsigned integer or 64-bit unsigned integer or 1-bit signless integer}}
  %0 = pz.cast %a : tensor<4xf32> to i4
  return %0 : tensor<4xi4>
}

// -----

func.func @cast_to_index(%a: tensor<4xf32>) -> tensor<4xindex> {
  // expected-error @+1 {{'pz.cast' op attribute 'dtype' failed to satisfy constraint: type attribute of}}
  %0 = pz.cast %a : tensor<4xf32> to index
  return %0 : tensor<4xindex>
}

// -----

func.func @cast_result_contradicts_dtype(%a: tensor<4xf32>) -> tensor<4xf16> {
  // expected-error @+2 {{'pz.cast' op inferred type(s) 'tensor<4xbf16>' are incompatible with return type(s) of operation 'tensor<4xf16>'}}
  // expected-error @+1 {{'pz.cast' op failed to infer returned types}}
  %0 = "pz.cast"(%a) <{dtype = bf16}> : (tensor<4xf32>) -> tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

func.func @cast_result_shape(%a: tensor<4xf32>) -> tensor<5xf16> {
  // expected-error @+2 {{'pz.cast' op inferred type(s) 'tensor<4xf16>' are incompatible with return type(s) of operation 'tensor<5xf16>'}}
  // expected-error @+1 {{'pz.cast' op failed to infer returned types}}
  %0 = "pz.cast"(%a) <{dtype = f16}> : (tensor<4xf32>) -> tensor<5xf16>
  return %0 : tensor<5xf16>
}

// -----

func.func @cast_missing_dtype(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'pz.cast' op requires attribute 'dtype'}}
  %0 = "pz.cast"(%a) : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @constant_not_elements() -> tensor<f32> {
  // expected-error @+1 {{'pz.constant' op value must be an elements attribute such as dense<...>, got 1.000000e+00 : f32}}
  %0 = "pz.constant"() <{value = 1.0 : f32}> : () -> tensor<f32>
  return %0 : tensor<f32>
}

// -----

func.func @constant_scalar_type() -> f32 {
  // expected-error @+1 {{'pz.constant' op result #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float or 8-bit signless integer or 16-bit signless integer or 32-bit signless integer or 64-bit signless integer or 8-bit unsigned integer or 16-bit unsigned integer or 32-bit unsigned integer or 64-bit unsigned integer or 1-bit signless integer values, but got 'f32'}}
  %0 = pz.constant 1.0 : f32
  return %0 : f32
}

// -----

func.func @constant_i4() -> tensor<2xi4> {
  // expected-error @+1 {{'pz.constant' op result #0 must be ranked tensor of}}
  %0 = pz.constant dense<[1, 2]> : tensor<2xi4>
  return %0 : tensor<2xi4>
}

// -----

func.func @constant_result_type_differs() -> tensor<3xf32> {
  // expected-error @+2 {{'pz.constant' op inferred type(s) 'tensor<2xf32>' are incompatible with return type(s) of operation 'tensor<3xf32>'}}
  // expected-error @+1 {{'pz.constant' op failed to infer returned types}}
  %0 = "pz.constant"() <{value = dense<[1.0, 2.0]> : tensor<2xf32>}> : () -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @constant_missing_value() -> tensor<2xf32> {
  // expected-error @+1 {{'pz.constant' op requires attribute 'value'}}
  %0 = "pz.constant"() : () -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
