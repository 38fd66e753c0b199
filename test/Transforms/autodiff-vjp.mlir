// RUN: parallelize-opt %s -split-input-file -pz-autodiff | FileCheck %s
//
// The VJP of every differentiable op, one case each. Each case feeds a
// parameter through the op and sums the result into the loss, so the
// result's cotangent is a broadcast 1. The checks follow the backward ops
// that the op's buildVJP emits; every line was checked by hand against the
// op's derivative (see lib/Dialect/PZ/IR/VJP*.cpp). Finite-difference
// checks of the same VJPs run in unittests/Interp.

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}, %b: tensor<3xf32> {pz.param = "b"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.add %x, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"}, tensor<3xf32> {pz.grad = "b"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.reduce_sum %grad_0 [0] {keepdims} : tensor<2x3xf32> -> tensor<1x3xf32>
// CHECK-NEXT: %grad_2 = pz.reshape %grad_1 [3] : tensor<1x3xf32> -> tensor<3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_0, %grad_2 : tensor<f32>, tensor<2x3xf32>, tensor<3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}, %b: tensor<3xf32> {pz.param = "b"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.sub %x, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"}, tensor<3xf32> {pz.grad = "b"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.neg %grad_0 : tensor<2x3xf32>
// CHECK-NEXT: %grad_2 = pz.reduce_sum %grad_1 [0] {keepdims} : tensor<2x3xf32> -> tensor<1x3xf32>
// CHECK-NEXT: %grad_3 = pz.reshape %grad_2 [3] : tensor<1x3xf32> -> tensor<3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_0, %grad_3 : tensor<f32>, tensor<2x3xf32>, tensor<3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}, %b: tensor<3xf32> {pz.param = "b"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.mul %x, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"}, tensor<3xf32> {pz.grad = "b"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.mul %grad_0, %arg1 : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_2 = pz.mul %grad_0, %arg0 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_3 = pz.reduce_sum %grad_2 [0] {keepdims} : tensor<2x3xf32> -> tensor<1x3xf32>
// CHECK-NEXT: %grad_4 = pz.reshape %grad_3 [3] : tensor<1x3xf32> -> tensor<3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1, %grad_4 : tensor<f32>, tensor<2x3xf32>, tensor<3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}, %b: tensor<3xf32> {pz.param = "b"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.div %x, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"}, tensor<3xf32> {pz.grad = "b"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.div %grad_0, %arg1 : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_2 = pz.mul %grad_0, %div : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_3 = pz.div %grad_2, %arg1 : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_4 = pz.neg %grad_3 : tensor<2x3xf32>
// CHECK-NEXT: %grad_5 = pz.reduce_sum %grad_4 [0] {keepdims} : tensor<2x3xf32> -> tensor<1x3xf32>
// CHECK-NEXT: %grad_6 = pz.reshape %grad_5 [3] : tensor<1x3xf32> -> tensor<3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1, %grad_6 : tensor<f32>, tensor<2x3xf32>, tensor<3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}, %b: tensor<3xf32> {pz.param = "b"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.pow %x, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"}, tensor<3xf32> {pz.grad = "b"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad_2 = pz.sub %arg1, %grad_1 : tensor<3xf32>, tensor<f32> -> tensor<3xf32>
// CHECK-NEXT: %grad_3 = pz.pow %arg0, %grad_2 : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_4 = pz.mul %arg1, %grad_3 : tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_5 = pz.mul %grad_0, %grad_4 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_6 = pz.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad_7 = pz.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad_8 = pz.compare eq, %arg1, %grad_7 : tensor<3xf32>, tensor<f32> -> tensor<3xi1>
// CHECK-NEXT: %grad_9 = pz.where %grad_8, %grad_6, %grad_5 : tensor<3xi1>, tensor<f32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_10 = pz.log %arg0 : tensor<2x3xf32>
// CHECK-NEXT: %grad_11 = pz.mul %pow, %grad_10 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_12 = pz.mul %grad_0, %grad_11 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_13 = pz.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad_14 = pz.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad_15 = pz.compare ge, %arg1, %grad_14 : tensor<3xf32>, tensor<f32> -> tensor<3xi1>
// CHECK-NEXT: %grad_16 = pz.where %grad_15, %grad_13, %grad_12 : tensor<3xi1>, tensor<f32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_17 = pz.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad_18 = pz.compare eq, %arg0, %grad_17 : tensor<2x3xf32>, tensor<f32> -> tensor<2x3xi1>
// CHECK-NEXT: %grad_19 = pz.where %grad_18, %grad_16, %grad_12 : tensor<2x3xi1>, tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_20 = pz.reduce_sum %grad_19 [0] {keepdims} : tensor<2x3xf32> -> tensor<1x3xf32>
// CHECK-NEXT: %grad_21 = pz.reshape %grad_20 [3] : tensor<1x3xf32> -> tensor<3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_9, %grad_21 : tensor<f32>, tensor<2x3xf32>, tensor<3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.neg %x : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.neg %grad_0 : tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.exp %x : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.mul %grad_0, %exp : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.log %x : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.div %grad_0, %arg0 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.sqrt %x : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.constant dense<2.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad_2 = pz.mul %sqrt, %grad_1 : tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_3 = pz.div %grad_0, %grad_2 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_3 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.rsqrt %x : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.mul %rsqrt, %rsqrt : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_2 = pz.mul %grad_1, %rsqrt : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_3 = pz.constant dense<-5.000000e-01> : tensor<f32>
// CHECK-NEXT: %grad_4 = pz.mul %grad_2, %grad_3 : tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_5 = pz.mul %grad_0, %grad_4 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_5 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.tanh %x : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.mul %tanh, %tanh : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_2 = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad_3 = pz.sub %grad_2, %grad_1 : tensor<f32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_4 = pz.mul %grad_0, %grad_3 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_4 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.erf %x : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.mul %arg0, %arg0 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_2 = pz.neg %grad_1 : tensor<2x3xf32>
// CHECK-NEXT: %grad_3 = pz.exp %grad_2 : tensor<2x3xf32>
// CHECK-NEXT: %grad_4 = pz.constant dense<1.12837923> : tensor<f32>
// CHECK-NEXT: %grad_5 = pz.mul %grad_3, %grad_4 : tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_6 = pz.mul %grad_0, %grad_5 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_6 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.relu %x : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.relu_grad %grad_0, %arg0 : tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.sigmoid %x : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad_2 = pz.sub %grad_1, %sigmoid : tensor<f32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_3 = pz.mul %sigmoid, %grad_2 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_4 = pz.mul %grad_0, %grad_3 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_4 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.silu %x : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.sigmoid %arg0 : tensor<2x3xf32>
// CHECK-NEXT: %grad_2 = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad_3 = pz.sub %grad_2, %grad_1 : tensor<f32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_4 = pz.mul %arg0, %grad_3 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_5 = pz.add %grad_2, %grad_4 : tensor<f32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_6 = pz.mul %grad_1, %grad_5 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_7 = pz.mul %grad_0, %grad_6 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_7 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.gelu %x tanh : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.gelu_grad %grad_0, %arg0 tanh : tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.dropout %x {rate = 5.0e-01 : f64, seed = 7 : i64} : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.dropout %grad_0 {rate = 5.000000e-01 : f64, seed = 7 : i64} : tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.softmax %x {axis = 1 : i64} : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.mul %grad_0, %softmax : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_2 = pz.reduce_sum %grad_1 [1] {keepdims} : tensor<2x3xf32> -> tensor<2x1xf32>
// CHECK-NEXT: %grad_3 = pz.sub %grad_0, %grad_2 : tensor<2x3xf32>, tensor<2x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_4 = pz.mul %softmax, %grad_3 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_4 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.log_softmax %x {axis = 1 : i64} : tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.reduce_sum %grad_0 [1] {keepdims} : tensor<2x3xf32> -> tensor<2x1xf32>
// CHECK-NEXT: %grad_2 = pz.exp %log_softmax : tensor<2x3xf32>
// CHECK-NEXT: %grad_3 = pz.mul %grad_2, %grad_1 : tensor<2x3xf32>, tensor<2x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_4 = pz.sub %grad_0, %grad_3 : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_4 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}, %w: tensor<3xf32> {pz.param = "w"}, %b: tensor<3xf32> {pz.param = "b"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.layer_norm %x scale(%w : tensor<3xf32>) bias(%b : tensor<3xf32>) {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<2x3xf32> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"}, tensor<3xf32> {pz.grad = "w"}, tensor<3xf32> {pz.grad = "b"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_0_1, %grad_1, %grad_2 = pz.layer_norm_grad %grad_0, %arg0 scale(%arg1 : tensor<3xf32>) {axis = 1 : i64, epsilon = 1.000000e-05 : f64} : tensor<2x3xf32> -> tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_0_1, %grad_1, %grad_2 : tensor<f32>, tensor<2x3xf32>, tensor<3xf32>, tensor<3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}, %w: tensor<3xf32> {pz.param = "w"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.rms_norm %x scale(%w : tensor<3xf32>) {axis = 1 : i64, epsilon = 1.0e-06 : f64} : tensor<2x3xf32> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"}, tensor<3xf32> {pz.grad = "w"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_0_1, %grad_1 = pz.rms_norm_grad %grad_0, %arg0 scale(%arg1 : tensor<3xf32>) {axis = 1 : i64, epsilon = 9.9999999999999995E-7 : f64} : tensor<2x3xf32> -> tensor<2x3xf32>, tensor<3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_0_1, %grad_1 : tensor<f32>, tensor<2x3xf32>, tensor<3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.reduce_mean %x [1] : tensor<2x3xf32> -> tensor<2xf32>
  %l = pz.reduce_sum %y [0] : tensor<2xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1] : tensor<f32> -> tensor<1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2] : tensor<1xf32> -> tensor<2xf32>
