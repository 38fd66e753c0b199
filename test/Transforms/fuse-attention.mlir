// RUN: parallelize-opt %s -pz-fuse-patterns -split-input-file | FileCheck %s

// Scaled dot-product attention spelled out (matmul, scale, mask, softmax,
// matmul) fuses into pz.attention, in the forms the python-frontend exports
// produce; near misses stay as they are.

// GPT-2: k^T as one transpose [0, 2, 3, 1] of [B, S, H, D], Div by
// sqrt(D) = 4 (the default scale), masked_fill with the causal triu(1).
// CHECK-LABEL: func.func @gpt2_causal(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<2x4x4x16xf32>, [[KR:%[^:]+]]: tensor<2x4x4x16xf32>, [[V:%[^:]+]]: tensor<2x4x4x16xf32>)
// CHECK-NEXT: [[K:%.*]] = pz.transpose [[KR]] [0, 2, 1, 3] : tensor<2x4x4x16xf32> -> tensor<2x4x4x16xf32>
// CHECK-NEXT: [[O:%.*]] = pz.attention [[Q]], [[K]], [[V]] {causal} : tensor<2x4x4x16xf32>, tensor<2x4x4x16xf32>, tensor<2x4x4x16xf32> -> tensor<2x4x4x16xf32>
// CHECK-NEXT: return [[O]]
func.func @gpt2_causal(%q: tensor<2x4x4x16xf32>, %kr: tensor<2x4x4x16xf32>, %v: tensor<2x4x4x16xf32>) -> tensor<2x4x4x16xf32> {
  %kt = pz.transpose %kr [0, 2, 3, 1] : tensor<2x4x4x16xf32> -> tensor<2x4x16x4xf32>
  %s = pz.matmul %q, %kt : tensor<2x4x4x16xf32>, tensor<2x4x16x4xf32> -> tensor<2x4x4x4xf32>
  %c = pz.constant dense<4.0> : tensor<f32>
  %sc = pz.div %s, %c : tensor<2x4x4x4xf32>, tensor<f32> -> tensor<2x4x4x4xf32>
  %mask = pz.constant dense<[[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]]> : tensor<4x4xi1>
  %ninf = pz.constant dense<0xFF800000> : tensor<f32>
  %m = pz.where %mask, %ninf, %sc : tensor<4x4xi1>, tensor<f32>, tensor<2x4x4x4xf32> -> tensor<2x4x4x4xf32>
  %p = pz.softmax %m {axis = 3 : i64} : tensor<2x4x4x4xf32>
  %o = pz.matmul %p, %v : tensor<2x4x4x4xf32>, tensor<2x4x4x16xf32> -> tensor<2x4x4x16xf32>
  return %o : tensor<2x4x4x16xf32>
}

// -----

