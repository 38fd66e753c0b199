// RUN: parallelize-opt %s -pz-set-input-shapes="shapes=x=8x64,labels=8" -pz-infer-shapes | FileCheck %s

// The --input-shape pipeline: pz-set-input-shapes fixes the dims of the
// named data inputs, pz-infer-shapes carries them through the graph and
// into the function signature.

// CHECK-LABEL: func.func @attention_block(
// CHECK-SAME: [[X:%[^:]+]]: tensor<8x64xf32> {pz.input = "x"}, [[LABELS:%[^:]+]]: tensor<8xi64> {pz.input = "labels"}, [[WQKV:%[^:]+]]: tensor<64x192xf32> {pz.param = "qkv.weight"}, [[LN:%[^:]+]]: tensor<192xf32> {pz.param = "ln.weight"}, [[WOUT:%[^:]+]]: tensor<384x256xf32> {pz.param = "out.weight"}) -> (tensor<f32> {pz.output = "loss"}, tensor<8x256xf32> {pz.output = "logits"}, tensor<8xf32> {pz.output = "token_loss"})
// CHECK-NEXT: [[MATMUL:%.*]] = pz.matmul [[X]], [[WQKV]] : tensor<8x64xf32>, tensor<64x192xf32> -> tensor<8x192xf32>
// CHECK-NEXT: [[LAYER_NORM:%.*]] = pz.layer_norm [[MATMUL]] scale([[LN]] : tensor<192xf32>) {axis = 1 : i64, epsilon = 1.000000e-05 : f64} : tensor<8x192xf32> -> tensor<8x192xf32>
// CHECK-NEXT: [[GELU:%.*]] = pz.gelu [[LAYER_NORM]] tanh : tensor<8x192xf32>
// CHECK-NEXT: [[RESHAPE:%.*]] = pz.reshape [[GELU]] [2, -1, 4, 48] : tensor<8x192xf32> -> tensor<2x4x4x48xf32>
// CHECK-NEXT: [[TRANSPOSE:%.*]] = pz.transpose [[RESHAPE]] [0, 2, 1, 3] : tensor<2x4x4x48xf32> -> tensor<2x4x4x48xf32>
// CHECK-NEXT: [[ATTENTION:%.*]] = pz.attention [[TRANSPOSE]], [[TRANSPOSE]], [[TRANSPOSE]] {causal} : tensor<2x4x4x48xf32>, tensor<2x4x4x48xf32>, tensor<2x4x4x48xf32> -> tensor<2x4x4x48xf32>
// CHECK-NEXT: [[TRANSPOSE_0:%.*]] = pz.transpose [[ATTENTION]] [0, 2, 1, 3] : tensor<2x4x4x48xf32> -> tensor<2x4x4x48xf32>
// CHECK-NEXT: [[RESHAPE_1:%.*]] = pz.reshape [[TRANSPOSE_0]] [-1, 192] : tensor<2x4x4x48xf32> -> tensor<8x192xf32>
// CHECK-NEXT: [[CONCAT:%.*]] = pz.concat [[RESHAPE_1]], [[MATMUL]] {axis = 1 : i64} : (tensor<8x192xf32>, tensor<8x192xf32>) -> tensor<8x384xf32>
// CHECK-NEXT: [[MATMUL_2:%.*]] = pz.matmul [[CONCAT]], [[WOUT]] : tensor<8x384xf32>, tensor<384x256xf32> -> tensor<8x256xf32>
// CHECK-NEXT: [[CROSS_ENTROPY:%.*]] = pz.cross_entropy [[MATMUL_2]], [[LABELS]] mean : tensor<8x256xf32>, tensor<8xi64> -> tensor<f32>
// CHECK-NEXT: [[CROSS_ENTROPY_3:%.*]] = pz.cross_entropy [[MATMUL_2]], [[LABELS]] none : tensor<8x256xf32>, tensor<8xi64> -> tensor<8xf32>
// CHECK-NEXT: return [[CROSS_ENTROPY]], [[MATMUL_2]], [[CROSS_ENTROPY_3]] : tensor<f32>, tensor<8x256xf32>, tensor<8xf32>
func.func @attention_block(%x: tensor<?x64xf32> {pz.input = "x"}, %labels: tensor<?xi64> {pz.input = "labels"}, %wqkv: tensor<64x192xf32> {pz.param = "qkv.weight"}, %ln: tensor<192xf32> {pz.param = "ln.weight"}, %wout: tensor<384x256xf32> {pz.param = "out.weight"}) -> (tensor<f32> {pz.output = "loss"}, tensor<?x256xf32> {pz.output = "logits"}, tensor<?xf32> {pz.output = "token_loss"}) {
  %qkv = pz.matmul %x, %wqkv : tensor<?x64xf32>, tensor<64x192xf32> -> tensor<?x192xf32>
  %norm = pz.layer_norm %qkv scale(%ln : tensor<192xf32>) {axis = 1 : i64, epsilon = 1.0e-05 : f64} : tensor<?x192xf32> -> tensor<?x192xf32>
  %act = pz.gelu %norm tanh : tensor<?x192xf32>
  %heads = pz.reshape %act [2, -1, 4, 48] : tensor<?x192xf32> -> tensor<2x?x4x48xf32>
  %q = pz.transpose %heads [0, 2, 1, 3] : tensor<2x?x4x48xf32> -> tensor<2x4x?x48xf32>
  %o = pz.attention %q, %q, %q {causal} : tensor<2x4x?x48xf32>, tensor<2x4x?x48xf32>, tensor<2x4x?x48xf32> -> tensor<2x4x?x48xf32>
  %ot = pz.transpose %o [0, 2, 1, 3] : tensor<2x4x?x48xf32> -> tensor<2x?x4x48xf32>
  %flat = pz.reshape %ot [-1, 192] : tensor<2x?x4x48xf32> -> tensor<?x192xf32>
  %cat = pz.concat %flat, %qkv {axis = 1 : i64} : (tensor<?x192xf32>, tensor<?x192xf32>) -> tensor<?x384xf32>
  %logits = pz.matmul %cat, %wout : tensor<?x384xf32>, tensor<384x256xf32> -> tensor<?x256xf32>
  %loss = pz.cross_entropy %logits, %labels mean : tensor<?x256xf32>, tensor<?xi64> -> tensor<f32>
  %tokens = pz.cross_entropy %logits, %labels none : tensor<?x256xf32>, tensor<?xi64> -> tensor<?xf32>
  return %loss, %logits, %tokens : tensor<f32>, tensor<?x256xf32>, tensor<?xf32>
}

