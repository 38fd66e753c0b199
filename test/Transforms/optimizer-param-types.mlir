// RUN: parallelize-opt %s -pz-optimizer="optimizer=sgd weight-decay=0.1" | FileCheck %s

// Plain SGD on a non-f32 parameter casts the learning rate and the decay
// to the parameter's type.
// CHECK-LABEL: func.func @optimizer_step(
// CHECK: %[[WD:.*]] = pz.cast %{{.*}} : tensor<f32> to f64
// CHECK: pz.mul %{{.*}}, %[[WD]] : tensor<4xf64>, tensor<f64>
// CHECK: %[[LR:.*]] = pz.cast %{{.*}} : tensor<f32> to f64
// CHECK: pz.mul %{{.*}}, %[[LR]] : tensor<4xf64>, tensor<f64>
module {
  func.func @forward_backward(%w: tensor<4xf64> {pz.param = "w"}) -> (tensor<f64> {pz.output = "loss"}, tensor<4xf64> {pz.grad = "w"}) {
    %l = pz.reduce_sum %w [0] : tensor<4xf64> -> tensor<f64>
    return %l, %w : tensor<f64>, tensor<4xf64>
  }
}
