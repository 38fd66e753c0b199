// RUN: parallelize-opt %s --pass-pipeline='builtin.module(pz-split-stages{stages=2 boundaries=h.1 loss=loss},builtin.module(pz-autodiff,pz-optimizer,pz-build-grad-functions,canonicalize,cse,pz-zero))' --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s

// ZeRO-3 in a pipeline stage before the last: its forward ends at the
// activation it sends (it has no loss), so the backward gathers the layer's
// parameters again rather than reading the forward's gathers (which would
// then be kept whole for the backward: the saved set of every slot).

// CHECK-LABEL: module @stage_0
// CHECK: func.func @forward_backward(
// CHECK: shard.all_gather {{.*}} #pzrt.reason<"zero3.param_gather", "h.0 (forward)">
// CHECK: shard.all_gather {{.*}} #pzrt.reason<"zero3.param_gather", "h.0 (backward)">
// CHECK: %[[BW:.*]] = pz.reshape %{{.*}} [8, 8] {{.*}} loc("zero3/h.0 (backward)"
// CHECK: pz.matmul %{{.*}}, %[[BW]] :
// CHECK: return
// CHECK-LABEL: module @stage_1
// CHECK: shard.all_gather {{.*}} #pzrt.reason<"zero3.param_gather", "h.1 (forward)">
// CHECK: shard.all_gather {{.*}} #pzrt.reason<"zero3.param_gather", "h.1 (backward)">

module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 3, pp = 2, schedule = "gpipe">} {
  func.func @forward(%x: tensor<4x8xf32> {pz.input = "x"},
                     %w0a: tensor<8x8xf32> {pz.param = "h.0.a.w"},
                     %w0b: tensor<8x8xf32> {pz.param = "h.0.b.w"},
                     %w1: tensor<8x8xf32> {pz.param = "h.1.w"}) -> (tensor<f32> {pz.output = "loss"}) {
    %a = pz.matmul %x, %w0a {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
    %b = pz.tanh %a : tensor<4x8xf32>
    %c = pz.matmul %b, %w0b {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
    %d = pz.matmul %c, %w1 {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
    %e = pz.mul %d, %d : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
    %l = pz.reduce_mean %e [0, 1] : tensor<4x8xf32> -> tensor<f32>
    return %l : tensor<f32>
  }
}
