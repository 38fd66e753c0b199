// pz.gather_elements and pz.scatter_elements: one loop over the indices,
// each index checked against [-n, n) and counted from the end when negative;
// the scatter copies its input first and then writes (or adds) each update.
// RUN: rm -rf %t && parallelize compile %s --forward-only --emit cpp -o %t
// RUN: FileCheck %s < %t/run.cpp
// CHECK-LABEL: static int pzk_forward_0_gather_elements(
// CHECK: for (int64_t k = 0; k < 6; ++k) {
// CHECK-NEXT: int64_t j = (int64_t)v1[k];
// CHECK-NEXT: if (j < -4 || j >= 4)
// CHECK-NEXT: if (j < 0) j += 4;
// CHECK-NEXT: int64_t r = k, at = 0;
// CHECK-NEXT: at += (j) * 1; r /= 2;
// CHECK-NEXT: at += (r % 3) * 4; r /= 3;
// CHECK-NEXT: v2[k] = v0[at];
// CHECK-LABEL: static int pzk_forward_1_scatter_elements(
// CHECK: memcpy(v3, v0, 48);
// CHECK: v3[at] = v3[at] + v2[k];
//
// Built and run, and in the reference interpreter, it gives what numpy's
// take_along_axis and an add at the same places give.
// RUN: rm -rf %t.exe && parallelize compile %s --forward-only --emit exe -o %t.exe
// RUN: %python -c "import numpy as np; \
// RUN:   np.save('%t.x.npy', np.arange(12, dtype=np.float32).reshape(3, 4)); \
// RUN:   np.save('%t.i.npy', np.array([[1, -1], [0, 0], [3, -4]])); \
// RUN:   np.save('%t.bad.npy', np.array([[1, -1], [0, 4], [3, -4]])); \
// RUN:   np.save('%t.u.npy', np.array([[10, 20], [30, 40], [50, 60]], np.float32))"
// RUN: %t.exe/run --input x=%t.x.npy --input i=%t.i.npy --input u=%t.u.npy --output-dir %t.cpu
// RUN: pz-interpret %s --input x=%t.x.npy --input i=%t.i.npy --input u=%t.u.npy --output-dir %t.interp
// RUN: %python -c "import numpy as np; \
// RUN:   x = np.load('%t.x.npy'); i = np.load('%t.i.npy') % 4; u = np.load('%t.u.npy'); \
// RUN:   s = x.copy(); np.add.at(s, (np.arange(3)[:, None], i), u); \
// RUN:   want = {'gathered': np.take_along_axis(x, i, 1), 'scattered': s}; \
// RUN:   ok = [d + ':' + k for d in ('%t.cpu', '%t.interp') for k in sorted(want) \
// RUN:         if np.array_equal(np.load(d + '/' + k + '.npy'), want[k])]; print(len(ok), 'equal')" \
// RUN:   | FileCheck %s --check-prefix=RESULT
// RESULT: 4 equal
//
// An index outside [-n, n) stops both, naming it.
// RUN: %expect-exit 1 %t.exe/run --input x=%t.x.npy --input i=%t.bad.npy --input u=%t.u.npy \
// RUN:   --output-dir %t.bad | FileCheck %s --check-prefix=BAD
// BAD: index 4 (element 3) is out of range [-4, 4)
// RUN: %expect-exit 1 pz-interpret %s --input x=%t.x.npy --input i=%t.bad.npy --input u=%t.u.npy \
// RUN:   | FileCheck %s --check-prefix=BAD
func.func @forward(%x: tensor<3x4xf32> {pz.input = "x"}, %i: tensor<3x2xi64> {pz.input = "i"},
                   %u: tensor<3x2xf32> {pz.input = "u"})
    -> (tensor<3x2xf32> {pz.output = "gathered"}, tensor<3x4xf32> {pz.output = "scattered"}) {
  %g = pz.gather_elements %x, %i {axis = 1 : i64} : tensor<3x4xf32>, tensor<3x2xi64> -> tensor<3x2xf32> loc("gathered")
  %s = pz.scatter_elements %x, %i, %u {axis = 1 : i64, accumulate} : tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32> -> tensor<3x4xf32> loc("scattered")
  return %g, %s : tensor<3x2xf32>, tensor<3x4xf32>
}
