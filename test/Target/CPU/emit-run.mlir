// The CPU backend's C++ for one forward function (--forward-only --emit cpp).
// RUN: rm -rf %t && parallelize compile %s --forward-only --emit cpp -o %t | FileCheck %s --check-prefix=LOG
// RUN: FileCheck %s < %t/run.cpp
// LOG: wrote {{.*}}run.cpp

// Constants are static data; the matmul folds its batch into one GEMM; the
// bias add is one loop with the bias broadcast (stride 0 on the rows); the
// softmax along the last axis calls the runtime. Each op is a kernel
// function on its buffers; the host function passes them the planned arena
// views, acquired before their op and released after their last reader, and
// writes the result straight into the caller's buffer.
// CHECK: alignas(64) static float pzg_forward_cst_0[4] = {0x1p+0f, 0x1p+1f, 0x1.8p+1f, 0x1p+2f};
// CHECK: static int pzk_forward_0_matmul(pzrt_step_ctx *ctx, void *const *b) {
// CHECK: float *[[X:v[0-9]+]] = (float *)(b[0]);
// CHECK: float *[[W:v[0-9]+]] = (float *)(b[1]);
// CHECK: float *[[H:v[0-9]+]] = (float *)(b[2]); // pz.matmul 'mm'
// CHECK: pzrt_sgemm(0, 1, 16, 4, 8, 1.0f, [[X]], 8, [[W]], 8, 0.0f, [[H]], 4)
// CHECK: static int pzk_forward_1_add(
// CHECK: for (int64_t i0 = 0; i0 < 16; ++i0)
// CHECK-NEXT: for (int64_t i1 = 0; i1 < 4; ++i1)
// CHECK-NEXT: [[B:v[0-9]+]][0 + i0 * 4 + i1] = ({{v[0-9]+}}[0 + i0 * 4 + i1] + {{v[0-9]+}}[0 + i1]);
// CHECK: static int pzk_forward_2_softmax(
// CHECK: pzrt_softmax_fwd(v0, v1, 16, 4);
// CHECK: static int pzh_forward(pzrt_step_ctx *ctx, void *const *args) {
// CHECK-NEXT: void *[[K:v[0-9]+]] = (void *)pzg_forward_cst_0;
// CHECK-NEXT: void *[[HB:v[0-9]+]] = ctx->arena_base + [[MM:[0-9]+]];
// CHECK-NEXT: if (!pzrt_arena_acquire(ctx->arena, [[MM]], 256)) return pz_fail("buffer of 'mm'");
// CHECK-NEXT: { void *const b[] = {args[0], args[1], [[HB]]}; if (pzk_forward_0_matmul(ctx, b) != 0) return -1; }
// CHECK: { void *const b[] = {[[HB]], [[K]], [[AB:v[0-9]+]]}; if (pzk_forward_1_add(ctx, b) != 0) return -1; }
// CHECK-NEXT: pzrt_arena_release(ctx->arena, [[MM]]);
// CHECK-NEXT: { void *const b[] = {[[AB]], args[2]}; if (pzk_forward_2_softmax(ctx, b) != 0) return -1; }
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
