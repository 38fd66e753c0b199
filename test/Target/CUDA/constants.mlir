// Constants are __device__ arrays (16-bit floats as their bits: a __device__
// array takes no dynamic initializer); the host takes their address with
// cudaGetSymbolAddress (pz_device_symbol).
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %s --forward-only --emit cpp -o %t/cpu --dump-ir=%t/ir
// RUN: parallelize-translate --pzrt-kernels-to-cuda %t/ir/*-pzrt-plan-memory.mlir > %t/k.cu
// RUN: FileCheck %s < %t/k.cu
// RUN: %if nvcc %{ nvcc -arch=sm_90 -std=c++17 -I %pz_src_root/runtime/include -c %t/k.cu -o %t/k.o %}
// RUN: %if cuda-emulate %{ g++ -std=c++17 -x c++ -DPZ_CUDA_EMULATE -fsyntax-only -I %pz_src_root/runtime/include %t/k.cu %}
// CHECK: static void *pz_device_symbol(const T &symbol, const char *name) {
// CHECK-DAG: __device__ uint16_t pzg_forward_cst{{.*}}[2] = {0x3F80, 0xC040};
// CHECK-DAG: __device__ float pzg_forward_cst{{.*}}[3] = {0x1p-1f, 0x1p+1f, -0x1.8p+1f};
func.func @forward(%x: tensor<2x3xf32> {pz.input = "x"}, %h: tensor<2xbf16> {pz.input = "h"})
    -> (tensor<2x3xf32> {pz.output = "y"}, tensor<2xbf16> {pz.output = "z"}) {
  %k = pz.constant dense<[0.5, 2.0, -3.0]> : tensor<3xf32> loc("k")
  %y = pz.mul %x, %k : tensor<2x3xf32>, tensor<3xf32> -> tensor<2x3xf32> loc("y")
  %kh = pz.constant dense<[1.0, -3.0]> : tensor<2xbf16> loc("kh")
  %z = pz.add %h, %kh : tensor<2xbf16>, tensor<2xbf16> -> tensor<2xbf16> loc("z")
  return %y, %z : tensor<2x3xf32>, tensor<2xbf16>
}
