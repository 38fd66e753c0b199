// pz.attention with a bias: the call passes the bias and its strides over
// [B, H, Sq, Sk] (0 where it broadcasts: ALiBi's [1, H, 1, Sk]), next to
// the mask's; without a bias, NULL for both. pz.attention_bias_grad passes
// the bias's element count and writes its cotangent.
// RUN: rm -rf %t && parallelize compile %s --forward-only --emit cpp -o %t
// RUN: FileCheck %s < %t/run.cpp
// CHECK: static const int64_t ms[4] = {0, 0, 0, 0};
// CHECK-NEXT: static const int64_t bs[4] = {INT64_C(0), INT64_C(4), INT64_C(0), INT64_C(1)};
// CHECK-NEXT: pzrt_attention_fwd(v{{[0-9]+}}, v{{[0-9]+}}, v{{[0-9]+}}, NULL, PZRT_MASK_NONE, ms, v{{[0-9]+}}, bs, 1,
// CHECK: static const int64_t ms[4] = {INT64_C(0), INT64_C(0), INT64_C(4), INT64_C(1)};
// CHECK-NEXT: pzrt_attention_fwd(v{{[0-9]+}}, v{{[0-9]+}}, v{{[0-9]+}}, v{{[0-9]+}}, PZRT_MASK_BOOL, ms, NULL, NULL, 0,
// CHECK: static const int64_t bs[4] = {INT64_C(0), INT64_C(4), INT64_C(0), INT64_C(1)};
// CHECK-NEXT: pzrt_attention_bias_bwd(v{{[0-9]+}}, v{{[0-9]+}}, v{{[0-9]+}}, v{{[0-9]+}}, NULL, PZRT_MASK_NONE, ms, v{{[0-9]+}}, bs, 8, 1, {{[^,]+}}, 2, 2, 2, 4, 4, 8, 8, v{{[0-9]+}},
//
// Built and run, the outputs and the bias's cotangent equal the reference
// interpreter's within 1e-6 of their largest element.
// RUN: rm -rf %t.exe && parallelize compile %s --forward-only --emit exe -o %t.exe
// RUN: %python %S/Inputs/check_attention_bias.py --make-inputs %t.in
// RUN: %t.exe/run --input q=%t.in/q.npy --input alibi=%t.in/alibi.npy --input m=%t.in/m.npy --output-dir %t.cpu
// RUN: pz-interpret %s --input q=%t.in/q.npy --input alibi=%t.in/alibi.npy --input m=%t.in/m.npy --output-dir %t.interp
// RUN: %python %S/Inputs/check_attention_bias.py %t.cpu %t.interp | FileCheck %s --check-prefix=RESULT
// RESULT: close ['o', 'p', 'db']
func.func @forward(%q: tensor<2x2x4x8xf32> {pz.input = "q"}, %b: tensor<1x2x1x4xf32> {pz.input = "alibi"},
                   %m: tensor<4x4xi1> {pz.input = "m"})
    -> (tensor<2x2x4x8xf32> {pz.output = "o"}, tensor<2x2x4x8xf32> {pz.output = "p"},
        tensor<1x2x1x4xf32> {pz.output = "db"}) {
  %o = pz.attention %q, %q, %q bias(%b : tensor<1x2x1x4xf32>) {causal} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32> loc("attn")
  %p = pz.attention %q, %q, %q mask(%m : tensor<4x4xi1>) : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> -> tensor<2x2x4x8xf32> loc("plain")
  %db = pz.attention_bias_grad %q, %q, %q, %q bias(%b : tensor<1x2x1x4xf32>) {causal} : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32> loc("db")
  return %o, %p, %db : tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<1x2x1x4xf32>
}
