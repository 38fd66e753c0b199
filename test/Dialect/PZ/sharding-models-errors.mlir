// RUN: parallelize-opt %s --split-input-file --verify-diagnostics --pass-pipeline='builtin.module(func.func(shard-partition))'

// A split size-1 dim that stretches is refused at the op, as is an
// operand split differently from the result it maps to.
shard.grid @tp(shape = 4)
func.func @stretched_split(%x: tensor<8x16xf32>, %b: tensor<1x16xf32>) -> tensor<8x16xf32> {
  %s = shard.sharding @tp split_axes = [[0]] : !shard.sharding
  %sb = shard.sharding @tp split_axes = [[0]] : !shard.sharding
  %xs = shard.shard %x to %s annotate_for_users : tensor<8x16xf32>
  %bs = shard.shard %b to %sb annotate_for_users : tensor<1x16xf32>
  // expected-error @+1 {{'pz.add' op cannot be partitioned: operand 1 dim 0 broadcasts from size 1 and must not be split}}
  %y = pz.add %xs, %bs : tensor<8x16xf32>, tensor<1x16xf32> -> tensor<8x16xf32>
  %ys = shard.shard %y to %s : tensor<8x16xf32>
  return %ys : tensor<8x16xf32>
}

// -----

shard.grid @tp(shape = 4)
func.func @mismatch(%x: tensor<8x16xf32>, %z: tensor<8x16xf32>) -> tensor<8x16xf32> {
  %rows = shard.sharding @tp split_axes = [[0]] : !shard.sharding
  %cols = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding
  %xs = shard.shard %x to %rows annotate_for_users : tensor<8x16xf32>
  %zs = shard.shard %z to %cols annotate_for_users : tensor<8x16xf32>
  // expected-error @+1 {{'pz.mul' op cannot be partitioned: operand 1 dim 0 must be split over the same grid axes as result dim 0}}
  %y = pz.mul %xs, %zs : tensor<8x16xf32>, tensor<8x16xf32> -> tensor<8x16xf32>
  %ys = shard.shard %y to %rows : tensor<8x16xf32>
  return %ys : tensor<8x16xf32>
}

// -----

// A reshape whose split is not on the major dim of its group: the heads'
// inner dim cannot carry the hidden dim's split.
shard.grid @tp(shape = 4)
func.func @minor_split(%x: tensor<2x16x64xf32>) -> tensor<2x16x4x16xf32> {
  %h = shard.sharding @tp split_axes = [[], [], [0]] : !shard.sharding
  %d = shard.sharding @tp split_axes = [[], [], [], [0]] : !shard.sharding
  %xs = shard.shard %x to %h annotate_for_users : tensor<2x16x64xf32>
  // expected-error @+1 {{'pz.reshape' op cannot be partitioned: input dim 2 and result dim 2 (the major dims of one group) must be split over the same grid axes}}
  %y = pz.reshape %xs [2, 16, 4, 16] : tensor<2x16x64xf32> -> tensor<2x16x4x16xf32>
  %ys = shard.shard %y to %d : tensor<2x16x4x16xf32>
  return %ys : tensor<2x16x4x16xf32>
}

// -----

// Three heads do not split over 4 ranks.
shard.grid @tp(shape = 4)
func.func @heads_do_not_divide(%x: tensor<2x48xf32>) -> tensor<2x3x16xf32> {
  %h = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding
  %xs = shard.shard %x to %h annotate_for_users : tensor<2x48xf32>
  // expected-error @+1 {{'pz.reshape' op cannot be partitioned: the split of input dim 1 and result dim 1 over 4 ranks does not divide them}}
  %y = pz.reshape %xs [2, 3, 16] : tensor<2x48xf32> -> tensor<2x3x16xf32>
  %ys = shard.shard %y to %h : tensor<2x3x16xf32>
  return %ys : tensor<2x3x16xf32>
}

// -----

// A norm over a split hidden dim would need its statistics all-reduced.
shard.grid @tp(shape = 4)
func.func @split_norm(%x: tensor<8x64xf32>) -> tensor<8x64xf32> {
  %cols = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding
  %xs = shard.shard %x to %cols annotate_for_users : tensor<8x64xf32>
  // expected-error @+1 {{'pz.rms_norm' op cannot be partitioned: it normalizes over dim 1, which is split (the rules keep normalized dims whole)}}
  %n = pz.rms_norm %xs {axis = 1 : i64, epsilon = 1.0e-06 : f64} : tensor<8x64xf32> -> tensor<8x64xf32>
  %ns = shard.shard %n to %cols : tensor<8x64xf32>
  return %ns : tensor<8x64xf32>
}

// -----

