// RUN: parallelize-opt %s -split-input-file -verify-diagnostics --pz-tensor-parallel | FileCheck %s

// Megatron's MLP on tp = 2 (the grid's last axis), as autodiff and the
// optimizer leave it. fc1's weight is the right operand of a matmul whose
// input is whole: column parallel, split on its output rows (dim 0 of the
// transposed weight), its bias alike. fc2's input is then split on the
// contraction: its weight is row parallel (dim 1) and the product a partial
// sum, the one all-reduce of the forward pass; fc2's bias stays whole. The
// backward pass needs no collective (x is data: no dx), the gradients come
// out split as their parameters, and the optimizer's gradient norm
// all-reduces the sums of squares of the split parameters.
// CHECK-LABEL: func.func @forward_backward
// CHECK-SAME: %arg2: tensor<32x32xf32> {pz.box_shard = {dim_axes = array<i16: 4, -1>, shape = array<i64: 64, 32>}, pz.param = "fc1.weight"}
// CHECK-SAME: %arg3: tensor<32xf32> {pz.box_shard = {dim_axes = array<i16: 4>, shape = array<i64: 64>}, pz.param = "fc1.bias"}
// CHECK-SAME: %arg4: tensor<10x32xf32> {pz.box_shard = {dim_axes = array<i16: -1, 4>, shape = array<i64: 10, 64>}, pz.param = "fc2.weight"}
// CHECK-SAME: %arg5: tensor<10xf32> {pz.param = "fc2.bias"}
// CHECK-SAME: -> (tensor<f32> {{.*}}, tensor<32x32xf32> {pz.grad = "fc1.weight"}, tensor<32xf32> {pz.grad = "fc1.bias"}, tensor<10x32xf32> {pz.grad = "fc2.weight"}, tensor<10xf32> {pz.grad = "fc2.bias"})
// CHECK-NOT: shard.
// CHECK: %[[P:.+]] = pz.matmul %{{.+}}, %arg4 {transpose_rhs} : tensor<4x32xf32>, tensor<10x32xf32> -> tensor<4x10xf32>
// CHECK-NEXT: %[[S:.+]] = shard.all_reduce %[[P]] on @world grid_axes = [4] {pz.comm = #pzrt.reason<"tp.partial_sum", "fc2">} : tensor<4x10xf32> -> tensor<4x10xf32>
// CHECK-NEXT: pz.add %[[S]], %arg5
// CHECK-NOT: shard.
// CHECK: return
// CHECK-LABEL: func.func @optimizer_step
// CHECK-SAME: %arg0: tensor<32x32xf32> {pz.box_shard = {dim_axes = array<i16: 4, -1>, shape = array<i64: 64, 32>}, pz.param = "fc1.weight"}
// CHECK-SAME: %arg2: tensor<32x32xf32> {pz.box_shard = {dim_axes = array<i16: 4, -1>, shape = array<i64: 64, 32>}, pz.state = "exp_avg:fc1.weight"}
// CHECK: %[[SQ:.+]] = pz.reduce_sum %{{.+}} [0, 1] : tensor<32x32xf32> -> tensor<f32>
// CHECK-NEXT: shard.all_reduce %[[SQ]] on @world grid_axes = [4] {pz.comm = #pzrt.reason<"tp.partial_sum", "optimizer">} : tensor<f32> -> tensor<f32>
// CHECK: %[[SQ2:.+]] = pz.reduce_sum %{{.+}} [0] : tensor<10xf32> -> tensor<f32>
// CHECK-NOT: shard.all_reduce %[[SQ2]]
// CHECK: pz.adamw_update %arg0, {{.*}} : tensor<32x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>, tensor<32x32xf32>, tensor<f32>, tensor<i64>
module attributes {pz.plan = #pz.plan<tp = 2>} {
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
  func.func @optimizer_step(%arg0: tensor<64x32xf32> {pz.param = "fc1.weight"}, %arg1: tensor<64x32xf32> {pz.grad = "fc1.weight"}, %arg2: tensor<64x32xf32> {pz.state = "exp_avg:fc1.weight"}, %arg3: tensor<64x32xf32> {pz.state = "exp_avg_sq:fc1.weight"}, %arg4: tensor<10xf32> {pz.param = "fc2.bias"}, %arg5: tensor<10xf32> {pz.grad = "fc2.bias"}, %lr: tensor<f32> {pz.input = "lr", pz.role = #pz.role<lr>}, %step: tensor<i64> {pz.input = "step", pz.role = #pz.role<step>}) -> (tensor<64x32xf32> {pz.param = "fc1.weight"}, tensor<64x32xf32> {pz.state = "exp_avg:fc1.weight"}, tensor<64x32xf32> {pz.state = "exp_avg_sq:fc1.weight"}, tensor<f32> {pz.output = "grad_norm", pz.role = #pz.role<grad_norm>}) {
    %0 = pz.mul %arg1, %arg1 : tensor<64x32xf32>, tensor<64x32xf32> -> tensor<64x32xf32>
    %1 = pz.reduce_sum %0 [0, 1] : tensor<64x32xf32> -> tensor<f32> loc("optimizer")
    %2 = pz.mul %arg5, %arg5 : tensor<10xf32>, tensor<10xf32> -> tensor<10xf32>
    %3 = pz.reduce_sum %2 [0] : tensor<10xf32> -> tensor<f32>
    %4 = pz.add %1, %3 : tensor<f32>, tensor<f32> -> tensor<f32>
    %p, %m, %v = pz.adamw_update %arg0, %arg1, %arg2, %arg3, %lr, %step {beta1 = 9.000000e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<64x32xf32>, tensor<64x32xf32>, tensor<64x32xf32>, tensor<64x32xf32>, tensor<f32>, tensor<i64>
    return %p, %m, %v, %4 : tensor<64x32xf32>, tensor<64x32xf32>, tensor<64x32xf32>, tensor<f32>
  }
}

// -----

// Without tp the module stays as it is.
// CHECK-LABEL: module attributes {pz.plan = #pz.plan<dp_replicate = 2>}
// CHECK-NOT: shard.
// CHECK: return
module attributes {pz.plan = #pz.plan<dp_replicate = 2>} {
  func.func @forward_backward(%x: tensor<4x8xf32> {pz.input = "x"}, %w: tensor<8x8xf32> {pz.param = "w"}) -> (tensor<8x8xf32> {pz.grad = "w"}) {
    %y = pz.matmul %x, %w : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
    %g = pz.matmul %x, %y {transpose_lhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
    return %g : tensor<8x8xf32>
  }
}

// -----

// A column-parallel weight whose gradient is computed from whole values
// only would have to be sliced by the rank's coordinate: the weight stays
// whole (the walk starts again), and the pass says so.
// CHECK-LABEL: func.func @forward_backward(%arg0: tensor<4x8xf32> {pz.input = "x"}, %arg1: tensor<8x8xf32> {pz.input = "d"}
// CHECK-SAME: %arg2: tensor<8x8xf32> {pz.param = "w"}
// CHECK-NOT: shard.
// CHECK: return
module attributes {pz.plan = #pz.plan<tp = 2>} {
  // expected-remark @+1 {{pz-tensor-parallel: 1 parameters stay whole on every tp rank, because a value computed from them is needed whole (for example a softmax over the columns of their product): w}}
  func.func @forward_backward(%x: tensor<4x8xf32> {pz.input = "x"}, %d: tensor<8x8xf32> {pz.input = "d"}, %w: tensor<8x8xf32> {pz.param = "w"}) -> (tensor<4x8xf32> {pz.output = "y"}, tensor<8x8xf32> {pz.grad = "w"}) {
    %y = pz.matmul %x, %w : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
    %g = pz.mul %d, %d : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
    return %y, %g : tensor<4x8xf32>, tensor<8x8xf32>
  }
}

// -----

// Two column-parallel linears read x (as q and k do): the gradient of x is
// the sum of two partial sums, all-reduced once (Megatron), with both
// sources in its reason.
// CHECK-LABEL: func.func @forward_backward(%arg0: tensor<4x8xf32> {pz.input = "x"}, %arg1: tensor<8x4xf32> {pz.box_shard
// CHECK: %[[A:.+]] = pz.matmul {{.*}} {transpose_rhs} : tensor<4x4xf32>, tensor<8x4xf32> -> tensor<4x8xf32>
// CHECK: %[[B:.+]] = pz.matmul {{.*}} {transpose_rhs} : tensor<4x4xf32>, tensor<8x4xf32> -> tensor<4x8xf32>
// CHECK-NEXT: %[[S:.+]] = pz.add %[[A]], %[[B]] : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: shard.all_reduce %[[S]] on @world grid_axes = [4] {pz.comm = #pzrt.reason<"tp.partial_sum", "dxq + dxk">} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NOT: shard.all_reduce
// CHECK: return
module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @forward_backward(%x: tensor<4x8xf32> {pz.input = "x"}, %wq: tensor<8x8xf32> {pz.param = "wq"}, %wk: tensor<8x8xf32> {pz.param = "wk"}) -> (tensor<4x8xf32> {pz.output = "dx"}) {
    %q = pz.matmul %x, %wq : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
    %k = pz.matmul %x, %wk : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
    %dq = pz.mul %q, %q : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
    %dk = pz.mul %k, %k : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
    %dxq = pz.matmul %dq, %wq {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32> loc("dxq")
    %dxk = pz.matmul %dk, %wk {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32> loc("dxk")
    %dx = pz.add %dxq, %dxk : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
    return %dx : tensor<4x8xf32>
  }
}

// -----

// A tied word embedding (GPT-2's wte is the head too) on tp = 2: the table
// splits on the vocabulary at its first use, the lookup is vocab parallel
// (each rank's rows, all-reduced), the head's logits come out split on the
// classes, and the cross-entropy and its gradient all-reduce per token
// only: the max, the sum of exponentials and the label's logit. The rank's
// coordinate comes in as a new argument (#pz.role<tp_index>).
// CHECK-LABEL: func.func @forward_backward(%arg0: tensor<8xi64> {pz.input = "ids"}, %arg1: tensor<8xi64> {pz.input = "labels"}, %arg2: tensor<8x8xf32> {pz.box_shard = {dim_axes = array<i16: 4, -1>, shape = array<i64: 16, 8>}, pz.param = "wte"}, %arg3: tensor<i64> {pz.input = "tp_index", pz.role = #pz.role<tp_index>})
// CHECK: pz.embedding %arg2, %{{.+}} : tensor<8x8xf32>, tensor<8xi64> -> tensor<8x8xf32>
// CHECK: shard.all_reduce {{.*}} {pz.comm = #pzrt.reason<"tp.vocab_parallel_embedding", "wte">} : tensor<8x8xf32>
// CHECK: %[[LOGITS:.+]] = pz.matmul {{.*}} {transpose_rhs} : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
// CHECK: shard.all_reduce {{.*}} reduction = max {pz.comm = #pzrt.reason<"tp.vocab_parallel_max", "loss">} : tensor<8x1xf32>
// CHECK: shard.all_reduce {{.*}} {pz.comm = #pzrt.reason<"tp.vocab_parallel_sum_exp", "loss">} : tensor<8x1xf32>
// CHECK: shard.all_reduce {{.*}} {pz.comm = #pzrt.reason<"tp.vocab_parallel_target", "loss">} : tensor<8x1xf32>
// CHECK: shard.all_reduce {{.*}} reduction = max {pz.comm = #pzrt.reason<"tp.vocab_parallel_max", "dloss">} : tensor<8x1xf32>
// CHECK: shard.all_reduce {{.*}} {pz.comm = #pzrt.reason<"tp.vocab_parallel_sum_exp", "dloss">} : tensor<8x1xf32>
// CHECK: shard.all_reduce {{.*}} {pz.comm = #pzrt.reason<"tp.partial_sum", "dh">} : tensor<8x8xf32>
// CHECK: pz.embedding_grad {{.*}} {vocab = 8 : i64} : tensor<8x8xf32>, tensor<8xi64> -> tensor<8x8xf32>
// CHECK-NOT: shard.all_gather
// CHECK: return {{.*}} : tensor<f32>, tensor<8x8xf32>
module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @forward_backward(%ids: tensor<8xi64> {pz.input = "ids"}, %labels: tensor<8xi64> {pz.input = "labels"}, %wte: tensor<16x8xf32> {pz.param = "wte"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<16x8xf32> {pz.grad = "wte"}) {
    %seed = pz.constant dense<1.000000e+00> : tensor<f32>
    %h = pz.embedding %wte, %ids : tensor<16x8xf32>, tensor<8xi64> -> tensor<8x8xf32> loc("wte")
    %logits = pz.matmul %h, %wte {transpose_rhs} : tensor<8x8xf32>, tensor<16x8xf32> -> tensor<8x16xf32>
    %loss = pz.cross_entropy %logits, %labels mean : tensor<8x16xf32>, tensor<8xi64> -> tensor<f32> loc("loss")
    %dl = pz.cross_entropy_grad %seed, %logits, %labels mean : tensor<f32>, tensor<8x16xf32>, tensor<8xi64> loc("dloss")
    %dh = pz.matmul %dl, %wte : tensor<8x16xf32>, tensor<16x8xf32> -> tensor<8x8xf32> loc("dh")
    %dw1 = pz.matmul %dl, %h {transpose_lhs} : tensor<8x16xf32>, tensor<8x8xf32> -> tensor<16x8xf32>
    %dw2 = pz.embedding_grad %dh, %ids {vocab = 16 : i64} : tensor<8x8xf32>, tensor<8xi64> -> tensor<16x8xf32>
    %dw = pz.add %dw1, %dw2 : tensor<16x8xf32>, tensor<16x8xf32> -> tensor<16x8xf32>
    return %loss, %dw : tensor<f32>, tensor<16x8xf32>
  }
}

// -----

// A vocabulary of 15 over tp = 2 is padded to 16 (8 rows per rank): the
// table, its gradient and the logits grow, the checkpoint shape stays 15
// (pz.box_shard), and the loss and its gradient give the padded class the
// lowest float (the rank's classes from 15 - 8 k on) before the max.
// CHECK-LABEL: func.func @forward_backward(%arg0: tensor<8xi64> {pz.input = "ids"}, %arg1: tensor<8xi64> {pz.input = "labels"}, %arg2: tensor<8x8xf32> {pz.box_shard = {dim_axes = array<i16: 4, -1>, shape = array<i64: 15, 8>}, pz.param = "wte"}, %arg3: tensor<i64> {pz.input = "tp_index", pz.role = #pz.role<tp_index>})
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<8x8xf32> {pz.grad = "wte"})
// CHECK: pz.vocab = 15 : i64
// CHECK: %[[LOGITS:.+]] = pz.matmul {{.*}} {transpose_rhs} : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
// CHECK: %[[RANGE:.+]] = pz.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : tensor<8xi64>
// CHECK: %[[EIGHT:.+]] = pz.constant dense<8> : tensor<i64>
// CHECK: %[[START:.+]] = pz.mul %arg3, %[[EIGHT]]
// CHECK: %[[REAL:.+]] = pz.constant dense<15> : tensor<i64>
// CHECK: %[[LIMIT:.+]] = pz.sub %[[REAL]], %[[START]]
// CHECK: %[[KEEP:.+]] = pz.compare lt, %[[RANGE]], %[[LIMIT]]
// CHECK: %[[LOWEST:.+]] = pz.constant dense<-3.40282347E+38> : tensor<f32>
// CHECK: %[[MASKED:.+]] = pz.where %[[KEEP]], %[[LOGITS]], %[[LOWEST]]
// CHECK: pz.reduce_max %[[MASKED]]
// CHECK: shard.all_reduce {{.*}} reduction = max {pz.comm = #pzrt.reason<"tp.vocab_parallel_max", "loss">}
// CHECK: pz.where %{{.+}}, %[[LOGITS]], %{{.+}} :
// CHECK: shard.all_reduce {{.*}} reduction = max {pz.comm = #pzrt.reason<"tp.vocab_parallel_max", "dloss">}
// CHECK: pz.embedding_grad {{.*}} {vocab = 8 : i64} : tensor<8x8xf32>, tensor<8xi64> -> tensor<8x8xf32>
module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @forward_backward(%ids: tensor<8xi64> {pz.input = "ids"}, %labels: tensor<8xi64> {pz.input = "labels"}, %wte: tensor<15x8xf32> {pz.param = "wte"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<15x8xf32> {pz.grad = "wte"}) {
    %seed = pz.constant dense<1.000000e+00> : tensor<f32>
    // expected-remark @+1 {{pz-tensor-parallel: the vocabulary of 15 does not divide over tp = 2: it is padded to 16 (8 per rank) in wte; the padded classes are masked out of the loss, and checkpoints keep the 15 real ones}}
    %h = pz.embedding %wte, %ids : tensor<15x8xf32>, tensor<8xi64> -> tensor<8x8xf32>
    %logits = pz.matmul %h, %wte {transpose_rhs} : tensor<8x8xf32>, tensor<15x8xf32> -> tensor<8x15xf32>
    %loss = pz.cross_entropy %logits, %labels mean : tensor<8x15xf32>, tensor<8xi64> -> tensor<f32> loc("loss")
    %dl = pz.cross_entropy_grad %seed, %logits, %labels mean : tensor<f32>, tensor<8x15xf32>, tensor<8xi64> loc("dloss")
    %dh = pz.matmul %dl, %wte : tensor<8x15xf32>, tensor<15x8xf32> -> tensor<8x8xf32> loc("dh")
    %dw1 = pz.matmul %dl, %h {transpose_lhs} : tensor<8x15xf32>, tensor<8x8xf32> -> tensor<15x8xf32>
    %dw2 = pz.embedding_grad %dh, %ids {vocab = 15 : i64} : tensor<8x8xf32>, tensor<8xi64> -> tensor<15x8xf32>
    %dw = pz.add %dw1, %dw2 : tensor<15x8xf32>, tensor<15x8xf32> -> tensor<15x8xf32>
    return %loss, %dw : tensor<f32>, tensor<15x8xf32>
  }
}

// -----

// Padding is proved harmless or not done: a softmax over the classes would
// read the padded logits (zeros, not masked), so the vocabulary stays whole.
// CHECK-LABEL: func.func @forward_backward(%arg0: tensor<8xi64> {pz.input = "ids"}, %arg1: tensor<15x8xf32> {pz.param = "wte"})
// CHECK: pz.softmax {{.*}} : tensor<8x15xf32>
module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @forward_backward(%ids: tensor<8xi64> {pz.input = "ids"}, %wte: tensor<15x8xf32> {pz.param = "wte"}) -> (tensor<8x15xf32> {pz.output = "probs"}) {
    %h = pz.embedding %wte, %ids : tensor<15x8xf32>, tensor<8xi64> -> tensor<8x8xf32>
    %logits = pz.matmul %h, %wte {transpose_rhs} : tensor<8x8xf32>, tensor<15x8xf32> -> tensor<8x15xf32>
    // expected-remark @+1 {{pz-tensor-parallel: the vocabulary of 15 does not divide over tp = 2 and is not padded ('pz.softmax' reads the padded classes and would not keep them zero): the embedding and the logits stay whole on every rank}}
    %p = pz.softmax %logits {axis = 1 : i64} : tensor<8x15xf32>
    return %p : tensor<8x15xf32>
  }
}

// -----

// Without a cross-entropy the driver still checks ids against the 15 real
// rows (pz.vocab), not the 16 padded ones.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %arg1: tensor<8x8xf32> {pz.box_shard = {dim_axes = array<i16: 4, -1>, shape = array<i64: 15, 8>}, pz.param = "wte"}
// CHECK: pz.vocab = 15 : i64
module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @forward_backward(%ids: tensor<8xi64> {pz.input = "input_ids"}, %wte: tensor<15x8xf32> {pz.param = "wte"}, %w: tensor<8x8xf32> {pz.param = "w"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<15x8xf32> {pz.grad = "wte"}) {
    // expected-remark @+1 {{pz-tensor-parallel: the vocabulary of 15 does not divide over tp = 2: it is padded to 16 (8 per rank) in wte}}
    %h = pz.embedding %wte, %ids : tensor<15x8xf32>, tensor<8xi64> -> tensor<8x8xf32>
    %y = pz.matmul %h, %w : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
    %loss = pz.reduce_sum %y [0, 1] : tensor<8x8xf32> -> tensor<f32>
    %dh = pz.matmul %y, %w {transpose_rhs} : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
    %dw = pz.embedding_grad %dh, %ids {vocab = 15 : i64} : tensor<8x8xf32>, tensor<8xi64> -> tensor<15x8xf32>
    return %loss, %dw : tensor<f32>, tensor<15x8xf32>
  }
}

// -----

// A sum with a value broadcast over the classes (here a scalar) would fill
// the padding, which the sum over the logits would then count: no padding.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %arg2: tensor<15x8xf32> {pz.param = "wte"})
module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @forward_backward(%ids: tensor<8xi64> {pz.input = "ids"}, %labels: tensor<8xi64> {pz.input = "labels"}, %wte: tensor<15x8xf32> {pz.param = "wte"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<f32> {pz.output = "reg"}, tensor<15x8xf32> {pz.grad = "wte"}) {
    %seed = pz.constant dense<1.000000e+00> : tensor<f32>
    %one = pz.constant dense<1.000000e+00> : tensor<f32>
    %h = pz.embedding %wte, %ids : tensor<15x8xf32>, tensor<8xi64> -> tensor<8x8xf32>
    %l0 = pz.matmul %h, %wte {transpose_rhs} : tensor<8x8xf32>, tensor<15x8xf32> -> tensor<8x15xf32>
    // expected-remark @+1 {{pz-tensor-parallel: the vocabulary of 15 does not divide over tp = 2 and is not padded ('pz.add' reads the padded classes and would not keep them zero): the embedding and the logits stay whole on every rank}}
    %logits = pz.add %l0, %one : tensor<8x15xf32>, tensor<f32> -> tensor<8x15xf32>
    %reg = pz.reduce_sum %logits [0, 1] : tensor<8x15xf32> -> tensor<f32>
    %loss = pz.cross_entropy %logits, %labels mean : tensor<8x15xf32>, tensor<8xi64> -> tensor<f32> loc("loss")
    %dl = pz.cross_entropy_grad %seed, %logits, %labels mean : tensor<f32>, tensor<8x15xf32>, tensor<8xi64> loc("dloss")
    %dh = pz.matmul %dl, %wte : tensor<8x15xf32>, tensor<15x8xf32> -> tensor<8x8xf32> loc("dh")
    %dw1 = pz.matmul %dl, %h {transpose_lhs} : tensor<8x15xf32>, tensor<8x8xf32> -> tensor<15x8xf32>
    %dw2 = pz.embedding_grad %dh, %ids {vocab = 15 : i64} : tensor<8x8xf32>, tensor<8xi64> -> tensor<15x8xf32>
    %dw = pz.add %dw1, %dw2 : tensor<15x8xf32>, tensor<15x8xf32> -> tensor<15x8xf32>
    return %loss, %reg, %dw : tensor<f32>, tensor<f32>, tensor<15x8xf32>
  }
}

// -----

// Returning the logits would change the output's shape: no padding.
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<8x15xf32> {pz.output = "logits"})
module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @forward_backward(%ids: tensor<8xi64> {pz.input = "ids"}, %labels: tensor<8xi64> {pz.input = "labels"}, %wte: tensor<15x8xf32> {pz.param = "wte"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<8x15xf32> {pz.output = "logits"}) {
    %h = pz.embedding %wte, %ids : tensor<15x8xf32>, tensor<8xi64> -> tensor<8x8xf32>
    %logits = pz.matmul %h, %wte {transpose_rhs} : tensor<8x8xf32>, tensor<15x8xf32> -> tensor<8x15xf32>
    %loss = pz.cross_entropy %logits, %labels mean : tensor<8x15xf32>, tensor<8xi64> -> tensor<f32> loc("loss")
    // expected-remark @+1 {{pz-tensor-parallel: the vocabulary of 15 does not divide over tp = 2 and is not padded ('func.return' reads the padded classes and would not keep them zero): the embedding and the logits stay whole on every rank}}
    return %loss, %logits : tensor<f32>, tensor<8x15xf32>
  }
}

// -----

// tp 4 over 2 kv heads (Megatron's kv replication): the query's 4 heads
// split, the key and value whole; each rank picks the kv head its query
// head shares (head k * 2 / 4 for its tp coordinate k, looked up) and
// attends with it. The gradient's key and value cotangents, the rank's
// head placed among zeros, are all-reduced whole (tp.kv_replica_grad).
// CHECK-LABEL: func.func @forward_backward(
// CHECK-SAME: %arg4: tensor<i64> {pz.input = "tp_index", pz.role = #pz.role<tp_index>})
// CHECK: %[[Q:.+]] = pz.transpose {{.*}} -> tensor<1x1x4x8xf32>
// CHECK: %[[K:.+]] = pz.transpose {{.*}} -> tensor<1x2x4x8xf32>
// CHECK: %[[V:.+]] = pz.transpose {{.*}} -> tensor<1x2x4x8xf32>
// CHECK: %[[TABLE:.+]] = pz.constant dense<[0, 0, 1, 1]> : tensor<4xi64>
// CHECK: %[[COORD:.+]] = pz.reshape %arg4 [1]
// CHECK: %[[HEAD:.+]] = pz.gather %[[TABLE]], %[[COORD]] {axis = 0 : i64}
// CHECK: %[[MYK:.+]] = pz.gather %[[K]], %[[HEAD]] {axis = 1 : i64} : tensor<1x2x4x8xf32>, tensor<1xi64> -> tensor<1x1x4x8xf32>
// CHECK: %[[MYV:.+]] = pz.gather %[[V]], %[[HEAD]] {axis = 1 : i64}
// CHECK: pz.attention %[[Q]], %[[MYK]], %[[MYV]] {causal} : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32> -> tensor<1x1x4x8xf32>
// CHECK: %{{.+}}, %[[DK:.+]], %[[DV:.+]] = pz.attention_grad
// CHECK: %[[MINE:.+]] = pz.compare eq, %{{.+}}, %{{.+}} : tensor<1x2x1x1xi64>, tensor<1xi64> -> tensor<1x2x1x1xi1>
// CHECK: %[[PLACED:.+]] = pz.where %[[MINE]], %[[DK]], %{{.+}} -> tensor<1x2x4x8xf32>
// CHECK: shard.all_reduce %[[PLACED]] on @world grid_axes = [4] {pz.comm = #pzrt.reason<"tp.kv_replica_grad", "attn_grad">} : tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
// CHECK: pz.where %[[MINE]], %[[DV]]
// CHECK: shard.all_reduce {{.*}}"tp.kv_replica_grad"
module attributes {pz.plan = #pz.plan<tp = 4>} {
  func.func @forward_backward(%x: tensor<1x4x32xf32> {pz.input = "x"}, %wq: tensor<32x32xf32> {pz.param = "wq"}, %wk: tensor<32x16xf32> {pz.param = "wk"}, %wv: tensor<32x16xf32> {pz.param = "wv"}) -> (tensor<1x4x4x8xf32> {pz.output = "y"}, tensor<1x2x4x8xf32> {pz.output = "dk"}) {
    %q0 = pz.matmul %x, %wq : tensor<1x4x32xf32>, tensor<32x32xf32> -> tensor<1x4x32xf32>
    %q1 = pz.reshape %q0 [1, 4, 4, 8] : tensor<1x4x32xf32> -> tensor<1x4x4x8xf32>
    %q = pz.transpose %q1 [0, 2, 1, 3] : tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32>
    %k0 = pz.matmul %x, %wk : tensor<1x4x32xf32>, tensor<32x16xf32> -> tensor<1x4x16xf32>
    %k1 = pz.reshape %k0 [1, 4, 2, 8] : tensor<1x4x16xf32> -> tensor<1x4x2x8xf32>
    %k = pz.transpose %k1 [0, 2, 1, 3] : tensor<1x4x2x8xf32> -> tensor<1x2x4x8xf32>
    %v0 = pz.matmul %x, %wv : tensor<1x4x32xf32>, tensor<32x16xf32> -> tensor<1x4x16xf32>
    %v1 = pz.reshape %v0 [1, 4, 2, 8] : tensor<1x4x16xf32> -> tensor<1x4x2x8xf32>
    %v = pz.transpose %v1 [0, 2, 1, 3] : tensor<1x4x2x8xf32> -> tensor<1x2x4x8xf32>
    %y = pz.attention %q, %k, %v {causal} : tensor<1x4x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x4x4x8xf32> loc("attn")
    %dq, %dk, %dv = pz.attention_grad %y, %q, %k, %v {causal} : tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> loc("attn_grad")
    return %y, %dk : tensor<1x4x4x8xf32>, tensor<1x2x4x8xf32>
  }
}

// -----

// Replicated kv heads whose value head dim (4) differs from the key's (8):
// the local attention's result takes the value's, each gradient its
// operand's.
// CHECK-LABEL: func.func @forward_backward(
// CHECK: pz.attention {{.*}} : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x4xf32> -> tensor<1x1x4x4xf32>
// CHECK: pz.attention_grad {{.*}} : tensor<1x1x4x4xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x4xf32>
module attributes {pz.plan = #pz.plan<tp = 4>} {
  func.func @forward_backward(%x: tensor<1x4x32xf32> {pz.input = "x"}, %wq: tensor<32x32xf32> {pz.param = "wq"}, %wk: tensor<32x16xf32> {pz.param = "wk"}, %wv: tensor<32x8xf32> {pz.param = "wv"}) -> (tensor<1x4x4x4xf32> {pz.output = "y"}, tensor<1x2x4x4xf32> {pz.output = "dv"}) {
    %q0 = pz.matmul %x, %wq : tensor<1x4x32xf32>, tensor<32x32xf32> -> tensor<1x4x32xf32>
    %q1 = pz.reshape %q0 [1, 4, 4, 8] : tensor<1x4x32xf32> -> tensor<1x4x4x8xf32>
    %q = pz.transpose %q1 [0, 2, 1, 3] : tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32>
    %k0 = pz.matmul %x, %wk : tensor<1x4x32xf32>, tensor<32x16xf32> -> tensor<1x4x16xf32>
    %k1 = pz.reshape %k0 [1, 4, 2, 8] : tensor<1x4x16xf32> -> tensor<1x4x2x8xf32>
    %k = pz.transpose %k1 [0, 2, 1, 3] : tensor<1x4x2x8xf32> -> tensor<1x2x4x8xf32>
    %v0 = pz.matmul %x, %wv : tensor<1x4x32xf32>, tensor<32x8xf32> -> tensor<1x4x8xf32>
    %v1 = pz.reshape %v0 [1, 4, 2, 4] : tensor<1x4x8xf32> -> tensor<1x4x2x4xf32>
    %v = pz.transpose %v1 [0, 2, 1, 3] : tensor<1x4x2x4xf32> -> tensor<1x2x4x4xf32>
    %y = pz.attention %q, %k, %v {causal} : tensor<1x4x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32> -> tensor<1x4x4x4xf32> loc("attn")
    %dq, %dk, %dv = pz.attention_grad %y, %q, %k, %v {causal} : tensor<1x4x4x4xf32>, tensor<1x4x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x4xf32> loc("attn_grad")
    return %y, %dv : tensor<1x4x4x4xf32>, tensor<1x2x4x4xf32>
  }
}

// -----

// Mixed precision: a weight read through its cast to bf16 is split as the
// cast's first use decides (column parallel here), and the cast runs on the
// rank's columns.
// CHECK-LABEL: func.func @forward_backward(%arg0: tensor<4x8xbf16> {pz.input = "x"}, %arg1: tensor<8x8xf32> {pz.box_shard = {dim_axes = array<i16: -1, 4>, shape = array<i64: 8, 16>}, pz.param = "w"})
// CHECK-NEXT: %[[C:.+]] = pz.cast %arg1 : tensor<8x8xf32> to bf16
// CHECK-NEXT: pz.matmul %arg0, %[[C]] : tensor<4x8xbf16>, tensor<8x8xbf16> -> tensor<4x8xbf16>
// CHECK: shard.all_gather
module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @forward_backward(%x: tensor<4x8xbf16> {pz.input = "x"}, %w: tensor<8x16xf32> {pz.param = "w"}) -> (tensor<4x16xbf16> {pz.output = "y"}) {
    %wb = pz.cast %w : tensor<8x16xf32> to bf16
    %y = pz.matmul %x, %wb : tensor<4x8xbf16>, tensor<8x16xbf16> -> tensor<4x16xbf16>
    return %y : tensor<4x16xbf16>
  }
}

