// RUN: parallelize-opt %s -sccp | FileCheck %s

// Constant propagation asks the pz dialect to materialize the constants it
// finds (PZDialect::materializeConstant): a value known to be constant is
// replaced by a pz.constant of the value's type.

// CHECK-LABEL: func.func @cast_of_constant(
// CHECK-NEXT: [[C:%.*]] = pz.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT: return [[C]] : tensor<2xf32>
func.func @cast_of_constant() -> tensor<2xf32> {
  %c = pz.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %0 = pz.cast %c : tensor<2xf32> to f32
  return %0 : tensor<2xf32>
}

// The folds of add, reshape and neg(neg) all lead back to the constant.
// CHECK-LABEL: func.func @identity_chain_of_constant(
// CHECK: [[C:%.*]] = pz.constant dense<{{\[\[}}1, 2], [3, 4]]> : tensor<2x2xi64>
// CHECK-NOT: pz.add
// CHECK-NOT: pz.reshape
// CHECK: return [[C]] : tensor<2x2xi64>
func.func @identity_chain_of_constant() -> tensor<2x2xi64> {
  %c = pz.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi64>
  %zero = pz.constant dense<0> : tensor<2x2xi64>
  %0 = pz.add %zero, %c : tensor<2x2xi64>, tensor<2x2xi64> -> tensor<2x2xi64>
  %1 = pz.reshape %0 [2, 2] : tensor<2x2xi64> -> tensor<2x2xi64>
  %2 = pz.neg %1 : tensor<2x2xi64>
  %3 = pz.neg %2 : tensor<2x2xi64>
  return %3 : tensor<2x2xi64>
}

// Values that are not constant stay computed.
// CHECK-LABEL: func.func @not_constant(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT: [[C:%.*]] = pz.constant dense<3.000000e+00> : tensor<2xf32>
// CHECK-NEXT: [[MUL:%.*]] = pz.mul [[X]], [[C]] : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
// CHECK-NEXT: return [[MUL]] : tensor<2xf32>
func.func @not_constant(%x: tensor<2xf32>) -> tensor<2xf32> {
  %c = pz.constant dense<3.0> : tensor<2xf32>
  %0 = pz.mul %x, %c : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
