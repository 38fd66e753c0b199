// RUN: parallelize-opt %s -pz-split-stages=stages=2 | FileCheck %s
// RUN: parallelize-opt %s -pz-split-stages=stages=3 | FileCheck %s --check-prefix=THREE
// RUN: parallelize-opt %s "-pz-split-stages=stages=2 boundaries=h.1" | FileCheck %s --check-prefix=PIN
// RUN: parallelize-opt %s -pz-split-stages=stages=1 | FileCheck %s --check-prefix=ONE

// A two-layer residual model with a tied embedding. Costs (StageCost.h,
// forward and backward): the embedding 96, h.0's matmul 1536, relu and
// add 96 each, h.1's weight square 192, its matmul 1536 and add 96, the
// LM head 3072 and the loss 3. One activation alone is live before ops 1,
// 4, 5, 7 and 8; the cut that minimizes the costlier stage is before the
// head (3648 | 3075). The weight square reads no data: it is not an
// activation, and goes with its reader.

// CHECK-LABEL: module @stage_0 attributes {pz.stage = {flops = 3648 : i64, index = 0 : i64}, pz.tied_stages = {embed.weight = 3 : i64}}
// CHECK: func.func @forward(%{{.*}}: tensor<4xi64> {pz.input = "input_ids"}, %{{.*}}: tensor<16x8xf32> {pz.param = "embed.weight"}, %{{.*}}: tensor<8x8xf32> {pz.param = "h.0.weight"}, %{{.*}}: tensor<8x8xf32> {pz.param = "h.1.weight"}) -> (tensor<4x8xf32> {pz.pipe = "activation"})
// CHECK: pz.embedding
// CHECK: pz.mul
// CHECK: %[[OUT:.*]] = pz.add %{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK-NEXT: return %[[OUT]]
// CHECK-LABEL: module @stage_1 attributes {pz.stage = {flops = 3075 : i64, index = 1 : i64}, pz.tied_stages = {embed.weight = 3 : i64}}
// The other output (logits) is dropped, as autodiff drops it.
// CHECK: func.func @forward(%[[H:.*]]: tensor<4x8xf32> {pz.pipe = "activation"}, %[[L:.*]]: tensor<4xi64> {pz.input = "labels"}, %[[E:.*]]: tensor<16x8xf32> {pz.param = "embed.weight"}) -> (tensor<f32> {pz.output = "loss"})
// CHECK-NEXT: %[[LOGITS:.*]] = pz.matmul %[[H]], %[[E]] {transpose_rhs}
// CHECK-NEXT: %[[LOSS:.*]] = pz.cross_entropy %[[LOGITS]], %[[L]] mean
// CHECK-NEXT: return %[[LOSS]]
// CHECK-NOT: func.func @forward

// Three stages: 1824 | 1824 | 3075 (before h.1's square and before the
// head); the embedding is tied between the first and the last.
// THREE: module @stage_0 attributes {pz.stage = {flops = 1824 : i64, index = 0 : i64}, pz.tied_stages = {embed.weight = 5 : i64}}
// THREE: module @stage_1 attributes {pz.stage = {flops = 1824 : i64, index = 1 : i64}, pz.tied_stages = {embed.weight = 5 : i64}}
// THREE-NEXT: func.func @forward(%{{.*}}: tensor<4x8xf32> {pz.pipe = "activation"}, %{{.*}}: tensor<8x8xf32> {pz.param = "h.1.weight"}) -> (tensor<4x8xf32> {pz.pipe = "activation"})
// THREE: module @stage_2 attributes {pz.stage = {flops = 3075 : i64, index = 2 : i64}

// A pin: the cut before the first op that reads a parameter of h.1.
// PIN: module @stage_0 attributes {pz.stage = {flops = 1824 : i64, index = 0 : i64}
// PIN: module @stage_1 attributes {pz.stage = {flops = 4899 : i64, index = 1 : i64}
// PIN-NEXT: func.func @forward({{.*}}{pz.param = "h.1.weight"}

// ONE-NOT: module @stage
// ONE: func.func @forward(
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
