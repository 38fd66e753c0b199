// RUN: parallelize-opt %s -split-input-file --pz-saved-activations | FileCheck %s

// The forward pass keeps %t (4 x 8 f32, read by the backward pass after the
// loss) and %m (8 x 8 i1, a byte each); %h is read only before the loss, %x
// and %w are an input and a parameter, the constant is not an activation.
// CHECK-LABEL: func.func @forward_backward
// CHECK-SAME: attributes {pz.saved_activation_bytes = 192 : i64}
func.func @forward_backward(%x: tensor<4x8xf32> {pz.input = "x"}, %w: tensor<8x8xf32> {pz.param = "w"})
    -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<8x8xf32> {pz.grad = "w"}) {
  %c = pz.constant dense<1.0> : tensor<4x8xf32>
  %h = pz.matmul %x, %w : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %t = pz.tanh %h : tensor<4x8xf32>
  %z = pz.constant dense<0.0> : tensor<8xf32>
  %m = pz.compare gt, %w, %z : tensor<8x8xf32>, tensor<8xf32> -> tensor<8x8xi1>
  %l = pz.reduce_sum %t [0, 1] : tensor<4x8xf32> -> tensor<f32>
  %g = pz.mul %t, %c : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %dw = pz.matmul %x, %g {transpose_lhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
  %s = pz.where %m, %dw, %w : tensor<8x8xi1>, tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
  return %l, %s : tensor<f32>, tensor<8x8xf32>
}

// -----

// Without a loss result: nothing recorded.
// CHECK-LABEL: func.func @forward_backward
// CHECK-NOT: pz.saved_activation_bytes
func.func @forward_backward(%x: tensor<4xf32> {pz.input = "x"}) -> (tensor<4xf32> {pz.output = "y"}) {
  %t = pz.tanh %x : tensor<4xf32>
  return %t : tensor<4xf32>
}
