// Reductions in gather form: element i of the result loops over its
// reduced extent in the CPU's order and type (double for floats, modulo
// 2^64 for integers) and rounds once, so the sums are the CPU backend's
// bits: reduce_sum/mean/max (NaN wins, leading-dim sums, i32 wrapping,
// bf16), cumsum (forward, reverse exclusive, i32), all_finite,
// reduce_max_grad (a tie shares the gradient), and softmax / log_softmax
// along an inner axis (one thread per column, sums in double).
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %s --forward-only --emit exe -o %t/cpu --dump-ir=%t/ir
// RUN: parallelize-translate --pzrt-kernels-to-cuda %t/ir/*-pzrt-plan-memory.mlir > %t/k.cu
// RUN: FileCheck %s < %t/k.cu
// RUN: %if nvcc %{ nvcc -arch=sm_90 -std=c++17 -I %pz_src_root/runtime/include -c %t/k.cu -o %t/k.o %}
// RUN: %if cuda-emulate %{ g++ -std=c++17 -x c++ -DPZ_CUDA_EMULATE -fsyntax-only -I %pz_src_root/runtime/include %t/k.cu %}
// RUN: %if nvcc %{ %python -c "import numpy as np; r = np.random.default_rng(5); \
// RUN:   x = (r.standard_normal((2, 3, 4)) * 1e3).astype(np.float32); \
// RUN:   x[0, 1, 2] = np.nan; x[1, 0, 0] = x[1, 2, 0]; x[1, 1, 3] = 1e-30; np.save('%t/x.npy', x); \
// RUN:   np.save('%t/n.npy', np.array([[2**31 - 1, 5, -7, 1], [3, -2**31, 9, 2**30], [2**30, 2**30, -1, 0]], dtype=np.int32)); \
// RUN:   h = (r.standard_normal((4, 8)) * 100).astype(np.float32); np.save('%t/h.npy', (h.view(np.uint32) >> 16).astype(np.uint16)); \
// RUN:   np.save('%t/g.npy', r.standard_normal((2, 4)).astype(np.float32))" %}
// RUN: %if nvcc %{ %cuda-host-check %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/h x=%t/x.npy n=%t/n.npy h=%t/h.npy g=%t/g.npy | FileCheck %s --check-prefix=HOST %}
// HOST: exact sum1 8
// HOST: exact mean02 3
// HOST: exact max1 8
// HOST: exact lead 12
// HOST: exact isum 3
// HOST: exact imax 4
// HOST: exact hsum 8
// HOST: exact cs 24
// HOST: exact csre 24
// HOST: exact ics 12
// HOST: exact fin 1
// HOST: exact mg 24
// HOST: exact hmax 4
// HOST: exact fin2 1
// HOST: exact sm 24
// HOST: exact lsm 24
// The launchers themselves on the host emulator's CUDA device: the same.
// RUN: %if cuda-emulator %{ %cuda-host-check --emulate %cuda-emu-link %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/e x=%t/x.npy n=%t/n.npy h=%t/h.npy g=%t/g.npy | FileCheck %s --check-prefix=HOST %}

