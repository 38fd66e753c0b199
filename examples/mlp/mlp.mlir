// A two-layer MLP classifier with its loss, in the pz dialect.
// The batch dim is dynamic; `--input-shape x=8x64,labels=8` fixes it.
//
//   parallelize compile examples/mlp/mlp.mlir --emit ir \
//       --input-shape x=8x64 --input-shape labels=8 --dump-ir ir/
module {
  func.func @forward(
      %x: tensor<?x64xf32> {pz.input = "x"},
      %labels: tensor<?xi64> {pz.input = "labels"},
      %w1: tensor<128x64xf32> {pz.param = "fc1.weight"},
      %b1: tensor<128xf32> {pz.param = "fc1.bias"},
      %w2: tensor<10x128xf32> {pz.param = "fc2.weight"},
      %b2: tensor<10xf32> {pz.param = "fc2.bias"})
      -> (tensor<f32> {pz.output = "loss"}) {
    %h = pz.matmul %x, %w1 {transpose_rhs} : tensor<?x64xf32>, tensor<128x64xf32> -> tensor<?x128xf32> loc("fc1")
    %hb = pz.add %h, %b1 : tensor<?x128xf32>, tensor<128xf32> -> tensor<?x128xf32> loc("fc1.bias_add")
    %a = pz.gelu %hb erf : tensor<?x128xf32> loc("act")
    %o = pz.matmul %a, %w2 {transpose_rhs} : tensor<?x128xf32>, tensor<10x128xf32> -> tensor<?x10xf32> loc("fc2")
    %logits = pz.add %o, %b2 : tensor<?x10xf32>, tensor<10xf32> -> tensor<?x10xf32> loc("logits")
    %loss = pz.cross_entropy %logits, %labels mean : tensor<?x10xf32>, tensor<?xi64> -> tensor<f32> loc("loss")
    return %loss : tensor<f32>
  }
}
