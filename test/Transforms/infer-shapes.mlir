// RUN: parallelize-opt %s -pz-infer-shapes | parallelize-opt | FileCheck %s

// pz-infer-shapes replaces each pz op's result types by the inferred ones
// where inference knows more (a static dim where the IR has `?`), walking
// the ops in order, and makes the function results follow the returned
// values.

// CHECK-LABEL: func.func @chain(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x16x64xf32>, [[W:%[^:]+]]: tensor<256x64xf32>, [[B:%[^:]+]]: tensor<256xf32>) -> tensor<2x16x256xf32>
// CHECK-NEXT: [[MATMUL:%.*]] = pz.matmul [[X]], [[W]] {transpose_rhs} : tensor<2x16x64xf32>, tensor<256x64xf32> -> tensor<2x16x256xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[MATMUL]], [[B]] : tensor<2x16x256xf32>, tensor<256xf32> -> tensor<2x16x256xf32>
// CHECK-NEXT: [[RELU:%.*]] = pz.relu [[ADD]] : tensor<2x16x256xf32>
// CHECK-NEXT: [[SOFTMAX:%.*]] = pz.softmax [[RELU]] {axis = 2 : i64} : tensor<2x16x256xf32>
// CHECK-NEXT: return [[SOFTMAX]] : tensor<2x16x256xf32>
func.func @chain(%x: tensor<2x16x64xf32>, %w: tensor<256x64xf32>, %b: tensor<256xf32>) -> tensor<?x?x?xf32> {
  %0 = pz.matmul %x, %w {transpose_rhs} : tensor<2x16x64xf32>, tensor<256x64xf32> -> tensor<?x?x?xf32>
  %1 = pz.add %0, %b : tensor<?x?x?xf32>, tensor<256xf32> -> tensor<?x?x?xf32>
  %2 = pz.relu %1 : tensor<?x?x?xf32>
  %3 = pz.softmax %2 {axis = 2 : i64} : tensor<?x?x?xf32>
  return %3 : tensor<?x?x?xf32>
}

// CHECK-LABEL: func.func @shape_ops(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4x6xf32>, [[I:%[^:]+]]: tensor<3xi64>) -> (tensor<3x8xf32>, tensor<3x3xf32>, tensor<6x3xf32>, tensor<3x6xf32>, tensor<1x3xf32>, tensor<5x3xf32>)
// CHECK-NEXT: [[RESHAPE:%.*]] = pz.reshape [[X]] [-1, 3] : tensor<4x6xf32> -> tensor<8x3xf32>
// CHECK-NEXT: [[TRANSPOSE:%.*]] = pz.transpose [[RESHAPE]] [1, 0] : tensor<8x3xf32> -> tensor<3x8xf32>
// CHECK-NEXT: [[SLICE:%.*]] = pz.slice [[TRANSPOSE]] starts [0, 2] ends [3, 8] steps [1, 2] : tensor<3x8xf32> -> tensor<3x3xf32>
// CHECK-NEXT: [[CONCAT:%.*]] = pz.concat [[SLICE]], [[SLICE]] {axis = 0 : i64} : (tensor<3x3xf32>, tensor<3x3xf32>) -> tensor<6x3xf32>
// CHECK-NEXT: [[GATHER:%.*]] = pz.gather [[X]], [[I]] {axis = 0 : i64} : tensor<4x6xf32>, tensor<3xi64> -> tensor<3x6xf32>
// CHECK-NEXT: [[REDUCE_SUM:%.*]] = pz.reduce_sum [[CONCAT]] [0] {keepdims} : tensor<6x3xf32> -> tensor<1x3xf32>
// CHECK-NEXT: [[BROADCAST:%.*]] = pz.broadcast [[REDUCE_SUM]] [5, 3] : tensor<1x3xf32> -> tensor<5x3xf32>
// CHECK-NEXT: return [[TRANSPOSE]], [[SLICE]], [[CONCAT]], [[GATHER]], [[REDUCE_SUM]], [[BROADCAST]] : tensor<3x8xf32>, tensor<3x3xf32>, tensor<6x3xf32>, tensor<3x6xf32>, tensor<1x3xf32>, tensor<5x3xf32>
func.func @shape_ops(%x: tensor<4x6xf32>, %i: tensor<3xi64>) -> (tensor<3x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>) {
  %0 = pz.reshape %x [-1, 3] : tensor<4x6xf32> -> tensor<?x3xf32>
  %1 = pz.transpose %0 [1, 0] : tensor<?x3xf32> -> tensor<3x?xf32>
  %2 = pz.slice %1 starts [0, 2] ends [3, 8] steps [1, 2] : tensor<3x?xf32> -> tensor<?x?xf32>
  %3 = pz.concat %2, %2 {axis = 0 : i64} : (tensor<?x?xf32>, tensor<?x?xf32>) -> tensor<?x?xf32>
  %4 = pz.gather %x, %i {axis = 0 : i64} : tensor<4x6xf32>, tensor<3xi64> -> tensor<?x?xf32>
  %5 = pz.reduce_sum %3 [0] {keepdims} : tensor<?x?xf32> -> tensor<?x?xf32>
  %6 = pz.broadcast %5 [5, 3] : tensor<?x?xf32> -> tensor<?x?xf32>
  return %1, %2, %3, %4, %5, %6 : tensor<3x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>, tensor<?x?xf32>
}

