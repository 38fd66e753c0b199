// Slices with negative steps are strided loops with negative strides from a
// base offset; pz.slice_grad scatters through the same offsets. A reversal
// of every dim collapses into one loop over the flat buffer, backwards.
// RUN: rm -rf %t && parallelize compile %s --forward-only --emit cpp -o %t
// RUN: FileCheck %s < %t/run.cpp
// Built and run, it gives what numpy's negative-step slicing gives.
// RUN: rm -rf %t.exe && parallelize compile %s --forward-only --emit exe -o %t.exe
// RUN: %python -c "import numpy as np; \
// RUN:   np.save('%t.x.npy', np.arange(24, dtype=np.float32).reshape(4, 6)); \
// RUN:   np.save('%t.g.npy', np.arange(1, 7, dtype=np.float32).reshape(2, 3))"
// RUN: %t.exe/run --input x=%t.x.npy --input g=%t.g.npy --output-dir %t.out
// RUN: %python -c "import numpy as np; \
// RUN:   x = np.load('%t.x.npy'); g = np.load('%t.g.npy'); \
// RUN:   d = np.zeros((4, 6), np.float32); d[3:0:-2, 4::-2] = g; \
// RUN:   want = {'flip': x[::-1, ::-1], 'every_other': x[:, 5:0:-2], 'scatter': d}; \
// RUN:   got = {k: np.load('%t.out/' + k + '.npy') for k in want}; \
// RUN:   bad = [k for k in want if got[k].shape != want[k].shape or not (got[k] == want[k]).all()]; \
// RUN:   assert not bad, (bad, got); print('equal', sorted(want))" | FileCheck %s --check-prefix=RESULT
// RESULT: equal ['every_other', 'flip', 'scatter']
// CHECK-LABEL: static int pzk_forward_0_slice(
// CHECK: for (int64_t i0 = 0; i0 < 24; ++i0)
// CHECK-NEXT: v1[0 + i0] = v0[23 + i0 * -1];
// CHECK-LABEL: static int pzk_forward_1_slice(
// CHECK: for (int64_t i0 = 0; i0 < 4; ++i0)
// CHECK-NEXT: for (int64_t i1 = 0; i1 < 3; ++i1)
// CHECK-NEXT: v1[0 + i0 * 3 + i1] = v0[5 + i0 * 6 + i1 * -2];
// CHECK-LABEL: static int pzk_forward_2_slice_grad(
// CHECK: memset(v1, 0, 24 * sizeof(*v1));
// CHECK: for (int64_t i0 = 0; i0 < 2; ++i0)
// CHECK-NEXT: for (int64_t i1 = 0; i1 < 3; ++i1)
// CHECK-NEXT: v1[22 + i0 * -12 + i1 * -2] = v0[0 + i0 * 3 + i1];
// The host function reads x (args[0]) in both slices and scatters g (args[1]).
// CHECK-LABEL: static int pzh_forward(
// CHECK: {args[0], {{.*}}}; if (pzk_forward_0_slice(ctx, b)
// CHECK: {args[0], {{.*}}}; if (pzk_forward_1_slice(ctx, b)
// CHECK: {args[1], {{.*}}}; if (pzk_forward_2_slice_grad(ctx, b)
func.func @forward(%x: tensor<4x6xf32> {pz.input = "x"}, %g: tensor<2x3xf32> {pz.input = "g"})
    -> (tensor<4x6xf32> {pz.output = "flip"}, tensor<4x3xf32> {pz.output = "every_other"},
        tensor<4x6xf32> {pz.output = "scatter"}) {
  %f = pz.slice %x starts [3, 5] ends [-1, -1] steps [-1, -1] : tensor<4x6xf32> -> tensor<4x6xf32> loc("flip")
  %e = pz.slice %x starts [0, 5] ends [4, 0] steps [1, -2] : tensor<4x6xf32> -> tensor<4x3xf32> loc("every_other")
  %s = pz.slice_grad %g [4, 6] starts [3, 4] ends [0, -1] steps [-2, -2] : tensor<2x3xf32> -> tensor<4x6xf32> loc("scatter")
  return %f, %e, %s : tensor<4x6xf32>, tensor<4x3xf32>, tensor<4x6xf32>
}
