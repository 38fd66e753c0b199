// RUN: parallelize-opt %s -split-input-file -verify-diagnostics

// pz.fused: one domain, element-map body ops, broadcastable inputs, a yield
// of computed values with the result types.

func.func @results_share_domain(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<8xf32>) {
  // expected-error @+1 {{results must share one shape (the domain): 'tensor<8xf32>' against 'tensor<4x8xf32>'}}
  %0:2 = pz.fused (%x) : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<8xf32>) {
  ^bb0(%a: tensor<4x8xf32>):
    %e = pz.exp %a : tensor<4x8xf32>
    pz.yield %e, %e : tensor<4x8xf32>, tensor<4x8xf32>
  }
  return %0#0, %0#1 : tensor<4x8xf32>, tensor<8xf32>
}

// -----

func.func @not_element_map(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = pz.fused (%x) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>):
    // expected-error @+1 {{'pz.softmax' op is not an element-map op and cannot be in pz.fused}}
    %s = pz.softmax %a {axis = 1 : i64} : tensor<4x8xf32>
    pz.yield %s : tensor<4x8xf32>
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @input_must_broadcast(%x: tensor<4x8xf32>, %b: tensor<4xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{input #1 of type 'tensor<4xf32>' does not broadcast to the domain 'tensor<4x8xf32>'}}
  %0 = pz.fused (%x, %b) : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>, %c: tensor<4xf32>):
    %e = pz.exp %a : tensor<4x8xf32>
    pz.yield %e : tensor<4x8xf32>
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @body_value_in_domain(%x: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<4x8xf32> {
  %0 = pz.fused (%x, %b) : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>, %c: tensor<8xf32>):
    // expected-error @+1 {{result 'tensor<8xf32>' does not have the fused domain shape 'tensor<4x8xf32>'}}
    %e = pz.exp %c : tensor<8xf32>
    %s = pz.add %a, %e : tensor<4x8xf32>, tensor<8xf32> -> tensor<4x8xf32>
    pz.yield %s : tensor<4x8xf32>
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @yield_types(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = pz.fused (%x) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>):
    %c = pz.cast %a : tensor<4x8xf32> to bf16
    // expected-error @+1 {{yields 'tensor<4x8xbf16>' for results 'tensor<4x8xf32>'}}
    pz.yield %c : tensor<4x8xbf16>
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @yield_argument(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = pz.fused (%x) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>):
    // expected-error @+1 {{yields a body argument; a fused op returns values it computes}}
    pz.yield %a : tensor<4x8xf32>
  }
  return %0 : tensor<4x8xf32>
}

// -----

func.func @isolated(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-note @+1 {{required by region isolation constraints}}
  %0 = pz.fused (%x) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>):
    // expected-error @+1 {{using value defined outside the region}}
    %s = pz.add %a, %y : tensor<4x8xf32>, tensor<4x8xf32> -> tensor<4x8xf32>
    pz.yield %s : tensor<4x8xf32>
  }
  return %0 : tensor<4x8xf32>
}
