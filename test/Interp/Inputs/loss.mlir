// A mean cross-entropy, for pz-interpret-errors.test.
func.func @loss(%logits: tensor<?x4xf64> {pz.input = "logits"},
                %labels: tensor<?xi64> {pz.input = "labels"})
    -> (tensor<f64> {pz.output = "loss"}) {
  %loss = pz.cross_entropy %logits, %labels mean
          : tensor<?x4xf64>, tensor<?xi64> -> tensor<f64>
  return %loss : tensor<f64>
}
