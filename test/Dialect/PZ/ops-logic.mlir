// RUN: parallelize-opt %s | parallelize-opt | FileCheck %s
// RUN: parallelize-opt %s -mlir-print-op-generic | parallelize-opt | FileCheck %s

// Round trip of the comparison and boolean ops (PZLogicOps.td).

// CHECK-LABEL: func.func @compare(
// CHECK-SAME: [[A:%[^:]+]]: tensor<2x3xf32>, [[B:%[^:]+]]: tensor<3xf32>) -> (tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>)
// CHECK-NEXT: [[COMPARE:%.*]] = pz.compare eq, [[A]], [[B]] : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xi1>
// CHECK-NEXT: [[COMPARE_0:%.*]] = pz.compare lt, [[A]], [[B]] : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xi1>
// CHECK-NEXT: [[COMPARE_1:%.*]] = pz.compare le, [[A]], [[B]] : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xi1>
// CHECK-NEXT: [[COMPARE_2:%.*]] = pz.compare gt, [[B]], [[A]] : tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xi1>
// CHECK-NEXT: [[COMPARE_3:%.*]] = pz.compare ge, [[A]], [[A]] : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xi1>
// CHECK-NEXT: return [[COMPARE]], [[COMPARE_0]], [[COMPARE_1]], [[COMPARE_2]], [[COMPARE_3]] : tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>
func.func @compare(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> (tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>) {
  %0 = pz.compare eq, %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xi1>
  %1 = pz.compare lt, %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xi1>
  %2 = pz.compare le, %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xi1>
  %3 = pz.compare gt, %b, %a : tensor<3xf32>, tensor<2x3xf32> -> tensor<2x3xi1>
  %4 = pz.compare ge, %a, %a : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xi1>
  return %0, %1, %2, %3, %4 : tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>, tensor<2x3xi1>
}

// CHECK-LABEL: func.func @compare_types(
// CHECK-SAME: [[I:%[^:]+]]: tensor<4xi64>, [[J:%[^:]+]]: tensor<i64>, [[K:%[^:]+]]: tensor<?x4xi32>, [[M:%[^:]+]]: tensor<16x16xi1>, [[H:%[^:]+]]: tensor<4xbf16>) -> (tensor<4xi1>, tensor<?x4xi1>, tensor<16x16xi1>, tensor<4xi1>)
// CHECK-NEXT: [[COMPARE:%.*]] = pz.compare lt, [[I]], [[J]] : tensor<4xi64>, tensor<i64> -> tensor<4xi1>
// CHECK-NEXT: [[COMPARE_0:%.*]] = pz.compare ge, [[K]], [[K]] : tensor<?x4xi32>, tensor<?x4xi32> -> tensor<?x4xi1>
// CHECK-NEXT: [[COMPARE_1:%.*]] = pz.compare eq, [[M]], [[M]] : tensor<16x16xi1>, tensor<16x16xi1> -> tensor<16x16xi1>
// CHECK-NEXT: [[COMPARE_2:%.*]] = pz.compare gt, [[H]], [[H]] : tensor<4xbf16>, tensor<4xbf16> -> tensor<4xi1>
// CHECK-NEXT: return [[COMPARE]], [[COMPARE_0]], [[COMPARE_1]], [[COMPARE_2]] : tensor<4xi1>, tensor<?x4xi1>, tensor<16x16xi1>, tensor<4xi1>
func.func @compare_types(%i: tensor<4xi64>, %j: tensor<i64>, %k: tensor<?x4xi32>, %m: tensor<16x16xi1>, %h: tensor<4xbf16>) -> (tensor<4xi1>, tensor<?x4xi1>, tensor<16x16xi1>, tensor<4xi1>) {
  %0 = pz.compare lt, %i, %j : tensor<4xi64>, tensor<i64> -> tensor<4xi1>
  %1 = pz.compare ge, %k, %k : tensor<?x4xi32>, tensor<?x4xi32> -> tensor<?x4xi1>
  %2 = pz.compare eq, %m, %m : tensor<16x16xi1>, tensor<16x16xi1> -> tensor<16x16xi1>
  %3 = pz.compare gt, %h, %h : tensor<4xbf16>, tensor<4xbf16> -> tensor<4xi1>
  return %0, %1, %2, %3 : tensor<4xi1>, tensor<?x4xi1>, tensor<16x16xi1>, tensor<4xi1>
}

// CHECK-LABEL: func.func @not(
// CHECK-SAME: [[M:%[^:]+]]: tensor<16x16xi1>, [[D:%[^:]+]]: tensor<?xi1>) -> (tensor<16x16xi1>, tensor<?xi1>)
// CHECK-NEXT: [[NOT:%.*]] = pz.not [[M]] : tensor<16x16xi1>
// CHECK-NEXT: [[NOT_0:%.*]] = pz.not [[D]] : tensor<?xi1>
// CHECK-NEXT: return [[NOT]], [[NOT_0]] : tensor<16x16xi1>, tensor<?xi1>
func.func @not(%m: tensor<16x16xi1>, %d: tensor<?xi1>) -> (tensor<16x16xi1>, tensor<?xi1>) {
  %0 = pz.not %m : tensor<16x16xi1>
  %1 = pz.not %d : tensor<?xi1>
  return %0, %1 : tensor<16x16xi1>, tensor<?xi1>
}

// CHECK-LABEL: func.func @trilu(
// CHECK-SAME: [[M:%[^:]+]]: tensor<16x16xi1>, [[X:%[^:]+]]: tensor<2x4x4xf32>, [[I:%[^:]+]]: tensor<?x3x5xi64>) -> (tensor<16x16xi1>, tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<?x3x5xi64>)
// CHECK-NEXT: [[TRILU:%.*]] = pz.trilu [[M]] upper diagonal 1 : tensor<16x16xi1>
// CHECK-NEXT: [[TRILU_0:%.*]] = pz.trilu [[X]] : tensor<2x4x4xf32>
// CHECK-NEXT: [[TRILU_1:%.*]] = pz.trilu [[X]] upper : tensor<2x4x4xf32>
// CHECK-NEXT: [[TRILU_2:%.*]] = pz.trilu [[I]] diagonal -1 : tensor<?x3x5xi64>
// CHECK-NEXT: return [[TRILU]], [[TRILU_0]], [[TRILU_1]], [[TRILU_2]] : tensor<16x16xi1>, tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<?x3x5xi64>
func.func @trilu(%m: tensor<16x16xi1>, %x: tensor<2x4x4xf32>, %i: tensor<?x3x5xi64>) -> (tensor<16x16xi1>, tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<?x3x5xi64>) {
  %0 = pz.trilu %m upper diagonal 1 : tensor<16x16xi1>
  %1 = pz.trilu %x : tensor<2x4x4xf32>
  %2 = pz.trilu %x upper : tensor<2x4x4xf32>
  %3 = pz.trilu %i diagonal -1 : tensor<?x3x5xi64>
  return %0, %1, %2, %3 : tensor<16x16xi1>, tensor<2x4x4xf32>, tensor<2x4x4xf32>, tensor<?x3x5xi64>
}
