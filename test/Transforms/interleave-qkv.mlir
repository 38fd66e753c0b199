// RUN: parallelize-opt %s -split-input-file -verify-diagnostics --pz-interleave-qkv | FileCheck %s

// GPT-2's fused projection on tp = 2: 2 heads of 4 per part, h = 8. The
// slices of q, k and v become a reshape of the projection (plus bias) to
// [.., tp, parts, h / tp], a slice of one part and a reshape back; the
// matmul, the bias and the parameters' types stay; the module records the
// weight's dim of the output features (0: transpose_rhs) and the bias's.
// CHECK-LABEL: module attributes
// CHECK-SAME: pz.split_groups = {attn.c_attn.bias = array<i64: 3, 0>, attn.c_attn.weight = array<i64: 3, 0>}
// CHECK: %[[MM:.+]] = pz.matmul %arg0, %arg1 {transpose_rhs} : tensor<2x5x8xf32>, tensor<24x8xf32> -> tensor<2x5x24xf32>
// CHECK-NEXT: %[[Y:.+]] = pz.add %arg2, %[[MM]]
// CHECK-NEXT: %[[R:.+]] = pz.reshape %[[Y]] [2, 5, 2, 3, 4] : tensor<2x5x24xf32> -> tensor<2x5x2x3x4xf32>
// CHECK-NEXT: %[[Q:.+]] = pz.slice %[[R]] starts [0, 0, 0, 0, 0] ends [2, 5, 2, 1, 4] steps [1, 1, 1, 1, 1]
// CHECK-NEXT: pz.reshape %[[Q]] [2, 5, 8] : tensor<2x5x2x1x4xf32> -> tensor<2x5x8xf32>
// CHECK: pz.slice %[[R]] starts [0, 0, 0, 1, 0] ends [2, 5, 2, 2, 4]
// CHECK: pz.slice %[[R]] starts [0, 0, 0, 2, 0] ends [2, 5, 2, 3, 4]
// CHECK-NOT: pz.slice %[[Y]]
module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @forward(%x: tensor<2x5x8xf32> {pz.input = "x"}, %w: tensor<24x8xf32> {pz.param = "attn.c_attn.weight"}, %b: tensor<24xf32> {pz.param = "attn.c_attn.bias"}) -> (tensor<2x5x8xf32>, tensor<2x5x8xf32>, tensor<2x5x8xf32>) {
    %mm = pz.matmul %x, %w {transpose_rhs} : tensor<2x5x8xf32>, tensor<24x8xf32> -> tensor<2x5x24xf32>
    %y = pz.add %b, %mm : tensor<24xf32>, tensor<2x5x24xf32> -> tensor<2x5x24xf32>
    %q = pz.slice %y starts [0, 0, 0] ends [2, 5, 8] steps [1, 1, 1] : tensor<2x5x24xf32> -> tensor<2x5x8xf32>
    %k = pz.slice %y starts [0, 0, 8] ends [2, 5, 16] steps [1, 1, 1] : tensor<2x5x24xf32> -> tensor<2x5x8xf32>
    %v = pz.slice %y starts [0, 0, 16] ends [2, 5, 24] steps [1, 1, 1] : tensor<2x5x24xf32> -> tensor<2x5x8xf32>
    return %q, %k, %v : tensor<2x5x8xf32>, tensor<2x5x8xf32>, tensor<2x5x8xf32>
  }
}

// -----

// Conv1D's layout ([h, 3h], no transpose, no bias): the features are dim 1;
// the slices, in any order, are matched to their parts by their starts.
// CHECK-LABEL: module attributes
// CHECK-SAME: pz.split_groups = {c_attn.weight = array<i64: 3, 1>}
// CHECK: %[[R:.+]] = pz.reshape %{{.+}} [10, 2, 3, 4] : tensor<10x24xf32> -> tensor<10x2x3x4xf32>
// CHECK-NEXT: pz.slice %[[R]] starts [0, 0, 2, 0] ends [10, 2, 3, 4]
// CHECK: pz.slice %[[R]] starts [0, 0, 0, 0] ends [10, 2, 1, 4]
// CHECK: pz.slice %[[R]] starts [0, 0, 1, 0] ends [10, 2, 2, 4]
module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @forward(%x: tensor<10x8xf32> {pz.input = "x"}, %w: tensor<8x24xf32> {pz.param = "c_attn.weight"}) -> (tensor<10x8xf32>, tensor<10x8xf32>, tensor<10x8xf32>) {
    %y = pz.matmul %x, %w : tensor<10x8xf32>, tensor<8x24xf32> -> tensor<10x24xf32>
    %v = pz.slice %y starts [0, 16] ends [10, 24] steps [1, 1] : tensor<10x24xf32> -> tensor<10x8xf32>
    %q = pz.slice %y starts [0, 0] ends [10, 8] steps [1, 1] : tensor<10x24xf32> -> tensor<10x8xf32>
    %k = pz.slice %y starts [0, 8] ends [10, 16] steps [1, 1] : tensor<10x24xf32> -> tensor<10x8xf32>
    return %q, %k, %v : tensor<10x8xf32>, tensor<10x8xf32>, tensor<10x8xf32>
  }
}

