// RUN: parallelize-opt %s --pass-pipeline='builtin.module(pz-autodiff,canonicalize,cse,pz-recompute{layers=h.1})' --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=H1
// RUN: parallelize-opt %s --pass-pipeline='builtin.module(pz-autodiff,canonicalize,cse,pz-recompute{layers=h.0,h.2})' --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=H02
// RUN: parallelize-opt %s --pass-pipeline='builtin.module(pz-autodiff,canonicalize,cse,pz-recompute{mode=full})' --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=FULL
// RUN: parallelize-opt %s --pass-pipeline='builtin.module(pz-split-stages{stages=2 boundaries=h.2 loss=loss},builtin.module(pz-autodiff,canonicalize,cse),pz-recompute{layers=h.1,h.2})' --mlir-print-debuginfo --mlir-print-local-scope | FileCheck %s --check-prefix=PP
// RUN: not parallelize-opt %s --pass-pipeline='builtin.module(pz-autodiff,canonicalize,cse,pz-recompute{layers=h.1,h.9})' 2>&1 | FileCheck %s --check-prefix=NOLAYER
// RUN: not parallelize-opt %s --pass-pipeline='builtin.module(pz-split-stages{stages=2 boundaries=h.2 loss=loss},builtin.module(pz-autodiff,canonicalize,cse),pz-recompute{layers=h.9})' 2>&1 | FileCheck %s --check-prefix=NOLAYER-PP
// RUN: not parallelize-opt %s --pass-pipeline='builtin.module(pz-autodiff,canonicalize,cse,pz-recompute{layers=h.1,h.1})' 2>&1 | FileCheck %s --check-prefix=TWICE
// RUN: not parallelize-opt %s --pass-pipeline='builtin.module(pz-autodiff,canonicalize,cse,pz-recompute{mode=full layers=h.1})' 2>&1 | FileCheck %s --check-prefix=MODE

// Three layers of 4x8 f32 values (128 bytes each): h.0 (a0, b0 = tanh a0,
// c0 = a0 + b0), h.1 in two halves (a1, b1, m1 = c0 + b1, then d1, e1,
// c1 = m1 + e1: m1 is a cut point inside the layer), h.2 (a2, b2, c2) and
// a loss on c2. The backward reads each tanh's output and each matmul's
// input: b0, c0, b1, m1, e1, c1, b2, c2 (8 x 128 bytes).
//
// recompute h.1: its input c0 and its output c1 stay; b1, m1 and e1 are
// recomputed from c0 (and a1, d1 with them) right before e1's gradient
// reads it: 3 x 128 = 384 bytes fewer kept. h.0 and h.2 keep theirs.

// H1: module attributes {pz.recomputed_bytes = 384 : i64, pz.recomputed_bytes_by_layer = {h.1 = 384 : i64}}
// H1-LABEL: func.func @forward_backward
// H1: %[[B0:.*]] = pz.tanh %{{.*}} loc("b0")
// H1: %[[C0:.*]] = pz.add {{.*}} loc("c0")
// H1: %[[B1:.*]] = pz.tanh %{{.*}} loc("b1")
// H1: %[[M1:.*]] = pz.add {{.*}} loc("m1")
// H1: %[[E1:.*]] = pz.tanh %{{.*}} loc("e1")
// H1: %[[C1:.*]] = pz.add %[[M1]], %[[E1]] {{.*}} loc("c1")
// H1: %[[B2:.*]] = pz.tanh %{{.*}} loc("b2")
// h.2's backward reads its own values and h.1's output.
// H1: pz.mul %[[B2]], %[[B2]]
// H1: pz.matmul %{{.*}}, %[[C1]] {transpose_lhs}
// H1-NOT: %[[B1]]{{[,) ]}}
// H1-NOT: %[[M1]]{{[,) ]}}
// H1-NOT: %[[E1]]{{[,) ]}}
// H1: %[[RA1:.*]] = pz.matmul %[[C0]], %arg2 {transpose_rhs} {{.*}} loc("recompute"("a1"))
// H1-NEXT: %[[RB1:.*]] = pz.tanh %[[RA1]] {{.*}} loc("recompute"("b1"))
// H1-NEXT: %[[RM1:.*]] = pz.add %[[C0]], %[[RB1]] {{.*}} loc("recompute"("m1"))
// H1-NEXT: %[[RD1:.*]] = pz.matmul %[[RM1]], %arg3 {transpose_rhs} {{.*}} loc("recompute"("d1"))
// H1-NEXT: %[[RE1:.*]] = pz.tanh %[[RD1]] {{.*}} loc("recompute"("e1"))
// H1-NEXT: pz.mul %[[RE1]], %[[RE1]]
// H1: pz.matmul %{{.*}}, %[[RM1]] {transpose_lhs}
// H1: pz.mul %[[RB1]], %[[RB1]]
// H1: pz.matmul %{{.*}}, %[[C0]] {transpose_lhs}
// h.0 is not recomputed: its gradient reads the forward's b0.
// H1: pz.mul %[[B0]], %[[B0]]
// H1-NOT: loc("recompute"
// H1: return

