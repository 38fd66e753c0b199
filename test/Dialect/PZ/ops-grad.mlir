// RUN: parallelize-opt %s | parallelize-opt | FileCheck %s
// RUN: parallelize-opt %s -mlir-print-op-generic | parallelize-opt | FileCheck %s

// Round trip of the gradient-only ops (PZGradOps.td), in each of their
// forms. layer_norm_grad and rms_norm_grad are in known-bugs-10.mlir: their
// custom form crashes the parser.

// CHECK-LABEL: func.func @gelu_grad(
// CHECK-SAME: [[G:%[^:]+]]: tensor<4x8xf32>, [[X:%[^:]+]]: tensor<4x8xf32>, [[H:%[^:]+]]: tensor<?xbf16>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<?xbf16>)
// CHECK-NEXT: [[GELU_GRAD:%.*]] = pz.gelu_grad [[G]], [[X]] erf : tensor<4x8xf32>
// CHECK-NEXT: [[GELU_GRAD_0:%.*]] = pz.gelu_grad [[G]], [[X]] tanh : tensor<4x8xf32>
// CHECK-NEXT: [[GELU_GRAD_1:%.*]] = pz.gelu_grad [[H]], [[H]] tanh : tensor<?xbf16>
// CHECK-NEXT: return [[GELU_GRAD]], [[GELU_GRAD_0]], [[GELU_GRAD_1]] : tensor<4x8xf32>, tensor<4x8xf32>, tensor<?xbf16>
func.func @gelu_grad(%g: tensor<4x8xf32>, %x: tensor<4x8xf32>, %h: tensor<?xbf16>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<?xbf16>) {
  %0 = pz.gelu_grad %g, %x erf : tensor<4x8xf32>
  %1 = pz.gelu_grad %g, %x tanh : tensor<4x8xf32>
  %2 = pz.gelu_grad %h, %h tanh : tensor<?xbf16>
  return %0, %1, %2 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<?xbf16>
}

// CHECK-LABEL: func.func @relu_grad(
// CHECK-SAME: [[G:%[^:]+]]: tensor<4x8xf16>, [[X:%[^:]+]]: tensor<4x8xf16>) -> tensor<4x8xf16>
// CHECK-NEXT: [[RELU_GRAD:%.*]] = pz.relu_grad [[G]], [[X]] : tensor<4x8xf16>
// CHECK-NEXT: return [[RELU_GRAD]] : tensor<4x8xf16>
func.func @relu_grad(%g: tensor<4x8xf16>, %x: tensor<4x8xf16>) -> tensor<4x8xf16> {
  %0 = pz.relu_grad %g, %x : tensor<4x8xf16>
  return %0 : tensor<4x8xf16>
}

