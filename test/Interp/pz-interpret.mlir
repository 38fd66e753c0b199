// pz-interpret evaluates a function on .npy inputs and writes its results as
// .npy files; a numpy script checks them.
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python -c "import numpy as np; rng = np.random.default_rng(7); \
// RUN:   np.save('%t/x.npy', rng.standard_normal((3, 4))); \
// RUN:   np.save('%t/w.npy', rng.standard_normal((5, 4)).astype(np.float32)); \
// RUN:   np.save('%t/b.npy', rng.standard_normal(5)); \
// RUN:   np.save('%t/table.npy', rng.standard_normal((6, 5))); \
// RUN:   np.save('%t/ids.npy', np.array([[1, 5], [5, 0], [2, 2]], dtype=np.int32))"
// RUN: pz-interpret %s --function main --input x=%t/x.npy --input fc.weight=%t/w.npy \
// RUN:   --input param:fc.bias=%t/b.npy --input arg3=%t/table.npy --input ids=%t/ids.npy \
// RUN:   --output-dir %t/out | FileCheck %s
// RUN: %python %S/Inputs/check_main.py %t
//
// CHECK: probs: (3, 5) -> {{.*}}out/probs.npy
// CHECK-NEXT: total: () -> {{.*}}out/total.npy
// CHECK-NEXT: positive: (3, 5) -> {{.*}}out/positive.npy
// CHECK-NEXT: result3: (3, 2, 5) -> {{.*}}out/result3.npy

func.func @main(%x: tensor<?x4xf64> {pz.input = "x"},
                %w: tensor<5x4xf32> {pz.param = "fc.weight"},
                %b: tensor<5xf64> {pz.param = "fc.bias"},
                %table: tensor<6x5xf64>,
                %ids: tensor<3x2xi32> {pz.input = "ids"})
    -> (tensor<?x5xf64> {pz.output = "probs"}, tensor<f64> {pz.output = "total"},
        tensor<?x5xi1> {pz.output = "positive"}, tensor<3x2x5xf64>) {
  %wd = pz.cast %w : tensor<5x4xf32> to f64
  %h = pz.matmul %x, %wd {transpose_rhs} : tensor<?x4xf64>, tensor<5x4xf64> -> tensor<?x5xf64>
  %hb = pz.add %h, %b : tensor<?x5xf64>, tensor<5xf64> -> tensor<?x5xf64>
  %a = pz.gelu %hb tanh : tensor<?x5xf64>
  %p = pz.softmax %a {axis = 1 : i64} : tensor<?x5xf64>
  %t = pz.reduce_sum %hb [0, 1] : tensor<?x5xf64> -> tensor<f64>
  %zero = pz.constant dense<0.0> : tensor<f64>
  %pos = pz.compare gt, %hb, %zero : tensor<?x5xf64>, tensor<f64> -> tensor<?x5xi1>
  %e = pz.embedding %table, %ids : tensor<6x5xf64>, tensor<3x2xi32> -> tensor<3x2x5xf64>
  return %p, %t, %pos, %e : tensor<?x5xf64>, tensor<f64>, tensor<?x5xi1>, tensor<3x2x5xf64>
}