// Slicing a split dim would need each rank's offset.
shard.grid @tp(shape = 4)
func.func @slice_split(%x: tensor<8x16xf32>) -> tensor<8x8xf32> {
  %cols = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding
  %xs = shard.shard %x to %cols annotate_for_users : tensor<8x16xf32>
  // expected-error @+1 {{'pz.slice' op cannot be partitioned: it slices dim 1, which is split}}
  %y = pz.slice %xs starts [0, 0] ends [8, 8] steps [1, 1] : tensor<8x16xf32> -> tensor<8x8xf32>
  %ys = shard.shard %y to %cols : tensor<8x8xf32>
  return %ys : tensor<8x8xf32>
}

// -----

// A constant that is not a splat differs from rank to rank once split.
shard.grid @tp(shape = 2)
func.func @const_split() -> tensor<2xf32> {
  %v = shard.sharding @tp split_axes = [[0]] : !shard.sharding
  // expected-error @+1 {{'pz.constant' op cannot be partitioned: only a splat constant can be split}}
  %c = pz.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %cs = shard.shard %c to %v : tensor<2xf32>
  return %cs : tensor<2xf32>
}

// -----

// A transpose whose result is annotated as if nothing moved: the shards
// have the right shapes but would be the wrong blocks; refused.
shard.grid @g(shape = 2x2)
func.func @transpose_mislabelled(%x: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %s = shard.sharding @g split_axes = [[0], [1]] : !shard.sharding
  %xs = shard.shard %x to %s annotate_for_users : tensor<8x8xf32>
  // expected-error @+1 {{'pz.transpose' op cannot be partitioned: result 0 dim 0 is split unlike the other values indexed by the same loop}}
  %y = pz.transpose %xs [1, 0] : tensor<8x8xf32> -> tensor<8x8xf32>
  %ys = shard.shard %y to %s : tensor<8x8xf32>
  return %ys : tensor<8x8xf32>
}

// -----

// A matmul whose operands split the contraction over different axes.
shard.grid @g(shape = 2x2)
func.func @matmul_k_mismatch(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>) -> tensor<4x4xf32> {
  %ka = shard.sharding @g split_axes = [[], [0]] : !shard.sharding
  %kb = shard.sharding @g split_axes = [[1]] : !shard.sharding
  %r = shard.sharding @g split_axes = [[]] : !shard.sharding
  %as = shard.shard %a to %ka annotate_for_users : tensor<4x8xf32>
  %bs = shard.shard %b to %kb annotate_for_users : tensor<8x4xf32>
  // expected-error @+1 {{'pz.matmul' op cannot be partitioned: operand 1 dim 0 is split unlike the other values indexed by the same loop}}
  %y = pz.matmul %as, %bs : tensor<4x8xf32>, tensor<8x4xf32> -> tensor<4x4xf32>
  %ys = shard.shard %y to %r : tensor<4x4xf32>
  return %ys : tensor<4x4xf32>
}

// -----

// Two kv heads do not split over tp 4 (replicating them is the annotator's
// job); and kv heads left whole while the query heads are split would pair
// each rank's query heads with the wrong kv heads.
shard.grid @tp(shape = 4)
func.func @kv_heads_do_not_divide(%q: tensor<2x8x16x8xf32>, %k: tensor<2x2x16x8xf32>) -> tensor<2x8x16x8xf32> {
  %h = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding
  %qs = shard.shard %q to %h annotate_for_users : tensor<2x8x16x8xf32>
  %ks = shard.shard %k to %h annotate_for_users : tensor<2x2x16x8xf32>
  // expected-error @+1 {{'pz.attention' op cannot be partitioned: dim 1 of 'tensor<2x2x16x8xf32>' does not split evenly over 4 ranks}}
  %o = pz.attention %qs, %ks, %ks : tensor<2x8x16x8xf32>, tensor<2x2x16x8xf32>, tensor<2x2x16x8xf32> -> tensor<2x8x16x8xf32>
  %os = shard.shard %o to %h : tensor<2x8x16x8xf32>
  return %os : tensor<2x8x16x8xf32>
}

// -----

shard.grid @tp(shape = 4)
func.func @kv_heads_whole(%q: tensor<2x8x16x8xf32>, %k: tensor<2x4x16x8xf32>) -> tensor<2x8x16x8xf32> {
  %h = shard.sharding @tp split_axes = [[], [0]] : !shard.sharding
  %w = shard.sharding @tp split_axes = [[]] : !shard.sharding
  %qs = shard.shard %q to %h annotate_for_users : tensor<2x8x16x8xf32>
  %ks = shard.shard %k to %w annotate_for_users : tensor<2x4x16x8xf32>
  // expected-error @+1 {{'pz.attention' op cannot be partitioned: operand 1 dim 1 must be split as the query's batch and heads (and query sequence) and be whole elsewhere}}
  %o = pz.attention %qs, %ks, %ks : tensor<2x8x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x8x16x8xf32>
  %os = shard.shard %o to %h : tensor<2x8x16x8xf32>
  return %os : tensor<2x8x16x8xf32>
}
