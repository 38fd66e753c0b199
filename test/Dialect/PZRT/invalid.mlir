// RUN: parallelize-opt %s --split-input-file --verify-diagnostics

func.func @arena_without_plan() {
  // expected-error @+1 {{'pzrt.arena' op needs a host function with a #pzrt.memory_plan}}
  %a = pzrt.arena : memref<64xi8>
  return
}

// -----

func.func @arena_size(%x: memref<4xf32>) attributes {pzrt.memory_plan = #pzrt.memory_plan<arena_bytes = 128, peak_bytes = 64, buffers = 1>} {
  // expected-error @+1 {{'pzrt.arena' op type 'memref<64xi8>' does not hold the plan's arena of 128 bytes}}
  %a = pzrt.arena : memref<64xi8>
  return
}

// -----

// expected-error @+1 {{the peak of live bytes (128) exceeds the arena (64 bytes)}}
func.func @plan_peak() attributes {pzrt.memory_plan = #pzrt.memory_plan<arena_bytes = 64, peak_bytes = 128, buffers = 1>} {
  return
}

// -----

func.func @lifetime_of_argument(%x: memref<4xf32>) {
  // expected-error @+1 {{'pzrt.lifetime_start' op operand must be a memref.view of pzrt.arena}}
  pzrt.lifetime_start %x : memref<4xf32>
  return
}

// -----

module {
  func.func @dispatch_types(%x: memref<4xf32>, %y: memref<8xf32>) {
    // expected-error @+1 {{'pzrt.dispatch' op output 0 of type 'memref<8xf32>' does not hold the kernel's 'tensor<4xf32>'}}
    pzrt.dispatch @kernels::@exp(%x : memref<4xf32>) outs(%y : memref<8xf32>)
    return
  }
  module @kernels {
    func.func @exp(%x: tensor<4xf32>) -> tensor<4xf32> {
      %y = pz.exp %x : tensor<4xf32>
      return %y : tensor<4xf32>
    }
  }
}

// -----

module {
  func.func @dispatch_arity(%x: memref<4xf32>) {
    // expected-error @+1 {{'pzrt.dispatch' op kernel @kernels::@exp takes 1 inputs and gives 1 results, but 1 and 0 buffers are passed}}
    pzrt.dispatch @kernels::@exp(%x : memref<4xf32>) outs()
    return
  }
  module @kernels {
    func.func @exp(%x: tensor<4xf32>) -> tensor<4xf32> {
      %y = pz.exp %x : tensor<4xf32>
      return %y : tensor<4xf32>
    }
  }
}

// -----

module {
  func.func @dispatch_workspace(%x: memref<4xf32>, %y: memref<4xf32>) {
    // expected-error @+1 {{'pzrt.dispatch' op kernel @kernels::@exp needs a workspace of 256 bytes}}
    pzrt.dispatch @kernels::@exp(%x : memref<4xf32>) outs(%y : memref<4xf32>)
    return
  }
  module @kernels {
    func.func @exp(%x: tensor<4xf32>) -> tensor<4xf32> attributes {pzrt.workspace_bytes = 256 : i64} {
      %y = pz.exp %x : tensor<4xf32>
      return %y : tensor<4xf32>
    }
  }
}

// -----

func.func @exp(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
func.func @dispatch_not_a_kernel(%x: memref<4xf32>, %y: memref<4xf32>) {
  // expected-error @+1 {{'pzrt.dispatch' op kernel @exp must live in the @kernels module}}
  pzrt.dispatch @exp(%x : memref<4xf32>) outs(%y : memref<4xf32>)
  return
}

// -----

func.func @axis_unknown(%x: memref<4xf32>) {
  // expected-error @+1 {{'pzrt.all_reduce' op unknown grid axis 'dp' (expected pp, dp_replicate, dp_shard, cp or tp)}}
  pzrt.all_reduce <sum> %x, %x on ["dp"] reason <"ddp.grad", "w"> : memref<4xf32>, memref<4xf32>
  return
}

// -----

func.func @axis_order(%x: memref<4xf32>) {
  // expected-error @+1 {{'pzrt.all_reduce' op grid axes must be distinct and in grid order (pp, dp_replicate, dp_shard, cp, tp)}}
  pzrt.all_reduce <sum> %x, %x on ["tp", "dp_shard"] reason <"ddp.grad", "w"> : memref<4xf32>, memref<4xf32>
  return
}

// -----

func.func @reason_kind(%x: memref<4xf32>) {
  // expected-error @+1 {{reason kind 'grad bucket' must be a dotted identifier (letters, digits, '.', '_')}}
  pzrt.all_reduce <sum> %x, %x on ["tp"] reason <"grad bucket", "w"> : memref<4xf32>, memref<4xf32>
  return
}

// -----

module attributes {pz.plan = #pz.plan<tp = 4>} {
  func.func @gather_size(%x: memref<4xf32>, %y: memref<8xf32>) {
    // expected-error @+1 {{'pzrt.all_gather' op the destination must have 4 (the group size) times 4 elements, got 8}}
    pzrt.all_gather %x, %y on ["tp"] reason <"tp.gather", "w"> : memref<4xf32>, memref<8xf32>
    return
  }
}

// -----

module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @scatter_size(%x: memref<4xf32>, %y: memref<4xf32>) {
    // expected-error @+1 {{'pzrt.reduce_scatter' op the source must have 2 (the group size) times 4 elements, got 4}}
    pzrt.reduce_scatter <sum> %x, %y on ["tp"] reason <"zero2.grad", "w"> : memref<4xf32>, memref<4xf32>
    return
  }
}

