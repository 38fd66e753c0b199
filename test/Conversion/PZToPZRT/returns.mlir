// RUN: parallelize-opt %s --convert-pz-to-pzrt --split-input-file --verify-diagnostics | FileCheck %s

// What a function returns but did not compute into the out-parameter is
// copied there: an argument, a view, a constant, a value returned twice.
// CHECK-LABEL: func.func @copies(
// CHECK-SAME: %[[X:[^:]*]]: memref<4xf32>, %[[O0:[^:]*]]: memref<4xf32> {pzrt.result = 0 : i64}, %[[O1:[^:]*]]: memref<2x2xf32> {pzrt.result = 1 : i64}, %[[O2:[^:]*]]: memref<4xf32> {pzrt.result = 2 : i64}, %[[O3:[^:]*]]: memref<4xf32> {pzrt.result = 3 : i64}, %[[O4:[^:]*]]: memref<4xf32> {pzrt.result = 4 : i64})
// CHECK: pzrt.dispatch @kernels::@copies_0_exp(%[[X]] : memref<4xf32>) outs(%[[O3]] : memref<4xf32>)
// CHECK: memref.copy %[[X]], %[[O0]]
// CHECK-NEXT: memref.copy %{{.*}}, %[[O1]]
// CHECK-NEXT: memref.copy %{{.*}}, %[[O2]]
// CHECK-NEXT: memref.copy %[[O3]], %[[O4]]
// CHECK-NEXT: return
func.func @copies(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<2x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %v = pz.reshape %x [2, 2] : tensor<4xf32> -> tensor<2x2xf32>
  %k = pz.constant dense<2.0> : tensor<4xf32>
  %e = pz.exp %x : tensor<4xf32>
  return %x, %v, %k, %e, %e : tensor<4xf32>, tensor<2x2xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// A result with the same pz.param (pz.state, pz.accum, pz.grad) name as an
// argument is tied to it: no out-parameter, the update writes into the
// argument (pzrt.tied), here the optimizer's in-place update.
// CHECK-LABEL: func.func @tied(
// CHECK-SAME: %[[W:[^:]*]]: memref<4xf32> {pz.param = "w", pzrt.tied = 0 : i64}, %[[G:[^:]*]]: memref<4xf32> {pz.grad = "w"}, %[[M:[^:]*]]: memref<4xf32> {pz.state = "momentum_buffer:w", pzrt.tied = 1 : i64}, %[[LR:[^:]*]]: memref<f32> {pz.input = "lr", pz.role = #pz.role<lr>})
// CHECK-NEXT: pzrt.dispatch @kernels::@tied_0_sgd_update(%[[W]], %[[G]], %[[M]], %[[LR]] : {{.*}}) outs(%[[W]], %[[M]] : memref<4xf32>, memref<4xf32>)
// CHECK-NEXT: return
func.func @tied(%w: tensor<4xf32> {pz.param = "w"}, %g: tensor<4xf32> {pz.grad = "w"}, %m: tensor<4xf32> {pz.state = "momentum_buffer:w"}, %lr: tensor<f32> {pz.input = "lr", pz.role = #pz.role<lr>}) -> (tensor<4xf32> {pz.param = "w"}, tensor<4xf32> {pz.state = "momentum_buffer:w"}) {
  %u:2 = pz.sgd_update %w, %g, %m, %lr {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32>
  return %u#0, %u#1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// An element map may overwrite the buffer it reads (each element is read
// before it is written): accum += grad in place.
// CHECK-LABEL: func.func @accumulate(
// CHECK-NEXT: pzrt.dispatch @kernels::@accumulate_0_add(%arg0, %arg1 : memref<4xf32>, memref<4xf32>) outs(%arg0 : memref<4xf32>)
func.func @accumulate(%a: tensor<4xf32> {pz.accum = "w"}, %g: tensor<4xf32> {pz.grad = "w"}) -> (tensor<4xf32> {pz.accum = "w"}) {
  %s = pz.add %a, %g : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %s : tensor<4xf32>
}

// -----

// Writing into a tied argument that is read afterwards would corrupt the
// later reader.
func.func @read_after_update(%w: tensor<4xf32> {pz.param = "w"}) -> (tensor<4xf32> {pz.param = "w"}, tensor<4xf32> {pz.output = "old"}) {
  // expected-error @+1 {{convert-pz-to-pzrt: result 0 overwrites argument 0 in place, but the argument is read afterwards}}
  %n = pz.neg %w : tensor<4xf32>
  %e = pz.exp %w : tensor<4xf32>
  return %n, %e : tensor<4xf32>, tensor<4xf32>
}

// -----

// Only element maps and the optimizer updates may read and overwrite one
// buffer in the same kernel.
func.func @in_place_transpose(%w: tensor<4x4xf32> {pz.param = "w"}) -> (tensor<4x4xf32> {pz.param = "w"}) {
  // expected-error @+1 {{convert-pz-to-pzrt: result 0 overwrites argument 0 in place, but the op that computes it also reads it}}
  %t = pz.transpose %w [1, 0] : tensor<4x4xf32> -> tensor<4x4xf32>
  return %t : tensor<4x4xf32>
}
