// Shape ops in gather form: one _at per result element reads the operand
// element it comes from (negative slice steps, concat's chain of inputs,
// negative gather_elements indices wrapped); scatter_elements walks its
// column's indices in order (last write wins, accumulations in the CPU's
// order); the gradients of gather and embedding zero their result and
// scatter-add with pz_atomic_add (in order on the host). Index checks set
// the kernel's flag, read by the launcher.
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %s --forward-only --emit exe -o %t/cpu --dump-ir=%t/ir
// RUN: parallelize-translate --pzrt-kernels-to-cuda %t/ir/*-pzrt-plan-memory.mlir > %t/k.cu
// RUN: FileCheck %s < %t/k.cu
// RUN: %if nvcc %{ nvcc -arch=sm_90 -std=c++17 -I %pz_src_root/runtime/include -c %t/k.cu -o %t/k.o %}
// RUN: %if cuda-emulate %{ g++ -std=c++17 -x c++ -DPZ_CUDA_EMULATE -fsyntax-only -I %pz_src_root/runtime/include %t/k.cu %}
// On the host, every element equals the CPU backend's (duplicate and
// negative indices included).
// RUN: %if nvcc %{ %python -c "import numpy as np; r = np.random.default_rng(3); \
// RUN:   np.save('%t/x.npy', r.standard_normal((2, 3, 4)).astype(np.float32)); \
// RUN:   np.save('%t/m.npy', r.standard_normal((2, 6)).astype(np.float32)); \
// RUN:   np.save('%t/i.npy', np.array([[0, -1], [2, 2], [-4, 3]], dtype=np.int64)); \
// RUN:   np.save('%t/u.npy', r.standard_normal((3, 2)).astype(np.float32)); \
// RUN:   np.save('%t/t.npy', r.standard_normal((3, 4)).astype(np.float32)); \
// RUN:   np.save('%t/ids.npy', np.array([[0, 2, 2], [1, 0, 2]], dtype=np.int64)); \
// RUN:   np.save('%t/g.npy', r.standard_normal((2, 3)).astype(np.float32)); \
// RUN:   np.save('%t/q.npy', r.standard_normal((3, 2, 3)).astype(np.float32))" %}
// RUN: %if nvcc %{ %cuda-host-check %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/h x=%t/x.npy m=%t/m.npy i=%t/i.npy u=%t/u.npy t=%t/t.npy ids=%t/ids.npy g=%t/g.npy q=%t/q.npy | FileCheck %s --check-prefix=HOST %}
// HOST: exact tr 24
// HOST: exact sl 6
// HOST: exact sg 12
// HOST: exact cat 18
// HOST: exact ge 6
// HOST: exact sea 12
// HOST: exact ses 12
// HOST: exact ga 48
// HOST: exact emb 24
// HOST: exact egrad 12
// HOST: exact ggrad 12
// HOST: exact tu 12
// HOST: exact tl 6
// The launchers themselves on the host emulator's CUDA device (device
// buffers, PZ_LAUNCH, the check word read by pzrt_device_check): the same.
// RUN: %if cuda-emulator %{ %cuda-host-check --emulate %cuda-emu-link %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/e x=%t/x.npy m=%t/m.npy i=%t/i.npy u=%t/u.npy t=%t/t.npy ids=%t/ids.npy g=%t/g.npy q=%t/q.npy | FileCheck %s --check-prefix=HOST %}

