// RUN: parallelize-opt %s --pzrt-plan-memory --split-input-file --verify-diagnostics | FileCheck %s

// Each alloc becomes a view of the arena at its offset, live from the alloc
// to its last use (through views): %a and %b overlap in time, %c reuses %a's
// bytes once %a's last reader is done. Buffers are 64-byte aligned (the
// 10-byte %b takes 64).
// CHECK-LABEL: func.func @lifetimes
// CHECK-SAME: attributes {pzrt.memory_plan = #pzrt.memory_plan<arena_bytes = 4160, peak_bytes = 4160, buffers = 3>}
// CHECK-NEXT: %[[ARENA:.*]] = pzrt.arena : memref<4160xi8>
// CHECK-NEXT: %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[A:.*]] = memref.view %[[ARENA]][%[[C0]]][] : memref<4160xi8> to memref<1024xf32>
// CHECK-NEXT: pzrt.lifetime_start %[[A]] : memref<1024xf32>
// CHECK-NEXT: memref.copy %arg0, %[[A]]
// CHECK-NEXT: %[[C4096:.*]] = arith.constant 4096 : index
// CHECK-NEXT: %[[B:.*]] = memref.view %[[ARENA]][%[[C4096]]][] : memref<4160xi8> to memref<10xui8>
// CHECK-NEXT: pzrt.lifetime_start %[[B]] : memref<10xui8>
// CHECK-NEXT: %[[R:.*]] = memref.reinterpret_cast %[[A]]
// CHECK-NEXT: memref.copy %[[R]], %arg1
// CHECK-NEXT: pzrt.lifetime_end %[[A]] : memref<1024xf32>
// CHECK-NEXT: memref.copy %arg2, %[[B]]
// CHECK-NEXT: pzrt.lifetime_end %[[B]] : memref<10xui8>
// CHECK-NEXT: %[[C0b:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[C:.*]] = memref.view %[[ARENA]][%[[C0b]]][] : memref<4160xi8> to memref<1024xf32>
// CHECK-NEXT: pzrt.lifetime_start %[[C]]
// CHECK-NEXT: memref.copy %arg0, %[[C]]
// CHECK-NEXT: pzrt.lifetime_end %[[C]]
// CHECK-NEXT: return
func.func @lifetimes(%x: memref<1024xf32>, %y: memref<32x32xf32>, %z: memref<10xui8>) {
  %a = memref.alloc() : memref<1024xf32>
  memref.copy %x, %a : memref<1024xf32> to memref<1024xf32>
  %b = memref.alloc() : memref<10xui8>
  %r = memref.reinterpret_cast %a to offset: [0], sizes: [32, 32], strides: [32, 1] : memref<1024xf32> to memref<32x32xf32>
  memref.copy %r, %y : memref<32x32xf32> to memref<32x32xf32>
  memref.copy %z, %b : memref<10xui8> to memref<10xui8>
  %c = memref.alloc() : memref<1024xf32>
  memref.copy %x, %c : memref<1024xf32> to memref<1024xf32>
  return
}

// -----

// A function without buffers still gets an (empty) arena and a plan.
// CHECK-LABEL: func.func @none
// CHECK-SAME: pzrt.memory_plan = #pzrt.memory_plan<arena_bytes = 0, peak_bytes = 0, buffers = 0>
// CHECK-NEXT: pzrt.arena : memref<0xi8>
func.func @none(%x: memref<4xf32>, %y: memref<4xf32>) {
  memref.copy %x, %y : memref<4xf32> to memref<4xf32>
  return
}

// -----

func.func @dynamic(%n: index) {
  // expected-error @+1 {{pzrt-plan-memory: buffer type 'memref<?xf32>' is not static and row-major}}
  %a = memref.alloc(%n) : memref<?xf32>
  return
}

// -----

func.func @huge() {
  // expected-error @+1 {{pzrt-plan-memory: buffer 'memref<4611686018427387904x4xf32>' holds more than 2251799813685248 bytes}}
  %a = memref.alloc() : memref<4611686018427387904x4xf32>
  return
}

// -----

// An asynchronous transfer's buffers stay live until its wait: %c, created
// after the all-gather's last operand use, cannot take %a's or %b's bytes
// while the transfer may still read %a and write %b.
// CHECK-LABEL: func.func @async_transfer
// CHECK-SAME: #pzrt.memory_plan<arena_bytes = 192, peak_bytes = 192, buffers = 3>
// CHECK: pzrt.all_gather
// CHECK: %[[C:.*]] = memref.view %{{.*}}[%{{.*}}][] : memref<192xi8> to memref<16xf32>
// CHECK: pzrt.wait
// CHECK-NEXT: pzrt.lifetime_end
// CHECK-NEXT: pzrt.lifetime_end
// CHECK-NOT: pzrt.lifetime_end
// CHECK: memref.copy %[[C]], %arg1
// CHECK-NEXT: pzrt.lifetime_end %[[C]]
func.func @async_transfer(%x: memref<8xf32>, %y: memref<16xf32>) {
  %a = memref.alloc() : memref<8xf32>
  memref.copy %x, %a : memref<8xf32> to memref<8xf32>
  %b = memref.alloc() : memref<16xf32>
  %r = pzrt.all_gather %a, %b on ["dp_shard"] reason <"zero3.param_gather", "h.0 (forward)"> : memref<8xf32>, memref<16xf32> -> !pzrt.request
  %c = memref.alloc() : memref<16xf32>
  memref.copy %y, %c : memref<16xf32> to memref<16xf32>
  pzrt.wait %r
  memref.copy %c, %y : memref<16xf32> to memref<16xf32>
  return
}