// -----

// tp must divide the attention heads (plan key 'tp').
module attributes {pz.plan = #pz.plan<tp = 4>} {
  func.func @forward_backward(%q: tensor<1x2x4x8xf32> {pz.input = "q"}) -> (tensor<1x2x4x8xf32> {pz.output = "y"}) {
    // expected-error @+1 {{pz-tensor-parallel: tp = 4 does not divide the 2 attention heads (plan key 'tp'); use a tp that divides them}}
    %y = pz.attention %q, %q, %q {causal} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
    return %y : tensor<1x2x4x8xf32>
  }
}

// -----

// A column-parallel output the function returns whole is all-gathered; the
// runtime gathers along dim 0, so the columns go first and back.
// CHECK-LABEL: func.func @forward_backward(%arg0: tensor<4x8xf32> {pz.input = "x"}, %arg1: tensor<8x4xf32>
// CHECK: %[[Y:.+]] = pz.matmul %arg0, %arg1 : tensor<4x8xf32>, tensor<8x4xf32> -> tensor<4x4xf32>
// CHECK: %[[T:.+]] = pz.transpose %[[Y]] [1, 0] : tensor<4x4xf32> -> tensor<4x4xf32>
// CHECK-NEXT: %[[G:.+]] = shard.all_gather %[[T]] on @world grid_axes = [4] gather_axis = 0 {pz.comm = #pzrt.reason<"tp.reshard", "{{.*}}">} : tensor<4x4xf32> -> tensor<8x4xf32>
// CHECK-NEXT: %[[B:.+]] = pz.transpose %[[G]] [1, 0] : tensor<8x4xf32> -> tensor<4x8xf32>
// CHECK: return %[[B]], %{{.+}} : tensor<4x8xf32>, tensor<8x4xf32>
module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @forward_backward(%x: tensor<4x8xf32> {pz.input = "x"}, %w: tensor<8x8xf32> {pz.param = "w"}) -> (tensor<4x8xf32> {pz.output = "y"}, tensor<8x8xf32> {pz.grad = "w"}) {
    %y = pz.matmul %x, %w : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
    %dw = pz.matmul %x, %y {transpose_lhs} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<8x8xf32>
    return %y, %dw : tensor<4x8xf32>, tensor<8x8xf32>
  }
}

