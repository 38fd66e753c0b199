// Element maps only: what the CUDA backend compiles whole so far.
module {
  func.func @forward(%x: tensor<4x8xf32> {pz.input = "x"}, %y: tensor<8xf32> {pz.input = "y"})
      -> (tensor<4x8xf32> {pz.output = "z"}) {
    %s = pz.add %x, %y : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32> loc("add")
    %t = pz.tanh %s : tensor<4x8xf32> loc("tanh")
    return %t : tensor<4x8xf32>
  }
}
