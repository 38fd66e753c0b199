// RUN: parallelize-opt %s --split-input-file --pass-pipeline='builtin.module(func.func(shard-partition,canonicalize))' 2>&1 | FileCheck %s --implicit-check-not=error:

// The sharding rules of pz ops that the upstream propagation cannot choose
// for (no affine maps: stretched size-1 dims, reshape) or that need every
// value annotated, as the plan's annotator will: shard-partition alone.

// A stretched size-1 dim has no affine map; with every value annotated the
// partition still runs (the bias's size-1 rows stay whole); a split
// stretched dim is refused (sharding-models-errors.mlir).
// CHECK-LABEL: func.func @stretch
// CHECK-NEXT: pz.add %arg0, %arg1 : tensor<8x4xf32>, tensor<1x4xf32> -> tensor<8x4xf32>
shard.grid @tp(shape = 4)
func.func @stretch(%x: tensor<8x16xf32>, %b: tensor<1x16xf32>) -> tensor<8x16xf32> {
  %s = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding
  %xs = shard.shard %x to %s annotate_for_users : tensor<8x16xf32>
  %bs = shard.shard %b to %s annotate_for_users : tensor<1x16xf32>
  %y = pz.add %xs, %bs : tensor<8x16xf32>, tensor<1x16xf32> -> tensor<8x16xf32>
  %ys = shard.shard %y to %s : tensor<8x16xf32>
  return %ys : tensor<8x16xf32>
}

// -----

// A reshape that splits the hidden dim into heads: [2, 16, 64] split on the
// hidden dim over tp 4 becomes [2, 16, 4, 16] split on the heads; each rank
// reshapes its 16 columns into its one head of 16.
// CHECK-LABEL: func.func @heads
// CHECK-NEXT: %[[R:.+]] = pz.reshape %arg0 [2, 16, 1, 16] : tensor<2x16x16xf32> -> tensor<2x16x1x16xf32>
// CHECK-NEXT: return %[[R]]
shard.grid @tp(shape = 4)
func.func @heads(%x: tensor<2x16x64xf32>) -> tensor<2x16x4x16xf32> {
  %h = shard.sharding @tp split_axes = [[], [], [0]] : !shard.sharding
  %xs = shard.shard %x to %h annotate_for_users : tensor<2x16x64xf32>
  %y = pz.reshape %xs [2, 16, 4, 16] : tensor<2x16x64xf32> -> tensor<2x16x4x16xf32>
  %ys = shard.shard %y to %h : tensor<2x16x4x16xf32>
  return %ys : tensor<2x16x4x16xf32>
}

// -----

