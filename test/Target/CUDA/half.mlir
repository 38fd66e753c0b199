// bf16 and f16 are __nv_bfloat16 and __half: read as float, computed in
// float, and rounded once per op (pz_to_bf16 / pz_to_f16), each fused
// scalar in its own type, as the CPU backend's pzrt::bf16 / pzrt::f16 do.
// A double rounds to a 16-bit float through float rounded to odd (one
// rounding in effect), as pzrt/half.h does.
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %s --forward-only --emit exe -o %t/cpu --dump-ir=%t/ir
// RUN: parallelize-translate --pzrt-kernels-to-cuda %t/ir/*-pzrt-plan-memory.mlir > %t/k.cu
// RUN: FileCheck %s < %t/k.cu
// RUN: %if nvcc %{ nvcc -arch=sm_90 -std=c++17 -I %pz_src_root/runtime/include -c %t/k.cu -o %t/k.o %}
// RUN: %if cuda-emulate %{ g++ -std=c++17 -x c++ -DPZ_CUDA_EMULATE -fsyntax-only -I %pz_src_root/runtime/include %t/k.cu %}
// On the host, every element equals the CPU backend's, bit for bit.
// RUN: %if nvcc %{ %python -c "import numpy as np; r = np.random.default_rng(3); \
// RUN:   x = (4 * r.standard_normal((8, 16))).astype(np.float16); x[0, :3] = [np.inf, -0.0, 6e-8]; \
// RUN:   d = r.standard_normal((16,)); d[:2] = [1 + 2.0**-8 + 2.0**-40, 1 + 2.0**-8]; \
// RUN:   np.save('%t/x.npy', x); np.save('%t/s.npy', r.standard_normal((16,)).astype(np.float32)); \
// RUN:   np.save('%t/d.npy', d)" %}
// RUN: %if nvcc %{ %cuda-host-check %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/h x=%t/x.npy s=%t/s.npy d=%t/d.npy | FileCheck %s --check-prefix=HOST %}
// The launchers themselves on the host emulator's CUDA device: the same.
// RUN: %if cuda-emulator %{ %cuda-host-check --emulate %cuda-emu-link %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/e x=%t/x.npy s=%t/s.npy d=%t/d.npy | FileCheck %s --check-prefix=HOST %}
// HOST: exact y 128

// CHECK: __host__ __device__ inline __nv_bfloat16 pz_to_bf16(T x) {
// CHECK: __host__ __device__ inline __half pz_to_f16(T x) {
// The f32 and f64 casts of the broadcast operands are kernels of their own.
// CHECK-LABEL: inline void pzk_forward_0_cast_0_at(int64_t i, __nv_bfloat16 *__restrict__ p0, const float *__restrict__ p1) {
// CHECK-NEXT: p0[i] = pz_to_bf16(__bfloat162float(pz_to_bf16(p1[i])));
// CHECK-LABEL: inline void pzk_forward_1_cast_0_at(int64_t i, __nv_bfloat16 *__restrict__ p0, const double *__restrict__ p1) {
// CHECK-NEXT: p0[i] = pz_to_bf16(__bfloat162float(pz_to_bf16(p1[i])));
// CHECK-LABEL: inline void pzk_forward_2_fused_0_at(int64_t i, float *__restrict__ p0, const __half *__restrict__ p1, const __nv_bfloat16 *__restrict__ p2, const __nv_bfloat16 *__restrict__ p3) {
// CHECK-NEXT: __nv_bfloat16 [[A:t[0-9]+]] = pz_to_bf16(__bfloat162float(pz_to_bf16(p1[i])));
// CHECK-NEXT: __nv_bfloat16 [[C0:t[0-9]+]] = pz_to_bf16((__bfloat162float([[A]]) * __bfloat162float(p2[(i % 16)])));
// CHECK-NEXT: __nv_bfloat16 [[C:t[0-9]+]] = pz_to_bf16((__bfloat162float([[C0]]) * __bfloat162float(p3[(i % 16)])));
// CHECK-NEXT: __nv_bfloat16 [[G:t[0-9]+]] = pz_to_bf16((0x1p+0f / (0x1p+0f + std::exp(-__bfloat162float([[C]])))));
// CHECK-NEXT: __half [[E:t[0-9]+]] = pz_to_f16(__half2float(pz_to_f16([[G]])));
// CHECK-NEXT: __half [[F:t[0-9]+]] = pz_to_f16((__half2float([[E]]) + __half2float(p1[i])));
// CHECK-NEXT: float [[Y:t[0-9]+]] = (float)__half2float([[F]]);
// CHECK-NEXT: p0[i] = [[Y]];
func.func @forward(%x: tensor<8x16xf16> {pz.input = "x"}, %s: tensor<16xf32> {pz.input = "s"},
                   %d: tensor<16xf64> {pz.input = "d"}) -> (tensor<8x16xf32> {pz.output = "y"}) {
  %a = pz.cast %x : tensor<8x16xf16> to bf16 loc("a")
  %b = pz.cast %s : tensor<16xf32> to bf16 loc("b")
  %db = pz.cast %d : tensor<16xf64> to bf16 loc("db")
  %c0 = pz.mul %a, %b : tensor<8x16xbf16>, tensor<16xbf16> -> tensor<8x16xbf16> loc("c0")
  %c = pz.mul %c0, %db : tensor<8x16xbf16>, tensor<16xbf16> -> tensor<8x16xbf16> loc("c")
  %g = pz.sigmoid %c : tensor<8x16xbf16> loc("g")
  %e = pz.cast %g : tensor<8x16xbf16> to f16 loc("e")
  %f = pz.add %e, %x : tensor<8x16xf16>, tensor<8x16xf16> -> tensor<8x16xf16> loc("f")
  %y = pz.cast %f : tensor<8x16xf16> to f32 loc("y")
  return %y : tensor<8x16xf32>
}
