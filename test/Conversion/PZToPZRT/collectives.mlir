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

// -----

// ZeRO (pz-zero): reduce_scatter and all_gather become their pzrt
// transfers (with the tensors of their bucket), pz.shard_chunk becomes
// pzrt.chunk, and a result marked pz.shard_prefix is written into the
// leading elements of the argument it is tied to (a view of them).
// CHECK-LABEL: func.func @zero(
// CHECK-SAME: %[[G:[^:]+]]: memref<3x5xf32> {pz.grad = "w", pzrt.tied = 0 : i64}, %[[P:[^:]+]]: memref<3x5xf32> {pz.param = "w"}, %[[OUT:[^:]+]]: memref<16xf32> {pz.output = "gathered", pzrt.result = 1 : i64})
// CHECK: %[[FLAT:.+]] = memref.reinterpret_cast %[[G]] to offset: [0], sizes: [15], strides: [1]
// CHECK: %[[PREFIX:.+]] = memref.reinterpret_cast %[[FLAT]] to offset: [0], sizes: [8], strides: [1]
// CHECK: pzrt.reduce_scatter <sum> %{{.+}}, %[[PREFIX]] on ["dp_shard"] reason <"zero.grad_reduce_scatter", "bucket 1 of 1"> {pz.bucket = ["w"]} : memref<16xf32>, memref<8xf32>
// CHECK: %[[CHUNK:.+]] = memref.alloc() : memref<8xf32>
// CHECK: pzrt.chunk %{{.+}}, %[[CHUNK]] on ["dp_shard"] : memref<15xf32>, memref<8xf32>
// CHECK: pzrt.all_gather %[[CHUNK]], %[[OUT]] on ["dp_shard"] reason <"zero.param_all_gather", "bucket 1 of 1"> {pz.bucket = ["w"]} : memref<8xf32>, memref<16xf32>
module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 1>} {
  shard.grid @world(shape = 1x1x2x1x1)
  func.func @zero(%g: tensor<3x5xf32> {pz.grad = "w"}, %p: tensor<3x5xf32> {pz.param = "w"})
      -> (tensor<8xf32> {pz.grad = "w", pz.shard_prefix}, tensor<16xf32> {pz.output = "gathered"}) {
    %f = pz.reshape %g [15] : tensor<3x5xf32> -> tensor<15xf32>
    %z = pz.constant dense<0.0> : tensor<1xf32>
    %b = pz.concat %f, %z {axis = 0 : i64} : (tensor<15xf32>, tensor<1xf32>) -> tensor<16xf32>
    %s = shard.reduce_scatter %b on @world grid_axes = [2] scatter_axis = 0 {pz.bucket = ["w"], pz.comm = #pzrt.reason<"zero.grad_reduce_scatter", "bucket 1 of 1">} : tensor<16xf32> -> tensor<8xf32>
    %pf = pz.reshape %p [15] : tensor<3x5xf32> -> tensor<15xf32>
    %c = pz.shard_chunk %pf on @world grid_axes = [2] chunks = 2 : tensor<15xf32> -> tensor<8xf32>
    %a = shard.all_gather %c on @world grid_axes = [2] gather_axis = 0 {pz.bucket = ["w"], pz.comm = #pzrt.reason<"zero.param_all_gather", "bucket 1 of 1">} : tensor<8xf32> -> tensor<16xf32>
    return %s, %a : tensor<8xf32>, tensor<16xf32>
  }
}

// -----

module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 1>} {
  shard.grid @world(shape = 1x1x2x1x1)
  func.func @chunks_mismatch(%p: tensor<15xf32>) -> tensor<5xf32> {
    // expected-error @+1 {{convert-pz-to-pzrt: pz.shard_chunk splits into 3 chunks, but its group of grid axes has 2 ranks}}
    %c = pz.shard_chunk %p on @world grid_axes = [2] chunks = 3 : tensor<15xf32> -> tensor<5xf32>
    return %c : tensor<5xf32>
  }
}

// -----

// A tied result of another type is refused unless it is a shard prefix.
module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 1>} {
  // expected-error @+1 {{convert-pz-to-pzrt: result 0 is tied to argument 0 but has another type}}
  func.func @not_prefix(%g: tensor<3x5xf32> {pz.grad = "w"}) -> (tensor<8xf32> {pz.grad = "w"}) {
    %f = pz.reshape %g [15] : tensor<3x5xf32> -> tensor<15xf32>
    %s = pz.slice %f starts [0] ends [8] steps [1] : tensor<15xf32> -> tensor<8xf32>
    return %s : tensor<8xf32>
  }
}
