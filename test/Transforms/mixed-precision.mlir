// RUN: parallelize-opt %s -pz-mixed-precision=precision=bf16 | FileCheck %s --check-prefix=BF16
// RUN: parallelize-opt %s -pz-mixed-precision=precision=bf16 -pz-autodiff | FileCheck %s --check-prefix=GRAD
// RUN: parallelize-opt %s -pz-mixed-precision=precision=fp16 -pz-autodiff | FileCheck %s --check-prefix=FP16
// RUN: parallelize-opt %s -pz-mixed-precision=precision=fp32 | FileCheck %s --check-prefix=FP32
// RUN: not parallelize-opt %s -pz-mixed-precision=precision=fp8 2>&1 | FileCheck %s --check-prefix=BAD

// Master weights stay fp32 arguments; the compute runs in bf16; constants
// convert; the cross-entropy reads fp32 logits and the loss is fp32.
// BF16-LABEL: func.func @forward(
// BF16-SAME: %[[X:[^:]*]]: tensor<4x8xf32> {pz.input = "x"}
// BF16-SAME: %[[W:[^:]*]]: tensor<16x8xf32> {pz.param = "w"}
// BF16-SAME: -> (tensor<f32> {pz.output = "loss"})
// BF16: %[[XB:.*]] = pz.cast %[[X]] : tensor<4x8xf32> to bf16
// BF16: %[[WB:.*]] = pz.cast %[[W]] : tensor<16x8xf32> to bf16
// BF16: %[[H:.*]] = pz.matmul %[[XB]], %[[WB]] {transpose_rhs} : tensor<4x8xbf16>, tensor<16x8xbf16> -> tensor<4x16xbf16>
// BF16: %[[HALF:.*]] = pz.constant dense<5.000000e-01> : tensor<bf16>
// BF16: %[[S:.*]] = pz.mul %[[H]], %[[HALF]] : tensor<4x16xbf16>, tensor<bf16> -> tensor<4x16xbf16>
// BF16: %[[L32:.*]] = pz.cast %[[S]] : tensor<4x16xbf16> to f32
// BF16: %[[LOSS:.*]] = pz.cross_entropy %[[L32]], %{{.*}} mean : tensor<4x16xf32>, tensor<4xi64> -> tensor<f32>
// BF16: return %[[LOSS]] : tensor<f32>

// The casts carry the gradients back to fp32 for the master weights.
// GRAD-LABEL: func.func @forward_backward(
// GRAD-SAME: tensor<16x8xf32> {pz.grad = "w"}
// GRAD: %[[DW:.*]] = pz.matmul {{.*}} -> tensor<16x8xbf16>
// GRAD: %[[DW32:.*]] = pz.cast %[[DW]] : tensor<16x8xbf16> to f32
// GRAD: return %{{.*}}, %[[DW32]]

// fp16 records DeepSpeed's loss-scaling policy and seeds the backward pass
// with the loss_scale input.
// FP16: module attributes {pz.loss_scaling = #pz.loss_scaling<initial_scale = 6.553600e+04, growth_interval = 1000, growth_factor = 2.000000e+00, backoff_factor = 5.000000e-01>
// FP16-LABEL: func.func @forward_backward(
// FP16-SAME: %[[SCALE:[^:]*]]: tensor<f32> {pz.input = "loss_scale", pz.role = #pz.role<loss_scale>})
// FP16: pz.cross_entropy_grad %[[SCALE]]
// FP16: pz.matmul {{.*}} -> tensor<16x8xf16>

// FP32-LABEL: func.func @forward(
// FP32-NOT: pz.cast

// BAD: precision must be fp32, bf16 or fp16, got 'fp8'

func.func @forward(%x: tensor<4x8xf32> {pz.input = "x"}, %w: tensor<16x8xf32> {pz.param = "w"}, %labels: tensor<4xi64> {pz.input = "labels"}) -> (tensor<f32> {pz.output = "loss"}) {
  %h = pz.matmul %x, %w {transpose_rhs} : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32>
  %half = pz.constant dense<0.5> : tensor<f32>
  %s = pz.mul %h, %half : tensor<4x16xf32>, tensor<f32> -> tensor<4x16xf32>
  %loss = pz.cross_entropy %s, %labels mean : tensor<4x16xf32>, tensor<4xi64> -> tensor<f32>
  return %loss : tensor<f32>
}
