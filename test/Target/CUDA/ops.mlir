// Every kind of element expression the shared printer has, in CUDA's
// spelling, run on the host and compared bit for bit with the CPU backend:
// float math (glibc's functions in both programs), NaN-propagating
// max/min, sign and relu on NaN and -0, float-to-integer casts, wrapping
// integer arithmetic.
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %s --forward-only --emit exe -o %t/cpu --dump-ir=%t/ir
// RUN: parallelize-translate --pzrt-kernels-to-cuda %t/ir/*-pzrt-plan-memory.mlir > %t/k.cu
// RUN: FileCheck %s < %t/k.cu
// RUN: %if nvcc %{ nvcc -arch=sm_90 -std=c++17 -I %pz_src_root/runtime/include -c %t/k.cu -o %t/k.o %}
// RUN: %if cuda-emulate %{ g++ -std=c++17 -x c++ -DPZ_CUDA_EMULATE -fsyntax-only -I %pz_src_root/runtime/include %t/k.cu %}
// RUN: %if nvcc %{ %python -c "import numpy as np; r = np.random.default_rng(4); \
// RUN:   a = (3 * r.standard_normal((4, 16))).astype(np.float32); a[0, :6] = [0, -0.0, np.inf, -np.inf, np.nan, 1e-40]; \
// RUN:   b = r.standard_normal((16,)).astype(np.float32); b[:2] = [np.nan, 2]; \
// RUN:   n = r.integers(-2**31, 2**31, (4, 16)).astype(np.int32); n[0, :3] = [-2**31, 2**31 - 1, 0]; \
// RUN:   np.save('%t/a.npy', a); np.save('%t/b.npy', b); np.save('%t/n.npy', n)" %}
// RUN: %if nvcc %{ %cuda-host-check %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/h a=%t/a.npy b=%t/b.npy n=%t/n.npy | FileCheck %s --check-prefix=HOST %}
// The launchers themselves on the host emulator's CUDA device: the same.
// RUN: %if cuda-emulator %{ %cuda-host-check --emulate %cuda-emu-link %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/e a=%t/a.npy b=%t/b.npy n=%t/n.npy | FileCheck %s --check-prefix=HOST %}
// HOST-DAG: exact trig 64
// HOST-DAG: exact powed 64
// HOST-DAG: exact extrema 64
// HOST-DAG: exact acts 64
// HOST-DAG: exact ints 64
// HOST-DAG: exact back 64
// CHECK-DAG: std::sin(
// CHECK-DAG: std::pow(
// CHECK-DAG: std::trunc(
func.func @forward(%a: tensor<4x16xf32> {pz.input = "a"}, %b: tensor<16xf32> {pz.input = "b"},
                   %n: tensor<4x16xi32> {pz.input = "n"})
    -> (tensor<4x16xf32> {pz.output = "trig"}, tensor<4x16xf32> {pz.output = "powed"},
        tensor<4x16xf32> {pz.output = "extrema"}, tensor<4x16xf32> {pz.output = "acts"},
        tensor<4x16xi32> {pz.output = "ints"}, tensor<4x16xf32> {pz.output = "back"}) {
  %s = pz.sin %a : tensor<4x16xf32>
  %c = pz.cos %a : tensor<4x16xf32>
  %ab = pz.abs %a : tensor<4x16xf32>
  %l = pz.log %ab : tensor<4x16xf32>
  %q = pz.sqrt %ab : tensor<4x16xf32>
  %rq = pz.rsqrt %ab : tensor<4x16xf32>
  %t0 = pz.add %s, %c : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %t1 = pz.sub %t0, %l : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %t2 = pz.div %t1, %q : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %trig = pz.mul %t2, %rq : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %powed = pz.pow %ab, %b : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %mx = pz.max %a, %b : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %mn = pz.min %a, %b : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf32>
  %sg = pz.sign %a : tensor<4x16xf32>
  %e0 = pz.sub %mx, %mn : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %extrema = pz.mul %e0, %sg : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %re = pz.relu %a : tensor<4x16xf32>
  %si = pz.silu %a : tensor<4x16xf32>
  %sm = pz.sigmoid %a : tensor<4x16xf32>
  %ng = pz.neg %sm : tensor<4x16xf32>
  %a0 = pz.add %re, %si : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %acts = pz.add %a0, %ng : tensor<4x16xf32>, tensor<4x16xf32> -> tensor<4x16xf32>
  %ai = pz.cast %a : tensor<4x16xf32> to i32
  %i0 = pz.mul %n, %ai : tensor<4x16xi32>, tensor<4x16xi32> -> tensor<4x16xi32>
  %i1 = pz.add %i0, %n : tensor<4x16xi32>, tensor<4x16xi32> -> tensor<4x16xi32>
  %i2 = pz.neg %i1 : tensor<4x16xi32>
  %i3 = pz.abs %i2 : tensor<4x16xi32>
  %ints = pz.max %i3, %n : tensor<4x16xi32>, tensor<4x16xi32> -> tensor<4x16xi32>
  %back = pz.cast %ints : tensor<4x16xi32> to f32
  return %trig, %powed, %extrema, %acts, %ints, %back : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xi32>, tensor<4x16xf32>
}
