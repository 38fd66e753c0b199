// RUN: parallelize-opt %s --convert-pz-to-pzrt --split-input-file --verify-diagnostics | FileCheck %s

// Every computing op becomes a kernel in @kernels (a function on tensors
// holding the op) and a dispatch on buffers. An intermediate value gets a
// memref.alloc; a returned one is written straight into its out-parameter,
// which carries the result's attributes and `pzrt.result`.
// CHECK-LABEL: module attributes {pzrt.target = "cpu"}
// CHECK: func.func @f(%[[X:.*]]: memref<4x8xf32> {pz.input = "x"}, %[[W:.*]]: memref<16x8xf32> {pz.param = "w"}, %[[OUT:.*]]: memref<4x16xf32> {pz.output = "y", pzrt.result = 0 : i64}) {
// CHECK-NEXT: %[[H:.*]] = memref.alloc() : memref<4x16xf32>
// CHECK-NEXT: pzrt.dispatch @kernels::@f_0_matmul(%[[X]], %[[W]] : memref<4x8xf32>, memref<16x8xf32>) outs(%[[H]] : memref<4x16xf32>)
// CHECK-NEXT: pzrt.dispatch @kernels::@f_1_tanh(%[[H]] : memref<4x16xf32>) outs(%[[OUT]] : memref<4x16xf32>)
// CHECK-NEXT: return
// CHECK: module @kernels {
// CHECK: func.func @f_0_matmul(%[[A:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<16x8xf32>) -> tensor<4x16xf32> {
// CHECK-NEXT: %[[MM:.*]] = pz.matmul %[[A]], %[[B]] {transpose_rhs}
// CHECK-NEXT: return %[[MM]]
// CHECK: func.func @f_1_tanh(
// CHECK-NEXT: pz.tanh
func.func @f(%x: tensor<4x8xf32> {pz.input = "x"}, %w: tensor<16x8xf32> {pz.param = "w"}) -> (tensor<4x16xf32> {pz.output = "y"}) {
  %h = pz.matmul %x, %w {transpose_rhs} : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32> loc("mm")
  %y = pz.tanh %h : tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// Multi-result ops get one output buffer per result.
// CHECK-LABEL: func.func @two_results(
// CHECK-SAME: %{{.*}}: memref<4x8xf32> {pz.output = "dx", pzrt.result = 0 : i64}
// CHECK: %[[DS:.*]] = memref.alloc() : memref<8xf32>
// CHECK: %[[DB:.*]] = memref.alloc() : memref<8xf32>
// CHECK: pzrt.dispatch @kernels::@two_results_0_layer_norm_grad({{.*}}) outs(%arg3, %[[DS]], %[[DB]] : memref<4x8xf32>, memref<8xf32>, memref<8xf32>)
func.func @two_results(%g: tensor<4x8xf32>, %x: tensor<4x8xf32>, %s: tensor<8xf32>) -> (tensor<4x8xf32> {pz.output = "dx"}) {
  %dx, %ds, %db = pz.layer_norm_grad %g, %x scale(%s : tensor<8xf32>) {axis = 1 : i64, epsilon = 1.0e-5 : f64} : tensor<4x8xf32> -> tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>
  return %dx : tensor<4x8xf32>
}

// -----

// Only pz ops run on the backends.
func.func @foreign(%x: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{convert-pz-to-pzrt: cannot lower 'arith.addf' (only pz ops run on the backends)}}
  %y = arith.addf %x, %x : tensor<4xf32>
  return %y : tensor<4xf32>
}
