// RUN: parallelize-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(sharding-propagation,shard-partition,canonicalize,cse))' 2>&1 | FileCheck %s --implicit-check-not=error:

// The sharding rules of pz.matmul and the element maps under the upstream
// propagation and partition. Megatron's MLP on tp = 4: the column-parallel
// weight [[], [0]] and the row-parallel one [[0]] give each rank 64 of the
// 256 hidden units, gelu runs on the local columns, and the second matmul's
// split reduction is the one all-reduce, with its reason.
// CHECK-LABEL: func.func @mlp
// CHECK-SAME: %[[X:.+]]: tensor<8x64xf32>, %[[W1:.+]]: tensor<64x64xf32>, %[[W2:.+]]: tensor<64x64xf32>
// CHECK-NEXT: %[[H:.+]] = pz.matmul %[[X]], %[[W1]] : tensor<8x64xf32>, tensor<64x64xf32> -> tensor<8x64xf32>
// CHECK-NEXT: %[[G:.+]] = pz.gelu %[[H]]
// CHECK-NEXT: %[[P:.+]] = pz.matmul %[[G]], %[[W2]] : tensor<8x64xf32>, tensor<64x64xf32> -> tensor<8x64xf32>
// CHECK-NEXT: %[[Y:.+]] = shard.all_reduce %[[P]] on @world grid_axes = [4] {pz.comm = #pzrt.reason<"tp.partial_sum", "h.0.mlp.c_proj">} : tensor<8x64xf32> -> tensor<8x64xf32>
// CHECK-NEXT: return %[[Y]]
shard.grid @world(shape = 1x1x1x1x4)
func.func @mlp(%x: tensor<8x64xf32>, %w1: tensor<64x256xf32>, %w2: tensor<256x64xf32>) -> tensor<8x64xf32> {
  %col = shard.sharding @world split_axes = [[], [4]] : !shard.sharding
  %row = shard.sharding @world split_axes = [[4]] : !shard.sharding
  %w1s = shard.shard %w1 to %col annotate_for_users : tensor<64x256xf32>
  %w2s = shard.shard %w2 to %row annotate_for_users : tensor<256x64xf32>
  %h = pz.matmul %x, %w1s : tensor<8x64xf32>, tensor<64x256xf32> -> tensor<8x256xf32> loc("h.0.mlp.c_fc")
  %g = pz.gelu %h tanh : tensor<8x256xf32>
  %y = pz.matmul %g, %w2s : tensor<8x256xf32>, tensor<256x64xf32> -> tensor<8x64xf32> loc("h.0.mlp.c_proj")
  return %y : tensor<8x64xf32>
}

// -----

