// RUN: parallelize-opt %s -split-input-file -verify-diagnostics

// Verifier and shape-rule errors of compare, not and trilu.

func.func @compare_i1_ordering(%m: tensor<4xi1>) -> tensor<4xi1> {
  // expected-error @+1 {{'pz.compare' op predicate 'lt' needs numeric operands; i1 masks compare with 'eq' only}}
  %0 = pz.compare lt, %m, %m : tensor<4xi1>, tensor<4xi1> -> tensor<4xi1>
  return %0 : tensor<4xi1>
}

// -----

func.func @compare_no_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xi1> {
  // expected-error @+2 {{shapes 2x3 and 4 do not broadcast}}
  // expected-error @+1 {{'pz.compare' op failed to infer returned types}}
  %0 = pz.compare eq, %a, %b : tensor<2x3xf32>, tensor<4xf32> -> tensor<2x3xi1>
  return %0 : tensor<2x3xi1>
}

// -----

func.func @compare_mixed_element_types(%a: tensor<3xf32>, %b: tensor<3xi32>) -> tensor<3xi1> {
  // expected-error @+1 {{'pz.compare' op failed to verify that all of {lhs, rhs} have same element type}}
  %0 = pz.compare eq, %a, %b : tensor<3xf32>, tensor<3xi32> -> tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

func.func @compare_float_result(%a: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'pz.compare' op result #0 must be ranked tensor of 1-bit signless integer values, but got 'tensor<3xf32>'}}
  %0 = pz.compare eq, %a, %a : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @compare_result_shape(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<3xi1> {
  // expected-error @+2 {{'pz.compare' op inferred type(s) 'tensor<2x3xi1>' are incompatible with return type(s) of operation 'tensor<3xi1>'}}
  // expected-error @+1 {{'pz.compare' op failed to infer returned types}}
  %0 = pz.compare lt, %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

func.func @compare_unknown_predicate(%a: tensor<3xf32>) -> tensor<3xi1> {
  // expected-error @+1 {{custom op 'pz.compare' expected string or keyword containing one of the following enum values for attribute 'predicate' [eq, lt, le, gt, ge]}}
  %0 = pz.compare ne, %a, %a : tensor<3xf32>, tensor<3xf32> -> tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

func.func @not_float(%a: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{'pz.not' op operand #0 must be ranked tensor of 1-bit signless integer values, but got 'tensor<3xf32>'}}
  %0 = pz.not %a : tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @trilu_rank_one(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'pz.trilu' op needs rank >= 2 (the trailing dims form matrices), got 'tensor<4xf32>'}}
  %0 = pz.trilu %a upper : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @trilu_result_type(%a: tensor<4x4xf32>) -> tensor<4x4xf16> {
  // expected-error @+1 {{'pz.trilu' op requires the same type for all operands and results}}
  %0 = "pz.trilu"(%a) <{diagonal = 0 : i64}> : (tensor<4x4xf32>) -> tensor<4x4xf16>
  return %0 : tensor<4x4xf16>
}

// -----

func.func @trilu_i4(%a: tensor<4x4xi4>) -> tensor<4x4xi4> {
  // expected-error @+1 {{'pz.trilu' op operand #0 must be ranked tensor of}}
  %0 = pz.trilu %a : tensor<4x4xi4>
  return %0 : tensor<4x4xi4>
}
