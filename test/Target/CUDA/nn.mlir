// Ops that call the runtime, planned for the CUDA target (its workspaces):
// GEMMs through cuBLASLt on the operands' own dtype (bf16 without fp32
// copies), batched with one stride per operand or, for mixed broadcasts, one
// GEMM per matrix; softmax, the norms and GELU on fp32 copies of bf16 values
// in the op's workspace; attention with a broadcast mask; cross-entropy with
// its device scalars in the workspace; dropout keyed as on the CPU. Compiled
// with nvcc, and run whole on the host emulator where it is built (the
// runtime's CUDA kernels and the emulator's cuBLASLt); nothing here ran on
// a GPU.
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %s --forward-only --emit exe -o %t/cpu --dump-ir=%t/ir
// RUN: %cuda-ir %t/ir %t/cuda.mlir
// RUN: FileCheck %s --check-prefix=PLAN < %t/cuda.mlir
// RUN: parallelize-translate --pzrt-kernels-to-cuda %t/cuda.mlir > %t/k.cu
// RUN: FileCheck %s < %t/k.cu
// RUN: %if nvcc %{ nvcc -arch=sm_90 -std=c++17 -I %pz_src_root/runtime/include -c %t/k.cu -o %t/k.o %}
// RUN: %if cuda-emulate %{ g++ -std=c++17 -x c++ -DPZ_CUDA_EMULATE -fsyntax-only -I %pz_src_root/runtime/include %t/k.cu %}
// On the emulated device, against the CPU backend. The bf16 results are the
// CPU's bits here; the bounds allow one bf16 rounding step of their
// magnitude (|y| < 1 for softmax: 2^-8; < 16 for mm16: 2^-4; < 4 otherwise:
// 2^-6) since the fp32
// values beneath differ in their last bits. f32 results: the GEMMs sum k <= 5
// exact products of N(0, 1) inputs (sum |a||b| < 20) in another order,
// within 5 * 2^-24 * 20 < 1e-5, and dropout scales them by 1 / 0.9 with the
// CPU's mask; attention's softmax-weighted sums of 3 keys (|v| < 4) and
// the loss's fp32 log-sum-exp (|lse| < 10) differ by a few f32 ulps of
// such magnitudes (< 1e-5); the loss gradient (|g| < 1) within 1e-6.
// RUN: %if cuda-emulator %{ %python -c "import numpy as np; r = np.random.default_rng(9); \
// RUN:   bf = lambda a: (a.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16); \
// RUN:   np.save('%t/x.npy', bf(r.standard_normal((2, 4, 8)))); np.save('%t/w.npy', bf(r.standard_normal((8, 16)))); \
// RUN:   np.save('%t/s.npy', bf(r.standard_normal((8,)))); \
// RUN:   [np.save('%t/' + n + '.npy', r.standard_normal(sh).astype(np.float32)) for n, sh in \
// RUN:    [('a', (2, 3, 4, 5)), ('b', (2, 1, 5, 6)), ('c', (3, 5, 6)), ('d', (2, 1, 4, 5)), ('q', (1, 4, 3, 8)), ('k', (1, 2, 3, 8)), ('logits', (4, 16))]]; \
// RUN:   np.save('%t/m.npy', np.array([[1, 0, 1], [1, 1, 0], [0, 1, 1]], dtype=np.uint8)); \
// RUN:   np.save('%t/labels.npy', np.array([3, -100, 15, 0], dtype=np.int64)); np.save('%t/seed.npy', np.array(1.0, dtype=np.float32))" %}
// RUN: %if cuda-emulator %{ %cuda-host-check --emulate %cuda-emu-link --tol mm16=0.0625 --tol mmb=1e-5 --tol mmx=1e-5 \
// RUN:   --tol sm=0.004 --tol ln=0.016 --tol rms=0.016 --tol ge=0.016 --tol att=1e-5 --tol ce=1e-5 --tol cen=1e-5 \
// RUN:   --tol dce=1e-6 --tol drop=1.2e-5 %t/cuda.mlir %t/k.cu %t/cpu %t/e x=%t/x.npy w=%t/w.npy a=%t/a.npy b=%t/b.npy \
// RUN:   c=%t/c.npy d=%t/d.npy s=%t/s.npy q=%t/q.npy k=%t/k.npy m=%t/m.npy logits=%t/logits.npy labels=%t/labels.npy \
// RUN:   seed=%t/seed.npy | FileCheck %s --check-prefix=EMU %}
// EMU: close mm16 128
// EMU: close mmb 144
// EMU: close mmx 144
// EMU: close sm 64
// EMU: close ln 64
// EMU: close rms 64
// EMU: close ge 64
// EMU: close att 96
// EMU: close ce 1
// EMU: close cen 4
// EMU: close dce 64
// EMU: close drop 144

