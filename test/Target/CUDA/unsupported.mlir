// Every op of the CPU backend has a CUDA form now. What is refused: a
// module whose memory plan was made for another target, where an op's
// workspace differs (here the CPU plans no cuBLASLt workspace for a
// matmul): the launcher would write past it.
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %s --forward-only --emit cpp -o %t/cpu --dump-ir=%t/ir
// RUN: not parallelize-translate --pzrt-kernels-to-cuda %t/ir/*-pzrt-plan-memory.mlir 2>&1 | FileCheck %s
// CHECK: error: loc("proj"): CUDA backend: pz.matmul needs the CUDA target's workspace, but the module was planned for 'cpu' (convert-pz-to-pzrt{target=cuda})
// Planned for the CUDA target, it prints.
// RUN: %cuda-ir %t/ir %t/cuda.mlir
// RUN: parallelize-translate --pzrt-kernels-to-cuda %t/cuda.mlir | FileCheck %s --check-prefix=CUDA
// CUDA: pzrt_cuda_gemm(ctx->streams[0], 0, 0, 4, 8, 8, 1.0f, (float *)b[0], 8, (float *)b[1], 8, PZRT_F32, 0.0f, (float *)b[2], 8, PZRT_F32, PZRT_CUDA_EPILOGUE_NONE, NULL, ((char *)b[3]), PZRT_CUDA_GEMM_WORKSPACE_BYTES)
func.func @forward(%x: tensor<4x8xf32> {pz.input = "x"}, %w: tensor<8x8xf32> {pz.input = "w"}) -> (tensor<4x8xf32> {pz.output = "y"}) {
  %y = pz.matmul %x, %w : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32> loc("proj")
  return %y : tensor<4x8xf32>
}
