// RUN: parallelize-opt %s --convert-pz-to-pzrt | FileCheck %s

// A reshape or a cast reads the same bytes through another type: a
// reinterpret_cast with row-major strides, no kernel and no copy.
// CHECK-LABEL: func.func @views(
// CHECK: %[[R:.*]] = memref.reinterpret_cast %arg0 to offset: [0], sizes: [3, 4], strides: [4, 1] : memref<12xf32> to memref<3x4xf32>
// CHECK-NEXT: %[[C:.*]] = memref.reinterpret_cast %[[R]] to offset: [0], sizes: [3, 4], strides: [4, 1] : memref<3x4xf32> to memref<3x4xf32>
// CHECK-NEXT: pzrt.dispatch @kernels::@views_0_exp(%[[C]] : memref<3x4xf32>) outs(%arg1 : memref<3x4xf32>)
func.func @views(%x: tensor<12xf32>) -> tensor<3x4xf32> {
  %r = pz.reshape %x [3, 4] : tensor<12xf32> -> tensor<3x4xf32>
  %c = tensor.cast %r : tensor<3x4xf32> to tensor<3x4xf32>
  %e = pz.exp %c : tensor<3x4xf32>
  return %e : tensor<3x4xf32>
}
