// RUN: parallelize-opt %s --pass-pipeline='builtin.module(builtin.module(pz-split-forward-backward))' | FileCheck %s

// The ops a stage's output needs go to @stage_forward, the rest to
// @stage_backward; forward values the backward reads are the saved set,
// results of the one and arguments of the other. Constants are not
// saved. Arguments go where they are read.

// CHECK-LABEL: module @stage_0
// CHECK: func.func @stage_forward(%[[X:.*]]: tensor<4x8xf32> {pz.input = "x"}, %[[W:.*]]: tensor<8x8xf32> {pz.param = "h.0.weight"}) -> (tensor<4x8xf32> {pz.pipe = "activation"}, tensor<4x8xf32> {pz.saved = "saved.0"})
// CHECK-NEXT: %[[MM:.*]] = pz.matmul %[[X]], %[[W]]
// CHECK-NEXT: %[[R:.*]] = pz.relu %[[MM]]
// CHECK-NEXT: return %[[R]], %[[MM]]
// CHECK: func.func @stage_backward(%[[BX:.*]]: tensor<4x8xf32> {pz.input = "x"}, %[[G:.*]]: tensor<4x8xf32> {pz.pipe = "activation_grad"}, %[[S:.*]]: tensor<4x8xf32> {pz.saved = "saved.0"}) -> (tensor<8x8xf32> {pz.grad = "h.0.weight"})
// CHECK-NEXT: %[[DR:.*]] = pz.relu_grad %[[G]], %[[S]]
// CHECK-NEXT: %[[DW:.*]] = pz.matmul %[[DR]], %[[BX]] {transpose_lhs}
// CHECK-NEXT: return %[[DW]]
// CHECK-NOT: @forward_backward

// CHECK-LABEL: module @stage_1
// CHECK: func.func @stage_forward(%{{.*}}: tensor<4x8xf32> {pz.pipe = "activation"}, %{{.*}}: tensor<8x8xf32> {pz.param = "h.1.weight"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<4x8xf32> {pz.saved = "saved.0"})
// CHECK-NOT: pz.constant
// CHECK: %[[T:.*]] = pz.tanh
// CHECK-NEXT: %[[L:.*]] = pz.reduce_mean %[[T]]
// CHECK-NEXT: return %[[L]], %[[T]]
// CHECK: func.func @stage_backward(%[[H:.*]]: tensor<4x8xf32> {pz.pipe = "activation"}, %[[W2:.*]]: tensor<8x8xf32> {pz.param = "h.1.weight"}, %[[ST:.*]]: tensor<4x8xf32> {pz.saved = "saved.0"}) -> (tensor<8x8xf32> {pz.grad = "h.1.weight"}, tensor<4x8xf32> {pz.pipe = "activation_grad"})
// CHECK: pz.constant dense<3.200000e+01>
// CHECK: pz.mul %[[ST]], %[[ST]]
// CHECK: return

// A module that is not a stage is left alone.
// CHECK-LABEL: module @whole
// CHECK: func.func @forward_backward
module {
  module @stage_0 attributes {pz.stage = {flops = 1536 : i64, index = 0 : i64}} {
    func.func @forward_backward(%arg0: tensor<4x8xf32> {pz.input = "x"}, %arg1: tensor<8x8xf32> {pz.param = "h.0.weight"}, %arg2: tensor<4x8xf32> {pz.pipe = "activation_grad"}) -> (tensor<4x8xf32> {pz.pipe = "activation"}, tensor<8x8xf32> {pz.grad = "h.0.weight"}) {
      %matmul = pz.matmul %arg0, %arg1 {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      %relu = pz.relu %matmul : tensor<4x8xf32>
      %grad = pz.relu_grad %arg2, %matmul : tensor<4x8xf32>
      %grad_0 = pz.matmul %grad, %arg0 {transpose_lhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
      return %relu, %grad_0 : tensor<4x8xf32>, tensor<8x8xf32>
    }
  }
  module @stage_1 attributes {pz.stage = {flops = 1539 : i64, index = 1 : i64}} {
    func.func @forward_backward(%arg0: tensor<4x8xf32> {pz.pipe = "activation"}, %arg1: tensor<8x8xf32> {pz.param = "h.1.weight"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<8x8xf32> {pz.grad = "h.1.weight"}, tensor<4x8xf32> {pz.pipe = "activation_grad"}) {
      %grad = pz.constant dense<3.200000e+01> : tensor<f32>
      %constant = pz.constant dense<1.000000e+00> : tensor<f32>
      %matmul = pz.matmul %arg0, %arg1 {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      %tanh = pz.tanh %matmul : tensor<4x8xf32>
      %reduce_mean = pz.reduce_mean %tanh [0, 1] : tensor<4x8xf32> -> tensor<f32>
      %grad_0 = pz.div %constant, %grad : tensor<f32>, tensor<f32> -> tensor<f32>
      %grad_1 = pz.reshape %grad_0 [1, 1] : tensor<f32> -> tensor<1x1xf32>
      %grad_2 = pz.broadcast %grad_1 [4, 8] : tensor<1x1xf32> -> tensor<4x8xf32>
      %grad_3 = pz.mul %tanh, %tanh : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
      %grad_4 = pz.sub %constant, %grad_3 : tensor<f32>, tensor<4x8xf32> -> tensor<4x8xf32>
      %grad_5 = pz.mul %grad_2, %grad_4 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
      %grad_6 = pz.matmul %grad_5, %arg1 : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      %grad_7 = pz.matmul %grad_5, %arg0 {transpose_lhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
      return %reduce_mean, %grad_7, %grad_6 : tensor<f32>, tensor<8x8xf32>, tensor<4x8xf32>
    }
  }
  module @whole {
    func.func @forward_backward(%arg0: tensor<4x8xf32> {pz.param = "w"}) -> (tensor<4x8xf32> {pz.grad = "w"}) {
      return %arg0 : tensor<4x8xf32>
    }
  }
}