// CHECK-LABEL: func.func @nn_ops(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<2x8x16x32xbf16>, [[KV:%[^:]+]]: tensor<2x2x16x32xbf16>, [[M:%[^:]+]]: tensor<16x16xi1>, [[LOGITS:%[^:]+]]: tensor<32x100xf32>, [[LABELS:%[^:]+]]: tensor<32xi32>) -> (tensor<2x8x16x32xbf16>, tensor<32xf32>, tensor<f32>)
// CHECK-NEXT: [[ATTENTION:%.*]] = pz.attention [[Q]], [[KV]], [[KV]] mask([[M]] : tensor<16x16xi1>) : tensor<2x8x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16> -> tensor<2x8x16x32xbf16>
// CHECK-NEXT: [[CROSS_ENTROPY:%.*]] = pz.cross_entropy [[LOGITS]], [[LABELS]] none : tensor<32x100xf32>, tensor<32xi32> -> tensor<32xf32>
// CHECK-NEXT: [[CROSS_ENTROPY_0:%.*]] = pz.cross_entropy [[LOGITS]], [[LABELS]] sum : tensor<32x100xf32>, tensor<32xi32> -> tensor<f32>
// CHECK-NEXT: return [[ATTENTION]], [[CROSS_ENTROPY]], [[CROSS_ENTROPY_0]] : tensor<2x8x16x32xbf16>, tensor<32xf32>, tensor<f32>
func.func @nn_ops(%q: tensor<2x8x16x32xbf16>, %kv: tensor<2x2x16x32xbf16>, %m: tensor<16x16xi1>, %logits: tensor<32x100xf32>, %labels: tensor<32xi32>) -> (tensor<?x?x?x?xbf16>, tensor<?xf32>, tensor<f32>) {
  %0 = pz.attention %q, %kv, %kv mask(%m : tensor<16x16xi1>) : tensor<2x8x16x32xbf16>, tensor<2x2x16x32xbf16>, tensor<2x2x16x32xbf16> -> tensor<?x?x?x?xbf16>
  %1 = pz.cross_entropy %logits, %labels none : tensor<32x100xf32>, tensor<32xi32> -> tensor<?xf32>
  %2 = pz.cross_entropy %logits, %labels sum : tensor<32x100xf32>, tensor<32xi32> -> tensor<f32>
  return %0, %1, %2 : tensor<?x?x?x?xbf16>, tensor<?xf32>, tensor<f32>
}

// The IR and the inference each know one dim: the result takes both.
// CHECK-LABEL: func.func @join(
// CHECK-SAME: [[A:%[^:]+]]: tensor<?x4xf32>, [[B:%[^:]+]]: tensor<4xf32>) -> tensor<2x4xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[A]], [[B]] : tensor<?x4xf32>, tensor<4xf32> -> tensor<2x4xf32>
// CHECK-NEXT: return [[ADD]] : tensor<2x4xf32>
func.func @join(%a: tensor<?x4xf32>, %b: tensor<4xf32>) -> tensor<2x?xf32> {
  %0 = pz.add %a, %b : tensor<?x4xf32>, tensor<4xf32> -> tensor<2x?xf32>
  return %0 : tensor<2x?xf32>
}

