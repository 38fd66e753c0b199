// RUN: parallelize-opt %s | parallelize-opt | FileCheck %s
// RUN: parallelize-opt %s -mlir-print-op-generic | parallelize-opt | FileCheck %s

// Round trip of every op of the pz dialect, in each of its forms, and of the
// pz.param / pz.input / pz.output / pz.plan attributes.

//===----------------------------------------------------------------------===//
// Binary elementwise ops
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @add_broadcast(
// CHECK-SAME: [[A:%[^:]+]]: tensor<2x3xf32>, [[B:%[^:]+]]: tensor<3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[A]], [[B]] : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
// CHECK-NEXT: return [[ADD]] : tensor<2x3xf32>
func.func @add_broadcast(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  %0 = pz.add %a, %b : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @max_min_narrow_ints(
// CHECK-SAME: [[A:%[^:]+]]: tensor<2x3xi8>, [[B:%[^:]+]]: tensor<3xi8>, [[C:%[^:]+]]: tensor<4xi16>) -> (tensor<2x3xi8>, tensor<4xi16>)
// CHECK-NEXT: [[MAX:%.*]] = pz.max [[A]], [[B]] : tensor<2x3xi8>, tensor<3xi8> -> tensor<2x3xi8>
// CHECK-NEXT: [[MIN:%.*]] = pz.min [[MAX]], [[B]] : tensor<2x3xi8>, tensor<3xi8> -> tensor<2x3xi8>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[C]], [[C]] : tensor<4xi16>, tensor<4xi16> -> tensor<4xi16>
// CHECK-NEXT: return [[MIN]], [[ADD]] : tensor<2x3xi8>, tensor<4xi16>
func.func @max_min_narrow_ints(%a: tensor<2x3xi8>, %b: tensor<3xi8>, %c: tensor<4xi16>) -> (tensor<2x3xi8>, tensor<4xi16>) {
  %0 = pz.max %a, %b : tensor<2x3xi8>, tensor<3xi8> -> tensor<2x3xi8>
  %1 = pz.min %0, %b : tensor<2x3xi8>, tensor<3xi8> -> tensor<2x3xi8>
  %2 = pz.add %c, %c : tensor<4xi16>, tensor<4xi16> -> tensor<4xi16>
  return %1, %2 : tensor<2x3xi8>, tensor<4xi16>
}

// CHECK-LABEL: func.func @add_stretch_ones(
// CHECK-SAME: [[A:%[^:]+]]: tensor<4x1xf32>, [[B:%[^:]+]]: tensor<1x5xf32>) -> tensor<4x5xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[A]], [[B]] : tensor<4x1xf32>, tensor<1x5xf32> -> tensor<4x5xf32>
// CHECK-NEXT: return [[ADD]] : tensor<4x5xf32>
func.func @add_stretch_ones(%a: tensor<4x1xf32>, %b: tensor<1x5xf32>) -> tensor<4x5xf32> {
  %0 = pz.add %a, %b : tensor<4x1xf32>, tensor<1x5xf32> -> tensor<4x5xf32>
  return %0 : tensor<4x5xf32>
}

// CHECK-LABEL: func.func @add_scalar(
// CHECK-SAME: [[A:%[^:]+]]: tensor<2x3xf32>, [[B:%[^:]+]]: tensor<f32>) -> tensor<2x3xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[A]], [[B]] : tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
// CHECK-NEXT: return [[ADD]] : tensor<2x3xf32>
func.func @add_scalar(%a: tensor<2x3xf32>, %b: tensor<f32>) -> tensor<2x3xf32> {
  %0 = pz.add %a, %b : tensor<2x3xf32>, tensor<f32> -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @binary_f16(
// CHECK-SAME: [[A:%[^:]+]]: tensor<4xf16>, [[B:%[^:]+]]: tensor<4xf16>) -> tensor<4xf16>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[A]], [[B]] : tensor<4xf16>, tensor<4xf16> -> tensor<4xf16>
// CHECK-NEXT: [[SUB:%.*]] = pz.sub [[ADD]], [[B]] : tensor<4xf16>, tensor<4xf16> -> tensor<4xf16>
// CHECK-NEXT: [[MUL:%.*]] = pz.mul [[SUB]], [[A]] : tensor<4xf16>, tensor<4xf16> -> tensor<4xf16>
// CHECK-NEXT: [[DIV:%.*]] = pz.div [[MUL]], [[A]] : tensor<4xf16>, tensor<4xf16> -> tensor<4xf16>
// CHECK-NEXT: [[POW:%.*]] = pz.pow [[DIV]], [[A]] : tensor<4xf16>, tensor<4xf16> -> tensor<4xf16>
// CHECK-NEXT: return [[POW]] : tensor<4xf16>
func.func @binary_f16(%a: tensor<4xf16>, %b: tensor<4xf16>) -> tensor<4xf16> {
  %0 = pz.add %a, %b : tensor<4xf16>, tensor<4xf16> -> tensor<4xf16>
  %1 = pz.sub %0, %b : tensor<4xf16>, tensor<4xf16> -> tensor<4xf16>
  %2 = pz.mul %1, %a : tensor<4xf16>, tensor<4xf16> -> tensor<4xf16>
  %3 = pz.div %2, %a : tensor<4xf16>, tensor<4xf16> -> tensor<4xf16>
  %4 = pz.pow %3, %a : tensor<4xf16>, tensor<4xf16> -> tensor<4xf16>
  return %4 : tensor<4xf16>
}

// CHECK-LABEL: func.func @binary_bf16(
// CHECK-SAME: [[A:%[^:]+]]: tensor<4xbf16>, [[B:%[^:]+]]: tensor<1xbf16>) -> tensor<4xbf16>
// CHECK-NEXT: [[SUB:%.*]] = pz.sub [[A]], [[B]] : tensor<4xbf16>, tensor<1xbf16> -> tensor<4xbf16>
// CHECK-NEXT: [[POW:%.*]] = pz.pow [[SUB]], [[B]] : tensor<4xbf16>, tensor<1xbf16> -> tensor<4xbf16>
// CHECK-NEXT: return [[POW]] : tensor<4xbf16>
func.func @binary_bf16(%a: tensor<4xbf16>, %b: tensor<1xbf16>) -> tensor<4xbf16> {
  %0 = pz.sub %a, %b : tensor<4xbf16>, tensor<1xbf16> -> tensor<4xbf16>
  %1 = pz.pow %0, %b : tensor<4xbf16>, tensor<1xbf16> -> tensor<4xbf16>
  return %1 : tensor<4xbf16>
}

// CHECK-LABEL: func.func @binary_f64(
// CHECK-SAME: [[A:%[^:]+]]: tensor<2x2xf64>, [[B:%[^:]+]]: tensor<2x2xf64>) -> tensor<2x2xf64>
// CHECK-NEXT: [[MUL:%.*]] = pz.mul [[A]], [[B]] : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
// CHECK-NEXT: [[DIV:%.*]] = pz.div [[MUL]], [[B]] : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
// CHECK-NEXT: [[POW:%.*]] = pz.pow [[DIV]], [[B]] : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
// CHECK-NEXT: return [[POW]] : tensor<2x2xf64>
func.func @binary_f64(%a: tensor<2x2xf64>, %b: tensor<2x2xf64>) -> tensor<2x2xf64> {
  %0 = pz.mul %a, %b : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
  %1 = pz.div %0, %b : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
  %2 = pz.pow %1, %b : tensor<2x2xf64>, tensor<2x2xf64> -> tensor<2x2xf64>
  return %2 : tensor<2x2xf64>
}

// CHECK-LABEL: func.func @binary_i32(
// CHECK-SAME: [[A:%[^:]+]]: tensor<3xi32>, [[B:%[^:]+]]: tensor<i32>) -> tensor<3xi32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[A]], [[B]] : tensor<3xi32>, tensor<i32> -> tensor<3xi32>
// CHECK-NEXT: [[SUB:%.*]] = pz.sub [[ADD]], [[B]] : tensor<3xi32>, tensor<i32> -> tensor<3xi32>
// CHECK-NEXT: [[MUL:%.*]] = pz.mul [[SUB]], [[B]] : tensor<3xi32>, tensor<i32> -> tensor<3xi32>
// CHECK-NEXT: [[DIV:%.*]] = pz.div [[MUL]], [[B]] : tensor<3xi32>, tensor<i32> -> tensor<3xi32>
// CHECK-NEXT: return [[DIV]] : tensor<3xi32>
func.func @binary_i32(%a: tensor<3xi32>, %b: tensor<i32>) -> tensor<3xi32> {
  %0 = pz.add %a, %b : tensor<3xi32>, tensor<i32> -> tensor<3xi32>
  %1 = pz.sub %0, %b : tensor<3xi32>, tensor<i32> -> tensor<3xi32>
  %2 = pz.mul %1, %b : tensor<3xi32>, tensor<i32> -> tensor<3xi32>
  %3 = pz.div %2, %b : tensor<3xi32>, tensor<i32> -> tensor<3xi32>
  return %3 : tensor<3xi32>
}

// CHECK-LABEL: func.func @binary_i64(
// CHECK-SAME: [[A:%[^:]+]]: tensor<2x3xi64>, [[B:%[^:]+]]: tensor<2x1xi64>) -> tensor<2x3xi64>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[A]], [[B]] : tensor<2x3xi64>, tensor<2x1xi64> -> tensor<2x3xi64>
// CHECK-NEXT: [[MUL:%.*]] = pz.mul [[ADD]], [[B]] : tensor<2x3xi64>, tensor<2x1xi64> -> tensor<2x3xi64>
// CHECK-NEXT: return [[MUL]] : tensor<2x3xi64>
func.func @binary_i64(%a: tensor<2x3xi64>, %b: tensor<2x1xi64>) -> tensor<2x3xi64> {
  %0 = pz.add %a, %b : tensor<2x3xi64>, tensor<2x1xi64> -> tensor<2x3xi64>
  %1 = pz.mul %0, %b : tensor<2x3xi64>, tensor<2x1xi64> -> tensor<2x3xi64>
  return %1 : tensor<2x3xi64>
}

// Unsigned tensors (ONNX's uint8..uint64): arithmetic, negation, sums,
// comparisons, constants and casts.
// CHECK-LABEL: func.func @unsigned(
// CHECK-SAME: [[A:%[^:]+]]: tensor<4xui8>, [[B:%[^:]+]]: tensor<1xui8>, [[C:%[^:]+]]: tensor<2xui16>, [[D:%[^:]+]]: tensor<2xui32>, [[E:%[^:]+]]: tensor<2xui64>)
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[A]], [[B]] : tensor<4xui8>, tensor<1xui8> -> tensor<4xui8>
// CHECK-NEXT: [[SUB:%.*]] = pz.sub [[ADD]], [[B]] : tensor<4xui8>, tensor<1xui8> -> tensor<4xui8>
// CHECK-NEXT: [[MUL:%.*]] = pz.mul [[SUB]], [[A]] : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8>
// CHECK-NEXT: [[DIV:%.*]] = pz.div [[MUL]], [[B]] : tensor<4xui8>, tensor<1xui8> -> tensor<4xui8>
// CHECK-NEXT: [[NEG:%.*]] = pz.neg [[DIV]] : tensor<4xui8>
// CHECK-NEXT: [[SUM:%.*]] = pz.reduce_sum [[NEG]] [0] : tensor<4xui8> -> tensor<ui8>
// CHECK-NEXT: [[MAX:%.*]] = pz.reduce_max [[C]] [0] : tensor<2xui16> -> tensor<ui16>
// CHECK-NEXT: [[LT:%.*]] = pz.compare lt, [[D]], [[D]] : tensor<2xui32>, tensor<2xui32> -> tensor<2xi1>
// CHECK-NEXT: [[K:%.*]] = pz.constant dense<[0, 18446744073709551615]> : tensor<2xui64>
// CHECK-NEXT: [[E2:%.*]] = pz.mul [[E]], [[K]] : tensor<2xui64>, tensor<2xui64> -> tensor<2xui64>
// CHECK-NEXT: [[W:%.*]] = pz.where [[LT]], [[E2]], [[E]] : tensor<2xi1>, tensor<2xui64>, tensor<2xui64> -> tensor<2xui64>
// CHECK-NEXT: [[F:%.*]] = pz.cast [[W]] : tensor<2xui64> to f32
// CHECK-NEXT: [[U:%.*]] = pz.cast [[F]] : tensor<2xf32> to ui32
// CHECK-NEXT: return [[SUM]], [[MAX]], [[U]] : tensor<ui8>, tensor<ui16>, tensor<2xui32>
func.func @unsigned(%a: tensor<4xui8>, %b: tensor<1xui8>, %c: tensor<2xui16>, %d: tensor<2xui32>,
                    %e: tensor<2xui64>) -> (tensor<ui8>, tensor<ui16>, tensor<2xui32>) {
  %0 = pz.add %a, %b : tensor<4xui8>, tensor<1xui8> -> tensor<4xui8>
  %1 = pz.sub %0, %b : tensor<4xui8>, tensor<1xui8> -> tensor<4xui8>
  %2 = pz.mul %1, %a : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8>
  %3 = pz.div %2, %b : tensor<4xui8>, tensor<1xui8> -> tensor<4xui8>
  %4 = pz.neg %3 : tensor<4xui8>
  %5 = pz.reduce_sum %4 [0] : tensor<4xui8> -> tensor<ui8>
  %6 = pz.reduce_max %c [0] : tensor<2xui16> -> tensor<ui16>
  %7 = pz.compare lt, %d, %d : tensor<2xui32>, tensor<2xui32> -> tensor<2xi1>
  %k = pz.constant dense<[0, 18446744073709551615]> : tensor<2xui64>
  %8 = pz.mul %e, %k : tensor<2xui64>, tensor<2xui64> -> tensor<2xui64>
  %9 = pz.where %7, %8, %e : tensor<2xi1>, tensor<2xui64>, tensor<2xui64> -> tensor<2xui64>
  %10 = pz.cast %9 : tensor<2xui64> to f32
  %11 = pz.cast %10 : tensor<2xf32> to ui32
  return %5, %6, %11 : tensor<ui8>, tensor<ui16>, tensor<2xui32>
}

// CHECK-LABEL: func.func @binary_dynamic(
// CHECK-SAME: [[A:%[^:]+]]: tensor<?x3xf32>, [[B:%[^:]+]]: tensor<3xf32>, [[C:%[^:]+]]: tensor<?x?xf32>) -> tensor<?x3xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[A]], [[B]] : tensor<?x3xf32>, tensor<3xf32> -> tensor<?x3xf32>
// CHECK-NEXT: [[MUL:%.*]] = pz.mul [[ADD]], [[C]] : tensor<?x3xf32>, tensor<?x?xf32> -> tensor<?x3xf32>
// CHECK-NEXT: return [[MUL]] : tensor<?x3xf32>
func.func @binary_dynamic(%a: tensor<?x3xf32>, %b: tensor<3xf32>, %c: tensor<?x?xf32>) -> tensor<?x3xf32> {
  %0 = pz.add %a, %b : tensor<?x3xf32>, tensor<3xf32> -> tensor<?x3xf32>
  %1 = pz.mul %0, %c : tensor<?x3xf32>, tensor<?x?xf32> -> tensor<?x3xf32>
  return %1 : tensor<?x3xf32>
}

// A printed static dim where the inference says `?` refines it.
// CHECK-LABEL: func.func @refine_dynamic(
// CHECK-SAME: [[A:%[^:]+]]: tensor<?x3xf32>, [[B:%[^:]+]]: tensor<3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[A]], [[B]] : tensor<?x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
// CHECK-NEXT: return [[ADD]] : tensor<4x3xf32>
func.func @refine_dynamic(%a: tensor<?x3xf32>, %b: tensor<3xf32>) -> tensor<4x3xf32> {
  %0 = pz.add %a, %b : tensor<?x3xf32>, tensor<3xf32> -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// CHECK-LABEL: func.func @refine_reshape(
// CHECK-SAME: [[A:%[^:]+]]: tensor<?x8xf32>) -> tensor<6x4xf32>
// CHECK-NEXT: [[RESHAPE:%.*]] = pz.reshape [[A]] [-1, 4] : tensor<?x8xf32> -> tensor<6x4xf32>
// CHECK-NEXT: return [[RESHAPE]] : tensor<6x4xf32>
func.func @refine_reshape(%a: tensor<?x8xf32>) -> tensor<6x4xf32> {
  %0 = pz.reshape %a [-1, 4] : tensor<?x8xf32> -> tensor<6x4xf32>
  return %0 : tensor<6x4xf32>
}

// CHECK-LABEL: func.func @refine_matmul(
// CHECK-SAME: [[A:%[^:]+]]: tensor<?x8xf32>, [[B:%[^:]+]]: tensor<8x?xf32>) -> tensor<2x5xf32>
// CHECK-NEXT: [[MATMUL:%.*]] = pz.matmul [[A]], [[B]] : tensor<?x8xf32>, tensor<8x?xf32> -> tensor<2x5xf32>
// CHECK-NEXT: return [[MATMUL]] : tensor<2x5xf32>
func.func @refine_matmul(%a: tensor<?x8xf32>, %b: tensor<8x?xf32>) -> tensor<2x5xf32> {
  %0 = pz.matmul %a, %b : tensor<?x8xf32>, tensor<8x?xf32> -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

//===----------------------------------------------------------------------===//
// Unary elementwise ops
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @unary_f32(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4x8xf32>) -> tensor<4x8xf32>
// CHECK-NEXT: [[NEG:%.*]] = pz.neg [[X]] : tensor<4x8xf32>
// CHECK-NEXT: [[EXP:%.*]] = pz.exp [[NEG]] : tensor<4x8xf32>
// CHECK-NEXT: [[LOG:%.*]] = pz.log [[EXP]] : tensor<4x8xf32>
// CHECK-NEXT: [[SQRT:%.*]] = pz.sqrt [[LOG]] : tensor<4x8xf32>
// CHECK-NEXT: [[RSQRT:%.*]] = pz.rsqrt [[SQRT]] : tensor<4x8xf32>
// CHECK-NEXT: [[TANH:%.*]] = pz.tanh [[RSQRT]] : tensor<4x8xf32>
// CHECK-NEXT: [[ERF:%.*]] = pz.erf [[TANH]] : tensor<4x8xf32>
// CHECK-NEXT: [[RELU:%.*]] = pz.relu [[ERF]] : tensor<4x8xf32>
// CHECK-NEXT: [[SIGMOID:%.*]] = pz.sigmoid [[RELU]] : tensor<4x8xf32>
// CHECK-NEXT: [[SILU:%.*]] = pz.silu [[SIGMOID]] : tensor<4x8xf32>
// CHECK-NEXT: return [[SILU]] : tensor<4x8xf32>
func.func @unary_f32(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = pz.neg %x : tensor<4x8xf32>
  %1 = pz.exp %0 : tensor<4x8xf32>
  %2 = pz.log %1 : tensor<4x8xf32>
  %3 = pz.sqrt %2 : tensor<4x8xf32>
  %4 = pz.rsqrt %3 : tensor<4x8xf32>
  %5 = pz.tanh %4 : tensor<4x8xf32>
  %6 = pz.erf %5 : tensor<4x8xf32>
  %7 = pz.relu %6 : tensor<4x8xf32>
  %8 = pz.sigmoid %7 : tensor<4x8xf32>
  %9 = pz.silu %8 : tensor<4x8xf32>
  return %9 : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @unary_other_floats(
// CHECK-SAME: [[A:%[^:]+]]: tensor<2xf16>, [[B:%[^:]+]]: tensor<?xbf16>, [[C:%[^:]+]]: tensor<f64>) -> (tensor<2xf16>, tensor<?xbf16>, tensor<f64>)
// CHECK-NEXT: [[EXP:%.*]] = pz.exp [[A]] : tensor<2xf16>
// CHECK-NEXT: [[SIGMOID:%.*]] = pz.sigmoid [[B]] : tensor<?xbf16>
// CHECK-NEXT: [[RSQRT:%.*]] = pz.rsqrt [[C]] : tensor<f64>
// CHECK-NEXT: return [[EXP]], [[SIGMOID]], [[RSQRT]] : tensor<2xf16>, tensor<?xbf16>, tensor<f64>
func.func @unary_other_floats(%a: tensor<2xf16>, %b: tensor<?xbf16>, %c: tensor<f64>) -> (tensor<2xf16>, tensor<?xbf16>, tensor<f64>) {
  %0 = pz.exp %a : tensor<2xf16>
  %1 = pz.sigmoid %b : tensor<?xbf16>
  %2 = pz.rsqrt %c : tensor<f64>
  return %0, %1, %2 : tensor<2xf16>, tensor<?xbf16>, tensor<f64>
}

// CHECK-LABEL: func.func @neg_int(
// CHECK-SAME: [[A:%[^:]+]]: tensor<3xi32>, [[B:%[^:]+]]: tensor<3xi64>) -> (tensor<3xi32>, tensor<3xi64>)
// CHECK-NEXT: [[NEG:%.*]] = pz.neg [[A]] : tensor<3xi32>
// CHECK-NEXT: [[NEG_0:%.*]] = pz.neg [[B]] : tensor<3xi64>
// CHECK-NEXT: return [[NEG]], [[NEG_0]] : tensor<3xi32>, tensor<3xi64>
func.func @neg_int(%a: tensor<3xi32>, %b: tensor<3xi64>) -> (tensor<3xi32>, tensor<3xi64>) {
  %0 = pz.neg %a : tensor<3xi32>
  %1 = pz.neg %b : tensor<3xi64>
  return %0, %1 : tensor<3xi32>, tensor<3xi64>
}

// CHECK-LABEL: func.func @gelu(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4x8xf32>, [[Y:%[^:]+]]: tensor<?x8xbf16>) -> (tensor<4x8xf32>, tensor<?x8xbf16>)
// CHECK-NEXT: [[GELU:%.*]] = pz.gelu [[X]] erf : tensor<4x8xf32>
// CHECK-NEXT: [[GELU_0:%.*]] = pz.gelu [[GELU]] tanh : tensor<4x8xf32>
// CHECK-NEXT: [[GELU_1:%.*]] = pz.gelu [[Y]] tanh : tensor<?x8xbf16>
// CHECK-NEXT: return [[GELU_0]], [[GELU_1]] : tensor<4x8xf32>, tensor<?x8xbf16>
func.func @gelu(%x: tensor<4x8xf32>, %y: tensor<?x8xbf16>) -> (tensor<4x8xf32>, tensor<?x8xbf16>) {
  %0 = pz.gelu %x erf : tensor<4x8xf32>
  %1 = pz.gelu %0 tanh : tensor<4x8xf32>
  %2 = pz.gelu %y tanh : tensor<?x8xbf16>
  return %1, %2 : tensor<4x8xf32>, tensor<?x8xbf16>
}

//===----------------------------------------------------------------------===//
// Softmax, normalisation, reductions
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @softmax(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4x8xf32>, [[Y:%[^:]+]]: tensor<?x8xf16>) -> (tensor<4x8xf32>, tensor<?x8xf16>)
// CHECK-NEXT: [[SOFTMAX:%.*]] = pz.softmax [[X]] {axis = 1 : i64} : tensor<4x8xf32>
// CHECK-NEXT: [[LOG_SOFTMAX:%.*]] = pz.log_softmax [[SOFTMAX]] {axis = 0 : i64} : tensor<4x8xf32>
// CHECK-NEXT: [[SOFTMAX_0:%.*]] = pz.softmax [[Y]] {axis = 0 : i64} : tensor<?x8xf16>
// CHECK-NEXT: return [[LOG_SOFTMAX]], [[SOFTMAX_0]] : tensor<4x8xf32>, tensor<?x8xf16>
func.func @softmax(%x: tensor<4x8xf32>, %y: tensor<?x8xf16>) -> (tensor<4x8xf32>, tensor<?x8xf16>) {
  %0 = pz.softmax %x {axis = 1 : i64} : tensor<4x8xf32>
  %1 = pz.log_softmax %0 {axis = 0 : i64} : tensor<4x8xf32>
  %2 = pz.softmax %y {axis = 0 : i64} : tensor<?x8xf16>
  return %1, %2 : tensor<4x8xf32>, tensor<?x8xf16>
}

// CHECK-LABEL: func.func @layer_norm(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x16x64xf32>, [[W:%[^:]+]]: tensor<64xf32>, [[B:%[^:]+]]: tensor<64xf32>) -> tensor<2x16x64xf32>
// CHECK-NEXT: [[LAYER_NORM:%.*]] = pz.layer_norm [[X]] scale([[W]] : tensor<64xf32>) bias([[B]] : tensor<64xf32>) {axis = 2 : i64, epsilon = 1.000000e-05 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
// CHECK-NEXT: [[LAYER_NORM_0:%.*]] = pz.layer_norm [[LAYER_NORM]] {axis = 2 : i64, epsilon = 1.000000e-05 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
// CHECK-NEXT: [[LAYER_NORM_1:%.*]] = pz.layer_norm [[LAYER_NORM_0]] scale([[W]] : tensor<64xf32>) {axis = 2 : i64, epsilon = 9.9999999999999995E-7 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
// CHECK-NEXT: [[LAYER_NORM_2:%.*]] = pz.layer_norm [[LAYER_NORM_1]] bias([[B]] : tensor<64xf32>) {axis = 2 : i64, epsilon = 1.000000e-05 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
// CHECK-NEXT: return [[LAYER_NORM_2]] : tensor<2x16x64xf32>
func.func @layer_norm(%x: tensor<2x16x64xf32>, %w: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<2x16x64xf32> {
  %0 = pz.layer_norm %x scale(%w : tensor<64xf32>) bias(%b : tensor<64xf32>) {axis = 2 : i64, epsilon = 1.0e-05 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
  %1 = pz.layer_norm %0 {axis = 2 : i64, epsilon = 1.0e-05 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
  %2 = pz.layer_norm %1 scale(%w : tensor<64xf32>) {axis = 2 : i64, epsilon = 1.0e-06 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
  %3 = pz.layer_norm %2 bias(%b : tensor<64xf32>) {axis = 2 : i64, epsilon = 1.0e-05 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
  return %3 : tensor<2x16x64xf32>
}

// CHECK-LABEL: func.func @layer_norm_multi_axis(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x16x64xbf16>, [[W:%[^:]+]]: tensor<16x64xbf16>) -> tensor<?x16x64xbf16>
// CHECK-NEXT: [[LAYER_NORM:%.*]] = pz.layer_norm [[X]] scale([[W]] : tensor<16x64xbf16>) bias([[W]] : tensor<16x64xbf16>) {axis = 1 : i64, epsilon = 1.000000e-05 : f64} : tensor<?x16x64xbf16> -> tensor<?x16x64xbf16>
// CHECK-NEXT: return [[LAYER_NORM]] : tensor<?x16x64xbf16>
func.func @layer_norm_multi_axis(%x: tensor<?x16x64xbf16>, %w: tensor<16x64xbf16>) -> tensor<?x16x64xbf16> {
  %0 = pz.layer_norm %x scale(%w : tensor<16x64xbf16>) bias(%w : tensor<16x64xbf16>) {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<?x16x64xbf16> -> tensor<?x16x64xbf16>
  return %0 : tensor<?x16x64xbf16>
}

// CHECK-LABEL: func.func @rms_norm(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x16x64xf32>, [[W:%[^:]+]]: tensor<64xf32>) -> tensor<2x16x64xf32>
// CHECK-NEXT: [[RMS_NORM:%.*]] = pz.rms_norm [[X]] scale([[W]] : tensor<64xf32>) {axis = 2 : i64, epsilon = 9.9999999999999995E-7 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
// CHECK-NEXT: [[RMS_NORM_0:%.*]] = pz.rms_norm [[RMS_NORM]] {axis = 0 : i64, epsilon = 9.9999999999999995E-7 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
// CHECK-NEXT: return [[RMS_NORM_0]] : tensor<2x16x64xf32>
func.func @rms_norm(%x: tensor<2x16x64xf32>, %w: tensor<64xf32>) -> tensor<2x16x64xf32> {
  %0 = pz.rms_norm %x scale(%w : tensor<64xf32>) {axis = 2 : i64, epsilon = 1.0e-06 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
  %1 = pz.rms_norm %0 {axis = 0 : i64, epsilon = 1.0e-06 : f64} : tensor<2x16x64xf32> -> tensor<2x16x64xf32>
  return %1 : tensor<2x16x64xf32>
}

// CHECK-LABEL: func.func @rms_norm_dynamic(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x?xf16>, [[W:%[^:]+]]: tensor<64xf16>) -> tensor<?x?xf16>
// CHECK-NEXT: [[RMS_NORM:%.*]] = pz.rms_norm [[X]] scale([[W]] : tensor<64xf16>) {axis = 1 : i64, epsilon = 9.9999999999999995E-7 : f64} : tensor<?x?xf16> -> tensor<?x?xf16>
// CHECK-NEXT: return [[RMS_NORM]] : tensor<?x?xf16>
func.func @rms_norm_dynamic(%x: tensor<?x?xf16>, %w: tensor<64xf16>) -> tensor<?x?xf16> {
  %0 = pz.rms_norm %x scale(%w : tensor<64xf16>) {axis = 1 : i64, epsilon = 1.0e-06 : f64} : tensor<?x?xf16> -> tensor<?x?xf16>
  return %0 : tensor<?x?xf16>
}

// CHECK-LABEL: func.func @reduce(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4x8x16xf32>) -> (tensor<4x1x16xf32>, tensor<16xf32>, tensor<1x1x1xf32>, tensor<4x8xf32>)
// CHECK-NEXT: [[REDUCE_SUM:%.*]] = pz.reduce_sum [[X]] [1] {keepdims} : tensor<4x8x16xf32> -> tensor<4x1x16xf32>
// CHECK-NEXT: [[REDUCE_MEAN:%.*]] = pz.reduce_mean [[X]] [0, 1] : tensor<4x8x16xf32> -> tensor<16xf32>
// CHECK-NEXT: [[REDUCE_MAX:%.*]] = pz.reduce_max [[X]] [0, 1, 2] {keepdims} : tensor<4x8x16xf32> -> tensor<1x1x1xf32>
// CHECK-NEXT: [[REDUCE_MAX_0:%.*]] = pz.reduce_max [[X]] [2] : tensor<4x8x16xf32> -> tensor<4x8xf32>
// CHECK-NEXT: return [[REDUCE_SUM]], [[REDUCE_MEAN]], [[REDUCE_MAX]], [[REDUCE_MAX_0]] : tensor<4x1x16xf32>, tensor<16xf32>, tensor<1x1x1xf32>, tensor<4x8xf32>
func.func @reduce(%x: tensor<4x8x16xf32>) -> (tensor<4x1x16xf32>, tensor<16xf32>, tensor<1x1x1xf32>, tensor<4x8xf32>) {
  %0 = pz.reduce_sum %x [1] {keepdims} : tensor<4x8x16xf32> -> tensor<4x1x16xf32>
  %1 = pz.reduce_mean %x [0, 1] : tensor<4x8x16xf32> -> tensor<16xf32>
  %2 = pz.reduce_max %x [0, 1, 2] {keepdims} : tensor<4x8x16xf32> -> tensor<1x1x1xf32>
  %3 = pz.reduce_max %x [2] : tensor<4x8x16xf32> -> tensor<4x8xf32>
  return %0, %1, %2, %3 : tensor<4x1x16xf32>, tensor<16xf32>, tensor<1x1x1xf32>, tensor<4x8xf32>
}

// CHECK-LABEL: func.func @reduce_to_scalar(
// CHECK-SAME: [[X:%[^:]+]]: tensor<8xf64>) -> tensor<f64>
// CHECK-NEXT: [[REDUCE_MEAN:%.*]] = pz.reduce_mean [[X]] [0] : tensor<8xf64> -> tensor<f64>
// CHECK-NEXT: return [[REDUCE_MEAN]] : tensor<f64>
func.func @reduce_to_scalar(%x: tensor<8xf64>) -> tensor<f64> {
  %0 = pz.reduce_mean %x [0] : tensor<8xf64> -> tensor<f64>
  return %0 : tensor<f64>
}

// CHECK-LABEL: func.func @reduce_int(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4x?xi32>, [[Y:%[^:]+]]: tensor<4x8xi64>) -> (tensor<4xi32>, tensor<1x8xi64>)
// CHECK-NEXT: [[REDUCE_SUM:%.*]] = pz.reduce_sum [[X]] [1] : tensor<4x?xi32> -> tensor<4xi32>
// CHECK-NEXT: [[REDUCE_MAX:%.*]] = pz.reduce_max [[Y]] [0] {keepdims} : tensor<4x8xi64> -> tensor<1x8xi64>
// CHECK-NEXT: return [[REDUCE_SUM]], [[REDUCE_MAX]] : tensor<4xi32>, tensor<1x8xi64>
func.func @reduce_int(%x: tensor<4x?xi32>, %y: tensor<4x8xi64>) -> (tensor<4xi32>, tensor<1x8xi64>) {
  %0 = pz.reduce_sum %x [1] : tensor<4x?xi32> -> tensor<4xi32>
  %1 = pz.reduce_max %y [0] {keepdims} : tensor<4x8xi64> -> tensor<1x8xi64>
  return %0, %1 : tensor<4xi32>, tensor<1x8xi64>
}

// CHECK-LABEL: func.func @reduce_dynamic(
// CHECK-SAME: [[X:%[^:]+]]: tensor<?x8xf32>) -> tensor<?x1xf32>
// CHECK-NEXT: [[REDUCE_MEAN:%.*]] = pz.reduce_mean [[X]] [1] {keepdims} : tensor<?x8xf32> -> tensor<?x1xf32>
// CHECK-NEXT: return [[REDUCE_MEAN]] : tensor<?x1xf32>
func.func @reduce_dynamic(%x: tensor<?x8xf32>) -> tensor<?x1xf32> {
  %0 = pz.reduce_mean %x [1] {keepdims} : tensor<?x8xf32> -> tensor<?x1xf32>
  return %0 : tensor<?x1xf32>
}

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @matmul(
// CHECK-SAME: [[A:%[^:]+]]: tensor<2x3xf32>, [[B:%[^:]+]]: tensor<3x4xf32>) -> tensor<2x4xf32>
// CHECK-NEXT: [[MATMUL:%.*]] = pz.matmul [[A]], [[B]] : tensor<2x3xf32>, tensor<3x4xf32> -> tensor<2x4xf32>
// CHECK-NEXT: return [[MATMUL]] : tensor<2x4xf32>
func.func @matmul(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %0 = pz.matmul %a, %b : tensor<2x3xf32>, tensor<3x4xf32> -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @matmul_transposes(
// CHECK-SAME: [[A:%[^:]+]]: tensor<3x2xf32>, [[B:%[^:]+]]: tensor<4x3xf32>, [[C:%[^:]+]]: tensor<2x3xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x2xf32>)
// CHECK-NEXT: [[MATMUL:%.*]] = pz.matmul [[A]], [[B]] {transpose_lhs, transpose_rhs} : tensor<3x2xf32>, tensor<4x3xf32> -> tensor<2x4xf32>
// CHECK-NEXT: [[MATMUL_0:%.*]] = pz.matmul [[C]], [[B]] {transpose_rhs} : tensor<2x3xf32>, tensor<4x3xf32> -> tensor<2x4xf32>
// CHECK-NEXT: [[MATMUL_1:%.*]] = pz.matmul [[A]], [[A]] {transpose_lhs} : tensor<3x2xf32>, tensor<3x2xf32> -> tensor<2x2xf32>
// CHECK-NEXT: return [[MATMUL]], [[MATMUL_0]], [[MATMUL_1]] : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x2xf32>
func.func @matmul_transposes(%a: tensor<3x2xf32>, %b: tensor<4x3xf32>, %c: tensor<2x3xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x2xf32>) {
  %0 = pz.matmul %a, %b {transpose_lhs, transpose_rhs} : tensor<3x2xf32>, tensor<4x3xf32> -> tensor<2x4xf32>
  %1 = pz.matmul %c, %b {transpose_rhs} : tensor<2x3xf32>, tensor<4x3xf32> -> tensor<2x4xf32>
  %2 = pz.matmul %a, %a {transpose_lhs} : tensor<3x2xf32>, tensor<3x2xf32> -> tensor<2x2xf32>
  return %0, %1, %2 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x2xf32>
}

// CHECK-LABEL: func.func @matmul_batch(
// CHECK-SAME: [[X:%[^:]+]]: tensor<8x16x64xbf16>, [[W:%[^:]+]]: tensor<256x64xbf16>, [[A:%[^:]+]]: tensor<2x1x4x8xf32>, [[B:%[^:]+]]: tensor<3x8x5xf32>) -> (tensor<8x16x256xbf16>, tensor<2x3x4x5xf32>)
// CHECK-NEXT: [[MATMUL:%.*]] = pz.matmul [[X]], [[W]] {transpose_rhs} : tensor<8x16x64xbf16>, tensor<256x64xbf16> -> tensor<8x16x256xbf16>
// CHECK-NEXT: [[MATMUL_0:%.*]] = pz.matmul [[A]], [[B]] : tensor<2x1x4x8xf32>, tensor<3x8x5xf32> -> tensor<2x3x4x5xf32>
// CHECK-NEXT: return [[MATMUL]], [[MATMUL_0]] : tensor<8x16x256xbf16>, tensor<2x3x4x5xf32>
func.func @matmul_batch(%x: tensor<8x16x64xbf16>, %w: tensor<256x64xbf16>, %a: tensor<2x1x4x8xf32>, %b: tensor<3x8x5xf32>) -> (tensor<8x16x256xbf16>, tensor<2x3x4x5xf32>) {
  %0 = pz.matmul %x, %w {transpose_rhs} : tensor<8x16x64xbf16>, tensor<256x64xbf16> -> tensor<8x16x256xbf16>
  %1 = pz.matmul %a, %b : tensor<2x1x4x8xf32>, tensor<3x8x5xf32> -> tensor<2x3x4x5xf32>
  return %0, %1 : tensor<8x16x256xbf16>, tensor<2x3x4x5xf32>
}

// CHECK-LABEL: func.func @matmul_dynamic(
// CHECK-SAME: [[A:%[^:]+]]: tensor<?x4x8xf16>, [[B:%[^:]+]]: tensor<8x?xf16>, [[C:%[^:]+]]: tensor<?x?xf64>) -> (tensor<?x4x?xf16>, tensor<?x?xf64>)
// CHECK-NEXT: [[MATMUL:%.*]] = pz.matmul [[A]], [[B]] : tensor<?x4x8xf16>, tensor<8x?xf16> -> tensor<?x4x?xf16>
// CHECK-NEXT: [[MATMUL_0:%.*]] = pz.matmul [[C]], [[C]] {transpose_lhs} : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64>
// CHECK-NEXT: return [[MATMUL]], [[MATMUL_0]] : tensor<?x4x?xf16>, tensor<?x?xf64>
func.func @matmul_dynamic(%a: tensor<?x4x8xf16>, %b: tensor<8x?xf16>, %c: tensor<?x?xf64>) -> (tensor<?x4x?xf16>, tensor<?x?xf64>) {
  %0 = pz.matmul %a, %b : tensor<?x4x8xf16>, tensor<8x?xf16> -> tensor<?x4x?xf16>
  %1 = pz.matmul %c, %c {transpose_lhs} : tensor<?x?xf64>, tensor<?x?xf64> -> tensor<?x?xf64>
  return %0, %1 : tensor<?x4x?xf16>, tensor<?x?xf64>
}

//===----------------------------------------------------------------------===//
// Shape and data movement
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @reshape(
// CHECK-SAME: [[X:%[^:]+]]: tensor<8x16x64xf32>, [[M:%[^:]+]]: tensor<4x4xi1>, [[D:%[^:]+]]: tensor<?x64xi64>) -> (tensor<8x1024xf32>, tensor<2x4x2xi1>, tensor<?x8x8xi64>, tensor<8192xf32>)
// CHECK-NEXT: [[RESHAPE:%.*]] = pz.reshape [[X]] [8, -1] : tensor<8x16x64xf32> -> tensor<8x1024xf32>
// CHECK-NEXT: [[RESHAPE_0:%.*]] = pz.reshape [[M]] [2, 4, 2] : tensor<4x4xi1> -> tensor<2x4x2xi1>
// CHECK-NEXT: [[RESHAPE_1:%.*]] = pz.reshape [[D]] [-1, 8, 8] : tensor<?x64xi64> -> tensor<?x8x8xi64>
// CHECK-NEXT: [[RESHAPE_2:%.*]] = pz.reshape [[RESHAPE]] [8192] : tensor<8x1024xf32> -> tensor<8192xf32>
// CHECK-NEXT: return [[RESHAPE]], [[RESHAPE_0]], [[RESHAPE_1]], [[RESHAPE_2]] : tensor<8x1024xf32>, tensor<2x4x2xi1>, tensor<?x8x8xi64>, tensor<8192xf32>
func.func @reshape(%x: tensor<8x16x64xf32>, %m: tensor<4x4xi1>, %d: tensor<?x64xi64>) -> (tensor<8x1024xf32>, tensor<2x4x2xi1>, tensor<?x8x8xi64>, tensor<8192xf32>) {
  %0 = pz.reshape %x [8, -1] : tensor<8x16x64xf32> -> tensor<8x1024xf32>
  %1 = pz.reshape %m [2, 4, 2] : tensor<4x4xi1> -> tensor<2x4x2xi1>
  %2 = pz.reshape %d [-1, 8, 8] : tensor<?x64xi64> -> tensor<?x8x8xi64>
  %3 = pz.reshape %0 [8192] : tensor<8x1024xf32> -> tensor<8192xf32>
  return %0, %1, %2, %3 : tensor<8x1024xf32>, tensor<2x4x2xi1>, tensor<?x8x8xi64>, tensor<8192xf32>
}

// An empty tensor reshapes to another empty shape.
// CHECK-LABEL: func.func @reshape_empty(
// CHECK-NEXT: pz.reshape %{{.*}} [3, 4, 0] : tensor<0x3x4xf32> -> tensor<3x4x0xf32>
func.func @reshape_empty(%x: tensor<0x3x4xf32>) -> tensor<3x4x0xf32> {
  %0 = pz.reshape %x [3, 4, 0] : tensor<0x3x4xf32> -> tensor<3x4x0xf32>
  return %0 : tensor<3x4x0xf32>
}

// CHECK-LABEL: func.func @reshape_scalar(
// CHECK-SAME: [[X:%[^:]+]]: tensor<1x1xf32>, [[Y:%[^:]+]]: tensor<f32>) -> (tensor<f32>, tensor<1xf32>)
// CHECK-NEXT: [[RESHAPE:%.*]] = pz.reshape [[X]] [] : tensor<1x1xf32> -> tensor<f32>
// CHECK-NEXT: [[RESHAPE_0:%.*]] = pz.reshape [[Y]] [-1] : tensor<f32> -> tensor<1xf32>
// CHECK-NEXT: return [[RESHAPE]], [[RESHAPE_0]] : tensor<f32>, tensor<1xf32>
func.func @reshape_scalar(%x: tensor<1x1xf32>, %y: tensor<f32>) -> (tensor<f32>, tensor<1xf32>) {
  %0 = pz.reshape %x [] : tensor<1x1xf32> -> tensor<f32>
  %1 = pz.reshape %y [-1] : tensor<f32> -> tensor<1xf32>
  return %0, %1 : tensor<f32>, tensor<1xf32>
}

// CHECK-LABEL: func.func @transpose(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x16x4x8xf32>, [[Y:%[^:]+]]: tensor<?x3xi32>, [[Z:%[^:]+]]: tensor<f16>) -> (tensor<2x4x16x8xf32>, tensor<3x?xi32>, tensor<f16>)
// CHECK-NEXT: [[TRANSPOSE:%.*]] = pz.transpose [[X]] [0, 2, 1, 3] : tensor<2x16x4x8xf32> -> tensor<2x4x16x8xf32>
// CHECK-NEXT: [[TRANSPOSE_0:%.*]] = pz.transpose [[Y]] [1, 0] : tensor<?x3xi32> -> tensor<3x?xi32>
// CHECK-NEXT: [[TRANSPOSE_1:%.*]] = pz.transpose [[Z]] [] : tensor<f16> -> tensor<f16>
// CHECK-NEXT: return [[TRANSPOSE]], [[TRANSPOSE_0]], [[TRANSPOSE_1]] : tensor<2x4x16x8xf32>, tensor<3x?xi32>, tensor<f16>
func.func @transpose(%x: tensor<2x16x4x8xf32>, %y: tensor<?x3xi32>, %z: tensor<f16>) -> (tensor<2x4x16x8xf32>, tensor<3x?xi32>, tensor<f16>) {
  %0 = pz.transpose %x [0, 2, 1, 3] : tensor<2x16x4x8xf32> -> tensor<2x4x16x8xf32>
  %1 = pz.transpose %y [1, 0] : tensor<?x3xi32> -> tensor<3x?xi32>
  %2 = pz.transpose %z [] : tensor<f16> -> tensor<f16>
  return %0, %1, %2 : tensor<2x4x16x8xf32>, tensor<3x?xi32>, tensor<f16>
}

// CHECK-LABEL: func.func @broadcast(
// CHECK-SAME: [[B:%[^:]+]]: tensor<64xf32>, [[M:%[^:]+]]: tensor<1x16xi1>, [[S:%[^:]+]]: tensor<f64>, [[D:%[^:]+]]: tensor<?x1xi64>) -> (tensor<8x16x64xf32>, tensor<4x16x16xi1>, tensor<2x2xf64>, tensor<3x5x7xi64>)
// CHECK-NEXT: [[BROADCAST:%.*]] = pz.broadcast [[B]] [8, 16, 64] : tensor<64xf32> -> tensor<8x16x64xf32>
// CHECK-NEXT: [[BROADCAST_0:%.*]] = pz.broadcast [[M]] [4, 16, 16] : tensor<1x16xi1> -> tensor<4x16x16xi1>
// CHECK-NEXT: [[BROADCAST_1:%.*]] = pz.broadcast [[S]] [2, 2] : tensor<f64> -> tensor<2x2xf64>
// CHECK-NEXT: [[BROADCAST_2:%.*]] = pz.broadcast [[D]] [3, 5, 7] : tensor<?x1xi64> -> tensor<3x5x7xi64>
// CHECK-NEXT: return [[BROADCAST]], [[BROADCAST_0]], [[BROADCAST_1]], [[BROADCAST_2]] : tensor<8x16x64xf32>, tensor<4x16x16xi1>, tensor<2x2xf64>, tensor<3x5x7xi64>
func.func @broadcast(%b: tensor<64xf32>, %m: tensor<1x16xi1>, %s: tensor<f64>, %d: tensor<?x1xi64>) -> (tensor<8x16x64xf32>, tensor<4x16x16xi1>, tensor<2x2xf64>, tensor<3x5x7xi64>) {
  %0 = pz.broadcast %b [8, 16, 64] : tensor<64xf32> -> tensor<8x16x64xf32>
  %1 = pz.broadcast %m [4, 16, 16] : tensor<1x16xi1> -> tensor<4x16x16xi1>
  %2 = pz.broadcast %s [2, 2] : tensor<f64> -> tensor<2x2xf64>
  %3 = pz.broadcast %d [3, 5, 7] : tensor<?x1xi64> -> tensor<3x5x7xi64>
  return %0, %1, %2, %3 : tensor<8x16x64xf32>, tensor<4x16x16xi1>, tensor<2x2xf64>, tensor<3x5x7xi64>
}

// CHECK-LABEL: func.func @slice(
// CHECK-SAME: [[X:%[^:]+]]: tensor<16x192xf32>, [[Y:%[^:]+]]: tensor<10xi64>, [[Z:%[^:]+]]: tensor<?x8xi1>) -> (tensor<16x64xf32>, tensor<4xi64>, tensor<2x3xi1>, tensor<0x192xf32>)
// CHECK-NEXT: [[SLICE:%.*]] = pz.slice [[X]] starts [0, 64] ends [16, 128] steps [1, 1] : tensor<16x192xf32> -> tensor<16x64xf32>
// CHECK-NEXT: [[SLICE_0:%.*]] = pz.slice [[Y]] starts [1] ends [9] steps [2] : tensor<10xi64> -> tensor<4xi64>
// CHECK-NEXT: [[SLICE_1:%.*]] = pz.slice [[Z]] starts [2, 0] ends [4, 8] steps [1, 3] : tensor<?x8xi1> -> tensor<2x3xi1>
// CHECK-NEXT: [[SLICE_2:%.*]] = pz.slice [[X]] starts [5, 0] ends [5, 192] steps [1, 1] : tensor<16x192xf32> -> tensor<0x192xf32>
// CHECK-NEXT: return [[SLICE]], [[SLICE_0]], [[SLICE_1]], [[SLICE_2]] : tensor<16x64xf32>, tensor<4xi64>, tensor<2x3xi1>, tensor<0x192xf32>
func.func @slice(%x: tensor<16x192xf32>, %y: tensor<10xi64>, %z: tensor<?x8xi1>) -> (tensor<16x64xf32>, tensor<4xi64>, tensor<2x3xi1>, tensor<0x192xf32>) {
  %0 = pz.slice %x starts [0, 64] ends [16, 128] steps [1, 1] : tensor<16x192xf32> -> tensor<16x64xf32>
  %1 = pz.slice %y starts [1] ends [9] steps [2] : tensor<10xi64> -> tensor<4xi64>
  %2 = pz.slice %z starts [2, 0] ends [4, 8] steps [1, 3] : tensor<?x8xi1> -> tensor<2x3xi1>
  %3 = pz.slice %x starts [5, 0] ends [5, 192] steps [1, 1] : tensor<16x192xf32> -> tensor<0x192xf32>
  return %0, %1, %2, %3 : tensor<16x64xf32>, tensor<4xi64>, tensor<2x3xi1>, tensor<0x192xf32>
}

// Negative steps walk down from start to above end; end -1 runs through
// element 0. The result sizes are inferred from the steps.
// CHECK-LABEL: func.func @slice_negative_steps(
// CHECK-SAME: [[X:%[^:]+]]: tensor<16x192xf32>, [[Z:%[^:]+]]: tensor<?x8xi1>) -> (tensor<16x192xf32>, tensor<8x64xf32>, tensor<2x2xi1>, tensor<16x0xf32>)
// CHECK-NEXT: [[SLICE:%.*]] = pz.slice [[X]] starts [15, 191] ends [-1, -1] steps [-1, -1] : tensor<16x192xf32> -> tensor<16x192xf32>
// CHECK-NEXT: [[SLICE_0:%.*]] = pz.slice [[X]] starts [15, 190] ends [0, 0] steps [-2, -3] : tensor<16x192xf32> -> tensor<8x64xf32>
// CHECK-NEXT: [[SLICE_1:%.*]] = pz.slice [[Z]] starts [3, 7] ends [1, -1] steps [-1, -4] : tensor<?x8xi1> -> tensor<2x2xi1>
// CHECK-NEXT: [[SLICE_2:%.*]] = pz.slice [[X]] starts [0, 4] ends [16, 4] steps [1, -1] : tensor<16x192xf32> -> tensor<16x0xf32>
// CHECK-NEXT: return [[SLICE]], [[SLICE_0]], [[SLICE_1]], [[SLICE_2]] : tensor<16x192xf32>, tensor<8x64xf32>, tensor<2x2xi1>, tensor<16x0xf32>
func.func @slice_negative_steps(%x: tensor<16x192xf32>, %z: tensor<?x8xi1>) -> (tensor<16x192xf32>, tensor<8x64xf32>, tensor<2x2xi1>, tensor<16x0xf32>) {
  %0 = pz.slice %x starts [15, 191] ends [-1, -1] steps [-1, -1] : tensor<16x192xf32> -> tensor<16x192xf32>
  %1 = pz.slice %x starts [15, 190] ends [0, 0] steps [-2, -3] : tensor<16x192xf32> -> tensor<8x64xf32>
  %2 = pz.slice %z starts [3, 7] ends [1, -1] steps [-1, -4] : tensor<?x8xi1> -> tensor<2x2xi1>
  %3 = pz.slice %x starts [0, 4] ends [16, 4] steps [1, -1] : tensor<16x192xf32> -> tensor<16x0xf32>
  return %0, %1, %2, %3 : tensor<16x192xf32>, tensor<8x64xf32>, tensor<2x2xi1>, tensor<16x0xf32>
}

// CHECK-LABEL: func.func @concat(
// CHECK-SAME: [[A:%[^:]+]]: tensor<2x3xf32>, [[B:%[^:]+]]: tensor<2x5xf32>, [[C:%[^:]+]]: tensor<?x3xf32>, [[M:%[^:]+]]: tensor<4xi1>) -> (tensor<2x8xf32>, tensor<2x3xf32>, tensor<?x3xf32>, tensor<12xi1>, tensor<2x16xf32>)
// CHECK-NEXT: [[CONCAT:%.*]] = pz.concat [[A]], [[B]] {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
// CHECK-NEXT: [[CONCAT_0:%.*]] = pz.concat [[A]] {axis = 0 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: [[CONCAT_1:%.*]] = pz.concat [[A]], [[C]] {axis = 0 : i64} : (tensor<2x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
// CHECK-NEXT: [[CONCAT_2:%.*]] = pz.concat [[M]], [[M]], [[M]] {axis = 0 : i64} : (tensor<4xi1>, tensor<4xi1>, tensor<4xi1>) -> tensor<12xi1>
// CHECK-NEXT: [[CONCAT_3:%.*]] = pz.concat [[CONCAT]], [[CONCAT]] {axis = 1 : i64} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x16xf32>
// CHECK-NEXT: return [[CONCAT]], [[CONCAT_0]], [[CONCAT_1]], [[CONCAT_2]], [[CONCAT_3]] : tensor<2x8xf32>, tensor<2x3xf32>, tensor<?x3xf32>, tensor<12xi1>, tensor<2x16xf32>
func.func @concat(%a: tensor<2x3xf32>, %b: tensor<2x5xf32>, %c: tensor<?x3xf32>, %m: tensor<4xi1>) -> (tensor<2x8xf32>, tensor<2x3xf32>, tensor<?x3xf32>, tensor<12xi1>, tensor<2x16xf32>) {
  %0 = pz.concat %a, %b {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x5xf32>) -> tensor<2x8xf32>
  %1 = pz.concat %a {axis = 0 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = pz.concat %a, %c {axis = 0 : i64} : (tensor<2x3xf32>, tensor<?x3xf32>) -> tensor<?x3xf32>
  %3 = pz.concat %m, %m, %m {axis = 0 : i64} : (tensor<4xi1>, tensor<4xi1>, tensor<4xi1>) -> tensor<12xi1>
  %4 = pz.concat %0, %0 {axis = 1 : i64} : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x16xf32>
  return %0, %1, %2, %3, %4 : tensor<2x8xf32>, tensor<2x3xf32>, tensor<?x3xf32>, tensor<12xi1>, tensor<2x16xf32>
}

// CHECK-LABEL: func.func @concat_merges_dynamic(
// CHECK-SAME: [[A:%[^:]+]]: tensor<?x3xf32>, [[B:%[^:]+]]: tensor<2x?xf32>) -> tensor<2x?xf32>
// CHECK-NEXT: [[CONCAT:%.*]] = pz.concat [[A]], [[B]] {axis = 1 : i64} : (tensor<?x3xf32>, tensor<2x?xf32>) -> tensor<2x?xf32>
// CHECK-NEXT: return [[CONCAT]] : tensor<2x?xf32>
func.func @concat_merges_dynamic(%a: tensor<?x3xf32>, %b: tensor<2x?xf32>) -> tensor<2x?xf32> {
  %0 = pz.concat %a, %b {axis = 1 : i64} : (tensor<?x3xf32>, tensor<2x?xf32>) -> tensor<2x?xf32>
  return %0 : tensor<2x?xf32>
}

// CHECK-LABEL: func.func @gather(
// CHECK-SAME: [[X:%[^:]+]]: tensor<10x4xf32>, [[I:%[^:]+]]: tensor<3xi64>, [[J:%[^:]+]]: tensor<2x2xi32>, [[Y:%[^:]+]]: tensor<5x6x7xi1>) -> (tensor<3x4xf32>, tensor<10x2x2xf32>, tensor<5x3x7xi1>)
// CHECK-NEXT: [[GATHER:%.*]] = pz.gather [[X]], [[I]] {axis = 0 : i64} : tensor<10x4xf32>, tensor<3xi64> -> tensor<3x4xf32>
// CHECK-NEXT: [[GATHER_0:%.*]] = pz.gather [[X]], [[J]] {axis = 1 : i64} : tensor<10x4xf32>, tensor<2x2xi32> -> tensor<10x2x2xf32>
// CHECK-NEXT: [[GATHER_1:%.*]] = pz.gather [[Y]], [[I]] {axis = 1 : i64} : tensor<5x6x7xi1>, tensor<3xi64> -> tensor<5x3x7xi1>
// CHECK-NEXT: return [[GATHER]], [[GATHER_0]], [[GATHER_1]] : tensor<3x4xf32>, tensor<10x2x2xf32>, tensor<5x3x7xi1>
func.func @gather(%x: tensor<10x4xf32>, %i: tensor<3xi64>, %j: tensor<2x2xi32>, %y: tensor<5x6x7xi1>) -> (tensor<3x4xf32>, tensor<10x2x2xf32>, tensor<5x3x7xi1>) {
  %0 = pz.gather %x, %i {axis = 0 : i64} : tensor<10x4xf32>, tensor<3xi64> -> tensor<3x4xf32>
  %1 = pz.gather %x, %j {axis = 1 : i64} : tensor<10x4xf32>, tensor<2x2xi32> -> tensor<10x2x2xf32>
  %2 = pz.gather %y, %i {axis = 1 : i64} : tensor<5x6x7xi1>, tensor<3xi64> -> tensor<5x3x7xi1>
  return %0, %1, %2 : tensor<3x4xf32>, tensor<10x2x2xf32>, tensor<5x3x7xi1>
}

// CHECK-LABEL: func.func @gather_scalar_index(
// CHECK-SAME: [[X:%[^:]+]]: tensor<10x4xi64>, [[I:%[^:]+]]: tensor<i64>) -> tensor<4xi64>
// CHECK-NEXT: [[GATHER:%.*]] = pz.gather [[X]], [[I]] {axis = 0 : i64} : tensor<10x4xi64>, tensor<i64> -> tensor<4xi64>
// CHECK-NEXT: return [[GATHER]] : tensor<4xi64>
func.func @gather_scalar_index(%x: tensor<10x4xi64>, %i: tensor<i64>) -> tensor<4xi64> {
  %0 = pz.gather %x, %i {axis = 0 : i64} : tensor<10x4xi64>, tensor<i64> -> tensor<4xi64>
  return %0 : tensor<4xi64>
}

// CHECK-LABEL: func.func @embedding(
// CHECK-SAME: [[WTE:%[^:]+]]: tensor<256x64xf32>, [[IDS:%[^:]+]]: tensor<2x16xi64>, [[IDS32:%[^:]+]]: tensor<?xi32>, [[T16:%[^:]+]]: tensor<100x8xf16>) -> (tensor<2x16x64xf32>, tensor<?x8xf16>)
// CHECK-NEXT: [[EMBEDDING:%.*]] = pz.embedding [[WTE]], [[IDS]] : tensor<256x64xf32>, tensor<2x16xi64> -> tensor<2x16x64xf32>
// CHECK-NEXT: [[EMBEDDING_0:%.*]] = pz.embedding [[T16]], [[IDS32]] : tensor<100x8xf16>, tensor<?xi32> -> tensor<?x8xf16>
// CHECK-NEXT: return [[EMBEDDING]], [[EMBEDDING_0]] : tensor<2x16x64xf32>, tensor<?x8xf16>
func.func @embedding(%wte: tensor<256x64xf32>, %ids: tensor<2x16xi64>, %ids32: tensor<?xi32>, %t16: tensor<100x8xf16>) -> (tensor<2x16x64xf32>, tensor<?x8xf16>) {
  %0 = pz.embedding %wte, %ids : tensor<256x64xf32>, tensor<2x16xi64> -> tensor<2x16x64xf32>
  %1 = pz.embedding %t16, %ids32 : tensor<100x8xf16>, tensor<?xi32> -> tensor<?x8xf16>
  return %0, %1 : tensor<2x16x64xf32>, tensor<?x8xf16>
}

// CHECK-LABEL: func.func @where(
// CHECK-SAME: [[M:%[^:]+]]: tensor<16x16xi1>, [[X:%[^:]+]]: tensor<2x4x16x16xf32>, [[C:%[^:]+]]: tensor<f32>, [[I:%[^:]+]]: tensor<3xi32>, [[B:%[^:]+]]: tensor<3xi1>) -> (tensor<2x4x16x16xf32>, tensor<3xi32>, tensor<3xi1>)
// CHECK-NEXT: [[WHERE:%.*]] = pz.where [[M]], [[X]], [[C]] : tensor<16x16xi1>, tensor<2x4x16x16xf32>, tensor<f32> -> tensor<2x4x16x16xf32>
// CHECK-NEXT: [[WHERE_0:%.*]] = pz.where [[B]], [[I]], [[I]] : tensor<3xi1>, tensor<3xi32>, tensor<3xi32> -> tensor<3xi32>
// CHECK-NEXT: [[WHERE_1:%.*]] = pz.where [[B]], [[B]], [[B]] : tensor<3xi1>, tensor<3xi1>, tensor<3xi1> -> tensor<3xi1>
// CHECK-NEXT: return [[WHERE]], [[WHERE_0]], [[WHERE_1]] : tensor<2x4x16x16xf32>, tensor<3xi32>, tensor<3xi1>
func.func @where(%m: tensor<16x16xi1>, %x: tensor<2x4x16x16xf32>, %c: tensor<f32>, %i: tensor<3xi32>, %b: tensor<3xi1>) -> (tensor<2x4x16x16xf32>, tensor<3xi32>, tensor<3xi1>) {
  %0 = pz.where %m, %x, %c : tensor<16x16xi1>, tensor<2x4x16x16xf32>, tensor<f32> -> tensor<2x4x16x16xf32>
  %1 = pz.where %b, %i, %i : tensor<3xi1>, tensor<3xi32>, tensor<3xi32> -> tensor<3xi32>
  %2 = pz.where %b, %b, %b : tensor<3xi1>, tensor<3xi1>, tensor<3xi1> -> tensor<3xi1>
  return %0, %1, %2 : tensor<2x4x16x16xf32>, tensor<3xi32>, tensor<3xi1>
}

// CHECK-LABEL: func.func @where_dynamic(
// CHECK-SAME: [[M:%[^:]+]]: tensor<?x1xi1>, [[X:%[^:]+]]: tensor<1x?xf16>, [[Y:%[^:]+]]: tensor<f16>) -> tensor<?x?xf16>
// CHECK-NEXT: [[WHERE:%.*]] = pz.where [[M]], [[X]], [[Y]] : tensor<?x1xi1>, tensor<1x?xf16>, tensor<f16> -> tensor<?x?xf16>
// CHECK-NEXT: return [[WHERE]] : tensor<?x?xf16>
func.func @where_dynamic(%m: tensor<?x1xi1>, %x: tensor<1x?xf16>, %y: tensor<f16>) -> tensor<?x?xf16> {
  %0 = pz.where %m, %x, %y : tensor<?x1xi1>, tensor<1x?xf16>, tensor<f16> -> tensor<?x?xf16>
  return %0 : tensor<?x?xf16>
}

// CHECK-LABEL: func.func @cast(
// CHECK-SAME: [[X:%[^:]+]]: tensor<4x8xf32>, [[B:%[^:]+]]: tensor<4xi1>, [[I:%[^:]+]]: tensor<?xi64>) -> (tensor<4x8xbf16>, tensor<4x8xf16>, tensor<4x8xf64>, tensor<4x8xi32>, tensor<4x8xi64>, tensor<4x8xi1>, tensor<4xf32>, tensor<?xf32>, tensor<4x8xf32>)
// CHECK-NEXT: [[CAST:%.*]] = pz.cast [[X]] : tensor<4x8xf32> to bf16
// CHECK-NEXT: [[CAST_0:%.*]] = pz.cast [[X]] : tensor<4x8xf32> to f16
// CHECK-NEXT: [[CAST_1:%.*]] = pz.cast [[X]] : tensor<4x8xf32> to f64
// CHECK-NEXT: [[CAST_2:%.*]] = pz.cast [[X]] : tensor<4x8xf32> to i32
// CHECK-NEXT: [[CAST_3:%.*]] = pz.cast [[X]] : tensor<4x8xf32> to i64
// CHECK-NEXT: [[CAST_4:%.*]] = pz.cast [[X]] : tensor<4x8xf32> to i1
// CHECK-NEXT: [[CAST_5:%.*]] = pz.cast [[B]] : tensor<4xi1> to f32
// CHECK-NEXT: [[CAST_6:%.*]] = pz.cast [[I]] : tensor<?xi64> to f32
// CHECK-NEXT: [[CAST_7:%.*]] = pz.cast [[X]] : tensor<4x8xf32> to f32
// CHECK-NEXT: return [[CAST]], [[CAST_0]], [[CAST_1]], [[CAST_2]], [[CAST_3]], [[CAST_4]], [[CAST_5]], [[CAST_6]], [[CAST_7]] : tensor<4x8xbf16>, tensor<4x8xf16>, tensor<4x8xf64>, tensor<4x8xi32>, tensor<4x8xi64>, tensor<4x8xi1>, tensor<4xf32>, tensor<?xf32>, tensor<4x8xf32>
func.func @cast(%x: tensor<4x8xf32>, %b: tensor<4xi1>, %i: tensor<?xi64>) -> (tensor<4x8xbf16>, tensor<4x8xf16>, tensor<4x8xf64>, tensor<4x8xi32>, tensor<4x8xi64>, tensor<4x8xi1>, tensor<4xf32>, tensor<?xf32>, tensor<4x8xf32>) {
  %0 = pz.cast %x : tensor<4x8xf32> to bf16
  %1 = pz.cast %x : tensor<4x8xf32> to f16
  %2 = pz.cast %x : tensor<4x8xf32> to f64
  %3 = pz.cast %x : tensor<4x8xf32> to i32
  %4 = pz.cast %x : tensor<4x8xf32> to i64
  %5 = pz.cast %x : tensor<4x8xf32> to i1
  %6 = pz.cast %b : tensor<4xi1> to f32
  %7 = pz.cast %i : tensor<?xi64> to f32
  %8 = pz.cast %x : tensor<4x8xf32> to f32
  return %0, %1, %2, %3, %4, %5, %6, %7, %8 : tensor<4x8xbf16>, tensor<4x8xf16>, tensor<4x8xf64>, tensor<4x8xi32>, tensor<4x8xi64>, tensor<4x8xi1>, tensor<4xf32>, tensor<?xf32>, tensor<4x8xf32>
}

// CHECK-LABEL: func.func @constant(
// CHECK-SAME: ) -> (tensor<2xf32>, tensor<2x3xf16>, tensor<bf16>, tensor<3xf64>, tensor<2xi32>, tensor<4xi64>, tensor<2xi1>, tensor<f32>)
// CHECK-NEXT: [[CONSTANT:%.*]] = pz.constant dense<[1.000000e+00, 2.000000e+00]> : tensor<2xf32>
// CHECK-NEXT: [[CONSTANT_0:%.*]] = pz.constant dense<5.000000e-01> : tensor<2x3xf16>
// CHECK-NEXT: [[CONSTANT_1:%.*]] = pz.constant dense<-1.000000e+00> : tensor<bf16>
// CHECK-NEXT: [[CONSTANT_2:%.*]] = pz.constant dense<[1.000000e+00, 2.500000e+00, 3.000000e+00]> : tensor<3xf64>
// CHECK-NEXT: [[CONSTANT_3:%.*]] = pz.constant dense<[7, -7]> : tensor<2xi32>
// CHECK-NEXT: [[CONSTANT_4:%.*]] = pz.constant dense<0> : tensor<4xi64>
// CHECK-NEXT: [[CONSTANT_5:%.*]] = pz.constant dense<[true, false]> : tensor<2xi1>
// CHECK-NEXT: [[CONSTANT_6:%.*]] = pz.constant {note = "attr-dict comes first"} dense<3.000000e+00> : tensor<f32>
// CHECK-NEXT: return [[CONSTANT]], [[CONSTANT_0]], [[CONSTANT_1]], [[CONSTANT_2]], [[CONSTANT_3]], [[CONSTANT_4]], [[CONSTANT_5]], [[CONSTANT_6]] : tensor<2xf32>, tensor<2x3xf16>, tensor<bf16>, tensor<3xf64>, tensor<2xi32>, tensor<4xi64>, tensor<2xi1>, tensor<f32>
func.func @constant() -> (tensor<2xf32>, tensor<2x3xf16>, tensor<bf16>, tensor<3xf64>, tensor<2xi32>, tensor<4xi64>, tensor<2xi1>, tensor<f32>) {
  %0 = pz.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %1 = pz.constant dense<0.5> : tensor<2x3xf16>
  %2 = pz.constant dense<-1.0> : tensor<bf16>
  %3 = pz.constant dense<[1.0, 2.5, 3.0]> : tensor<3xf64>
  %4 = pz.constant dense<[7, -7]> : tensor<2xi32>
  %5 = pz.constant dense<0> : tensor<4xi64>
  %6 = pz.constant dense<[true, false]> : tensor<2xi1>
  %7 = pz.constant {note = "attr-dict comes first"} dense<3.0> : tensor<f32>
  return %0, %1, %2, %3, %4, %5, %6, %7 : tensor<2xf32>, tensor<2x3xf16>, tensor<bf16>, tensor<3xf64>, tensor<2xi32>, tensor<4xi64>, tensor<2xi1>, tensor<f32>
}

//===----------------------------------------------------------------------===//
// Neural-network ops
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @cross_entropy(
// CHECK-SAME: [[LOGITS:%[^:]+]]: tensor<2x16x256xf32>, [[LABELS:%[^:]+]]: tensor<2x16xi64>) -> (tensor<f32>, tensor<f32>, tensor<2x16xf32>, tensor<f32>)
// CHECK-NEXT: [[CROSS_ENTROPY:%.*]] = pz.cross_entropy [[LOGITS]], [[LABELS]] mean : tensor<2x16x256xf32>, tensor<2x16xi64> -> tensor<f32>
// CHECK-NEXT: [[CROSS_ENTROPY_0:%.*]] = pz.cross_entropy [[LOGITS]], [[LABELS]] sum : tensor<2x16x256xf32>, tensor<2x16xi64> -> tensor<f32>
// CHECK-NEXT: [[CROSS_ENTROPY_1:%.*]] = pz.cross_entropy [[LOGITS]], [[LABELS]] none : tensor<2x16x256xf32>, tensor<2x16xi64> -> tensor<2x16xf32>
// CHECK-NEXT: [[CROSS_ENTROPY_2:%.*]] = pz.cross_entropy [[LOGITS]], [[LABELS]] mean {ignore_index = 0 : i64} : tensor<2x16x256xf32>, tensor<2x16xi64> -> tensor<f32>
// CHECK-NEXT: return [[CROSS_ENTROPY]], [[CROSS_ENTROPY_0]], [[CROSS_ENTROPY_1]], [[CROSS_ENTROPY_2]] : tensor<f32>, tensor<f32>, tensor<2x16xf32>, tensor<f32>
func.func @cross_entropy(%logits: tensor<2x16x256xf32>, %labels: tensor<2x16xi64>) -> (tensor<f32>, tensor<f32>, tensor<2x16xf32>, tensor<f32>) {
  %0 = pz.cross_entropy %logits, %labels mean : tensor<2x16x256xf32>, tensor<2x16xi64> -> tensor<f32>
  %1 = pz.cross_entropy %logits, %labels sum : tensor<2x16x256xf32>, tensor<2x16xi64> -> tensor<f32>
  %2 = pz.cross_entropy %logits, %labels none : tensor<2x16x256xf32>, tensor<2x16xi64> -> tensor<2x16xf32>
  %3 = pz.cross_entropy %logits, %labels mean {ignore_index = 0 : i64} : tensor<2x16x256xf32>, tensor<2x16xi64> -> tensor<f32>
  return %0, %1, %2, %3 : tensor<f32>, tensor<f32>, tensor<2x16xf32>, tensor<f32>
}

// CHECK-LABEL: func.func @cross_entropy_other_types(
// CHECK-SAME: [[LOGITS:%[^:]+]]: tensor<?x10xbf16>, [[LABELS:%[^:]+]]: tensor<?xi32>, [[L1:%[^:]+]]: tensor<10xf64>, [[T1:%[^:]+]]: tensor<i64>) -> (tensor<?xbf16>, tensor<f64>)
// CHECK-NEXT: [[CROSS_ENTROPY:%.*]] = pz.cross_entropy [[LOGITS]], [[LABELS]] none : tensor<?x10xbf16>, tensor<?xi32> -> tensor<?xbf16>
// CHECK-NEXT: [[CROSS_ENTROPY_0:%.*]] = pz.cross_entropy [[L1]], [[T1]] sum : tensor<10xf64>, tensor<i64> -> tensor<f64>
// CHECK-NEXT: return [[CROSS_ENTROPY]], [[CROSS_ENTROPY_0]] : tensor<?xbf16>, tensor<f64>
func.func @cross_entropy_other_types(%logits: tensor<?x10xbf16>, %labels: tensor<?xi32>, %l1: tensor<10xf64>, %t1: tensor<i64>) -> (tensor<?xbf16>, tensor<f64>) {
  %0 = pz.cross_entropy %logits, %labels none : tensor<?x10xbf16>, tensor<?xi32> -> tensor<?xbf16>
  %1 = pz.cross_entropy %l1, %t1 sum : tensor<10xf64>, tensor<i64> -> tensor<f64>
  return %0, %1 : tensor<?xbf16>, tensor<f64>
}

// CHECK-LABEL: func.func @attention(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<2x4x16x8xf32>, [[K:%[^:]+]]: tensor<2x4x16x8xf32>, [[V:%[^:]+]]: tensor<2x4x16x8xf32>) -> (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>)
// CHECK-NEXT: [[ATTENTION:%.*]] = pz.attention [[Q]], [[K]], [[V]] : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
// CHECK-NEXT: [[ATTENTION_0:%.*]] = pz.attention [[Q]], [[K]], [[V]] {causal} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
// CHECK-NEXT: [[ATTENTION_1:%.*]] = pz.attention [[Q]], [[K]], [[V]] {causal, scale = 1.250000e-01 : f64} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
// CHECK-NEXT: return [[ATTENTION]], [[ATTENTION_0]], [[ATTENTION_1]] : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
func.func @attention(%q: tensor<2x4x16x8xf32>, %k: tensor<2x4x16x8xf32>, %v: tensor<2x4x16x8xf32>) -> (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) {
  %0 = pz.attention %q, %k, %v : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  %1 = pz.attention %q, %k, %v {causal} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  %2 = pz.attention %q, %k, %v {causal, scale = 1.250000e-01 : f64} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %0, %1, %2 : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
}

// CHECK-LABEL: func.func @attention_masks(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<2x4x16x8xf16>, [[K:%[^:]+]]: tensor<2x4x32x8xf16>, [[V:%[^:]+]]: tensor<2x4x32x4xf16>, [[BM:%[^:]+]]: tensor<16x32xi1>, [[FM:%[^:]+]]: tensor<2x1x16x32xf16>, [[FULL:%[^:]+]]: tensor<2x4x16x32xi1>) -> (tensor<2x4x16x4xf16>, tensor<2x4x16x4xf16>, tensor<2x4x16x4xf16>)
// CHECK-NEXT: [[ATTENTION:%.*]] = pz.attention [[Q]], [[K]], [[V]] mask([[BM]] : tensor<16x32xi1>) : tensor<2x4x16x8xf16>, tensor<2x4x32x8xf16>, tensor<2x4x32x4xf16> -> tensor<2x4x16x4xf16>
// CHECK-NEXT: [[ATTENTION_0:%.*]] = pz.attention [[Q]], [[K]], [[V]] mask([[FM]] : tensor<2x1x16x32xf16>) {causal} : tensor<2x4x16x8xf16>, tensor<2x4x32x8xf16>, tensor<2x4x32x4xf16> -> tensor<2x4x16x4xf16>
// CHECK-NEXT: [[ATTENTION_1:%.*]] = pz.attention [[Q]], [[K]], [[V]] mask([[FULL]] : tensor<2x4x16x32xi1>) {scale = 5.000000e-01 : f64} : tensor<2x4x16x8xf16>, tensor<2x4x32x8xf16>, tensor<2x4x32x4xf16> -> tensor<2x4x16x4xf16>
// CHECK-NEXT: return [[ATTENTION]], [[ATTENTION_0]], [[ATTENTION_1]] : tensor<2x4x16x4xf16>, tensor<2x4x16x4xf16>, tensor<2x4x16x4xf16>
func.func @attention_masks(%q: tensor<2x4x16x8xf16>, %k: tensor<2x4x32x8xf16>, %v: tensor<2x4x32x4xf16>, %bm: tensor<16x32xi1>, %fm: tensor<2x1x16x32xf16>, %full: tensor<2x4x16x32xi1>) -> (tensor<2x4x16x4xf16>, tensor<2x4x16x4xf16>, tensor<2x4x16x4xf16>) {
  %0 = pz.attention %q, %k, %v mask(%bm : tensor<16x32xi1>) : tensor<2x4x16x8xf16>, tensor<2x4x32x8xf16>, tensor<2x4x32x4xf16> -> tensor<2x4x16x4xf16>
  %1 = pz.attention %q, %k, %v mask(%fm : tensor<2x1x16x32xf16>) {causal} : tensor<2x4x16x8xf16>, tensor<2x4x32x8xf16>, tensor<2x4x32x4xf16> -> tensor<2x4x16x4xf16>
  %2 = pz.attention %q, %k, %v mask(%full : tensor<2x4x16x32xi1>) {scale = 5.000000e-01 : f64} : tensor<2x4x16x8xf16>, tensor<2x4x32x8xf16>, tensor<2x4x32x4xf16> -> tensor<2x4x16x4xf16>
  return %0, %1, %2 : tensor<2x4x16x4xf16>, tensor<2x4x16x4xf16>, tensor<2x4x16x4xf16>
}

// An additive position bias (ALiBi [1, H, 1, Sk]; a full [B, H, Sq, Sk]
// one next to a bool mask).
// CHECK-LABEL: func.func @attention_bias(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<2x4x16x8xf32>, [[A:%[^:]+]]: tensor<1x4x1x16xf32>, [[B:%[^:]+]]: tensor<2x4x16x16xf32>, [[M:%[^:]+]]: tensor<16x16xi1>)
// CHECK-NEXT: [[ATTENTION:%.*]] = pz.attention [[Q]], [[Q]], [[Q]] bias([[A]] : tensor<1x4x1x16xf32>) {causal} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
// CHECK-NEXT: [[ATTENTION_0:%.*]] = pz.attention [[Q]], [[Q]], [[Q]] mask([[M]] : tensor<16x16xi1>) bias([[B]] : tensor<2x4x16x16xf32>) : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
func.func @attention_bias(%q: tensor<2x4x16x8xf32>, %a: tensor<1x4x1x16xf32>, %b: tensor<2x4x16x16xf32>, %m: tensor<16x16xi1>) -> (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) {
  %0 = pz.attention %q, %q, %q bias(%a : tensor<1x4x1x16xf32>) {causal} : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  %1 = pz.attention %q, %q, %q mask(%m : tensor<16x16xi1>) bias(%b : tensor<2x4x16x16xf32>) : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x16x8xf32>
  return %0, %1 : tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
}

// Grouped-query attention: 8 query heads read 2 key/value heads.
// CHECK-LABEL: func.func @attention_gqa(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<1x8x16x64xbf16>, [[K:%[^:]+]]: tensor<1x2x16x64xbf16>, [[V:%[^:]+]]: tensor<1x2x16x64xbf16>) -> tensor<1x8x16x64xbf16>
// CHECK-NEXT: [[ATTENTION:%.*]] = pz.attention [[Q]], [[K]], [[V]] {causal} : tensor<1x8x16x64xbf16>, tensor<1x2x16x64xbf16>, tensor<1x2x16x64xbf16> -> tensor<1x8x16x64xbf16>
// CHECK-NEXT: return [[ATTENTION]] : tensor<1x8x16x64xbf16>
func.func @attention_gqa(%q: tensor<1x8x16x64xbf16>, %k: tensor<1x2x16x64xbf16>, %v: tensor<1x2x16x64xbf16>) -> tensor<1x8x16x64xbf16> {
  %0 = pz.attention %q, %k, %v {causal} : tensor<1x8x16x64xbf16>, tensor<1x2x16x64xbf16>, tensor<1x2x16x64xbf16> -> tensor<1x8x16x64xbf16>
  return %0 : tensor<1x8x16x64xbf16>
}

// CHECK-LABEL: func.func @attention_dynamic(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<?x4x?x8xf64>, [[K:%[^:]+]]: tensor<2x?x?x8xf64>, [[V:%[^:]+]]: tensor<?x?x?x16xf64>) -> tensor<2x4x?x16xf64>
// CHECK-NEXT: [[ATTENTION:%.*]] = pz.attention [[Q]], [[K]], [[V]] : tensor<?x4x?x8xf64>, tensor<2x?x?x8xf64>, tensor<?x?x?x16xf64> -> tensor<2x4x?x16xf64>
// CHECK-NEXT: return [[ATTENTION]] : tensor<2x4x?x16xf64>
func.func @attention_dynamic(%q: tensor<?x4x?x8xf64>, %k: tensor<2x?x?x8xf64>, %v: tensor<?x?x?x16xf64>) -> tensor<2x4x?x16xf64> {
  %0 = pz.attention %q, %k, %v : tensor<?x4x?x8xf64>, tensor<2x?x?x8xf64>, tensor<?x?x?x16xf64> -> tensor<2x4x?x16xf64>
  return %0 : tensor<2x4x?x16xf64>
}

// CHECK-LABEL: func.func @dropout(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x16x64xf32>, [[Y:%[^:]+]]: tensor<?xbf16>) -> (tensor<2x16x64xf32>, tensor<?xbf16>)
// CHECK-NEXT: [[DROPOUT:%.*]] = pz.dropout [[X]] {rate = 1.000000e-01 : f64, seed = 7 : i64} : tensor<2x16x64xf32>
// CHECK-NEXT: [[DROPOUT_0:%.*]] = pz.dropout [[Y]] {rate = 0.000000e+00 : f64, seed = -1 : i64} : tensor<?xbf16>
// CHECK-NEXT: return [[DROPOUT]], [[DROPOUT_0]] : tensor<2x16x64xf32>, tensor<?xbf16>
func.func @dropout(%x: tensor<2x16x64xf32>, %y: tensor<?xbf16>) -> (tensor<2x16x64xf32>, tensor<?xbf16>) {
  %0 = pz.dropout %x {rate = 1.0e-01 : f64, seed = 7 : i64} : tensor<2x16x64xf32>
  %1 = pz.dropout %y {rate = 0.0 : f64, seed = -1 : i64} : tensor<?xbf16>
  return %0, %1 : tensor<2x16x64xf32>, tensor<?xbf16>
}

// A block of a value split along dim 1 (sequence or context parallelism):
// the indices of its rows in the whole value.
// CHECK-LABEL: func.func @dropout_block(
// CHECK-NEXT: pz.dropout %{{.+}} indices(%{{.+}} : tensor<8xi64>) {global_shape = array<i64: 2, 16, 64>, rate = 1.000000e-01 : f64, seed = 7 : i64, split_dims = array<i64: 1>} : tensor<2x8x64xf32>
func.func @dropout_block(%x: tensor<2x8x64xf32>, %k: tensor<8xi64>) -> tensor<2x8x64xf32> {
  %0 = pz.dropout %x indices(%k : tensor<8xi64>) {global_shape = array<i64: 2, 16, 64>, rate = 1.0e-01 : f64, seed = 7 : i64, split_dims = array<i64: 1>} : tensor<2x8x64xf32>
  return %0 : tensor<2x8x64xf32>
}

//===----------------------------------------------------------------------===//
// Optimizer updates
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @sgd_update(
// CHECK-SAME: [[P:%[^:]+]]: tensor<64xf32>, [[G:%[^:]+]]: tensor<64xf32>, [[B:%[^:]+]]: tensor<64xf32>, [[LR:%[^:]+]]: tensor<f32>) -> (tensor<64xf32>, tensor<64xf32>)
// CHECK-NEXT: [[SGD_UPDATE_0:%[^,]+]], [[SGD_UPDATE_1:%[^ ]+]] = pz.sgd_update [[P]], [[G]], [[B]], [[LR]] {momentum = 9.000000e-01 : f64, weight_decay = 0.000000e+00 : f64} : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<f32>
// CHECK-NEXT: return [[SGD_UPDATE_0]], [[SGD_UPDATE_1]] : tensor<64xf32>, tensor<64xf32>
func.func @sgd_update(%p: tensor<64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>, %lr: tensor<f32>) -> (tensor<64xf32>, tensor<64xf32>) {
  %0:2 = pz.sgd_update %p, %g, %b, %lr {momentum = 9.0e-01 : f64, weight_decay = 0.0 : f64} : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<f32>
  return %0#0, %0#1 : tensor<64xf32>, tensor<64xf32>
}

// CHECK-LABEL: func.func @sgd_update_bf16(
// CHECK-SAME: [[P:%[^:]+]]: tensor<4x?xbf16>, [[LR:%[^:]+]]: tensor<f32>) -> tensor<4x?xbf16>
// CHECK-NEXT: [[SGD_UPDATE_0:%[^,]+]], [[SGD_UPDATE_1:%[^ ]+]] = pz.sgd_update [[P]], [[P]], [[P]], [[LR]] {momentum = 0.000000e+00 : f64, weight_decay = 1.000000e-02 : f64} : tensor<4x?xbf16>, tensor<4x?xbf16>, tensor<4x?xbf16>, tensor<f32>
// CHECK-NEXT: return [[SGD_UPDATE_1]] : tensor<4x?xbf16>
func.func @sgd_update_bf16(%p: tensor<4x?xbf16>, %lr: tensor<f32>) -> tensor<4x?xbf16> {
  %0:2 = pz.sgd_update %p, %p, %p, %lr {momentum = 0.0 : f64, weight_decay = 1.0e-02 : f64} : tensor<4x?xbf16>, tensor<4x?xbf16>, tensor<4x?xbf16>, tensor<f32>
  return %0#1 : tensor<4x?xbf16>
}

// The operands' shapes need only be compatible; the results take the most
// static shape of them.
// CHECK-LABEL: func.func @sgd_update_joins_shapes(
// CHECK-SAME: [[P:%[^:]+]]: tensor<?x4xf32>, [[G:%[^:]+]]: tensor<2x?xf32>, [[B:%[^:]+]]: tensor<?x?xf32>, [[LR:%[^:]+]]: tensor<f32>) -> (tensor<2x4xf32>, tensor<2x4xf32>)
// CHECK-NEXT: [[SGD_UPDATE_0:%[^,]+]], [[SGD_UPDATE_1:%[^ ]+]] = pz.sgd_update [[P]], [[G]], [[B]], [[LR]] {momentum = 9.000000e-01 : f64, weight_decay = 0.000000e+00 : f64} : tensor<?x4xf32>, tensor<2x?xf32>, tensor<?x?xf32>, tensor<f32>
// CHECK-NEXT: return [[SGD_UPDATE_0]], [[SGD_UPDATE_1]] : tensor<2x4xf32>, tensor<2x4xf32>
func.func @sgd_update_joins_shapes(%p: tensor<?x4xf32>, %g: tensor<2x?xf32>, %b: tensor<?x?xf32>, %lr: tensor<f32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %0:2 = pz.sgd_update %p, %g, %b, %lr {momentum = 9.0e-01 : f64, weight_decay = 0.0 : f64} : tensor<?x4xf32>, tensor<2x?xf32>, tensor<?x?xf32>, tensor<f32>
  return %0#0, %0#1 : tensor<2x4xf32>, tensor<2x4xf32>
}

// CHECK-LABEL: func.func @adamw_update(
// CHECK-SAME: [[P:%[^:]+]]: tensor<64xf32>, [[G:%[^:]+]]: tensor<64xf32>, [[M:%[^:]+]]: tensor<64xf32>, [[V:%[^:]+]]: tensor<64xf32>, [[LR:%[^:]+]]: tensor<f32>, [[T:%[^:]+]]: tensor<i64>, [[T32:%[^:]+]]: tensor<i32>) -> (tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>)
// CHECK-NEXT: [[ADAMW_UPDATE_0:%[^,]+]], [[ADAMW_UPDATE_1:%[^,]+]], [[ADAMW_UPDATE_2:%[^ ]+]] = pz.adamw_update [[P]], [[G]], [[M]], [[V]], [[LR]], [[T]] {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64} : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<f32>, tensor<i64>
// CHECK-NEXT: [[ADAMW_UPDATE_0_0:%[^,]+]], [[ADAMW_UPDATE_1_1:%[^,]+]], [[ADAMW_UPDATE_2_2:%[^ ]+]] = pz.adamw_update [[ADAMW_UPDATE_0]], [[G]], [[ADAMW_UPDATE_1]], [[ADAMW_UPDATE_2]], [[LR]], [[T32]] {beta1 = 0.000000e+00 : f64, beta2 = 0.000000e+00 : f64, eps = 9.9999999999999995E-7 : f64, weight_decay = 0.000000e+00 : f64} : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<f32>, tensor<i32>
// CHECK-NEXT: return [[ADAMW_UPDATE_0_0]], [[ADAMW_UPDATE_1_1]], [[ADAMW_UPDATE_2_2]], [[ADAMW_UPDATE_0]] : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
func.func @adamw_update(%p: tensor<64xf32>, %g: tensor<64xf32>, %m: tensor<64xf32>, %v: tensor<64xf32>, %lr: tensor<f32>, %t: tensor<i64>, %t32: tensor<i32>) -> (tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>) {
  %0:3 = pz.adamw_update %p, %g, %m, %v, %lr, %t {beta1 = 9.0e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.0e-08 : f64, weight_decay = 1.0e-02 : f64} : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<f32>, tensor<i64>
  %1:3 = pz.adamw_update %0#0, %g, %0#1, %0#2, %lr, %t32 {beta1 = 0.0 : f64, beta2 = 0.0 : f64, eps = 1.0e-06 : f64, weight_decay = 0.0 : f64} : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<f32>, tensor<i32>
  return %1#0, %1#1, %1#2, %0#0 : tensor<64xf32>, tensor<64xf32>, tensor<64xf32>, tensor<64xf32>
}

// CHECK-LABEL: func.func @adamw_update_dynamic(
// CHECK-SAME: [[P:%[^:]+]]: tensor<?x8xf16>, [[G:%[^:]+]]: tensor<3x8xf16>, [[LR:%[^:]+]]: tensor<f32>, [[T:%[^:]+]]: tensor<i64>) -> tensor<3x8xf16>
// CHECK-NEXT: [[ADAMW_UPDATE_0:%[^,]+]], [[ADAMW_UPDATE_1:%[^,]+]], [[ADAMW_UPDATE_2:%[^ ]+]] = pz.adamw_update [[P]], [[G]], [[P]], [[P]], [[LR]], [[T]] {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, weight_decay = 0.000000e+00 : f64} : tensor<?x8xf16>, tensor<3x8xf16>, tensor<?x8xf16>, tensor<?x8xf16>, tensor<f32>, tensor<i64>
// CHECK-NEXT: return [[ADAMW_UPDATE_2]] : tensor<3x8xf16>
func.func @adamw_update_dynamic(%p: tensor<?x8xf16>, %g: tensor<3x8xf16>, %lr: tensor<f32>, %t: tensor<i64>) -> tensor<3x8xf16> {
  %0:3 = pz.adamw_update %p, %g, %p, %p, %lr, %t {beta1 = 9.0e-01 : f64, beta2 = 9.990000e-01 : f64, eps = 1.0e-08 : f64, weight_decay = 0.0 : f64} : tensor<?x8xf16>, tensor<3x8xf16>, tensor<?x8xf16>, tensor<?x8xf16>, tensor<f32>, tensor<i64>
  return %0#2 : tensor<3x8xf16>
}

//===----------------------------------------------------------------------===//
// Discardable attributes
//===----------------------------------------------------------------------===//

// CHECK-LABEL: func.func @marked(
// CHECK-SAME: [[WTE:%[^:]+]]: tensor<256x64xf32> {pz.param = "transformer.wte.weight"}, [[LN:%[^:]+]]: tensor<64xbf16> {pz.param = "ln_f.weight"}, [[IDS:%[^:]+]]: tensor<?x16xi64> {pz.input = "input_ids"}, [[LABELS:%[^:]+]]: tensor<?x16xi64> {pz.input = "labels"}) -> (tensor<f32> {pz.output = "loss"}, tensor<?x16x256xf32> {pz.output = "logits"})
// CHECK-NEXT: [[EMBEDDING:%.*]] = pz.embedding [[WTE]], [[IDS]] : tensor<256x64xf32>, tensor<?x16xi64> -> tensor<?x16x64xf32>
// CHECK-NEXT: [[MATMUL:%.*]] = pz.matmul [[EMBEDDING]], [[WTE]] {transpose_rhs} : tensor<?x16x64xf32>, tensor<256x64xf32> -> tensor<?x16x256xf32>
// CHECK-NEXT: [[CROSS_ENTROPY:%.*]] = pz.cross_entropy [[MATMUL]], [[LABELS]] mean : tensor<?x16x256xf32>, tensor<?x16xi64> -> tensor<f32>
// CHECK-NEXT: return [[CROSS_ENTROPY]], [[MATMUL]] : tensor<f32>, tensor<?x16x256xf32>
func.func @marked(%wte: tensor<256x64xf32> {pz.param = "transformer.wte.weight"}, %ln: tensor<64xbf16> {pz.param = "ln_f.weight"}, %ids: tensor<?x16xi64> {pz.input = "input_ids"}, %labels: tensor<?x16xi64> {pz.input = "labels"}) -> (tensor<f32> {pz.output = "loss"}, tensor<?x16x256xf32> {pz.output = "logits"}) {
  %0 = pz.embedding %wte, %ids : tensor<256x64xf32>, tensor<?x16xi64> -> tensor<?x16x64xf32>
  %1 = pz.matmul %0, %wte {transpose_rhs} : tensor<?x16x64xf32>, tensor<256x64xf32> -> tensor<?x16x256xf32>
  %2 = pz.cross_entropy %1, %labels mean : tensor<?x16x256xf32>, tensor<?x16xi64> -> tensor<f32>
  return %2, %1 : tensor<f32>, tensor<?x16x256xf32>
}

// The same name may mark a parameter in one function and an input in
// another, and pz.param and pz.input names live apart.
// CHECK-LABEL: func.func @marked_names(
// CHECK-SAME: [[A:%[^:]+]]: tensor<4xf32> {pz.param = "w"}, [[B:%[^:]+]]: tensor<4xf32> {pz.input = "w"}) -> tensor<4xf32>
// CHECK-NEXT: return [[A]] : tensor<4xf32>
func.func @marked_names(%a: tensor<4xf32> {pz.param = "w"}, %b: tensor<4xf32> {pz.input = "w"}) -> tensor<4xf32> {
  return %a : tensor<4xf32>
}

// Gradients and optimizer state are marked too, and a function may carry
// its learning-rate schedule.
// CHECK-LABEL: func.func @optimizer_marks(
// CHECK-SAME: [[W:%[^:]+]]: tensor<4xf32> {pz.param = "w"}, [[G:%[^:]+]]: tensor<4xf32> {pz.grad = "w"}, [[M:%[^:]+]]: tensor<4xf32> {pz.state = "exp_avg:w"}) -> (tensor<4xf32> {pz.param = "w"}, tensor<4xf32> {pz.state = "exp_avg:w"}, tensor<4xf32> {pz.grad = "w"}) attributes {pz.lr_schedule = #pz.lr_schedule<kind = cosine, lr = 3.000000e-04, warmup_steps = 100, total_steps = 1000>}
// CHECK-NEXT: return [[W]], [[M]], [[G]] : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
func.func @optimizer_marks(%w: tensor<4xf32> {pz.param = "w"}, %g: tensor<4xf32> {pz.grad = "w"}, %m: tensor<4xf32> {pz.state = "exp_avg:w"}) -> (tensor<4xf32> {pz.param = "w"}, tensor<4xf32> {pz.state = "exp_avg:w"}, tensor<4xf32> {pz.grad = "w"}) attributes {pz.lr_schedule = #pz.lr_schedule<kind = cosine, lr = 3.000000e-04, warmup_steps = 100, total_steps = 1000>} {
  return %w, %m, %g : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// CHECK-LABEL: func.func private @declaration(
// CHECK-SAME: tensor<4xf64> {pz.param = "w"}, tensor<2xi32> {pz.input = "ids"}) -> (tensor<f32> {pz.output = "loss"})
func.func private @declaration(tensor<4xf64> {pz.param = "w"}, tensor<2xi32> {pz.input = "ids"}) -> (tensor<f32> {pz.output = "loss"})

// CHECK-LABEL: module @plan_default attributes {pz.plan = #pz.plan<>} {
module @plan_default attributes {pz.plan = #pz.plan<>} {
}

// CHECK-LABEL: module @plan_defaults_elided attributes {pz.plan = #pz.plan<>} {
module @plan_defaults_elided attributes {pz.plan = #pz.plan<dp_replicate = 1, dp_shard = 1, zero = 0, tp = 1, sp = false, cp = 1, pp = 1, schedule = "1f1b", grad_accum = 1, virtual_stages = 1, stage_boundaries = [], recompute = "none", precision = "fp32", bucket_mb = 25>} {
}

// CHECK-LABEL: module @plan_3d attributes {pz.plan = #pz.plan<dp_replicate = 2, tp = 2, sp = true>} {
module @plan_3d attributes {pz.plan = #pz.plan<dp_replicate = 2, tp = 2, sp = true>} {
}

// CHECK-LABEL: module @plan_every_key attributes {pz.plan = #pz.plan<dp_replicate = 2, dp_shard = 4, zero = 3, tp = 2, sp = true, cp = 2, pp = 4, schedule = "interleaved", grad_accum = 8, virtual_stages = 2, recompute = "selective", precision = "bf16">} {
module @plan_every_key attributes {pz.plan = #pz.plan<dp_replicate = 2, dp_shard = 4, zero = 3, tp = 2, sp = true, cp = 2, pp = 4, schedule = "interleaved", grad_accum = 8, virtual_stages = 2, recompute = "selective", precision = "bf16">} {
}

// CHECK-LABEL: module @plan_keys_any_order attributes {pz.plan = #pz.plan<dp_shard = 2, zero = 1, pp = 2, schedule = "zb", recompute = "full", precision = "fp16">} {
module @plan_keys_any_order attributes {pz.plan = #pz.plan<precision = "fp16", recompute = "full", pp = 2, schedule = "zb", zero = 1, dp_shard = 2>} {
}

// CHECK-LABEL: module @plan_gpipe attributes {pz.plan = #pz.plan<pp = 2, schedule = "gpipe", grad_accum = 4>} {
module @plan_gpipe attributes {pz.plan = #pz.plan<pp = 2, schedule = "gpipe", grad_accum = 4>} {
}

// CHECK-LABEL: module @plan_stage_boundaries attributes {pz.plan = #pz.plan<pp = 3, grad_accum = 4, stage_boundaries = ["h.2", "h.5"]>} {
module @plan_stage_boundaries attributes {pz.plan = #pz.plan<stage_boundaries = ["h.2", "h.5"], pp = 3, grad_accum = 4>} {
}

// CHECK-LABEL: module @plan_stage_boundaries_interleaved attributes {pz.plan = #pz.plan<pp = 2, schedule = "interleaved", grad_accum = 2, virtual_stages = 2, stage_boundaries = ["h.1", "h.2", "h.3"]>} {
module @plan_stage_boundaries_interleaved attributes {pz.plan = #pz.plan<pp = 2, schedule = "interleaved", grad_accum = 2, virtual_stages = 2, stage_boundaries = ["h.1", "h.2", "h.3"]>} {
}

// recompute as a list of layers; an empty list is none.
// CHECK-LABEL: module @plan_recompute_layers attributes {pz.plan = #pz.plan<pp = 2, recompute = ["h.0", "h.2"]>} {
module @plan_recompute_layers attributes {pz.plan = #pz.plan<recompute = ["h.0", "h.2"], pp = 2>} {
}

// CHECK-LABEL: module @plan_recompute_empty_list attributes {pz.plan = #pz.plan<>} {
module @plan_recompute_empty_list attributes {pz.plan = #pz.plan<recompute = []>} {
}
