// RUN: parallelize-opt %s | FileCheck %s
// RUN: parallelize-opt %s --mlir-print-op-generic | parallelize-opt | FileCheck %s

// Every pzrt op round-trips, in its custom and generic form.
module attributes {pz.plan = #pz.plan<dp_replicate = 2, tp = 2>, pzrt.target = "cpu"} {
  // CHECK-LABEL: func.func @host(
  // CHECK-SAME: %[[X:.*]]: memref<4x8xf32>, %[[Y:.*]]: memref<4x8xf32> {pzrt.result = 0 : i64})
  // CHECK-SAME: attributes {pzrt.memory_plan = #pzrt.memory_plan<arena_bytes = 1152, peak_bytes = 1152, buffers = 2>}
  func.func @host(%x: memref<4x8xf32>, %y: memref<4x8xf32> {pzrt.result = 0 : i64}) attributes {pzrt.memory_plan = #pzrt.memory_plan<arena_bytes = 1152, peak_bytes = 1152, buffers = 2>} {
    // CHECK: %[[A:.*]] = pzrt.arena : memref<1152xi8>
    %arena = pzrt.arena : memref<1152xi8>
    %c0 = arith.constant 0 : index
    %c128 = arith.constant 128 : index
    %t = memref.view %arena[%c0][] : memref<1152xi8> to memref<4x8xf32>
    %ws = memref.view %arena[%c128][] : memref<1152xi8> to memref<1024xi8>
    // CHECK: pzrt.lifetime_start %{{.*}} : memref<4x8xf32>
    pzrt.lifetime_start %t : memref<4x8xf32>
    pzrt.lifetime_start %ws : memref<1024xi8>
    // CHECK: pzrt.dispatch @kernels::@exp(%[[X]] : memref<4x8xf32>) outs(%{{.*}} : memref<4x8xf32>) workspace(%{{.*}} : memref<1024xi8>)
    // CHECK-NOT: stream
    pzrt.dispatch @kernels::@exp(%x : memref<4x8xf32>) outs(%t : memref<4x8xf32>) workspace(%ws : memref<1024xi8>) {stream = 0 : i32}
    // CHECK: pzrt.lifetime_end %{{.*}} : memref<1024xi8>
    pzrt.lifetime_end %ws : memref<1024xi8>
    // CHECK: %[[E:.*]] = pzrt.event_record {stream = 0 : i32}
    %e = pzrt.event_record {stream = 0 : i32}
    // CHECK: pzrt.stream_wait %[[E]] {stream = 1 : i32}
    pzrt.stream_wait %e {stream = 1 : i32}
    // CHECK: pzrt.all_reduce <sum> %{{.*}}, %{{.*}} on ["dp_replicate"] reason <"ddp.grad_bucket", "bucket 1 of 1"> : memref<4x8xf32>, memref<4x8xf32>
    pzrt.all_reduce <sum> %t, %t on ["dp_replicate"] reason <"ddp.grad_bucket", "bucket 1 of 1"> : memref<4x8xf32>, memref<4x8xf32>
    // CHECK: %[[R:.*]] = pzrt.all_gather %{{.*}}, %{{.*}} on ["tp"] reason <"tp.gather", "h.0"> : memref<2x8xf32>, memref<4x8xf32> -> !pzrt.request
    %half = memref.reinterpret_cast %x to offset: [0], sizes: [2, 8], strides: [8, 1] : memref<4x8xf32> to memref<2x8xf32>
    %r = pzrt.all_gather %half, %t on ["tp"] reason <"tp.gather", "h.0"> : memref<2x8xf32>, memref<4x8xf32> -> !pzrt.request
    // CHECK: pzrt.wait %[[R]]
    pzrt.wait %r
    // CHECK: pzrt.reduce_scatter <max> %{{.*}}, %{{.*}} on ["dp_replicate", "tp"] reason <"zero2.grad_scatter", "w"> : memref<4x8xf32>, memref<8xf32>
    %q = memref.reinterpret_cast %x to offset: [0], sizes: [8], strides: [1] : memref<4x8xf32> to memref<8xf32>
    pzrt.reduce_scatter <max> %t, %q on ["dp_replicate", "tp"] reason <"zero2.grad_scatter", "w"> : memref<4x8xf32>, memref<8xf32>
    // CHECK: pzrt.broadcast %{{.*}} from 1 on ["tp"] reason <"init.params", "w"> : memref<4x8xf32>
    pzrt.broadcast %t from 1 on ["tp"] reason <"init.params", "w"> : memref<4x8xf32>
    // CHECK: pzrt.all_to_all %{{.*}}, %{{.*}} on ["tp"] reason <"cp.heads", "h.0"> : memref<4x8xf32>, memref<4x8xf32>
    pzrt.all_to_all %t, %y on ["tp"] reason <"cp.heads", "h.0"> : memref<4x8xf32>, memref<4x8xf32>
    // CHECK: pzrt.shift %{{.*}}, %{{.*}} by 1 on ["tp"] reason <"cp.ring_kv_shift", "step 1 of 1, attn"> : memref<4x8xf32>, memref<4x8xf32>
    pzrt.shift %t, %y by 1 on ["tp"] reason <"cp.ring_kv_shift", "step 1 of 1, attn"> : memref<4x8xf32>, memref<4x8xf32>
    // CHECK: pzrt.send %{{.*}} to 1 on ["dp_replicate"] reason <"pp.activation", "stage 0"> : memref<4x8xf32>
    pzrt.send %t to 1 on ["dp_replicate"] reason <"pp.activation", "stage 0"> : memref<4x8xf32>
    // CHECK: %[[RR:.*]] = pzrt.recv %{{.*}} from -1 on ["dp_replicate"] reason <"pp.activation", "stage 0"> : memref<4x8xf32> -> !pzrt.request
    %rr = pzrt.recv %t from -1 on ["dp_replicate"] reason <"pp.activation", "stage 0"> : memref<4x8xf32> -> !pzrt.request
    pzrt.wait %rr
    pzrt.lifetime_end %t : memref<4x8xf32>
    return
  }
  // CHECK: pzrt.schedule {
  // CHECK-NEXT: pzrt.run @host {grads = #pzrt.slot<accum>}
  // CHECK-NEXT: pzrt.run @host {micro_batch = 1 : i64}
  // CHECK-NEXT: pzrt.check_numerics
  // CHECK-NEXT: }
  pzrt.schedule {
    pzrt.run @host {micro_batch = 0 : i64, grads = #pzrt.slot<accum>}
    pzrt.run @host {micro_batch = 1 : i64}
    pzrt.check_numerics
  }
  module @kernels {
    func.func @exp(%x: tensor<4x8xf32>) -> tensor<4x8xf32> attributes {pzrt.workspace_bytes = 1024 : i64} {
      %y = pz.exp %x : tensor<4x8xf32>
      return %y : tensor<4x8xf32>
    }
  }
}
