// RUN: parallelize-opt %s --pass-pipeline='builtin.module(pzrt-build-schedule,builtin.module(pzrt-build-schedule))' -split-input-file | FileCheck %s

// One rank, two micro-batches: the first writes the accumulators, the
// second is added to them; then finalize, the check and the update.
// CHECK-LABEL: module attributes {pz.plan = #pz.plan<grad_accum = 2>}
// CHECK: pzrt.schedule {
// CHECK-NEXT: pzrt.run @forward_backward {grads = #pzrt.slot<accum>}
// CHECK-NEXT: pzrt.run @forward_backward {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.run @accumulate_grads {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.run @finalize_grads
// CHECK-NEXT: pzrt.check_numerics
// CHECK-NEXT: pzrt.run @optimizer_step
// CHECK-NEXT: }
module attributes {pz.plan = #pz.plan<grad_accum = 2>} {
  func.func @forward_backward() { return }
  func.func @accumulate_grads() { return }
  func.func @finalize_grads() { return }
  func.func @optimizer_step() { return }
}

// -----

// Pipeline stages, 1F1B with 3 micro-batches: stage 0 of 2 warms up with
// one forward, then sends each activation next to the gradient it receives;
// the last stage alternates from the start.
// CHECK-LABEL: module @stage_0
// CHECK: pzrt.schedule {
// CHECK-NEXT: pzrt.run @stage_forward{{$}}
// CHECK-NEXT: pzrt.stage_send "activation"{{$}}
// CHECK-NEXT: pzrt.run @stage_forward {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.stage_send "activation" {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.stage_recv "activation_grad"{{$}}
// CHECK-NEXT: pzrt.run @stage_backward {grads = #pzrt.slot<accum>}
// CHECK-NEXT: pzrt.run @stage_forward {micro_batch = 2 : i64}
// CHECK-NEXT: pzrt.stage_send "activation" {micro_batch = 2 : i64}
// CHECK-NEXT: pzrt.stage_recv "activation_grad" {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.run @stage_backward {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.run @accumulate_grads {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.stage_recv "activation_grad" {micro_batch = 2 : i64}
// CHECK-NEXT: pzrt.run @stage_backward {micro_batch = 2 : i64}
// CHECK-NEXT: pzrt.run @accumulate_grads {micro_batch = 2 : i64}
// CHECK-NEXT: pzrt.run @finalize_grads
// CHECK-NEXT: pzrt.check_numerics
// CHECK-NEXT: pzrt.run @optimizer_step
// CHECK-NEXT: }
// CHECK-LABEL: module @stage_1
// CHECK: pzrt.schedule {
// CHECK-NEXT: pzrt.stage_recv "activation"{{$}}
// CHECK-NEXT: pzrt.run @stage_forward{{$}}
// CHECK-NEXT: pzrt.run @stage_backward {grads = #pzrt.slot<accum>}
// CHECK-NEXT: pzrt.stage_send "activation_grad"{{$}}
// CHECK-NEXT: pzrt.stage_recv "activation" {micro_batch = 1 : i64}
// CHECK-NEXT: pzrt.run @stage_forward {micro_batch = 1 : i64}
module {
  module @stage_0 attributes {pz.plan = #pz.plan<pp = 2, grad_accum = 3>, pz.stage = {index = 0 : i64}} {
    func.func @stage_forward() { return }
    func.func @stage_backward() { return }
    func.func @accumulate_grads() { return }
    func.func @finalize_grads() { return }
    func.func @optimizer_step() { return }
  }
  module @stage_1 attributes {pz.plan = #pz.plan<pp = 2, grad_accum = 3>, pz.stage = {index = 1 : i64}} {
    func.func @stage_forward() { return }
    func.func @stage_backward() { return }
    func.func @accumulate_grads() { return }
    func.func @finalize_grads() { return }
    func.func @optimizer_step() { return }
  }
}
