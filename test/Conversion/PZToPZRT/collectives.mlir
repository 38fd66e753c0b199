// RUN: parallelize-opt %s -split-input-file --convert-pz-to-pzrt -verify-diagnostics | FileCheck %s

// A shard.all_reduce on the program's grid becomes pzrt.all_reduce on the
// communicator group of its grid axes (by name), with its reason. A
// temporary that only the all-reduce reads is reduced in place; an
// argument keeps its value and the sum gets a buffer of its own. The grid
// itself is gone: the axes live on the transfers.

// CHECK-NOT: shard.grid
// CHECK-LABEL: func.func @finalize_grads(
// CHECK-SAME: %[[A:[^:]+]]: memref<4xf32> {pz.grad = "a", pzrt.tied = 0 : i64}, %[[B:[^:]+]]: memref<2x2xf32> {pz.grad = "b", pzrt.tied = 1 : i64})
// CHECK: %[[SUM:.+]] = memref.alloc() : memref<4xf32>
// CHECK: pzrt.all_reduce <sum> %[[A]], %[[SUM]] on ["dp_replicate"] reason <"ddp.grad_bucket", "bucket 1 of 2"> : memref<4xf32>, memref<4xf32>
// CHECK: pzrt.dispatch @kernels::@finalize_grads_{{[0-9]+}}_add(%[[SUM]], %[[A]] : memref<4xf32>, memref<4xf32>) outs(%[[A]] : memref<4xf32>)
// CHECK: %[[BUF:.+]] = memref.alloc() : memref<4xf32>
// CHECK: pzrt.dispatch @kernels::@finalize_grads_{{[0-9]+}}_exp({{.+}}) outs(%[[BUF]] : memref<4xf32>)
// CHECK: pzrt.all_reduce <max> %[[BUF]], %[[BUF]] on ["dp_replicate", "tp"] reason <"test.inplace", "bucket 2 of 2"> : memref<4xf32>, memref<4xf32>
// CHECK-NOT: shard.
module attributes {pz.plan = #pz.plan<dp_replicate = 2, tp = 2>} {
  shard.grid @world(shape = 1x2x1x1x2)
  func.func @finalize_grads(%a: tensor<4xf32> {pz.grad = "a"}, %b: tensor<2x2xf32> {pz.grad = "b"})
      -> (tensor<4xf32> {pz.grad = "a"}, tensor<2x2xf32> {pz.grad = "b"}) {
    %s = shard.all_reduce %a on @world grid_axes = [1] {pz.comm = #pzrt.reason<"ddp.grad_bucket", "bucket 1 of 2">} : tensor<4xf32> -> tensor<4xf32>
    %x = pz.add %s, %a : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
    %f = pz.reshape %b [4] : tensor<2x2xf32> -> tensor<4xf32>
    %e = pz.exp %f : tensor<4xf32>
    %m = shard.all_reduce %e on @world grid_axes = [1, 4] reduction = max {pz.comm = #pzrt.reason<"test.inplace", "bucket 2 of 2">} : tensor<4xf32> -> tensor<4xf32>
    %r = pz.reshape %m [2, 2] : tensor<4xf32> -> tensor<2x2xf32>
    return %x, %r : tensor<4xf32>, tensor<2x2xf32>
  }
}

// -----

// An all-reduce returned into the argument it reads runs in place.
// CHECK-LABEL: func.func @tied(
// CHECK-SAME: %[[T:[^:]+]]: memref<4xf32> {pz.grad = "t", pzrt.tied = 0 : i64})
// CHECK-NEXT: pzrt.all_reduce <sum> %[[T]], %[[T]] on ["dp_replicate"]
// CHECK-NEXT: return
module attributes {pz.plan = #pz.plan<dp_replicate = 2>} {
  shard.grid @world(shape = 1x2x1x1x1)
  func.func @tied(%t: tensor<4xf32> {pz.grad = "t"}) -> (tensor<4xf32> {pz.grad = "t"}) {
    %s = shard.all_reduce %t on @world grid_axes = [1] {pz.comm = #pzrt.reason<"ddp.grad_bucket", "bucket 1 of 1">} : tensor<4xf32> -> tensor<4xf32>
    return %s : tensor<4xf32>
  }
}

// -----

module attributes {pz.plan = #pz.plan<dp_replicate = 2>} {
  shard.grid @world(shape = 1x2x1x1x1)
  func.func @no_reason(%a: tensor<4xf32>) -> tensor<4xf32> {
    // expected-error @+1 {{convert-pz-to-pzrt: collective without a reason (pz.comm = #pzrt.reason<kind, source>)}}
    %s = shard.all_reduce %a on @world grid_axes = [1] : tensor<4xf32> -> tensor<4xf32>
    return %s : tensor<4xf32>
  }
}

// -----

module attributes {pz.plan = #pz.plan<dp_replicate = 2>} {
  shard.grid @world(shape = 1x2x1x1x1)
  func.func @product(%a: tensor<4xf32>) -> tensor<4xf32> {
    // expected-error @+1 {{convert-pz-to-pzrt: the runtime reduces by sum or max, not product}}
    %s = shard.all_reduce %a on @world grid_axes = [1] reduction = product {pz.comm = #pzrt.reason<"x", "y">} : tensor<4xf32> -> tensor<4xf32>
    return %s : tensor<4xf32>
  }
}

// -----

module attributes {pz.plan = #pz.plan<dp_replicate = 2>} {
  shard.grid @g2(shape = 2)
  func.func @other_grid(%a: tensor<4xf32>) -> tensor<4xf32> {
    // expected-error @+1 {{convert-pz-to-pzrt: collective on @g2, which is not the program's grid of 5 axes (pp x dp_replicate x dp_shard x cp x tp)}}
    %s = shard.all_reduce %a on @g2 grid_axes = [0] {pz.comm = #pzrt.reason<"x", "y">} : tensor<4xf32> -> tensor<4xf32>
    return %s : tensor<4xf32>
  }
}
