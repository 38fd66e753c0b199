// RUN: parallelize-opt %s -split-input-file --pz-build-grad-functions --pz-data-parallel | FileCheck %s --check-prefix=CHECK

// dp_replicate 2, one micro-batch, buckets of at most 1 MiB: the gradients
// in reverse model order (b2, w2, b1, w1) make three buckets: [b2] (64 B),
// [w2] (1 MiB) and [b1, w1] (2 KiB + 512 KiB). With one micro-batch the
// buckets are summed inside @forward_backward, each right after the op
// that computes its last gradient (here the arguments: at the start), and
// averaged before the return:
// summed over the grid's dp_replicate axis (1), halved and unpacked into
// the gradients @forward_backward returns. @finalize_grads only checks them.

// CHECK-LABEL: module attributes {pz.plan = #pz.plan<dp_replicate = 2, bucket_mb = 1>}
// CHECK: shard.grid @world(shape = 1x2x1x1x1)
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %[[W1:[^:]+]]: tensor<256x512xf32> {pz.param = "w1"}, %[[B1:[^:]+]]: tensor<512xf32> {pz.param = "b1"}, %[[W2:[^:]+]]: tensor<512x512xf32> {pz.param = "w2"}, %[[B2:[^:]+]]: tensor<16xf32> {pz.param = "b2"})
// CHECK-DAG: %[[F1:.+]] = pz.reshape %[[W1]] [131072]
// CHECK-DAG: %[[P3:.+]] = pz.concat %[[B1]], %[[F1]] {axis = 0 : i64} : (tensor<512xf32>, tensor<131072xf32>) -> tensor<131584xf32>
// CHECK-DAG: %[[S3:.+]] = shard.all_reduce %[[P3]] on @world grid_axes = [1] {pz.bucket = ["b1", "w1"], pz.comm = #pzrt.reason<"ddp.grad_bucket", "bucket 3 of 3">}
// CHECK-DAG: %[[F2:.+]] = pz.reshape %[[W2]] [262144] : tensor<512x512xf32> -> tensor<262144xf32>
// CHECK-DAG: %[[S2:.+]] = shard.all_reduce %[[F2]] on @world grid_axes = [1] {pz.bucket = ["w2"], pz.comm = #pzrt.reason<"ddp.grad_bucket", "bucket 2 of 3">}
// CHECK-DAG: %[[S1:.+]] = shard.all_reduce %[[B2]] on @world grid_axes = [1] {pz.bucket = ["b2"], pz.comm = #pzrt.reason<"ddp.grad_bucket", "bucket 1 of 3">} : tensor<16xf32> -> tensor<16xf32>
// CHECK-DAG: %[[HALF:.+]] = pz.constant dense<5.000000e-01> : tensor<f32>
// CHECK-DAG: %[[M1:.+]] = pz.mul %[[S1]], %[[HALF]]
// CHECK-DAG: %[[M3:.+]] = pz.mul %[[S3]], %[[HALF]]
// CHECK-DAG: %[[G1B:.+]] = pz.slice %[[M3]] starts [0] ends [512] steps [1] : tensor<131584xf32> -> tensor<512xf32>
// CHECK-DAG: %[[G1WF:.+]] = pz.slice %[[M3]] starts [512] ends [131584] steps [1]
// CHECK-DAG: %[[G1W:.+]] = pz.reshape %[[G1WF]] [256, 512]
// CHECK-DAG: %[[M2:.+]] = pz.mul %[[S2]], %[[HALF]]
// CHECK-DAG: %[[G2:.+]] = pz.reshape %[[M2]] [512, 512] : tensor<262144xf32> -> tensor<512x512xf32>
// CHECK: return %[[G1W]], %[[G1B]], %[[G2]], %[[M1]] :
// CHECK-LABEL: func.func @finalize_grads(
// CHECK-NOT: shard.
// CHECK: return
module attributes {pz.plan = #pz.plan<dp_replicate = 2, bucket_mb = 1>} {
  func.func @forward_backward(%w1: tensor<256x512xf32> {pz.param = "w1"}, %b1: tensor<512xf32> {pz.param = "b1"},
                              %w2: tensor<512x512xf32> {pz.param = "w2"}, %b2: tensor<16xf32> {pz.param = "b2"})
      -> (tensor<256x512xf32> {pz.grad = "w1"}, tensor<512xf32> {pz.grad = "b1"},
          tensor<512x512xf32> {pz.grad = "w2"}, tensor<16xf32> {pz.grad = "b2"}) {
    return %w1, %b1, %w2, %b2 : tensor<256x512xf32>, tensor<512xf32>, tensor<512x512xf32>, tensor<16xf32>
  }
}

// -----

