// RUN: parallelize-opt %s -pz-autodiff -canonicalize -cse -mlir-print-debuginfo | FileCheck %s

// The MLP: every parameter gets a gradient, named after it; data inputs and
// a parameter the loss does not use get none; gradients of a value used
// twice add up; backward ops carry their forward op's location.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[X:.*]]: tensor<8x4xf32> {pz.input = "x"}
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<16x4xf32> {pz.grad = "w1"}, tensor<16xf32> {pz.grad = "b1"})
// The mean over 8x16 elements seeds 1/128 everywhere; d(hb*hb) = 2 hb g
// arrives as g*hb + g*hb; the bias gradient sums over the batch.
// CHECK: %[[COUNT:.*]] = pz.constant dense<1.280000e+02> : tensor<f32>
// CHECK: %[[SEED:.*]] = pz.constant dense<1.000000e+00> : tensor<f32>
// CHECK: %[[H:.*]] = pz.matmul %[[X]], %[[W1:.*]] {transpose_rhs}
// CHECK: %[[HB:.*]] = pz.add %[[H]]
// CHECK: %[[SQ:.*]] = pz.mul %[[HB]], %[[HB]]
// CHECK: %[[L:.*]] = pz.reduce_mean %[[SQ]] [0, 1]
// CHECK: %[[G0:.*]] = pz.div %[[SEED]], %[[COUNT]]
// CHECK: %[[G1:.*]] = pz.reshape %[[G0]] [1, 1]
// CHECK: %[[G2:.*]] = pz.broadcast %[[G1]] [8, 16]
// CHECK: %[[A:.*]] = pz.mul %[[G2]], %[[HB]]
// CHECK: %[[SUM:.*]] = pz.add %[[A]], %[[A]]
// CHECK: %[[DB:.*]] = pz.reduce_sum %[[SUM]] [0] {keepdims}
// CHECK: %[[DB2:.*]] = pz.reshape %[[DB]] [16]
// CHECK: %[[DW:.*]] = pz.matmul %[[SUM]], %[[X]] {transpose_lhs} : tensor<8x16xf32>, tensor<8x4xf32> -> tensor<16x4xf32> loc(#[[LOC:loc[0-9]*]])
// CHECK: return %[[L]], %[[DW]], %[[DB2]]
// CHECK: #[[LOC]] = loc("fc1/grad"(#{{loc[0-9]*}}))
func.func @forward(%x: tensor<8x4xf32> {pz.input = "x"}, %w1: tensor<16x4xf32> {pz.param = "w1"}, %b1: tensor<16xf32> {pz.param = "b1"}, %unused: tensor<3xf32> {pz.param = "unused"}) -> (tensor<f32> {pz.output = "loss"}) {
  %h = pz.matmul %x, %w1 {transpose_rhs} : tensor<8x4xf32>, tensor<16x4xf32> -> tensor<8x16xf32> loc("fc1")
  %hb = pz.add %h, %b1 : tensor<8x16xf32>, tensor<16xf32> -> tensor<8x16xf32>
  %sq = pz.mul %hb, %hb : tensor<8x16xf32>, tensor<8x16xf32> -> tensor<8x16xf32>
  %l = pz.reduce_mean %sq [0, 1] : tensor<8x16xf32> -> tensor<f32>
  return %l : tensor<f32>
}
