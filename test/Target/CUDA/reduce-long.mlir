// Long reductions with few outputs run on many threads: partials over runs
// of 4096 reduced elements (TargetInfo::cudaReducePartials, in the CUDA
// target's workspace, 8 bytes each), combined in order by one thread per
// output. A max and an integer sum are order-independent: the CPU's bits. A
// float sum adds the same doubles in another association: the double sums
// differ by at most count * 2^-53 * sum|x| (< 1e-6 here), so the stored
// floats differ by at most one rounding step: within 1e-4 for `rows` and
// 1e-7 for `mean` (|sums| < 1000 and < 1: one f32 ulp is < 1e-4 and
// < 1.2e-7), within 4 for the bf16 `hsum` (|sum| < 1000: one bf16 ulp).
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %s --forward-only --emit exe -o %t/cpu --dump-ir=%t/ir
// RUN: %cuda-ir %t/ir %t/cuda.mlir
// RUN: FileCheck %s --check-prefix=PLAN < %t/cuda.mlir
// RUN: parallelize-translate --pzrt-kernels-to-cuda %t/cuda.mlir > %t/k.cu
// RUN: FileCheck %s < %t/k.cu
// RUN: %if nvcc %{ nvcc -arch=sm_90 -std=c++17 -I %pz_src_root/runtime/include -c %t/k.cu -o %t/k.o %}
// RUN: %if cuda-emulate %{ g++ -std=c++17 -x c++ -DPZ_CUDA_EMULATE -fsyntax-only -I %pz_src_root/runtime/include %t/k.cu %}
// RUN: %if nvcc %{ %python -c "import numpy as np; r = np.random.default_rng(11); \
// RUN:   x = r.standard_normal((2, 70000)).astype(np.float32); x[1, 50000] = np.nan; np.save('%t/x.npy', x); \
// RUN:   np.save('%t/m.npy', r.standard_normal((300, 300)).astype(np.float32)); \
// RUN:   np.save('%t/n.npy', r.integers(-2**31, 2**31 - 1, 70000, dtype=np.int64).astype(np.int32)); \
// RUN:   np.save('%t/h.npy', (r.standard_normal((3, 30000, 2)).astype(np.float32).view(np.uint32) >> 16).astype(np.uint16))" %}
// RUN: %if nvcc %{ %cuda-host-check --tol rows=1e-4 --tol mean=1e-7 --tol hsum=4 %t/cuda.mlir %t/k.cu %t/cpu %t/h x=%t/x.npy m=%t/m.npy n=%t/n.npy h=%t/h.npy | FileCheck %s --check-prefix=HOST %}
// RUN: %if cuda-emulator %{ %cuda-host-check --emulate %cuda-emu-link --tol rows=1e-4 --tol mean=1e-7 --tol hsum=4 %t/cuda.mlir %t/k.cu %t/cpu %t/e x=%t/x.npy m=%t/m.npy n=%t/n.npy h=%t/h.npy | FileCheck %s --check-prefix=HOST %}
// HOST: close rows 2
// HOST: close mean 1
// HOST: exact max 2
// HOST: exact isum 1
// HOST: close hsum 2

// 18 partials of 2 rows, 22 of the 300 x 300 mean.
// PLAN: func.func @forward_0_reduce_sum({{.*}} attributes {pzrt.workspace_bytes = 288 : i64}
// PLAN: func.func @forward_1_reduce_mean({{.*}} attributes {pzrt.workspace_bytes = 176 : i64}

// CHECK-LABEL: inline void pzk_forward_0_reduce_sum_0_at(int64_t i, double *__restrict__ p0, const float *__restrict__ p1) {
// CHECK-NEXT: int64_t o = i / 18, part = i % 18;
// CHECK: for (int64_t t = part * 4096; t < end; ++t) {
// CHECK: s += (double)p1[at];
// CHECK: p0[i] = s;
// CHECK-LABEL: inline void pzk_forward_0_reduce_sum_1_at(int64_t i, float *__restrict__ p0, const double *__restrict__ p1) {
// CHECK: for (int64_t part = 0; part < 18; ++part) s += (double)(double)p1[i * 18 + part];
// CHECK-NEXT: p0[i] = (float)(s);
// CHECK: PZ_LAUNCH(1, 256, 0, stream, pzk_forward_0_reduce_sum_0_kernel)(INT64_C(36), (double *)((char *)b[2]), (const float *)b[0]);
// CHECK: PZ_LAUNCH(1, 256, 0, stream, pzk_forward_0_reduce_sum_1_kernel)(INT64_C(2), (float *)b[1], (double *)((char *)b[2]));
// CHECK-LABEL: inline void pzk_forward_1_reduce_mean_1_at(
// CHECK: p0[i] = (float)(s / (double)90000);
func.func @forward(%x: tensor<2x70000xf32> {pz.input = "x"}, %m: tensor<300x300xf32> {pz.input = "m"},
                   %n: tensor<70000xi32> {pz.input = "n"}, %h: tensor<3x30000x2xbf16> {pz.input = "h"})
    -> (tensor<2xf32> {pz.output = "rows"}, tensor<f32> {pz.output = "mean"},
        tensor<2xf32> {pz.output = "max"}, tensor<i32> {pz.output = "isum"}, tensor<2xbf16> {pz.output = "hsum"}) {
  %rows = pz.reduce_sum %x [1] : tensor<2x70000xf32> -> tensor<2xf32> loc("rows")
  %mean = pz.reduce_mean %m [0, 1] : tensor<300x300xf32> -> tensor<f32> loc("mean")
  %max = pz.reduce_max %x [1] : tensor<2x70000xf32> -> tensor<2xf32> loc("max")
  %isum = pz.reduce_sum %n [0] : tensor<70000xi32> -> tensor<i32> loc("isum")
  %hsum = pz.reduce_sum %h [0, 1] : tensor<3x30000x2xbf16> -> tensor<2xbf16> loc("hsum")
  return %rows, %mean, %max, %isum, %hsum : tensor<2xf32>, tensor<f32>, tensor<2xf32>, tensor<i32>, tensor<2xbf16>
}