// The CUDA target's workspaces: 32 MiB of cuBLASLt workspace per GEMM and
// no fp32 copies of bf16 operands (the CPU plans 1280 bytes of copies for
// mm16 instead); two fp32 copies for the bf16 softmax (2 x 256 bytes); the
// loss's 64 bytes of scalars (+ 4 rows of lse, rounded to 64, for none).
// PLAN: func.func @forward_0_matmul({{.*}} attributes {pzrt.workspace_bytes = 33554432 : i64}
// PLAN: func.func @forward_1_matmul({{.*}} attributes {pzrt.workspace_bytes = 33554432 : i64}
// PLAN: func.func @forward_3_softmax({{.*}} attributes {pzrt.workspace_bytes = 512 : i64}
// PLAN: func.func @forward_8_cross_entropy({{.*}} attributes {pzrt.workspace_bytes = 64 : i64}
// PLAN: func.func @forward_9_cross_entropy({{.*}} attributes {pzrt.workspace_bytes = 128 : i64}
// PLAN: func.func @forward_10_cross_entropy_grad({{.*}} attributes {pzrt.workspace_bytes = 64 : i64}

// CHECK: #include <pzrt/cuda_prelude.h>
// CHECK-NEXT: #include <pzrt/cuda.h>
// CHECK-NEXT: #include <pzrt/cuda_kernels.h>
// CHECK-LABEL: static int pzk_forward_0_matmul(
// CHECK: pzrt_cuda_gemm(ctx->streams[0], 0, 0, 8, 16, 8, 1.0f, (__nv_bfloat16 *)b[0], 8, (__nv_bfloat16 *)b[1], 16, PZRT_BF16, 0.0f, (__nv_bfloat16 *)b[2], 16, PZRT_BF16, PZRT_CUDA_EPILOGUE_NONE, NULL, ((char *)b[3]), PZRT_CUDA_GEMM_WORKSPACE_BYTES)
// CHECK-LABEL: static int pzk_forward_1_matmul(
// CHECK: for (int64_t t = 0; t < 6; ++t)
// CHECK-NEXT: pzrt_cuda_gemm(ctx->streams[0], 0, 0, 4, 6, 5, 1.0f, (float *)b[0] + 0 + ((t / 3) % 2) * 60 + ((t / 1) % 3) * 20, 5, (float *)b[1] + 0 + ((t / 3) % 2) * 30 + ((t / 1) % 3) * 0, 6, PZRT_F32, 0.0f, (float *)b[2] + t * 24, 6,
// CHECK-LABEL: static int pzk_forward_3_softmax(
// CHECK: float *w0 = (float *)(((char *)b[2]) + 0);
// CHECK-NEXT: pzrt_cuda_widen_to_f32(ctx, PZRT_BF16, (__nv_bfloat16 *)b[0], w0, 64)
// CHECK-NEXT: float *w1 = (float *)(((char *)b[2]) + 256);
// CHECK-NEXT: pzrt_cuda_softmax_fwd(ctx, (float *)w0, (float *)w1, 8, 8)
// CHECK-NEXT: pzrt_cuda_narrow_from_f32(ctx, PZRT_BF16, w1, (__nv_bfloat16 *)b[1], 64)
// CHECK-LABEL: static int pzk_forward_4_layer_norm(
// CHECK: pzrt_cuda_layer_norm_fwd(ctx, (float *)w0, (float *)w1, (float *)w1, (float *)w2, NULL, NULL, 8, 8, 0x1.4f8b588e368f1p-17f)
// CHECK-LABEL: static int pzk_forward_5_rms_norm(
// CHECK: pzrt_cuda_rms_norm_fwd(ctx, (float *)w0, (float *)w1, (float *)w2, NULL, 8, 8, 0x1.0c6f7a0b5ed8dp-20f)
// CHECK-LABEL: static int pzk_forward_6_gelu(
// CHECK: pzrt_cuda_gelu_fwd(ctx, (float *)w0, (float *)w1, 64, 1)
// CHECK-LABEL: static int pzk_forward_7_attention(
// CHECK: static const int64_t ms[4] = {INT64_C(0), INT64_C(0), INT64_C(3), INT64_C(1)};
// CHECK-NEXT: pzrt_cuda_attention_fwd(ctx, (float *)b[0], (float *)b[2], (float *)b[2], (uint8_t *)b[3], PZRT_MASK_BOOL, ms, NULL, NULL, 1, 0x1.6a09e667f3bccp-2, 1, 4, 2, 3, 3, 8, 8, (float *)b[4], ((char *)NULL))
// The loss's sum and count are device scalars in the workspace; the mean
// divides them on the device; a negative count (a bad label) is the op's
// check.
// CHECK-LABEL: inline void pzk_forward_8_cross_entropy_0_at(
// CHECK-NEXT: if (p2[0] < 0) { pz_flag(pz_bad, pz_check); p0[0] = NAN; return; }
// CHECK-NEXT: p0[0] = (float)(p1[0] / (double)p2[0]);
// CHECK: pzrt_cuda_cross_entropy_fwd(ctx, (float *)b[0], (int64_t *)b[1], 4, 16, -100, NULL, (double *)(((char *)b[3])), (int64_t *)(((char *)b[3]) + 8))
// CHECK-LABEL: inline void pzk_forward_9_cross_entropy_0_at(
// CHECK: if (lab != -100 && (lab < 0 || lab >= 16)) { pz_flag(pz_bad, pz_check); p0[i] = NAN; return; }
// CHECK-NEXT: p0[i] = lab == -100 ? 0.0f : (float)((double)p3[i] - p1[i * 16 + lab]);
// CHECK: pzrt_cuda_cross_entropy_fwd(ctx, (float *)b[0], (int64_t *)b[1], 4, 16, -100, (float *)(((char *)b[3]) + 64),
// The gradient's scale is computed on the device and read there (no host
// synchronization: a CUDA graph captures the call).
// CHECK-LABEL: inline void pzk_forward_10_cross_entropy_grad_0_at(
// CHECK: for (int64_t r = 0; r < 4; ++r) nv += p2[r] != -100;
// CHECK-NOT: pzrt_device_read
// CHECK: pzrt_cuda_cross_entropy_bwd_dev(ctx, (float *)b[1], (int64_t *)b[2], NULL, 4, 16, -100, (double *)(((char *)b[4])), (float *)b[3])
// Dropout reads the step on the device (a CUDA graph replays it with the
// step the driver publishes before each call).
// CHECK-LABEL: static int pzk_forward_11_dropout(
// CHECK-NOT: pzrt_cuda_uncapturable
// CHECK: const int64_t *pz_step = pzrt_cuda_step_word(ctx);
// CHECK: pzrt_cuda_dropout_fwd_dev(ctx, (float *)b[0], (float *)b[1], NULL, 144, 0x1.999999999999ap-4f, (uint64_t)INT64_C(7) ^ ctx->seed, pz_step, (uint64_t)ctx->dropout_block * 144)
func.func @forward(%x: tensor<2x4x8xbf16> {pz.input = "x"}, %w: tensor<8x16xbf16> {pz.input = "w"},
                   %a: tensor<2x3x4x5xf32> {pz.input = "a"}, %b: tensor<2x1x5x6xf32> {pz.input = "b"},
                   %c: tensor<3x5x6xf32> {pz.input = "c"}, %d: tensor<2x1x4x5xf32> {pz.input = "d"},
                   %s: tensor<8xbf16> {pz.input = "s"},
                   %q: tensor<1x4x3x8xf32> {pz.input = "q"}, %k: tensor<1x2x3x8xf32> {pz.input = "k"},
                   %m: tensor<3x3xi1> {pz.input = "m"},
                   %logits: tensor<4x16xf32> {pz.input = "logits"}, %labels: tensor<4xi64> {pz.input = "labels"},
                   %seed: tensor<f32> {pz.input = "seed"})
    -> (tensor<2x4x16xbf16> {pz.output = "mm16"}, tensor<2x3x4x6xf32> {pz.output = "mmb"},
        tensor<2x3x4x6xf32> {pz.output = "mmx"}, tensor<2x4x8xbf16> {pz.output = "sm"},
        tensor<2x4x8xbf16> {pz.output = "ln"}, tensor<2x4x8xbf16> {pz.output = "rms"},
        tensor<2x4x8xbf16> {pz.output = "ge"}, tensor<1x4x3x8xf32> {pz.output = "att"},
        tensor<f32> {pz.output = "ce"}, tensor<4xf32> {pz.output = "cen"},
        tensor<4x16xf32> {pz.output = "dce"}, tensor<2x3x4x6xf32> {pz.output = "drop"}) {
  %mm16 = pz.matmul %x, %w : tensor<2x4x8xbf16>, tensor<8x16xbf16> -> tensor<2x4x16xbf16> loc("mm16")
  %mmb = pz.matmul %a, %b : tensor<2x3x4x5xf32>, tensor<2x1x5x6xf32> -> tensor<2x3x4x6xf32> loc("mmb")
  %mmx = pz.matmul %d, %c : tensor<2x1x4x5xf32>, tensor<3x5x6xf32> -> tensor<2x3x4x6xf32> loc("mmx")
  %sm = pz.softmax %x {axis = 2 : i64} : tensor<2x4x8xbf16> loc("sm")
  %ln = pz.layer_norm %x scale(%s : tensor<8xbf16>) bias(%s : tensor<8xbf16>) {axis = 2 : i64, epsilon = 1.0e-05 : f64} : tensor<2x4x8xbf16> -> tensor<2x4x8xbf16> loc("ln")
  %rms = pz.rms_norm %x scale(%s : tensor<8xbf16>) {axis = 2 : i64, epsilon = 1.0e-06 : f64} : tensor<2x4x8xbf16> -> tensor<2x4x8xbf16> loc("rms")
  %ge = pz.gelu %x tanh : tensor<2x4x8xbf16> loc("ge")
  %att = pz.attention %q, %k, %k mask(%m : tensor<3x3xi1>) {causal} : tensor<1x4x3x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32> -> tensor<1x4x3x8xf32> loc("att")
  %ce = pz.cross_entropy %logits, %labels mean : tensor<4x16xf32>, tensor<4xi64> -> tensor<f32> loc("ce")
  %cen = pz.cross_entropy %logits, %labels none : tensor<4x16xf32>, tensor<4xi64> -> tensor<4xf32> loc("cen")
  %dce = pz.cross_entropy_grad %seed, %logits, %labels mean : tensor<f32>, tensor<4x16xf32>, tensor<4xi64> loc("dce")
  %drop = pz.dropout %mmb {rate = 1.0e-01 : f64, seed = 7 : i64} : tensor<2x3x4x6xf32> loc("drop")
  return %mm16, %mmb, %mmx, %sm, %ln, %rms, %ge, %att, %ce, %cen, %dce, %drop : tensor<2x4x16xbf16>, tensor<2x3x4x6xf32>, tensor<2x3x4x6xf32>, tensor<2x4x8xbf16>, tensor<2x4x8xbf16>, tensor<2x4x8xbf16>, tensor<2x4x8xbf16>, tensor<1x4x3x8xf32>, tensor<f32>, tensor<4xf32>, tensor<4x16xf32>, tensor<2x3x4x6xf32>
}
