// The CUDA backend folds a linear layer's bias add, and a tanh GELU after
// it, into the cuBLASLt GEMM's epilogue (TargetInfo::gemmEpilogue; one
// kernel per matmul and its epilogue ops in convert-pz-to-pzrt), only where
// the results stay those of the separate ops up to fp32 rounding order;
// everywhere else the GEMM has no epilogue and the ops keep their kernels.
// The CPU backend is unchanged (no grouped kernel). The emulated forward
// (host emulator, fake cuBLASLt; no GPU) matches the CPU backend.
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %s --forward-only --backend cuda --emit cpp -o %t/cuda
// RUN: FileCheck %s < %t/cuda/program.cu
// RUN: parallelize compile %s --forward-only --emit cpp -o %t/cpu
// RUN: FileCheck %s --check-prefix=CPU < %t/cpu/run.cpp
// RUN: %if nvcc %{ nvcc -arch=sm_90 -std=c++17 -I %pz_src_root/runtime/include -c %t/cuda/program.cu -o %t/program.o %}
// RUN: %if cuda-emulate %{ g++ -std=c++17 -x c++ -DPZ_CUDA_EMULATE -fsyntax-only -I %pz_src_root/runtime/include %t/cuda/program.cu %}
//
// Emulated against the CPU backend: each output sums k = 8 or 16 products
// of N(0, 0.01) draws in another order (|sum| << 1, k 2^-24 of it), the
// bias and GELU in fp32 as the CPU's add and GELU do: 1e-6 is far above that
// and far below a misplaced or missing bias (~0.01).
// RUN: parallelize compile %s --forward-only --emit exe -o %t/run --dump-ir=%t/ir
// RUN: %cuda-ir %t/ir %t/fwd.mlir
// RUN: parallelize-translate --pzrt-kernels-to-cuda %t/fwd.mlir > %t/fwd.cu
// RUN: %if cuda-emulator %{ %cuda-host-check --emulate %cuda-emu-link --random 5 \
// RUN:   --tol gelu_bias=1e-6 --tol two_uses=1e-6 --tol two_uses_sum=1e-6 --tol row_bias=1e-6 \
// RUN:   --tol erf=1e-6 --tol pre=1e-6 --tol post=1e-6 \
// RUN:   %t/fwd.mlir %t/fwd.cu %t/run %t/e | FileCheck %s --check-prefix=EMU %}
// EMU-DAG: close gelu_bias
// EMU-DAG: close two_uses
// EMU-DAG: close row_bias
// EMU-DAG: close erf
// EMU-DAG: close pre
// EMU-DAG: close post
module {
  func.func @forward(
      %x: tensor<4x8xf32> {pz.input = "x"},
      %w: tensor<16x8xf32> {pz.param = "w"},
      %w2: tensor<16x8xf32> {pz.param = "w2"},
      %w3: tensor<16x8xf32> {pz.param = "w3"},
      %w4: tensor<16x8xf32> {pz.param = "w4"},
      %b: tensor<16xf32> {pz.param = "b"},
      %v: tensor<16x16xf32> {pz.param = "v"},
      %c: tensor<4x1xf32> {pz.param = "c"})
      -> (tensor<4x16xf32> {pz.output = "gelu_bias"}, tensor<4x16xf32> {pz.output = "two_uses"},
          tensor<f32> {pz.output = "two_uses_sum"}, tensor<4x16xf32> {pz.output = "row_bias"},
          tensor<4x16xf32> {pz.output = "erf"}, tensor<4x16xf32> {pz.output = "pre"},
          tensor<4x16xf32> {pz.output = "post"}) {
    // A linear layer with a tanh GELU: bias and GELU in the epilogue.
    // CHECK-LABEL: static int pzk_forward_0_matmul_add_gelu(
    // CHECK: pzrt_cuda_gemm({{.*}}, PZRT_F32, 0.0f, {{.*}}, 16, PZRT_F32, PZRT_CUDA_EPILOGUE_GELU_BIAS, (float *)b[2],
    // CHECK-NOT: pzrt_cuda_gelu_fwd
    // CHECK: return 0;
    %h0 = pz.matmul %x, %w {transpose_rhs} : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32> loc("fc0")
    %a0 = pz.add %h0, %b : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf32> loc("fc0.bias")
    %g0 = pz.gelu %a0 tanh : tensor<4x16xf32> loc("act0")

    // The GEMM's result is also used elsewhere: no epilogue.
    // CHECK-LABEL: static int pzk_forward_1_matmul(
    // CHECK: PZRT_CUDA_EPILOGUE_NONE, NULL,
    %h1 = pz.matmul %g0, %v {transpose_rhs} : tensor<4x16xf32>, tensor<16x16xf32> -> tensor<4x16xf32> loc("fc1")
    %a1 = pz.add %h1, %b : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf32> loc("fc1.bias")
    %s1 = pz.reduce_sum %h1 [0, 1] : tensor<4x16xf32> -> tensor<f32> loc("fc1.sum")

    // A bias along the rows (one value per row of the row-major result,
    // cuBLASLt's bias is per column of it): no epilogue.
    // CHECK-LABEL: static int pzk_forward_{{[0-9]+}}_matmul(
    // CHECK: PZRT_CUDA_EPILOGUE_NONE, NULL,
    %h2 = pz.matmul %x, %w2 {transpose_rhs} : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32> loc("fc2")
    %a2 = pz.add %h2, %c : tensor<4x16xf32>, tensor<4x1xf32> -> tensor<4x16xf32> loc("fc2.rowbias")

    // An erf GELU (cuBLASLt's GELU is the tanh form): the bias alone.
    // CHECK-LABEL: static int pzk_forward_{{[0-9]+}}_matmul_add(
    // CHECK: PZRT_CUDA_EPILOGUE_BIAS, (float *)b[2],
    // CHECK: pzrt_cuda_gelu_fwd({{.*}}, 64, 0)
    %h3 = pz.matmul %x, %w3 {transpose_rhs} : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32> loc("fc3")
    %a3 = pz.add %b, %h3 : tensor<16xf32>, tensor<4x16xf32> -> tensor<4x16xf32> loc("fc3.bias")
    %g3 = pz.gelu %a3 erf : tensor<4x16xf32> loc("act3")

    // The pre-activation is needed elsewhere (as a backward's saved
    // activation would be): the bias alone, the tanh GELU its own kernel.
    // CHECK-LABEL: static int pzk_forward_{{[0-9]+}}_matmul_add(
    // CHECK: PZRT_CUDA_EPILOGUE_BIAS, (float *)b[2],
    // CHECK: pzrt_cuda_gelu_fwd({{.*}}, 64, 1)
    // CHECK-NOT: PZRT_CUDA_EPILOGUE
    %h4 = pz.matmul %x, %w4 {transpose_rhs} : tensor<4x8xf32>, tensor<16x8xf32> -> tensor<4x16xf32> loc("fc4")
    %a4 = pz.add %h4, %b : tensor<4x16xf32>, tensor<16xf32> -> tensor<4x16xf32> loc("fc4.bias")
    %g4 = pz.gelu %a4 tanh : tensor<4x16xf32> loc("act4")
    return %g0, %a1, %s1, %a2, %g3, %a4, %g4
        : tensor<4x16xf32>, tensor<4x16xf32>, tensor<f32>, tensor<4x16xf32>, tensor<4x16xf32>,
          tensor<4x16xf32>, tensor<4x16xf32>
  }
}
// CPU: static int pzk_forward_0_matmul(
// CPU: pzrt_sgemm
// CPU-NOT: matmul_add
