// RUN: parallelize-opt %s -split-input-file -verify-diagnostics

// Verifier errors of the optimizer updates sgd_update and adamw_update.
// Their result types are inferred while parsing the custom form, so a
// shape rule broken there is a parse error.

//===----------------------------------------------------------------------===//
// sgd_update
//===----------------------------------------------------------------------===//

func.func @sgd_momentum_one(%p: tensor<8xf32>, %lr: tensor<f32>) -> tensor<8xf32> {
  // expected-error @+1 {{'pz.sgd_update' op momentum must satisfy 0 <= momentum < 1, got 1.000000e+00}}
  %0:2 = pz.sgd_update %p, %p, %p, %lr {momentum = 1.0 : f64, weight_decay = 0.0 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>
  return %0#0 : tensor<8xf32>
}

// -----

func.func @sgd_negative_momentum(%p: tensor<8xf32>, %lr: tensor<f32>) -> tensor<8xf32> {
  // expected-error @+1 {{'pz.sgd_update' op momentum must satisfy 0 <= momentum < 1, got -1.000000e-01}}
  %0:2 = pz.sgd_update %p, %p, %p, %lr {momentum = -0.1 : f64, weight_decay = 0.0 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>
  return %0#0 : tensor<8xf32>
}

// -----

func.func @sgd_negative_weight_decay(%p: tensor<8xf32>, %lr: tensor<f32>) -> tensor<8xf32> {
  // expected-error @+1 {{'pz.sgd_update' op weight_decay must be >= 0, got -1.000000e-02}}
  %0:2 = pz.sgd_update %p, %p, %p, %lr {momentum = 0.9 : f64, weight_decay = -0.01 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>
  return %0#0 : tensor<8xf32>
}

// -----

func.func @sgd_lr_not_scalar(%p: tensor<8xf32>, %lr: tensor<1xf32>) -> tensor<8xf32> {
  // expected-error @+1 {{'pz.sgd_update' op operand #3 must be 0D tensor of 32-bit float values, but got 'tensor<1xf32>'}}
  %0:2 = pz.sgd_update %p, %p, %p, %lr {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<1xf32>
  return %0#0 : tensor<8xf32>
}

// -----

func.func @sgd_lr_bf16(%p: tensor<8xbf16>, %lr: tensor<bf16>) -> tensor<8xbf16> {
  // expected-error @+1 {{'pz.sgd_update' op operand #3 must be 0D tensor of 32-bit float values, but got 'tensor<bf16>'}}
  %0:2 = pz.sgd_update %p, %p, %p, %lr {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<8xbf16>, tensor<8xbf16>, tensor<8xbf16>, tensor<bf16>
  return %0#0 : tensor<8xbf16>
}

// -----

func.func @sgd_grad_shape(%p: tensor<8xf32>, %g: tensor<4xf32>, %lr: tensor<f32>) -> tensor<8xf32> {
  // expected-error @+1 {{the parameter, gradient and state must share one shape, got 'tensor<8xf32>' and 'tensor<4xf32>'}}
  %0:2 = pz.sgd_update %p, %g, %p, %lr {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<8xf32>, tensor<4xf32>, tensor<8xf32>, tensor<f32>
  return %0#0 : tensor<8xf32>
}

// -----

func.func @sgd_buffer_element_type(%p: tensor<8xf32>, %b: tensor<8xbf16>, %lr: tensor<f32>) -> tensor<8xf32> {
  // expected-error @+1 {{the parameter, gradient and state must share one type, got 'tensor<8xf32>' and 'tensor<8xbf16>'}}
  %0:2 = pz.sgd_update %p, %p, %b, %lr {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8xbf16>, tensor<f32>
  return %0#0 : tensor<8xf32>
}

// -----

// The shapes are checked after joining: ?x4 and 2x? join to 2x4, which
// contradicts 3x4.
func.func @sgd_joined_shape_conflict(%p: tensor<?x4xf32>, %g: tensor<2x?xf32>, %b: tensor<3x4xf32>, %lr: tensor<f32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{the parameter, gradient and state must share one shape, got 'tensor<2x4xf32>' and 'tensor<3x4xf32>'}}
  %0:2 = pz.sgd_update %p, %g, %b, %lr {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<?x4xf32>, tensor<2x?xf32>, tensor<3x4xf32>, tensor<f32>
  return %0#0 : tensor<2x4xf32>
}

// -----

func.func @sgd_result_type(%p: tensor<8xf32>, %lr: tensor<f32>) -> tensor<4xf32> {
  // expected-error @+2 {{'pz.sgd_update' op inferred type(s) 'tensor<8xf32>', 'tensor<8xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>', 'tensor<8xf32>'}}
  // expected-error @+1 {{'pz.sgd_update' op failed to infer returned types}}
  %0:2 = "pz.sgd_update"(%p, %p, %p, %lr) <{momentum = 0.9 : f64, weight_decay = 0.0 : f64}> : (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>) -> (tensor<4xf32>, tensor<8xf32>)
  return %0#0 : tensor<4xf32>
}

// -----

func.func @sgd_int_param(%p: tensor<8xi32>, %lr: tensor<f32>) -> tensor<8xi32> {
  // expected-error @+1 {{'pz.sgd_update' op operand #0 must be ranked tensor of 16-bit float}}
  %0:2 = pz.sgd_update %p, %p, %p, %lr {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<8xi32>, tensor<8xi32>, tensor<8xi32>, tensor<f32>
  return %0#0 : tensor<8xi32>
}

// -----

//===----------------------------------------------------------------------===//
// adamw_update
//===----------------------------------------------------------------------===//

func.func @adamw_beta1(%p: tensor<8xf32>, %lr: tensor<f32>, %t: tensor<i64>) -> tensor<8xf32> {
  // expected-error @+1 {{'pz.adamw_update' op beta1 must satisfy 0 <= beta1 < 1, got 1.000000e+00}}
  %0:3 = pz.adamw_update %p, %p, %p, %p, %lr, %t {beta1 = 1.0 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>, tensor<i64>
  return %0#0 : tensor<8xf32>
}

// -----

func.func @adamw_beta2(%p: tensor<8xf32>, %lr: tensor<f32>, %t: tensor<i64>) -> tensor<8xf32> {
  // expected-error @+1 {{'pz.adamw_update' op beta2 must satisfy 0 <= beta2 < 1, got -9.990000e-01}}
  %0:3 = pz.adamw_update %p, %p, %p, %p, %lr, %t {beta1 = 0.9 : f64, beta2 = -0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>, tensor<i64>
  return %0#0 : tensor<8xf32>
}

// -----

func.func @adamw_eps(%p: tensor<8xf32>, %lr: tensor<f32>, %t: tensor<i64>) -> tensor<8xf32> {
  // expected-error @+1 {{'pz.adamw_update' op eps must be positive, got 0.000000e+00}}
  %0:3 = pz.adamw_update %p, %p, %p, %p, %lr, %t {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 0.0 : f64, weight_decay = 0.0 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>, tensor<i64>
  return %0#0 : tensor<8xf32>
}

// -----

func.func @adamw_weight_decay(%p: tensor<8xf32>, %lr: tensor<f32>, %t: tensor<i64>) -> tensor<8xf32> {
  // expected-error @+1 {{'pz.adamw_update' op weight_decay must be >= 0, got -1.000000e+00}}
  %0:3 = pz.adamw_update %p, %p, %p, %p, %lr, %t {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = -1.0 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>, tensor<i64>
  return %0#0 : tensor<8xf32>
}

// -----

func.func @adamw_lr_not_scalar(%p: tensor<8xf32>, %lr: tensor<8xf32>, %t: tensor<i64>) -> tensor<8xf32> {
  // expected-error @+1 {{'pz.adamw_update' op operand #4 must be 0D tensor of 32-bit float values, but got 'tensor<8xf32>'}}
  %0:3 = pz.adamw_update %p, %p, %p, %p, %lr, %t {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<i64>
  return %0#0 : tensor<8xf32>
}

// -----

func.func @adamw_float_step(%p: tensor<8xf32>, %lr: tensor<f32>) -> tensor<8xf32> {
  // expected-error @+1 {{'pz.adamw_update' op operand #5 must be 0D tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<f32>'}}
  %0:3 = pz.adamw_update %p, %p, %p, %p, %lr, %lr {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>, tensor<f32>
  return %0#0 : tensor<8xf32>
}

// -----

func.func @adamw_step_not_scalar(%p: tensor<8xf32>, %lr: tensor<f32>, %t: tensor<1xi64>) -> tensor<8xf32> {
  // expected-error @+1 {{'pz.adamw_update' op operand #5 must be 0D tensor of 32-bit signless integer or 64-bit signless integer values, but got 'tensor<1xi64>'}}
  %0:3 = pz.adamw_update %p, %p, %p, %p, %lr, %t {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>, tensor<1xi64>
  return %0#0 : tensor<8xf32>
}

// -----

func.func @adamw_state_rank(%p: tensor<8xf32>, %m: tensor<8x1xf32>, %lr: tensor<f32>, %t: tensor<i64>) -> tensor<8xf32> {
  // expected-error @+1 {{the parameter, gradient and state must share one type, got 'tensor<8xf32>' and 'tensor<8x1xf32>'}}
  %0:3 = pz.adamw_update %p, %p, %m, %p, %lr, %t {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8x1xf32>, tensor<8xf32>, tensor<f32>, tensor<i64>
  return %0#0 : tensor<8xf32>
}

// -----

func.func @adamw_second_moment_shape(%p: tensor<8xf32>, %v: tensor<9xf32>, %lr: tensor<f32>, %t: tensor<i64>) -> tensor<8xf32> {
  // expected-error @+1 {{the parameter, gradient and state must share one shape, got 'tensor<8xf32>' and 'tensor<9xf32>'}}
  %0:3 = pz.adamw_update %p, %p, %p, %v, %lr, %t {beta1 = 0.9 : f64, beta2 = 0.999 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<9xf32>, tensor<f32>, tensor<i64>
  return %0#0 : tensor<8xf32>
}
