// Dropout of a block of a split value reads its split dim's indices on the
// host (they are device memory), checks them and draws run by run with the
// CPU's keys (so it ends a CUDA graph capture first); SGD passes its learning rate slot to the device-scalar
// kernel (no host read) and updates in place after device copies. Compiled
// with nvcc only.
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %s --forward-only --emit cpp -o %t/cpu --dump-ir=%t/ir
// RUN: %cuda-ir %t/ir %t/cuda.mlir
// RUN: parallelize-translate --pzrt-kernels-to-cuda %t/cuda.mlir > %t/k.cu
// RUN: FileCheck %s < %t/k.cu
// RUN: %if nvcc %{ nvcc -arch=sm_90 -std=c++17 -I %pz_src_root/runtime/include -c %t/k.cu -o %t/k.o %}
// RUN: %if cuda-emulate %{ g++ -std=c++17 -x c++ -DPZ_CUDA_EMULATE -fsyntax-only -I %pz_src_root/runtime/include %t/k.cu %}

// CHECK-LABEL: static int pzk_forward_0_dropout(
// CHECK: pzrt_cuda_uncapturable(ctx, "dropout reads its block's indices on the host")
// CHECK: int64_t h0[4];
// CHECK-NEXT: if (pzrt_device_read(ctx->device, h0, (int64_t *)b[1], sizeof h0) != 0) return pz_cuda_fail("pz.dropout 'drop'");
// CHECK: if (h0[k] < 0 || h0[k] >= 8) return pzrt_set_error("%s: dropout index out of range [0, 8)", "pz.dropout 'drop'");
// CHECK: at += (uint64_t)h0[j] * 8;
// CHECK: at += j * 64;
// CHECK-NEXT: pzrt_cuda_dropout_fwd(ctx, (float *)b[0] + o * 8, (float *)b[2] + o * 8, NULL, 8, 0x1.999999999999ap-4f, (uint64_t)INT64_C(3) ^ ctx->seed, (uint64_t)ctx->step, (uint64_t)ctx->dropout_block * 128 + at)
// CHECK-LABEL: static int pzk_forward_1_sgd_update(
// CHECK: err = cudaMemcpyAsync((float *)b[4], (float *)b[0], 4 * sizeof(*(float *)b[4]), cudaMemcpyDeviceToDevice, stream);
// CHECK-NOT: pzrt_device_read
// CHECK: pzrt_cuda_sgd_step_dev(ctx, (float *)b[4], (float *)b[2], (float *)b[5], 4, (const float *)(float *)b[3], 0x1.ccccccccccccdp-1, 0.0, 0x0p+0, 0, 2)
func.func @forward(%x: tensor<2x4x8xf32> {pz.input = "x"}, %i: tensor<4xi64> {pz.input = "i"},
                   %w: tensor<4xf32> {pz.input = "w"}, %g: tensor<4xf32> {pz.input = "g"}, %lr: tensor<f32> {pz.input = "lr"})
    -> (tensor<2x4x8xf32> {pz.output = "d"}, tensor<4xf32> {pz.output = "p"}, tensor<4xf32> {pz.output = "b"}) {
  %d = pz.dropout %x indices(%i : tensor<4xi64>) {global_shape = array<i64: 2, 8, 8>, rate = 1.000000e-01 : f64, seed = 3 : i64, split_dims = array<i64: 1>} : tensor<2x4x8xf32> loc("drop")
  %p, %b = pz.sgd_update %w, %g, %g, %lr {momentum = 0.9 : f64, weight_decay = 0.0 : f64} : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<f32> loc("sgd")
  return %d, %p, %b : tensor<2x4x8xf32>, tensor<4xf32>, tensor<4xf32>
}
