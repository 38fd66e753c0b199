// RUN: parallelize-opt %s -pz-autodiff=loss=aux | FileCheck %s

// --loss picks another output; the other outputs are dropped.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "aux", pz.role = #pz.role<loss>}, tensor<4xf32> {pz.grad = "w"})
// CHECK: %[[Y:.*]] = pz.exp
// CHECK: %[[G:.*]] = pz.mul {{.*}}, %[[Y]]
// CHECK: return {{.*}}, %[[G]]
func.func @forward(%w: tensor<4xf32> {pz.param = "w"}) -> (tensor<4xf32> {pz.output = "y"}, tensor<f32> {pz.output = "aux"}) {
  %y = pz.exp %w : tensor<4xf32>
  %s = pz.reduce_sum %y [0] : tensor<4xf32> -> tensor<f32>
  return %y, %s : tensor<4xf32>, tensor<f32>
}
