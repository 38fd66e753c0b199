// The zb schedule runs a split backward (B and W); the others a whole one.
// RUN: not parallelize-opt %s --split-input-file --pass-pipeline='builtin.module(builtin.module(pzrt-build-schedule))' 2>&1 | FileCheck %s

module {
  // CHECK: error: pzrt-build-schedule: the zb schedule needs two backward functions per stage (pz-split-forward-backward)
  module @stage_0 attributes {pz.plan = #pz.plan<pp = 2, schedule = "zb", grad_accum = 2>, pz.stage = {index = 0 : i64}} {
    func.func @stage_forward() { return }
    func.func @stage_backward() { return }
    func.func @accumulate_grads() { return }
    func.func @finalize_grads() { return }
    func.func @optimizer_step() { return }
  }
}

// -----

module {
  // CHECK: error: pzrt-build-schedule: the 1f1b schedule needs one backward function per stage (pz-split-forward-backward)
  module @stage_0 attributes {pz.plan = #pz.plan<pp = 2, schedule = "1f1b", grad_accum = 2>, pz.stage = {index = 0 : i64}} {
    func.func @stage_forward() { return }
    func.func @stage_backward() { return }
    func.func @stage_backward_weight() { return }
    func.func @accumulate_grads() { return }
    func.func @finalize_grads() { return }
    func.func @optimizer_step() { return }
  }
}
