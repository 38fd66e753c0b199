// pz.max and pz.min split a tie's cotangent in half between the operands, as
// torch.maximum and torch.minimum do; a chain (ONNX's variadic Max) splits
// pairwise. The interpreter's gradients must equal PyTorch's exactly.
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize-opt %s -pz-autodiff -o %t/step.mlir
// RUN: %python -c "import numpy as np; \
// RUN:   np.save('%t/a.npy', np.array([1., 2., 3., 0., 5., -1.])); \
// RUN:   np.save('%t/b.npy', np.array([1., 4., 3., 0., 2., -1.])); \
// RUN:   np.save('%t/c.npy', np.array([0., 4., 3., 0., 7., -1.])); \
// RUN:   np.save('%t/d.npy', np.array([9., 4., 1., 0., 7., -2.])); \
// RUN:   np.save('%t/w.npy', np.array([1., 2., 4., 8., 16., 32.]))"
// RUN: pz-interpret %t/step.mlir --function forward_backward --input a=%t/a.npy \
// RUN:   --input b=%t/b.npy --input c=%t/c.npy --input d=%t/d.npy --input w=%t/w.npy \
// RUN:   --output-dir %t/fb > %t/fb.txt
// RUN: %python %S/Inputs/check_extremum_ties.py %t | FileCheck %s
// CHECK: ties split as torch splits them

func.func @forward(%a: tensor<6xf64> {pz.param = "a"}, %b: tensor<6xf64> {pz.param = "b"},
                   %c: tensor<6xf64> {pz.param = "c"}, %d: tensor<6xf64> {pz.param = "d"},
                   %w: tensor<6xf64> {pz.input = "w"}) -> (tensor<f64> {pz.output = "loss"}) {
  %0 = pz.max %a, %b : tensor<6xf64>, tensor<6xf64> -> tensor<6xf64>
  %1 = pz.max %0, %c : tensor<6xf64>, tensor<6xf64> -> tensor<6xf64>
  %2 = pz.min %1, %d : tensor<6xf64>, tensor<6xf64> -> tensor<6xf64>
  %3 = pz.mul %2, %w : tensor<6xf64>, tensor<6xf64> -> tensor<6xf64>
  %l = pz.reduce_sum %3 [0] : tensor<6xf64> -> tensor<f64>
  return %l : tensor<f64>
}
