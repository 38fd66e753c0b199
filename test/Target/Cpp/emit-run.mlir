// The CPU backend's C++ for one forward function (--forward-only --emit cpp).
// RUN: rm -rf %t && parallelize compile %s --forward-only --emit cpp -o %t | FileCheck %s --check-prefix=LOG
// RUN: FileCheck %s < %t/run.cpp
// LOG: wrote {{.*}}run.cpp

// Constants are static data; the matmul folds its batch into one GEMM; the
// bias add is one loop with the bias broadcast (stride 0 on the rows); the
// softmax along the last axis calls the runtime; arena buffers are acquired
// before their op and released after their last reader; the result is
// written straight into the caller's buffer.
// CHECK: static float kpz_fn_{{[0-9]+}}[4] = {0x1p+0f, 0x1p+1f, 0x1.8p+1f, 0x1p+2f};
// CHECK: static int pz_fn(pzrt_step_ctx *ctx, void *const *args, void *const *results) {
// CHECK: float *[[X:v[0-9]+]] = (float *)(args[0]);
// CHECK: float *[[W:v[0-9]+]] = (float *)(args[1]);
// CHECK: if (!pzrt_arena_acquire(ctx->arena, [[MM:[0-9]+]], 256)) return pz_fail("pz.matmul 'mm'");
// CHECK: pzrt_sgemm(0, 1, 16, 4, 8, 1.0f, [[X]], 8, [[W]], 8, 0.0f, [[H:v[0-9]+]], 4)
// CHECK: for (int64_t i0 = 0; i0 < 16; ++i0)
// CHECK-NEXT: for (int64_t i1 = 0; i1 < 4; ++i1)
// CHECK-NEXT: [[B:v[0-9]+]][0 + i0 * 4 + i1] = ([[H]][0 + i0 * 4 + i1] + kpz_fn_{{[0-9]+}}[0 + i1]);
// CHECK: pzrt_arena_release(ctx->arena, [[MM]]);
// CHECK: float *[[Y:v[0-9]+]] = (float *)(results[0]); // pz.softmax 'sm'
// CHECK: pzrt_softmax_fwd([[B]], [[Y]], 16, 4);
// CHECK: return 0;
// CHECK: {"x", PZRT_F32, 3, {INT64_C(2), INT64_C(8), INT64_C(8)}},
// CHECK: {"y", PZRT_F32, 3, {INT64_C(2), INT64_C(8), INT64_C(4)}},
// CHECK: int main(int argc, char **argv) { return pzrt_run_main(&pz_function, argc, argv); }
func.func @forward(%x: tensor<2x8x8xf32> {pz.input = "x"}, %w: tensor<4x8xf32> {pz.input = "w"})
    -> (tensor<2x8x4xf32> {pz.output = "y"}) {
  %b = pz.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32> loc("bias")
  %h = pz.matmul %x, %w {transpose_rhs} : tensor<2x8x8xf32>, tensor<4x8xf32> -> tensor<2x8x4xf32> loc("mm")
  %a = pz.add %h, %b : tensor<2x8x4xf32>, tensor<4xf32> -> tensor<2x8x4xf32> loc("add")
  %y = pz.softmax %a {axis = 2 : i64} : tensor<2x8x4xf32> loc("sm")
  return %y : tensor<2x8x4xf32>
}