// -----

// A parameter pz-interleave-qkv laid out per rank (pz.split_groups: 3
// parts on dim 0) that tp keeps whole (a softmax reads its product whole,
// so its gradient comes out whole): @forward_backward reads the stored
// layout and reorders it where each op reads it ([3, 2, 1, 8] to
// [2, 3, 1, 8]),
// returns its gradient reordered back, and the name leaves
// pz.split_groups, so that the runtime and the optimizer see the stored
// layout.
// CHECK-LABEL: module attributes {pz.plan = #pz.plan<tp = 2>} {
// CHECK: func.func @forward_backward
// CHECK-NEXT: %[[R:.+]] = pz.reshape %arg1 [3, 2, 1, 8] : tensor<6x8xf32> -> tensor<3x2x1x8xf32>
// CHECK-NEXT: %[[T:.+]] = pz.transpose %[[R]] [1, 0, 2, 3] : tensor<3x2x1x8xf32> -> tensor<2x3x1x8xf32>
// CHECK-NEXT: %[[W:.+]] = pz.reshape %[[T]] [6, 8] : tensor<2x3x1x8xf32> -> tensor<6x8xf32>
// CHECK-NEXT: pz.matmul %arg0, %[[W]] {transpose_rhs}
// CHECK: %[[G:.+]] = pz.matmul %{{.+}}, %arg0 {transpose_lhs}
// CHECK-NEXT: %[[GR:.+]] = pz.reshape %[[G]] [2, 3, 1, 8] : tensor<6x8xf32> -> tensor<2x3x1x8xf32>
// CHECK-NEXT: %[[GT:.+]] = pz.transpose %[[GR]] [1, 0, 2, 3] : tensor<2x3x1x8xf32> -> tensor<3x2x1x8xf32>
// CHECK-NEXT: %[[GW:.+]] = pz.reshape %[[GT]] [6, 8]
// CHECK-NEXT: return %{{.+}}, %[[GW]]
module attributes {pz.plan = #pz.plan<tp = 2>, pz.split_groups = {w = array<i64: 3, 0>}} {
  // expected-remark @+1 {{1 parameters stay whole on every tp rank}}
  func.func @forward_backward(%x: tensor<4x8xf32> {pz.input = "x"}, %w: tensor<6x8xf32> {pz.param = "w"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<6x8xf32> {pz.grad = "w"}) {
    %y = pz.matmul %x, %w {transpose_rhs} : tensor<4x8xf32>, tensor<6x8xf32> -> tensor<4x6xf32>
    %z = pz.softmax %y {axis = 1 : i64} : tensor<4x6xf32>
    %loss = pz.reduce_sum %z [0, 1] : tensor<4x6xf32> -> tensor<f32>
    %dw = pz.matmul %z, %x {transpose_lhs} : tensor<4x6xf32>, tensor<4x8xf32> -> tensor<6x8xf32>
    return %loss, %dw : tensor<f32>, tensor<6x8xf32>
  }
}

// -----

// Sequence parallelism (sp) on tp = 2, a Megatron block of the tokens'
// hidden states [b = 2, s = 8, h = 8]: the vocab-parallel embedding's
// partial sum is reduce-scattered along the sequence (an all-reduce and a
// slice in shard-partition's output, one reduce-scatter here; the runtime
// scatters along dim 0, so between transposes), the norm runs on the
// rank's 4 tokens, the column-parallel fc1 reads its input all-gathered,
// the row-parallel fc2's partial sum is reduce-scattered, the residual add
// and the dropout run split (the dropout as a block of the whole value,
// with its rows' indices in it), and a whole operand of an element map (a
// position table) is sliced locally (pz.shard_chunk of the sequence).
// CHECK-LABEL: module attributes {pz.plan = #pz.plan<tp = 2, sp = true>}
// CHECK: func.func @forward_backward
// CHECK-SAME: %arg6: tensor<i64> {pz.input = "tp_index", pz.role = #pz.role<tp_index>}
// CHECK: %[[E:.+]] = pz.transpose %{{.+}} [1, 0, 2] : tensor<2x8x8xf32> -> tensor<8x2x8xf32>
// CHECK-NEXT: %[[ERS:.+]] = shard.reduce_scatter %[[E]] on @world grid_axes = [4] scatter_axis = 0 {pz.comm = #pzrt.reason<"sp.vocab_parallel_embedding", "wte">} : tensor<8x2x8xf32> -> tensor<4x2x8xf32>
// CHECK-NEXT: %[[X:.+]] = pz.transpose %[[ERS]] [1, 0, 2] : tensor<4x2x8xf32> -> tensor<2x4x8xf32>
// CHECK-NEXT: %[[N:.+]] = pz.rms_norm %[[X]] scale(%arg2 : tensor<8xf32>) {{.*}} : tensor<2x4x8xf32> -> tensor<2x4x8xf32>
// CHECK-NEXT: %[[NT:.+]] = pz.transpose %[[N]] [1, 0, 2]
// CHECK-NEXT: %[[G:.+]] = shard.all_gather %[[NT]] on @world grid_axes = [4] gather_axis = 0 {pz.comm = #pzrt.reason<"sp.all_gather", "fc1">} : tensor<4x2x8xf32> -> tensor<8x2x8xf32>
// CHECK-NEXT: %[[NW:.+]] = pz.transpose %[[G]] [1, 0, 2] : tensor<8x2x8xf32> -> tensor<2x8x8xf32>
// CHECK-NEXT: %[[H:.+]] = pz.matmul %[[NW]], %arg3 {transpose_rhs} : tensor<2x8x8xf32>, tensor<8x8xf32> -> tensor<2x8x8xf32>
// CHECK-NEXT: %[[Y:.+]] = pz.matmul %[[H]], %arg4 {transpose_rhs} : tensor<2x8x8xf32>, tensor<8x8xf32> -> tensor<2x8x8xf32>
// CHECK-NEXT: %[[YT:.+]] = pz.transpose %[[Y]] [1, 0, 2]
// CHECK-NEXT: %[[YRS:.+]] = shard.reduce_scatter %[[YT]] on @world grid_axes = [4] scatter_axis = 0 {pz.comm = #pzrt.reason<"sp.partial_sum", "fc2">} : tensor<8x2x8xf32> -> tensor<4x2x8xf32>
// CHECK-NEXT: %[[YS:.+]] = pz.transpose %[[YRS]] [1, 0, 2] : tensor<4x2x8xf32> -> tensor<2x4x8xf32>
// CHECK-NEXT: %[[R:.+]] = pz.add %[[X]], %[[YS]] : tensor<2x4x8xf32>, tensor<2x4x8xf32> -> tensor<2x4x8xf32>
// CHECK-NEXT: %[[IOTA:.+]] = pz.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : tensor<8xi64>
// CHECK-NEXT: %[[IC:.+]] = pz.shard_chunk %[[IOTA]] on @world grid_axes = [4] chunks = 2 : tensor<8xi64> -> tensor<4xi64>
// CHECK-NEXT: %[[I:.+]] = pz.reshape %[[IC]] [4]
// CHECK-NEXT: %[[D:.+]] = pz.dropout %[[R]] indices(%[[I]] : tensor<4xi64>) {global_shape = array<i64: 2, 8, 8>, rate = 1.000000e-01 : f64, seed = 3 : i64, split_dims = array<i64: 1>} : tensor<2x4x8xf32>
// CHECK-NEXT: %[[PF:.+]] = pz.reshape %arg5 [64] : tensor<8x8xf32> -> tensor<64xf32>
// CHECK-NEXT: %[[PC:.+]] = pz.shard_chunk %[[PF]] on @world grid_axes = [4] chunks = 2 : tensor<64xf32> -> tensor<32xf32>
// CHECK-NEXT: %[[P:.+]] = pz.reshape %[[PC]] [4, 8] : tensor<32xf32> -> tensor<4x8xf32>
// CHECK-NEXT: pz.add %[[D]], %[[P]] : tensor<2x4x8xf32>, tensor<4x8xf32> -> tensor<2x4x8xf32>
// CHECK-NOT: shard.all_gather
// CHECK: shard.all_reduce %{{.+}} on @world grid_axes = [4] {pz.comm = #pzrt.reason<"tp.partial_sum", {{.+}}>} : tensor<f32> -> tensor<f32>
module attributes {pz.plan = #pz.plan<tp = 2, sp = true>} {
  func.func @forward_backward(%ids: tensor<2x8xi64> {pz.input = "input_ids"}, %table: tensor<16x8xf32> {pz.param = "wte"}, %scale: tensor<8xf32> {pz.param = "ln"}, %w1: tensor<16x8xf32> {pz.param = "fc1"}, %w2: tensor<8x16xf32> {pz.param = "fc2"}, %pos: tensor<8x8xf32> {pz.input = "pos"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}) {
    %e = pz.embedding %table, %ids : tensor<16x8xf32>, tensor<2x8xi64> -> tensor<2x8x8xf32> loc("wte")
    %n = pz.rms_norm %e scale(%scale : tensor<8xf32>) {axis = 2 : i64, epsilon = 1.0e-6 : f64} : tensor<2x8x8xf32> -> tensor<2x8x8xf32> loc("ln")
    %h = pz.matmul %n, %w1 {transpose_rhs} : tensor<2x8x8xf32>, tensor<16x8xf32> -> tensor<2x8x16xf32> loc("fc1")
    %y = pz.matmul %h, %w2 {transpose_rhs} : tensor<2x8x16xf32>, tensor<8x16xf32> -> tensor<2x8x8xf32> loc("fc2")
    %r = pz.add %e, %y : tensor<2x8x8xf32>, tensor<2x8x8xf32> -> tensor<2x8x8xf32>
    %d = pz.dropout %r {rate = 1.0e-01 : f64, seed = 3 : i64} : tensor<2x8x8xf32>
    %p = pz.add %d, %pos : tensor<2x8x8xf32>, tensor<8x8xf32> -> tensor<2x8x8xf32>
    %l = pz.reduce_sum %p [0, 1, 2] : tensor<2x8x8xf32> -> tensor<f32>
    return %l : tensor<f32>
  }
}

// -----

// sp needs a sequence that tp divides.
module attributes {pz.plan = #pz.plan<tp = 2, sp = true>} {
  // expected-error @+1 {{pz-tensor-parallel: sp (plan key 'sp') splits the sequence of 7 tokens over tp = 2 ranks, which does not divide it; use a sequence length that tp divides}}
  func.func @forward_backward(%ids: tensor<2x7xi64> {pz.input = "input_ids"}, %table: tensor<16x8xf32> {pz.param = "wte"}) -> (tensor<2x7x8xf32> {pz.output = "h"}) {
    %e = pz.embedding %table, %ids : tensor<16x8xf32>, tensor<2x7xi64> -> tensor<2x7x8xf32>
    return %e : tensor<2x7x8xf32>
  }
}

// -----

// ... and a token input [batch, seq] to find the sequence in.
module attributes {pz.plan = #pz.plan<tp = 2, sp = true>} {
  // expected-error @+1 {{pz-tensor-parallel: sp (plan key 'sp') splits the hidden states along the sequence, but the step has no token input [batch, seq] (an integer data input of rank 2); drop --sp}}
  func.func @forward_backward(%x: tensor<4x8xf32> {pz.input = "x"}, %w: tensor<16x8xf32> {pz.param = "fc1"}) -> (tensor<4x16xf32> {pz.output = "y"}) {
    %y = pz.matmul %x, %w {transpose_rhs} : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
    return %y : tensor<4x16xf32>
  }
}

// -----

// Context parallelism (cp = 2) on a causal attention block of the tokens
// [b = 2, s = 8]: the token inputs are split along the sequence (each
// rank's zigzag chunks: the driver feeds chunks r and 3 - r of 4,
// pz.box_shard); a whole position table is put in zigzag order and sliced
// locally; the attention runs as a ring: the rank's query and key
// positions are its chunks of [0, 8), the first step attends to the rank's
// own key block, the key, value and key positions are shifted one rank on
// (cp.ring_kv_shift) and the second step merges that block in (a row that
// kept no key is NaN, as pz.attention's); the loss
// sums its tokens and their count over cp; the weight's gradient is a
// partial sum over cp.
// CHECK-LABEL: module attributes {pz.plan = #pz.plan<cp = 2>}
// CHECK: func.func @forward_backward(%arg0: tensor<2x4xi64> {pz.box_shard = {dim_axes = array<i16: -1, 3>, shape = array<i64: 2, 8>}, pz.input = "input_ids"}, %arg1: tensor<2x4xi64> {pz.box_shard = {dim_axes = array<i16: -1, 3>, shape = array<i64: 2, 8>}, pz.input = "labels"}
// CHECK: %[[E:.+]] = pz.embedding %arg2, %arg0 : tensor<16x8xf32>, tensor<2x4xi64> -> tensor<2x4x8xf32>
// CHECK-NEXT: %[[Z:.+]] = pz.constant dense<[0, 1, 6, 7, 2, 3, 4, 5]> : tensor<8xi64>
// CHECK-NEXT: %[[PZ:.+]] = pz.gather %arg3, %[[Z]] {axis = 0 : i64} : tensor<8x8xf32>, tensor<8xi64> -> tensor<8x8xf32>
// CHECK-NEXT: %[[PF:.+]] = pz.reshape %[[PZ]] [64]
// CHECK-NEXT: %[[PC:.+]] = pz.shard_chunk %[[PF]] on @world grid_axes = [3] chunks = 2 : tensor<64xf32> -> tensor<32xf32>
// CHECK-NEXT: %[[P:.+]] = pz.reshape %[[PC]] [4, 8]
// CHECK-NEXT: %[[X:.+]] = pz.add %[[E]], %[[P]] : tensor<2x4x8xf32>, tensor<4x8xf32> -> tensor<2x4x8xf32>
// CHECK: %[[Q:.+]] = pz.transpose %{{.+}} [0, 2, 1, 3] : tensor<2x4x1x8xf32> -> tensor<2x1x4x8xf32>
// CHECK: %[[K:.+]] = pz.transpose %{{.+}} [0, 2, 1, 3] : tensor<2x4x1x8xf32> -> tensor<2x1x4x8xf32>
// CHECK-NEXT: %[[IOTA:.+]] = pz.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : tensor<8xi64>
// CHECK-NEXT: %[[ZP:.+]] = pz.constant dense<[0, 1, 6, 7, 2, 3, 4, 5]> : tensor<8xi64>
// CHECK-NEXT: %[[POS:.+]] = pz.gather %[[IOTA]], %[[ZP]] {axis = 0 : i64}
// CHECK-NEXT: %[[QPC:.+]] = pz.shard_chunk %[[POS]] on @world grid_axes = [3] chunks = 2 : tensor<8xi64> -> tensor<4xi64>
// CHECK-NEXT: %[[QP:.+]] = pz.reshape %[[QPC]] [4]
// CHECK: %[[KP:.+]] = pz.reshape %{{.+}} [4] : tensor<4xi64> -> tensor<4xi64>
// CHECK-NEXT: %[[ACC0:.+]] = pz.constant dense<0.000000e+00> : tensor<2x1x4x8xf32>
// CHECK-NEXT: %[[LSE0:.+]] = pz.constant dense<0xFF800000> : tensor<2x1x4xf32>
// CHECK-NEXT: %[[ACC1:.+]], %[[LSE1:.+]] = pz.attention_block %[[Q]], %[[K]], %[[K]] into %[[ACC0]], %[[LSE0]] positions(%[[QP]], %[[KP]] : tensor<4xi64>, tensor<4xi64>)
// CHECK-NEXT: %[[K1:.+]] = shard.shift %[[K]] on @world grid_axes = [3] shift_axis = 3 offset = 1 rotate {pz.comm = #pzrt.reason<"cp.ring_kv_shift", "step 1 of 1, forward attn">} : tensor<2x1x4x8xf32> -> tensor<2x1x4x8xf32>
// CHECK-NEXT: %[[V1:.+]] = shard.shift %[[K]] on @world
// CHECK-NEXT: %[[KP1:.+]] = shard.shift %[[KP]] on @world grid_axes = [3] shift_axis = 3 offset = 1 rotate {pz.comm = #pzrt.reason<"cp.ring_kv_shift", "step 1 of 1, forward attn">} : tensor<4xi64> -> tensor<4xi64>
// CHECK-NEXT: %[[ACC2:.+]], %[[LSE2:.+]] = pz.attention_block %[[Q]], %[[K1]], %[[V1]] into %[[ACC1]], %[[LSE1]] positions(%[[QP]], %[[KP1]] : tensor<4xi64>, tensor<4xi64>)
// CHECK-NEXT: %[[NINF:.+]] = pz.constant dense<0xFF800000> : tensor<f32>
// CHECK-NEXT: %[[NONE:.+]] = pz.compare eq, %[[LSE2]], %[[NINF]]
// CHECK-NEXT: %[[NONE4:.+]] = pz.reshape %[[NONE]] [2, 1, 4, 1]
// CHECK-NEXT: %[[NAN:.+]] = pz.constant dense<0x7FC00000> : tensor<f32>
// CHECK-NEXT: %[[OUT:.+]] = pz.where %[[NONE4]], %[[NAN]], %[[ACC2]]
// CHECK-NEXT: pz.transpose %[[OUT]] [0, 2, 1, 3]
// CHECK-NOT: shard.all_gather
// CHECK: pz.cross_entropy %{{.+}}, %arg1 none : tensor<2x4x8xf32>, tensor<2x4xi64> -> tensor<2x4xf32>
// CHECK: shard.all_reduce %{{.+}} on @world grid_axes = [3] {pz.comm = #pzrt.reason<"cp.loss_sum", "loss">} : tensor<f32> -> tensor<f32>
// CHECK-NEXT: shard.all_reduce %{{.+}} on @world grid_axes = [3] {pz.comm = #pzrt.reason<"cp.loss_count", "loss">} : tensor<f32> -> tensor<f32>
// CHECK: shard.all_reduce %{{.+}} on @world grid_axes = [3] {pz.comm = #pzrt.reason<"cp.partial_sum", "dq">} : tensor<8x8xf32> -> tensor<8x8xf32>
module attributes {pz.plan = #pz.plan<cp = 2>} {
  func.func @forward_backward(%ids: tensor<2x8xi64> {pz.input = "input_ids"}, %labels: tensor<2x8xi64> {pz.input = "labels"}, %table: tensor<16x8xf32> {pz.param = "wte"}, %pos: tensor<8x8xf32> {pz.input = "pos"}, %wq: tensor<8x8xf32> {pz.param = "q"}, %wk: tensor<8x8xf32> {pz.param = "k"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<8x8xf32> {pz.grad = "q"}) {
    %e = pz.embedding %table, %ids : tensor<16x8xf32>, tensor<2x8xi64> -> tensor<2x8x8xf32> loc("wte")
    %x = pz.add %e, %pos : tensor<2x8x8xf32>, tensor<8x8xf32> -> tensor<2x8x8xf32> loc("pos")
    %q = pz.matmul %x, %wq {transpose_rhs} : tensor<2x8x8xf32>, tensor<8x8xf32> -> tensor<2x8x8xf32> loc("q")
    %q4 = pz.reshape %q [2, 8, 1, 8] : tensor<2x8x8xf32> -> tensor<2x8x1x8xf32>
    %qt = pz.transpose %q4 [0, 2, 1, 3] : tensor<2x8x1x8xf32> -> tensor<2x1x8x8xf32>
    %k = pz.matmul %x, %wk {transpose_rhs} : tensor<2x8x8xf32>, tensor<8x8xf32> -> tensor<2x8x8xf32> loc("k")
    %k4 = pz.reshape %k [2, 8, 1, 8] : tensor<2x8x8xf32> -> tensor<2x8x1x8xf32>
    %kt = pz.transpose %k4 [0, 2, 1, 3] : tensor<2x8x1x8xf32> -> tensor<2x1x8x8xf32>
    %a = pz.attention %qt, %kt, %kt {causal} : tensor<2x1x8x8xf32>, tensor<2x1x8x8xf32>, tensor<2x1x8x8xf32> -> tensor<2x1x8x8xf32> loc("attn")
    %at = pz.transpose %a [0, 2, 1, 3] : tensor<2x1x8x8xf32> -> tensor<2x8x1x8xf32>
    %o3 = pz.reshape %at [2, 8, 8] : tensor<2x8x1x8xf32> -> tensor<2x8x8xf32>
    %o = pz.reshape %o3 [16, 8] : tensor<2x8x8xf32> -> tensor<16x8xf32>
    %l = pz.reshape %labels [16] : tensor<2x8xi64> -> tensor<16xi64>
    %loss = pz.cross_entropy %o, %l mean : tensor<16x8xf32>, tensor<16xi64> -> tensor<f32> loc("loss")
    %dw = pz.matmul %q, %x {transpose_lhs} : tensor<2x8x8xf32>, tensor<2x8x8xf32> -> tensor<2x8x8xf32> loc("dq")
    %dws = pz.reduce_sum %dw [0] : tensor<2x8x8xf32> -> tensor<8x8xf32> loc("dqs")
    return %loss, %dws : tensor<f32>, tensor<8x8xf32>
  }
}

// -----

// An attention whose mask covers queries and keys (not a padding mask)
// does not run as a ring: its keys and values are all-gathered along the
// sequence (cp.all_gather) and put back in the single rank's order, and
// the mask's query rows are sliced in zigzag order.
// CHECK-LABEL: module attributes {pz.plan = #pz.plan<cp = 2>}
// CHECK: %[[Q:.+]] = pz.transpose %arg1 [0, 2, 1, 3] : tensor<2x4x1x8xf32> -> tensor<2x1x4x8xf32>
// CHECK: %[[KT:.+]] = pz.transpose %{{.+}} [2, 0, 1, 3] : tensor<2x1x4x8xf32> -> tensor<4x2x1x8xf32>
// CHECK-NEXT: %[[KG:.+]] = shard.all_gather %[[KT]] on @world grid_axes = [3] gather_axis = 0 {pz.comm = #pzrt.reason<"cp.all_gather", "attn">} : tensor<4x2x1x8xf32> -> tensor<8x2x1x8xf32>
// CHECK-NEXT: %[[KW:.+]] = pz.transpose %[[KG]] [1, 2, 0, 3]
// CHECK-NEXT: %[[ZI:.+]] = pz.constant dense<[0, 1, 4, 5, 6, 7, 2, 3]> : tensor<8xi64>
// CHECK-NEXT: %[[K:.+]] = pz.gather %[[KW]], %[[ZI]] {axis = 2 : i64} : tensor<2x1x8x8xf32>, tensor<8xi64> -> tensor<2x1x8x8xf32>
// CHECK: %[[MZ:.+]] = pz.gather %arg3, %{{.+}} {axis = 0 : i64} : tensor<8x8xf32>, tensor<8xi64> -> tensor<8x8xf32>
// CHECK: %[[MC:.+]] = pz.shard_chunk %{{.+}} on @world grid_axes = [3] chunks = 2 : tensor<64xf32> -> tensor<32xf32>
// CHECK-NEXT: %[[M:.+]] = pz.reshape %[[MC]] [4, 8]
// CHECK-NEXT: pz.attention %[[Q]], %[[K]], %[[K]] mask(%[[M]] : tensor<4x8xf32>) : tensor<2x1x4x8xf32>, tensor<2x1x8x8xf32>, tensor<2x1x8x8xf32> -> tensor<2x1x4x8xf32>
module attributes {pz.plan = #pz.plan<cp = 2>} {
  func.func @forward_backward(%ids: tensor<2x8xi64> {pz.input = "input_ids"}, %qs: tensor<2x8x1x8xf32> {pz.input = "q"}, %ks: tensor<2x8x1x8xf32> {pz.input = "k"}, %m: tensor<8x8xf32> {pz.input = "bias"}) -> (tensor<2x8x1x8xf32> {pz.output = "o"}) {
    %q = pz.transpose %qs [0, 2, 1, 3] : tensor<2x8x1x8xf32> -> tensor<2x1x8x8xf32>
    %k = pz.transpose %ks [0, 2, 1, 3] : tensor<2x8x1x8xf32> -> tensor<2x1x8x8xf32>
    %a = pz.attention %q, %k, %k mask(%m : tensor<8x8xf32>) : tensor<2x1x8x8xf32>, tensor<2x1x8x8xf32>, tensor<2x1x8x8xf32> -> tensor<2x1x8x8xf32> loc("attn")
    %o = pz.transpose %a [0, 2, 1, 3] : tensor<2x1x8x8xf32> -> tensor<2x8x1x8xf32>
    return %o : tensor<2x8x1x8xf32>
  }
}

// -----

// cp cuts the sequence into 2 cp chunks (two per rank)...
module attributes {pz.plan = #pz.plan<cp = 2>} {
  // expected-error @+1 {{pz-tensor-parallel: cp (plan key 'cp') cuts the sequence of 6 tokens into 2 cp = 4 chunks (two per rank, zigzag), which do not divide it; use a sequence length that 2 cp divides}}
  func.func @forward_backward(%ids: tensor<2x6xi64> {pz.input = "input_ids"}, %table: tensor<16x8xf32> {pz.param = "wte"}) -> (tensor<2x6x8xf32> {pz.output = "h"}) {
    %e = pz.embedding %table, %ids : tensor<16x8xf32>, tensor<2x6xi64> -> tensor<2x6x8xf32>
    return %e : tensor<2x6x8xf32>
  }
}

// -----

// ... and under sp each cp rank's tokens over tp, which must divide them
// (8 tokens over cp 2 x tp 4 would be fine; 12 are not) ...
module attributes {pz.plan = #pz.plan<tp = 4, sp = true, cp = 2>} {
  // expected-error @+1 {{pz-tensor-parallel: sp with cp (plan keys 'sp' and 'cp') splits each cp rank's 6 tokens over tp = 4 ranks, which do not divide them; use a sequence length that 2 cp x tp divides}}
  func.func @forward_backward(%ids: tensor<2x12xi64> {pz.input = "input_ids"}, %table: tensor<16x8xf32> {pz.param = "wte"}) -> (tensor<2x12x8xf32> {pz.output = "h"}) {
    %e = pz.embedding %table, %ids : tensor<16x8xf32>, tensor<2x12xi64> -> tensor<2x12x8xf32>
    return %e : tensor<2x12x8xf32>
  }
}

// -----

// sp with cp: the sequence split over cp (zigzag) and each cp rank's 4
// tokens over tp. The vocab-parallel embedding's partial sum is
// reduce-scattered over tp along the rank's tokens; the dropout draws the
// masks of its tokens' indices in the whole sequence (arange permuted into
// the zigzag order, sliced over cp, then over tp); a whole position table
// (a parameter: never split along the sequence) is sliced alike; the
// result, wanted whole, is gathered over tp, then over cp, then put back
// in order.
// CHECK-LABEL: module attributes {pz.plan = #pz.plan<tp = 2, sp = true, cp = 2>}
// CHECK: func.func @forward_backward(%arg0: tensor<2x4xi64> {pz.box_shard = {dim_axes = array<i16: -1, 3>, shape = array<i64: 2, 8>}, pz.input = "input_ids"}, %arg1: tensor<8x8xf32> {pz.box_shard = {dim_axes = array<i16: 4, -1>, shape = array<i64: 16, 8>}, pz.param = "wte"}, %arg2: tensor<8x8xf32> {pz.param = "wpe"}
// CHECK: %[[RS:.+]] = shard.reduce_scatter %{{.+}} on @world grid_axes = [4] scatter_axis = 0 {pz.comm = #pzrt.reason<"sp.vocab_parallel_embedding", "pz.embedding">} : tensor<4x2x8xf32> -> tensor<2x2x8xf32>
// CHECK-NEXT: %[[E:.+]] = pz.transpose %[[RS]] [1, 0, 2] : tensor<2x2x8xf32> -> tensor<2x2x8xf32>
// CHECK-NEXT: %[[IOTA:.+]] = pz.constant dense<[0, 1, 2, 3, 4, 5, 6, 7]> : tensor<8xi64>
// CHECK-NEXT: %[[ZZ:.+]] = pz.constant dense<[0, 1, 6, 7, 2, 3, 4, 5]> : tensor<8xi64>
// CHECK-NEXT: %[[ORDER:.+]] = pz.gather %[[IOTA]], %[[ZZ]] {axis = 0 : i64}
// CHECK-NEXT: %[[C:.+]] = pz.shard_chunk %[[ORDER]] on @world grid_axes = [3] chunks = 2 : tensor<8xi64> -> tensor<4xi64>
// CHECK-NEXT: %[[CR:.+]] = pz.reshape %[[C]] [4]
// CHECK-NEXT: %[[T:.+]] = pz.shard_chunk %[[CR]] on @world grid_axes = [4] chunks = 2 : tensor<4xi64> -> tensor<2xi64>
// CHECK-NEXT: %[[IDX:.+]] = pz.reshape %[[T]] [2]
// CHECK-NEXT: %[[D:.+]] = pz.dropout %[[E]] indices(%[[IDX]] : tensor<2xi64>) {global_shape = array<i64: 2, 8, 8>, rate = 1.000000e-01 : f64, seed = 3 : i64, split_dims = array<i64: 1>} : tensor<2x2x8xf32>
// CHECK-NEXT: %[[ZZP:.+]] = pz.constant dense<[0, 1, 6, 7, 2, 3, 4, 5]> : tensor<8xi64>
// CHECK-NEXT: %[[P:.+]] = pz.gather %arg2, %[[ZZP]] {axis = 0 : i64} : tensor<8x8xf32>, tensor<8xi64> -> tensor<8x8xf32>
// CHECK: pz.shard_chunk %{{.+}} on @world grid_axes = [3] chunks = 2 : tensor<64xf32> -> tensor<32xf32>
// CHECK: pz.shard_chunk %{{.+}} on @world grid_axes = [4] chunks = 2 : tensor<32xf32> -> tensor<16xf32>
// CHECK: %[[A:.+]] = pz.add %[[D]], %{{.+}} : tensor<2x2x8xf32>, tensor<2x8xf32> -> tensor<2x2x8xf32>
// CHECK: shard.all_gather %{{.+}} on @world grid_axes = [4] gather_axis = 0 {pz.comm = #pzrt.reason<"sp.all_gather", {{.+}}>} : tensor<2x2x8xf32> -> tensor<4x2x8xf32>
// CHECK: shard.all_gather %{{.+}} on @world grid_axes = [3] gather_axis = 0 {pz.comm = #pzrt.reason<"cp.all_gather", {{.+}}>} : tensor<4x2x8xf32> -> tensor<8x2x8xf32>
// CHECK: pz.constant dense<[0, 1, 4, 5, 6, 7, 2, 3]> : tensor<8xi64>
module attributes {pz.plan = #pz.plan<tp = 2, sp = true, cp = 2>} {
  func.func @forward_backward(%ids: tensor<2x8xi64> {pz.input = "input_ids"}, %table: tensor<16x8xf32> {pz.param = "wte"}, %pos: tensor<8x8xf32> {pz.param = "wpe"}) -> (tensor<2x8x8xf32> {pz.output = "h"}) {
    %e = pz.embedding %table, %ids : tensor<16x8xf32>, tensor<2x8xi64> -> tensor<2x8x8xf32>
    %d = pz.dropout %e {rate = 1.0e-01 : f64, seed = 3 : i64} : tensor<2x8x8xf32>
    %a = pz.add %d, %pos : tensor<2x8x8xf32>, tensor<8x8xf32> -> tensor<2x8x8xf32>
    return %a : tensor<2x8x8xf32>
  }
}

// -----

// With grad_accum 2 (no ZeRO), a gradient that is a partial sum over the
// cp ranks' tokens accumulates as it is and is summed over cp once per
// step, at the start of @finalize_grads; the loss's sum stays.
// CHECK-LABEL: module attributes {pz.plan = #pz.plan<cp = 2, grad_accum = 2>}
// CHECK: func.func @forward_backward
// CHECK: shard.all_reduce %{{.+}} on @world grid_axes = [3] {pz.comm = #pzrt.reason<"cp.partial_sum", "pz.reduce_sum">} : tensor<f32> -> tensor<f32>
// CHECK: %[[DW:.+]] = pz.embedding_grad
// CHECK-NOT: shard.all_reduce
// CHECK: return %{{.+}}, %[[DW]] : tensor<f32>, tensor<16x8xf32>
// CHECK: func.func @finalize_grads(%[[A:.+]]: tensor<16x8xf32> {pz.accum = "wte"})
// CHECK-NEXT: %[[S:.+]] = shard.all_reduce %[[A]] on @world grid_axes = [3] {pz.comm = #pzrt.reason<"cp.partial_sum", "wte (once per step)">} : tensor<16x8xf32> -> tensor<16x8xf32>
// CHECK-NEXT: %[[H:.+]] = pz.constant
// CHECK-NEXT: pz.mul %[[S]], %[[H]]
module attributes {pz.plan = #pz.plan<cp = 2, grad_accum = 2>} {
  func.func @forward_backward(%ids: tensor<2x8xi64> {pz.input = "input_ids"}, %table: tensor<16x8xf32> {pz.param = "wte"})
      -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<16x8xf32> {pz.grad = "wte"}) {
    %e = pz.embedding %table, %ids : tensor<16x8xf32>, tensor<2x8xi64> -> tensor<2x8x8xf32>
    %l = pz.reduce_sum %e [0, 1, 2] : tensor<2x8x8xf32> -> tensor<f32>
    %one = pz.mul %e, %e : tensor<2x8x8xf32>, tensor<2x8x8xf32> -> tensor<2x8x8xf32>
    %dw = pz.embedding_grad %one, %ids {vocab = 16 : i64} : tensor<2x8x8xf32>, tensor<2x8xi64> -> tensor<16x8xf32>
    return %l, %dw : tensor<f32>, tensor<16x8xf32>
  }
  func.func @finalize_grads(%a: tensor<16x8xf32> {pz.accum = "wte"})
      -> (tensor<16x8xf32> {pz.grad = "wte"}) {
    %h = pz.constant dense<0.5> : tensor<16x8xf32>
    %g = pz.mul %a, %h : tensor<16x8xf32>, tensor<16x8xf32> -> tensor<16x8xf32>
    return %g : tensor<16x8xf32>
  }
}

// -----

// A bias with a heads dim (ALiBi [1, H, 1, S]) splits its heads as the
// query's; one that broadcasts over the heads ([S, S]) stays whole. The
// gradient op takes the same bias.
// CHECK-LABEL: module attributes {pz.plan = #pz.plan<tp = 2>}
// CHECK: pz.attention %{{.+}}, %{{.+}}, %{{.+}} bias(%{{.+}} : tensor<1x2x1x4xf32>) {causal} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
// CHECK: pz.attention %{{.+}}, %{{.+}}, %{{.+}} bias(%{{.+}} : tensor<4x4xf32>) : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32> -> tensor<1x2x4x8xf32>
// CHECK: pz.attention_grad %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} bias(%{{.+}} : tensor<1x2x1x4xf32>) {causal} : tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>
module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @forward_backward(%x: tensor<1x4x32xf32> {pz.input = "x"}, %wq: tensor<32x32xf32> {pz.param = "wq"}, %wk: tensor<32x32xf32> {pz.param = "wk"}, %wv: tensor<32x32xf32> {pz.param = "wv"}) -> (tensor<1x4x4x8xf32> {pz.output = "y"}, tensor<1x4x4x8xf32> {pz.output = "y2"}, tensor<1x4x4x8xf32> {pz.output = "dk"}) {
    %q0 = pz.matmul %x, %wq : tensor<1x4x32xf32>, tensor<32x32xf32> -> tensor<1x4x32xf32>
    %q1 = pz.reshape %q0 [1, 4, 4, 8] : tensor<1x4x32xf32> -> tensor<1x4x4x8xf32>
    %q = pz.transpose %q1 [0, 2, 1, 3] : tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32>
    %k0 = pz.matmul %x, %wk : tensor<1x4x32xf32>, tensor<32x32xf32> -> tensor<1x4x32xf32>
    %k1 = pz.reshape %k0 [1, 4, 4, 8] : tensor<1x4x32xf32> -> tensor<1x4x4x8xf32>
    %k = pz.transpose %k1 [0, 2, 1, 3] : tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32>
    %v0 = pz.matmul %x, %wv : tensor<1x4x32xf32>, tensor<32x32xf32> -> tensor<1x4x32xf32>
    %v1 = pz.reshape %v0 [1, 4, 4, 8] : tensor<1x4x32xf32> -> tensor<1x4x4x8xf32>
    %v = pz.transpose %v1 [0, 2, 1, 3] : tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32>
    %b = pz.constant dense<[[[[0.0, 0.5, 1.0, 1.5]], [[0.0, 0.25, 0.5, 0.75]], [[0.0, 0.125, 0.25, 0.375]], [[0.0, 0.0625, 0.125, 0.1875]]]]> : tensor<1x4x1x4xf32>
    %y = pz.attention %q, %k, %v bias(%b : tensor<1x4x1x4xf32>) {causal} : tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32> loc("attn")
    %b2 = pz.constant dense<0.5> : tensor<4x4xf32>
    %y2 = pz.attention %q, %k, %v bias(%b2 : tensor<4x4xf32>) : tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32> -> tensor<1x4x4x8xf32> loc("attn2")
    %dq, %dk, %dv = pz.attention_grad %y, %q, %k, %v bias(%b : tensor<1x4x1x4xf32>) {causal} : tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32> loc("attn_grad")
    return %y, %y2, %dk : tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>
  }
}

// -----

// cp with an attention bias is refused: the ring does not carry it.
module attributes {pz.plan = #pz.plan<cp = 2>} {
  func.func @forward_backward(%ids: tensor<2x8xi64> {pz.input = "input_ids"}, %qs: tensor<2x1x8x8xf32> {pz.input = "q"}) -> (tensor<2x1x8x8xf32> {pz.output = "o"}) {
    %b = pz.constant dense<0.5> : tensor<1x1x1x8xf32>
    // expected-error @+1 {{pz-tensor-parallel: cp (plan key 'cp') with an attention bias (ALiBi, 'tensor<1x1x1x8xf32>') is not built: the ring does not carry the bias; drop --cp}}
    %a = pz.attention %qs, %qs, %qs bias(%b : tensor<1x1x1x8xf32>) {causal} : tensor<2x1x8x8xf32>, tensor<2x1x8x8xf32>, tensor<2x1x8x8xf32> -> tensor<2x1x8x8xf32>
    return %a : tensor<2x1x8x8xf32>
  }
}

