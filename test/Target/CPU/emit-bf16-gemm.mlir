// Every bf16 matmul that is one GEMM calls pzrt_gemm_bf16 (docs/design/0022),
// with the arguments emitMatmul would give sgemm: an lhs batch folded into
// the rows, a transposed lhs that is one matrix (batch dims of 1), a rhs
// with batch dims of 1, a transposed rhs, and one value on both sides.
// A matmul with a real batch on both sides still widens. The inputs are
// multiples of 1/4 below 8, so every sum is exact in fp32 and both GEMM
// paths (oneDNN, fp32 copies) must give exactly the exact products rounded
// once to bf16.
// RUN: rm -rf %t && parallelize compile %s --forward-only --emit cpp -o %t
// RUN: FileCheck %s < %t/run.cpp
// CHECK-LABEL: pz.matmul 'folded'
// CHECK: pzrt_gemm_bf16(0, 0, 6, 5, 4, 1.0f, (const uint16_t *){{v[0-9]+}}, 4, (const uint16_t *){{v[0-9]+}}, 5, 0.0f, {{w[0-9]+}}, 5,
// CHECK-LABEL: pz.matmul 'lhs_t'
// CHECK: pzrt_gemm_bf16(1, 0, 3, 5, 4, 1.0f, (const uint16_t *){{v[0-9]+}}, 3, (const uint16_t *){{v[0-9]+}}, 5, 0.0f, {{w[0-9]+}}, 5,
// CHECK-LABEL: pz.matmul 'rhs_t'
// CHECK: pzrt_gemm_bf16(0, 1, 6, 3, 4, 1.0f, (const uint16_t *){{v[0-9]+}}, 4, (const uint16_t *){{v[0-9]+}}, 4, 0.0f, {{w[0-9]+}}, 3,
// CHECK-LABEL: pz.matmul 'gram'
// CHECK: pzrt_gemm_bf16(0, 1, 3, 3, 4, 1.0f, (const uint16_t *)[[G:v[0-9]+]], 4, (const uint16_t *)[[G]], 4, 0.0f, {{w[0-9]+}}, 3, [[S:\(float \*\)\(\(\(char \*\)b\[[0-9]+\]\) \+ [0-9]+\)]], 12, [[S]], 12)
// CHECK-LABEL: pz.matmul 'batched'
// CHECK-NOT: pzrt_gemm_bf16
// CHECK: pzrt_sgemm(
// RUN: rm -rf %t.exe && parallelize compile %s --forward-only --emit exe -o %t.exe
// RUN: %python %S/Inputs/bf16_gemm_cases.py %t.exe/run %t.work | FileCheck %s --check-prefix=RESULT
// RESULT: auto: 5 products equal the exact ones rounded to bf16
// RESULT: fp32: 5 products equal the exact ones rounded to bf16
func.func @forward(%a: tensor<2x3x4xf32> {pz.input = "a"}, %b: tensor<1x4x5xf32> {pz.input = "b"},
                   %c: tensor<1x4x3xf32> {pz.input = "c"}, %g: tensor<3x4xf32> {pz.input = "g"},
                   %d: tensor<2x4x5xf32> {pz.input = "d"})
    -> (tensor<2x3x5xf32> {pz.output = "folded"}, tensor<3x5xf32> {pz.output = "lhs_t"},
        tensor<2x3x3xf32> {pz.output = "rhs_t"}, tensor<3x3xf32> {pz.output = "gram"},
        tensor<2x3x5xf32> {pz.output = "batched"}) {
  %ab = pz.cast %a : tensor<2x3x4xf32> to bf16 loc("a16")
  %bb = pz.cast %b : tensor<1x4x5xf32> to bf16 loc("b16")
  %cb = pz.cast %c : tensor<1x4x3xf32> to bf16 loc("c16")
  %gb = pz.cast %g : tensor<3x4xf32> to bf16 loc("g16")
  %db = pz.cast %d : tensor<2x4x5xf32> to bf16 loc("d16")
  %b2 = pz.reshape %bb [4, 5] : tensor<1x4x5xbf16> -> tensor<4x5xbf16> loc("b2")
  %f = pz.matmul %ab, %bb : tensor<2x3x4xbf16>, tensor<1x4x5xbf16> -> tensor<2x3x5xbf16> loc("folded")
  %l = pz.matmul %cb, %b2 {transpose_lhs} : tensor<1x4x3xbf16>, tensor<4x5xbf16> -> tensor<1x3x5xbf16> loc("lhs_t")
  %r = pz.matmul %ab, %gb {transpose_rhs} : tensor<2x3x4xbf16>, tensor<3x4xbf16> -> tensor<2x3x3xbf16> loc("rhs_t")
  %q = pz.matmul %gb, %gb {transpose_rhs} : tensor<3x4xbf16>, tensor<3x4xbf16> -> tensor<3x3xbf16> loc("gram")
  %n = pz.matmul %ab, %db : tensor<2x3x4xbf16>, tensor<2x4x5xbf16> -> tensor<2x3x5xbf16> loc("batched")
  %l2 = pz.reshape %l [3, 5] : tensor<1x3x5xbf16> -> tensor<3x5xbf16> loc("l2")
  %fo = pz.cast %f : tensor<2x3x5xbf16> to f32 loc("fo")
  %lo = pz.cast %l2 : tensor<3x5xbf16> to f32 loc("lo")
  %ro = pz.cast %r : tensor<2x3x3xbf16> to f32 loc("ro")
  %qo = pz.cast %q : tensor<3x3xbf16> to f32 loc("qo")
  %no = pz.cast %n : tensor<2x3x5xbf16> to f32 loc("no")
  return %fo, %lo, %ro, %qo, %no : tensor<2x3x5xf32>, tensor<3x5xf32>, tensor<2x3x3xf32>, tensor<3x3xf32>, tensor<2x3x5xf32>
}