// -----

// Left fused: parts of unequal size (grouped-query q, k, v), a weight with
// another use, and no tp.
// CHECK-LABEL: module attributes {pz.plan = #pz.plan<tp = 2>} {
// CHECK-NOT: pz.split_groups
// CHECK-NOT: pz.reshape
module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @forward(%x: tensor<10x8xf32> {pz.input = "x"}, %w: tensor<16x8xf32> {pz.param = "qkv"}, %w2: tensor<24x8xf32> {pz.param = "shared"}) -> (tensor<10x8xf32>, tensor<10x4xf32>, tensor<10x4xf32>, tensor<10x8xf32>, tensor<24x8xf32>) {
    %y = pz.matmul %x, %w {transpose_rhs} : tensor<10x8xf32>, tensor<16x8xf32> -> tensor<10x16xf32>
    %q = pz.slice %y starts [0, 0] ends [10, 8] steps [1, 1] : tensor<10x16xf32> -> tensor<10x8xf32>
    %k = pz.slice %y starts [0, 8] ends [10, 12] steps [1, 1] : tensor<10x16xf32> -> tensor<10x4xf32>
    %v = pz.slice %y starts [0, 12] ends [10, 16] steps [1, 1] : tensor<10x16xf32> -> tensor<10x4xf32>
    %z = pz.matmul %x, %w2 {transpose_rhs} : tensor<10x8xf32>, tensor<24x8xf32> -> tensor<10x24xf32>
    %a = pz.slice %z starts [0, 0] ends [10, 8] steps [1, 1] : tensor<10x24xf32> -> tensor<10x8xf32>
    %b = pz.slice %z starts [0, 8] ends [10, 16] steps [1, 1] : tensor<10x24xf32> -> tensor<10x8xf32>
    %c = pz.slice %z starts [0, 16] ends [10, 24] steps [1, 1] : tensor<10x24xf32> -> tensor<10x8xf32>
    return %q, %k, %v, %a, %w2 : tensor<10x8xf32>, tensor<10x4xf32>, tensor<10x4xf32>, tensor<10x8xf32>, tensor<24x8xf32>
  }
}

// -----

// tp does not divide a part's 6 features: left fused, and said.
module attributes {pz.plan = #pz.plan<tp = 4>} {
  func.func @forward(%x: tensor<10x8xf32> {pz.input = "x"}, %w: tensor<18x8xf32> {pz.param = "c_attn.weight"}) -> (tensor<10x6xf32>, tensor<10x6xf32>, tensor<10x6xf32>) {
    %y = pz.matmul %x, %w {transpose_rhs} : tensor<10x8xf32>, tensor<18x8xf32> -> tensor<10x18xf32>
    // expected-remark @+1 {{pz-interleave-qkv: the fused projection 'c_attn.weight' has 3 parts of 6 features, which tp = 4 does not divide: it stays fused (and tp keeps it whole)}}
    %q = pz.slice %y starts [0, 0] ends [10, 6] steps [1, 1] : tensor<10x18xf32> -> tensor<10x6xf32>
    %k = pz.slice %y starts [0, 6] ends [10, 12] steps [1, 1] : tensor<10x18xf32> -> tensor<10x6xf32>
    %v = pz.slice %y starts [0, 12] ends [10, 18] steps [1, 1] : tensor<10x18xf32> -> tensor<10x6xf32>
    return %q, %k, %v : tensor<10x6xf32>, tensor<10x6xf32>, tensor<10x6xf32>
  }
}
