// RUN: parallelize-opt %s -split-input-file -verify-diagnostics -pz-set-input-shapes="shapes=x=8x64"

// Errors of pz-set-input-shapes: a named input that no function has, a
// shape that does not fit the input's type, and a graph that cannot take
// the shape.

// expected-error @+1 {{no data input is named 'x' (inputs are function arguments marked pz.input)}}
module {
  func.func @other_input(%y: tensor<?x64xf32> {pz.input = "y"}) -> tensor<?x64xf32> {
    return %y : tensor<?x64xf32>
  }
}

// -----

// A parameter is not a data input.
// expected-error @+1 {{no data input is named 'x'}}
module {
  func.func @param_named_x(%x: tensor<8x64xf32> {pz.param = "x"}) -> tensor<8x64xf32> {
    return %x : tensor<8x64xf32>
  }
}

// -----

// Declarations have no inputs to set.
// expected-error @+1 {{no data input is named 'x'}}
module {
  func.func private @declaration(tensor<?x64xf32> {pz.input = "x"})
}

// -----

// expected-error @+1 {{input 'x' has type 'tensor<?xf32>', which the shape 'x=8x64' does not fit}}
func.func @rank_mismatch(%x: tensor<?xf32> {pz.input = "x"}) -> tensor<?xf32> {
  return %x : tensor<?xf32>
}

// -----

// expected-error @+1 {{input 'x' has type 'tensor<?x64x1xf32>', which the shape 'x=8x64' does not fit}}
func.func @rank_mismatch_higher(%x: tensor<?x64x1xf32> {pz.input = "x"}) -> tensor<?x64x1xf32> {
  return %x : tensor<?x64x1xf32>
}

// -----

// expected-error @+1 {{input 'x' has type 'tensor<?x32xf32>', which the shape 'x=8x64' does not fit}}
func.func @static_dim_conflict(%x: tensor<?x32xf32> {pz.input = "x"}) -> tensor<?x32xf32> {
  return %x : tensor<?x32xf32>
}

// -----

// expected-error @+1 {{input 'x' has type 'tensor<4x64xi64>', which the shape 'x=8x64' does not fit}}
func.func @fully_static_conflict(%x: tensor<4x64xi64> {pz.input = "x"}) -> tensor<4x64xi64> {
  return %x : tensor<4x64xi64>
}

// -----

// expected-error @+1 {{input 'x' has type 'tensor<*xf32>', which the shape 'x=8x64' does not fit}}
func.func @unranked(%x: tensor<*xf32> {pz.input = "x"}) -> tensor<*xf32> {
  return %x : tensor<*xf32>
}

// -----

// expected-error @+1 {{input 'x' has type 'i64', which the shape 'x=8x64' does not fit}}
func.func @not_a_tensor(%x: i64 {pz.input = "x"}) -> i64 {
  return %x : i64
}

// -----

// The pass carries the new shapes through the graph at once; an op that
// cannot take them is reported at the op.
func.func @reshape_does_not_divide(%x: tensor<?x64xf32> {pz.input = "x"}) -> tensor<3x?xf32> {
  // expected-error @+1 {{cannot reshape 512 elements into [3, -1]}}
  %0 = pz.reshape %x [3, -1] : tensor<?x64xf32> -> tensor<3x?xf32>
  return %0 : tensor<3x?xf32>
}

// -----

func.func @matmul_contraction(%x: tensor<?x?xf32> {pz.input = "x"}, %w: tensor<32x16xf32>) -> tensor<?x16xf32> {
  // expected-error @+1 {{contraction dims differ: lhs 8x64 has K = 64, rhs 32x16 has K = 32}}
  %0 = pz.matmul %x, %w : tensor<?x?xf32>, tensor<32x16xf32> -> tensor<?x16xf32>
  return %0 : tensor<?x16xf32>
}

// -----

func.func @two_failures(%x: tensor<?x64xf32> {pz.input = "x"}, %y: tensor<4x64xf32>) -> (tensor<?x128xf32>, tensor<?x5xf32>) {
  // expected-error @+1 {{input 1 has size 4 on dim 0 where input 0 has 8}}
  %0 = pz.concat %x, %y {axis = 1 : i64} : (tensor<?x64xf32>, tensor<4x64xf32>) -> tensor<?x128xf32>
  // expected-error @+1 {{cannot reshape 512 elements into [-1, 5]}}
  %1 = pz.reshape %x [-1, 5] : tensor<?x64xf32> -> tensor<?x5xf32>
  return %0, %1 : tensor<?x128xf32>, tensor<?x5xf32>
}
