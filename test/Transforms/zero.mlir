// RUN: parallelize-opt %s -split-input-file --pz-optimizer="grad-clip=1.0" --pz-build-grad-functions --pz-zero | FileCheck %s --check-prefix=Z1
// RUN: parallelize-opt %s -split-input-file --pz-optimizer="optimizer=sgd momentum=0.9" --pz-build-grad-functions --pz-zero | FileCheck %s --check-prefix=HSDP
// RUN: parallelize-opt %s -split-input-file --pz-optimizer --pz-build-grad-functions --pz-zero | FileCheck %s --check-prefix=Z3
// RUN: parallelize-opt %s -split-input-file --pz-optimizer="grad-clip=1.0" --pz-build-grad-functions --pz-tensor-parallel --pz-zero | FileCheck %s --check-prefix=TPZ

// ZeRO stage 1 over dp_shard 2, one bucket per gradient (bucket_mb 0): each
// gradient is flattened, zero-padded to 2 x ceil(N / 2) and
// reduce-scattered; its averaged chunk is the result (written into the
// leading elements of the gradient's buffer: pz.shard_prefix) and the
// numerics check reads it. The optimizer reads gradient and state chunks,
// its parameter's chunk through pz.shard_chunk, all-reduces the norm's sum
// of squares over dp_shard and all-gathers the updated chunks.

// Z1-LABEL: module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 1, bucket_mb = 0>}
// Z1: shard.grid @world(shape = 1x1x2x1x1)
// Z1-LABEL: func.func @finalize_grads(
// Z1-SAME: %[[W:[^:]+]]: tensor<3x5xf32> {pz.grad = "w"}, %[[B:[^:]+]]: tensor<3xf32> {pz.grad = "b"})
// Z1-SAME: -> (tensor<8xf32> {pz.grad = "w", pz.shard_prefix}, tensor<2xf32> {pz.grad = "b", pz.shard_prefix}, tensor<i64> {pz.output = "nonfinite", pz.role = #pz.role<nonfinite>})
// Z1: %[[PB:.+]] = pz.concat %[[B]], %{{.+}} {axis = 0 : i64} : (tensor<3xf32>, tensor<1xf32>) -> tensor<4xf32>
// Z1: %[[RB:.+]] = shard.reduce_scatter %[[PB]] on @world grid_axes = [2] scatter_axis = 0 {pz.bucket = ["b"], pz.comm = #pzrt.reason<"zero.grad_reduce_scatter", "bucket 1 of 2">} : tensor<4xf32> -> tensor<2xf32>
// Z1: %[[HALF:.+]] = pz.constant dense<5.000000e-01> : tensor<f32>
// Z1: %[[GB:.+]] = pz.mul %[[RB]], %[[HALF]] : tensor<2xf32>, tensor<f32> -> tensor<2xf32>
// Z1: %[[FW:.+]] = pz.reshape %[[W]] [15]
// Z1: %[[PW:.+]] = pz.concat %[[FW]], %{{.+}} {axis = 0 : i64} : (tensor<15xf32>, tensor<1xf32>) -> tensor<16xf32>
// Z1: %[[RW:.+]] = shard.reduce_scatter %[[PW]] on @world grid_axes = [2] scatter_axis = 0 {pz.bucket = ["w"], pz.comm = #pzrt.reason<"zero.grad_reduce_scatter", "bucket 2 of 2">} : tensor<16xf32> -> tensor<8xf32>
// Z1: %[[GW:.+]] = pz.mul %[[RW]]
// Z1-DAG: pz.all_finite %[[GW]] : tensor<8xf32>
// Z1-DAG: pz.all_finite %[[GB]] : tensor<2xf32>
// Z1: return %[[GW]], %[[GB]], %{{.+}} : tensor<8xf32>, tensor<2xf32>, tensor<i64>
// Z1-LABEL: func.func @optimizer_step(
// Z1-SAME: %[[P:[^:]+]]: tensor<3x5xf32> {pz.param = "w"}, %[[G:[^:]+]]: tensor<8xf32> {pz.grad = "w", pz.shard_prefix}, %[[M:[^:]+]]: tensor<8xf32> {pz.flat_shard = {grid_axes = array<i16: 2>, shape = array<i64: 3, 5>}, pz.state = "exp_avg:w"}, %{{.+}}: tensor<8xf32> {pz.flat_shard = {grid_axes = array<i16: 2>, shape = array<i64: 3, 5>}, pz.state = "exp_avg_sq:w"}
// Z1-SAME: -> (tensor<3x5xf32> {pz.param = "w"}, tensor<8xf32> {pz.state = "exp_avg:w"}, tensor<8xf32> {pz.state = "exp_avg_sq:w"}, tensor<3xf32> {pz.param = "b"}, tensor<2xf32> {pz.state = "exp_avg:b"}, tensor<2xf32> {pz.state = "exp_avg_sq:b"}, tensor<f32>
// Z1: %[[FP:.+]] = pz.reshape %[[P]] [15]
// Z1: %[[CP:.+]] = pz.shard_chunk %[[FP]] on @world grid_axes = [2] chunks = 2 : tensor<15xf32> -> tensor<8xf32>
// Z1: pz.reduce_sum %{{.+}} [0] : tensor<8xf32> -> tensor<f32>
// Z1: %[[SS:.+]] = shard.all_reduce %{{.+}} on @world grid_axes = [2] {pz.comm = #pzrt.reason<"zero.grad_norm", "sum of squares">} : tensor<f32> -> tensor<f32>
// Z1: %[[NORM:.+]] = pz.sqrt %[[SS]]
// Z1: %[[UW:.+]], %[[MW:.+]], %[[VW:.+]] = pz.adamw_update %[[CP]], %{{.+}}, %[[M]], {{.+}} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>, tensor<i64>
// Z1: %[[AG:.+]] = shard.all_gather %[[UW]] on @world grid_axes = [2] gather_axis = 0 {pz.bucket = ["w"], pz.comm = #pzrt.reason<"zero.param_all_gather", "bucket 1 of 2">} : tensor<8xf32> -> tensor<16xf32>
// Z1: %[[S:.+]] = pz.slice %[[AG]] starts [0] ends [15] steps [1] : tensor<16xf32> -> tensor<15xf32>
// Z1: %[[NW:.+]] = pz.reshape %[[S]] [3, 5]
// Z1: shard.all_gather %{{.+}} on @world grid_axes = [2] gather_axis = 0 {pz.bucket = ["b"], pz.comm = #pzrt.reason<"zero.param_all_gather", "bucket 2 of 2">} : tensor<2xf32> -> tensor<4xf32>
// Z1: return %[[NW]], %[[MW]], %[[VW]], {{.+}}, %[[NORM]] :
module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 1, bucket_mb = 0>} {
  func.func @forward_backward(%w: tensor<3x5xf32> {pz.param = "w"}, %b: tensor<3xf32> {pz.param = "b"})
      -> (tensor<3x5xf32> {pz.grad = "w"}, tensor<3xf32> {pz.grad = "b"}) {
    return %w, %b : tensor<3x5xf32>, tensor<3xf32>
  }
}