// CHECK-LABEL: inline void pzk_forward_0_transpose_0_at(
// CHECK: p0[i] = p1[0 + c0 * 1 + c1 * 12 + c2 * 4];
// CHECK-LABEL: inline void pzk_forward_1_slice_0_at(
// CHECK: p0[i] = p1[0 + (1 + c0 * -1) * 6 + (5 + c1 * -2) * 1];
// CHECK-LABEL: inline void pzk_forward_2_slice_grad_0_at(
// CHECK: hit = hit && q % -2 == 0 && q / -2 >= 0 && q / -2 < 3;
// CHECK: p0[i] = hit ? p1[at] : (float)0;
// CHECK-LABEL: inline void pzk_forward_3_concat_0_at(
// CHECK: if (c1 < 6) { p0[i] = p1[0 + c0 * 6 + (c1 - 0) * 1]; return; }
// CHECK-NEXT: if (c1 < 9) { p0[i] = p2[0 + c0 * 3 + (c1 - 6) * 1]; return; }
// CHECK-LABEL: inline void pzk_forward_4_gather_elements_0_at(
// CHECK: if (j < -4 || j >= 4) { pz_flag(pz_bad, pz_check); p0[i] = (float)0; return; }
// CHECK-NEXT: if (j < 0) j += 4;
// CHECK: int *pz_bad = pzrt_cuda_check_word(ctx, "pz.gather_elements 'ge': an index is out of range [-4, 4)", &pz_check_id);
// CHECK-LABEL: inline void pzk_forward_5_scatter_elements_0_at(
// CHECK: for (int64_t p = 0; p < 2; ++p) {
// CHECK: if (j == c1) y = y + p3[k];
// CHECK-LABEL: inline void pzk_forward_6_scatter_elements_0_at(
// CHECK: if (j == c1) y = p3[k];
// CHECK-LABEL: inline void pzk_forward_7_gather_0_at(
// CHECK: p0[i] = p1[(o * 3 + j) * 4 + c];
// CHECK-LABEL: inline void pzk_forward_9_embedding_grad_0_at(
// CHECK-NEXT: p0[i] = 0.0f;
// CHECK-LABEL: inline void pzk_forward_9_embedding_grad_1_at(
// CHECK: pz_atomic_add(&p0[(o * 3 + j) * 4 + c], (float)p1[i]);
// CHECK: PZ_LAUNCH(1, 256, 0, stream, pzk_forward_9_embedding_grad_0_kernel)(INT64_C(12)
// CHECK: int *pz_bad = pzrt_cuda_check_word(ctx, "pz.embedding_grad 'egrad': an id is out of range [0, 3)", &pz_check_id);
// CHECK-NEXT: if (!pz_bad) return pz_cuda_fail("pz.embedding_grad 'egrad'");
// CHECK-NEXT: PZ_LAUNCH(1, 256, 0, stream, pzk_forward_9_embedding_grad_1_kernel)(INT64_C(24)
// CHECK-LABEL: inline void pzk_forward_11_trilu_0_at(
// CHECK: p0[i] = (c - r >= 1) ? p1[i] : (float)0;
func.func @forward(%x: tensor<2x3x4xf32> {pz.input = "x"}, %m: tensor<2x6xf32> {pz.input = "m"},
                   %i: tensor<3x2xi64> {pz.input = "i"}, %u: tensor<3x2xf32> {pz.input = "u"},
                   %t: tensor<3x4xf32> {pz.input = "t"}, %ids: tensor<2x3xi64> {pz.input = "ids"},
                   %g: tensor<2x3xf32> {pz.input = "g"},
                   %q: tensor<3x2x3xf32> {pz.input = "q"})
    -> (tensor<4x2x3xf32> {pz.output = "tr"}, tensor<2x3xf32> {pz.output = "sl"},
        tensor<2x6xf32> {pz.output = "sg"}, tensor<2x9xf32> {pz.output = "cat"},
        tensor<3x2xf32> {pz.output = "ge"}, tensor<3x4xf32> {pz.output = "sea"},
        tensor<3x4xf32> {pz.output = "ses"}, tensor<2x2x3x4xf32> {pz.output = "ga"},
        tensor<2x3x4xf32> {pz.output = "emb"}, tensor<3x4xf32> {pz.output = "egrad"},
        tensor<3x4xf32> {pz.output = "ggrad"}, tensor<3x4xf32> {pz.output = "tu"},
        tensor<2x3xi64> {pz.output = "tl"}) {
  %tr = pz.transpose %x [2, 0, 1] : tensor<2x3x4xf32> -> tensor<4x2x3xf32> loc("tr")
  %sl = pz.slice %m starts [1, 5] ends [-1, 0] steps [-1, -2] : tensor<2x6xf32> -> tensor<2x3xf32> loc("sl")
  %sg = pz.slice_grad %g [2, 6] starts [1, 5] ends [-1, 0] steps [-1, -2] : tensor<2x3xf32> -> tensor<2x6xf32> loc("sg")
  %cat = pz.concat %m, %g {axis = 1 : i64} : (tensor<2x6xf32>, tensor<2x3xf32>) -> tensor<2x9xf32> loc("cat")
  %ge = pz.gather_elements %t, %i {axis = 1 : i64} : tensor<3x4xf32>, tensor<3x2xi64> -> tensor<3x2xf32> loc("ge")
  %sea = pz.scatter_elements %t, %i, %u {axis = 1 : i64, accumulate} : tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32> -> tensor<3x4xf32> loc("sea")
  %ses = pz.scatter_elements %t, %i, %u {axis = 1 : i64} : tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32> -> tensor<3x4xf32> loc("ses")
  %ga = pz.gather %x, %ids {axis = 1 : i64} : tensor<2x3x4xf32>, tensor<2x3xi64> -> tensor<2x2x3x4xf32> loc("ga")
  %emb = pz.embedding %t, %ids : tensor<3x4xf32>, tensor<2x3xi64> -> tensor<2x3x4xf32> loc("emb")
  %eg = pz.embedding_grad %emb, %ids {vocab = 3 : i64} : tensor<2x3x4xf32>, tensor<2x3xi64> -> tensor<3x4xf32> loc("egrad")
  %gg = pz.gather_grad %q, %ids [3, 4] {axis = 1 : i64} : tensor<3x2x3xf32>, tensor<2x3xi64> -> tensor<3x4xf32> loc("ggrad")
  %tu = pz.trilu %t upper diagonal 1 : tensor<3x4xf32> loc("tu")
  %tl = pz.trilu %ids diagonal -1 : tensor<2x3xi64> loc("tl")
  return %tr, %sl, %sg, %cat, %ge, %sea, %ses, %ga, %emb, %eg, %gg, %tu, %tl : tensor<4x2x3xf32>, tensor<2x3xf32>, tensor<2x6xf32>, tensor<2x9xf32>, tensor<3x2xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<2x2x3x4xf32>, tensor<2x3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<2x3xi64>
}
