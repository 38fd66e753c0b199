// RUN: parallelize-opt %s --pz-plan-memory --split-input-file --verify-diagnostics | FileCheck %s

// Buffers live from their op to their last reader; a reshape is a view of
// its operand's bytes (it keeps %a alive until %r is read). %a, %c and %d
// (4096 bytes each) are live together at the add; %b is dead by then, so %d
// takes its place. %o is returned as a view of %d: the program copies it
// into the caller's buffer at the return.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: pz.memory_plan = {arena_bytes = 12288 : i64, buffers = 4 : i64, peak_bytes = 12288 : i64}
func.func @chain(%x: tensor<32x32xf32>) -> tensor<32x32xf32> {
  // CHECK: pz.exp {{.*}}pz.buffers = array<i64: [[A:[0-9]+]]>
  %a = pz.exp %x : tensor<32x32xf32>
  // CHECK: pz.reshape
  // CHECK-NOT: pz.buffers
  %r = pz.reshape %a [1024] : tensor<32x32xf32> -> tensor<1024xf32>
  // CHECK: pz.tanh {{.*}}pz.buffers = array<i64: [[B:[0-9]+]]>
  %b = pz.tanh %x : tensor<32x32xf32>
  // CHECK: pz.neg {{.*}}pz.buffers = array<i64: [[C:[0-9]+]]>
  %c = pz.neg %b : tensor<32x32xf32>
  %s = pz.reshape %c [1024] : tensor<32x32xf32> -> tensor<1024xf32>
  // CHECK: pz.add {{.*}}pz.buffers = array<i64: [[B]]>
  %d = pz.add %r, %s : tensor<1024xf32>, tensor<1024xf32> -> tensor<1024xf32>
  // CHECK: pz.reshape %{{.*}} [32, 32]
  // CHECK-NOT: pz.buffers
  %o = pz.reshape %d [32, 32] : tensor<1024xf32> -> tensor<32x32xf32>
  return %o : tensor<32x32xf32>
}

// -----

// Buffers whose lives do not overlap share offsets: a chain of three
// elementwise ops needs two buffers of the arena, not three; the last op
// writes straight into the caller's result buffer.
// CHECK-LABEL: func.func @reuse
// CHECK-SAME: pz.memory_plan = {arena_bytes = 8192 : i64, buffers = 3 : i64, peak_bytes = 8192 : i64}
func.func @reuse(%x: tensor<1024xf32>) -> tensor<1024xf32> {
  // CHECK: pz.exp {{.*}}array<i64: [[P:[0-9]+]]>
  %a = pz.exp %x : tensor<1024xf32>
  // CHECK: pz.tanh {{.*}}array<i64: [[Q:[0-9]+]]>
  %b = pz.tanh %a : tensor<1024xf32>
  // CHECK: pz.neg {{.*}}array<i64: [[P]]>
  %c = pz.neg %b : tensor<1024xf32>
  %d = pz.sqrt %c : tensor<1024xf32>
  return %d : tensor<1024xf32>
}

// -----

// Attention gets a workspace live during the op only; sizes are 64-byte
// aligned (a 2x3 f32 result takes 64 bytes).
// CHECK-LABEL: func.func @attention
// CHECK: pz.attention {{.*}}pz.buffers = array<i64: {{[0-9]+}}>, pz.workspace = array<i64: {{[0-9]+}}, 1024>
func.func @attention(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<f32> {
  %o = pz.attention %q, %k, %v {causal} : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
  %s = pz.reduce_sum %o [0, 1, 2, 3] : tensor<1x2x16x8xf32> -> tensor<f32>
  return %s : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @small
// CHECK-SAME: pz.memory_plan = {arena_bytes = 64 : i64, buffers = 1 : i64, peak_bytes = 64 : i64}
// CHECK: pz.exp {{.*}}pz.buffers = array<i64: 0>
func.func @small(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = pz.exp %x : tensor<2x3xf32>
  %b = pz.neg %a : tensor<2x3xf32>
  return %b : tensor<2x3xf32>
}

// -----

// expected-error @+1 {{memory plan: shape 'tensor<?x3xf32>' is dynamic; fix the data inputs' dims with --input-shape}}
func.func @dynamic(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %a = pz.exp %x : tensor<?x3xf32>
  %b = pz.neg %a : tensor<?x3xf32>
  return %b : tensor<?x3xf32>
}
