// RUN: parallelize-opt %s -split-input-file -pz-data-parallel -verify-diagnostics

// expected-error @+1 {{pz-data-parallel: dp_replicate = 2 averages the gradients, but the module has no @finalize_grads (a forward-only graph, or pz-build-grad-functions has not run)}}
module attributes {pz.plan = #pz.plan<dp_replicate = 2>} {
  func.func @forward_backward(%a: tensor<8xf32> {pz.param = "a"}) -> (tensor<8xf32> {pz.grad = "a"}) {
    return %a : tensor<8xf32>
  }
}

// -----

module attributes {pz.plan = #pz.plan<dp_replicate = 2>} {
  // expected-error @+1 {{pz-data-parallel: grid @world does not have the plan's shape pp x dp_replicate x dp_shard x cp x tp}}
  shard.grid @world(shape = 2x2)
  func.func @finalize_grads(%a: tensor<8xf32> {pz.grad = "a"}) -> (tensor<i1>) {
    %f = pz.all_finite %a : tensor<8xf32>
    return %f : tensor<i1>
  }
}

// -----

// A plan without dp_replicate, or one that combines it with an axis not
// built yet, leaves even a module without gradients alone.
module attributes {pz.plan = #pz.plan<tp = 2>} {
}

// -----

module attributes {pz.plan = #pz.plan<dp_replicate = 2, pp = 2>} {
}
