// RUN: parallelize-opt %s --convert-pz-to-pzrt --pzrt-plan-memory --split-input-file --verify-diagnostics | FileCheck %s

// The memory plan of pz functions after lowering. Buffers live from their
// op to their last reader; a reshape is a view of its operand's bytes (it
// keeps %a alive until %r is read). %a, %c and %d (4096 bytes each) are live
// together at the add; %b is dead by then, so %d takes its place. %o is
// returned as a view of %d: the function copies it into its out-parameter.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: pzrt.memory_plan = #pzrt.memory_plan<arena_bytes = 12288, peak_bytes = 12288, buffers = 4>
// CHECK: %[[ARENA:.*]] = pzrt.arena : memref<12288xi8>
// CHECK: %[[A:.*]] = memref.view %[[ARENA]][%[[OA:c[0-9]+]]][]
// CHECK: @kernels::@chain_0_exp({{.*}}) outs(%[[A]] :
// CHECK: %[[R:.*]] = memref.reinterpret_cast %[[A]]
// CHECK: %[[B:.*]] = memref.view %[[ARENA]][%c4096][]
// CHECK: @kernels::@chain_1_tanh({{.*}}) outs(%[[B]] :
// CHECK: %[[C:.*]] = memref.view %[[ARENA]][%[[OC:c[0-9]+]]][]
// CHECK: @kernels::@chain_2_neg(%[[B]] : {{.*}}) outs(%[[C]] :
// CHECK: pzrt.lifetime_end %[[B]]
// CHECK: %[[D:.*]] = memref.view %[[ARENA]][%c4096{{.*}}][] : memref<12288xi8> to memref<1024xf32>
// CHECK: @kernels::@chain_3_add(%[[R]], {{.*}}) outs(%[[D]] :
// CHECK: pzrt.lifetime_end %[[A]]
// CHECK: pzrt.lifetime_end %[[C]]
// CHECK: %[[O:.*]] = memref.reinterpret_cast %[[D]]
// CHECK: memref.copy %[[O]], %arg1
// CHECK: pzrt.lifetime_end %[[D]]
func.func @chain(%x: tensor<32x32xf32>) -> tensor<32x32xf32> {
  %a = pz.exp %x : tensor<32x32xf32>
  %r = pz.reshape %a [1024] : tensor<32x32xf32> -> tensor<1024xf32>
  %b = pz.tanh %x : tensor<32x32xf32>
  %c = pz.neg %b : tensor<32x32xf32>
  %s = pz.reshape %c [1024] : tensor<32x32xf32> -> tensor<1024xf32>
  %d = pz.add %r, %s : tensor<1024xf32>, tensor<1024xf32> -> tensor<1024xf32>
  %o = pz.reshape %d [32, 32] : tensor<1024xf32> -> tensor<32x32xf32>
  return %o : tensor<32x32xf32>
}

// -----

// Buffers whose lives do not overlap share offsets: a chain of three
// elementwise ops needs two buffers of the arena, not three; the last op
// writes straight into the caller's result buffer.
// CHECK-LABEL: func.func @reuse
// CHECK-SAME: pzrt.memory_plan = #pzrt.memory_plan<arena_bytes = 8192, peak_bytes = 8192, buffers = 3>
// CHECK: %[[P:.*]] = memref.view %{{.*}}[%[[OP:c[0-9]+]]][]
// CHECK: @kernels::@reuse_0_exp({{.*}}) outs(%[[P]] :
// CHECK: %[[Q:.*]] = memref.view
// CHECK: @kernels::@reuse_1_tanh(%[[P]] : {{.*}}) outs(%[[Q]] :
// CHECK: memref.view %{{.*}}[%[[OP]]{{(_[0-9]+)?}}][]
// CHECK: @kernels::@reuse_3_sqrt({{.*}}) outs(%arg1 :
func.func @reuse(%x: tensor<1024xf32>) -> tensor<1024xf32> {
  %a = pz.exp %x : tensor<1024xf32>
  %b = pz.tanh %a : tensor<1024xf32>
  %c = pz.neg %b : tensor<1024xf32>
  %d = pz.sqrt %c : tensor<1024xf32>
  return %d : tensor<1024xf32>
}

// -----

// Attention gets a workspace live during the op only; sizes are 64-byte
// aligned (a 2x3 f32 result takes 64 bytes).
// CHECK-LABEL: func.func @attention
// CHECK: %[[W:.*]] = memref.view %{{.*}} : memref<{{[0-9]+}}xi8> to memref<1024xi8>
// CHECK-NEXT: pzrt.lifetime_start %[[W]] : memref<1024xi8>
// CHECK-NEXT: pzrt.dispatch @kernels::@attention_0_attention({{.*}}) workspace(%[[W]] : memref<1024xi8>)
// CHECK-NEXT: pzrt.lifetime_end %[[W]]
// CHECK: func.func @attention_0_attention({{.*}}) -> tensor<1x2x16x8xf32> attributes {pzrt.workspace_bytes = 1024 : i64}
func.func @attention(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<f32> {
  %o = pz.attention %q, %k, %v {causal} : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32> -> tensor<1x2x16x8xf32>
  %s = pz.reduce_sum %o [0, 1, 2, 3] : tensor<1x2x16x8xf32> -> tensor<f32>
  return %s : tensor<f32>
}

// -----

// CHECK-LABEL: func.func @small
// CHECK-SAME: pzrt.memory_plan = #pzrt.memory_plan<arena_bytes = 64, peak_bytes = 64, buffers = 1>
// CHECK: %[[C0:.*]] = arith.constant 0 : index
// CHECK: memref.view %{{.*}}[%[[C0]]][] : memref<64xi8> to memref<2x3xf32>
func.func @small(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = pz.exp %x : tensor<2x3xf32>
  %b = pz.neg %a : tensor<2x3xf32>
  return %b : tensor<2x3xf32>
}

// -----

// expected-error @+1 {{convert-pz-to-pzrt: argument 0 of 'dynamic' has type 'tensor<?x3xf32>'; fix the data inputs' dims with --input-shape}}
func.func @dynamic(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %a = pz.exp %x : tensor<?x3xf32>
  %b = pz.neg %a : tensor<?x3xf32>
  return %b : tensor<?x3xf32>
}
