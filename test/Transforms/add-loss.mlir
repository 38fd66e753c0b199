// RUN: parallelize-opt %s -split-input-file -pz-add-loss -verify-diagnostics | FileCheck %s

// A labels input (the logits' shape without the class dim) and a mean
// cross-entropy output named loss; the logits output stays.
// CHECK-LABEL: func.func @forward(
// CHECK-SAME: %[[IDS:[^:]*]]: tensor<2x8xi64> {pz.input = "input_ids"}
// CHECK-SAME: %[[LABELS:[^:]*]]: tensor<2x8xi64> {pz.input = "labels"}
// CHECK-SAME: -> (tensor<2x8x32xf32> {pz.output = "logits"}, tensor<f32> {pz.output = "loss"})
// CHECK: %[[LOGITS:.*]] = pz.embedding
// CHECK: %[[LOSS:.*]] = pz.cross_entropy %[[LOGITS]], %[[LABELS]] mean
// CHECK: return %[[LOGITS]], %[[LOSS]]
func.func @forward(%ids: tensor<2x8xi64> {pz.input = "input_ids"}, %wte: tensor<32x32xf32> {pz.param = "wte"}) -> (tensor<2x8x32xf32> {pz.output = "logits"}) {
  %e = pz.embedding %wte, %ids : tensor<32x32xf32>, tensor<2x8xi64> -> tensor<2x8x32xf32>
  return %e : tensor<2x8x32xf32>
}

// -----

// expected-error @+1 {{--add-loss needs an output named 'logits'}}
func.func @forward(%w: tensor<4xf32> {pz.param = "w"}) -> (tensor<4xf32> {pz.output = "y"}) {
  return %w : tensor<4xf32>
}

// -----

// expected-error @+1 {{the model already has an output named 'loss'; drop --add-loss}}
func.func @forward(%w: tensor<4xf32> {pz.param = "w"}) -> (tensor<4xf32> {pz.output = "logits"}, tensor<f32> {pz.output = "loss"}) {
  %s = pz.reduce_sum %w [0] : tensor<4xf32> -> tensor<f32>
  return %w, %s : tensor<4xf32>, tensor<f32>
}

// -----

// expected-error @+1 {{the model already has an input named 'labels'}}
func.func @forward(%w: tensor<4xf32> {pz.param = "w"}, %l: tensor<4xi64> {pz.input = "labels"}) -> (tensor<4x3xf32> {pz.output = "logits"}) {
  %b = pz.broadcast %w [3, 4] : tensor<4xf32> -> tensor<3x4xf32>
  %t = pz.transpose %b [1, 0] : tensor<3x4xf32> -> tensor<4x3xf32>
  return %t : tensor<4x3xf32>
}