// CHECK-NEXT: %grad_1 = pz.constant dense<3.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad_2 = pz.div %grad_0, %grad_1 : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
// CHECK-NEXT: %grad_3 = pz.reshape %grad_2 [2, 1] : tensor<2xf32> -> tensor<2x1xf32>
// CHECK-NEXT: %grad_4 = pz.broadcast %grad_3 [2, 3] : tensor<2x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_4 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.reduce_max %x [1] {keepdims} : tensor<2x3xf32> -> tensor<2x1xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x1xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 1] : tensor<1x1xf32> -> tensor<2x1xf32>
// CHECK-NEXT: %grad_1 = pz.reduce_max_grad %grad_0, %arg0 [1] {keepdims} : tensor<2x1xf32>, tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<4x2x3xf32> {pz.param = "x"}, %w: tensor<5x3xf32> {pz.param = "w"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.matmul %x, %w {transpose_rhs} : tensor<4x2x3xf32>, tensor<5x3xf32> -> tensor<4x2x5xf32>
  %l = pz.reduce_sum %y [0, 1, 2] : tensor<4x2x5xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<4x2x3xf32> {pz.grad = "x"}, tensor<5x3xf32> {pz.grad = "w"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1, 1] : tensor<f32> -> tensor<1x1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [4, 2, 5] : tensor<1x1x1xf32> -> tensor<4x2x5xf32>