// Nothing more is known: the IR stays as it is.
// CHECK-LABEL: func.func @nothing_to_learn(
// CHECK-SAME: [[A:%[^:]+]]: tensor<?x4xf32>, [[W:%[^:]+]]: tensor<4x?xf32>) -> tensor<?x?xf32>
// CHECK-NEXT: [[MATMUL:%.*]] = pz.matmul [[A]], [[W]] : tensor<?x4xf32>, tensor<4x?xf32> -> tensor<?x?xf32>
// CHECK-NEXT: [[EXP:%.*]] = pz.exp [[MATMUL]] : tensor<?x?xf32>
// CHECK-NEXT: return [[EXP]] : tensor<?x?xf32>
func.func @nothing_to_learn(%a: tensor<?x4xf32>, %w: tensor<4x?xf32>) -> tensor<?x?xf32> {
  %0 = pz.matmul %a, %w : tensor<?x4xf32>, tensor<4x?xf32> -> tensor<?x?xf32>
  %1 = pz.exp %0 : tensor<?x?xf32>
  return %1 : tensor<?x?xf32>
}

// A static dim in the IR is kept even where inference says `?`.
// CHECK-LABEL: func.func @keeps_static(
// CHECK-SAME: [[A:%[^:]+]]: tensor<?x4xf32>) -> tensor<3x4xf32>
// CHECK-NEXT: [[NEG:%.*]] = pz.neg [[A]] : tensor<?x4xf32>
// CHECK-NEXT: [[RESHAPE:%.*]] = pz.reshape [[NEG]] [-1, 4] : tensor<?x4xf32> -> tensor<3x4xf32>
// CHECK-NEXT: return [[RESHAPE]] : tensor<3x4xf32>
func.func @keeps_static(%a: tensor<?x4xf32>) -> tensor<3x4xf32> {
  %0 = pz.neg %a : tensor<?x4xf32>
  %1 = pz.reshape %0 [-1, 4] : tensor<?x4xf32> -> tensor<3x4xf32>
  return %1 : tensor<3x4xf32>
}

