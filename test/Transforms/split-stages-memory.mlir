// RUN: parallelize-opt %s "-pz-split-stages=stages=2 memory-limit=6000" | FileCheck %s
// RUN: parallelize-opt %s "-pz-split-stages=stages=2 memory-limit=6400" | FileCheck %s --check-prefix=LOOSE
// RUN: not parallelize-opt %s "-pz-split-stages=stages=2 memory-limit=4700" 2>&1 | FileCheck %s --check-prefix=NONE

// split-stages.mlir's model under pp = 2, 1F1B, 4 micro-batches, AdamW
// (StageMemory.h). Per parameter byte a stage holds 5: the parameter, its
// gradient, the accumulator of 4 micro-batches, 2 AdamW states; embed.weight
// is 512 bytes, h.0.weight and h.1.weight 256 each (h.1's square is computed
// from it alone, so h.1 belongs to the stage of the square's reader, op 5).
// Kept activations (read by an op whose gradient reads its operands): the
// embedding (read by a matmul), h.0's matmul (by relu), the residual h2 (by
// h.1's matmul), h4 (by the head) 128 bytes each, the logits 256 (by the
// loss); relu's and h.1's matmul's results only feed adds. In flight: 2 on
// stage 0 and 1 on stage 1, plus a half for the working memory.
//
// The cut balanced by cost (before the head: 3648 | 3075) needs
// 1024 x 5 + 512 x 2.5 = 6400 on stage 0 and 512 x 5 + 256 x 1.5 = 2944.
// A limit of 6000 leaves the cuts before op 4 (1824 | 4899) and op 5 (2016 |
// 4707), both 768 x 5 + 384 x 2.5 = 4800 | 768 x 5 + 384 x 1.5 = 4416; the
// cheaper is before op 5.
// CHECK: module @stage_0 attributes {{.*}}pz.stage = {flops = 2016 : i64, index = 0 : i64}
// CHECK: module @stage_1 attributes {{.*}}pz.stage = {flops = 4707 : i64, index = 1 : i64}
// CHECK-NEXT: func.func @forward({{.*}}{pz.param = "h.1.weight"}

// 6400 admits the balanced cut.
// LOOSE: module @stage_0 attributes {{.*}}pz.stage = {flops = 3648 : i64, index = 0 : i64}

// Below 4800 nothing fits (the cut after the embedding needs 6080 on stage
// 1): the error gives the balanced cut's estimates.
// NONE: error: pz-split-stages: no cut into 2 stages fits memory-limit = 4700 bytes by the split's estimate (parameters, gradients and optimizer states, plus the activations of the micro-batches in flight); the cut balanced by cost would need stage 0 6400, stage 1 2944
module attributes {pz.plan = #pz.plan<pp = 2, grad_accum = 4>} {
func.func @forward(%ids: tensor<4xi64> {pz.input = "input_ids"}, %labels: tensor<4xi64> {pz.input = "labels"}, %e: tensor<16x8xf32> {pz.param = "embed.weight"}, %w1: tensor<8x8xf32> {pz.param = "h.0.weight"}, %w2: tensor<8x8xf32> {pz.param = "h.1.weight"}) -> (tensor<f32> {pz.output = "loss"}, tensor<4x16xf32> {pz.output = "logits"}) {
  %h0 = pz.embedding %e, %ids : tensor<16x8xf32>, tensor<4xi64> -> tensor<4x8xf32>
  %h1 = pz.matmul %h0, %w1 {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %r1 = pz.relu %h1 : tensor<4x8xf32>
  %h2 = pz.add %r1, %h0 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %s = pz.mul %w2, %w2 : tensor<8x8xf32>, tensor<8x8xf32> -> tensor<8x8xf32>
  %h3 = pz.matmul %h2, %s {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %h4 = pz.add %h3, %h2 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
  %logits = pz.matmul %h4, %e {transpose_rhs} : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %loss = pz.cross_entropy %logits, %labels mean : tensor<4x16xf32>, tensor<4xi64> -> tensor<f32>
  return %loss, %logits : tensor<f32>, tensor<4x16xf32>
}
}
