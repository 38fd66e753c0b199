// RUN: parallelize-opt %s --pass-pipeline='builtin.module(builtin.module(pz-autodiff,canonicalize,cse))' | FileCheck %s

// Pipeline stages (pz-split-stages): a stage before the last is
// differentiated from its activation's gradient, a new argument; a stage
// after the first also returns the gradient of its activation input.

// CHECK-LABEL: module @stage_0
// CHECK: func.func @forward_backward(%[[X:.*]]: tensor<4x8xf32> {pz.input = "x"}, %[[W:.*]]: tensor<8x8xf32> {pz.param = "h.0.weight"}, %[[G:.*]]: tensor<4x8xf32> {pz.pipe = "activation_grad"}) -> (tensor<4x8xf32> {pz.pipe = "activation"}, tensor<8x8xf32> {pz.grad = "h.0.weight"})
// CHECK-NEXT: %[[MM:.*]] = pz.matmul %[[X]], %[[W]] {transpose_rhs}
// CHECK-NEXT: %[[R:.*]] = pz.relu %[[MM]]
// CHECK-NEXT: %[[DR:.*]] = pz.relu_grad %[[G]], %[[MM]]
// CHECK-NEXT: %[[DW:.*]] = pz.matmul %[[DR]], %[[X]] {transpose_lhs}
// CHECK-NEXT: return %[[R]], %[[DW]]

// CHECK-LABEL: module @stage_1
// CHECK: func.func @forward_backward(%[[H:.*]]: tensor<4x8xf32> {pz.pipe = "activation"}, %[[W2:.*]]: tensor<8x8xf32> {pz.param = "h.1.weight"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<8x8xf32> {pz.grad = "h.1.weight"}, tensor<4x8xf32> {pz.pipe = "activation_grad"})
// CHECK: pz.sub
// CHECK-NEXT: %[[D:.*]] = pz.mul %{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: %[[DH:.*]] = pz.matmul %[[D]], %[[W2]] :
// CHECK-NEXT: %[[DW2:.*]] = pz.matmul %[[D]], %[[H]] {transpose_lhs}
// CHECK-NEXT: return %{{.*}}, %[[DW2]], %[[DH]]
module {
  module @stage_0 attributes {pz.stage = {flops = 1536 : i64, index = 0 : i64}} {
    func.func @forward(%x: tensor<4x8xf32> {pz.input = "x"}, %w1: tensor<8x8xf32> {pz.param = "h.0.weight"}) -> (tensor<4x8xf32> {pz.pipe = "activation"}) {
      %h1 = pz.matmul %x, %w1 {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      %r1 = pz.relu %h1 : tensor<4x8xf32>
      return %r1 : tensor<4x8xf32>
    }
  }
  module @stage_1 attributes {pz.stage = {flops = 1539 : i64, index = 1 : i64}} {
    func.func @forward(%h: tensor<4x8xf32> {pz.pipe = "activation"}, %w2: tensor<8x8xf32> {pz.param = "h.1.weight"}) -> (tensor<f32> {pz.output = "loss"}) {
      %h2 = pz.matmul %h, %w2 {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
      %t = pz.tanh %h2 : tensor<4x8xf32>
      %l = pz.reduce_mean %t [0, 1] : tensor<4x8xf32> -> tensor<f32>
      return %l : tensor<f32>
    }
  }
}