// CHECK-NEXT: %grad_1 = pz.matmul %grad_0, %arg1 : tensor<4x2x5xf32>, tensor<5x3xf32> -> tensor<4x2x3xf32>
// CHECK-NEXT: %grad_2 = pz.matmul %grad_0, %arg0 {transpose_lhs} : tensor<4x2x5xf32>, tensor<4x2x3xf32> -> tensor<4x5x3xf32>
// CHECK-NEXT: %grad_3 = pz.reduce_sum %grad_2 [0] {keepdims} : tensor<4x5x3xf32> -> tensor<1x5x3xf32>
// CHECK-NEXT: %grad_4 = pz.reshape %grad_3 [5, 3] : tensor<1x5x3xf32> -> tensor<5x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1, %grad_4 : tensor<f32>, tensor<4x2x3xf32>, tensor<5x3xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.reshape %x [6] : tensor<2x3xf32> -> tensor<6xf32>
  %l = pz.reduce_sum %y [0] : tensor<6xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1] : tensor<f32> -> tensor<1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [6] : tensor<1xf32> -> tensor<6xf32>
// CHECK-NEXT: %grad_1 = pz.reshape %grad_0 [2, 3] : tensor<6xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<f32>, tensor<2x3xf32>

// -----

func.func @forward(%x: tensor<2x3x4xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.transpose %x [1, 2, 0] : tensor<2x3x4xf32> -> tensor<3x4x2xf32>
  %l = pz.reduce_sum %y [0, 1, 2] : tensor<3x4x2xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3x4xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1, 1] : tensor<f32> -> tensor<1x1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [3, 4, 2] : tensor<1x1x1xf32> -> tensor<3x4x2xf32>
