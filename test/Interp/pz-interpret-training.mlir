// The training step end to end: pz-autodiff and pz-optimizer build
// @forward_backward and @optimizer_step, pz-interpret runs both, numpy checks
// the loss, the gradients and one AdamW step (torch.optim.AdamW's formulas).
//
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize-opt %s -pz-autodiff -pz-optimizer="lr=0.01 weight-decay=0.1" -o %t/step.mlir
// RUN: %python -c "import numpy as np; rng = np.random.default_rng(3); \
// RUN:   np.save('%t/x.npy', rng.standard_normal((6, 3))); \
// RUN:   np.save('%t/y.npy', rng.standard_normal((6, 2))); \
// RUN:   np.save('%t/w.npy', rng.standard_normal((3, 2))); \
// RUN:   np.save('%t/zeros.npy', np.zeros((3, 2))); \
// RUN:   np.save('%t/lr.npy', np.array(0.01, dtype=np.float32)); \
// RUN:   np.save('%t/step.npy', np.array(1))"
// RUN: pz-interpret %t/step.mlir --function forward_backward --input x=%t/x.npy \
// RUN:   --input y=%t/y.npy --input w=%t/w.npy --output-dir %t/fb | FileCheck %s --check-prefix=FB
// FB: loss: () -> {{.*}}fb/loss.npy
// FB-NEXT: w: (3, 2) -> {{.*}}fb/w.npy
//
// The parameter and its gradient share the name `w`: qualify them.
// RUN: %expect-exit 2 pz-interpret %t/step.mlir --function optimizer_step --input w=%t/w.npy \
// RUN:   | FileCheck %s --check-prefix=AMBIGUOUS
// AMBIGUOUS: pz-interpret: 'w' names 2 arguments; qualify it as param:NAME, grad:NAME, state:NAME or input:NAME, or use arg<i>
// RUN: pz-interpret %t/step.mlir --function optimizer_step --input param:w=%t/w.npy \
// RUN:   --input grad:w=%t/fb/w.npy --input exp_avg:w=%t/zeros.npy \
// RUN:   --input state:exp_avg_sq:w=%t/zeros.npy --input lr=%t/lr.npy --input step=%t/step.npy \
// RUN:   --output-dir %t/opt | FileCheck %s --check-prefix=OPT
// OPT: w: (3, 2) -> {{.*}}opt/w.npy
// OPT-NEXT: exp_avg:w: (3, 2) -> {{.*}}opt/exp_avg:w.npy
// OPT-NEXT: exp_avg_sq:w: (3, 2) -> {{.*}}opt/exp_avg_sq:w.npy
// OPT-NEXT: grad_norm: () -> {{.*}}opt/grad_norm.npy
// RUN: %python %S/Inputs/check_training.py %t

func.func @forward(%x: tensor<6x3xf64> {pz.input = "x"}, %y: tensor<6x2xf64> {pz.input = "y"},
                   %w: tensor<3x2xf64> {pz.param = "w"}) -> (tensor<f64> {pz.output = "loss"}) {
  %p = pz.matmul %x, %w : tensor<6x3xf64>, tensor<3x2xf64> -> tensor<6x2xf64>
  %d = pz.sub %p, %y : tensor<6x2xf64>, tensor<6x2xf64> -> tensor<6x2xf64>
  %s = pz.mul %d, %d : tensor<6x2xf64>, tensor<6x2xf64> -> tensor<6x2xf64>
  %loss = pz.reduce_mean %s [0, 1] : tensor<6x2xf64> -> tensor<f64>
  return %loss : tensor<f64>
}
