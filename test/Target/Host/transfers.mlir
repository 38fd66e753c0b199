// RUN: parallelize-translate --pzrt-to-cpp %s | FileCheck %s

// Transfers, requests and events print as calls of pzrt/exec.h on the
// communicator group of their grid axes (groups numbered in order of first
// use), naming their reason; nothing of it touches buffer contents.
module attributes {pz.plan = #pz.plan<dp_replicate = 2, tp = 2>, pzrt.target = "cpu"} {
  // CHECK-LABEL: static int pzh_step(pzrt_step_ctx *ctx, void *const *args) {
  func.func @step(%g: memref<1024xf32>, %h: memref<512xf32>, %x: memref<4x8xbf16>) attributes {pzrt.memory_plan = #pzrt.memory_plan<arena_bytes = 0, peak_bytes = 0, buffers = 0>} {
    %arena = pzrt.arena : memref<0xi8>
    // CHECK: if (pzrt_all_reduce_on(ctx, 0, args[0], args[0], 1024, PZRT_F32, PZRT_REDUCE_SUM, "ddp.grad_bucket", 1, NULL) != 0) return pz_fail("pzrt.all_reduce
    pzrt.all_reduce <sum> %g, %g on ["dp_replicate"] reason <"ddp.grad_bucket", "bucket 1 of 1"> : memref<1024xf32>, memref<1024xf32>
    // CHECK: pzrt_request *[[R:r[0-9]+]] = NULL;
    // CHECK-NEXT: if (pzrt_reduce_scatter_on(ctx, 1, args[0], args[1], 512, PZRT_F32, PZRT_REDUCE_MAX, "zero2.grad_scatter", 1, &[[R]]) != 0)
    %r = pzrt.reduce_scatter <max> %g, %h on ["tp"] reason <"zero2.grad_scatter", "w"> : memref<1024xf32>, memref<512xf32> -> !pzrt.request
    // CHECK: if (pzrt_all_gather_on(ctx, 1, args[1], args[0], 512, PZRT_F32, "zero3.param_gather", 0, NULL) != 0)
    pzrt.all_gather %h, %g on ["tp"] reason <"zero3.param_gather", "w"> {stream = 0 : i32} : memref<512xf32>, memref<1024xf32>
    // CHECK: if (pzrt_wait(ctx, [[R]]) != 0)
    pzrt.wait %r
    // CHECK: if (pzrt_broadcast_on(ctx, 2, args[2], 32, PZRT_BF16, 1, "init.params", 1, NULL) != 0)
    pzrt.broadcast %x from 1 on ["dp_replicate", "tp"] reason <"init.params", "x"> : memref<4x8xbf16>
    // CHECK: if (pzrt_send_on(ctx, 0, args[1], 512, PZRT_F32, 1, "pp.activation", 1, NULL) != 0)
    pzrt.send %h to 1 on ["dp_replicate"] reason <"pp.activation", "s0"> : memref<512xf32>
    // CHECK: if (pzrt_recv_on(ctx, 0, args[1], 512, PZRT_F32, -1, "pp.activation", 1, NULL) != 0)
    pzrt.recv %h from -1 on ["dp_replicate"] reason <"pp.activation", "s0"> : memref<512xf32>
    // CHECK: if (pzrt_all_to_all_on(ctx, 1, args[0], args[0], 1024, PZRT_F32, "cp.heads", 1, NULL) != 0)
    pzrt.all_to_all %g, %g on ["tp"] reason <"cp.heads", "h0"> : memref<1024xf32>, memref<1024xf32>
    // CHECK: pzrt_event *[[E:e[0-9]+]] = pzrt_event_record(ctx, 0);
    // CHECK-NEXT: if (![[E]]) return pz_fail(
    // CHECK-NEXT: if (pzrt_stream_wait(ctx, [[E]], 1) != 0) return pz_fail(
    %e = pzrt.event_record {stream = 0 : i32}
    pzrt.stream_wait %e {stream = 1 : i32}
    // CHECK: return 0;
    return
  }
}
