// RUN: parallelize-opt %s -split-input-file -verify-diagnostics -mlir-very-unsafe-disable-verifier-on-parsing -verify-each=0 -pz-infer-shapes

// pz-infer-shapes reports each op whose shape inference fails, at the op.
// Verified IR never has such an op, so these inputs skip the verifier.

func.func @reshape_does_not_divide(%x: tensor<8x64xf32>) -> tensor<3x?xf32> {
  // expected-error @+1 {{cannot reshape 512 elements into [3, -1]}}
  %0 = pz.reshape %x [3, -1] : tensor<8x64xf32> -> tensor<3x?xf32>
  return %0 : tensor<3x?xf32>
}

// -----

func.func @matmul_contraction(%x: tensor<8x64xf32>, %w: tensor<32x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{contraction dims differ: lhs 8x64 has K = 64, rhs 32x16 has K = 32}}
  %0 = pz.matmul %x, %w : tensor<8x64xf32>, tensor<32x16xf32> -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

// Every failing op is reported, not only the first.
func.func @two_failures(%x: tensor<8x64xf32>, %y: tensor<4x64xf32>) -> (tensor<?x128xf32>, tensor<?x5xf32>) {
  // expected-error @+1 {{input 1 has size 4 on dim 0 where input 0 has 8}}
  %0 = pz.concat %x, %y {axis = 1 : i64} : (tensor<8x64xf32>, tensor<4x64xf32>) -> tensor<?x128xf32>
  // expected-error @+1 {{cannot reshape 512 elements into [-1, 5]}}
  %1 = pz.reshape %x [-1, 5] : tensor<8x64xf32> -> tensor<?x5xf32>
  return %0, %1 : tensor<?x128xf32>, tensor<?x5xf32>
}
