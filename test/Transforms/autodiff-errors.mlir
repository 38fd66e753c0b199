// RUN: parallelize-opt %s -split-input-file -pz-autodiff -verify-diagnostics

// expected-error @+1 {{no output is named 'loss' (outputs: logits); name the loss with --loss NAME or add one with --add-loss cross-entropy}}
func.func @forward(%w: tensor<4xf32> {pz.param = "w"}) -> (tensor<4xf32> {pz.output = "logits"}) {
  %y = pz.exp %w : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// expected-error @+1 {{the loss 'loss' must be a float scalar, got 'tensor<4xf32>'}}
func.func @forward(%w: tensor<4xf32> {pz.param = "w"}) -> (tensor<4xf32> {pz.output = "loss"}) {
  %y = pz.exp %w : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// An op on the path from a parameter to the loss without a VJP.
func.func @forward(%w: tensor<4xf32> {pz.param = "w"}, %g: tensor<4xf32> {pz.input = "g"}, %lr: tensor<f32> {pz.input = "lr"}) -> (tensor<f32> {pz.output = "loss"}) {
  // expected-error @+1 {{cannot differentiate 'pz.sgd_update': the op has no VJP}}
  %p, %b = pz.sgd_update %w, %g, %g, %lr {momentum = 0.0 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>
  %l = pz.reduce_sum %p [0] : tensor<4xf32> -> tensor<f32>
  return %l : tensor<f32>
}

// -----

// expected-error @+1 {{no function @forward to differentiate}}
module {
  func.func @model(%w: tensor<4xf32>) -> tensor<4xf32> {
    return %w : tensor<4xf32>
  }
}

// -----

// A reduction over a dynamic dim cannot broadcast its cotangent back; the
// error names the first such op that the backward pass reaches.
func.func @forward(%x: tensor<?x4xf64> {pz.param = "x"}) -> (tensor<f64> {pz.output = "loss"}) {
  %m = pz.reduce_mean %x [1] : tensor<?x4xf64> -> tensor<?xf64>
  // expected-error @+1 {{'pz.reduce_sum' op needs static shapes to differentiate, got 'tensor<?xf64>'; fix the dynamic dims with --input-shape}}
  %l = pz.reduce_sum %m [0] : tensor<?xf64> -> tensor<f64>
  return %l : tensor<f64>
}
