// pz.sin, pz.cos, pz.abs and pz.sign are element maps (one expression each,
// in the element type; integer abs wraps, sign keeps NaN); pz.cumsum is one
// running sum per (outer, inner) position, in double for floats and modulo
// 2^64 for integers, written before the add when exclusive and walked from
// the end when reversed.
// RUN: rm -rf %t && parallelize compile %s --forward-only --emit cpp -o %t
// RUN: FileCheck %s < %t/run.cpp
// CHECK-LABEL: static int pzk_forward_0_sin(
// CHECK: = std::sin(v0[0 + i0]);
// CHECK-LABEL: static int pzk_forward_1_cos(
// CHECK: = std::cos(v0[0 + i0]);
// CHECK-LABEL: static int pzk_forward_2_abs(
// CHECK: = std::fabs(v0[0 + i0]);
// CHECK-LABEL: static int pzk_forward_3_sign(
// CHECK: = (v0[0 + i0] > 0x0p+0f ? 0x1p+0f : v0[0 + i0] < 0x0p+0f ? -0x1p+0f : v0[0 + i0]);
// CHECK-LABEL: static int pzk_forward_4_abs(
// CHECK: = (v0[0 + i0] < 0 ? (int64_t)(0u - (uint64_t)v0[0 + i0]) : v0[0 + i0]);
// CHECK-LABEL: static int pzk_forward_5_cumsum(
// CHECK: for (int64_t o = 0; o < 2; ++o)
// CHECK-NEXT: for (int64_t i = 0; i < 4; ++i) {
// CHECK-NEXT: double s = 0;
// CHECK-NEXT: for (int64_t k = 0; k < 3; ++k) {
// CHECK-NEXT: int64_t at = (o * 3 + k) * 4 + i;
// CHECK-NEXT: s += (double)v0[at]; v1[at] = (float)s;
// CHECK-LABEL: static int pzk_forward_6_cumsum(
// CHECK: int64_t at = (o * 4 + (3 - k)) * 1 + i;
// CHECK-NEXT: v1[at] = (float)s; s += (double)v0[at];
// CHECK-LABEL: static int pzk_forward_7_cumsum(
// CHECK: uint64_t s = 0;
// CHECK: s += (uint64_t)(int64_t)v0[at]; v1[at] = (int64_t)s;
//
// Built and run, and in the reference interpreter, it gives what numpy
// gives: the sums exactly (float sums accumulate in double and round once),
// sin and cos within one float32 ulp of the double values rounded.
// RUN: rm -rf %t.exe && parallelize compile %s --forward-only --emit exe -o %t.exe
// RUN: %python %S/Inputs/check_cumsum_trig.py --make-inputs %t.in
// RUN: %t.exe/run --input x=%t.in/x.npy --input n=%t.in/n.npy --output-dir %t.cpu
// RUN: %python %S/Inputs/check_cumsum_trig.py %t.in %t.cpu | FileCheck %s --check-prefix=RESULT
// RUN: pz-interpret %s --input x=%t.in/x.npy --input n=%t.in/n.npy --output-dir %t.interp
// RUN: %python %S/Inputs/check_cumsum_trig.py %t.in %t.interp | FileCheck %s --check-prefix=RESULT
// RESULT: equal ['abs', 'abs_i', 'cos', 'cumsum', 'cumsum_i', 'cumsum_rev_excl', 'sign', 'sin']
func.func @forward(%x: tensor<2x3x4xf32> {pz.input = "x"}, %n: tensor<5xi64> {pz.input = "n"})
    -> (tensor<2x3x4xf32> {pz.output = "sin"}, tensor<2x3x4xf32> {pz.output = "cos"},
        tensor<2x3x4xf32> {pz.output = "abs"}, tensor<2x3x4xf32> {pz.output = "sign"},
        tensor<5xi64> {pz.output = "abs_i"}, tensor<2x3x4xf32> {pz.output = "cumsum"},
        tensor<2x3x4xf32> {pz.output = "cumsum_rev_excl"}, tensor<5xi64> {pz.output = "cumsum_i"}) {
  %s = pz.sin %x : tensor<2x3x4xf32> loc("sin")
  %c = pz.cos %x : tensor<2x3x4xf32> loc("cos")
  %a = pz.abs %x : tensor<2x3x4xf32> loc("abs")
  %g = pz.sign %x : tensor<2x3x4xf32> loc("sign")
  %ai = pz.abs %n : tensor<5xi64> loc("abs_i")
  %cs = pz.cumsum %x {axis = 1 : i64} : tensor<2x3x4xf32> loc("cumsum")
  %cr = pz.cumsum %x {axis = 2 : i64, exclusive, reverse} : tensor<2x3x4xf32> loc("cumsum_rev_excl")
  %ci = pz.cumsum %n {axis = 0 : i64} : tensor<5xi64> loc("cumsum_i")
  return %s, %c, %a, %g, %ai, %cs, %cr, %ci : tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>,
      tensor<2x3x4xf32>, tensor<5xi64>, tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<5xi64>
}
