// RUN: parallelize-opt %s --pass-pipeline='builtin.module(builtin.module(pz-split-grad-norm))' -split-input-file -verify-diagnostics | FileCheck %s

// Interleaved (virtual_stages 2): a chunk's sum of squares, with its
// all-reduce over pp, moves into @grad_norm_sq; @optimizer_step takes the
// rank's sum over its chunks as a new last argument and keeps the square
// root and the update. The update no longer computes the squares.
// CHECK-LABEL: module @stage_1
// CHECK: func.func @grad_norm_sq(%[[G:.*]]: tensor<8xf32> {pz.grad = "w"}) -> (tensor<f32> {pz.output = "grad_norm_sq", pz.role = #pz.role<grad_norm_sq>})
// CHECK-NEXT: %[[SQ:.*]] = pz.mul %[[G]], %[[G]]
// CHECK-NEXT: %[[S:.*]] = pz.reduce_sum %[[SQ]]
// CHECK-NEXT: %[[AR:.*]] = shard.all_reduce %[[S]] on @grid grid_axes = [0]
// CHECK-NEXT: return %[[AR]]
// CHECK: func.func @optimizer_step(%[[P:.*]]: tensor<8xf32> {pz.param = "w"}, %[[G2:.*]]: tensor<8xf32> {pz.grad = "w"}, %[[T:.*]]: tensor<f32> {pz.input = "grad_norm_sq", pz.role = #pz.role<grad_norm_sq>})
// CHECK-NOT: pz.mul
// CHECK-NOT: shard.all_reduce
// CHECK: %[[N:.*]] = pz.sqrt %[[T]]
// CHECK: %[[U:.*]] = pz.sub %[[P]], %[[G2]]
// CHECK: return %[[U]], %[[N]]
module {
  module @stage_1 attributes {pz.plan = #pz.plan<pp = 2, schedule = "interleaved", virtual_stages = 2, grad_accum = 2>, pz.stage = {flops = 1 : i64, index = 1 : i64}} {
    shard.grid @grid(shape = 2)
    func.func @optimizer_step(%p: tensor<8xf32> {pz.param = "w"}, %g: tensor<8xf32> {pz.grad = "w"}) -> (tensor<8xf32> {pz.param = "w"}, tensor<f32> {pz.output = "grad_norm", pz.role = #pz.role<grad_norm>}) {
      %sq = pz.mul %g, %g : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
      %s = pz.reduce_sum %sq [0] : tensor<8xf32> -> tensor<f32>
      %ar = shard.all_reduce %s on @grid grid_axes = [0] : tensor<f32> -> tensor<f32>
      %n = pz.sqrt %ar : tensor<f32>
      %u = pz.sub %p, %g : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
      return %u, %n : tensor<8xf32>, tensor<f32>
    }
  }
}

// -----

// Without virtual stages the module is left alone.
// CHECK-LABEL: module @stage_0
// CHECK-NOT: @grad_norm_sq
// CHECK: pz.sqrt
module {
  module @stage_0 attributes {pz.plan = #pz.plan<pp = 2, schedule = "1f1b", grad_accum = 2>, pz.stage = {flops = 1 : i64, index = 0 : i64}} {
    func.func @optimizer_step(%g: tensor<8xf32> {pz.grad = "w"}) -> (tensor<f32> {pz.output = "grad_norm", pz.role = #pz.role<grad_norm>}) {
      %sq = pz.mul %g, %g : tensor<8xf32>, tensor<8xf32> -> tensor<8xf32>
      %s = pz.reduce_sum %sq [0] : tensor<8xf32> -> tensor<f32>
      %n = pz.sqrt %s : tensor<f32>
      return %n : tensor<f32>
    }
  }
}

// -----

// A norm that is not a square root is refused.
module {
  module @stage_2 attributes {pz.plan = #pz.plan<pp = 2, schedule = "interleaved", virtual_stages = 2, grad_accum = 2>, pz.stage = {flops = 1 : i64, index = 2 : i64}} {
    // expected-error @+1 {{pz-split-grad-norm: @optimizer_step's gradient norm is not the square root of a sum}}
    func.func @optimizer_step(%g: tensor<f32> {pz.grad = "w"}) -> (tensor<f32> {pz.output = "grad_norm", pz.role = #pz.role<grad_norm>}) {
      return %g : tensor<f32>
    }
  }
}
