// RUN: parallelize-opt %s --pass-pipeline='builtin.module(builtin.module(pz-split-forward-backward))' | FileCheck %s

// Under the zb schedule the backward splits again: @stage_backward (B)
// keeps the ops the activation's gradient needs, @stage_backward_weight
// (W) the rest, the weights' gradients. B's values that W reads are more
// saved tensors, numbered after the forward's, and so are the tensors of
// the micro-batch's slot that W reads (a forward saved tensor, a received
// activation or gradient, a data input), passed through B: the slot is free
// after B. Stage 0 has no activation gradient: its B only passes W's
// inputs through, and W is its whole backward.

// CHECK-LABEL: module @stage_0
// CHECK: func.func @stage_backward(%[[X:.*]]: tensor<4x8xf32> {pz.input = "x"}, %[[G:.*]]: tensor<4x8xf32> {pz.pipe = "activation_grad"}, %[[S:.*]]: tensor<4x8xf32> {pz.saved = "saved.0"}) -> (tensor<4x8xf32> {pz.saved = "saved.1"}, tensor<4x8xf32> {pz.saved = "saved.2"}, tensor<4x8xf32> {pz.saved = "saved.3"})
// CHECK-NEXT: return %[[G]], %[[S]], %[[X]]
// CHECK: func.func @stage_backward_weight(%[[G1:.*]]: tensor<4x8xf32> {pz.saved = "saved.1"}, %[[S1:.*]]: tensor<4x8xf32> {pz.saved = "saved.2"}, %[[X1:.*]]: tensor<4x8xf32> {pz.saved = "saved.3"}) -> (tensor<8x8xf32> {pz.grad = "h.0.weight"})
// CHECK-NEXT: %[[DR:.*]] = pz.relu_grad %[[G1]], %[[S1]]
// CHECK-NEXT: %[[DW:.*]] = pz.matmul %[[DR]], %[[X1]] {transpose_lhs}
// CHECK-NEXT: return %[[DW]]

// CHECK-LABEL: module @stage_1
// CHECK: func.func @stage_forward({{.*}}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<4x8xf32> {pz.saved = "saved.0"})
// CHECK: func.func @stage_backward(%[[H:.*]]: tensor<4x8xf32> {pz.pipe = "activation"}, %[[W2:.*]]: tensor<8x8xf32> {pz.param = "h.1.weight"}, %[[ST:.*]]: tensor<4x8xf32> {pz.saved = "saved.0"}) -> (tensor<4x8xf32> {pz.pipe = "activation_grad"}, tensor<4x8xf32> {pz.saved = "saved.1"}, tensor<4x8xf32> {pz.saved = "saved.2"})
// CHECK: %[[D:.*]] = pz.mul %broadcast, %sub :
// CHECK-NEXT: %[[DX:.*]] = pz.matmul %[[D]], %[[W2]] :
// CHECK-NEXT: return %[[DX]], %[[D]], %[[H]]
// CHECK: func.func @stage_backward_weight(%[[D1:.*]]: tensor<4x8xf32> {pz.saved = "saved.1"}, %[[H1:.*]]: tensor<4x8xf32> {pz.saved = "saved.2"}) -> (tensor<8x8xf32> {pz.grad = "h.1.weight"})
// CHECK-NEXT: %[[DW2:.*]] = pz.matmul %[[D1]], %[[H1]] {transpose_lhs}
// CHECK-NEXT: return %[[DW2]]
// CHECK-NOT: @stage_backward_all

// Other schedules keep one backward.
// CHECK-LABEL: module @stage_1f1b
// CHECK: func.func @stage_backward(
// CHECK-NOT: @stage_backward_weight
module {
  module @stage_0 attributes {pz.plan = #pz.plan<pp = 2, schedule = "zb", grad_accum = 2>, pz.stage = {flops = 1536 : i64, index = 0 : i64}} {
    func.func @forward_backward(%arg0: tensor<4x8xf32> {pz.input = "x"}, %arg1: tensor<8x8xf32> {pz.param = "h.0.weight"}, %arg2: tensor<4x8xf32> {pz.pipe = "activation_grad"}) -> (tensor<4x8xf32> {pz.pipe = "activation"}, tensor<8x8xf32> {pz.grad = "h.0.weight"}) {
      %matmul = pz.matmul %arg0, %arg1 {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      %relu = pz.relu %matmul : tensor<4x8xf32>
      %grad = pz.relu_grad %arg2, %matmul : tensor<4x8xf32>
      %grad_0 = pz.matmul %grad, %arg0 {transpose_lhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
      return %relu, %grad_0 : tensor<4x8xf32>, tensor<8x8xf32>
    }
  }
  module @stage_1 attributes {pz.plan = #pz.plan<pp = 2, schedule = "zb", grad_accum = 2>, pz.stage = {flops = 1539 : i64, index = 1 : i64}} {
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
  module @stage_1f1b attributes {pz.plan = #pz.plan<pp = 2, schedule = "1f1b", grad_accum = 2>, pz.stage = {flops = 1539 : i64, index = 1 : i64}} {
    func.func @forward_backward(%arg0: tensor<4x8xf32> {pz.pipe = "activation"}, %arg1: tensor<8x8xf32> {pz.param = "h.1.weight"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<8x8xf32> {pz.grad = "h.1.weight"}, tensor<4x8xf32> {pz.pipe = "activation_grad"}) {
      %matmul = pz.matmul %arg0, %arg1 {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      %reduce_mean = pz.reduce_mean %matmul [0, 1] : tensor<4x8xf32> -> tensor<f32>
      %grad_6 = pz.matmul %matmul, %arg1 : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      %grad_7 = pz.matmul %matmul, %arg0 {transpose_lhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
      return %reduce_mean, %grad_7, %grad_6 : tensor<f32>, tensor<8x8xf32>, tensor<4x8xf32>
    }
  }
}
