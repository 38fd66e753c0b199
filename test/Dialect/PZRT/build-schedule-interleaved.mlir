// RUN: parallelize-opt %s --pass-pipeline='builtin.module(builtin.module(pzrt-build-schedule))' | FileCheck %s

// Interleaved 1F1B, pp 2, 2 chunks per rank, 2 micro-batches: rank 1 holds
// global stages 1 (chunk 0) and 3 (chunk 1, the last: no activation to
// send). With m == pp every forward comes first; rank 1's table is
//   F0 F1 F0.1 F1.1 B0.1 B1.1 B0 B1
// with its transfers, 20 actions at places 0, 2, ..., 38. Each chunk's
// schedule holds its own actions at their places (an accumulation one
// after its backward), then finalize, the check, @grad_norm_sq and the
// update, phase by phase over the chunks (places 40 + phase x 2 + chunk).
// CHECK-LABEL: module @stage_1
// CHECK: pzrt.schedule attributes {order = array<i64: 0, 2, 4, 6, 8, 10, 28, 30, 32, 34, 36, 37, 38, 40, 42, 44, 46>} {
// CHECK-NEXT: pzrt.stage_recv "activation"{{$}}
// CHECK-NEXT: pzrt.run @stage_forward{{$}}
// CHECK-NEXT: pzrt.stage_send "activation"{{$}}
// CHECK-NEXT: pzrt.stage_recv "activation" {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.run @stage_forward {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.stage_send "activation" {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.stage_recv "activation_grad"{{$}}
// CHECK-NEXT: pzrt.run @stage_backward {grads = #pzrt.slot<accum>}
// CHECK-NEXT: pzrt.stage_send "activation_grad"{{$}}
// CHECK-NEXT: pzrt.stage_recv "activation_grad" {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.run @stage_backward {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.run @accumulate_grads {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.stage_send "activation_grad" {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.run @finalize_grads
// CHECK-NEXT: pzrt.check_numerics
// CHECK-NEXT: pzrt.run @grad_norm_sq
// CHECK-NEXT: pzrt.run @optimizer_step
// CHECK-NEXT: }
// CHECK-LABEL: module @stage_3
// CHECK: pzrt.schedule attributes {order = array<i64: 12, 14, 16, 18, 20, 22, 24, 25, 26, 41, 43, 45, 47>} {
// CHECK-NEXT: pzrt.stage_recv "activation"{{$}}
// CHECK-NEXT: pzrt.run @stage_forward{{$}}
// CHECK-NEXT: pzrt.stage_recv "activation" {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.run @stage_forward {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.run @stage_backward {grads = #pzrt.slot<accum>}
// CHECK-NEXT: pzrt.stage_send "activation_grad"{{$}}
// CHECK-NEXT: pzrt.run @stage_backward {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.run @accumulate_grads {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.stage_send "activation_grad" {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.run @finalize_grads
// CHECK-NEXT: pzrt.check_numerics
// CHECK-NEXT: pzrt.run @grad_norm_sq
// CHECK-NEXT: pzrt.run @optimizer_step
// CHECK-NEXT: }
module {
  module @stage_1 attributes {pz.plan = #pz.plan<pp = 2, schedule = "interleaved", virtual_stages = 2, grad_accum = 2>, pz.stage = {flops = 1 : i64, index = 1 : i64}} {
    func.func @stage_forward() { return }
    func.func @stage_backward() { return }
    func.func @accumulate_grads() { return }
    func.func @finalize_grads() { return }
    func.func @grad_norm_sq() { return }
    func.func @optimizer_step() { return }
  }
  module @stage_3 attributes {pz.plan = #pz.plan<pp = 2, schedule = "interleaved", virtual_stages = 2, grad_accum = 2>, pz.stage = {flops = 1 : i64, index = 3 : i64}} {
    func.func @stage_forward() { return }
    func.func @stage_backward() { return }
    func.func @accumulate_grads() { return }
    func.func @finalize_grads() { return }
    func.func @grad_norm_sq() { return }
    func.func @optimizer_step() { return }
  }
}