// BERT: k^T as transpose [0, 1, 3, 2] of the key, an additive padding mask
// [B, 1, 1, S] built at run time.
// CHECK-LABEL: func.func @bert_masked(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<2x4x8x16xf32>, [[K:%[^:]+]]: tensor<2x4x8x16xf32>, [[V:%[^:]+]]: tensor<2x4x8x16xf32>, [[M:%[^:]+]]: tensor<2x1x1x8xf32>)
// CHECK-NEXT: [[O:%.*]] = pz.attention [[Q]], [[K]], [[V]] mask([[M]] : tensor<2x1x1x8xf32>) : tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
// CHECK-NEXT: return [[O]]
func.func @bert_masked(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>, %mask: tensor<2x1x1x8xf32>) -> tensor<2x4x8x16xf32> {
  %kt = pz.transpose %k [0, 1, 3, 2] : tensor<2x4x8x16xf32> -> tensor<2x4x16x8xf32>
  %s = pz.matmul %q, %kt : tensor<2x4x8x16xf32>, tensor<2x4x16x8xf32> -> tensor<2x4x8x8xf32>
  %c = pz.constant dense<4.0> : tensor<f32>
  %sc = pz.div %s, %c : tensor<2x4x8x8xf32>, tensor<f32> -> tensor<2x4x8x8xf32>
  %m = pz.add %sc, %mask : tensor<2x4x8x8xf32>, tensor<2x1x1x8xf32> -> tensor<2x4x8x8xf32>
  %p = pz.softmax %m {axis = 3 : i64} : tensor<2x4x8x8xf32>
  %o = pz.matmul %p, %v : tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32> -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

// Llama: grouped-query heads repeated by reshape / broadcast / reshape are
// read unrepeated; k^T via transpose_rhs; scale by Mul 0.25; causal.
// CHECK-LABEL: func.func @llama_gqa(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<2x4x4x16xf32>, [[K:%[^:]+]]: tensor<2x2x4x16xf32>, [[V:%[^:]+]]: tensor<2x2x4x16xf32>)
// CHECK-NEXT: [[O:%.*]] = pz.attention [[Q]], [[K]], [[V]] {causal} : tensor<2x4x4x16xf32>, tensor<2x2x4x16xf32>, tensor<2x2x4x16xf32> -> tensor<2x4x4x16xf32>
// CHECK-NEXT: return [[O]]
func.func @llama_gqa(%q: tensor<2x4x4x16xf32>, %k: tensor<2x2x4x16xf32>, %v: tensor<2x2x4x16xf32>) -> tensor<2x4x4x16xf32> {
  %k1 = pz.reshape %k [2, 2, 1, 4, 16] : tensor<2x2x4x16xf32> -> tensor<2x2x1x4x16xf32>
  %k2 = pz.broadcast %k1 [2, 2, 2, 4, 16] : tensor<2x2x1x4x16xf32> -> tensor<2x2x2x4x16xf32>
  %k3 = pz.reshape %k2 [2, 4, 4, 16] : tensor<2x2x2x4x16xf32> -> tensor<2x4x4x16xf32>
  %v1 = pz.reshape %v [2, 2, 1, 4, 16] : tensor<2x2x4x16xf32> -> tensor<2x2x1x4x16xf32>
  %v2 = pz.broadcast %v1 [2, 2, 2, 4, 16] : tensor<2x2x1x4x16xf32> -> tensor<2x2x2x4x16xf32>
  %v3 = pz.reshape %v2 [2, 4, 4, 16] : tensor<2x2x2x4x16xf32> -> tensor<2x4x4x16xf32>
  %s = pz.matmul %q, %k3 {transpose_rhs} : tensor<2x4x4x16xf32>, tensor<2x4x4x16xf32> -> tensor<2x4x4x4xf32>
  %c = pz.constant dense<0.25> : tensor<f32>
  %sc = pz.mul %c, %s : tensor<f32>, tensor<2x4x4x4xf32> -> tensor<2x4x4x4xf32>
  %mask = pz.constant dense<[[false, true, true, true], [false, false, true, true], [false, false, false, true], [false, false, false, false]]> : tensor<4x4xi1>
  %ninf = pz.constant dense<0xFF800000> : tensor<f32>
  %m = pz.where %mask, %ninf, %sc : tensor<4x4xi1>, tensor<f32>, tensor<2x4x4x4xf32> -> tensor<2x4x4x4xf32>
  %p = pz.softmax %m {axis = 3 : i64} : tensor<2x4x4x4xf32>
  %o = pz.matmul %p, %v3 : tensor<2x4x4x4xf32>, tensor<2x4x4x16xf32> -> tensor<2x4x4x16xf32>
  return %o : tensor<2x4x4x16xf32>
}

// -----

// No mask; a scale other than 1/sqrt(D) is kept; an additive causal
// constant (0 below, -inf above the diagonal) is `causal`.
// CHECK-LABEL: func.func @scale_and_additive_causal(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<1x2x3x8xf32>, [[K:%[^:]+]]: tensor<1x2x3x8xf32>, [[V:%[^:]+]]: tensor<1x2x3x8xf32>)
// CHECK-NEXT: [[O1:%.*]] = pz.attention [[Q]], [[K]], [[V]] {scale = 5.000000e-01 : f64} : tensor<1x2x3x8xf32>
// CHECK-NEXT: [[O2:%.*]] = pz.attention [[Q]], [[K]], [[V]] {causal, scale = 1.000000e+00 : f64} : tensor<1x2x3x8xf32>
// CHECK-NEXT: return [[O1]], [[O2]]
func.func @scale_and_additive_causal(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>) -> (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>) {
  %s = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %c = pz.constant dense<0.5> : tensor<f32>
  %sc = pz.mul %s, %c : tensor<1x2x3x3xf32>, tensor<f32> -> tensor<1x2x3x3xf32>
  %p = pz.softmax %sc {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = pz.matmul %p, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  %s2 = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %causal = pz.constant dense<[[0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %m2 = pz.add %causal, %s2 : tensor<3x3xf32>, tensor<1x2x3x3xf32> -> tensor<1x2x3x3xf32>
  %p2 = pz.softmax %m2 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o2 = pz.matmul %p2, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  return %o, %o2 : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>
}

// -----

// A run-time "masked out" condition becomes a keep-mask: pz.not of it.
// CHECK-LABEL: func.func @runtime_bool_mask(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<1x2x3x8xf32>, [[K:%[^:]+]]: tensor<1x2x3x8xf32>, [[V:%[^:]+]]: tensor<1x2x3x8xf32>, [[C:%[^:]+]]: tensor<1x1x3x3xi1>)
// CHECK-NEXT: [[KEEP:%.*]] = pz.not [[C]] : tensor<1x1x3x3xi1>
// CHECK-NEXT: [[O:%.*]] = pz.attention [[Q]], [[K]], [[V]] mask([[KEEP]] : tensor<1x1x3x3xi1>) {scale = 1.000000e+00 : f64}
// CHECK-NEXT: return [[O]]
func.func @runtime_bool_mask(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>, %cond: tensor<1x1x3x3xi1>) -> tensor<1x2x3x8xf32> {
  %s = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %ninf = pz.constant dense<0xFF800000> : tensor<f32>
  %m = pz.where %cond, %ninf, %s : tensor<1x1x3x3xi1>, tensor<f32>, tensor<1x2x3x3xf32> -> tensor<1x2x3x3xf32>
  %p = pz.softmax %m {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = pz.matmul %p, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  return %o : tensor<1x2x3x8xf32>
}

// -----

// Negative: softmax over the query dim; a finite fill value (not exact);
// dropout between softmax and the value matmul.
// CHECK-LABEL: func.func @attention_misses(
// CHECK-NOT: pz.attention
// CHECK: return
func.func @attention_misses(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>, %cond: tensor<3x3xi1>) -> (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>) {
  %s = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %p = pz.softmax %s {axis = 2 : i64} : tensor<1x2x3x3xf32>
  %o = pz.matmul %p, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  %s2 = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %fill = pz.constant dense<-1.0e4> : tensor<f32>
  %m2 = pz.where %cond, %fill, %s2 : tensor<3x3xi1>, tensor<f32>, tensor<1x2x3x3xf32> -> tensor<1x2x3x3xf32>
  %p2 = pz.softmax %m2 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o2 = pz.matmul %p2, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  %s3 = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %p3 = pz.softmax %s3 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %d3 = pz.dropout %p3 {rate = 1.0e-01 : f64, seed = 7 : i64} : tensor<1x2x3x3xf32>
  %o3 = pz.matmul %d3, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  return %o, %o2, %o3 : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>
}

// -----

// Negative: the scores are read elsewhere too.
// CHECK-LABEL: func.func @scores_shared(
// CHECK-NOT: pz.attention
// CHECK: return
func.func @scores_shared(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>) -> (tensor<1x2x3x8xf32>, tensor<1x2x3x3xf32>) {
  %s = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %p = pz.softmax %s {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = pz.matmul %p, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  return %o, %s : tensor<1x2x3x8xf32>, tensor<1x2x3x3xf32>
}

// -----

// Causal masks written with a large negative number instead of -inf
// (masked_fill(triu(1), -1e9), or added with finfo.min above the diagonal)
// are `causal`: in fp32 they drop exactly the keys -inf drops, and a causal
// row keeps its diagonal. -1e4 is not large enough to be exact: that
// additive mask stays an operand.
// CHECK-LABEL: func.func @large_negative_causal(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<1x2x3x8xf32>, [[K:%[^:]+]]: tensor<1x2x3x8xf32>, [[V:%[^:]+]]: tensor<1x2x3x8xf32>)
// CHECK: [[O1:%.*]] = pz.attention [[Q]], [[K]], [[V]] {causal, scale = 1.000000e+00 : f64} : tensor<1x2x3x8xf32>
// CHECK: [[O2:%.*]] = pz.attention [[Q]], [[K]], [[V]] {causal, scale = 1.000000e+00 : f64} : tensor<1x2x3x8xf32>
// CHECK: [[O3:%.*]] = pz.attention [[Q]], [[K]], [[V]] mask(%{{.+}} : tensor<3x3xf32>) {scale = 1.000000e+00 : f64}
// CHECK: return [[O1]], [[O2]], [[O3]]
func.func @large_negative_causal(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>) -> (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>) {
  %s1 = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %tri = pz.constant dense<[[false, true, true], [false, false, true], [false, false, false]]> : tensor<3x3xi1>
  %big = pz.constant dense<-1.0e9> : tensor<f32>
  %m1 = pz.where %tri, %big, %s1 : tensor<3x3xi1>, tensor<f32>, tensor<1x2x3x3xf32> -> tensor<1x2x3x3xf32>
  %p1 = pz.softmax %m1 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o1 = pz.matmul %p1, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  %s2 = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %min = pz.constant dense<[[0.0, -3.40282347E+38, -3.40282347E+38], [0.0, 0.0, -3.40282347E+38], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %m2 = pz.add %s2, %min : tensor<1x2x3x3xf32>, tensor<3x3xf32> -> tensor<1x2x3x3xf32>
  %p2 = pz.softmax %m2 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o2 = pz.matmul %p2, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  %s3 = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %small = pz.constant dense<[[0.0, -1.0e4, -1.0e4], [0.0, 0.0, -1.0e4], [0.0, 0.0, 0.0]]> : tensor<3x3xf32>
  %m3 = pz.add %s3, %small : tensor<1x2x3x3xf32>, tensor<3x3xf32> -> tensor<1x2x3x3xf32>
  %p3 = pz.softmax %m3 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o3 = pz.matmul %p3, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  return %o1, %o2, %o3 : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>
}

// -----

// Hugging Face's GPT-2 keeps the scores where a lower-triangular constant is
// true and fills the rest with finfo.min: `causal`, no mask operand (so does
// a fill of -1e9). Any other keep-mask with finfo.min is an operand, and a
// keep-mask that is not exactly the triangle with -1e9 is not fused.
// CHECK-LABEL: func.func @keep_mask_causal(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<1x2x3x8xf32>, [[K:%[^:]+]]: tensor<1x2x3x8xf32>, [[V:%[^:]+]]: tensor<1x2x3x8xf32>)
// CHECK: [[O1:%.*]] = pz.attention [[Q]], [[K]], [[V]] {causal, scale = 1.000000e+00 : f64} : tensor<1x2x3x8xf32>
// CHECK: [[O2:%.*]] = pz.attention [[Q]], [[K]], [[V]] {causal, scale = 1.000000e+00 : f64} : tensor<1x2x3x8xf32>
// CHECK: [[O3:%.*]] = pz.attention [[Q]], [[K]], [[V]] mask(%{{.+}} : tensor<1x1x3x3xi1>) {scale = 1.000000e+00 : f64}
// CHECK: pz.softmax
// CHECK: return [[O1]], [[O2]], [[O3]]
func.func @keep_mask_causal(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>) -> (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>) {
  %tril = pz.constant dense<[[[[true, false, false], [true, true, false], [true, true, true]]]]> : tensor<1x1x3x3xi1>
  %min = pz.constant dense<-3.40282347E+38> : tensor<f32>
  %s1 = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %m1 = pz.where %tril, %s1, %min : tensor<1x1x3x3xi1>, tensor<1x2x3x3xf32>, tensor<f32> -> tensor<1x2x3x3xf32>
  %p1 = pz.softmax %m1 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o1 = pz.matmul %p1, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  %big = pz.constant dense<-1.0e9> : tensor<f32>
  %s2 = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %m2 = pz.where %tril, %s2, %big : tensor<1x1x3x3xi1>, tensor<1x2x3x3xf32>, tensor<f32> -> tensor<1x2x3x3xf32>
  %p2 = pz.softmax %m2 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o2 = pz.matmul %p2, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  %band = pz.constant dense<[[[[true, false, false], [true, true, false], [false, true, true]]]]> : tensor<1x1x3x3xi1>
  %s3 = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %m3 = pz.where %band, %s3, %min : tensor<1x1x3x3xi1>, tensor<1x2x3x3xf32>, tensor<f32> -> tensor<1x2x3x3xf32>
  %p3 = pz.softmax %m3 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o3 = pz.matmul %p3, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  %s4 = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %m4 = pz.where %band, %s4, %big : tensor<1x1x3x3xi1>, tensor<1x2x3x3xf32>, tensor<f32> -> tensor<1x2x3x3xf32>
  %p4 = pz.softmax %m4 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o4 = pz.matmul %p4, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  return %o1, %o2, %o3, %o4 : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>
}

// A scale on q (and one on k, before its transpose) instead of on the
// scores: 0.5 x 0.25 = 0.125; q and k are read unscaled.
// CHECK-LABEL: func.func @scale_on_q_and_k(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<1x2x3x8xf32>, [[K:%[^:]+]]: tensor<1x2x3x8xf32>, [[V:%[^:]+]]: tensor<1x2x3x8xf32>)
// CHECK-NEXT: [[O:%.*]] = pz.attention [[Q]], [[K]], [[V]] {scale = 1.250000e-01 : f64} : tensor<1x2x3x8xf32>
// CHECK-NEXT: return [[O]]
func.func @scale_on_q_and_k(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf32> {
  %a = pz.constant dense<0.5> : tensor<f32>
  %qs = pz.mul %q, %a : tensor<1x2x3x8xf32>, tensor<f32> -> tensor<1x2x3x8xf32>
  %b = pz.constant dense<4.0> : tensor<f32>
  %ks = pz.div %k, %b : tensor<1x2x3x8xf32>, tensor<f32> -> tensor<1x2x3x8xf32>
  %kt = pz.transpose %ks [0, 1, 3, 2] : tensor<1x2x3x8xf32> -> tensor<1x2x8x3xf32>
  %s = pz.matmul %qs, %kt : tensor<1x2x3x8xf32>, tensor<1x2x8x3xf32> -> tensor<1x2x3x3xf32>
  %p = pz.softmax %s {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = pz.matmul %p, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  return %o : tensor<1x2x3x8xf32>
}

// -----

// GPT-J masks, then scales: softmax(where(tril, s, finfo.min) / c). The
// scale moves onto the scores (1/4, not 1/sqrt(8): kept as an attribute),
// the masked-out fill stays far below any score (finfo.min / 4), so the
// mask is causal. Near miss: an additive mask under the scale, which would
// have to be scaled too, is not fused.
// CHECK-LABEL: func.func @scale_after_mask(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<1x2x3x8xf32>, [[K:%[^:]+]]: tensor<1x2x3x8xf32>, [[V:%[^:]+]]: tensor<1x2x3x8xf32>, [[M:%[^:]+]]: tensor<1x1x3x3xf32>)
// CHECK: [[O1:%.*]] = pz.attention [[Q]], [[K]], [[V]] {causal, scale = 2.500000e-01 : f64} : tensor<1x2x3x8xf32>
// CHECK: pz.softmax
// CHECK: return [[O1]], %{{.*}}
func.func @scale_after_mask(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>, %m: tensor<1x1x3x3xf32>) -> (tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>) {
  %tril = pz.constant dense<[[[[true, false, false], [true, true, false], [true, true, true]]]]> : tensor<1x1x3x3xi1>
  %min = pz.constant dense<-3.40282347E+38> : tensor<f32>
  %c = pz.constant dense<4.0> : tensor<f32>
  %s1 = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %m1 = pz.where %tril, %s1, %min : tensor<1x1x3x3xi1>, tensor<1x2x3x3xf32>, tensor<f32> -> tensor<1x2x3x3xf32>
  %d1 = pz.div %m1, %c : tensor<1x2x3x3xf32>, tensor<f32> -> tensor<1x2x3x3xf32>
  %p1 = pz.softmax %d1 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o1 = pz.matmul %p1, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  %s2 = pz.matmul %q, %k {transpose_rhs} : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x3xf32>
  %a2 = pz.add %s2, %m : tensor<1x2x3x3xf32>, tensor<1x1x3x3xf32> -> tensor<1x2x3x3xf32>
  %d2 = pz.div %a2, %c : tensor<1x2x3x3xf32>, tensor<f32> -> tensor<1x2x3x3xf32>
  %p2 = pz.softmax %d2 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o2 = pz.matmul %p2, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  return %o1, %o2 : tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>
}

// -----

// GPT-NeoX's baddbmm: q and k merged to [B*H, S, D], the rank-3 product
// scaled, plus zeros (beta * an all-zero input), reshaped back to
// [B, H, S, S], then the causal where: the unmerged q and k are read.
// CHECK-LABEL: func.func @merged_heads(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<1x2x3x8xf32>, [[K:%[^:]+]]: tensor<1x2x3x8xf32>, [[V:%[^:]+]]: tensor<1x2x3x8xf32>)
// CHECK-NEXT: [[O:%.*]] = pz.attention [[Q]], [[K]], [[V]] {causal, scale = 2.500000e-01 : f64} : tensor<1x2x3x8xf32>
// CHECK-NEXT: return [[O]]
func.func @merged_heads(%q: tensor<1x2x3x8xf32>, %k: tensor<1x2x3x8xf32>, %v: tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf32> {
  %q3 = pz.reshape %q [2, 3, 8] : tensor<1x2x3x8xf32> -> tensor<2x3x8xf32>
  %k3 = pz.reshape %k [2, 3, 8] : tensor<1x2x3x8xf32> -> tensor<2x3x8xf32>
  %kt = pz.transpose %k3 [0, 2, 1] : tensor<2x3x8xf32> -> tensor<2x8x3xf32>
  %s = pz.matmul %q3, %kt : tensor<2x3x8xf32>, tensor<2x8x3xf32> -> tensor<2x3x3xf32>
  %c = pz.constant dense<0.25> : tensor<f32>
  %sc = pz.mul %s, %c : tensor<2x3x3xf32>, tensor<f32> -> tensor<2x3x3xf32>
  %zeros = pz.constant dense<0.0> : tensor<2x3x3xf32>
  %sz = pz.add %sc, %zeros : tensor<2x3x3xf32>, tensor<2x3x3xf32> -> tensor<2x3x3xf32>
  %s4 = pz.reshape %sz [1, 2, 3, 3] : tensor<2x3x3xf32> -> tensor<1x2x3x3xf32>
  %tril = pz.constant dense<[[[[true, false, false], [true, true, false], [true, true, true]]]]> : tensor<1x1x3x3xi1>
  %min = pz.constant dense<-3.40282347E+38> : tensor<f32>
  %m = pz.where %tril, %s4, %min : tensor<1x1x3x3xi1>, tensor<1x2x3x3xf32>, tensor<f32> -> tensor<1x2x3x3xf32>
  %p = pz.softmax %m {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o = pz.matmul %p, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x8xf32> -> tensor<1x2x3x8xf32>
  return %o : tensor<1x2x3x8xf32>
}

// -----

// Near misses of the merged form: a constant bias under a scale after the
// mask (the scale would have to apply to the bias too); the scores are
// reshaped back into other heads than q's ([2, 1] from q's [1, 2]); k is
// read through a swap of its heads with its batch, not of its last two dims.
// CHECK-LABEL: func.func @merged_heads_near_misses(
// CHECK-NOT: pz.attention
// CHECK: return
func.func @merged_heads_near_misses(%q: tensor<1x2x3x3xf32>, %k: tensor<1x2x3x3xf32>, %v: tensor<1x2x3x3xf32>) -> (tensor<1x2x3x3xf32>, tensor<2x1x3x3xf32>, tensor<1x2x3x3xf32>) {
  %q3 = pz.reshape %q [2, 3, 3] : tensor<1x2x3x3xf32> -> tensor<2x3x3xf32>
  %k3 = pz.reshape %k [2, 3, 3] : tensor<1x2x3x3xf32> -> tensor<2x3x3xf32>
  %kt = pz.transpose %k3 [0, 2, 1] : tensor<2x3x3xf32> -> tensor<2x3x3xf32>
  %s1 = pz.matmul %q3, %kt : tensor<2x3x3xf32>, tensor<2x3x3xf32> -> tensor<2x3x3xf32>
  %bias = pz.constant dense<0.5> : tensor<2x3x3xf32>
  %b1 = pz.add %s1, %bias : tensor<2x3x3xf32>, tensor<2x3x3xf32> -> tensor<2x3x3xf32>
  %r1 = pz.reshape %b1 [1, 2, 3, 3] : tensor<2x3x3xf32> -> tensor<1x2x3x3xf32>
  %triu = pz.constant dense<[[false, true, true], [false, false, true], [false, false, false]]> : tensor<3x3xi1>
  %ninf = pz.constant dense<0xFF800000> : tensor<f32>
  %w1 = pz.where %triu, %ninf, %r1 : tensor<3x3xi1>, tensor<f32>, tensor<1x2x3x3xf32> -> tensor<1x2x3x3xf32>
  %half = pz.constant dense<0.5> : tensor<f32>
  %h1 = pz.mul %w1, %half : tensor<1x2x3x3xf32>, tensor<f32> -> tensor<1x2x3x3xf32>
  %p1 = pz.softmax %h1 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o1 = pz.matmul %p1, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32> -> tensor<1x2x3x3xf32>
  %s2 = pz.matmul %q3, %kt : tensor<2x3x3xf32>, tensor<2x3x3xf32> -> tensor<2x3x3xf32>
  %r2 = pz.reshape %s2 [2, 1, 3, 3] : tensor<2x3x3xf32> -> tensor<2x1x3x3xf32>
  %p2 = pz.softmax %r2 {axis = 3 : i64} : tensor<2x1x3x3xf32>
  %v2 = pz.reshape %v [2, 1, 3, 3] : tensor<1x2x3x3xf32> -> tensor<2x1x3x3xf32>
  %o2 = pz.matmul %p2, %v2 : tensor<2x1x3x3xf32>, tensor<2x1x3x3xf32> -> tensor<2x1x3x3xf32>
  %kw = pz.transpose %k3 [1, 0, 2] : tensor<2x3x3xf32> -> tensor<3x2x3xf32>
  %kw2 = pz.reshape %kw [2, 3, 3] : tensor<3x2x3xf32> -> tensor<2x3x3xf32>
  %s3 = pz.matmul %q3, %kw2 : tensor<2x3x3xf32>, tensor<2x3x3xf32> -> tensor<2x3x3xf32>
  %r3 = pz.reshape %s3 [1, 2, 3, 3] : tensor<2x3x3xf32> -> tensor<1x2x3x3xf32>
  %p3 = pz.softmax %r3 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o3 = pz.matmul %p3, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32> -> tensor<1x2x3x3xf32>
  return %o1, %o2, %o3 : tensor<1x2x3x3xf32>, tensor<2x1x3x3xf32>, tensor<1x2x3x3xf32>
}

// -----

// Bloom: baddbmm(alibi, q, k^T, beta=1, alpha=1/sqrt(d)) on heads merged to
// [B*H, S, D] with k merged already transposed ([B, H, D, S] -> [B*H, D, S]),
// masked_fill with finfo.min by the causal masked-out mask, softmax, the
// probabilities merged to [B*H, S, S] for bmm with the merged values. The
// ALiBi constant [B*H, 1, S], the same in both batch rows, becomes the bias
// [1, H, 1, S] (one row); k is read transposed, and the output is merged
// back to [B*H, S, Dv].
// CHECK-LABEL: func.func @bloom_alibi(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<2x2x3x8xf32>, [[KT:%[^:]+]]: tensor<2x2x8x3xf32>, [[V:%[^:]+]]: tensor<2x2x3x8xf32>)
// CHECK-DAG: [[K:%.+]] = pz.transpose [[KT]] [0, 1, 3, 2] : tensor<2x2x8x3xf32> -> tensor<2x2x3x8xf32>
// CHECK-DAG: [[B:%.+]] = pz.constant dense<{{\[\[\[\[}}0.000000e+00, 2.500000e-01, 5.000000e-01]], {{\[\[}}0.000000e+00, 6.250000e-02, 1.250000e-01]]]]> : tensor<1x2x1x3xf32>
// CHECK: [[O:%.+]] = pz.attention [[Q]], [[K]], [[V]] bias([[B]] : tensor<1x2x1x3xf32>) {causal} : tensor<2x2x3x8xf32>, tensor<2x2x3x8xf32>, tensor<2x2x3x8xf32> -> tensor<2x2x3x8xf32>
// CHECK-NEXT: [[R:%.+]] = pz.reshape [[O]] [4, 3, 8] : tensor<2x2x3x8xf32> -> tensor<4x3x8xf32>
// CHECK-NEXT: return [[R]]
func.func @bloom_alibi(%q: tensor<2x2x3x8xf32>, %kt: tensor<2x2x8x3xf32>, %v: tensor<2x2x3x8xf32>) -> tensor<4x3x8xf32> {
  %q3 = pz.reshape %q [4, 3, 8] : tensor<2x2x3x8xf32> -> tensor<4x3x8xf32>
  %k3 = pz.reshape %kt [4, 8, 3] : tensor<2x2x8x3xf32> -> tensor<4x8x3xf32>
  %v3 = pz.reshape %v [4, 3, 8] : tensor<2x2x3x8xf32> -> tensor<4x3x8xf32>
  %s = pz.matmul %q3, %k3 : tensor<4x3x8xf32>, tensor<4x8x3xf32> -> tensor<4x3x3xf32>
  %c = pz.constant dense<0.353553385> : tensor<f32>
  %sc = pz.mul %s, %c : tensor<4x3x3xf32>, tensor<f32> -> tensor<4x3x3xf32>
  %alibi = pz.constant dense<[[[0.0, 0.25, 0.5]], [[0.0, 0.0625, 0.125]], [[0.0, 0.25, 0.5]], [[0.0, 0.0625, 0.125]]]> : tensor<4x1x3xf32>
  %sb = pz.add %sc, %alibi : tensor<4x3x3xf32>, tensor<4x1x3xf32> -> tensor<4x3x3xf32>
  %s4 = pz.reshape %sb [2, 2, 3, 3] : tensor<4x3x3xf32> -> tensor<2x2x3x3xf32>
  %triu = pz.constant dense<[[[[false, true, true], [false, false, true], [false, false, false]]]]> : tensor<1x1x3x3xi1>
  %min = pz.constant dense<-3.40282347E+38> : tensor<f32>
  %m = pz.where %triu, %min, %s4 : tensor<1x1x3x3xi1>, tensor<f32>, tensor<2x2x3x3xf32> -> tensor<2x2x3x3xf32>
  %p = pz.softmax %m {axis = 3 : i64} : tensor<2x2x3x3xf32>
  %p3 = pz.reshape %p [4, 3, 3] : tensor<2x2x3x3xf32> -> tensor<4x3x3xf32>
  %o = pz.matmul %p3, %v3 : tensor<4x3x3xf32>, tensor<4x3x8xf32> -> tensor<4x3x8xf32>
  return %o : tensor<4x3x8xf32>
}

// -----

// A bias on every score of the merged heads ([B*H, S, S], unmasked) and the
// rank-4 product with v: the bias [B, H, S, S], not causal.
// CHECK-LABEL: func.func @merged_heads_full_bias(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<1x2x3x3xf32>, [[K:%[^:]+]]: tensor<1x2x3x3xf32>, [[V:%[^:]+]]: tensor<1x2x3x3xf32>)
// CHECK: [[B:%.+]] = {{.*}}tensor<1x2x3x3xf32>
// CHECK: [[O:%.+]] = pz.attention [[Q]], [[K]], [[V]] bias([[B]] : tensor<1x2x3x3xf32>) {scale = 1.000000e+00 : f64} : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32> -> tensor<1x2x3x3xf32>
// CHECK-NEXT: return [[O]]
func.func @merged_heads_full_bias(%q: tensor<1x2x3x3xf32>, %k: tensor<1x2x3x3xf32>, %v: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %q3 = pz.reshape %q [2, 3, 3] : tensor<1x2x3x3xf32> -> tensor<2x3x3xf32>
  %k3 = pz.reshape %k [2, 3, 3] : tensor<1x2x3x3xf32> -> tensor<2x3x3xf32>
  %kt = pz.transpose %k3 [0, 2, 1] : tensor<2x3x3xf32> -> tensor<2x3x3xf32>
  %s1 = pz.matmul %q3, %kt : tensor<2x3x3xf32>, tensor<2x3x3xf32> -> tensor<2x3x3xf32>
  %bias = pz.constant dense<[[[0.5, 0.0, -1.0], [0.0, 1.0, 2.0], [0.25, 0.5, 0.75]], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]> : tensor<2x3x3xf32>
  %b1 = pz.add %bias, %s1 : tensor<2x3x3xf32>, tensor<2x3x3xf32> -> tensor<2x3x3xf32>
  %r1 = pz.reshape %b1 [1, 2, 3, 3] : tensor<2x3x3xf32> -> tensor<1x2x3x3xf32>
  %p1 = pz.softmax %r1 {axis = 3 : i64} : tensor<1x2x3x3xf32>
  %o1 = pz.matmul %p1, %v : tensor<1x2x3x3xf32>, tensor<1x2x3x3xf32> -> tensor<1x2x3x3xf32>
  return %o1 : tensor<1x2x3x3xf32>
}

// -----

// GPTBigCode's multi-query attention: the heads among the queries (q
// [B, S*H, D] against one key head [B, Sk, D]), the scores reshaped to
// [B, S, H, Sk], a keep-mask of one head [1, S, 1, Sk] (the causal
// triangle), the probabilities reshaped back for a rank-3 product with one
// value head. It fuses as attention with one kv head; q is reshaped and
// transposed to [B, H, S, D], the output back to [B, S*H, Dv].
// CHECK-LABEL: func.func @multi_query(
// CHECK-SAME: [[Q:%[^:]+]]: tensor<1x6x8xf32>, [[K:%[^:]+]]: tensor<1x3x8xf32>, [[V:%[^:]+]]: tensor<1x3x8xf32>)
// CHECK-DAG: [[Q4:%.*]] = pz.reshape [[Q]] [1, 3, 2, 8]
// CHECK-DAG: [[QT:%.*]] = pz.transpose [[Q4]] [0, 2, 1, 3] : tensor<1x3x2x8xf32> -> tensor<1x2x3x8xf32>
// CHECK-DAG: [[K4:%.*]] = pz.reshape [[K]] [1, 1, 3, 8]
// CHECK-DAG: [[V4:%.*]] = pz.reshape [[V]] [1, 1, 3, 8]
// CHECK: [[O:%.*]] = pz.attention [[QT]], [[K4]], [[V4]] {causal, scale = 2.500000e-01 : f64} : tensor<1x2x3x8xf32>, tensor<1x1x3x8xf32>, tensor<1x1x3x8xf32> -> tensor<1x2x3x8xf32>
// CHECK: [[OT:%.*]] = pz.transpose [[O]] [0, 2, 1, 3]
// CHECK: [[R:%.*]] = pz.reshape [[OT]] [1, 6, 8]
// CHECK: return [[R]]
func.func @multi_query(%q: tensor<1x6x8xf32>, %k: tensor<1x3x8xf32>, %v: tensor<1x3x8xf32>) -> tensor<1x6x8xf32> {
  %kt = pz.transpose %k [0, 2, 1] : tensor<1x3x8xf32> -> tensor<1x8x3xf32>
  %s = pz.matmul %q, %kt : tensor<1x6x8xf32>, tensor<1x8x3xf32> -> tensor<1x6x3xf32>
  %c = pz.constant dense<0.25> : tensor<f32>
  %sc = pz.mul %s, %c : tensor<1x6x3xf32>, tensor<f32> -> tensor<1x6x3xf32>
  %zeros = pz.constant dense<0.0> : tensor<1x6x3xf32>
  %sz = pz.add %sc, %zeros : tensor<1x6x3xf32>, tensor<1x6x3xf32> -> tensor<1x6x3xf32>
  %s4 = pz.reshape %sz [1, 3, 2, 3] : tensor<1x6x3xf32> -> tensor<1x3x2x3xf32>
  %keep = pz.constant dense<[[[[true, false, false]], [[true, true, false]], [[true, true, true]]]]> : tensor<1x3x1x3xi1>
  %min = pz.constant dense<-3.40282347E+38> : tensor<f32>
  %m = pz.where %keep, %s4, %min : tensor<1x3x1x3xi1>, tensor<1x3x2x3xf32>, tensor<f32> -> tensor<1x3x2x3xf32>
  %p = pz.softmax %m {axis = 3 : i64} : tensor<1x3x2x3xf32>
  %p3 = pz.reshape %p [1, 6, 3] : tensor<1x3x2x3xf32> -> tensor<1x6x3xf32>
  %o = pz.matmul %p3, %v : tensor<1x6x3xf32>, tensor<1x3x8xf32> -> tensor<1x6x8xf32>
  return %o : tensor<1x6x8xf32>
}

// -----

// Near misses of the multi-query form: a keep-mask that is not the causal
// triangle (a mask operand would need the heads moved: not fused); the
// probabilities reshaped by merging B and S rather than S and H.
// CHECK-LABEL: func.func @multi_query_near_misses(
// CHECK-NOT: pz.attention
// CHECK: return
func.func @multi_query_near_misses(%q: tensor<1x6x8xf32>, %k: tensor<1x3x8xf32>, %v: tensor<1x3x8xf32>, %v3: tensor<3x3x8xf32>) -> (tensor<1x6x8xf32>, tensor<3x2x8xf32>) {
  %kt = pz.transpose %k [0, 2, 1] : tensor<1x3x8xf32> -> tensor<1x8x3xf32>
  %min = pz.constant dense<-3.40282347E+38> : tensor<f32>
  %s1 = pz.matmul %q, %kt : tensor<1x6x8xf32>, tensor<1x8x3xf32> -> tensor<1x6x3xf32>
  %r1 = pz.reshape %s1 [1, 3, 2, 3] : tensor<1x6x3xf32> -> tensor<1x3x2x3xf32>
  %band = pz.constant dense<[[[[true, false, false]], [[true, true, false]], [[false, true, true]]]]> : tensor<1x3x1x3xi1>
  %m1 = pz.where %band, %r1, %min : tensor<1x3x1x3xi1>, tensor<1x3x2x3xf32>, tensor<f32> -> tensor<1x3x2x3xf32>
  %p1 = pz.softmax %m1 {axis = 3 : i64} : tensor<1x3x2x3xf32>
  %q1 = pz.reshape %p1 [1, 6, 3] : tensor<1x3x2x3xf32> -> tensor<1x6x3xf32>
  %o1 = pz.matmul %q1, %v : tensor<1x6x3xf32>, tensor<1x3x8xf32> -> tensor<1x6x8xf32>
  %s2 = pz.matmul %q, %kt : tensor<1x6x8xf32>, tensor<1x8x3xf32> -> tensor<1x6x3xf32>
  %r2 = pz.reshape %s2 [1, 3, 2, 3] : tensor<1x6x3xf32> -> tensor<1x3x2x3xf32>
  %p2 = pz.softmax %r2 {axis = 3 : i64} : tensor<1x3x2x3xf32>
  %q2 = pz.reshape %p2 [3, 2, 3] : tensor<1x3x2x3xf32> -> tensor<3x2x3xf32>
  %o2 = pz.matmul %q2, %v3 : tensor<3x2x3xf32>, tensor<3x3x8xf32> -> tensor<3x2x8xf32>
  return %o1, %o2 : tensor<1x6x8xf32>, tensor<3x2x8xf32>
}