// recompute h.0 and h.2: a layer runs to where the next one starts, so h.0
// holds a0, b0 and c0 (b0 recomputed; c0, its output, stays), and h.2, the
// last, runs to the loss: b2 and c2 recomputed from h.2's input c1.
// H02: module attributes {pz.recomputed_bytes = 384 : i64, pz.recomputed_bytes_by_layer = {h.0 = 128 : i64, h.2 = 256 : i64}}
// H02: %[[RA2:.*]] = pz.matmul %[[C1:.*]], %arg4 {transpose_rhs} {{.*}} loc("recompute"("a2"))
// H02-NEXT: %[[RB2:.*]] = pz.tanh %[[RA2]] {{.*}} loc("recompute"("b2"))
// H02-NEXT: %[[RC2:.*]] = pz.add %[[C1]], %[[RB2]] {{.*}} loc("recompute"("c2"))
// H02-NOT: loc("recompute"("b1"))
// H02-NOT: loc("recompute"("e1"))
// H02: %[[RA0:.*]] = pz.matmul %arg0, %arg1 {transpose_rhs} {{.*}} loc("recompute"("a0"))
// H02-NEXT: pz.tanh %[[RA0]] {{.*}} loc("recompute"("b0"))
// H02-NOT: loc("recompute"
// H02: return

// Full keeps every cut value (a0, c0, m1, c1, c2) and recomputes b0, b1,
// e1 and b2 (512 bytes); b0's recompute reads a0, which the backward did
// not read before: 384 bytes fewer kept, net.
// FULL: module attributes {pz.recomputed_bytes = 384 : i64}

// With stages (h.2 starts stage 1), on the top module: each stage
// recomputes the listed layers it holds.
// PP: module @stage_0 attributes {pz.recomputed_bytes = 384 : i64, pz.recomputed_bytes_by_layer = {h.1 = 384 : i64}
// PP: loc("recompute"("e1"))
// PP: module @stage_1 attributes {pz.recomputed_bytes = 256 : i64, pz.recomputed_bytes_by_layer = {h.2 = 256 : i64}
// PP: loc("recompute"("b2"))

// NOLAYER: error: pz-recompute: recompute: no parameter of layer 'h.9' (none is named 'h.9.*'); recompute takes none, selective, full or layer names
// NOLAYER-PP: error: pz-recompute: recompute: no parameter of layer 'h.9' (none is named 'h.9.*')
// TWICE: error: pz-recompute: recompute: 'h.1' is named twice
// MODE: error: pz-recompute: recompute: layers are named for mode 'full'

func.func @forward(%x: tensor<4x8xf32> {pz.input = "x"},
                   %w0: tensor<8x8xf32> {pz.param = "h.0.w"},
                   %w1a: tensor<8x8xf32> {pz.param = "h.1.a.w"},
                   %w1b: tensor<8x8xf32> {pz.param = "h.1.b.w"},
                   %w2: tensor<8x8xf32> {pz.param = "h.2.w"}) -> (tensor<f32> {pz.output = "loss"}) {
  %a0 = pz.matmul %x, %w0 {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32> loc("a0")
  %b0 = pz.tanh %a0 : tensor<4x8xf32> loc("b0")
  %c0 = pz.add %a0, %b0 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32> loc("c0")
  %a1 = pz.matmul %c0, %w1a {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32> loc("a1")
  %b1 = pz.tanh %a1 : tensor<4x8xf32> loc("b1")
  %m1 = pz.add %c0, %b1 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32> loc("m1")
  %d1 = pz.matmul %m1, %w1b {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32> loc("d1")
  %e1 = pz.tanh %d1 : tensor<4x8xf32> loc("e1")
  %c1 = pz.add %m1, %e1 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32> loc("c1")
  %a2 = pz.matmul %c1, %w2 {transpose_rhs} : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32> loc("a2")
  %b2 = pz.tanh %a2 : tensor<4x8xf32> loc("b2")
  %c2 = pz.add %c1, %b2 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32> loc("c2")
  %sq = pz.mul %c2, %c2 : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32> loc("sq")
  %l = pz.reduce_mean %sq [0, 1] : tensor<4x8xf32> -> tensor<f32> loc("mean")
  return %l : tensor<f32>
}
