// RUN: parallelize-opt %s | parallelize-opt | FileCheck %s
// RUN: parallelize-opt %s -mlir-print-op-generic | parallelize-opt | FileCheck %s

// The norm gradients print every result type, so they parse back without
// running inference on attributes that are not read yet.

// CHECK-LABEL: func.func @layer_norm_grad(
// CHECK: pz.layer_norm_grad %{{.*}}, %{{.*}} scale(%{{.*}} : tensor<64xf32>) {axis = 2 : i64, epsilon = 1.000000e-05 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>
func.func @layer_norm_grad(%g: tensor<2x16x64xf32>, %x: tensor<2x16x64xf32>, %w: tensor<64xf32>) -> tensor<64xf32> {
  %0:3 = pz.layer_norm_grad %g, %x scale(%w : tensor<64xf32>) {axis = 2 : i64, epsilon = 1.0e-05 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>
  return %0#1 : tensor<64xf32>
}

// CHECK-LABEL: func.func @rms_norm_grad(
// CHECK: pz.rms_norm_grad %{{.*}}, %{{.*}} {axis = 1 : i64, epsilon = 9.9999999999999995E-7 : f64} : tensor<?x64xbf16> -> tensor<?x64xbf16>, tensor<64xbf16>
func.func @rms_norm_grad(%g: tensor<?x64xbf16>, %x: tensor<?x64xbf16>) -> tensor<64xbf16> {
  %0:2 = pz.rms_norm_grad %g, %x {axis = 1 : i64, epsilon = 1.0e-06 : f64} : tensor<?x64xbf16> -> tensor<?x64xbf16>, tensor<64xbf16>
  return %0#1 : tensor<64xbf16>
}
