// RUN: parallelize-opt %s | FileCheck %s
// RUN: parallelize-opt %s -mlir-print-debuginfo | parallelize-opt | FileCheck %s

// Results print with names from the op's location (the ONNX node name):
// letters, digits and dots stay, other characters become '_', the leading
// '/' goes. Without a name the result takes the op's mnemonic; several
// results get _0, _1, ...

// CHECK-LABEL: func.func @names(
// CHECK-SAME: [[X:%[^:]+]]: tensor<2x4xf32>, [[W:%[^:]+]]: tensor<4x4xf32>, [[LR:%[^:]+]]: tensor<f32>)
// CHECK-NEXT: %h.0_attn_MatMul = pz.matmul [[X]], [[W]] : tensor<2x4xf32>, tensor<4x4xf32> -> tensor<2x4xf32>
// CHECK-NEXT: %h.0_mlp_Relu = pz.relu %h.0_attn_MatMul : tensor<2x4xf32>
// CHECK-NEXT: %gelu = pz.gelu %h.0_mlp_Relu tanh : tensor<2x4xf32>
// CHECK-NEXT: %exp = pz.exp %gelu : tensor<2x4xf32>
// CHECK-NEXT: %a_b_c = pz.tanh %exp : tensor<2x4xf32>
// CHECK-NEXT: %opt_SGD_0, %opt_SGD_1 = pz.sgd_update [[W]], [[W]], [[W]], [[LR]]
// CHECK-NEXT: %_1st = pz.sigmoid %a_b_c : tensor<2x4xf32>
// CHECK-NEXT: %silu = pz.silu %_1st : tensor<2x4xf32>
// CHECK-NEXT: %h.0_attn_MatMul_0 = pz.silu %silu : tensor<2x4xf32>
// CHECK-NEXT: return %h.0_attn_MatMul_0 : tensor<2x4xf32>
func.func @names(%x: tensor<2x4xf32>, %w: tensor<4x4xf32>, %lr: tensor<f32>) -> tensor<2x4xf32> {
  // A plain name.
  %0 = pz.matmul %x, %w : tensor<2x4xf32>, tensor<4x4xf32> -> tensor<2x4xf32> loc("/h.0/attn/MatMul")
  // The first name inside a fused location.
  %1 = pz.relu %0 : tensor<2x4xf32> loc(fused["file.py":1:2, "/h.0/mlp/Relu"])
  // A name with nothing left after the leading '/' falls back to the mnemonic.
  %2 = pz.gelu %1 tanh : tensor<2x4xf32> loc("/")
  // A file location has no name.
  %3 = pz.exp %2 : tensor<2x4xf32> loc("file.py":3:4)
  %4 = pz.tanh %3 : tensor<2x4xf32> loc("a-b c")
  %5:2 = pz.sgd_update %w, %w, %w, %lr {momentum = 0.0 : f64, weight_decay = 0.0 : f64} : tensor<4x4xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<f32> loc("/opt/SGD")
  %6 = pz.sigmoid %4 : tensor<2x4xf32> loc("1st")
  // A call-site location is not searched for names.
  %7 = pz.silu %6 : tensor<2x4xf32> loc(callsite("inner" at "outer"))
  // Names repeat: the printer makes them unique.
  %8 = pz.silu %7 : tensor<2x4xf32> loc("/h.0/attn/MatMul")
  return %8 : tensor<2x4xf32>
}
