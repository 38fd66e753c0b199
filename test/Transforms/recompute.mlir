// RUN: parallelize-opt %s --pass-pipeline='builtin.module(pz-autodiff,canonicalize,cse,pz-recompute{mode=full})' | FileCheck %s --check-prefix=FULL
// RUN: parallelize-opt %s --pass-pipeline='builtin.module(pz-autodiff,canonicalize,cse,pz-recompute{mode=selective})' | FileCheck %s --check-prefix=SEL
// RUN: parallelize-opt %s --pass-pipeline='builtin.module(pz-autodiff,canonicalize,cse,pz-recompute{mode=none})' | FileCheck %s --check-prefix=NONE

// A residual block (a, b = tanh a, c = a + b) and a scores-like tail (a
// 1x2x4x4 product, its softmax). Full: a and c are the layer inputs (each
// alone live between forward ops), b is recomputed right before the tanh's
// gradient reads it. Selective: only the rank-4 square values (the scores
// and the softmax) are recomputed; b is kept.

// FULL-LABEL: func.func @forward_backward
// FULL: %[[A:.*]] = pz.matmul %arg0, %arg1
// FULL-NEXT: %[[B:.*]] = pz.tanh %[[A]]
// FULL-NEXT: pz.add %[[A]], %[[B]]
// FULL-NOT: %[[B]]{{[,) ]}}
// FULL: %[[RB:.*]] = pz.tanh %[[A]]
// FULL-NEXT: pz.mul %[[RB]], %[[RB]]
// FULL-NOT: %[[B]]{{[,) ]}}
// FULL: return

// SEL-LABEL: func.func @forward_backward
// SEL: %[[B:.*]] = pz.tanh
// SEL: %[[P:.*]] = pz.softmax
// SEL: %[[RS:.*]] = pz.matmul %{{.*}}, %arg2 : tensor<1x2x4x4xf32>
// SEL-NEXT: %[[RP:.*]] = pz.softmax %[[RS]]
// SEL-NEXT: pz.mul %{{.*}}, %[[RP]]
// SEL-NOT: %[[P]]{{[,) ]}}
// SEL: pz.mul %[[B]], %[[B]]
// SEL-NOT: pz.tanh

// NONE-LABEL: func.func @forward_backward
// NONE-NOT: %recompute
func.func @forward(%x: tensor<4x8xf32> {pz.input = "x"}, %w1: tensor<8x8xf32> {pz.param = "w1"}, %w2: tensor<4x4xf32> {pz.param = "w2"}) -> (tensor<f32> {pz.output = "loss"}) {
  %a = pz.matmul %x, %w1 {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32> loc("a")
  %b = pz.tanh %a : tensor<4x8xf32> loc("b")
  %c = pz.add %a, %b : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32> loc("c")
  %s = pz.reshape %c [1, 2, 4, 4] : tensor<4x8xf32> -> tensor<1x2x4x4xf32> loc("s")
  %sc = pz.matmul %s, %w2 : tensor<1x2x4x4xf32>, tensor<4x4xf32> -> tensor<1x2x4x4xf32> loc("scores")
  %p = pz.softmax %sc {axis = 3 : i64} : tensor<1x2x4x4xf32> loc("probs")
  %l = pz.reduce_mean %p [0, 1, 2, 3] : tensor<1x2x4x4xf32> -> tensor<f32> loc("mean")
  return %l : tensor<f32>
}