// -----

// HSDP (dp_replicate 2 x dp_shard 2), two micro-batches, one bucket: chunk
// k of every gradient at position k (b then w, reverse model order), one
// reduce-scatter over dp_shard, one all-reduce over dp_replicate, 1/4. The
// parameters are gathered in model order (w then b) and unpacked per rank.
// Any optimizer built of elementwise updates shards the same way (SGD with
// momentum here).

// HSDP-LABEL: module attributes {pz.plan = #pz.plan<dp_replicate = 2, dp_shard = 2, zero = 1, grad_accum = 2>}
// HSDP: shard.grid @world(shape = 1x2x2x1x1)
// HSDP-LABEL: func.func @finalize_grads(
// HSDP-SAME: {pz.accum = "w"}, %{{.+}}: tensor<3xf32> {pz.accum = "b"})
// HSDP: %[[PB:.+]] = pz.concat %{{.+}}, %{{.+}} {axis = 0 : i64} : (tensor<3xf32>, tensor<1xf32>) -> tensor<4xf32>
// HSDP: %[[PW:.+]] = pz.concat %{{.+}}, %{{.+}} {axis = 0 : i64} : (tensor<15xf32>, tensor<1xf32>) -> tensor<16xf32>
// HSDP: %[[B0:.+]] = pz.slice %[[PB]] starts [0] ends [2]
// HSDP: %[[W0:.+]] = pz.slice %[[PW]] starts [0] ends [8]
// HSDP: %[[B1:.+]] = pz.slice %[[PB]] starts [2] ends [4]
// HSDP: %[[W1:.+]] = pz.slice %[[PW]] starts [8] ends [16]
// HSDP: %[[PK:.+]] = pz.concat %[[B0]], %[[W0]], %[[B1]], %[[W1]] {axis = 0 : i64} : (tensor<2xf32>, tensor<8xf32>, tensor<2xf32>, tensor<8xf32>) -> tensor<20xf32>
// HSDP: %[[RS:.+]] = shard.reduce_scatter %[[PK]] on @world grid_axes = [2] scatter_axis = 0 {pz.bucket = ["b", "w"], pz.comm = #pzrt.reason<"zero.grad_reduce_scatter", "bucket 1 of 1">} : tensor<20xf32> -> tensor<10xf32>
// HSDP: %[[AR:.+]] = shard.all_reduce %[[RS]] on @world grid_axes = [1] {pz.bucket = ["b", "w"], pz.comm = #pzrt.reason<"hsdp.grad_all_reduce", "bucket 1 of 1">} : tensor<10xf32> -> tensor<10xf32>
// HSDP: %[[Q:.+]] = pz.constant dense<2.500000e-01> : tensor<f32>
// HSDP: %[[MEAN:.+]] = pz.mul %[[AR]], %[[Q]]
// HSDP: %[[GB:.+]] = pz.slice %[[MEAN]] starts [0] ends [2]
// HSDP: %[[GW:.+]] = pz.slice %[[MEAN]] starts [2] ends [10]
// HSDP: return %[[GW]], %[[GB]], %{{.+}} : tensor<8xf32>, tensor<2xf32>, tensor<i64>
// HSDP-LABEL: func.func @optimizer_step(
// HSDP-SAME: tensor<8xf32> {pz.flat_shard = {grid_axes = array<i16: 2>, shape = array<i64: 3, 5>}, pz.state = "momentum_buffer:w"}
// HSDP: shard.all_reduce %{{.+}} on @world grid_axes = [2] {pz.comm = #pzrt.reason<"zero.grad_norm", "sum of squares">}
// HSDP: %[[UW:.+]], %{{.+}} = pz.sgd_update {{.+}} : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<f32>
// HSDP: %[[UB:.+]], %{{.+}} = pz.sgd_update {{.+}} : tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<f32>
// HSDP: %[[PP:.+]] = pz.concat %[[UW]], %[[UB]] {axis = 0 : i64} : (tensor<8xf32>, tensor<2xf32>) -> tensor<10xf32>
// HSDP: %[[AG:.+]] = shard.all_gather %[[PP]] on @world grid_axes = [2] gather_axis = 0 {pz.bucket = ["w", "b"], pz.comm = #pzrt.reason<"zero.param_all_gather", "bucket 1 of 1">} : tensor<10xf32> -> tensor<20xf32>
// HSDP: pz.slice %[[AG]] starts [0] ends [8]
// HSDP: pz.slice %[[AG]] starts [10] ends [18]
// HSDP: pz.slice %[[AG]] starts [8] ends [10]
// HSDP: pz.slice %[[AG]] starts [18] ends [20]
module attributes {pz.plan = #pz.plan<dp_replicate = 2, dp_shard = 2, zero = 1, grad_accum = 2>} {
  func.func @forward_backward(%w: tensor<3x5xf32> {pz.param = "w"}, %b: tensor<3xf32> {pz.param = "b"})
      -> (tensor<3x5xf32> {pz.grad = "w"}, tensor<3xf32> {pz.grad = "b"}) {
    return %w, %b : tensor<3x5xf32>, tensor<3xf32>
  }
}

