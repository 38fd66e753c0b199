// RUN: parallelize-opt %s -split-input-file -verify-diagnostics

// The discardable pz.* attributes: pz.param / pz.input / pz.grad / pz.state
// on function arguments, pz.output / pz.grad / pz.param / pz.state on
// function results, pz.plan on the module, pz.lr_schedule (a dictionary),
// and no other pz.* name anywhere.

// expected-error @+1 {{'func.func' op 'pz.param' on argument 0 must be a non-empty string}}
func.func @param_not_a_string(%a: tensor<4xf32> {pz.param = 1 : i64}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'pz.param' on argument 1 must be a non-empty string}}
func.func @param_empty_name(%a: tensor<4xf32>, %b: tensor<4xf32> {pz.param = ""}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'pz.input' on argument 0 must be a non-empty string}}
func.func @input_not_a_string(%a: tensor<4xi64> {pz.input = @ids}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'pz.input' on argument 0 must be a non-empty string}}
func.func @input_empty_name(%a: tensor<4xi64> {pz.input = ""}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op parameter 'w' (argument 0) must be a ranked float tensor, got 'tensor<4xi32>'}}
func.func @param_integer_tensor(%a: tensor<4xi32> {pz.param = "w"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op parameter 'b' (argument 1) must be a ranked float tensor, got 'f32'}}
func.func @param_not_a_tensor(%a: tensor<4xf32>, %b: f32 {pz.param = "b"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op parameter 'w' (argument 0) must be a ranked float tensor, got 'tensor<*xf32>'}}
func.func @param_unranked(%a: tensor<*xf32> {pz.param = "w"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'pz.param' name "w" is used by arguments 0 and 1}}
func.func @param_duplicate_name(%a: tensor<4xf32> {pz.param = "w"}, %b: tensor<4xf32> {pz.param = "w"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'pz.input' name "ids" is used by arguments 0 and 2}}
func.func @input_duplicate_name(%a: tensor<4xi64> {pz.input = "ids"}, %b: tensor<4xf32>, %c: tensor<4xi64> {pz.input = "ids"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op unknown pz argument attribute 'pz.weight' on argument 0 (expected 'pz.param', 'pz.input'}}
func.func @unknown_argument_attr(%a: tensor<4xf32> {pz.weight = "w"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op unknown pz argument attribute 'pz.output' on argument 0}}
func.func @output_on_argument(%a: tensor<4xf32> {pz.output = "loss"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'pz.output' on result 0 must be a non-empty string}}
func.func @output_not_a_string(%a: tensor<4xf32>) -> (tensor<4xf32> {pz.output = 3 : i32}) {
  return %a : tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op 'pz.output' on result 1 must be a non-empty string}}
func.func @output_empty_name(%a: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32> {pz.output = ""}) {
  return %a, %a : tensor<4xf32>, tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op unknown pz result attribute 'pz.input' (expected 'pz.output'}}
func.func @unknown_result_attr(%a: tensor<4xf32>) -> (tensor<4xf32> {pz.input = "x"}) {
  return %a : tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op 'pz.grad' on argument 1 must be a non-empty string}}
func.func @grad_not_a_string(%a: tensor<4xf32>, %g: tensor<4xf32> {pz.grad = 0 : i64}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'pz.state' on argument 0 must be a non-empty string}}
func.func @state_empty_name(%m: tensor<4xf32> {pz.state = ""}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'pz.grad' name "w" is used by arguments 0 and 1}}
func.func @grad_duplicate_name(%a: tensor<4xf32> {pz.grad = "w"}, %b: tensor<4xf32> {pz.grad = "w"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'pz.state' name "exp_avg:w" is used by arguments 0 and 1}}
func.func @state_duplicate_name(%a: tensor<4xf32> {pz.state = "exp_avg:w"}, %b: tensor<4xf32> {pz.state = "exp_avg:w"}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'pz.grad' on result 0 must be a non-empty string}}
func.func @result_grad_not_a_string(%a: tensor<4xf32>) -> (tensor<4xf32> {pz.grad = ["w"]}) {
  return %a : tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op 'pz.param' on result 0 must be a non-empty string}}
func.func @result_param_empty(%a: tensor<4xf32>) -> (tensor<4xf32> {pz.param = ""}) {
  return %a : tensor<4xf32>
}

// -----

