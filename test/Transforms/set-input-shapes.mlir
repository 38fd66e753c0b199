// RUN: parallelize-opt %s -pz-set-input-shapes="shapes=x=8x64,labels=8" | FileCheck %s
// RUN: parallelize-opt %s -pz-set-input-shapes | FileCheck %s --check-prefix=NONE

// pz-set-input-shapes gives each argument marked pz.input = "NAME" the
// shape named for it, then carries the shapes through the graph (as
// pz-infer-shapes does) so that the IR verifies, and updates the function
// type.

// NONE-LABEL: func.func @inputs(
// NONE-SAME: tensor<?x64xf32> {pz.input = "x"}
// NONE-SAME: tensor<?xi64> {pz.input = "labels"}

// CHECK-LABEL: func.func @inputs(
// CHECK-SAME: [[X:%[^:]+]]: tensor<8x64xf32> {pz.input = "x"}, [[LABELS:%[^:]+]]: tensor<8xi64> {pz.input = "labels"}, [[W:%[^:]+]]: tensor<64x64xf32> {pz.param = "w"}) -> (tensor<8x64xf32> {pz.output = "y"}, tensor<8xi64>)
// CHECK-NEXT: [[MATMUL:%.*]] = pz.matmul [[X]], [[W]] : tensor<8x64xf32>, tensor<64x64xf32> -> tensor<8x64xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[LABELS]], [[LABELS]] : tensor<8xi64>, tensor<8xi64> -> tensor<8xi64>
// CHECK-NEXT: return [[MATMUL]], [[ADD]] : tensor<8x64xf32>, tensor<8xi64>
func.func @inputs(%x: tensor<?x64xf32> {pz.input = "x"}, %labels: tensor<?xi64> {pz.input = "labels"}, %w: tensor<64x64xf32> {pz.param = "w"}) -> (tensor<?x64xf32> {pz.output = "y"}, tensor<?xi64>) {
  %0 = pz.matmul %x, %w : tensor<?x64xf32>, tensor<64x64xf32> -> tensor<?x64xf32>
  %1 = pz.add %labels, %labels : tensor<?xi64>, tensor<?xi64> -> tensor<?xi64>
  return %0, %1 : tensor<?x64xf32>, tensor<?xi64>
}

// Dims that are already static must agree, and stay.
// CHECK-LABEL: func.func @already_static(
// CHECK-SAME: [[X:%[^:]+]]: tensor<8x64xf32> {pz.input = "x"}, [[LABELS:%[^:]+]]: tensor<8xi64> {pz.input = "labels"}) -> tensor<f32>
// CHECK-NEXT: [[CROSS_ENTROPY:%.*]] = pz.cross_entropy [[X]], [[LABELS]] sum : tensor<8x64xf32>, tensor<8xi64> -> tensor<f32>
// CHECK-NEXT: return [[CROSS_ENTROPY]] : tensor<f32>
func.func @already_static(%x: tensor<8x?xf32> {pz.input = "x"}, %labels: tensor<8xi64> {pz.input = "labels"}) -> tensor<f32> {
  %0 = pz.cross_entropy %x, %labels sum : tensor<8x?xf32>, tensor<8xi64> -> tensor<f32>
  return %0 : tensor<f32>
}

// Users whose types are tied to the input's follow it: ops with the same
// operand and result type, and the function results.
// CHECK-LABEL: func.func @tied_users(
// CHECK-SAME: [[X:%[^:]+]]: tensor<8x64xf32> {pz.input = "x"}, [[LR:%[^:]+]]: tensor<f32>) -> (tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>)
// CHECK-NEXT: [[RELU:%.*]] = pz.relu [[X]] : tensor<8x64xf32>
// CHECK-NEXT: [[SOFTMAX:%.*]] = pz.softmax [[RELU]] {axis = 1 : i64} : tensor<8x64xf32>
// CHECK-NEXT: [[SGD_UPDATE_0:%[^,]+]], [[SGD_UPDATE_1:%[^ ]+]] = pz.sgd_update [[SOFTMAX]], [[X]], [[RELU]], [[LR]] {momentum = 0.000000e+00 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>, tensor<f32>
// CHECK-NEXT: return [[SGD_UPDATE_0]], [[X]], [[SOFTMAX]] : tensor<8x64xf32>, tensor<8x64xf32>, tensor<8x64xf32>
func.func @tied_users(%x: tensor<?x64xf32> {pz.input = "x"}, %lr: tensor<f32>) -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %0 = pz.relu %x : tensor<?x64xf32>
  %1 = pz.softmax %0 {axis = 1 : i64} : tensor<?x64xf32>
  %2:2 = pz.sgd_update %1, %x, %0, %lr {momentum = 0.0 : f64, weight_decay = 0.0 : f64} : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<f32>
  return %2#0, %x, %1 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// Only pz.input names count: a parameter or an unmarked argument named
// like an input is not touched.
// CHECK-LABEL: func.func @not_inputs(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x64xf32> {pz.param = "x"}, [[Y:%[^:]+]]: tensor<?xi64>) -> tensor<?x64xf32>
// CHECK-NEXT: return [[X]] : tensor<?x64xf32>
func.func @not_inputs(%x: tensor<?x64xf32> {pz.param = "x"}, %y: tensor<?xi64>) -> tensor<?x64xf32> {
  return %x : tensor<?x64xf32>
}

// Declarations are skipped.
// CHECK-LABEL: func.func private @declaration(
// CHECK-SAME: tensor<?x64xf32> {pz.input = "x"}) -> tensor<?x64xf32>
func.func private @declaration(tensor<?x64xf32> {pz.input = "x"}) -> tensor<?x64xf32>
