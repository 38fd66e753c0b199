func.func @forward(%logits: tensor<4x16xf32> {pz.input = "logits"}, %labels: tensor<4xi64> {pz.input = "labels"})
    -> (tensor<f32> {pz.output = "ce"}, tensor<4xf32> {pz.output = "cen"}) {
  %ce = pz.cross_entropy %logits, %labels mean : tensor<4x16xf32>, tensor<4xi64> -> tensor<f32> loc("ce")
  %cen = pz.cross_entropy %logits, %labels none : tensor<4x16xf32>, tensor<4xi64> -> tensor<4xf32> loc("cen")
  return %ce, %cen : tensor<f32>, tensor<4xf32>
}
