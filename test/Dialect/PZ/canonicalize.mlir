// RUN: parallelize-opt %s -canonicalize | FileCheck %s

// The pz folders, each with cases that fold and cases that must not.

//===----------------------------------------------------------------------===//
// add: x + 0 -> x
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @add_zero_rhs(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: return [[X]] : tensor<2x3xf32>
func.func @add_zero_rhs(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %zero = pz.constant dense<0.0> : tensor<2x3xf32>
  %0 = pz.add %x, %zero : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @add_zero_lhs_broadcast_scalar(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: return [[X]] : tensor<2x3xf32>
func.func @add_zero_lhs_broadcast_scalar(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %zero = pz.constant dense<0.0> : tensor<f32>
  %0 = pz.add %zero, %x : tensor<f32>, tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @add_negative_zero(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4xbf16>) -> tensor<4xbf16>
// CHECK-NEXT: return [[X]] : tensor<4xbf16>
func.func @add_negative_zero(%x: tensor<4xbf16>) -> tensor<4xbf16> {
  %zero = pz.constant dense<-0.0> : tensor<4xbf16>
  %0 = pz.add %x, %zero : tensor<4xbf16>, tensor<4xbf16> -> tensor<4xbf16>
  return %0 : tensor<4xbf16>
}

// CHECK-LABEL: func.func @add_zero_int(
// CHECK-SAME: [[X:%[^:]+]]: tensor<3xi64>) -> tensor<3xi64>
// CHECK-NEXT: return [[X]] : tensor<3xi64>
func.func @add_zero_int(%x: tensor<3xi64>) -> tensor<3xi64> {
  %zero = pz.constant dense<0> : tensor<1xi64>
  %0 = pz.add %x, %zero : tensor<3xi64>, tensor<1xi64> -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// CHECK-LABEL: func.func @add_zero_list(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT: return [[X]] : tensor<2xf32>
func.func @add_zero_list(%x: tensor<2xf32>) -> tensor<2xf32> {
  %zero = pz.constant dense<[0.0, 0.0]> : tensor<2xf32>
  %0 = pz.add %x, %zero : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// CHECK-LABEL: func.func @add_nonzero_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<1.000000e+00> : tensor<2x3xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[X]], [[CONSTANT]] : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return [[ADD]] : tensor<2x3xf32>
func.func @add_nonzero_no_fold(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %one = pz.constant dense<1.0> : tensor<2x3xf32>
  %0 = pz.add %x, %one : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @add_non_splat_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<[0.000000e+00, 1.000000e+00]> : tensor<2xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[X]], [[CONSTANT]] : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
// CHECK-NEXT: return [[ADD]] : tensor<2xf32>
func.func @add_non_splat_no_fold(%x: tensor<2xf32>) -> tensor<2xf32> {
  %c = pz.constant dense<[0.0, 1.0]> : tensor<2xf32>
  %0 = pz.add %x, %c : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// The zero broadcasts x to a bigger shape: x + 0 is not x.
// CHECK-LABEL: func.func @add_zero_broadcasts_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<0.000000e+00> : tensor<2x3xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[X]], [[CONSTANT]] : tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return [[ADD]] : tensor<2x3xf32>
func.func @add_zero_broadcasts_no_fold(%x: tensor<3xf32>) -> tensor<2x3xf32> {
  %zero = pz.constant dense<0.0> : tensor<2x3xf32>
  %0 = pz.add %x, %zero : tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @add_zero_stretches_unit_dim_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<1x3xi32>) -> tensor<4x3xi32>
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<0> : tensor<4x1xi32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[CONSTANT]], [[X]] : tensor<4x1xi32>, tensor<1x3xi32> -> tensor<4x3xi32>
// CHECK-NEXT: return [[ADD]] : tensor<4x3xi32>
func.func @add_zero_stretches_unit_dim_no_fold(%x: tensor<1x3xi32>) -> tensor<4x3xi32> {
  %zero = pz.constant dense<0> : tensor<4x1xi32>
  %0 = pz.add %zero, %x : tensor<4x1xi32>, tensor<1x3xi32> -> tensor<4x3xi32>
  return %0 : tensor<4x3xi32>
}

// The printed result type refines x's: folding would change the type.
// CHECK-LABEL: func.func @add_zero_refined_result_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<0.000000e+00> : tensor<3xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[X]], [[CONSTANT]] : tensor<?x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return [[ADD]] : tensor<2x3xf32>
func.func @add_zero_refined_result_no_fold(%x: tensor<?x3xf32>) -> tensor<2x3xf32> {
  %zero = pz.constant dense<0.0> : tensor<3xf32>
  %0 = pz.add %x, %zero : tensor<?x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @add_no_constant_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<3xf32>, [[Y:%[^:]+]]: tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[X]], [[Y]] : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
// CHECK-NEXT: return [[ADD]] : tensor<3xf32>
func.func @add_no_constant_no_fold(%x: tensor<3xf32>, %y: tensor<3xf32>) -> tensor<3xf32> {
  %0 = pz.add %x, %y : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// Only add and mul have identities; sub with 0 stays.
// CHECK-LABEL: func.func @sub_zero_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<0.000000e+00> : tensor<3xf32>
// CHECK-NEXT: [[SUB:%.*]] = pz.sub [[X]], [[CONSTANT]] : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
// CHECK-NEXT: return [[SUB]] : tensor<3xf32>
func.func @sub_zero_no_fold(%x: tensor<3xf32>) -> tensor<3xf32> {
  %zero = pz.constant dense<0.0> : tensor<3xf32>
  %0 = pz.sub %x, %zero : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// The printed result may be less static than the inference (here ?x3 for
// 4x3): x + 0 is 4x3 even when x is 1x3, so it must not fold to x.
// CHECK-LABEL: func.func @add_zero_broadcasts_dynamic_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x3xf32>) -> tensor<?x3xf32>
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<0.000000e+00> : tensor<4x3xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[X]], [[CONSTANT]] : tensor<?x3xf32>, tensor<4x3xf32> -> tensor<?x3xf32>
// CHECK-NEXT: return [[ADD]] : tensor<?x3xf32>
func.func @add_zero_broadcasts_dynamic_no_fold(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %zero = pz.constant dense<0.0> : tensor<4x3xf32>
  %0 = pz.add %x, %zero : tensor<?x3xf32>, tensor<4x3xf32> -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

//===----------------------------------------------------------------------===//
// mul: x * 1 -> x
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @mul_one_rhs(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf16>) -> tensor<2x3xf16>
// CHECK-NEXT: return [[X]] : tensor<2x3xf16>
func.func @mul_one_rhs(%x: tensor<2x3xf16>) -> tensor<2x3xf16> {
  %one = pz.constant dense<1.0> : tensor<3xf16>
  %0 = pz.mul %x, %one : tensor<2x3xf16>, tensor<3xf16> -> tensor<2x3xf16>
  return %0 : tensor<2x3xf16>
}

// CHECK-LABEL: func.func @mul_one_lhs_int(
// CHECK-SAME: [[X:%[^:]+]]: tensor<5xi32>) -> tensor<5xi32>
// CHECK-NEXT: return [[X]] : tensor<5xi32>
func.func @mul_one_lhs_int(%x: tensor<5xi32>) -> tensor<5xi32> {
  %one = pz.constant dense<1> : tensor<i32>
  %0 = pz.mul %one, %x : tensor<i32>, tensor<5xi32> -> tensor<5xi32>
  return %0 : tensor<5xi32>
}

// CHECK-LABEL: func.func @mul_two_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<5xf32>) -> tensor<5xf32>
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<2.000000e+00> : tensor<f32>
// CHECK-NEXT: [[MUL:%.*]] = pz.mul [[X]], [[CONSTANT]] : tensor<5xf32>, tensor<f32> -> tensor<5xf32>
// CHECK-NEXT: return [[MUL]] : tensor<5xf32>
func.func @mul_two_no_fold(%x: tensor<5xf32>) -> tensor<5xf32> {
  %two = pz.constant dense<2.0> : tensor<f32>
  %0 = pz.mul %x, %two : tensor<5xf32>, tensor<f32> -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// CHECK-LABEL: func.func @mul_zero_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<5xf32>) -> tensor<5xf32>
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<0.000000e+00> : tensor<5xf32>
// CHECK-NEXT: [[MUL:%.*]] = pz.mul [[X]], [[CONSTANT]] : tensor<5xf32>, tensor<5xf32> -> tensor<5xf32>
// CHECK-NEXT: return [[MUL]] : tensor<5xf32>
func.func @mul_zero_no_fold(%x: tensor<5xf32>) -> tensor<5xf32> {
  %zero = pz.constant dense<0.0> : tensor<5xf32>
  %0 = pz.mul %x, %zero : tensor<5xf32>, tensor<5xf32> -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// CHECK-LABEL: func.func @mul_one_broadcasts_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<5xf32>) -> tensor<3x5xf32>
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<1.000000e+00> : tensor<3x1xf32>
// CHECK-NEXT: [[MUL:%.*]] = pz.mul [[X]], [[CONSTANT]] : tensor<5xf32>, tensor<3x1xf32> -> tensor<3x5xf32>
// CHECK-NEXT: return [[MUL]] : tensor<3x5xf32>
func.func @mul_one_broadcasts_no_fold(%x: tensor<5xf32>) -> tensor<3x5xf32> {
  %one = pz.constant dense<1.0> : tensor<3x1xf32>
  %0 = pz.mul %x, %one : tensor<5xf32>, tensor<3x1xf32> -> tensor<3x5xf32>
  return %0 : tensor<3x5xf32>
}

// CHECK-LABEL: func.func @mul_one_broadcasts_dynamic_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x3xf32>) -> tensor<?x3xf32>
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<1.000000e+00> : tensor<4x1xf32>
// CHECK-NEXT: [[MUL:%.*]] = pz.mul [[CONSTANT]], [[X]] : tensor<4x1xf32>, tensor<?x3xf32> -> tensor<?x3xf32>
// CHECK-NEXT: return [[MUL]] : tensor<?x3xf32>
func.func @mul_one_broadcasts_dynamic_no_fold(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %one = pz.constant dense<1.0> : tensor<4x1xf32>
  %0 = pz.mul %one, %x : tensor<4x1xf32>, tensor<?x3xf32> -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// A unit constant against a dynamic dim cannot enlarge it: this folds.
// CHECK-LABEL: func.func @mul_one_unit_dims_dynamic(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x3xf32>) -> tensor<?x3xf32>
// CHECK-NEXT: return [[X]] : tensor<?x3xf32>
func.func @mul_one_unit_dims_dynamic(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %one = pz.constant dense<1.0> : tensor<1x1xf32>
  %0 = pz.mul %x, %one : tensor<?x3xf32>, tensor<1x1xf32> -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

//===----------------------------------------------------------------------===//
// neg
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @neg_neg(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT: return [[X]] : tensor<4xf32>
func.func @neg_neg(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = pz.neg %x : tensor<4xf32>
  %1 = pz.neg %0 : tensor<4xf32>
  return %1 : tensor<4xf32>
}

// CHECK-LABEL: func.func @neg_neg_neg(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4xi32>) -> tensor<4xi32>
// CHECK-NEXT: [[NEG:%.*]] = pz.neg [[X]] : tensor<4xi32>
// CHECK-NEXT: return [[NEG]] : tensor<4xi32>
func.func @neg_neg_neg(%x: tensor<4xi32>) -> tensor<4xi32> {
  %0 = pz.neg %x : tensor<4xi32>
  %1 = pz.neg %0 : tensor<4xi32>
  %2 = pz.neg %1 : tensor<4xi32>
  return %2 : tensor<4xi32>
}

// CHECK-LABEL: func.func @neg_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT: [[NEG:%.*]] = pz.neg [[X]] : tensor<4xf32>
// CHECK-NEXT: return [[NEG]] : tensor<4xf32>
func.func @neg_no_fold(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = pz.neg %x : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// The inner neg has another user: it stays, the outer one folds.
// CHECK-LABEL: func.func @neg_neg_shared(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>)
// CHECK-NEXT: [[NEG:%.*]] = pz.neg [[X]] : tensor<4xf32>
// CHECK-NEXT: return [[NEG]], [[X]] : tensor<4xf32>, tensor<4xf32>
func.func @neg_neg_shared(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %0 = pz.neg %x : tensor<4xf32>
  %1 = pz.neg %0 : tensor<4xf32>
  return %0, %1 : tensor<4xf32>, tensor<4xf32>
}

//===----------------------------------------------------------------------===//
// reshape
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @reshape_same_type(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: return [[X]] : tensor<2x3xf32>
func.func @reshape_same_type(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = pz.reshape %x [2, 3] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// Only a statically known identity folds: with a `?` dim the type alone does
// not prove it (compare @reshape_dynamic_changes_shape_no_fold).
// CHECK-LABEL: func.func @reshape_same_type_dynamic_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x4xf32>) -> tensor<?x4xf32>
// CHECK-NEXT: [[RESHAPE:%.*]] = pz.reshape [[X]] [-1, 4] : tensor<?x4xf32> -> tensor<?x4xf32>
// CHECK-NEXT: return [[RESHAPE]] : tensor<?x4xf32>
func.func @reshape_same_type_dynamic_no_fold(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = pz.reshape %x [-1, 4] : tensor<?x4xf32> -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// CHECK-LABEL: func.func @reshape_reshape(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3x4xf32>) -> tensor<4x6xf32>
// CHECK-NEXT: [[RESHAPE:%.*]] = pz.reshape [[X]] [4, -1] : tensor<2x3x4xf32> -> tensor<4x6xf32>
// CHECK-NEXT: return [[RESHAPE]] : tensor<4x6xf32>
func.func @reshape_reshape(%x: tensor<2x3x4xf32>) -> tensor<4x6xf32> {
  %0 = pz.reshape %x [6, 4] : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %1 = pz.reshape %0 [4, -1] : tensor<6x4xf32> -> tensor<4x6xf32>
  return %1 : tensor<4x6xf32>
}

// CHECK-LABEL: func.func @reshape_reshape_roundtrip(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xi1>) -> tensor<2x3xi1>
// CHECK-NEXT: return [[X]] : tensor<2x3xi1>
func.func @reshape_reshape_roundtrip(%x: tensor<2x3xi1>) -> tensor<2x3xi1> {
  %0 = pz.reshape %x [6] : tensor<2x3xi1> -> tensor<6xi1>
  %1 = pz.reshape %0 [2, 3] : tensor<6xi1> -> tensor<2x3xi1>
  return %1 : tensor<2x3xi1>
}

// [6, -1] of a ?x? input is 6x2 when the input is 3x4: the types match
// but the op is not the identity.
// CHECK-LABEL: func.func @reshape_dynamic_changes_shape_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x?xf32>) -> tensor<?x?xf32>
// CHECK-NEXT: [[RESHAPE:%.*]] = pz.reshape [[X]] [6, -1] : tensor<?x?xf32> -> tensor<?x?xf32>
// CHECK-NEXT: return [[RESHAPE]] : tensor<?x?xf32>
func.func @reshape_dynamic_changes_shape_no_fold(%x: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %0 = pz.reshape %x [6, -1] : tensor<?x?xf32> -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// CHECK-LABEL: func.func @reshape_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf32>) -> tensor<3x2xf32>
// CHECK-NEXT: [[RESHAPE:%.*]] = pz.reshape [[X]] [3, 2] : tensor<2x3xf32> -> tensor<3x2xf32>
// CHECK-NEXT: return [[RESHAPE]] : tensor<3x2xf32>
func.func @reshape_no_fold(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = pz.reshape %x [3, 2] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

//===----------------------------------------------------------------------===//
// transpose
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @transpose_identity(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
// CHECK-NEXT: return [[X]] : tensor<2x3x4xf32>
func.func @transpose_identity(%x: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %0 = pz.transpose %x [0, 1, 2] : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %0 : tensor<2x3x4xf32>
}

// CHECK-LABEL: func.func @transpose_scalar(
// CHECK-SAME: [[X:%[^:]+]]: tensor<f32>) -> tensor<f32>
// CHECK-NEXT: return [[X]] : tensor<f32>
func.func @transpose_scalar(%x: tensor<f32>) -> tensor<f32> {
  %0 = pz.transpose %x [] : tensor<f32> -> tensor<f32>
  return %0 : tensor<f32>
}

// transpose(transpose(x, p), q) = transpose(x, [p[q[0]], p[q[1]], ...]):
// p = [1, 0, 2], q = [2, 0, 1] -> [2, 1, 0].
// CHECK-LABEL: func.func @transpose_transpose(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3x4xf32>) -> tensor<4x3x2xf32>
// CHECK-NEXT: [[TRANSPOSE:%.*]] = pz.transpose [[X]] [2, 1, 0] : tensor<2x3x4xf32> -> tensor<4x3x2xf32>
// CHECK-NEXT: return [[TRANSPOSE]] : tensor<4x3x2xf32>
func.func @transpose_transpose(%x: tensor<2x3x4xf32>) -> tensor<4x3x2xf32> {
  %0 = pz.transpose %x [1, 0, 2] : tensor<2x3x4xf32> -> tensor<3x2x4xf32>
  %1 = pz.transpose %0 [2, 0, 1] : tensor<3x2x4xf32> -> tensor<4x3x2xf32>
  return %1 : tensor<4x3x2xf32>
}

// p = [0, 2, 1, 3], q = [1, 2, 3, 0] -> [2, 1, 3, 0].
// CHECK-LABEL: func.func @transpose_transpose_rank4(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3x4x5xf16>) -> tensor<4x3x5x2xf16>
// CHECK-NEXT: [[TRANSPOSE:%.*]] = pz.transpose [[X]] [2, 1, 3, 0] : tensor<2x3x4x5xf16> -> tensor<4x3x5x2xf16>
// CHECK-NEXT: return [[TRANSPOSE]] : tensor<4x3x5x2xf16>
func.func @transpose_transpose_rank4(%x: tensor<2x3x4x5xf16>) -> tensor<4x3x5x2xf16> {
  %0 = pz.transpose %x [0, 2, 1, 3] : tensor<2x3x4x5xf16> -> tensor<2x4x3x5xf16>
  %1 = pz.transpose %0 [1, 2, 3, 0] : tensor<2x4x3x5xf16> -> tensor<4x3x5x2xf16>
  return %1 : tensor<4x3x5x2xf16>
}

// Two swaps cancel: the composition is the identity, which folds too.
// CHECK-LABEL: func.func @transpose_transpose_inverse(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: return [[X]] : tensor<2x3xf32>
func.func @transpose_transpose_inverse(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = pz.transpose %x [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  %1 = pz.transpose %0 [1, 0] : tensor<3x2xf32> -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// The identity permutation does not fold when the result type differs
// from the input type (more or less static): the uses would see another
// type.
// CHECK-LABEL: func.func @transpose_identity_refined_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: [[TRANSPOSE:%.*]] = pz.transpose [[X]] [0, 1] : tensor<?x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return [[TRANSPOSE]] : tensor<2x3xf32>
func.func @transpose_identity_refined_no_fold(%x: tensor<?x3xf32>) -> tensor<2x3xf32> {
  %0 = pz.transpose %x [0, 1] : tensor<?x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @transpose_identity_less_static_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf32>) -> tensor<?x3xf32>
// CHECK-NEXT: [[TRANSPOSE:%.*]] = pz.transpose [[X]] [0, 1] : tensor<2x3xf32> -> tensor<?x3xf32>
// CHECK-NEXT: return [[TRANSPOSE]] : tensor<?x3xf32>
func.func @transpose_identity_less_static_no_fold(%x: tensor<2x3xf32>) -> tensor<?x3xf32> {
  %0 = pz.transpose %x [0, 1] : tensor<2x3xf32> -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// The two transposes compose to [0, 1], which then cannot fold away.
// CHECK-LABEL: func.func @transpose_transpose_identity_refined(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x3xf32>) -> tensor<5x3xf32>
// CHECK-NEXT: [[TRANSPOSE:%.*]] = pz.transpose [[X]] [0, 1] : tensor<?x3xf32> -> tensor<5x3xf32>
// CHECK-NEXT: return [[TRANSPOSE]] : tensor<5x3xf32>
func.func @transpose_transpose_identity_refined(%x: tensor<?x3xf32>) -> tensor<5x3xf32> {
  %0 = pz.transpose %x [1, 0] : tensor<?x3xf32> -> tensor<3x5xf32>
  %1 = pz.transpose %0 [1, 0] : tensor<3x5xf32> -> tensor<5x3xf32>
  return %1 : tensor<5x3xf32>
}

// CHECK-LABEL: func.func @transpose_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf32>) -> tensor<3x2xf32>
// CHECK-NEXT: [[TRANSPOSE:%.*]] = pz.transpose [[X]] [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
// CHECK-NEXT: return [[TRANSPOSE]] : tensor<3x2xf32>
func.func @transpose_no_fold(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = pz.transpose %x [1, 0] : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// A permutation that keeps the type but is not the identity.
// CHECK-LABEL: func.func @transpose_square_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<3x3xf32>) -> tensor<3x3xf32>
// CHECK-NEXT: [[TRANSPOSE:%.*]] = pz.transpose [[X]] [1, 0] : tensor<3x3xf32> -> tensor<3x3xf32>
// CHECK-NEXT: return [[TRANSPOSE]] : tensor<3x3xf32>
func.func @transpose_square_no_fold(%x: tensor<3x3xf32>) -> tensor<3x3xf32> {
  %0 = pz.transpose %x [1, 0] : tensor<3x3xf32> -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

//===----------------------------------------------------------------------===//
// broadcast
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @broadcast_same_type(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: return [[X]] : tensor<2x3xf32>
func.func @broadcast_same_type(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = pz.broadcast %x [2, 3] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// ?x3 to [4, 3] is 4x3 even when the input is 1x3.
// CHECK-LABEL: func.func @broadcast_dynamic_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x3xf32>) -> tensor<?x3xf32>
// CHECK-NEXT: [[BROADCAST:%.*]] = pz.broadcast [[X]] [4, 3] : tensor<?x3xf32> -> tensor<?x3xf32>
// CHECK-NEXT: return [[BROADCAST]] : tensor<?x3xf32>
func.func @broadcast_dynamic_no_fold(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %0 = pz.broadcast %x [4, 3] : tensor<?x3xf32> -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// CHECK-LABEL: func.func @broadcast_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: [[BROADCAST:%.*]] = pz.broadcast [[X]] [2, 3] : tensor<3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return [[BROADCAST]] : tensor<2x3xf32>
func.func @broadcast_no_fold(%x: tensor<3xf32>) -> tensor<2x3xf32> {
  %0 = pz.broadcast %x [2, 3] : tensor<3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @broadcast_unit_dim_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<1x3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT: [[BROADCAST:%.*]] = pz.broadcast [[X]] [4, 3] : tensor<1x3xf32> -> tensor<4x3xf32>
// CHECK-NEXT: return [[BROADCAST]] : tensor<4x3xf32>
func.func @broadcast_unit_dim_no_fold(%x: tensor<1x3xf32>) -> tensor<4x3xf32> {
  %0 = pz.broadcast %x [4, 3] : tensor<1x3xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

//===----------------------------------------------------------------------===//
// slice
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @slice_full(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4x6xf32>) -> tensor<4x6xf32>
// CHECK-NEXT: return [[X]] : tensor<4x6xf32>
func.func @slice_full(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %0 = pz.slice %x starts [0, 0] ends [4, 6] steps [1, 1] : tensor<4x6xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// ends [3] on a dynamic dim may drop elements.
// CHECK-LABEL: func.func @slice_dynamic_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?xf32>) -> tensor<?xf32>
// CHECK-NEXT: [[SLICE:%.*]] = pz.slice [[X]] starts [0] ends [3] steps [1] : tensor<?xf32> -> tensor<?xf32>
// CHECK-NEXT: return [[SLICE]] : tensor<?xf32>
func.func @slice_dynamic_no_fold(%x: tensor<?xf32>) -> tensor<?xf32> {
  %0 = pz.slice %x starts [0] ends [3] steps [1] : tensor<?xf32> -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @slice_part_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4x6xf32>) -> tensor<4x3xf32>
// CHECK-NEXT: [[SLICE:%.*]] = pz.slice [[X]] starts [0, 3] ends [4, 6] steps [1, 1] : tensor<4x6xf32> -> tensor<4x3xf32>
// CHECK-NEXT: return [[SLICE]] : tensor<4x3xf32>
func.func @slice_part_no_fold(%x: tensor<4x6xf32>) -> tensor<4x3xf32> {
  %0 = pz.slice %x starts [0, 3] ends [4, 6] steps [1, 1] : tensor<4x6xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// CHECK-LABEL: func.func @slice_stepped_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<1x6xf32>) -> tensor<1x3xf32>
// CHECK-NEXT: [[SLICE:%.*]] = pz.slice [[X]] starts [0, 0] ends [1, 6] steps [1, 2] : tensor<1x6xf32> -> tensor<1x3xf32>
// CHECK-NEXT: return [[SLICE]] : tensor<1x3xf32>
func.func @slice_stepped_no_fold(%x: tensor<1x6xf32>) -> tensor<1x3xf32> {
  %0 = pz.slice %x starts [0, 0] ends [1, 6] steps [1, 2] : tensor<1x6xf32> -> tensor<1x3xf32>
  return %0 : tensor<1x3xf32>
}

// A negative step keeps the type but reverses the dim.
// CHECK-LABEL: func.func @slice_reversal_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4x6xf32>) -> tensor<4x6xf32>
// CHECK-NEXT: [[SLICE:%.*]] = pz.slice [[X]] starts [0, 5] ends [4, -1] steps [1, -1] : tensor<4x6xf32> -> tensor<4x6xf32>
// CHECK-NEXT: return [[SLICE]] : tensor<4x6xf32>
func.func @slice_reversal_no_fold(%x: tensor<4x6xf32>) -> tensor<4x6xf32> {
  %0 = pz.slice %x starts [0, 5] ends [4, -1] steps [1, -1] : tensor<4x6xf32> -> tensor<4x6xf32>
  return %0 : tensor<4x6xf32>
}

// Reversing a dim of one element, or stepping over it, changes nothing.
// CHECK-LABEL: func.func @slice_unit_dims_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<1x6x1xf32>) -> tensor<1x6x1xf32>
// CHECK-NEXT: return [[X]] : tensor<1x6x1xf32>
func.func @slice_unit_dims_fold(%x: tensor<1x6x1xf32>) -> tensor<1x6x1xf32> {
  %0 = pz.slice %x starts [0, 0, 0] ends [-1, 6, 1] steps [-1, 1, 3] : tensor<1x6x1xf32> -> tensor<1x6x1xf32>
  return %0 : tensor<1x6x1xf32>
}

// Dropping the first row changes the type.
// CHECK-LABEL: func.func @slice_same_type_nonzero_start_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4x1xf32>) -> tensor<3x1xf32>
// CHECK-NEXT: [[SLICE:%.*]] = pz.slice [[X]] starts [1, 0] ends [4, 1] steps [1, 1] : tensor<4x1xf32> -> tensor<3x1xf32>
// CHECK-NEXT: return [[SLICE]] : tensor<3x1xf32>
func.func @slice_same_type_nonzero_start_no_fold(%x: tensor<4x1xf32>) -> tensor<3x1xf32> {
  %0 = pz.slice %x starts [1, 0] ends [4, 1] steps [1, 1] : tensor<4x1xf32> -> tensor<3x1xf32>
  return %0 : tensor<3x1xf32>
}

//===----------------------------------------------------------------------===//
// concat
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @concat_single(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: return [[X]] : tensor<2x3xf32>
func.func @concat_single(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %0 = pz.concat %x {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @concat_two_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf32>) -> tensor<2x6xf32>
// CHECK-NEXT: [[CONCAT:%.*]] = pz.concat [[X]], [[X]] {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
// CHECK-NEXT: return [[CONCAT]] : tensor<2x6xf32>
func.func @concat_two_no_fold(%x: tensor<2x3xf32>) -> tensor<2x6xf32> {
  %0 = pz.concat %x, %x {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// CHECK-LABEL: func.func @concat_single_refined_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: [[CONCAT:%.*]] = pz.concat [[X]] {axis = 0 : i64} : (tensor<?x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: return [[CONCAT]] : tensor<2x3xf32>
func.func @concat_single_refined_no_fold(%x: tensor<?x3xf32>) -> tensor<2x3xf32> {
  %0 = pz.concat %x {axis = 0 : i64} : (tensor<?x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

//===----------------------------------------------------------------------===//
// cast
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @cast_same_dtype(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4xbf16>) -> tensor<4xbf16>
// CHECK-NEXT: return [[X]] : tensor<4xbf16>
func.func @cast_same_dtype(%x: tensor<4xbf16>) -> tensor<4xbf16> {
  %0 = pz.cast %x : tensor<4xbf16> to bf16
  return %0 : tensor<4xbf16>
}

// CHECK-LABEL: func.func @cast_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4xf32>) -> tensor<4xbf16>
// CHECK-NEXT: [[CAST:%.*]] = pz.cast [[X]] : tensor<4xf32> to bf16
// CHECK-NEXT: return [[CAST]] : tensor<4xbf16>
func.func @cast_no_fold(%x: tensor<4xf32>) -> tensor<4xbf16> {
  %0 = pz.cast %x : tensor<4xf32> to bf16
  return %0 : tensor<4xbf16>
}

// A round trip through another dtype is not an identity (it rounds).
// CHECK-LABEL: func.func @cast_cast_no_fold(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4xf32>) -> tensor<4xf32>
// CHECK-NEXT: [[CAST:%.*]] = pz.cast [[X]] : tensor<4xf32> to bf16
// CHECK-NEXT: [[CAST_0:%.*]] = pz.cast [[CAST]] : tensor<4xbf16> to f32
// CHECK-NEXT: return [[CAST_0]] : tensor<4xf32>
func.func @cast_cast_no_fold(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = pz.cast %x : tensor<4xf32> to bf16
  %1 = pz.cast %0 : tensor<4xbf16> to f32
  return %1 : tensor<4xf32>
}

//===----------------------------------------------------------------------===//
// constant
//===----------------------------------------------------------------------===//

// Equal constants are uniqued and hoisted to the top of the function.
// CHECK-LABEL: func.func @constant_uniqued(
// CHECK-SAME: [[X:%[^:]+]]: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>)
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<2.000000e+00> : tensor<3xf32>
// CHECK-NEXT: [[EXP:%.*]] = pz.exp [[X]] : tensor<3xf32>
// CHECK-NEXT: [[MUL:%.*]] = pz.mul [[EXP]], [[CONSTANT]] : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
// CHECK-NEXT: [[SUB:%.*]] = pz.sub [[EXP]], [[CONSTANT]] : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
// CHECK-NEXT: return [[MUL]], [[SUB]] : tensor<3xf32>, tensor<3xf32>
func.func @constant_uniqued(%x: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %0 = pz.exp %x : tensor<3xf32>
  %a = pz.constant dense<2.0> : tensor<3xf32>
  %1 = pz.mul %0, %a : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  %b = pz.constant dense<2.0> : tensor<3xf32>
  %2 = pz.sub %0, %b : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  return %1, %2 : tensor<3xf32>, tensor<3xf32>
}

// Constants of different values or types stay apart.
// CHECK-LABEL: func.func @constant_distinct(
// CHECK-SAME: ) -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf16>, tensor<2xi32>)
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<1.000000e+00> : tensor<2xf32>
// CHECK-NEXT: [[CONSTANT_0:%.*]] = pz.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT: [[CONSTANT_1:%.*]] = pz.constant dense<1.000000e+00> : tensor<2xf16>
// CHECK-NEXT: [[CONSTANT_2:%.*]] = pz.constant dense<1> : tensor<2xi32>
// CHECK-NEXT: return [[CONSTANT]], [[CONSTANT_0]], [[CONSTANT_1]], [[CONSTANT_2]] : tensor<2xf32>, tensor<2xf32>, tensor<2xf16>, tensor<2xi32>
func.func @constant_distinct() -> (tensor<2xf32>, tensor<2xf32>, tensor<2xf16>, tensor<2xi32>) {
  %a = pz.constant dense<1.0> : tensor<2xf32>
  %b = pz.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %c = pz.constant dense<1.0> : tensor<2xf16>
  %d = pz.constant dense<1> : tensor<2xi32>
  return %a, %b, %c, %d : tensor<2xf32>, tensor<2xf32>, tensor<2xf16>, tensor<2xi32>
}

// An unused constant is dead; so is an unused pure op.
// CHECK-LABEL: func.func @constant_dead(
// CHECK-SAME: [[X:%[^:]+]]: tensor<3xf32>) -> tensor<3xf32>
// CHECK-NEXT: return [[X]] : tensor<3xf32>
func.func @constant_dead(%x: tensor<3xf32>) -> tensor<3xf32> {
  %c = pz.constant dense<5.0> : tensor<3xf32>
  %0 = pz.exp %x : tensor<3xf32>
  return %x : tensor<3xf32>
}

// A folded op whose result is a constant hands the constant on.
// CHECK-LABEL: func.func @constant_through_folds(
// CHECK-SAME: ) -> tensor<2x3xf32>
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00, 3.000000e+00], [4.000000e+00, 5.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>
// CHECK-NEXT: return [[CONSTANT]] : tensor<2x3xf32>
func.func @constant_through_folds() -> tensor<2x3xf32> {
  %c = pz.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %0 = pz.reshape %c [2, 3] : tensor<2x3xf32> -> tensor<2x3xf32>
  %1 = pz.cast %0 : tensor<2x3xf32> to f32
  %2 = pz.transpose %1 [0, 1] : tensor<2x3xf32> -> tensor<2x3xf32>
  return %2 : tensor<2x3xf32>
}
