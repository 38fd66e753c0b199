// RUN: parallelize-opt %s -split-input-file --pz-zero -verify-diagnostics

// An optimizer that reduces over part of a parameter (a per-row statistic)
// has no meaning on chunks of the flattened tensor: an error at the op, not
// a silently different sum.
module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 1>} {
  func.func @forward_backward(%w: tensor<2x4xf32> {pz.param = "w"}) -> (tensor<2x4xf32> {pz.grad = "w"}) {
    return %w : tensor<2x4xf32>
  }
  func.func @finalize_grads(%g: tensor<2x4xf32> {pz.grad = "w"}) -> (tensor<i64> {pz.output = "nonfinite", pz.role = #pz.role<nonfinite>}) {
    %ok = pz.all_finite %g : tensor<2x4xf32>
    %m1 = pz.constant dense<-1> : tensor<i64>
    %z = pz.constant dense<0> : tensor<i64>
    %r = pz.where %ok, %m1, %z : tensor<i1>, tensor<i64>, tensor<i64> -> tensor<i64>
    return %r : tensor<i64>
  }
  func.func @optimizer_step(%w: tensor<2x4xf32> {pz.param = "w"}, %g: tensor<2x4xf32> {pz.grad = "w"},
                            %lr: tensor<f32> {pz.input = "lr", pz.role = #pz.role<lr>})
      -> (tensor<2x4xf32> {pz.param = "w"}, tensor<f32> {pz.output = "grad_norm", pz.role = #pz.role<grad_norm>}) {
    // expected-error @+1 {{pz-zero: a reduction over part of a sharded tensor cannot run on its flat chunks (only whole-tensor sums, as for the gradient norm, can)}}
    %rows = pz.reduce_sum %g [1] : tensor<2x4xf32> -> tensor<2xf32>
    %n = pz.reduce_sum %rows [0] : tensor<2xf32> -> tensor<f32>
    %s = pz.sqrt %n : tensor<f32>
    %u = pz.sub %w, %g : tensor<2x4xf32>, tensor<2x4xf32> -> tensor<2x4xf32>
    return %u, %s : tensor<2x4xf32>, tensor<f32>
  }
}
