func.func @forward(%logits: tensor<4x16xf32> {pz.input = "logits"}, %labels: tensor<4xi64> {pz.input = "labels"})
    -> (tensor<4xf32> {pz.output = "cen"}) {
  %cen = pz.cross_entropy %logits, %labels none : tensor<4x16xf32>, tensor<4xi64> -> tensor<4xf32> loc("cen")
  return %cen : tensor<4xf32>
}