// -----

module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @broadcast_root(%x: memref<4xf32>) {
    // expected-error @+1 {{'pzrt.broadcast' op root 2 is not a rank of the group}}
    pzrt.broadcast %x from 2 on ["tp"] reason <"init", "w"> : memref<4xf32>
    return
  }
}

// -----

func.func @reduce_types(%x: memref<4xf32>, %y: memref<4xf64>) {
  // expected-error @+1 {{'pzrt.all_reduce' op source and destination element types differ}}
  pzrt.all_reduce <sum> %x, %y on ["tp"] reason <"x", "w"> : memref<4xf32>, memref<4xf64>
  return
}

// -----

func.func @request_not_waited(%x: memref<4xf32>) {
  // expected-error @+1 {{'pzrt.send' op its request must be completed by exactly one pzrt.wait}}
  %r = pzrt.send %x to 1 on ["pp"] reason <"pp.act", "s0"> : memref<4xf32> -> !pzrt.request
  return
}

// -----

func.func @send_self(%x: memref<4xf32>) {
  // expected-error @+1 {{'pzrt.send' op peer offset 0 sends to itself}}
  pzrt.send %x to 0 on ["pp"] reason <"pp.act", "s0"> : memref<4xf32>
  return
}

// -----

func.func @negative_stream() {
  // expected-error @+1 {{'pzrt.event_record' op stream must not be negative}}
  %e = pzrt.event_record {stream = -1 : i32}
  return
}

// -----

func.func @f() {
  return
}
// expected-error @+1 {{'pzrt.schedule' op a module holds at most one schedule}}
pzrt.schedule {
  pzrt.run @f
}
pzrt.schedule {
  pzrt.run @f
}

// -----

pzrt.schedule {
  // expected-error @+1 {{'pzrt.run' op calls @missing, which is not a host function}}
  pzrt.run @missing
}

// -----

func.func @g() {
  return
}
pzrt.schedule {
  // expected-error @+1 {{'pzrt.run' op micro-batch must not be negative}}
  pzrt.run @g {micro_batch = -1 : i64}
}

// -----

// expected-error @+1 {{'builtin.module' op 'pzrt.target' must be "cpu" or "cuda" on a module}}
module attributes {pzrt.target = "tpu"} {
}

// -----

module attributes {pz.plan = #pz.plan<tp = 2>} {
  func.func @broadcast_negative_root(%x: memref<4xf32>) {
    // expected-error @+1 {{'pzrt.broadcast' op root -1 is not a rank of the group}}
    pzrt.broadcast %x from -1 on ["tp"] reason <"init", "w"> : memref<4xf32>
    return
  }
}

// -----

func.func @shift_in_place(%x: memref<4xf32>) {
  // expected-error @+1 {{'pzrt.shift' op source and destination must be distinct buffers}}
  pzrt.shift %x, %x by 1 on ["pp"] reason <"cp.ring_kv_shift", "s0"> : memref<4xf32>, memref<4xf32>
  return
}

// -----

func.func @shift_types(%x: memref<4xf32>, %y: memref<8xf32>) {
  // expected-error @+1 {{'pzrt.shift' op source and destination must have the same type}}
  pzrt.shift %x, %y by 1 on ["pp"] reason <"cp.ring_kv_shift", "s0"> : memref<4xf32>, memref<8xf32>
  return
}

// -----

func.func @f() {
  return
}
// expected-error @+1 {{'pzrt.schedule' op has 1 places in 'order' for 2 actions}}
pzrt.schedule attributes {order = array<i64: 0>} {
  pzrt.run @f
  pzrt.run @f
}

// -----

func.func @f() {
  return
}
// expected-error @+1 {{'pzrt.schedule' op 'order' must increase strictly within [0, 2^31): place 1 is 3}}
pzrt.schedule attributes {order = array<i64: 3, 3>} {
  pzrt.run @f
  pzrt.run @f
}