// CHECK-NEXT: %grad_1 = pz.transpose %grad_0 [2, 0, 1] : tensor<3x4x2xf32> -> tensor<2x3x4xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<f32>, tensor<2x3x4xf32>

// -----

func.func @forward(%x: tensor<3xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.broadcast %x [2, 3] : tensor<3xf32> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.reduce_sum %grad_0 [0] {keepdims} : tensor<2x3xf32> -> tensor<1x3xf32>
// CHECK-NEXT: %grad_2 = pz.reshape %grad_1 [3] : tensor<1x3xf32> -> tensor<3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_2 : tensor<f32>, tensor<3xf32>

// -----

func.func @forward(%x: tensor<2x6xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.slice %x starts [0, 1] ends [2, 6] steps [1, 2] : tensor<2x6xf32> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x6xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.slice_grad %grad_0 [2, 6] starts [0, 1] ends [2, 6] steps [1, 2] : tensor<2x3xf32> -> tensor<2x6xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<f32>, tensor<2x6xf32>

// -----

// A negative step: the cotangent goes back to the positions the slice read,
// in the same order, through the same starts, ends and steps.
func.func @forward(%x: tensor<2x6xf32> {pz.param = "x"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.slice %x starts [1, 5] ends [-1, 0] steps [-1, -2] : tensor<2x6xf32> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x6xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.slice_grad %grad_0 [2, 6] starts [1, 5] ends [-1, 0] steps [-1, -2] : tensor<2x3xf32> -> tensor<2x6xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<f32>, tensor<2x6xf32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}, %z: tensor<2x1xf32> {pz.param = "z"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.concat %x, %z {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x4xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"}, tensor<2x1xf32> {pz.grad = "z"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 4] : tensor<1x1xf32> -> tensor<2x4xf32>
// CHECK-NEXT: %grad_1 = pz.slice %grad_0 starts [0, 0] ends [2, 3] steps [1, 1] : tensor<2x4xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_2 = pz.slice %grad_0 starts [0, 3] ends [2, 4] steps [1, 1] : tensor<2x4xf32> -> tensor<2x1xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1, %grad_2 : tensor<f32>, tensor<2x3xf32>, tensor<2x1xf32>

// -----

func.func @forward(%x: tensor<5x3xf32> {pz.param = "x"}, %i: tensor<2xi64> {pz.input = "i"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.gather %x, %i {axis = 0 : i64} : tensor<5x3xf32>, tensor<2xi64> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<5x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.gather_grad %grad_0, %arg1 [5, 3] {axis = 0 : i64} : tensor<2x3xf32>, tensor<2xi64> -> tensor<5x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<f32>, tensor<5x3xf32>

// -----

func.func @forward(%x: tensor<5x3xf32> {pz.param = "x"}, %i: tensor<2xi64> {pz.input = "i"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.embedding %x, %i : tensor<5x3xf32>, tensor<2xi64> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<5x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.embedding_grad %grad_0, %arg1 {vocab = 5 : i64} : tensor<2x3xf32>, tensor<2xi64> -> tensor<5x3xf32>
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<f32>, tensor<5x3xf32>

// -----

// padding_idx (nn.Embedding's): the pad tokens' cotangent rows are zeroed
// before the scatter, so row 2 gets nothing from the lookup.
func.func @forward(%x: tensor<5x3xf32> {pz.param = "x"}, %i: tensor<2x4xi32> {pz.input = "i"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.embedding %x, %i {padding_idx = 2 : i64} : tensor<5x3xf32>, tensor<2x4xi32> -> tensor<2x4x3xf32>
  %l = pz.reduce_sum %y [0, 1, 2] : tensor<2x4x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK: %grad_0 = pz.broadcast %grad [2, 4, 3] : tensor<1x1x1xf32> -> tensor<2x4x3xf32>
// CHECK-NEXT: %[[P:.*]] = pz.constant dense<2> : tensor<i32>
// CHECK-NEXT: %[[EQ:.*]] = pz.compare eq, %arg1, %[[P]] : tensor<2x4xi32>, tensor<i32> -> tensor<2x4xi1>
// CHECK-NEXT: %[[COL:.*]] = pz.reshape %[[EQ]] [2, 4, 1] : tensor<2x4xi1> -> tensor<2x4x1xi1>
// CHECK-NEXT: %[[Z:.*]] = pz.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[G:.*]] = pz.where %[[COL]], %[[Z]], %grad_0 : tensor<2x4x1xi1>, tensor<f32>, tensor<2x4x3xf32> -> tensor<2x4x3xf32>
// CHECK-NEXT: %[[DT:.*]] = pz.embedding_grad %[[G]], %arg1 {vocab = 5 : i64} : tensor<2x4x3xf32>, tensor<2x4xi32> -> tensor<5x3xf32>
// CHECK-NEXT: return %reduce_sum, %[[DT]] : tensor<f32>, tensor<5x3xf32>

// -----

func.func @forward(%c: tensor<2x3xi1> {pz.input = "c"}, %x: tensor<2x3xf32> {pz.param = "x"}, %z: tensor<f32> {pz.param = "z"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.where %c, %x, %z : tensor<2x3xi1>, tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<2x3xf32> {pz.grad = "x"}, tensor<f32> {pz.grad = "z"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<f32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_1 = pz.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad_2 = pz.where %arg0, %grad_0, %grad_1 : tensor<2x3xi1>, tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_3 = pz.where %arg0, %grad_1, %grad_0 : tensor<2x3xi1>, tensor<f32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %grad_4 = pz.reduce_sum %grad_3 [0, 1] {keepdims} : tensor<2x3xf32> -> tensor<1x1xf32>
// CHECK-NEXT: %grad_5 = pz.reshape %grad_4 [] : tensor<1x1xf32> -> tensor<f32>
// CHECK-NEXT: return %reduce_sum, %grad_2, %grad_5 : tensor<f32>, tensor<2x3xf32>, tensor<f32>

// -----

func.func @forward(%x: tensor<2x3xf32> {pz.param = "x"}) -> (tensor<bf16> {pz.output = "loss"}) {
  %y = pz.cast %x : tensor<2x3xf32> to bf16
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xbf16> -> tensor<bf16>
  return %l : tensor<bf16>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<bf16> {pz.output = "loss"}, tensor<2x3xf32> {pz.grad = "x"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<bf16>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1] : tensor<bf16> -> tensor<1x1xbf16>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xbf16> -> tensor<2x3xbf16>
// CHECK-NEXT: %grad_1 = pz.cast %grad_0 : tensor<2x3xbf16> to f32
// CHECK-NEXT: return %reduce_sum, %grad_1 : tensor<bf16>, tensor<2x3xf32>

// -----

func.func @forward(%q: tensor<1x4x3x8xf32> {pz.param = "q"}, %k: tensor<1x2x3x8xf32> {pz.param = "k"}, %v: tensor<1x2x3x8xf32> {pz.param = "v"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.attention %q, %k, %v {causal} : tensor<1x4x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x4x3x8xf32>
  %l = pz.reduce_sum %y [0, 1, 2, 3] : tensor<1x4x3x8xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<1x4x3x8xf32> {pz.grad = "q"}, tensor<1x2x3x8xf32> {pz.grad = "k"}, tensor<1x2x3x8xf32> {pz.grad = "v"})
// CHECK: %loss_seed = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK-NEXT: %grad = pz.reshape %loss_seed [1, 1, 1, 1] : tensor<f32> -> tensor<1x1x1x1xf32>
// CHECK-NEXT: %grad_0 = pz.broadcast %grad [1, 4, 3, 8] : tensor<1x1x1x1xf32> -> tensor<1x4x3x8xf32>
// CHECK-NEXT: %grad_0_1, %grad_1, %grad_2 = pz.attention_grad %grad_0, %arg0, %arg1, %arg2 {causal} : tensor<1x4x3x8xf32>, tensor<1x4x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>
// CHECK-NEXT: return %reduce_sum, %grad_0_1, %grad_1, %grad_2 : tensor<f32>, tensor<1x4x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>

// -----

// pz.max: torch.maximum's backward. Each operand gets the cotangent where it
// is the larger, half of it where the two are equal (summed over b's
// broadcast dim).
func.func @forward(%a: tensor<2x3xf32> {pz.param = "a"}, %b: tensor<3xf32> {pz.param = "b"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.max %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  %l = pz.reduce_sum %y [0, 1] : tensor<2x3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK: %grad_0 = pz.broadcast %grad [2, 3] : tensor<1x1xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %[[Z:.*]] = pz.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[WON:.*]] = pz.compare gt, %arg0, %arg1 : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xi1>
// CHECK-NEXT: %[[TIE:.*]] = pz.compare eq, %arg0, %arg1 : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xi1>
// CHECK-NEXT: %[[H:.*]] = pz.constant dense<5.000000e-01> : tensor<f32>
// CHECK-NEXT: %[[HALF:.*]] = pz.mul %grad_0, %[[H]] : tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
// CHECK-NEXT: %[[ONTIE:.*]] = pz.where %[[TIE]], %[[HALF]], %[[Z]] : tensor<2x3xi1>, tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
// CHECK-NEXT: %[[GA:.*]] = pz.where %[[WON]], %grad_0, %[[ONTIE]] : tensor<2x3xi1>, tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %[[Z2:.*]] = pz.constant dense<0.000000e+00> : tensor<f32>
// CHECK-NEXT: %[[WONB:.*]] = pz.compare gt, %arg1, %arg0 : tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xi1>
// CHECK-NEXT: %[[TIEB:.*]] = pz.compare eq, %arg1, %arg0 : tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xi1>
// CHECK: %[[GB:.*]] = pz.where %[[WONB]], %grad_0, %{{.*}} : tensor<2x3xi1>, tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: %[[SB:.*]] = pz.reduce_sum %[[GB]] [0] {keepdims} : tensor<2x3xf32> -> tensor<1x3xf32>
// CHECK-NEXT: %[[RB:.*]] = pz.reshape %[[SB]] [3] : tensor<1x3xf32> -> tensor<3xf32>
// CHECK-NEXT: return %reduce_sum, %[[GA]], %[[RB]] : tensor<f32>, tensor<2x3xf32>, tensor<3xf32>

// -----

// pz.min: the smaller operand wins.
func.func @forward(%a: tensor<3xf32> {pz.param = "a"}, %b: tensor<3xf32> {pz.param = "b"}) -> (tensor<f32> {pz.output = "loss"}) {
  %y = pz.min %a, %b : tensor<3xf32>, tensor<3xf32> -> tensor<3xf32>
  %l = pz.reduce_sum %y [0] : tensor<3xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK: pz.compare lt, %arg0, %arg1 : tensor<3xf32>, tensor<3xf32> -> tensor<3xi1>
// CHECK: pz.compare eq, %arg0, %arg1 : tensor<3xf32>, tensor<3xf32> -> tensor<3xi1>
// CHECK: pz.compare lt, %arg1, %arg0 : tensor<3xf32>, tensor<3xf32> -> tensor<3xi1>
// CHECK: pz.compare eq, %arg1, %arg0 : tensor<3xf32>, tensor<3xf32> -> tensor<3xi1>

// -----

// A constant bias (ALiBi folded from constants) is passed to the gradient,
// which recomputes the probabilities with it; it gets no gradient.
func.func @forward(%q: tensor<1x4x3x8xf32> {pz.param = "q"}, %k: tensor<1x4x3x8xf32> {pz.param = "k"}) -> (tensor<f32> {pz.output = "loss"}) {
  %b = pz.constant dense<[[[[0.0, 0.5, 1.0]], [[0.0, 0.25, 0.5]], [[0.0, 0.125, 0.25]], [[0.0, 0.0625, 0.125]]]]> : tensor<1x4x1x3xf32>
  %y = pz.attention %q, %k, %k bias(%b : tensor<1x4x1x3xf32>) {causal} : tensor<1x4x3x8xf32>, tensor<1x4x3x8xf32>, tensor<1x4x3x8xf32> -> tensor<1x4x3x8xf32>
  %l = pz.reduce_sum %y [0, 1, 2, 3] : tensor<1x4x3x8xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<1x4x3x8xf32> {pz.grad = "q"}, tensor<1x4x3x8xf32> {pz.grad = "k"})
// CHECK: [[B:%.+]] = pz.constant dense<{{.+}}> : tensor<1x4x1x3xf32>
// CHECK: pz.attention_grad %{{.+}}, %arg0, %arg1, %arg1 bias([[B]] : tensor<1x4x1x3xf32>) {causal}

// -----

// A bias computed from a parameter (slopes x positions) gets its gradient
// from pz.attention_bias_grad, summed back through the broadcast.
func.func @forward(%q: tensor<1x2x3x8xf32> {pz.param = "q"}, %slopes: tensor<1x2x1x1xf32> {pz.param = "slopes"}) -> (tensor<f32> {pz.output = "loss"}) {
  %pos = pz.constant dense<[0.0, 1.0, 2.0]> : tensor<3xf32>
  %b = pz.mul %slopes, %pos : tensor<1x2x1x1xf32>, tensor<3xf32> -> tensor<1x2x1x3xf32>
  %y = pz.attention %q, %q, %q bias(%b : tensor<1x2x1x3xf32>) {causal} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  %l = pz.reduce_sum %y [0, 1, 2, 3] : tensor<1x2x3x8xf32> -> tensor<f32>
  return %l : tensor<f32>
}
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: tensor<1x2x1x1xf32> {pz.grad = "slopes"})
// CHECK: [[B:%.+]] = pz.mul %arg1, %{{.+}} : tensor<1x2x1x1xf32>, tensor<3xf32> -> tensor<1x2x1x3xf32>
// CHECK: pz.attention_grad %{{.+}}, %arg0, %arg0, %arg0 bias([[B]] : tensor<1x2x1x3xf32>) {causal}
// CHECK-NEXT: [[DB:%.+]] = pz.attention_bias_grad %{{.+}}, %arg0, %arg0, %arg0 bias([[B]] : tensor<1x2x1x3xf32>) {causal}
// CHECK: pz.mul [[DB]], %{{.+}} : tensor<1x2x1x3xf32>, tensor<3xf32> -> tensor<1x2x1x3xf32>

