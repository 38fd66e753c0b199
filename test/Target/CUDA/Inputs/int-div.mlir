func.func @forward(%x: tensor<4xi64> {pz.input = "x"}, %y: tensor<4xi64> {pz.input = "y"}) -> (tensor<4xi64> {pz.output = "q"}) {
  %q = pz.div %x, %y : tensor<4xi64>, tensor<4xi64> -> tensor<4xi64> loc("q")
  return %q : tensor<4xi64>
}
