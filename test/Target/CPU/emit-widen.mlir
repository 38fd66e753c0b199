// The CPU kernels of matmul, the norms, softmax, attention, GELU and the loss
// compute in fp32. On bf16/fp16 operands the backend widens each into an
// fp32 copy in the op's workspace, calls the fp32 kernel, and rounds each
// result back once (TargetInfo::widenedValues): a bf16 GEMM with exact
// products and fp32 accumulation, as PyTorch's bf16 matmul on the CPU. A
// bf16 matmul calls pzrt_gemm_bf16 on the operands as they are (oneDNN's
// bf16 GEMM where libdnnl.so.2 loads), with the operands' copies as the
// scratch of its fp32 path (PZRT_CPU_BF16_GEMM=fp32).
// RUN: rm -rf %t && parallelize compile %s --forward-only --emit cpp -o %t
// RUN: FileCheck %s < %t/run.cpp
// Built and run, it gives what PyTorch gives for the bf16 product (exactly:
// the sums of these products are exact in fp32, so each element is one
// correctly rounded value), and GELU of it rounded once from double (the
// kernel computes in double; PyTorch's bf16 GELU computes in float, which
// flushes gelu(-6.8125) = -3.3e-11 to 0).
// RUN: rm -rf %t.exe && parallelize compile %s --forward-only --emit exe -o %t.exe
// RUN: %python -c "import numpy as np; np.save('%t.a.npy', np.array([[1.5, -0.375, 2.0], [0.125, 3.0, -1.25]], dtype=np.float32))"
// RUN: %t.exe/run --input a=%t.a.npy --output-dir %t.out
// RUN: env PZRT_CPU_BF16_GEMM=fp32 %t.exe/run --input a=%t.a.npy --output-dir %t.out32
// RUN: cmp %t.out/y.npy %t.out32/y.npy
// RUN: %python -c "import os, subprocess; r = subprocess.run(['%t.exe/run', '--input', 'a=%t.a.npy', '--output-dir', '%t.outx'], \
// RUN:   env=dict(os.environ, PZRT_CPU_BF16_GEMM='bogus'), capture_output=True, text=True); print(r.returncode, r.stderr)" \
// RUN:   | FileCheck %s --check-prefix=BAD
// BAD: 2 error: PZRT_CPU_BF16_GEMM='bogus': expected onednn, fp32 or auto
// RUN: %python -c "import numpy as np, torch; y = np.load('%t.out/y.npy'); g = np.load('%t.out/g.npy'); \
// RUN:   a = torch.tensor([[1.5, -0.375, 2.0], [0.125, 3.0, -1.25]]).bfloat16(); \
// RUN:   w = torch.tensor([[1.0, 0.5], [-2.0, 0.25], [0.75, -1.5]]).bfloat16(); \
// RUN:   p = a @ w; r = p.float().numpy(); q = torch.nn.functional.gelu(p.double()).bfloat16().float().numpy(); \
// RUN:   assert (y == r).all() and (g == q).all(), (y, r, g, q); print('equal', y.tolist())" | FileCheck %s --check-prefix=RESULT
// RESULT: equal {{\[\[}}3.75, -2.34375], [-6.8125, 2.6875]]
// The matmul's two operands and its result get fp32 copies in the
// workspace (64-byte aligned); the result is rounded back after the GEMM.
// CHECK-LABEL: pz.matmul 'product'
// CHECK: float *[[WC:w[0-9]+]] = (float *)(((char *)b[3]) + 128);
// CHECK-NEXT: if (pzrt_gemm_bf16(0, 0, 2, 2, 3, 1.0f, (const uint16_t *){{v[0-9]+}}, 3, (const uint16_t *){{v[0-9]+}}, 2, 0.0f, [[WC]], 2, (float *)(((char *)b[3]) + 0), 6, (float *)(((char *)b[3]) + 64), 6) != 0)
// CHECK: if (pzrt_narrow_from_f32(PZRT_BF16, [[WC]], {{v[0-9]+}}, 4) != 0)
// CHECK-LABEL: pz.gelu 'act'
// CHECK: pzrt_widen_to_f32(PZRT_BF16
// CHECK: pzrt_gelu_fwd(
// CHECK: pzrt_narrow_from_f32(PZRT_BF16
func.func @forward(%a: tensor<2x3xf32> {pz.input = "a"}) -> (tensor<2x2xf32> {pz.output = "y"}, tensor<2x2xf32> {pz.output = "g"}) {
  %w = pz.constant dense<[[1.0, 0.5], [-2.0, 0.25], [0.75, -1.5]]> : tensor<3x2xbf16> loc("w")
  %ab = pz.cast %a : tensor<2x3xf32> to bf16 loc("to_bf16")
  %p = pz.matmul %ab, %w : tensor<2x3xbf16>, tensor<3x2xbf16> -> tensor<2x2xbf16> loc("product")
  %g = pz.gelu %p erf : tensor<2x2xbf16> loc("act")
  %y = pz.cast %p : tensor<2x2xbf16> to f32 loc("y")
  %gy = pz.cast %g : tensor<2x2xbf16> to f32 loc("g")
  return %y, %gy : tensor<2x2xf32>, tensor<2x2xf32>
}
