// RUN: not parallelize-opt %s -split-input-file 2>&1 | FileCheck %s

// gather_grad checks its axis before using it.

// CHECK: error: axis 2 is out of range for rank 2
func.func @gather_grad_axis_equal_rank(%g: tensor<3x4xf32>, %i: tensor<3xi64>) -> tensor<10x4xf32> {
  %0 = pz.gather_grad %g, %i [10, 4] {axis = 2 : i64} : tensor<3x4xf32>, tensor<3xi64> -> tensor<10x4xf32>
  return %0 : tensor<10x4xf32>
}

// -----

// CHECK: error: axis 5 is out of range for rank 2
func.func @gather_grad_axis_past_rank(%g: tensor<3x4xf32>, %i: tensor<3xi64>) -> tensor<10x4xf32> {
  %0 = pz.gather_grad %g, %i [10, 4] {axis = 5 : i64} : tensor<3x4xf32>, tensor<3xi64> -> tensor<10x4xf32>
  return %0 : tensor<10x4xf32>
}

// -----

// CHECK: error: axis -1 is out of range for rank 2
func.func @gather_grad_negative_axis(%g: tensor<3x4xf32>, %i: tensor<3xi64>) -> tensor<10x4xf32> {
  %0 = pz.gather_grad %g, %i [10, 4] {axis = -1 : i64} : tensor<3x4xf32>, tensor<3xi64> -> tensor<10x4xf32>
  return %0 : tensor<10x4xf32>
}
