// A pz.fused loop becomes one kernel whose _at function computes each inner
// value into a scalar of its own type (the CPU emitter's expressions), with
// the inputs read through broadcast strides.
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %s --forward-only --emit exe -o %t/cpu --dump-ir=%t/ir
// RUN: parallelize-translate --pzrt-kernels-to-cuda %t/ir/*-pzrt-plan-memory.mlir > %t/k.cu
// RUN: FileCheck %s < %t/k.cu
// RUN: %if nvcc %{ nvcc -arch=sm_90 -std=c++17 -I %pz_src_root/runtime/include -c %t/k.cu -o %t/k.o %}
// RUN: %if cuda-emulate %{ g++ -std=c++17 -x c++ -DPZ_CUDA_EMULATE -fsyntax-only -I %pz_src_root/runtime/include %t/k.cu %}
// On the host, every element equals the CPU backend's (exp, tanh and erf
// are glibc's float functions in both programs).
// RUN: %if nvcc %{ %python -c "import numpy as np; r = np.random.default_rng(2); \
// RUN:   x = (3 * r.standard_normal((64, 33))).astype(np.float32); x[0, :4] = [0, -0.0, np.inf, np.nan]; \
// RUN:   np.save('%t/x.npy', x); np.save('%t/s.npy', r.standard_normal((33,)).astype(np.float32))" %}
// RUN: %if nvcc %{ %cuda-host-check %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/h x=%t/x.npy s=%t/s.npy | FileCheck %s --check-prefix=HOST %}
// The launchers themselves on the host emulator's CUDA device: the same.
// RUN: %if cuda-emulator %{ %cuda-host-check --emulate %cuda-emu-link %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/e x=%t/x.npy s=%t/s.npy | FileCheck %s --check-prefix=HOST %}
// HOST: exact y 2112

// CHECK-LABEL: __host__ __device__ inline void pzk_forward_0_fused_0_at(int64_t i, float *__restrict__ p0, const float *__restrict__ p1, const float *__restrict__ p2) {
// CHECK-NEXT: float [[T:t[0-9]+]] = std::tanh(p1[i]);
// CHECK-NEXT: float [[E:t[0-9]+]] = std::exp([[T]]);
// CHECK-NEXT: uint8_t [[M:t[0-9]+]] = (uint8_t)([[E]] > p2[(i % 33)]);
// CHECK-NEXT: float [[W:t[0-9]+]] = ([[M]] ? [[E]] : [[T]]);
// CHECK-NEXT: float [[R:t[0-9]+]] = std::erf([[W]]);
// CHECK-NEXT: p0[i] = [[R]];
// CHECK-NEXT: }
// CHECK: __global__ void pzk_forward_0_fused_0_kernel(
// CHECK: static int pzk_forward_0_fused(pzrt_step_ctx *ctx, void *const *b) {
// CHECK: PZ_LAUNCH(9, 256, 0, stream, pzk_forward_0_fused_0_kernel)(INT64_C(2112), (float *)b[2], (const float *)b[0], (const float *)b[1]);
// CHECK: "pz.fused 'y'"
func.func @forward(%x: tensor<64x33xf32> {pz.input = "x"}, %s: tensor<33xf32> {pz.input = "s"})
    -> (tensor<64x33xf32> {pz.output = "y"}) {
  %t = pz.tanh %x : tensor<64x33xf32> loc("t")
  %e = pz.exp %t : tensor<64x33xf32> loc("e")
  %m = pz.compare gt, %e, %s : tensor<64x33xf32>, tensor<33xf32> -> tensor<64x33xi1> loc("m")
  %w = pz.where %m, %e, %t : tensor<64x33xi1>, tensor<64x33xf32>, tensor<64x33xf32> -> tensor<64x33xf32> loc("w")
  %y = pz.erf %w : tensor<64x33xf32> loc("y")
  return %y : tensor<64x33xf32>
}