// CHECK-LABEL: inline void pzk_forward_0_reduce_sum_0_at(
// CHECK: double s = 0;
// CHECK-NEXT: for (int64_t r1 = 0; r1 < 3; ++r1) {
// CHECK-NEXT: int64_t at = 0 + k0 * 12 + r1 * 4 + k2 * 1;
// CHECK-NEXT: s += (double)p1[at];
// CHECK: p0[i] = (float)(s);
// CHECK-LABEL: inline void pzk_forward_1_reduce_mean_0_at(
// CHECK: p0[i] = (float)(s / (double)8);
// CHECK-LABEL: inline void pzk_forward_4_reduce_sum_0_at(
// CHECK: uint64_t s = 0;
// CHECK: s += (uint64_t)(int64_t)p1[at];
// CHECK: p0[i] = (int32_t)(s);
// CHECK-LABEL: inline void pzk_forward_5_reduce_max_0_at(
// CHECK: int32_t s = INT32_MIN;
// CHECK-LABEL: inline void pzk_forward_6_reduce_sum_0_at(
// CHECK: s += (double)__bfloat162float(p1[at]);
// CHECK: p0[i] = pz_to_bf16(s);
// CHECK-LABEL: inline void pzk_forward_9_cumsum_0_at(
// CHECK: for (int64_t t = 3; t > p; --t) s += (double)p1[base + t * 1];
// CHECK-LABEL: inline void pzk_forward_11_all_finite_1_at(
// CHECK-NEXT: if (!std::isfinite((double)p1[i])) p0[0] = 0;
// CHECK-LABEL: inline void pzk_forward_12_reduce_max_grad_0_at(
// CHECK: p0[i] = p1[i] == m ? (float)(p2[0 + k2 * 1 + k0 * 4] / ties) : 0.0f;
// CHECK-LABEL: inline void pzk_forward_14_softmax_0_at(
// CHECK: sum += exp((double)r[t * 4] - mx);
func.func @forward(%x: tensor<2x3x4xf32> {pz.input = "x"}, %n: tensor<3x4xi32> {pz.input = "n"},
                   %h: tensor<4x8xbf16> {pz.input = "h"}, %g: tensor<2x4xf32> {pz.input = "g"})
    -> (tensor<2x4xf32> {pz.output = "sum1"}, tensor<3xf32> {pz.output = "mean02"},
        tensor<2x1x4xf32> {pz.output = "max1"}, tensor<3x4xf32> {pz.output = "lead"},
        tensor<3xi32> {pz.output = "isum"}, tensor<4xi32> {pz.output = "imax"},
        tensor<8xbf16> {pz.output = "hsum"}, tensor<2x3x4xf32> {pz.output = "cs"},
        tensor<2x3x4xf32> {pz.output = "csre"}, tensor<3x4xi32> {pz.output = "ics"},
        tensor<i1> {pz.output = "fin"}, tensor<2x3x4xf32> {pz.output = "mg"},
        tensor<4xbf16> {pz.output = "hmax"}, tensor<i1> {pz.output = "fin2"},
        tensor<2x3x4xf32> {pz.output = "sm"}, tensor<2x3x4xf32> {pz.output = "lsm"}) {
  %sum1 = pz.reduce_sum %x [1] : tensor<2x3x4xf32> -> tensor<2x4xf32> loc("sum1")
  %mean02 = pz.reduce_mean %x [0, 2] : tensor<2x3x4xf32> -> tensor<3xf32> loc("mean02")
  %max1 = pz.reduce_max %x [1] {keepdims} : tensor<2x3x4xf32> -> tensor<2x1x4xf32> loc("max1")
  %lead = pz.reduce_sum %x [0] : tensor<2x3x4xf32> -> tensor<3x4xf32> loc("lead")
  %isum = pz.reduce_sum %n [1] : tensor<3x4xi32> -> tensor<3xi32> loc("isum")
  %imax = pz.reduce_max %n [0] : tensor<3x4xi32> -> tensor<4xi32> loc("imax")
  %hsum = pz.reduce_sum %h [0] : tensor<4x8xbf16> -> tensor<8xbf16> loc("hsum")
  %hmax = pz.reduce_max %h [1] : tensor<4x8xbf16> -> tensor<4xbf16> loc("hmax")
  %cs = pz.cumsum %x {axis = 1 : i64} : tensor<2x3x4xf32> loc("cs")
  %csre = pz.cumsum %x {axis = 2 : i64, exclusive, reverse} : tensor<2x3x4xf32> loc("csre")
  %ics = pz.cumsum %n {axis = 1 : i64} : tensor<3x4xi32> loc("ics")
  %fin = pz.all_finite %x : tensor<2x3x4xf32> loc("fin")
  %mg = pz.reduce_max_grad %g, %x [1] : tensor<2x4xf32>, tensor<2x3x4xf32> loc("mg")
  %fin2 = pz.all_finite %g : tensor<2x4xf32> loc("fin2")
  %sm = pz.softmax %x {axis = 1 : i64} : tensor<2x3x4xf32> loc("sm")
  %lsm = pz.log_softmax %x {axis = 0 : i64} : tensor<2x3x4xf32> loc("lsm")
  return %sum1, %mean02, %max1, %lead, %isum, %imax, %hsum, %cs, %csre, %ics, %fin, %mg, %hmax, %fin2, %sm, %lsm : tensor<2x4xf32>, tensor<3xf32>, tensor<2x1x4xf32>, tensor<3x4xf32>, tensor<3xi32>, tensor<4xi32>, tensor<8xbf16>, tensor<2x3x4xf32>, tensor<2x3x4xf32>, tensor<3x4xi32>, tensor<i1>, tensor<2x3x4xf32>, tensor<4xbf16>, tensor<i1>, tensor<2x3x4xf32>, tensor<2x3x4xf32>
}
