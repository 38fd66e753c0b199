func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = pz.exp %x : tensor<4xi32>
  return %y : tensor<4xf32>
}
