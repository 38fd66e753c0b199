// RUN: parallelize-opt %s --convert-pz-to-pzrt | FileCheck %s

// pz.constant becomes a read-only memref.global, 64-byte aligned, read by
// memref.get_global; equal constants (same type and value) share one.
// CHECK: memref.global "private" constant @f_cst_0 : memref<4xf32> = dense<[1.000000e+00, 2.000000e+00, 3.000000e+00, 4.000000e+00]> {alignment = 64 : i64}
// CHECK-NEXT: memref.global "private" constant @f_cst_1 : memref<4xi64> = dense<1>
// CHECK-NOT: memref.global
// CHECK-LABEL: func.func @f(
// CHECK: %[[K:.*]] = memref.get_global @f_cst_0 : memref<4xf32>
// CHECK: pzrt.dispatch @kernels::@f_0_add(%arg0, %[[K]] :
// CHECK: %[[K2:.*]] = memref.get_global @f_cst_0 : memref<4xf32>
// CHECK: pzrt.dispatch @kernels::@f_1_mul(%{{.*}}, %[[K2]] :
// CHECK: memref.get_global @f_cst_1 : memref<4xi64>
func.func @f(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xi64>) {
  %k = pz.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %a = pz.add %x, %k : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %k2 = pz.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %b = pz.mul %a, %k2 : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %i = pz.constant dense<1> : tensor<4xi64>
  return %b, %i : tensor<4xf32>, tensor<4xi64>
}
