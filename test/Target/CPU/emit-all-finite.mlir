// pz.all_finite on f32 tests the exponent bits with one OR over the tensor
// (a loop the compiler vectorizes); other float types (here f16) go through double.
// Built and run: every non-finite kind (+inf, -inf, quiet and signalling
// NaN, NaN with the sign bit) is caught at any position, and the largest
// finite, the smallest subnormal and -0 are finite, as numpy says.
// RUN: rm -rf %t && parallelize compile %s --forward-only --emit cpp -o %t
// RUN: FileCheck %s < %t/run.cpp
// CHECK: uint32_t bad = 0;
// CHECK: bad |= (~u & 0x7f800000u) == 0; }
// CHECK: [0] = bad ? 0 : 1; }
// CHECK: ok &= std::isfinite((double)
// RUN: rm -rf %t.exe && parallelize compile %s --forward-only --emit exe -o %t.exe
// RUN: %python %S/Inputs/all_finite_cases.py %t.exe/run %t.work | FileCheck %s --check-prefix=RESULT
// RESULT: 15 cases agree with numpy
func.func @forward(%x: tensor<37xf32> {pz.input = "x"}, %h: tensor<5xf16> {pz.input = "h"})
    -> (tensor<i1> {pz.output = "fin"}, tensor<i1> {pz.output = "hfin"}) {
  %fin = pz.all_finite %x : tensor<37xf32> loc("fin")
  %hfin = pz.all_finite %h : tensor<5xf16> loc("hfin")
  return %fin, %hfin : tensor<i1>, tensor<i1>
}
