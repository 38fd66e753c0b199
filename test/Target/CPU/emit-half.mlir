// fp16 and bf16 tensors are stored as pzrt::f16 / pzrt::bf16 (2 bytes each,
// runtime dtypes PZRT_F16 / PZRT_BF16): elementwise math reads them as float
// and rounds once on the store; constants are 16-bit data too.
// RUN: rm -rf %t && parallelize compile %s --forward-only --emit cpp -o %t
// RUN: FileCheck %s < %t/run.cpp
// Built and run, it gives what PyTorch gives for the same casts and product
// (exactly: each step is one correctly rounded operation).
// RUN: rm -rf %t.exe && parallelize compile %s --forward-only --emit exe -o %t.exe
// RUN: %python -c "import numpy as np; np.save('%t.x.npy', np.array([1.5, -0.1], dtype=np.float16))"
// RUN: %t.exe/run --input x=%t.x.npy --output-dir %t.out
// RUN: %python -c "import numpy as np, torch; y = np.load('%t.out/y.npy'); \
// RUN:   x = torch.tensor([1.5, -0.1], dtype=torch.float16).to(torch.bfloat16); \
// RUN:   r = (x * torch.tensor([1.0, -3.0], dtype=torch.bfloat16)).double().numpy(); \
// RUN:   assert y.dtype == np.float64 and (y == r).all(), (y, r); print('equal', y)" | FileCheck %s --check-prefix=RESULT
// RESULT: equal [1.5 0.30078125]
// CHECK: #include <pzrt/half.h>
// CHECK: static pzrt::bf16 pzg_forward_cst_0[2] = {0x1p+0, -0x1.8p+1};
// The three ops fuse into one loop (pz-fuse-elementwise) whose scalars keep
// each op's own type, so each step rounds as it would unfused.
// CHECK: pzrt::f16 *[[X:v[0-9]+]] = (pzrt::f16 *)(b[0]);
// CHECK: pzrt::bf16 *[[K:v[0-9]+]] = (pzrt::bf16 *)(b[1]);
// CHECK: double *[[Y:v[0-9]+]] = (double *)(b[2]); // pz.fused 'to_f64'
// CHECK: { pzrt::bf16 [[B:t[0-9]+]] = (pzrt::bf16)[[X]][0 + i0]; pzrt::bf16 [[S:t[0-9]+]] = ([[B]] * [[K]][0 + i0]); double [[D:t[0-9]+]] = (double)[[S]]; [[Y]][0 + i0] = [[D]]; }
// CHECK: { void *const b[] = {args[0], {{v[0-9]+}}, args[1]}; if (pzk_forward_0_fused(ctx, b) != 0) return -1; }
// CHECK: {"x", PZRT_F16, 1, {INT64_C(2)}},
// CHECK: {"y", PZRT_F64, 1, {INT64_C(2)}},
func.func @forward(%x: tensor<2xf16> {pz.input = "x"}) -> (tensor<2xf64> {pz.output = "y"}) {
  %k = pz.constant dense<[1.0, -3.0]> : tensor<2xbf16> loc("k")
  %b = pz.cast %x : tensor<2xf16> to bf16 loc("to_bf16")
  %s = pz.mul %b, %k : tensor<2xbf16>, tensor<2xbf16> -> tensor<2xbf16> loc("scale")
  %y = pz.cast %s : tensor<2xbf16> to f64 loc("to_f64")
  return %y : tensor<2xf64>
}
