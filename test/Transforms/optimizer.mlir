// RUN: parallelize-opt %s -pz-optimizer | FileCheck %s --check-prefix=ADAMW
// RUN: parallelize-opt %s -pz-optimizer="optimizer=sgd momentum=0.9 weight-decay=0.1 grad-clip=1.0" | FileCheck %s --check-prefix=SGD
// RUN: parallelize-opt %s -pz-optimizer="optimizer=sgd weight-decay=0.0" | FileCheck %s --check-prefix=PLAIN
// RUN: parallelize-opt %s -pz-optimizer="no-decay-1d lr-schedule=cosine warmup-steps=10 total-steps=100 lr=3e-4" | FileCheck %s --check-prefix=NODECAY

// Only parameters with a gradient take part; each brings its state.
// ADAMW-LABEL: func.func @optimizer_step(
// ADAMW-SAME: %[[W:[^:]*]]: tensor<4x3xf32> {pz.param = "w"}, %[[GW:[^:]*]]: tensor<4x3xf32> {pz.grad = "w"}, %[[M:[^:]*]]: tensor<4x3xf32> {pz.state = "exp_avg:w"}, %[[V:[^:]*]]: tensor<4x3xf32> {pz.state = "exp_avg_sq:w"}
// ADAMW-SAME: tensor<3xf32> {pz.param = "b"}, %{{[^:]*}}: tensor<3xf32> {pz.grad = "b"}, %{{[^:]*}}: tensor<3xf32> {pz.state = "exp_avg:b"}, %{{[^:]*}}: tensor<3xf32> {pz.state = "exp_avg_sq:b"}
// ADAMW-SAME: %[[LR:[^:]*]]: tensor<f32> {pz.input = "lr", pz.role = #pz.role<lr>}, %[[STEP:[^:]*]]: tensor<i64> {pz.input = "step", pz.role = #pz.role<step>})
// ADAMW-SAME: -> (tensor<4x3xf32> {pz.param = "w"}, tensor<4x3xf32> {pz.state = "exp_avg:w"}, tensor<4x3xf32> {pz.state = "exp_avg_sq:w"}, tensor<3xf32> {pz.param = "b"}, tensor<3xf32> {pz.state = "exp_avg:b"}, tensor<3xf32> {pz.state = "exp_avg_sq:b"}, tensor<f32> {pz.output = "grad_norm", pz.role = #pz.role<grad_norm>})
// ADAMW-SAME: attributes {pz.lr_schedule = #pz.lr_schedule<kind = constant, lr = 1.000000e-03, warmup_steps = 0, total_steps = 0>}
// The global norm: sqrt of the sum of every gradient's squares.
// ADAMW: %[[SQ:.*]] = pz.mul %[[GW]], %[[GW]]
// ADAMW: pz.reduce_sum %[[SQ]] [0, 1]
// ADAMW: %[[NORM:.*]] = pz.sqrt
// ADAMW: %optimizer_w_0, %optimizer_w_1, %optimizer_w_2 = pz.adamw_update %[[W]], %[[GW]], %[[M]], %[[V]], %[[LR]], %[[STEP]] {beta1 = 9.000000e-01 : f64, beta2 = 0.99899999999999999 : f64, eps = 1.000000e-08 : f64, weight_decay = 1.000000e-02 : f64}
// ADAMW: pz.adamw_update {{.*}} weight_decay = 1.000000e-02 : f64
// ADAMW: return {{.*}}, %[[NORM]]

// Clipping scales every gradient by min(1, clip / (norm + 1e-6)), written
// 1 - relu(1 - clip / (norm + 1e-6)).
// SGD-LABEL: func.func @optimizer_step(
// SGD-SAME: {pz.state = "momentum_buffer:w"}
// SGD: %[[NORM:.*]] = pz.sqrt
// SGD: %[[EPS:.*]] = pz.constant dense<9.99999997E-7> : tensor<f32>
// SGD: %[[DEN:.*]] = pz.add %[[NORM]], %[[EPS]]
// SGD: %[[COEF:.*]] = pz.div %{{.*}}, %[[DEN]]
// SGD: %[[ONE_MINUS:.*]] = pz.sub %[[ONE:.*]], %[[COEF]]
// SGD: %[[R:.*]] = pz.relu %[[ONE_MINUS]]
// SGD: %[[CLIP:.*]] = pz.sub %[[ONE]], %[[R]]
// SGD: %[[G:.*]] = pz.mul %{{.*}}, %[[CLIP]]
// SGD: pz.sgd_update %{{.*}}, %[[G]], {{.*}} {momentum = 9.000000e-01 : f64, weight_decay = 1.000000e-01 : f64}

// Without momentum there is no state: p - lr * g.
// PLAIN-LABEL: func.func @optimizer_step(
// PLAIN-NOT: pz.state
// PLAIN: %[[STEP:[^ ]*]] = pz.mul %{{[^,]*}}, %{{[^ ]*}} : tensor<4x3xf32>, tensor<f32>
// PLAIN: pz.sub %{{.*}}, %[[STEP]]
// PLAIN-NOT: pz.sgd_update

// 1-D parameters are exempt from decay; the schedule is recorded.
// NODECAY: attributes {pz.lr_schedule = #pz.lr_schedule<kind = cosine, lr = 3.000000e-04, warmup_steps = 10, total_steps = 100>}
// NODECAY: pz.adamw_update {{.*}} weight_decay = 1.000000e-02 : f64} : tensor<4x3xf32>
// NODECAY: pz.adamw_update {{.*}} weight_decay = 0.000000e+00 : f64} : tensor<3xf32>

module {
  func.func @forward_backward(%w: tensor<4x3xf32> {pz.param = "w"}, %b: tensor<3xf32> {pz.param = "b"}, %frozen: tensor<2xf32> {pz.param = "frozen"}) -> (tensor<f32> {pz.output = "loss"}, tensor<4x3xf32> {pz.grad = "w"}, tensor<3xf32> {pz.grad = "b"}) {
    %l = pz.reduce_sum %b [0] : tensor<3xf32> -> tensor<f32>
    return %l, %w, %b : tensor<f32>, tensor<4x3xf32>, tensor<3xf32>
  }
}