// -----

// Stage 3 (and 2): @forward_backward takes the parameters' chunks
// (pz.flat_shard) and gathers each layer ("h.0") before its first use in the
// forward pass (which ends at the loss) and again, only the parameters the
// backward pass reads, there; each gather is issued where the phase before
// it starts (the backward gather before the forward pass's first use: a
// prefetch), each unpacked where its phase starts. The gradients are
// reduce-scattered right after the last of their bucket is computed and
// returned as chunks, sliced out before the return; @finalize_grads averages the chunks; @optimizer_step
// updates the chunks and gathers nothing (the chunks are the parameters).

// Z3-LABEL: module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 3>}
// Z3-LABEL: func.func @forward_backward(
// Z3-SAME: %[[W:[^:]+]]: tensor<8xf32> {pz.flat_shard = {grid_axes = array<i16: 2>, shape = array<i64: 3, 5>}, pz.param = "h.0.w"}, %[[B:[^:]+]]: tensor<2xf32> {pz.flat_shard = {grid_axes = array<i16: 2>, shape = array<i64: 3>}, pz.param = "h.0.b"})
// Z3-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<8xf32> {pz.grad = "h.0.w"}, tensor<2xf32> {pz.grad = "h.0.b"})
// Z3: %[[P:.+]] = pz.concat %[[W]], %[[B]] {axis = 0 : i64} : (tensor<8xf32>, tensor<2xf32>) -> tensor<10xf32>
// Z3: %[[AG:.+]] = shard.all_gather %[[P]] on @world grid_axes = [2] gather_axis = 0 {pz.bucket = ["h.0.w", "h.0.b"], pz.comm = #pzrt.reason<"zero3.param_gather", "h.0 (forward)">} : tensor<10xf32> -> tensor<20xf32>
// Z3: %[[W0:.+]] = pz.slice %[[AG]] starts [0] ends [8]
// Z3: %[[W1:.+]] = pz.slice %[[AG]] starts [10] ends [18]
// Z3: %[[WC:.+]] = pz.concat %[[W0]], %[[W1]]
// Z3: %[[WS:.+]] = pz.slice %[[WC]] starts [0] ends [15]
// Z3: %[[WF:.+]] = pz.reshape %[[WS]] [3, 5]
// Z3: %[[AGB:.+]] = shard.all_gather %[[W]] on @world grid_axes = [2] gather_axis = 0 {pz.bucket = ["h.0.w"], pz.comm = #pzrt.reason<"zero3.param_gather", "h.0 (backward)">} : tensor<8xf32> -> tensor<16xf32>
// Z3-NEXT: pz.mul %[[WF]], %[[WF]]
// Z3: %[[LOSS:.+]] = pz.add
// Z3: %[[WBS:.+]] = pz.slice %[[AGB]] starts [0] ends [15]
// Z3: %[[WB:.+]] = pz.reshape %[[WBS]] [3, 5]
// Z3: %[[GW:.+]] = pz.mul %[[WB]], %{{.+}} : tensor<3x5xf32>, tensor<f32> -> tensor<3x5xf32>
// Z3: %[[RS:.+]] = shard.reduce_scatter %{{.+}} on @world grid_axes = [2] scatter_axis = 0 {pz.bucket = ["h.0.b", "h.0.w"], pz.comm = #pzrt.reason<"zero.grad_reduce_scatter", "bucket 1 of 1">} : tensor<20xf32> -> tensor<10xf32>
// Z3: %[[GB:.+]] = pz.slice %[[RS]] starts [0] ends [2]
// Z3: %[[GWC:.+]] = pz.slice %[[RS]] starts [2] ends [10]
// Z3: return %[[LOSS]], %[[GWC]], %[[GB]] : tensor<f32>, tensor<8xf32>, tensor<2xf32>
// Z3-LABEL: func.func @finalize_grads(
// Z3-SAME: tensor<8xf32> {pz.grad = "h.0.w"}, %{{.+}}: tensor<2xf32> {pz.grad = "h.0.b"})
// Z3-NOT: shard.
// Z3: pz.mul %{{.+}}, %{{.+}} : tensor<8xf32>, tensor<f32> -> tensor<8xf32>
// Z3-LABEL: func.func @optimizer_step(
// Z3-SAME: %{{.+}}: tensor<8xf32> {pz.flat_shard = {grid_axes = array<i16: 2>, shape = array<i64: 3, 5>}, pz.param = "h.0.w"}, %{{.+}}: tensor<8xf32> {pz.grad = "h.0.w"}
// Z3-NOT: pz.shard_chunk
// Z3: shard.all_reduce %{{.+}} on @world grid_axes = [2] {pz.comm = #pzrt.reason<"zero.grad_norm", "sum of squares">}
// Z3-NOT: shard.all_gather
// Z3: return
module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 3>} {
  func.func @forward_backward(%w: tensor<3x5xf32> {pz.param = "h.0.w"}, %b: tensor<3xf32> {pz.param = "h.0.b"})
      -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<3x5xf32> {pz.grad = "h.0.w"}, tensor<3xf32> {pz.grad = "h.0.b"}) {
    %sq = pz.mul %w, %w : tensor<3x5xf32>, tensor<3x5xf32> -> tensor<3x5xf32>
    %s = pz.reduce_sum %sq [0, 1] : tensor<3x5xf32> -> tensor<f32>
    %sb = pz.reduce_sum %b [0] : tensor<3xf32> -> tensor<f32>
    %loss = pz.add %s, %sb : tensor<f32>, tensor<f32> -> tensor<f32>
    %two = pz.constant dense<2.0> : tensor<f32>
    %gw = pz.mul %w, %two : tensor<3x5xf32>, tensor<f32> -> tensor<3x5xf32>
    %gb = pz.constant dense<1.0> : tensor<3xf32>
    return %loss, %gw, %gb : tensor<f32>, tensor<3x5xf32>, tensor<3xf32>
  }
}

