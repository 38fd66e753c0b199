// Ops the CUDA backend has no kernel for yet are errors naming the op, never
// silently wrong code.
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %s --forward-only --emit cpp -o %t/cpu --dump-ir=%t/ir
// RUN: not parallelize-translate --pzrt-kernels-to-cuda %t/ir/*-pzrt-plan-memory.mlir 2>&1 | FileCheck %s
// CHECK: error: loc("proj"): CUDA backend: pz.matmul is not built yet
// Integer division's zero-divisor check (the CPU's pz_div0 flag) is refused.
// RUN: parallelize compile %S/Inputs/int-div.mlir --forward-only --emit cpp -o %t/div --dump-ir=%t/divir
// RUN: not parallelize-translate --pzrt-kernels-to-cuda %t/divir/*-pzrt-plan-memory.mlir 2>&1 | FileCheck %s --check-prefix=DIV
// DIV: error: loc("q"): CUDA backend: integer division (its zero-divisor check) is not built yet
func.func @forward(%x: tensor<4x8xf32> {pz.input = "x"}, %w: tensor<8x8xf32> {pz.input = "w"}) -> (tensor<4x8xf32> {pz.output = "y"}) {
  %y = pz.matmul %x, %w : tensor<4x8xf32>, tensor<8x8xf32> -> tensor<4x8xf32> loc("proj")
  return %y : tensor<4x8xf32>
}
