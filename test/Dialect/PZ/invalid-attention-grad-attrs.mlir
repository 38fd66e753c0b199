// RUN: parallelize-opt %s -split-input-file -verify-diagnostics

// attention_grad applies the mask and scale rules of attention.

func.func @attention_grad_mask_shape(%g: tensor<2x4x16x8xf32>, %m: tensor<16x8xi1>) -> tensor<2x4x16x8xf32> {
  // expected-error @+1 {{mask of shape 16x8 does not broadcast to the scores' shape 2x4x16x16}}
  %0:3 = pz.attention_grad %g, %g, %g, %g mask(%m : tensor<16x8xi1>) : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
  return %0#0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_grad_mask_element_type(%g: tensor<2x4x16x8xf32>, %m: tensor<16x16xf16>) -> tensor<2x4x16x8xf32> {
  // expected-error @+1 {{a float mask must have the query's element type 'f32', got 'f16'}}
  %0:3 = pz.attention_grad %g, %g, %g, %g mask(%m : tensor<16x16xf16>) : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
  return %0#0 : tensor<2x4x16x8xf32>
}

// -----

func.func @attention_grad_negative_scale(%g: tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32> {
  // expected-error @+1 {{scale must be positive, got -1.000000e+00}}
  %0:3 = pz.attention_grad %g, %g, %g, %g {scale = -1.0 : f64} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
  return %0#0 : tensor<2x4x16x8xf32>
}
