// RUN: not parallelize-opt %s "-pz-split-stages=stages=2 boundaries=h.7" 2>&1 | FileCheck %s --check-prefix=NOLAYER
// RUN: not parallelize-opt %s "-pz-split-stages=stages=3 boundaries=h.1,h.1" 2>&1 | FileCheck %s --check-prefix=ORDER
// RUN: not parallelize-opt %s "-pz-split-stages=stages=2 boundaries=h.0,h.1" 2>&1 | FileCheck %s --check-prefix=COUNT
// RUN: not parallelize-opt %s "-pz-split-stages=stages=2 boundaries=h.0" 2>&1 | FileCheck %s --check-prefix=EMPTY
// RUN: not parallelize-opt %s -pz-split-stages=stages=5 2>&1 | FileCheck %s --check-prefix=MANY
// RUN: not parallelize-opt %s "-pz-split-stages=stages=2 loss=nll" 2>&1 | FileCheck %s --check-prefix=LOSS

// NOLAYER: error: pz-split-stages: stage_boundaries: no parameter of layer 'h.7' (none is named 'h.7.*')
// ORDER: error: pz-split-stages: stage_boundaries: 'h.1' leaves a stage with no op (the pins must name layers in program order)
// COUNT: error: pz-split-stages: stage_boundaries names 2 layers; 2 stages need 1
// h.0's first op is the first op: the first stage would be empty.
// EMPTY: error: pz-split-stages: stage_boundaries: 'h.0' leaves the first stage with no op
// MANY: error: pz-split-stages: @forward has 3 places where one activation alone is live; 5 stages need 4
// LOSS: error: pz-split-stages: no output is named 'nll'
func.func @forward(%x: tensor<4x8xf32> {pz.input = "x"}, %w1: tensor<8x8xf32> {pz.param = "h.0.weight"}, %w2: tensor<8x8xf32> {pz.param = "h.1.weight"}) -> (tensor<f32> {pz.output = "loss"}) {
  %h1 = pz.matmul %x, %w1 {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %r1 = pz.relu %h1 : tensor<4x8xf32>
  %h2 = pz.matmul %r1, %w2 {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32>
  %l = pz.reduce_mean %h2 [0, 1] : tensor<4x8xf32> -> tensor<f32>
  return %l : tensor<f32>
}
