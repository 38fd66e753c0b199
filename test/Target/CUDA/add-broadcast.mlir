// An element map with numpy broadcasting becomes a __host__ __device__
// function of the flat index i (broadcast operands read through their
// strides), a grid-stride __global__ kernel calling it, and a launcher on
// the step's compute stream.
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %s --forward-only --emit exe -o %t/cpu --dump-ir=%t/ir
// RUN: parallelize-translate --pzrt-kernels-to-cuda %t/ir/*-pzrt-plan-memory.mlir > %t/k.cu
// RUN: FileCheck %s < %t/k.cu
// RUN: %if nvcc %{ nvcc -arch=sm_90 -std=c++17 -I %pz_src_root/runtime/include -c %t/k.cu -o %t/k.o %}
// RUN: %if cuda-emulate %{ g++ -std=c++17 -x c++ -DPZ_CUDA_EMULATE -fsyntax-only -I %pz_src_root/runtime/include %t/k.cu %}
// On the host, every element equals the CPU backend's.
// RUN: %if nvcc %{ %python -c "import numpy as np; r = np.random.default_rng(1); \
// RUN:   np.save('%t/x.npy', r.standard_normal((2, 4, 3)).astype(np.float32)); \
// RUN:   np.save('%t/c.npy', r.standard_normal((4, 1)).astype(np.float32)); \
// RUN:   np.save('%t/b.npy', r.standard_normal((3,)).astype(np.float32))" %}
// RUN: %if nvcc %{ %cuda-host-check %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/h x=%t/x.npy c=%t/c.npy b=%t/b.npy | FileCheck %s --check-prefix=HOST %}
// The launchers themselves on the host emulator's CUDA device: the same.
// RUN: %if cuda-emulator %{ %cuda-host-check --emulate %cuda-emu-link %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/e x=%t/x.npy c=%t/c.npy b=%t/b.npy | FileCheck %s --check-prefix=HOST %}
// HOST: exact y 24
// HOST: exact z 24

// CHECK: #include <pzrt/cuda_prelude.h>
// CHECK-LABEL: __host__ __device__ inline void pzk_forward_0_add_0_at(int64_t i, float *__restrict__ p0, const float *__restrict__ p1, const float *__restrict__ p2) {
// CHECK-NEXT: p0[i] = (p1[i] + p2[(i % 3)]);
// CHECK: __global__ void pzk_forward_0_add_0_kernel(int64_t n, float *__restrict__ p0, const float *__restrict__ p1, const float *__restrict__ p2) {
// CHECK-NEXT: for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;
// CHECK-NEXT: i += (int64_t)blockDim.x * gridDim.x)
// CHECK-NEXT: pzk_forward_0_add_0_at(i, p0, p1, p2);
// CHECK: static int pzk_forward_0_add(pzrt_step_ctx *ctx, void *const *b) {
// CHECK: cudaStream_t stream = (cudaStream_t)pzrt_cuda_compute_stream(ctx);
// CHECK: PZ_LAUNCH(1, 256, 0, stream, pzk_forward_0_add_0_kernel)(INT64_C(24), (float *)b[{{[0-9]+}}], (const float *)b[{{[0-9]+}}], (const float *)b[{{[0-9]+}}]);
// CHECK-NEXT: if (pzrt_cuda_launched("pz.add 'bias'")) return -1;
// A [4,1] operand against [2,4,3]: dim 1's coordinate, dim 2 broadcast.
// CHECK-LABEL: inline void pzk_forward_1_mul_0_at(
// CHECK-NEXT: p0[i] = (p1[i] * p2[((i / 3) % 4)]);
func.func @forward(%x: tensor<2x4x3xf32> {pz.input = "x"}, %b: tensor<3xf32> {pz.input = "b"},
                   %c: tensor<4x1xf32> {pz.input = "c"})
    -> (tensor<2x4x3xf32> {pz.output = "y"}, tensor<2x4x3xf32> {pz.output = "z"}) {
  %y = pz.add %x, %b : tensor<2x4x3xf32>, tensor<3xf32> -> tensor<2x4x3xf32> loc("bias")
  %z = pz.mul %x, %c : tensor<2x4x3xf32>, tensor<4x1xf32> -> tensor<2x4x3xf32> loc("scale")
  return %y, %z : tensor<2x4x3xf32>, tensor<2x4x3xf32>
}