// expected-error @+1 {{'func.func' op 'pz.lr_schedule' must be a #pz.lr_schedule on a function}}
func.func @lr_schedule_not_typed() attributes {pz.lr_schedule = "cosine"} {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'pz.lr_schedule' must be a #pz.lr_schedule on a function}}
func.func @lr_schedule_dictionary() attributes {pz.lr_schedule = {kind = "cosine", lr = 1.0e-3 : f64}} {
  return
}

// -----

// expected-error @+1 {{a cosine schedule needs total_steps (10) above warmup_steps (10)}}
func.func @lr_schedule_cosine_too_short() attributes {pz.lr_schedule = #pz.lr_schedule<kind = cosine, lr = 1.0e-3, warmup_steps = 10, total_steps = 10>} {
  return
}

// -----

// expected-error @+1 {{the learning rate must be finite and not negative}}
func.func @lr_schedule_negative() attributes {pz.lr_schedule = #pz.lr_schedule<kind = constant, lr = -1.0, warmup_steps = 0, total_steps = 0>} {
  return
}

// -----

// expected-error @+1 {{'builtin.module' op 'pz.loss_scaling' must be a #pz.loss_scaling on the module}}
module attributes {pz.loss_scaling = {initial_scale = 65536.0 : f64}} {
}

// -----

// expected-error @+1 {{backoff_factor must be in (0, 1)}}
module attributes {pz.loss_scaling = #pz.loss_scaling<initial_scale = 65536.0, growth_interval = 1000, growth_factor = 2.0, backoff_factor = 1.0>} {
}

// -----

// expected-error @+1 {{'func.func' op the lr scalar (argument 0) must hold one 'f32', got 'tensor<i64>'}}
func.func @role_wrong_type(%lr: tensor<i64> {pz.role = #pz.role<lr>}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op the step scalar (argument 0) must hold one 'i64', got 'tensor<2xi64>'}}
func.func @role_not_scalar(%s: tensor<2xi64> {pz.role = #pz.role<step>}) {
  return
}

// -----

// expected-error @+1 {{'func.func' op 'pz.role' on result 0 must be a #pz.role}}
func.func @role_not_typed(%a: tensor<f32>) -> (tensor<f32> {pz.role = "loss"}) {
  return %a : tensor<f32>
}

// -----

// expected-error @+1 {{'func.func' op 'pz.plan' belongs on the module}}
func.func @plan_on_function() attributes {pz.plan = #pz.plan<tp = 2>} {
  return
}

// -----

func.func @plan_on_op(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'pz.relu' op 'pz.plan' belongs on the module}}
  %0 = pz.relu %a {pz.plan = #pz.plan<>} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// expected-error @+1 {{'builtin.module' op 'pz.plan' must be a #pz.plan attribute}}
module attributes {pz.plan = "tp=2"} {
}

// -----

// expected-error @+1 {{'builtin.module' op 'pz.plan' must be a #pz.plan attribute}}
module attributes {pz.plan = {tp = 2 : i64}} {
}

// -----

// expected-error @+1 {{'builtin.module' op unknown pz attribute 'pz.other'}}
module attributes {pz.other = 1 : i64} {
}

// -----

// expected-error @+1 {{'func.func' op unknown pz attribute 'pz.input'}}
func.func @input_on_function() attributes {pz.input = "x"} {
  return
}

// -----

func.func @param_on_op(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'pz.relu' op unknown pz attribute 'pz.param'}}
  %0 = pz.relu %a {pz.param = "x"} : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// The argument rules hold for declarations too.
// expected-error @+1 {{'func.func' op parameter 'w' (argument 0) must be a ranked float tensor, got 'tensor<4xi32>'}}
func.func private @param_integer_tensor_declaration(tensor<4xi32> {pz.param = "w"})

// -----

// expected-error @+1 {{'func.func' op 'pz.param' name "w" is used by arguments 0 and 1}}
func.func private @param_duplicate_name_declaration(tensor<4xf32> {pz.param = "w"}, tensor<4xf32> {pz.param = "w"})

// -----

func.func @comm_not_a_reason(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'pz.comm' must be a #pzrt.reason<kind, source>}}
  %e = pz.exp %a {pz.comm = "ddp.grad_bucket"} : tensor<4xf32>
  return %e : tensor<4xf32>
}

// -----

func.func @empty_bucket(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{'pz.bucket' must be a non-empty array of gradient names}}
  %e = pz.exp %a {pz.bucket = []} : tensor<4xf32>
  return %e : tensor<4xf32>
}