// One micro-batch: each bucket's all-reduce is issued right after the op
// that computes its gradient, and averaged only before the return, so that
// the ops between overlap it (once pzrt-async-transfers starts it there).
// CHECK-LABEL: func.func @forward_backward(
// CHECK-NEXT: %[[GA:.+]] = pz.mul %arg0, %arg0
// CHECK-NEXT: %[[SA:.+]] = shard.all_reduce %[[GA]] on @world grid_axes = [1] {pz.bucket = ["a"], pz.comm = #pzrt.reason<"ddp.grad_bucket", "bucket 2 of 2">}
// CHECK-NEXT: %[[GB:.+]] = pz.add %arg1, %arg1
// CHECK-NEXT: %[[SB:.+]] = shard.all_reduce %[[GB]] on @world grid_axes = [1] {pz.bucket = ["b"], pz.comm = #pzrt.reason<"ddp.grad_bucket", "bucket 1 of 2">}
// CHECK-NEXT: %[[HALF:.+]] = pz.constant dense<5.000000e-01>
// CHECK-NEXT: %[[MB:.+]] = pz.mul %[[SB]], %[[HALF]]
// CHECK-NEXT: %[[MA:.+]] = pz.mul %[[SA]], %[[HALF]]
// CHECK-NEXT: return %[[MA]], %[[MB]]
module attributes {pz.plan = #pz.plan<dp_replicate = 2, bucket_mb = 0>} {
  func.func @forward_backward(%a: tensor<4xf32> {pz.param = "a"}, %b: tensor<4xf32> {pz.param = "b"})
      -> (tensor<4xf32> {pz.grad = "a"}, tensor<4xf32> {pz.grad = "b"}) {
    %ga = pz.mul %a, %a : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
    %gb = pz.add %b, %b : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
    return %ga, %gb : tensor<4xf32>, tensor<4xf32>
  }
}

// -----

// Two micro-batches: the accumulated sum is scaled by 1/2 (the mean over
// micro-batches), then averaged over 4 replicas; only this finished sum
// communicates (no_sync). bucket_mb 0: one bucket per gradient.

// CHECK-LABEL: module attributes {pz.plan = #pz.plan<dp_replicate = 4, grad_accum = 2, bucket_mb = 0>}
// CHECK: shard.grid @world(shape = 1x4x1x1x1)
// CHECK: func.func @accumulate_grads(
// CHECK-NOT: shard.all_reduce
// CHECK-LABEL: func.func @finalize_grads(
// CHECK-SAME: %[[A:[^:]+]]: tensor<8xf32> {pz.accum = "a"}, %[[B:[^:]+]]: tensor<4xf32> {pz.accum = "b"})
// CHECK-SAME: -> (tensor<8xf32> {pz.grad = "a"}, tensor<4xf32> {pz.grad = "b"}, tensor<i64>
// CHECK: %[[MB:.+]] = pz.mul %[[B]]
// CHECK: %[[SB:.+]] = shard.all_reduce %[[MB]] on @world grid_axes = [1] {pz.bucket = ["b"], pz.comm = #pzrt.reason<"ddp.grad_bucket", "bucket 1 of 2">}
// CHECK: %[[QUARTER:.+]] = pz.constant dense<2.500000e-01> : tensor<f32>
// CHECK: %[[GB:.+]] = pz.mul %[[SB]], %[[QUARTER]]
// CHECK: %[[SA:.+]] = shard.all_reduce %{{.+}} on @world grid_axes = [1] {pz.bucket = ["a"], pz.comm = #pzrt.reason<"ddp.grad_bucket", "bucket 2 of 2">}
// CHECK: %[[GA:.+]] = pz.mul %[[SA]]
// CHECK: return %[[GA]], %[[GB]], %{{.+}} :
module attributes {pz.plan = #pz.plan<dp_replicate = 4, grad_accum = 2, bucket_mb = 0>} {
  func.func @forward_backward(%a: tensor<8xf32> {pz.param = "a"}, %b: tensor<4xf32> {pz.param = "b"})
      -> (tensor<8xf32> {pz.grad = "a"}, tensor<4xf32> {pz.grad = "b"}) {
    return %a, %b : tensor<8xf32>, tensor<4xf32>
  }
}

// -----

// One replica: nothing changes.

// CHECK-LABEL: module attributes {pz.plan = #pz.plan<grad_accum = 2>}
// CHECK-NOT: shard.
module attributes {pz.plan = #pz.plan<grad_accum = 2>} {
  func.func @forward_backward(%a: tensor<8xf32> {pz.param = "a"}) -> (tensor<8xf32> {pz.grad = "a"}) {
    return %a : tensor<8xf32>
  }
}

// -----

// dp_replicate with pp is not built yet: the module stays as it is
// (compile refuses to generate code for it, naming the key).

// CHECK-LABEL: module attributes {pz.plan = #pz.plan<dp_replicate = 2, pp = 2>}
// CHECK-NOT: shard.
module attributes {pz.plan = #pz.plan<dp_replicate = 2, pp = 2>} {
  func.func @forward_backward(%a: tensor<8xf32> {pz.param = "a"}) -> (tensor<8xf32> {pz.grad = "a"}) {
    return %a : tensor<8xf32>
  }
}