// -----

// Stage 3 with a parameter that has no gradient ("frozen": a buffer, an
// unused or frozen weight): the optimizer does not update it, so it stays
// whole on every rank and is not gathered.

// Z3-LABEL: module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 3>}
// Z3-LABEL: func.func @forward_backward(
// Z3-SAME: tensor<8xf32> {pz.flat_shard = {grid_axes = array<i16: 2>, shape = array<i64: 3, 5>}, pz.param = "h.0.w"}, %[[F:[^:]+]]: tensor<3x5xf32> {pz.param = "frozen"})
// Z3-NOT: pz.bucket = [{{.*}}"frozen"
// Z3: pz.mul %{{.+}}, %[[F]] : tensor<3x5xf32>, tensor<3x5xf32>
// Z3-LABEL: func.func @optimizer_step(
module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 3>} {
  func.func @forward_backward(%w: tensor<3x5xf32> {pz.param = "h.0.w"}, %f: tensor<3x5xf32> {pz.param = "frozen"})
      -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<3x5xf32> {pz.grad = "h.0.w"}) {
    %sq = pz.mul %w, %f : tensor<3x5xf32>, tensor<3x5xf32> -> tensor<3x5xf32>
    %loss = pz.reduce_sum %sq [0, 1] : tensor<3x5xf32> -> tensor<f32>
    return %loss, %f : tensor<f32>, tensor<3x5xf32>
  }
}