// Every function with an input of that name gets the shape; the embedding
// lookup takes the token dims from the ids.
// CHECK-LABEL: func.func @embedding_lookup(
// CHECK-SAME: [[WTE:%[^:]+]]: tensor<256x64xf32> {pz.param = "wte"}, [[IDS:%[^:]+]]: tensor<8xi64> {pz.input = "labels"}) -> tensor<8x64xf32>
// CHECK-NEXT: [[EMBEDDING:%.*]] = pz.embedding [[WTE]], [[IDS]] : tensor<256x64xf32>, tensor<8xi64> -> tensor<8x64xf32>
// CHECK-NEXT: return [[EMBEDDING]] : tensor<8x64xf32>
func.func @embedding_lookup(%wte: tensor<256x64xf32> {pz.param = "wte"}, %ids: tensor<?xi64> {pz.input = "labels"}) -> tensor<?x64xf32> {
  %e = pz.embedding %wte, %ids : tensor<256x64xf32>, tensor<?xi64> -> tensor<?x64xf32>
  return %e : tensor<?x64xf32>
}

// A function without those inputs is left alone.
// CHECK-LABEL: func.func @no_inputs(
// CHECK-SAME: [[A:%[^:]+]]: tensor<?x4xf32>) -> tensor<?x4xf32>
// CHECK-NEXT: [[ADD:%.*]] = pz.add [[A]], [[A]] : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
// CHECK-NEXT: return [[ADD]] : tensor<?x4xf32>
func.func @no_inputs(%a: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = pz.add %a, %a : tensor<?x4xf32>, tensor<?x4xf32> -> tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