// A training step's MLP on dp 2 x tp 4 (a grid that is not the program's:
// reasons without axis names) with every result annotated, as the plan's
// annotator will: the batch is split over dp (axis 0), the weights over tp
// (axis 1). Forward: the one tp all-reduce. Backward (the transposed
// matmuls autodiff emits): dh = dy w2^T needs no collective, dx = dh w1^T
// one tp all-reduce, and each weight gradient and the bias gradient (a
// reduce_sum over the batch) one dp all-reduce of its batch reduction. The
// bias add broadcasts without stretching a size-1 dim.
// CHECK-LABEL: func.func @step
// CHECK-SAME: (%[[X:.+]]: tensor<4x64xf32>, %[[W1:.+]]: tensor<64x64xf32>, %[[B1:.+]]: tensor<64xf32>, %[[W2:.+]]: tensor<64x64xf32>, %[[DY:.+]]: tensor<4x64xf32>)
// CHECK-NEXT: %[[M:.+]] = pz.matmul %[[X]], %[[W1]] : tensor<4x64xf32>, tensor<64x64xf32> -> tensor<4x64xf32>
// CHECK-NEXT: %[[H:.+]] = pz.add %[[M]], %[[B1]]
// CHECK-NEXT: %[[FP:.+]] = pz.matmul %[[H]], %[[W2]]
// CHECK-NEXT: %[[F:.+]] = shard.all_reduce %[[FP]] on @g grid_axes = [1] {pz.comm = #pzrt.reason<"partial_sum", "fwd">} : tensor<4x64xf32>
// CHECK-NEXT: %[[DH:.+]] = pz.matmul %[[DY]], %[[W2]] {transpose_rhs} : tensor<4x64xf32>, tensor<64x64xf32> -> tensor<4x64xf32>
// CHECK-NEXT: %[[DW2P:.+]] = pz.matmul %[[H]], %[[DY]] {transpose_lhs}
// CHECK-NEXT: %[[DW2:.+]] = shard.all_reduce %[[DW2P]] on @g grid_axes = [0] {pz.comm = #pzrt.reason<"partial_sum", "dw2">} : tensor<64x64xf32>
// CHECK-NEXT: %[[DB1P:.+]] = pz.reduce_sum %[[DH]] [0] : tensor<4x64xf32> -> tensor<64xf32>
// CHECK-NEXT: %[[DB1:.+]] = shard.all_reduce %[[DB1P]] on @g grid_axes = [0] {pz.comm = #pzrt.reason<"partial_sum", "db1">} : tensor<64xf32>
// CHECK-NEXT: %[[DW1P:.+]] = pz.matmul %[[X]], %[[DH]] {transpose_lhs}
// CHECK-NEXT: %[[DW1:.+]] = shard.all_reduce %[[DW1P]] on @g grid_axes = [0] {pz.comm = #pzrt.reason<"partial_sum", "dw1">} : tensor<64x64xf32>
// CHECK-NEXT: %[[DXP:.+]] = pz.matmul %[[DH]], %[[W1]] {transpose_rhs}
// CHECK-NEXT: %[[DX:.+]] = shard.all_reduce %[[DXP]] on @g grid_axes = [1] {pz.comm = #pzrt.reason<"partial_sum", "dx">} : tensor<4x64xf32>
// CHECK-NEXT: return %[[F]], %[[DW1]], %[[DB1]], %[[DW2]], %[[DX]]
shard.grid @g(shape = 2x4)
func.func @step(%x: tensor<8x64xf32>, %w1: tensor<64x256xf32>, %b1: tensor<256xf32>, %w2: tensor<256x64xf32>, %dy: tensor<8x64xf32>)
    -> (tensor<8x64xf32>, tensor<64x256xf32>, tensor<256xf32>, tensor<256x64xf32>, tensor<8x64xf32>) {
  %sx = shard.sharding @g split_axes = [[0]] : !shard.sharding
  %sh = shard.sharding @g split_axes = [[0], [1]] : !shard.sharding
  %sw1 = shard.sharding @g split_axes = [[], [1]] : !shard.sharding
  %sb1 = shard.sharding @g split_axes = [[1]] : !shard.sharding
  %sw2 = shard.sharding @g split_axes = [[1]] : !shard.sharding
  %xs = shard.shard %x to %sx : tensor<8x64xf32>
  %w1s = shard.shard %w1 to %sw1 : tensor<64x256xf32>
  %b1s = shard.shard %b1 to %sb1 : tensor<256xf32>
  %w2s = shard.shard %w2 to %sw2 : tensor<256x64xf32>
  %dys = shard.shard %dy to %sx : tensor<8x64xf32>
  %m = pz.matmul %xs, %w1s : tensor<8x64xf32>, tensor<64x256xf32> -> tensor<8x256xf32>
  %ms = shard.shard %m to %sh : tensor<8x256xf32>
  %h = pz.add %ms, %b1s : tensor<8x256xf32>, tensor<256xf32> -> tensor<8x256xf32>
  %hs = shard.shard %h to %sh : tensor<8x256xf32>
  %y = pz.matmul %hs, %w2s : tensor<8x256xf32>, tensor<256x64xf32> -> tensor<8x64xf32> loc("fwd")
  %dh = pz.matmul %dys, %w2s {transpose_rhs} : tensor<8x64xf32>, tensor<256x64xf32> -> tensor<8x256xf32>
  %dhs = shard.shard %dh to %sh : tensor<8x256xf32>
  %dw2 = pz.matmul %hs, %dys {transpose_lhs} : tensor<8x256xf32>, tensor<8x64xf32> -> tensor<256x64xf32> loc("dw2")
  %db1 = pz.reduce_sum %dhs [0] : tensor<8x256xf32> -> tensor<256xf32> loc("db1")
  %dw1 = pz.matmul %xs, %dhs {transpose_lhs} : tensor<8x64xf32>, tensor<8x256xf32> -> tensor<64x256xf32> loc("dw1")
  %dx = pz.matmul %dhs, %w1s {transpose_rhs} : tensor<8x256xf32>, tensor<64x256xf32> -> tensor<8x64xf32> loc("dx")
  %yr = shard.shard %y to %sx : tensor<8x64xf32>
  %dw1r = shard.shard %dw1 to %sw1 : tensor<64x256xf32>
  %db1r = shard.shard %db1 to %sb1 : tensor<256xf32>
  %dw2r = shard.shard %dw2 to %sw2 : tensor<256x64xf32>
  %dxr = shard.shard %dx to %sx : tensor<8x64xf32>
  return %yr, %dw1r, %db1r, %dw2r, %dxr : tensor<8x64xf32>, tensor<64x256xf32>, tensor<256xf32>, tensor<256x64xf32>, tensor<8x64xf32>
}

// -----

// Transpose and an element map on a split dim: the split follows the
// permutation, and nothing communicates.
// CHECK-LABEL: func.func @transpose
// CHECK-NEXT: %[[T:.+]] = pz.transpose %arg0 [1, 0] : tensor<8x4xf32> -> tensor<4x8xf32>
// CHECK-NEXT: %[[E:.+]] = pz.exp %[[T]] : tensor<4x8xf32>
// CHECK-NEXT: return %[[E]]
shard.grid @tp(shape = 4)
func.func @transpose(%x: tensor<8x16xf32>) -> tensor<16x8xf32> {
  %s = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding
  %t = shard.sharding @tp split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %s annotate_for_users : tensor<8x16xf32>
  %y = pz.transpose %xs [1, 0] : tensor<8x16xf32> -> tensor<16x8xf32>
  %ys = shard.shard %y to %t : tensor<16x8xf32>
  %z = pz.exp %ys : tensor<16x8xf32>
  %zs = shard.shard %z to %t : tensor<16x8xf32>
  return %zs : tensor<16x8xf32>
}