// CHECK-LABEL: func.func @reduce_max_grad(
// CHECK-SAME: [[G:%[^:]+]]: tensor<4xf32>, [[GK:%[^:]+]]: tensor<4x1xf32>, [[X:%[^:]+]]: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK-NEXT: [[REDUCE_MAX_GRAD:%.*]] = pz.reduce_max_grad [[G]], [[X]] [1] : tensor<4xf32>, tensor<4x8xf32>
// CHECK-NEXT: [[REDUCE_MAX_GRAD_0:%.*]] = pz.reduce_max_grad [[GK]], [[X]] [1] {keepdims} : tensor<4x1xf32>, tensor<4x8xf32>
// CHECK-NEXT: return [[REDUCE_MAX_GRAD]], [[REDUCE_MAX_GRAD_0]] : tensor<4x8xf32>, tensor<4x8xf32>
func.func @reduce_max_grad(%g: tensor<4xf32>, %gk: tensor<4x1xf32>, %x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = pz.reduce_max_grad %g, %x [1] : tensor<4xf32>, tensor<4x8xf32>
  %1 = pz.reduce_max_grad %gk, %x [1] {keepdims} : tensor<4x1xf32>, tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// CHECK-LABEL: func.func @slice_grad(
// CHECK-SAME: [[G:%[^:]+]]: tensor<16x64xf32>, [[I:%[^:]+]]: tensor<4xi64>) -> (tensor<16x192xf32>, tensor<10xi64>, tensor<10xi64>)
// CHECK-NEXT: [[SLICE_GRAD:%.*]] = pz.slice_grad [[G]] [16, 192] starts [0, 64] ends [16, 128] steps [1, 1] : tensor<16x64xf32> -> tensor<16x192xf32>
// CHECK-NEXT: [[SLICE_GRAD_0:%.*]] = pz.slice_grad [[I]] [10] starts [1] ends [9] steps [2] : tensor<4xi64> -> tensor<10xi64>
// CHECK-NEXT: [[SLICE_GRAD_1:%.*]] = pz.slice_grad [[I]] [10] starts [9] ends [-1] steps [-3] : tensor<4xi64> -> tensor<10xi64>
// CHECK-NEXT: return [[SLICE_GRAD]], [[SLICE_GRAD_0]], [[SLICE_GRAD_1]] : tensor<16x192xf32>, tensor<10xi64>, tensor<10xi64>
func.func @slice_grad(%g: tensor<16x64xf32>, %i: tensor<4xi64>) -> (tensor<16x192xf32>, tensor<10xi64>, tensor<10xi64>) {
  %0 = pz.slice_grad %g [16, 192] starts [0, 64] ends [16, 128] steps [1, 1] : tensor<16x64xf32> -> tensor<16x192xf32>
  %1 = pz.slice_grad %i [10] starts [1] ends [9] steps [2] : tensor<4xi64> -> tensor<10xi64>
  %2 = pz.slice_grad %i [10] starts [9] ends [-1] steps [-3] : tensor<4xi64> -> tensor<10xi64>
  return %0, %1, %2 : tensor<16x192xf32>, tensor<10xi64>, tensor<10xi64>
}

// CHECK-LABEL: func.func @gather_grad(
// CHECK-SAME: [[G:%[^:]+]]: tensor<3x4xf32>, [[I:%[^:]+]]: tensor<3xi64>, [[G2:%[^:]+]]: tensor<10x2x2xf16>, [[J:%[^:]+]]: tensor<2x2xi32>) -> (tensor<10x4xf32>, tensor<10x4xf16>)
// CHECK-NEXT: [[GATHER_GRAD:%.*]] = pz.gather_grad [[G]], [[I]] [10, 4] {axis = 0 : i64} : tensor<3x4xf32>, tensor<3xi64> -> tensor<10x4xf32>
// CHECK-NEXT: [[GATHER_GRAD_0:%.*]] = pz.gather_grad [[G2]], [[J]] [10, 4] {axis = 1 : i64} : tensor<10x2x2xf16>, tensor<2x2xi32> -> tensor<10x4xf16>
// CHECK-NEXT: return [[GATHER_GRAD]], [[GATHER_GRAD_0]] : tensor<10x4xf32>, tensor<10x4xf16>
func.func @gather_grad(%g: tensor<3x4xf32>, %i: tensor<3xi64>, %g2: tensor<10x2x2xf16>, %j: tensor<2x2xi32>) -> (tensor<10x4xf32>, tensor<10x4xf16>) {
  %0 = pz.gather_grad %g, %i [10, 4] {axis = 0 : i64} : tensor<3x4xf32>, tensor<3xi64> -> tensor<10x4xf32>
  %1 = pz.gather_grad %g2, %j [10, 4] {axis = 1 : i64} : tensor<10x2x2xf16>, tensor<2x2xi32> -> tensor<10x4xf16>
  return %0, %1 : tensor<10x4xf32>, tensor<10x4xf16>
}

// CHECK-LABEL: func.func @embedding_grad(
// CHECK-SAME: [[G:%[^:]+]]: tensor<2x16x64xf32>, [[IDS:%[^:]+]]: tensor<2x16xi64>, [[G2:%[^:]+]]: tensor<?x8xbf16>, [[IDS2:%[^:]+]]: tensor<?xi32>) -> (tensor<256x64xf32>, tensor<100x8xbf16>)
// CHECK-NEXT: [[EMBEDDING_GRAD:%.*]] = pz.embedding_grad [[G]], [[IDS]] {vocab = 256 : i64} : tensor<2x16x64xf32>, tensor<2x16xi64> -> tensor<256x64xf32>
// CHECK-NEXT: [[EMBEDDING_GRAD_0:%.*]] = pz.embedding_grad [[G2]], [[IDS2]] {vocab = 100 : i64} : tensor<?x8xbf16>, tensor<?xi32> -> tensor<100x8xbf16>
// CHECK-NEXT: return [[EMBEDDING_GRAD]], [[EMBEDDING_GRAD_0]] : tensor<256x64xf32>, tensor<100x8xbf16>
func.func @embedding_grad(%g: tensor<2x16x64xf32>, %ids: tensor<2x16xi64>, %g2: tensor<?x8xbf16>, %ids2: tensor<?xi32>) -> (tensor<256x64xf32>, tensor<100x8xbf16>) {
  %0 = pz.embedding_grad %g, %ids {vocab = 256 : i64} : tensor<2x16x64xf32>, tensor<2x16xi64> -> tensor<256x64xf32>
  %1 = pz.embedding_grad %g2, %ids2 {vocab = 100 : i64} : tensor<?x8xbf16>, tensor<?xi32> -> tensor<100x8xbf16>
  return %0, %1 : tensor<256x64xf32>, tensor<100x8xbf16>
}

// CHECK-LABEL: func.func @cross_entropy_grad(
// CHECK-SAME: [[G:%[^:]+]]: tensor<f32>, [[GT:%[^:]+]]: tensor<2x16xf32>, [[LOGITS:%[^:]+]]: tensor<2x16x256xf32>, [[LABELS:%[^:]+]]: tensor<2x16xi64>) -> (tensor<2x16x256xf32>, tensor<2x16x256xf32>, tensor<2x16x256xf32>)
// CHECK-NEXT: [[CROSS_ENTROPY_GRAD:%.*]] = pz.cross_entropy_grad [[G]], [[LOGITS]], [[LABELS]] mean : tensor<f32>, tensor<2x16x256xf32>, tensor<2x16xi64>
// CHECK-NEXT: [[CROSS_ENTROPY_GRAD_0:%.*]] = pz.cross_entropy_grad [[G]], [[LOGITS]], [[LABELS]] sum {ignore_index = 0 : i64} : tensor<f32>, tensor<2x16x256xf32>, tensor<2x16xi64>
// CHECK-NEXT: [[CROSS_ENTROPY_GRAD_1:%.*]] = pz.cross_entropy_grad [[GT]], [[LOGITS]], [[LABELS]] none : tensor<2x16xf32>, tensor<2x16x256xf32>, tensor<2x16xi64>
// CHECK-NEXT: return [[CROSS_ENTROPY_GRAD]], [[CROSS_ENTROPY_GRAD_0]], [[CROSS_ENTROPY_GRAD_1]] : tensor<2x16x256xf32>, tensor<2x16x256xf32>, tensor<2x16x256xf32>
func.func @cross_entropy_grad(%g: tensor<f32>, %gt: tensor<2x16xf32>, %logits: tensor<2x16x256xf32>, %labels: tensor<2x16xi64>) -> (tensor<2x16x256xf32>, tensor<2x16x256xf32>, tensor<2x16x256xf32>) {
  %0 = pz.cross_entropy_grad %g, %logits, %labels mean : tensor<f32>, tensor<2x16x256xf32>, tensor<2x16xi64>
  %1 = pz.cross_entropy_grad %g, %logits, %labels sum {ignore_index = 0 : i64} : tensor<f32>, tensor<2x16x256xf32>, tensor<2x16xi64>
  %2 = pz.cross_entropy_grad %gt, %logits, %labels none : tensor<2x16xf32>, tensor<2x16x256xf32>, tensor<2x16xi64>
  return %0, %1, %2 : tensor<2x16x256xf32>, tensor<2x16x256xf32>, tensor<2x16x256xf32>
}

// CHECK-LABEL: func.func @attention_grad(
// CHECK-SAME: [[G:%[^:]+]]: tensor<2x8x16x32xf32>, [[Q:%[^:]+]]: tensor<2x8x16x32xf32>, [[KV:%[^:]+]]: tensor<2x2x16x32xf32>, [[M:%[^:]+]]: tensor<16x16xi1>, [[FM:%[^:]+]]: tensor<2x1x16x16xf32>) -> (tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x8x16x32xf32>)
// CHECK-NEXT: [[ATTENTION_GRAD_0:%[^,]+]], [[ATTENTION_GRAD_1:%[^,]+]], [[ATTENTION_GRAD_2:%[^ ]+]] = pz.attention_grad [[G]], [[Q]], [[KV]], [[KV]] {causal} : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>
// CHECK-NEXT: [[ATTENTION_GRAD_0_0:%[^,]+]], [[ATTENTION_GRAD_1_1:%[^,]+]], [[ATTENTION_GRAD_2_2:%[^ ]+]] = pz.attention_grad [[G]], [[Q]], [[KV]], [[KV]] mask([[M]] : tensor<16x16xi1>) {scale = 1.250000e-01 : f64} : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>
// CHECK-NEXT: [[ATTENTION_GRAD_0_3:%[^,]+]], [[ATTENTION_GRAD_1_4:%[^,]+]], [[ATTENTION_GRAD_2_5:%[^ ]+]] = pz.attention_grad [[G]], [[Q]], [[KV]], [[KV]] mask([[FM]] : tensor<2x1x16x16xf32>) {causal} : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>
// CHECK-NEXT: return [[ATTENTION_GRAD_0]], [[ATTENTION_GRAD_1_1]], [[ATTENTION_GRAD_2_5]], [[ATTENTION_GRAD_0_3]] : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x8x16x32xf32>
func.func @attention_grad(%g: tensor<2x8x16x32xf32>, %q: tensor<2x8x16x32xf32>, %kv: tensor<2x2x16x32xf32>, %m: tensor<16x16xi1>, %fm: tensor<2x1x16x16xf32>) -> (tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x8x16x32xf32>) {
  %0:3 = pz.attention_grad %g, %q, %kv, %kv {causal} : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>
  %1:3 = pz.attention_grad %g, %q, %kv, %kv mask(%m : tensor<16x16xi1>) {scale = 1.250000e-01 : f64} : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>
  %2:3 = pz.attention_grad %g, %q, %kv, %kv mask(%fm : tensor<2x1x16x16xf32>) {causal} : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>
  return %0#0, %1#1, %2#2, %2#0 : tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x8x16x32xf32>
}

// CHECK-LABEL: func.func @attention_bias_grad(
// CHECK: pz.attention_bias_grad %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} mask(%{{.+}} : tensor<16x16xi1>) bias(%{{.+}} : tensor<1x8x1x16xf32>) {causal} : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>
// CHECK: pz.attention_bias_grad %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} bias(%{{.+}} : tensor<16x16xf32>) {scale = 5.000000e-01 : f64} :
func.func @attention_bias_grad(%g: tensor<2x8x16x32xf32>, %q: tensor<2x8x16x32xf32>, %kv: tensor<2x2x16x32xf32>, %m: tensor<16x16xi1>, %b: tensor<1x8x1x16xf32>, %c: tensor<16x16xf32>) -> (tensor<1x8x1x16xf32>, tensor<16x16xf32>) {
  %0 = pz.attention_bias_grad %g, %q, %kv, %kv mask(%m : tensor<16x16xi1>) bias(%b : tensor<1x8x1x16xf32>) {causal} : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>
  %1 = pz.attention_bias_grad %g, %q, %kv, %kv bias(%c : tensor<16x16xf32>) {scale = 0.5 : f64} : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>
  return %0, %1 : tensor<1x8x1x16xf32>, tensor<16x16xf32>
}

// CHECK-LABEL: func.func @attention_grad_bias(
// CHECK: pz.attention_grad %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} mask(%{{.+}} : tensor<16x16xi1>) bias(%{{.+}} : tensor<1x8x1x16xf32>) {causal} : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>
func.func @attention_grad_bias(%g: tensor<2x8x16x32xf32>, %q: tensor<2x8x16x32xf32>, %kv: tensor<2x2x16x32xf32>, %m: tensor<16x16xi1>, %b: tensor<1x8x1x16xf32>) -> tensor<2x8x16x32xf32> {
  %0:3 = pz.attention_grad %g, %q, %kv, %kv mask(%m : tensor<16x16xi1>) bias(%b : tensor<1x8x1x16xf32>) {causal} : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x16x32xf32>, tensor<2x2x16x32xf32>
  return %0#0 : tensor<2x8x16x32xf32>
}

// One block of ring attention (context parallelism) and its gradient: with
// positions (causal), with a padding mask, and with neither.
// CHECK-LABEL: func.func @attention_block(
// CHECK: pz.attention_block %{{.+}}, %{{.+}}, %{{.+}} into %{{.+}}, %{{.+}} positions(%{{.+}}, %{{.+}} : tensor<16xi64>, tensor<8xi64>) : tensor<2x8x16x32xf32>, tensor<2x2x8x32xf32>, tensor<2x2x8x32xf32>, tensor<2x8x16x32xf32>, tensor<2x8x16xf32>
// CHECK: pz.attention_block %{{.+}}, %{{.+}}, %{{.+}} into %{{.+}}, %{{.+}} mask(%{{.+}} : tensor<2x1x1x8xf32>) {scale = 1.250000e-01 : f64} : tensor<2x8x16x32xf32>
// CHECK: pz.attention_block_grad %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} positions(%{{.+}}, %{{.+}} : tensor<16xi64>, tensor<8xi64>) : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x8x32xf32>, tensor<2x2x8x32xf32>, tensor<2x8x16xf32>
// CHECK: pz.attention_block_grad %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}} : tensor<2x8x16x32xf32>
func.func @attention_block(%q: tensor<2x8x16x32xf32>, %kv: tensor<2x2x8x32xf32>, %acc: tensor<2x8x16x32xf32>, %lse: tensor<2x8x16xf32>, %qp: tensor<16xi64>, %kp: tensor<8xi64>, %m: tensor<2x1x1x8xf32>) -> (tensor<2x8x16x32xf32>, tensor<2x8x16xf32>, tensor<2x2x8x32xf32>, tensor<2x8x16x32xf32>) {
  %0:2 = pz.attention_block %q, %kv, %kv into %acc, %lse positions(%qp, %kp : tensor<16xi64>, tensor<8xi64>) : tensor<2x8x16x32xf32>, tensor<2x2x8x32xf32>, tensor<2x2x8x32xf32>, tensor<2x8x16x32xf32>, tensor<2x8x16xf32>
  %1:2 = pz.attention_block %q, %kv, %kv into %0#0, %0#1 mask(%m : tensor<2x1x1x8xf32>) {scale = 1.250000e-01 : f64} : tensor<2x8x16x32xf32>, tensor<2x2x8x32xf32>, tensor<2x2x8x32xf32>, tensor<2x8x16x32xf32>, tensor<2x8x16xf32>
  %2:3 = pz.attention_block_grad %acc, %q, %kv, %kv, %1#0, %1#1 positions(%qp, %kp : tensor<16xi64>, tensor<8xi64>) : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x8x32xf32>, tensor<2x2x8x32xf32>, tensor<2x8x16xf32>
  %3:3 = pz.attention_block_grad %acc, %q, %kv, %kv, %1#0, %1#1 : tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x2x8x32xf32>, tensor<2x2x8x32xf32>, tensor<2x8x16xf32>
  return %1#0, %1#1, %2#1, %3#0 : tensor<2x8x16x32xf32>, tensor<2x8x16xf32>, tensor<2x2x8x32xf32>, tensor<2x8x16x32xf32>
}