// -----

// tp with ZeRO 3: pz-tensor-parallel splits Megatron's MLP first (fc1 on its
// rows, fc2 on its columns), then each rank's block is flattened and
// chunked over dp_shard: fc1.weight's block of 32 x 32 is a chunk of 512
// elements that keeps both its box (the whole 64 x 32, split on dim 0 by
// tp) and its flat chunk (of the 32 x 32 block). The gathers rebuild the
// block, not the whole tensor; the tp all-reduce stays on the block's
// product; the gradient norm sums the tp ranks' split parameters, then
// the dp_shard ranks' chunks.
// TPZ-LABEL: module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 3, tp = 2>}
// TPZ: func.func @forward_backward(
// TPZ-SAME: %arg2: tensor<512xf32> {pz.box_shard = {dim_axes = array<i16: 4, -1>, shape = array<i64: 64, 32>}, pz.flat_shard = {grid_axes = array<i16: 2>, shape = array<i64: 32, 32>}, pz.param = "fc1.weight"}
// TPZ-SAME: %arg4: tensor<160xf32> {pz.box_shard = {dim_axes = array<i16: -1, 4>, shape = array<i64: 10, 64>}, pz.flat_shard = {grid_axes = array<i16: 2>, shape = array<i64: 10, 32>}, pz.param = "fc2.weight"}
// TPZ-SAME: %arg5: tensor<5xf32> {pz.flat_shard = {grid_axes = array<i16: 2>, shape = array<i64: 10>}, pz.param = "fc2.bias"}
// TPZ: %[[G:.+]] = shard.all_gather %arg2 on @world grid_axes = [2] gather_axis = 0 {{.*}}"zero3.param_gather", "fc1.weight (forward)"{{.*}} : tensor<512xf32> -> tensor<1024xf32>
// TPZ-NEXT: pz.reshape %[[G]] [32, 32] : tensor<1024xf32> -> tensor<32x32xf32>
// TPZ: %[[P:.+]] = pz.matmul %{{.+}}, %{{.+}} {transpose_rhs} : tensor<4x32xf32>, tensor<10x32xf32> -> tensor<4x10xf32>
// TPZ-NEXT: shard.all_reduce %[[P]] on @world grid_axes = [4] {pz.comm = #pzrt.reason<"tp.partial_sum", "fc2">}
// TPZ: shard.reduce_scatter %{{.+}} on @world grid_axes = [2] scatter_axis = 0 {{.*}}"zero.grad_reduce_scatter"{{.*}} : tensor<1386xf32> -> tensor<693xf32>
// TPZ: return %{{.+}} : tensor<f32>, tensor<512xf32>, tensor<16xf32>, tensor<160xf32>, tensor<5xf32>
// TPZ-LABEL: func.func @optimizer_step(
// TPZ-SAME: tensor<512xf32> {pz.box_shard = {dim_axes = array<i16: 4, -1>, shape = array<i64: 64, 32>}, pz.flat_shard = {grid_axes = array<i16: 2>, shape = array<i64: 32, 32>}, pz.state = "exp_avg:fc1.weight"}
// TPZ: %[[TP:.+]] = shard.all_reduce %{{.+}} on @world grid_axes = [4] {pz.comm = #pzrt.reason<"tp.partial_sum", "optimizer">}
// TPZ: %[[ALL:.+]] = pz.add %{{.+}}, %[[TP]]
// TPZ-NEXT: %[[SQ:.+]] = shard.all_reduce %[[ALL]] on @world grid_axes = [2] {pz.comm = #pzrt.reason<"zero.grad_norm", "sum of squares">}
// TPZ-NEXT: pz.sqrt %[[SQ]]
// TPZ-NOT: shard.all_gather
// TPZ: return
module attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 3, tp = 2>} {
  func.func @forward_backward(%arg0: tensor<4x32xf32> {pz.input = "x"}, %arg1: tensor<4xi64> {pz.input = "labels"}, %arg2: tensor<64x32xf32> {pz.param = "fc1.weight"}, %arg3: tensor<64xf32> {pz.param = "fc1.bias"}, %arg4: tensor<10x64xf32> {pz.param = "fc2.weight"}, %arg5: tensor<10xf32> {pz.param = "fc2.bias"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<64x32xf32> {pz.grad = "fc1.weight"}, tensor<64xf32> {pz.grad = "fc1.bias"}, tensor<10x64xf32> {pz.grad = "fc2.weight"}, tensor<10xf32> {pz.grad = "fc2.bias"}) {
    %seed = pz.constant dense<1.000000e+00> : tensor<f32>
    %0 = pz.matmul %arg0, %arg2 {transpose_rhs} : tensor<4x32xf32>, tensor<64x32xf32> -> tensor<4x64xf32>
    %1 = pz.add %0, %arg3 : tensor<4x64xf32>, tensor<64xf32> -> tensor<4x64xf32>
    %2 = pz.gelu %1 erf : tensor<4x64xf32>
    %3 = pz.matmul %2, %arg4 {transpose_rhs} : tensor<4x64xf32>, tensor<10x64xf32> -> tensor<4x10xf32> loc("fc2")
    %4 = pz.add %3, %arg5 : tensor<4x10xf32>, tensor<10xf32> -> tensor<4x10xf32>
    %loss = pz.cross_entropy %4, %arg1 mean : tensor<4x10xf32>, tensor<4xi64> -> tensor<f32>
    %dl = pz.cross_entropy_grad %seed, %4, %arg1 mean : tensor<f32>, tensor<4x10xf32>, tensor<4xi64>
    %5 = pz.reduce_sum %dl [0] {keepdims} : tensor<4x10xf32> -> tensor<1x10xf32>
    %db2 = pz.reshape %5 [10] : tensor<1x10xf32> -> tensor<10xf32>
    %dg = pz.matmul %dl, %arg4 : tensor<4x10xf32>, tensor<10x64xf32> -> tensor<4x64xf32>
    %dw2 = pz.matmul %dl, %2 {transpose_lhs} : tensor<4x10xf32>, tensor<4x64xf32> -> tensor<10x64xf32>
    %dh = pz.gelu_grad %dg, %1 erf : tensor<4x64xf32>
    %6 = pz.reduce_sum %dh [0] {keepdims} : tensor<4x64xf32> -> tensor<1x64xf32>
    %db1 = pz.reshape %6 [64] : tensor<1x64xf32> -> tensor<64xf32>
    %dw1 = pz.matmul %dh, %arg0 {transpose_lhs} : tensor<4x64xf32>, tensor<4x32xf32> -> tensor<64x32xf32>
    return %loss, %dw1, %db1, %dw2, %db2 : tensor<f32>, tensor<64x32xf32>, tensor<64xf32>, tensor<10x64xf32>, tensor<10xf32>
  }
}
