// RUN: parallelize-opt %s -split-input-file --pz-saved-activations | FileCheck %s

// The forward pass keeps %t (4 x 8 f32, read by the backward pass after the
// loss) and %m (4 x 8 i1, a byte each); %h is read only before the loss,
// %x and %w are an input and a parameter, the constants are not
// activations.
// CHECK-LABEL: func.func @forward_backward
// CHECK-SAME: attributes {pz.saved_activation_bytes = 160 : i64}
func.func @forward_backward(%x: tensor<4x8xf32> {pz.input = "x"}, %w: tensor<8x8xf32> {pz.param = "w"})
    -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<8x8xf32> {pz.grad = "w"}) {
  %c = pz.constant dense<1.0> : tensor<4x8xf32>
  %h = pz.matmul %x, %w : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %t = pz.tanh %h : tensor<4x8xf32>
  %z = pz.constant dense<0.0> : tensor<8xf32>
  %m = pz.compare gt, %h, %z : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xi1>
  %l = pz.reduce_sum %t [0, 1] : tensor<4x8xf32> -> tensor<f32>
  %g = pz.mul %t, %c : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %s = pz.where %m, %g, %c : tensor<4x8xi1>, tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %dw = pz.matmul %x, %s {transpose_lhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
  return %l, %dw : tensor<f32>, tensor<8x8xf32>
}

// -----

// Without a loss result: nothing recorded.
// CHECK-LABEL: func.func @forward_backward
// CHECK-NOT: pz.saved_activation_bytes
func.func @forward_backward(%x: tensor<4xf32> {pz.input = "x"}) -> (tensor<4xf32> {pz.output = "y"}) {
  %t = pz.tanh %x : tensor<4xf32>
  return %t : tensor<4xf32>
}

// -----

// Values computed from parameters and the rank's coordinate alone are not
// activations, though the backward pass reads them: only %h (4 x 8 f32).
// CHECK-LABEL: func.func @forward_backward
// CHECK-SAME: attributes {pz.saved_activation_bytes = 128 : i64}
func.func @forward_backward(%x: tensor<4x8xf32> {pz.input = "x"}, %w: tensor<8x8xf32> {pz.param = "w"},
                            %k: tensor<i64> {pz.input = "tp_index", pz.role = #pz.role<tp_index>})
    -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<8x8xf32> {pz.grad = "w"}, tensor<i64> {pz.output = "k"}) {
  %wt = pz.transpose %w [1, 0] : tensor<8x8xf32> -> tensor<8x8xf32>
  %c = pz.constant dense<2> : tensor<i64>
  %k2 = pz.mul %k, %c : tensor<i64>, tensor<i64> -> tensor<i64>
  %h = pz.matmul %x, %wt : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %l = pz.reduce_sum %h [0, 1] : tensor<4x8xf32> -> tensor<f32>
  %g0 = pz.matmul %h, %x {transpose_lhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
  %g = pz.matmul %g0, %wt : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
  %k3 = pz.add %k2, %c : tensor<i64>, tensor<i64> -> tensor<i64>
  return %l, %g, %k3 : tensor<f32>, tensor<8x8xf32>, tensor<i64>
}
