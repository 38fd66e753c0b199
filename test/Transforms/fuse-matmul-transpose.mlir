// RUN: parallelize-opt %s -pz-fuse-patterns -split-input-file | FileCheck %s

// A pz.transpose that swaps the last two dims folds into pz.matmul's
// transpose flags; other permutations stay.

// nn.Linear on 3-D input: MatMul(x, Transpose(W, [1, 0])).
// CHECK-LABEL: func.func @linear(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x16x64xf32>, [[W:%[^:]+]]: tensor<256x64xf32>)
// CHECK-NEXT: [[Y:%.*]] = pz.matmul [[X]], [[W]] {transpose_rhs} : tensor<2x16x64xf32>, tensor<256x64xf32> -> tensor<2x16x256xf32>
// CHECK-NEXT: return [[Y]]
func.func @linear(%x: tensor<2x16x64xf32>, %w: tensor<256x64xf32>) -> tensor<2x16x256xf32> {
  %wt = pz.transpose %w [1, 0] : tensor<256x64xf32> -> tensor<64x256xf32>
  %y = pz.matmul %x, %wt : tensor<2x16x64xf32>, tensor<64x256xf32> -> tensor<2x16x256xf32>
  return %y : tensor<2x16x256xf32>
}

// -----

// Both operands, and a flag that is already set flips back.
// CHECK-LABEL: func.func @both_sides(
// CHECK-SAME: [[A:%[^:]+]]: tensor<3x5x4xf32>, [[B:%[^:]+]]: tensor<3x5x6xf32>)
// CHECK-NEXT: [[Y:%.*]] = pz.matmul [[A]], [[B]] {transpose_lhs} : tensor<3x5x4xf32>, tensor<3x5x6xf32> -> tensor<3x4x6xf32>
// CHECK-NEXT: return [[Y]]
func.func @both_sides(%a: tensor<3x5x4xf32>, %b: tensor<3x5x6xf32>) -> tensor<3x4x6xf32> {
  %at = pz.transpose %a [0, 2, 1] : tensor<3x5x4xf32> -> tensor<3x4x5xf32>
  %bt = pz.transpose %b [0, 2, 1] : tensor<3x5x6xf32> -> tensor<3x6x5xf32>
  %y = pz.matmul %at, %bt {transpose_rhs} : tensor<3x4x5xf32>, tensor<3x6x5xf32> -> tensor<3x4x6xf32>
  return %y : tensor<3x4x6xf32>
}

// -----

// Negative: the permutation also moves a batch dim.
// CHECK-LABEL: func.func @batch_permutation(
// CHECK: pz.transpose
// CHECK: pz.matmul
// CHECK-NOT: transpose_rhs
// CHECK: return
func.func @batch_permutation(%a: tensor<2x3x4x5xf32>, %b: tensor<3x2x6x5xf32>) -> tensor<2x3x4x6xf32> {
  %bt = pz.transpose %b [1, 0, 3, 2] : tensor<3x2x6x5xf32> -> tensor<2x3x5x6xf32>
  %y = pz.matmul %a, %bt : tensor<2x3x4x5xf32>, tensor<2x3x5x6xf32> -> tensor<2x3x4x6xf32>
  return %y : tensor<2x3x4x6xf32>
}
