// RUN: parallelize-opt %s -split-input-file -verify-diagnostics

// Verifier and shape-rule errors of reshape, transpose, broadcast, slice
// and concat.

//===----------------------------------------------------------------------===//
// reshape
//===----------------------------------------------------------------------===//

func.func @reshape_two_inferred_dims(%a: tensor<2x3x4xf32>) -> tensor<?x?xf32> {
  // expected-error @+2 {{shape [-1, -1] has more than one -1}}
  // expected-error @+1 {{'pz.reshape' op failed to infer returned types}}
  %0 = pz.reshape %a [-1, -1] : tensor<2x3x4xf32> -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// -----

func.func @reshape_zero_entry(%a: tensor<2x3xf32>) -> tensor<0x6xf32> {
  // expected-error @+2 {{cannot reshape 2x3 (6 elements) into [0, 6] (0 elements)}}
  // expected-error @+1 {{'pz.reshape' op failed to infer returned types}}
  %0 = pz.reshape %a [0, 6] : tensor<2x3xf32> -> tensor<0x6xf32>
  return %0 : tensor<0x6xf32>
}

// -----

func.func @reshape_zero_entry_with_minus_one(%a: tensor<0x3xf32>) -> tensor<?x0xf32> {
  // expected-error @+2 {{shape [-1, 0] has a 0 entry: its -1 cannot be inferred}}
  // expected-error @+1 {{'pz.reshape' op failed to infer returned types}}
  %0 = pz.reshape %a [-1, 0] : tensor<0x3xf32> -> tensor<?x0xf32>
  return %0 : tensor<?x0xf32>
}

// -----

func.func @reshape_negative_entry(%a: tensor<2x3xf32>) -> tensor<?x3xf32> {
  // expected-error @+2 {{shape [-2, 3] has entry -2; entries are sizes (>= 0) or a single -1}}
  // expected-error @+1 {{'pz.reshape' op failed to infer returned types}}
  %0 = pz.reshape %a [-2, 3] : tensor<2x3xf32> -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

func.func @reshape_inferred_dim_not_exact(%a: tensor<2x3xf32>) -> tensor<?x4xf32> {
  // expected-error @+2 {{cannot reshape 6 elements into [-1, 4]}}
  // expected-error @+1 {{'pz.reshape' op failed to infer returned types}}
  %0 = pz.reshape %a [-1, 4] : tensor<2x3xf32> -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

func.func @reshape_element_count(%a: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @+2 {{cannot reshape 2x3 (6 elements) into [7] (7 elements)}}
  // expected-error @+1 {{'pz.reshape' op failed to infer returned types}}
  %0 = pz.reshape %a [7] : tensor<2x3xf32> -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @reshape_scalar_to_many(%a: tensor<f32>) -> tensor<2xf32> {
  // expected-error @+2 {{cannot reshape scalar (1 elements) into [2] (2 elements)}}
  // expected-error @+1 {{'pz.reshape' op failed to infer returned types}}
  %0 = pz.reshape %a [2] : tensor<f32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// The product of the entries must not overflow int64.
func.func @reshape_product_overflows(%x: tensor<8xf32>) -> tensor<?x4611686018427387904x4xf32> {
  // expected-error @+2 {{shape [-1, 4611686018427387904, 4] has more elements than int64 can count}}
  // expected-error @+1 {{'pz.reshape' op failed to infer returned types}}
  %0 = pz.reshape %x [-1, 4611686018427387904, 4] : tensor<8xf32> -> tensor<?x4611686018427387904x4xf32>
  return %0 : tensor<?x4611686018427387904x4xf32>
}

// -----

func.func @reshape_result_contradicts_shape(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{'pz.reshape' op inferred type(s) 'tensor<6xf32>' are incompatible with return type(s) of operation 'tensor<3x2xf32>'}}
  // expected-error @+1 {{'pz.reshape' op failed to infer returned types}}
  %0 = pz.reshape %a [6] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @reshape_result_contradicts_inferred_dim(%a: tensor<2x3x4xf32>) -> tensor<2x10xf32> {
  // expected-error @+2 {{'pz.reshape' op inferred type(s) 'tensor<2x12xf32>' are incompatible with return type(s) of operation 'tensor<2x10xf32>'}}
  // expected-error @+1 {{'pz.reshape' op failed to infer returned types}}
  %0 = pz.reshape %a [2, -1] : tensor<2x3x4xf32> -> tensor<2x10xf32>
  return %0 : tensor<2x10xf32>
}

// -----

func.func @reshape_element_type(%a: tensor<2x3xf32>) -> tensor<6xf16> {
  // expected-error @+1 {{'pz.reshape' op failed to verify that all of {input, result} have same element type}}
  %0 = pz.reshape %a [6] : tensor<2x3xf32> -> tensor<6xf16>
  return %0 : tensor<6xf16>
}

// -----

func.func @reshape_i4(%a: tensor<6xi4>) -> tensor<2x3xi4> {
  // expected-error @+1 {{'pz.reshape' op operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float or 8-bit signless integer or 16-bit signless integer or 32-bit signless integer or 64-bit signless integer or 8-bit unsigned integer or 16-bit unsigned integer or 32-bit unsigned integer or 64-bit unsigned integer or 1-bit signless integer values, but got 'tensor<6xi4>'}}
  %0 = pz.reshape %a [2, 3] : tensor<6xi4> -> tensor<2x3xi4>
  return %0 : tensor<2x3xi4>
}

// -----

//===----------------------------------------------------------------------===//
// transpose
//===----------------------------------------------------------------------===//

func.func @transpose_wrong_length(%a: tensor<2x3x4xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{permutation [1, 0] has 2 entries for rank 3}}
  // expected-error @+1 {{'pz.transpose' op failed to infer returned types}}
  %0 = pz.transpose %a [1, 0] : tensor<2x3x4xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @transpose_repeated_dim(%a: tensor<2x3xf32>) -> tensor<2x2xf32> {
  // expected-error @+2 {{permutation [0, 0] is not a permutation of 0..1}}
  // expected-error @+1 {{'pz.transpose' op failed to infer returned types}}
  %0 = pz.transpose %a [0, 0] : tensor<2x3xf32> -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

func.func @transpose_dim_out_of_range(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{permutation [2, 0] is not a permutation of 0..1}}
  // expected-error @+1 {{'pz.transpose' op failed to infer returned types}}
  %0 = pz.transpose %a [2, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @transpose_negative_dim(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+2 {{permutation [-1, 0] is not a permutation of 0..1}}
  // expected-error @+1 {{'pz.transpose' op failed to infer returned types}}
  %0 = pz.transpose %a [-1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @transpose_result_not_permuted(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+2 {{'pz.transpose' op inferred type(s) 'tensor<3x2xf32>' are incompatible with return type(s) of operation 'tensor<2x3xf32>'}}
  // expected-error @+1 {{'pz.transpose' op failed to infer returned types}}
  %0 = pz.transpose %a [1, 0] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// broadcast
//===----------------------------------------------------------------------===//

func.func @broadcast_to_lower_rank(%a: tensor<2x3xf32>) -> tensor<3xf32> {
  // expected-error @+2 {{cannot broadcast rank 2 to the lower rank 1}}
  // expected-error @+1 {{'pz.broadcast' op failed to infer returned types}}
  %0 = pz.broadcast %a [3] : tensor<2x3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @broadcast_non_positive(%a: tensor<3xf32>) -> tensor<0x3xf32> {
  // expected-error @+2 {{shape [0, 3] has the non-positive entry 0}}
  // expected-error @+1 {{'pz.broadcast' op failed to infer returned types}}
  %0 = pz.broadcast %a [0, 3] : tensor<3xf32> -> tensor<0x3xf32>
  return %0 : tensor<0x3xf32>
}

// -----

func.func @broadcast_negative(%a: tensor<3xf32>) -> tensor<?x3xf32> {
  // expected-error @+2 {{shape [-1, 3] has the non-positive entry -1}}
  // expected-error @+1 {{'pz.broadcast' op failed to infer returned types}}
  %0 = pz.broadcast %a [-1, 3] : tensor<3xf32> -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

func.func @broadcast_incompatible_dim(%a: tensor<2x3xf32>) -> tensor<4x4x3xf32> {
  // expected-error @+2 {{cannot broadcast 2x3 to [4, 4, 3]}}
  // expected-error @+1 {{'pz.broadcast' op failed to infer returned types}}
  %0 = pz.broadcast %a [4, 4, 3] : tensor<2x3xf32> -> tensor<4x4x3xf32>
  return %0 : tensor<4x4x3xf32>
}

// -----

func.func @broadcast_result_contradicts_shape(%a: tensor<3xf32>) -> tensor<5x3xf32> {
  // expected-error @+2 {{'pz.broadcast' op inferred type(s) 'tensor<4x3xf32>' are incompatible with return type(s) of operation 'tensor<5x3xf32>'}}
  // expected-error @+1 {{'pz.broadcast' op failed to infer returned types}}
  %0 = pz.broadcast %a [4, 3] : tensor<3xf32> -> tensor<5x3xf32>
  return %0 : tensor<5x3xf32>
}

// -----

//===----------------------------------------------------------------------===//
// slice
//===----------------------------------------------------------------------===//

func.func @slice_wrong_entry_counts(%a: tensor<4x6xf32>) -> tensor<2xf32> {
  // expected-error @+2 {{starts, ends and steps need 2 entries each (one per dim), got 1, 2 and 2}}
  // expected-error @+1 {{'pz.slice' op failed to infer returned types}}
  %0 = pz.slice %a starts [0] ends [2, 6] steps [1, 1] : tensor<4x6xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @slice_zero_step(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  // expected-error @+2 {{step 0 on dim 1 must be nonzero}}
  // expected-error @+1 {{'pz.slice' op failed to infer returned types}}
  %0 = pz.slice %a starts [0, 0] ends [4, 6] steps [1, 0] : tensor<4x6xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

func.func @slice_start_after_end(%a: tensor<4x6xf32>) -> tensor<4x1xf32> {
  // expected-error @+2 {{start 3, end 2, step 1 on dim 1 of size 6: a positive step needs 0 <= start <= end <= size}}
  // expected-error @+1 {{'pz.slice' op failed to infer returned types}}
  %0 = pz.slice %a starts [0, 3] ends [4, 2] steps [1, 1] : tensor<4x6xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

func.func @slice_end_past_size(%a: tensor<4x6xf32>) -> tensor<5x6xf32> {
  // expected-error @+2 {{start 0, end 5, step 1 on dim 0 of size 4: a positive step needs 0 <= start <= end <= size}}
  // expected-error @+1 {{'pz.slice' op failed to infer returned types}}
  %0 = pz.slice %a starts [0, 0] ends [5, 6] steps [1, 1] : tensor<4x6xf32> -> tensor<5x6xf32>
  return %0 : tensor<5x6xf32>
}

// -----

func.func @slice_negative_start(%a: tensor<?x6xf32>) -> tensor<2x6xf32> {
  // expected-error @+2 {{start -1, end 1, step 1 on dim 0 of size ?: a positive step needs 0 <= start <= end <= size}}
  // expected-error @+1 {{'pz.slice' op failed to infer returned types}}
  %0 = pz.slice %a starts [-1, 0] ends [1, 6] steps [1, 1] : tensor<?x6xf32> -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @slice_negative_step_end_after_start(%a: tensor<4x6xf32>) -> tensor<4x1xf32> {
  // expected-error @+2 {{start 2, end 3, step -1 on dim 1 of size 6: a negative step needs -1 <= end <= start <= size - 1}}
  // expected-error @+1 {{'pz.slice' op failed to infer returned types}}
  %0 = pz.slice %a starts [0, 2] ends [4, 3] steps [1, -1] : tensor<4x6xf32> -> tensor<4x1xf32>
  return %0 : tensor<4x1xf32>
}

// -----

// A reversal starts at the last element, size - 1, not at size.
func.func @slice_negative_step_start_at_size(%a: tensor<4x6xf32>) -> tensor<4x6xf32> {
  // expected-error @+2 {{start 4, end -1, step -1 on dim 0 of size 4: a negative step needs -1 <= end <= start <= size - 1}}
  // expected-error @+1 {{'pz.slice' op failed to infer returned types}}
  %0 = pz.slice %a starts [4, 0] ends [-1, 6] steps [-1, 1] : tensor<4x6xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// -----

// end -1 runs through element 0; below that is out of range.
func.func @slice_negative_step_end_below_minus_one(%a: tensor<?x6xf32>) -> tensor<2x6xf32> {
  // expected-error @+2 {{start 1, end -2, step -1 on dim 0 of size ?: a negative step needs -1 <= end <= start <= size - 1}}
  // expected-error @+1 {{'pz.slice' op failed to infer returned types}}
  %0 = pz.slice %a starts [1, 0] ends [-2, 6] steps [-1, 1] : tensor<?x6xf32> -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

// start 5, end -1, step -2 takes elements 5, 3 and 1: three, not six.
func.func @slice_negative_step_wrong_count(%a: tensor<6xf32>) -> tensor<6xf32> {
  // expected-error @+2 {{'pz.slice' op inferred type(s) 'tensor<3xf32>' are incompatible with return type(s) of operation 'tensor<6xf32>'}}
  // expected-error @+1 {{'pz.slice' op failed to infer returned types}}
  %0 = pz.slice %a starts [5] ends [-1] steps [-2] : tensor<6xf32> -> tensor<6xf32>
  return %0 : tensor<6xf32>
}

// -----

func.func @slice_result_ignores_step(%a: tensor<10xf32>) -> tensor<10xf32> {
  // expected-error @+2 {{'pz.slice' op inferred type(s) 'tensor<5xf32>' are incompatible with return type(s) of operation 'tensor<10xf32>'}}
  // expected-error @+1 {{'pz.slice' op failed to infer returned types}}
  %0 = pz.slice %a starts [0] ends [10] steps [2] : tensor<10xf32> -> tensor<10xf32>
  return %0 : tensor<10xf32>
}

// -----

//===----------------------------------------------------------------------===//
// concat

// -----

//===----------------------------------------------------------------------===//

func.func @concat_no_inputs() -> tensor<2xf32> {
  // expected-error @+2 {{expects at least one input}}
  // expected-error @+1 {{'pz.concat' op failed to infer returned types}}
  %0 = pz.concat {axis = 0 : i64} : () -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @concat_axis_out_of_range(%a: tensor<2x3xf32>) -> tensor<2x6xf32> {
  // expected-error @+2 {{axis 2 is out of range for rank 2 (expected 0 <= axis < 2)}}
  // expected-error @+1 {{'pz.concat' op failed to infer returned types}}
  %0 = pz.concat %a, %a {axis = 2 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @concat_scalars(%a: tensor<f32>) -> tensor<2xf32> {
  // expected-error @+2 {{axis 0 is out of range for rank 0}}
  // expected-error @+1 {{'pz.concat' op failed to infer returned types}}
  %0 = pz.concat %a, %a {axis = 0 : i64} : (tensor<f32>, tensor<f32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @concat_element_types(%a: tensor<2x3xf32>, %b: tensor<2x3xf16>) -> tensor<4x3xf32> {
  // expected-error @+2 {{input 1 ('tensor<2x3xf16>') differs in rank or element type from input 0 ('tensor<2x3xf32>')}}
  // expected-error @+1 {{'pz.concat' op failed to infer returned types}}
  %0 = pz.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf16>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @concat_ranks(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32> {
  // expected-error @+2 {{input 2 ('tensor<3xf32>') differs in rank or element type from input 0 ('tensor<2x3xf32>')}}
  // expected-error @+1 {{'pz.concat' op failed to infer returned types}}
  %0 = pz.concat %a, %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @concat_other_dim_differs(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) -> tensor<4x3xf32> {
  // expected-error @+2 {{input 1 has size 4 on dim 1 where input 0 has 3}}
  // expected-error @+1 {{'pz.concat' op failed to infer returned types}}
  %0 = pz.concat %a, %b {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @concat_result_size(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>) -> tensor<2x7xf32> {
  // expected-error @+2 {{'pz.concat' op inferred type(s) 'tensor<2x8xf32>' are incompatible with return type(s) of operation 'tensor<2x7xf32>'}}
  // expected-error @+1 {{'pz.concat' op failed to infer returned types}}
  %0 = pz.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x7xf32>
  return %0 : tensor<2x7xf32>
}

// -----

func.func @concat_missing_axis(%a: tensor<2x3xf32>) -> tensor<4x3xf32> {
  // expected-error @+1 {{'pz.concat' op requires attribute 'axis'}}
  %0 = pz.concat %a, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}
