// RUN: not parallelize-opt %s --pass-pipeline='builtin.module(builtin.module(pzrt-build-schedule))' 2>&1 | FileCheck %s --check-prefix=ERR


module {
  // ERR: error: pzrt-build-schedule: an interleaved chunk needs @grad_norm_sq (pz-split-grad-norm)
  module @stage_0 attributes {pz.plan = #pz.plan<pp = 2, schedule = "interleaved", virtual_stages = 2, grad_accum = 2>, pz.stage = {index = 0 : i64}} {
    func.func @stage_forward() { return }
    func.func @stage_backward() { return }
    func.func @accumulate_grads() { return }
    func.func @finalize_grads() { return }
    func.func @optimizer_step() { return }
  }
}
