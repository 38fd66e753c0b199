// RUN: parallelize-opt --pz-fuse-elementwise %s | FileCheck %s

// A chain of element maps becomes one pz.fused op at the place of its last
// op; the bias is an input read with broadcasting. A value also read
// outside the group (%t by the matmul) is a result of its group, and the
// matmul splits the chain in two groups.
// CHECK-LABEL: func.func @chain
// CHECK: %[[T:.*]] = pz.fused(%arg0, %arg1) : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32> {
// CHECK-NEXT: ^bb0(%[[A:.*]]: tensor<8x64xf32>, %[[B:.*]]: tensor<64xf32>):
// CHECK-NEXT: %[[S:.*]] = pz.add %[[A]], %[[B]]
// CHECK-NEXT: %[[TT:.*]] = pz.tanh %[[S]]
// CHECK-NEXT: pz.yield %[[TT]] : tensor<8x64xf32>
// CHECK: %[[MM:.*]] = pz.matmul %[[T]], %arg2
// CHECK: %[[F0:[a-z0-9_]+]], %[[F1:[a-z0-9_]+]] = pz.fused(%[[T]], %[[MM]]) : (tensor<8x64xf32>, tensor<8x64xf32>) -> (tensor<8x64xf32>, tensor<8x64xf32>)
// CHECK: %[[U:[a-z0-9_]+]] = pz.mul
// CHECK-NEXT: %[[V:[a-z0-9_]+]] = pz.exp %[[U]]
// CHECK-NEXT: pz.yield %[[U]], %[[V]] : tensor<8x64xf32>, tensor<8x64xf32>
// CHECK: return %[[F1]], %[[F0]]
func.func @chain(%x: tensor<8x64xf32>, %b: tensor<64xf32>, %w: tensor<64x64xf32>) -> (tensor<8x64xf32>, tensor<8x64xf32>) {
  %s = pz.add %x, %b : tensor<8x64xf32>, tensor<64xf32> -> tensor<8x64xf32>
  %t = pz.tanh %s : tensor<8x64xf32>
  %m = pz.matmul %t, %w : tensor<8x64xf32>, tensor<64x64xf32> -> tensor<8x64xf32>
  %u = pz.mul %t, %m : tensor<8x64xf32>, tensor<8x64xf32> -> tensor<8x64xf32>
  %v = pz.exp %u : tensor<8x64xf32>
  return %v, %u : tensor<8x64xf32>, tensor<8x64xf32>
}

// A group value read by an op that comes before the next candidate would be
// needed before the fused op exists: %e may not join %n's group, so %n
// stays alone and %e starts a group with %l.
// CHECK-LABEL: func.func @early_reader
// CHECK: %[[N:.*]] = pz.neg %arg0
// CHECK-NEXT: %[[R:.*]] = pz.reduce_sum %[[N]]
// CHECK-NEXT: pz.fused(%[[N]], %[[R]])
// CHECK: pz.exp
// CHECK-NEXT: pz.log
func.func @early_reader(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<f32>) {
  %n = pz.neg %x : tensor<4x8xf32>
  %r = pz.reduce_sum %n [0, 1] : tensor<4x8xf32> -> tensor<f32>
  %e = pz.add %n, %r : tensor<4x8xf32>, tensor<f32> -> tensor<4x8xf32>
  %ee = pz.exp %e : tensor<4x8xf32>
  %l = pz.log %ee : tensor<4x8xf32>
  return %l, %r : tensor<4x8xf32>, tensor<f32>
}

// Ops with different result shapes do not share a loop; a lone element map
// and ops that are not element maps (softmax) stay as they are.
// CHECK-LABEL: func.func @shapes
// CHECK-NOT: pz.fused
// CHECK: pz.exp %arg1 : tensor<8xf32>
// CHECK-NEXT: pz.add
// CHECK-NEXT: pz.softmax
// CHECK-NEXT: return
func.func @shapes(%x: tensor<4x8xf32>, %y: tensor<8xf32>) -> tensor<4x8xf32> {
  %e = pz.exp %y : tensor<8xf32>
  %a = pz.add %x, %e : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
  %s = pz.softmax %a {axis = 1 : i64} : tensor<4x8xf32>
  return %s : tensor<4x8xf32>
}

// The reference interpreter runs a fused body op by op: the fused module
// gives exactly what the original gives.
// RUN: parallelize-opt --pz-fuse-elementwise %s -o %t.fused.mlir
// RUN: %python -c "import numpy as np; r = np.random.default_rng(0); \
// RUN:   np.save('%t.x.npy', r.standard_normal((8, 64)).astype(np.float32)); \
// RUN:   np.save('%t.b.npy', r.standard_normal(64).astype(np.float32)); \
// RUN:   np.save('%t.w.npy', (0.1 * r.standard_normal((64, 64))).astype(np.float32))"
// RUN: pz-interpret %s --function chain --input arg0=%t.x.npy --input arg1=%t.b.npy --input arg2=%t.w.npy --output-dir %t.plain
// RUN: pz-interpret %t.fused.mlir --function chain --input arg0=%t.x.npy --input arg1=%t.b.npy --input arg2=%t.w.npy --output-dir %t.fused
// RUN: %python -c "import numpy as np; \
// RUN:   [np.testing.assert_array_equal(np.load('%t.plain/result%%d.npy' %% i), np.load('%t.fused/result%%d.npy' %% i)) for i in (0, 1)]; \
// RUN:   print('identical')" | FileCheck %s --check-prefix=INTERP
// INTERP: identical
