// RUN: parallelize-opt %s -split-input-file -pz-infer-shapes | FileCheck %s
// RUN: parallelize-opt %s -split-input-file -pz-set-input-shapes="shapes=x=8x64" | FileCheck %s --check-prefix=INPUT

// Shape refinement keeps every user valid: call operands that no longer
// match the callee's arguments, and users outside pz whose type is tied to
// the value, get a tensor.cast.

// (The pz.input only lets the INPUT run accept this chunk.)
// CHECK-LABEL: func.func @caller(
// CHECK: tensor.cast %{{.*}} : tensor<2xf32> to tensor<?xf32>
// CHECK: call @helper
// INPUT-LABEL: func.func @caller(
// INPUT: call @helper
func.func @caller(%x: tensor<2xf32>, %in: tensor<?x64xf32> {pz.input = "x"}) -> tensor<?xf32> {
  %0 = pz.reshape %x [-1] : tensor<2xf32> -> tensor<?xf32>
  %1 = func.call @helper(%0) : (tensor<?xf32>) -> tensor<?xf32>
  return %1 : tensor<?xf32>
}
func.func @helper(%a: tensor<?xf32>) -> tensor<?xf32> {
  %0 = pz.neg %a : tensor<?xf32>
  return %0 : tensor<?xf32>
}

// -----

// INPUT-LABEL: func.func @callee(
// INPUT-SAME: tensor<8x64xf32> {pz.input = "x"}
// INPUT-LABEL: func.func @input_caller(
// INPUT: tensor.cast %{{.*}} : tensor<?x64xf32> to tensor<8x64xf32>
// INPUT: call @callee
func.func @callee(%x: tensor<?x64xf32> {pz.input = "x"}) -> tensor<?x64xf32> {
  %0 = pz.add %x, %x : tensor<?x64xf32>, tensor<?x64xf32> -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}
func.func @input_caller(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %0 = func.call @callee(%x) : (tensor<?x64xf32>) -> tensor<?x64xf32>
  return %0 : tensor<?x64xf32>
}

// -----

// CHECK-LABEL: func.func @non_pz_user(
// CHECK: tensor.cast %{{.*}} : tensor<2xf32> to tensor<?xf32>
// CHECK: arith.negf
// INPUT-LABEL: func.func @non_pz_user(
// INPUT: arith.negf
func.func @non_pz_user(%x: tensor<2xf32>, %in: tensor<?x64xf32> {pz.input = "x"}) -> tensor<?xf32> {
  %0 = pz.reshape %x [-1] : tensor<2xf32> -> tensor<?xf32>
  %1 = arith.negf %0 : tensor<?xf32>
  return %1 : tensor<?xf32>
}