// Attention scores split over heads (tp) and a layer norm on batch-split
// rows: softmax runs on each rank's heads, the norm on its rows with the
// whole scale; nothing communicates.
// CHECK-LABEL: func.func @normalize
// CHECK-NEXT: pz.softmax %arg0 {axis = 3 : i64} : tensor<2x1x16x16xf32>
// CHECK-NEXT: pz.layer_norm %arg1 scale(%arg2 : tensor<64xf32>) {axis = 1 : i64, epsilon = 1.000000e-05 : f64} : tensor<2x64xf32> -> tensor<2x64xf32>
shard.grid @tp(shape = 4)
func.func @normalize(%s: tensor<2x4x16x16xf32>, %x: tensor<8x64xf32>, %g: tensor<64xf32>) -> (tensor<2x4x16x16xf32>, tensor<8x64xf32>) {
  %heads = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding
  %rows = shard.sharding @tp split_axes = [[0]] : !shard.sharding
  %whole = shard.sharding @tp split_axes = [[]] : !shard.sharding
  %ss = shard.shard %s to %heads annotate_for_users : tensor<2x4x16x16xf32>
  %p = pz.softmax %ss {axis = 3 : i64} : tensor<2x4x16x16xf32>
  %ps = shard.shard %p to %heads : tensor<2x4x16x16xf32>
  %xs = shard.shard %x to %rows annotate_for_users : tensor<8x64xf32>
  %gs = shard.shard %g to %whole annotate_for_users : tensor<64xf32>
  %n = pz.layer_norm %xs scale(%gs : tensor<64xf32>) {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<8x64xf32> -> tensor<8x64xf32>
  %ns = shard.shard %n to %rows : tensor<8x64xf32>
  return %ps, %ns : tensor<2x4x16x16xf32>, tensor<8x64xf32>
}

// -----

// Broadcast, slice and a splat constant on split dims: a broadcast to the
// local shape, a slice of the unsplit dim (the split one taken whole, to its
// local end), the splat resized to the shard.
// CHECK-LABEL: func.func @shape_ops
// CHECK-NEXT: %[[C:.+]] = pz.constant dense<2.000000e+00> : tensor<4x4xf32>
// CHECK-NEXT: %[[B:.+]] = pz.broadcast %arg0 [8, 4] : tensor<4xf32> -> tensor<8x4xf32>
// CHECK-NEXT: %[[S:.+]] = pz.slice %[[B]] starts [2, 0] ends [6, 4] steps [1, 1] : tensor<8x4xf32> -> tensor<4x4xf32>
// CHECK-NEXT: %[[M:.+]] = pz.mul %[[S]], %[[C]]
// CHECK-NEXT: return %[[M]]
shard.grid @tp(shape = 4)
func.func @shape_ops(%b: tensor<16xf32>) -> tensor<4x16xf32> {
  %v = shard.sharding @tp split_axes = [[0]] : !shard.sharding
  %cols = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding
  %bs = shard.shard %b to %v annotate_for_users : tensor<16xf32>
  %x = pz.broadcast %bs [8, 16] : tensor<16xf32> -> tensor<8x16xf32>
  %xs = shard.shard %x to %cols : tensor<8x16xf32>
  %xu = shard.shard %xs to %cols annotate_for_users : tensor<8x16xf32>
  %y = pz.slice %xu starts [2, 0] ends [6, 16] steps [1, 1] : tensor<8x16xf32> -> tensor<4x16xf32>
  %ys = shard.shard %y to %cols : tensor<4x16xf32>
  %yu = shard.shard %ys to %cols annotate_for_users : tensor<4x16xf32>
  %c = pz.constant dense<2.0> : tensor<4x16xf32>
  %cs = shard.shard %c to %cols : tensor<4x16xf32>
  %cu = shard.shard %cs to %cols annotate_for_users : tensor<4x16xf32>
  %z = pz.mul %yu, %cu : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %zs = shard.shard %z to %cols : tensor<4x16xf32>
  return %zs : tensor<4x16xf32>
}

// -----

// Grouped-query attention with 8 query heads and 4 kv heads over tp 4:
// each rank runs its 2 query heads on its 1 kv head (global query heads
// 2k, 2k+1 read kv head k, as before the split), with the causal flag and
// a mask that stretches over the heads; the backward op alike.
// CHECK-LABEL: func.func @gqa
// CHECK-NEXT: %[[O:.+]] = pz.attention %arg0, %arg1, %arg2 mask(%arg3 : tensor<2x1x16x16xi1>) {causal} : tensor<2x2x16x8xf32>, tensor<2x1x16x8xf32>, tensor<2x1x16x8xf32> -> tensor<2x2x16x8xf32>
// CHECK-NEXT: pz.attention_grad %[[O]], %arg0, %arg1, %arg2 mask(%arg3 : tensor<2x1x16x16xi1>) {causal} : tensor<2x2x16x8xf32>, tensor<2x2x16x8xf32>, tensor<2x1x16x8xf32>, tensor<2x1x16x8xf32>
shard.grid @tp(shape = 4)
func.func @gqa(%q: tensor<2x8x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>, %m: tensor<2x1x16x16xi1>)
    -> (tensor<2x8x16x8xf32>, tensor<2x4x16x8xf32>) {
  %h = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding
  %w = shard.sharding @tp split_axes = [[]] : !shard.sharding
  %qs = shard.shard %q to %h annotate_for_users : tensor<2x8x16x8xf32>
  %ks = shard.shard %k to %h annotate_for_users : tensor<2x4x16x8xf32>
  %vs = shard.shard %v to %h annotate_for_users : tensor<2x4x16x8xf32>
  %ms = shard.shard %m to %w annotate_for_users : tensor<2x1x16x16xi1>
  %o = pz.attention %qs, %ks, %vs mask(%ms : tensor<2x1x16x16xi1>) {causal} : tensor<2x8x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x8x16x8xf32>
  %os = shard.shard %o to %h : tensor<2x8x16x8xf32>
  %ou = shard.shard %os to %h annotate_for_users : tensor<2x8x16x8xf32>
  %qs2 = shard.shard %q to %h annotate_for_users : tensor<2x8x16x8xf32>
  %ks2 = shard.shard %k to %h annotate_for_users : tensor<2x4x16x8xf32>
  %vs2 = shard.shard %v to %h annotate_for_users : tensor<2x4x16x8xf32>
  %ms2 = shard.shard %m to %w annotate_for_users : tensor<2x1x16x16xi1>
  %dq, %dk, %dv = pz.attention_grad %ou, %qs2, %ks2, %vs2 mask(%ms2 : tensor<2x1x16x16xi1>) {causal} : tensor<2x8x16x8xf32>, tensor<2x8x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
  %dqs = shard.shard %dq to %h : tensor<2x8x16x8xf32>
  %dks = shard.shard %dk to %h : tensor<2x4x16x8xf32>
  %dvs = shard.shard %dv to %h : tensor<2x4x16x8xf32>
  return %dqs, %dks : tensor<2x8x16x8xf32>, tensor<2x4x16x8xf32>
}

// -----

// A layer norm's gradient on rows split over the sequence (sequence
// parallelism on tp, the program's grid): the input's gradient stays on
// the local rows, the scale's and bias's gradients are summed over them.
// CHECK-LABEL: func.func @norm_grad_rows
// CHECK-NEXT: %[[DX:.+]], %[[DG:.+]], %[[DB:.+]] = pz.layer_norm_grad %arg0, %arg1 scale(%arg2 : tensor<64xf32>) {axis = 2 : i64, epsilon = 1.000000e-05 : f64} : tensor<2x4x64xf32> -> tensor<2x4x64xf32>, tensor<64xf32>, tensor<64xf32>
// CHECK-NEXT: %[[G:.+]] = shard.all_reduce %[[DG]] on @world grid_axes = [4] {pz.comm = #pzrt.reason<"tp.partial_sum", "h.0.ln_1 (backward)">}
// CHECK-NEXT: %[[B:.+]] = shard.all_reduce %[[DB]] on @world grid_axes = [4] {pz.comm = #pzrt.reason<"tp.partial_sum", "h.0.ln_1 (backward)">}
// CHECK-NEXT: return %[[DX]], %[[G]], %[[B]]
shard.grid @world(shape = 1x1x1x1x4)
func.func @norm_grad_rows(%dy: tensor<2x16x64xf32>, %x: tensor<2x16x64xf32>, %g: tensor<64xf32>) -> (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) {
  %seq = shard.sharding @world split_axes = [[], [4]] : !shard.sharding
  %w = shard.sharding @world split_axes = [[]] : !shard.sharding
  %dys = shard.shard %dy to %seq annotate_for_users : tensor<2x16x64xf32>
  %xs = shard.shard %x to %seq annotate_for_users : tensor<2x16x64xf32>
  %gs = shard.shard %g to %w annotate_for_users : tensor<64xf32>
  %dx, %dg, %db = pz.layer_norm_grad %dys, %xs scale(%gs : tensor<64xf32>) {axis = 2 : i64, epsilon = 1.0e-05 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32> loc("h.0.ln_1 (backward)")
  %dxs = shard.shard %dx to %seq : tensor<2x16x64xf32>
  %dgs = shard.shard %dg to %w : tensor<64xf32>
  %dbs = shard.shard %db to %w : tensor<64xf32>
  return %dxs, %dgs, %dbs : tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>
}
