// RUN: parallelize-opt %s -pz-fuse-patterns -split-input-file | FileCheck %s

// Layer norm and RMS norm spelled out in elementwise ops and reductions
// fuse into pz.layer_norm / pz.rms_norm; `* w` and `+ b` fold into scale and
// bias. Near misses stay as they are.

// The decomposition of ONNX LayerNormalization, with affine.
// CHECK-LABEL: func.func @layer_norm(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x16x64xf32>, [[W:%[^:]+]]: tensor<64xf32>, [[B:%[^:]+]]: tensor<64xf32>)
// CHECK-NEXT: [[LN:%.*]] = pz.layer_norm [[X]] scale([[W]] : tensor<64xf32>) bias([[B]] : tensor<64xf32>) {axis = 2 : i64, epsilon = 9.9999997473787516E-6 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
// CHECK-NEXT: return [[LN]]
func.func @layer_norm(%x: tensor<2x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<2x16x64xf32> {
  %two = pz.constant dense<2.0> : tensor<f32>
  %eps = pz.constant dense<1.0e-5> : tensor<f32>
  %mean = pz.reduce_mean %x [2] {keepdims} : tensor<2x16x64xf32> -> tensor<2x16x1xf32>
  %d = pz.sub %x, %mean : tensor<2x16x64xf32>, tensor<2x16x1xf32> -> tensor<2x16x64xf32>
  %sq = pz.pow %d, %two : tensor<2x16x64xf32>, tensor<f32> -> tensor<2x16x64xf32>
  %var = pz.reduce_mean %sq [2] {keepdims} : tensor<2x16x64xf32> -> tensor<2x16x1xf32>
  %ve = pz.add %var, %eps : tensor<2x16x1xf32>, tensor<f32> -> tensor<2x16x1xf32>
  %std = pz.sqrt %ve : tensor<2x16x1xf32>
  %n = pz.div %d, %std : tensor<2x16x64xf32>, tensor<2x16x1xf32> -> tensor<2x16x64xf32>
  %s = pz.mul %n, %w : tensor<2x16x64xf32>, tensor<64xf32> -> tensor<2x16x64xf32>
  %y = pz.add %s, %b : tensor<2x16x64xf32>, tensor<64xf32> -> tensor<2x16x64xf32>
  return %y : tensor<2x16x64xf32>
}

// -----

// Over the last two dims, with x*x, an rsqrt, the weight first and no bias.
// CHECK-LABEL: func.func @layer_norm_two_dims(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4x8x16xf32>, [[W:%[^:]+]]: tensor<8x16xf32>)
// CHECK-NEXT: [[LN:%.*]] = pz.layer_norm [[X]] scale([[W]] : tensor<8x16xf32>) {axis = 1 : i64, epsilon = 9.99{{[0-9]+}}E-13 : f64} : tensor<4x8x16xf32> -> tensor<4x8x16xf32>
// CHECK-NEXT: return [[LN]]
func.func @layer_norm_two_dims(%x: tensor<4x8x16xf32>, %w: tensor<8x16xf32>) -> tensor<4x8x16xf32> {
  %mean = pz.reduce_mean %x [1, 2] {keepdims} : tensor<4x8x16xf32> -> tensor<4x1x1xf32>
  %d = pz.sub %x, %mean : tensor<4x8x16xf32>, tensor<4x1x1xf32> -> tensor<4x8x16xf32>
  %sq = pz.mul %d, %d : tensor<4x8x16xf32>, tensor<4x8x16xf32> -> tensor<4x8x16xf32>
  %var = pz.reduce_mean %sq [1, 2] {keepdims} : tensor<4x8x16xf32> -> tensor<4x1x1xf32>
  %c = pz.constant dense<1.0e-12> : tensor<1x1x1xf32>
  %ve = pz.add %c, %var : tensor<1x1x1xf32>, tensor<4x1x1xf32> -> tensor<4x1x1xf32>
  %r = pz.rsqrt %ve : tensor<4x1x1xf32>
  %n = pz.mul %r, %d : tensor<4x1x1xf32>, tensor<4x8x16xf32> -> tensor<4x8x16xf32>
  %y = pz.mul %w, %n : tensor<8x16xf32>, tensor<4x8x16xf32> -> tensor<4x8x16xf32>
  return %y : tensor<4x8x16xf32>
}

// -----

// Llama's RMSNorm as torch 1.13 exports it: Pow 2, ReduceMean, Add eps,
// Sqrt, Div(1, .), Mul x, Mul w.
// CHECK-LABEL: func.func @rms_norm(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x16x64xf32>, [[W:%[^:]+]]: tensor<64xf32>)
// CHECK-NEXT: [[RMS:%.*]] = pz.rms_norm [[X]] scale([[W]] : tensor<64xf32>) {axis = 2 : i64, epsilon = 9.9999999747524271E-7 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
// CHECK-NEXT: return [[RMS]]
func.func @rms_norm(%x: tensor<2x16x64xf32>, %w: tensor<64xf32>) -> tensor<2x16x64xf32> {
  %two = pz.constant dense<2.0> : tensor<f32>
  %eps = pz.constant dense<1.0e-6> : tensor<f32>
  %one = pz.constant dense<1.0> : tensor<f32>
  %sq = pz.pow %x, %two : tensor<2x16x64xf32>, tensor<f32> -> tensor<2x16x64xf32>
  %ms = pz.reduce_mean %sq [2] {keepdims} : tensor<2x16x64xf32> -> tensor<2x16x1xf32>
  %a = pz.add %ms, %eps : tensor<2x16x1xf32>, tensor<f32> -> tensor<2x16x1xf32>
  %s = pz.sqrt %a : tensor<2x16x1xf32>
  %r = pz.div %one, %s : tensor<f32>, tensor<2x16x1xf32> -> tensor<2x16x1xf32>
  %n = pz.mul %x, %r : tensor<2x16x64xf32>, tensor<2x16x1xf32> -> tensor<2x16x64xf32>
  %y = pz.mul %w, %n : tensor<64xf32>, tensor<2x16x64xf32> -> tensor<2x16x64xf32>
  return %y : tensor<2x16x64xf32>
}

// -----

// x / sqrt(mean(x^2) + eps) without a weight, in bf16 (1e-5 rounds to
// 1.0013580322265625e-5).
// CHECK-LABEL: func.func @rms_norm_div(
// CHECK-SAME: [[X:%[^:]+]]: tensor<8x32xbf16>)
// CHECK-NEXT: [[RMS:%.*]] = pz.rms_norm [[X]] {axis = 1 : i64, epsilon = 1.0013580322265625E-5 : f64} : tensor<8x32xbf16> -> tensor<8x32xbf16>
// CHECK-NEXT: return [[RMS]]
func.func @rms_norm_div(%x: tensor<8x32xbf16>) -> tensor<8x32xbf16> {
  %eps = pz.constant dense<1.0e-5> : tensor<bf16>
  %sq = pz.mul %x, %x : tensor<8x32xbf16>, tensor<8x32xbf16> -> tensor<8x32xbf16>
  %ms = pz.reduce_mean %sq [1] {keepdims} : tensor<8x32xbf16> -> tensor<8x1xbf16>
  %a = pz.add %eps, %ms : tensor<bf16>, tensor<8x1xbf16> -> tensor<8x1xbf16>
  %s = pz.sqrt %a : tensor<8x1xbf16>
  %n = pz.div %x, %s : tensor<8x32xbf16>, tensor<8x1xbf16> -> tensor<8x32xbf16>
  return %n : tensor<8x32xbf16>
}

// -----

// Negative: the variance is over dim 1 but the mean over dim 2.
// CHECK-LABEL: func.func @layer_norm_axes_differ(
// CHECK-NOT: pz.layer_norm
// CHECK-NOT: pz.rms_norm
// CHECK: return
func.func @layer_norm_axes_differ(%x: tensor<2x16x64xf32>) -> tensor<2x16x64xf32> {
  %two = pz.constant dense<2.0> : tensor<f32>
  %eps = pz.constant dense<1.0e-5> : tensor<f32>
  %mean = pz.reduce_mean %x [2] {keepdims} : tensor<2x16x64xf32> -> tensor<2x16x1xf32>
  %d = pz.sub %x, %mean : tensor<2x16x64xf32>, tensor<2x16x1xf32> -> tensor<2x16x64xf32>
  %sq = pz.pow %d, %two : tensor<2x16x64xf32>, tensor<f32> -> tensor<2x16x64xf32>
  %var = pz.reduce_mean %sq [1] {keepdims} : tensor<2x16x64xf32> -> tensor<2x1x64xf32>
  %ve = pz.add %var, %eps : tensor<2x1x64xf32>, tensor<f32> -> tensor<2x1x64xf32>
  %std = pz.sqrt %ve : tensor<2x1x64xf32>
  %n = pz.div %d, %std : tensor<2x16x64xf32>, tensor<2x1x64xf32> -> tensor<2x16x64xf32>
  return %n : tensor<2x16x64xf32>
}

// -----

// Negative: the exponent is 3, and the reduction is over a leading dim.
// CHECK-LABEL: func.func @rms_norm_misses(
// CHECK-NOT: pz.rms_norm
// CHECK: return
func.func @rms_norm_misses(%x: tensor<8x32xf32>) -> (tensor<8x32xf32>, tensor<8x32xf32>) {
  %three = pz.constant dense<3.0> : tensor<f32>
  %two = pz.constant dense<2.0> : tensor<f32>
  %eps = pz.constant dense<1.0e-5> : tensor<f32>
  %cube = pz.pow %x, %three : tensor<8x32xf32>, tensor<f32> -> tensor<8x32xf32>
  %m1 = pz.reduce_mean %cube [1] {keepdims} : tensor<8x32xf32> -> tensor<8x1xf32>
  %a1 = pz.add %m1, %eps : tensor<8x1xf32>, tensor<f32> -> tensor<8x1xf32>
  %r1 = pz.rsqrt %a1 : tensor<8x1xf32>
  %y1 = pz.mul %x, %r1 : tensor<8x32xf32>, tensor<8x1xf32> -> tensor<8x32xf32>
  %sq = pz.pow %x, %two : tensor<8x32xf32>, tensor<f32> -> tensor<8x32xf32>
  %m2 = pz.reduce_mean %sq [0] {keepdims} : tensor<8x32xf32> -> tensor<1x32xf32>
  %a2 = pz.add %m2, %eps : tensor<1x32xf32>, tensor<f32> -> tensor<1x32xf32>
  %r2 = pz.rsqrt %a2 : tensor<1x32xf32>
  %y2 = pz.mul %x, %r2 : tensor<8x32xf32>, tensor<1x32xf32> -> tensor<8x32xf32>
  return %y1, %y2 : tensor<8x32xf32>, tensor<8x32xf32>
}

// -----

// A weight that is not of the normalised shape does not fold into the
// scale; the norm itself still fuses.
// CHECK-LABEL: func.func @rms_norm_weight_shape(
// CHECK: [[RMS:%.*]] = pz.rms_norm %{{.*}} {axis = 1 : i64
// CHECK-NOT: scale(
// CHECK: pz.mul [[RMS]], %{{.*}} : tensor<8x32xf32>, tensor<8x32xf32>
func.func @rms_norm_weight_shape(%x: tensor<8x32xf32>, %w: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %eps = pz.constant dense<1.0e-5> : tensor<f32>
  %sq = pz.mul %x, %x : tensor<8x32xf32>, tensor<8x32xf32> -> tensor<8x32xf32>
  %ms = pz.reduce_mean %sq [1] {keepdims} : tensor<8x32xf32> -> tensor<8x1xf32>
  %a = pz.add %ms, %eps : tensor<8x1xf32>, tensor<f32> -> tensor<8x1xf32>
  %r = pz.rsqrt %a : tensor<8x1xf32>
  %n = pz.mul %x, %r : tensor<8x32xf32>, tensor<8x1xf32> -> tensor<8x32xf32>
  %y = pz.mul %n, %w : tensor<8x32xf32>, tensor<8x32xf32> -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

// Negative: the epsilon is not a constant.
// CHECK-LABEL: func.func @rms_norm_runtime_eps(
// CHECK-NOT: pz.rms_norm
// CHECK: return
func.func @rms_norm_runtime_eps(%x: tensor<8x32xf32>, %eps: tensor<f32>) -> tensor<8x32xf32> {
  %sq = pz.mul %x, %x : tensor<8x32xf32>, tensor<8x32xf32> -> tensor<8x32xf32>
  %ms = pz.reduce_mean %sq [1] {keepdims} : tensor<8x32xf32> -> tensor<8x1xf32>
  %a = pz.add %ms, %eps : tensor<8x1xf32>, tensor<f32> -> tensor<8x1xf32>
  %r = pz.rsqrt %a : tensor<8x1xf32>
  %n = pz.mul %x, %r : tensor<8x32xf32>, tensor<8x1xf32> -> tensor<8x32xf32>
  return %n : tensor<8x32xf32>
}

// -----

// Negative: the normalised value is also read elsewhere; the norm fuses but
// the weight stays a separate multiply.
// CHECK-LABEL: func.func @layer_norm_shared(
// CHECK: [[LN:%.*]] = pz.layer_norm %{{.*}} {axis = 1 : i64
// CHECK-NEXT: [[S:%.*]] = pz.mul [[LN]], %{{.*}} : tensor<8x32xf32>, tensor<32xf32>
// CHECK-NEXT: return [[S]], [[LN]]
func.func @layer_norm_shared(%x: tensor<8x32xf32>, %w: tensor<32xf32>) -> (tensor<8x32xf32>, tensor<8x32xf32>) {
  %eps = pz.constant dense<1.0e-5> : tensor<f32>
  %mean = pz.reduce_mean %x [1] {keepdims} : tensor<8x32xf32> -> tensor<8x1xf32>
  %d = pz.sub %x, %mean : tensor<8x32xf32>, tensor<8x1xf32> -> tensor<8x32xf32>
  %sq = pz.mul %d, %d : tensor<8x32xf32>, tensor<8x32xf32> -> tensor<8x32xf32>
  %var = pz.reduce_mean %sq [1] {keepdims} : tensor<8x32xf32> -> tensor<8x1xf32>
  %ve = pz.add %var, %eps : tensor<8x1xf32>, tensor<f32> -> tensor<8x1xf32>
  %std = pz.sqrt %ve : tensor<8x1xf32>
  %n = pz.div %d, %std : tensor<8x32xf32>, tensor<8x1xf32> -> tensor<8x32xf32>
  %y = pz.mul %n, %w : tensor<8x32xf32>, tensor<32xf32> -> tensor<8x32xf32>
  return %y, %n : tensor<8x32xf32>, tensor<8x32xf32>
}
