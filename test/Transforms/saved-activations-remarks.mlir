// RUN: parallelize-opt %s --pz-saved-activations=remarks=true -verify-diagnostics -o /dev/null

// With remarks: one per kept value.
func.func @forward_backward(%x: tensor<4xf32> {pz.input = "x"}) -> (tensor<f32> {pz.output = "loss", pz.role = #pz.role<loss>}, tensor<4xf32> {pz.output = "g"}) {
  // expected-remark @+1 {{kept for the backward pass: 'tensor<4xf32>', 16 bytes}}
  %t = pz.tanh %x : tensor<4xf32>
  %l = pz.reduce_sum %t [0] : tensor<4xf32> -> tensor<f32>
  %g = pz.mul %t, %t : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  return %l, %g : tensor<f32>, tensor<4xf32>
}