// Results of several-result ops are refined one by one; the argument and
// result attributes stay.
// CHECK-LABEL: func.func @optimizer(
// CHECK-SAME: [[P:%[^:]+]]: tensor<64xf32> {pz.param = "w"}, [[LR:%[^:]+]]: tensor<f32>, [[T:%[^:]+]]: tensor<i64>) -> (tensor<64xf32> {pz.output = "new_w"}, tensor<64xf32>)
// CHECK-NEXT: [[RESHAPE:%.*]] = pz.reshape [[P]] [-1] : tensor<64xf32> -> tensor<64xf32>
// CHECK-NEXT: [[ADAMW_UPDATE_0:%[^,]+]], [[ADAMW_UPDATE_1:%[^,]+]], [[ADAMW_UPDATE_2:%[^ ]+]] = pz.adamw_update [[RESHAPE]], [[RESHAPE]], [[RESHAPE]], [[RESHAPE]], [[LR]], [[T]] {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, weight_decay = 0.000000e+00 : f64} : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<f32>, tensor<i64>
// CHECK-NEXT: return [[P]], [[ADAMW_UPDATE_2]] : tensor<64xf32>, tensor<64xf32>
func.func @optimizer(%p: tensor<64xf32> {pz.param = "w"}, %lr: tensor<f32>, %t: tensor<i64>) -> (tensor<64xf32> {pz.output = "new_w"}, tensor<?xf32>) {
  %s = pz.reshape %p [-1] : tensor<64xf32> -> tensor<?xf32>
  %0:3 = pz.adamw_update %s, %s, %s, %s, %lr, %t {beta1 = 9.0e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<?xf32>, tensor<f32>, tensor<i64>
  return %p, %0#2 : tensor<64xf32>, tensor<?xf32>
}

// Calls take the refined result types of their callees.
// CHECK-LABEL: func.func @callee(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[X]], [[X]] : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return [[ADD]] : tensor<2x3xf32>
func.func @callee(%x: tensor<2x3xf32>) -> tensor<?x3xf32> {
  %0 = pz.add %x, %x : tensor<2x3xf32>, tensor<2x3xf32> -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// CHECK-LABEL: func.func @caller(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: [[V0:%.*]] = call @callee([[X]]) : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: [[NEG:%.*]] = pz.neg [[V0]] : tensor<2x3xf32>
// CHECK-NEXT: return [[NEG]] : tensor<2x3xf32>
func.func @caller(%x: tensor<2x3xf32>) -> tensor<?x3xf32> {
  %0 = func.call @callee(%x) : (tensor<2x3xf32>) -> tensor<?x3xf32>
  %1 = pz.neg %0 : tensor<?x3xf32>
  return %1 : tensor<?x3xf32>
}

// Callers before their callees: the shape reaches @outer after a few sweeps.
// CHECK-LABEL: func.func @outer(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT: [[V0:%.*]] = call @middle([[X]]) : (tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT: return [[V0]] : tensor<2xf32>
func.func @outer(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @middle(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @middle(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT: [[V0:%.*]] = call @inner([[X]]) : (tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT: return [[V0]] : tensor<2xf32>
func.func @middle(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = func.call @inner(%x) : (tensor<2xf32>) -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// CHECK-LABEL: func.func @inner(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2xf32>) -> tensor<2xf32>
// CHECK-NEXT: [[RESHAPE:%.*]] = pz.reshape [[X]] [-1] : tensor<2xf32> -> tensor<2xf32>
// CHECK-NEXT: return [[RESHAPE]] : tensor<2xf32>
func.func @inner(%x: tensor<2xf32>) -> tensor<?xf32> {
  %0 = pz.reshape %x [-1] : tensor<2xf32> -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// An update whose parameter becomes static while the gradient stays `?`.
// CHECK-LABEL: func.func @optimizer_step(
// CHECK-SAME: [[X:%[^:]+]]: tensor<8x64xf32>, [[G:%[^:]+]]: tensor<?x64xf32>, [[LR:%[^:]+]]: tensor<f32>) -> tensor<8x64xf32>
// CHECK-NEXT: [[RESHAPE:%.*]] = pz.reshape [[X]] [-1, 64] : tensor<8x64xf32> -> tensor<8x64xf32>
// CHECK-NEXT: [[SGD_UPDATE_0:%[^,]+]], [[SGD_UPDATE_1:%[^ ]+]] = pz.sgd_update [[RESHAPE]], [[G]], [[G]], [[LR]] {momentum = 0.000000e+00 : f64, weight_decay = 0.000000e+00 : f64} : tensor<8x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<f32>
// CHECK-NEXT: return [[SGD_UPDATE_0]] : tensor<8x64xf32>
func.func @optimizer_step(%x: tensor<8x64xf32>, %g: tensor<?x64xf32>, %lr: tensor<f32>) -> tensor<?x64xf32> {
  %p = pz.reshape %x [-1, 64] : tensor<8x64xf32> -> tensor<?x64xf32>
  %0:2 = pz.sgd_update %p, %g, %g, %lr {momentum = 0.0 : f64, weight_decay = 0.0 : f64} : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<f32>
  return %0#0 : tensor<?x64xf32>
}

// A slice end near INT64_MAX on a dynamic dim does not overflow the size.
// CHECK-LABEL: func.func @slice_huge_end(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?xf32>) -> tensor<4611686018427387904xf32>
// CHECK-NEXT: [[SLICE:%.*]] = pz.slice [[X]] starts [0] ends [9223372036854775807] steps [2] : tensor<?xf32> -> tensor<4611686018427387904xf32>
// CHECK-NEXT: return [[SLICE]] : tensor<4611686018427387904xf32>
func.func @slice_huge_end(%x: tensor<?xf32>) -> tensor<?xf32> {
  %0 = pz.slice %x starts [0] ends [9223372036854775807] steps [2] : tensor<?xf32> -> tensor<?xf32>
  return %0 : tensor<?xf32>
}

// A negative step on a dynamic dim: start 5, end -1, step -2 takes 5, 3
// and 1 whatever the size (which must exceed 5 at run time).
// CHECK-LABEL: func.func @slice_negative_step_dynamic(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x4xf32>) -> tensor<3x2xf32>
// CHECK-NEXT: [[SLICE:%.*]] = pz.slice [[X]] starts [5, 3] ends [-1, 0] steps [-2, -2] : tensor<?x4xf32> -> tensor<3x2xf32>
// CHECK-NEXT: return [[SLICE]] : tensor<3x2xf32>
func.func @slice_negative_step_dynamic(%x: tensor<?x4xf32>) -> tensor<?x?xf32> {
  %0 = pz.slice %x starts [5, 3] ends [-1, 0] steps [-2, -2] : tensor<?x4xf32> -> tensor<?x?xf32>
  return %0 : tensor<?x?xf32>
}

// Declarations have no body to walk.
// CHECK-LABEL: func.func private @declaration(
// CHECK-SAME: tensor<2xf32>) -> tensor<?xf32>
func.func private @declaration(tensor<2xf32>) -> tensor<?xf32>
