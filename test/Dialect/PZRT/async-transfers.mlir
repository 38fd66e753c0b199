// RUN: parallelize-opt %s --pzrt-async-transfers --split-input-file | FileCheck %s

// A bucket's all-reduce starts where it is issued; the wait comes right
// before the first op that touches its buffers (here the copy that reads
// the result through a view). The copy of unrelated buffers between them
// overlaps it. The attributes (reason, pz.bucket) carry over.
// CHECK-LABEL: func.func @overlap
// CHECK-NEXT: %[[G:.*]] = memref.alloc() : memref<16xf32>
// CHECK-NEXT: memref.copy %arg0, %[[G]]
// CHECK-NEXT: %[[R:.*]] = pzrt.all_reduce <sum> %[[G]], %[[G]] on ["dp_replicate"] reason <"ddp.grad_bucket", "bucket 1 of 2"> {pz.bucket = ["w"]} : memref<16xf32>, memref<16xf32> -> !pzrt.request
// CHECK-NEXT: memref.copy %arg1, %arg2
// CHECK-NEXT: %[[V:.*]] = memref.reinterpret_cast %[[G]]
// CHECK-NEXT: pzrt.wait %[[R]]
// CHECK-NEXT: memref.copy %[[V]], %arg3
// CHECK-NEXT: return
func.func @overlap(%g0: memref<16xf32>, %a: memref<8xf32>, %b: memref<8xf32>, %out: memref<4x4xf32>) {
  %g = memref.alloc() : memref<16xf32>
  memref.copy %g0, %g : memref<16xf32> to memref<16xf32>
  pzrt.all_reduce <sum> %g, %g on ["dp_replicate"] reason <"ddp.grad_bucket", "bucket 1 of 2"> {pz.bucket = ["w"]} : memref<16xf32>, memref<16xf32>
  memref.copy %a, %b : memref<8xf32> to memref<8xf32>
  %v = memref.reinterpret_cast %g to offset: [0], sizes: [4, 4], strides: [4, 1] : memref<16xf32> to memref<4x4xf32>
  memref.copy %v, %out : memref<4x4xf32> to memref<4x4xf32>
  return
}

// -----

// A transfer whose buffers nothing touches before the return is waited for
// right before it; one whose next op touches them stays blocking. Two
// transfers keep their order, and a second transfer of the first one's
// result counts as a touch (the wait comes before it).
// CHECK-LABEL: func.func @order
// CHECK-NEXT: %[[S:.*]] = pzrt.reduce_scatter <sum> %arg0, %arg1 on ["dp_shard"] reason <"zero.grad_reduce_scatter", "bucket 1 of 1"> : memref<8xf32>, memref<4xf32> -> !pzrt.request
// CHECK-NEXT: memref.copy %arg3, %arg4
// CHECK-NEXT: pzrt.wait %[[S]]
// CHECK-NEXT: pzrt.all_reduce <sum> %arg1, %arg1 on ["dp_replicate"] reason <"hsdp.grad_all_reduce", "bucket 1 of 1"> : memref<4xf32>, memref<4xf32>
// CHECK-NEXT: memref.copy %arg1, %arg2
// CHECK-NEXT: %[[A:.*]] = pzrt.all_gather %arg2, %arg5 on ["dp_shard"] reason <"zero3.param_gather", "h.0 (forward)"> : memref<4xf32>, memref<8xf32> -> !pzrt.request
// CHECK-NEXT: memref.copy %arg3, %arg4
// CHECK-NEXT: pzrt.wait %[[A]]
// CHECK-NEXT: return
func.func @order(%g: memref<8xf32>, %s: memref<4xf32>, %t: memref<4xf32>, %a: memref<2xf32>, %b: memref<2xf32>, %w: memref<8xf32>) {
  pzrt.reduce_scatter <sum> %g, %s on ["dp_shard"] reason <"zero.grad_reduce_scatter", "bucket 1 of 1"> : memref<8xf32>, memref<4xf32>
  memref.copy %a, %b : memref<2xf32> to memref<2xf32>
  pzrt.all_reduce <sum> %s, %s on ["dp_replicate"] reason <"hsdp.grad_all_reduce", "bucket 1 of 1"> : memref<4xf32>, memref<4xf32>
  memref.copy %s, %t : memref<4xf32> to memref<4xf32>
  pzrt.all_gather %t, %w on ["dp_shard"] reason <"zero3.param_gather", "h.0 (forward)"> : memref<4xf32>, memref<8xf32>
  memref.copy %a, %b : memref<2xf32> to memref<2xf32>
  return
}

// -----

// Writing a transfer's source is a touch too: the wait comes before the op
// that overwrites the buffer being sent.
// CHECK-LABEL: func.func @source_reuse
// CHECK-NEXT: %[[R:.*]] = pzrt.send %arg0 to 1 on ["pp"] reason <"pp.activation", "s0"> : memref<4xf32> -> !pzrt.request
// CHECK-NEXT: memref.copy %arg2, %arg3
// CHECK-NEXT: pzrt.wait %[[R]]
// CHECK-NEXT: memref.copy %arg1, %arg0
func.func @source_reuse(%x: memref<4xf32>, %y: memref<4xf32>, %a: memref<2xf32>, %b: memref<2xf32>) {
  pzrt.send %x to 1 on ["pp"] reason <"pp.activation", "s0"> : memref<4xf32>
  memref.copy %a, %b : memref<2xf32> to memref<2xf32>
  memref.copy %y, %x : memref<4xf32> to memref<4xf32>
  return
}
