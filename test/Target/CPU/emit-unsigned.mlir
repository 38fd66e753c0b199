// Unsigned tensors (ui8, ui16, ui32, ui64) in the CPU backend and the
// reference interpreter: the C types are uint8_t ... uint64_t (runtime dtypes
// PZRT_U8 ... PZRT_U64); +, -, * and negation run in an unsigned type at
// least as wide as int, so they wrap modulo 2^width without undefined
// behaviour (uint16_t * uint16_t would overflow int); integer sums
// accumulate in uint64_t. A bool result (i1, also PZRT_U8) is flagged so that
// it is written as '|b1' while ui8 results are '|u1'.
// RUN: rm -rf %t && parallelize compile %s --forward-only --emit cpp -o %t
// RUN: FileCheck %s < %t/run.cpp
// CHECK: static uint8_t pzg_forward_cst_0[2] = {UINT64_C(200), UINT64_C(255)};
// CHECK: static uint64_t pzg_forward_cst_1[2] = {UINT64_C(1), UINT64_C(3)};
// Each op is a kernel whose buffers are v0, v1, ... in operand order.
// CHECK-LABEL: static int pzk_forward_0_sub(
// CHECK: = (uint8_t)((uint32_t)v0[0 + i0] - (uint32_t)v1[0 + i0]);
// CHECK-LABEL: static int pzk_forward_1_mul(
// CHECK: = (uint8_t)((uint32_t)v0[0 + i0] * (uint32_t)v1[0 + i0]);
// CHECK-LABEL: static int pzk_forward_2_div(
// CHECK: = (v1[0 + i0] == 0 ? (pz_div0 = 1, (uint8_t)0) : (uint8_t)(v0[0 + i0] / v1[0 + i0]));
// CHECK-LABEL: static int pzk_forward_3_neg(
// CHECK: = (uint8_t)(0u - (uint32_t)v0[0 + i0]);
// CHECK-LABEL: static int pzk_forward_4_mul(
// CHECK: uint16_t *v0 = (uint16_t *)(b[0]);
// CHECK: = (uint16_t)((uint32_t)v0[0 + i0] * (uint32_t)v1[0 + i0]);
// CHECK-LABEL: static int pzk_forward_5_reduce_sum(
// CHECK: uint64_t s = 0;
// CHECK-LABEL: static int pzk_forward_7_compare(
// CHECK: = (uint8_t)(v0[0 + i0] < v1[0 + i0]);
// CHECK-LABEL: static int pzk_forward_8_sub(
// CHECK: = (uint64_t)((uint64_t)v0[0 + i0] - (uint64_t)v1[0 + i0]);
// CHECK: = (uint8_t)(int64_t)std::trunc(
// The add and the product fuse into one loop of uint8_t scalars.
// CHECK: { uint8_t [[T:t[0-9]+]] = (uint8_t)((uint32_t)v0[0 + i0] + (uint32_t)v1[0 + i0]); uint8_t {{t[0-9]+}} = (uint8_t)((uint32_t)[[T]] * (uint32_t)v1[0 + i0]);
// The host function passes each kernel its buffers; the u64 subtraction
// reads the constant global.
// CHECK-LABEL: static int pzh_forward(
// CHECK: void *[[U64:v[0-9]+]] = (void *)pzg_forward_cst_1;
// CHECK: { void *const b[] = {args[4], [[U64]], {{.*}}}; if (pzk_forward_8_sub(ctx, b) != 0) return -1; }
// CHECK: {"a", PZRT_U8, 1, {INT64_C(4)}},
// CHECK: {"c", PZRT_U16, 1, {INT64_C(4)}},
// CHECK: {"u", PZRT_U64, 1, {INT64_C(2)}},
// CHECK: {"w", PZRT_U32, 1, {INT64_C(2)}},
// CHECK: static const unsigned char pz_bool_results[] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
//
// Built and run on inputs that overflow, the program and the interpreter
// both give numpy's modular results; casts give the values ONNX Cast
// specifies (written out by hand below).
// RUN: rm -rf %t.exe %t.out %t.ref && parallelize compile %s --forward-only --emit exe -o %t.exe
// RUN: %python -c "import numpy as np; p = '%t.'; \
// RUN:   np.save(p + 'a.npy', np.array([200, 10, 255, 0], np.uint8)); \
// RUN:   np.save(p + 'b.npy', np.array([100, 20, 2, 7], np.uint8)); \
// RUN:   np.save(p + 'c.npy', np.array([65535, 300, 2, 0], np.uint16)); \
// RUN:   np.save(p + 'd.npy', np.array([65535, 300, 40000, 9], np.uint16)); \
// RUN:   np.save(p + 'u.npy', np.array([0, 5], np.uint64)); \
// RUN:   np.save(p + 'w.npy', np.array([4294967295, 7], np.uint32)); \
// RUN:   np.save(p + 'i.npy', np.array([-1, 300], np.int32)); \
// RUN:   np.save(p + 'f.npy', np.array([300.75, -1.0, 255.5, 3.25], np.float32))"
// RUN: %t.exe/run --input a=%t.a.npy --input b=%t.b.npy --input c=%t.c.npy --input d=%t.d.npy \
// RUN:   --input u=%t.u.npy --input w=%t.w.npy --input i=%t.i.npy --input f=%t.f.npy --output-dir %t.out
// RUN: %python %S/Inputs/check_unsigned.py %t.out exe | FileCheck %s --check-prefix=RESULT
// RUN: pz-interpret %s --input a=%t.a.npy --input b=%t.b.npy --input c=%t.c.npy --input d=%t.d.npy \
// RUN:   --input u=%t.u.npy --input w=%t.w.npy --input i=%t.i.npy --input f=%t.f.npy --output-dir %t.ref
// RUN: %python %S/Inputs/check_unsigned.py %t.ref interpreter | FileCheck %s --check-prefix=RESULT
// RESULT: all 15 results match
//
// A value outside its argument's type is refused, not wrapped.
// RUN: %python -c "import numpy as np; np.save('%t.a300.npy', np.array([300, 0, 0, 0]))"
// RUN: %expect-exit 2 pz-interpret %s --input a=%t.a300.npy --input b=%t.b.npy --input c=%t.c.npy \
// RUN:   --input d=%t.d.npy --input u=%t.u.npy --input w=%t.w.npy --input i=%t.i.npy --input f=%t.f.npy \
// RUN:   | FileCheck %s --check-prefix=RANGE
// RANGE: pz-interpret: {{.*}}a300.npy: element 0 (300.000000) is not a valid ui8
//
// Integer division by zero stays an error in both.
// RUN: %python -c "import numpy as np; np.save('%t.b0.npy', np.array([100, 0, 2, 7], np.uint8))"
// RUN: %expect-exit 1 %t.exe/run --input a=%t.a.npy --input b=%t.b0.npy --input c=%t.c.npy --input d=%t.d.npy \
// RUN:   --input u=%t.u.npy --input w=%t.w.npy --input i=%t.i.npy --input f=%t.f.npy --output-dir %t.out0 \
// RUN:   | FileCheck %s --check-prefix=DIV0
// RUN: %expect-exit 1 pz-interpret %s --input a=%t.a.npy --input b=%t.b0.npy --input c=%t.c.npy \
// RUN:   --input d=%t.d.npy --input u=%t.u.npy --input w=%t.w.npy --input i=%t.i.npy --input f=%t.f.npy \
// RUN:   | FileCheck %s --check-prefix=DIV0
// DIV0: integer division by zero
func.func @forward(%a: tensor<4xui8> {pz.input = "a"}, %b: tensor<4xui8> {pz.input = "b"},
                   %c: tensor<4xui16> {pz.input = "c"}, %d: tensor<4xui16> {pz.input = "d"},
                   %u: tensor<2xui64> {pz.input = "u"}, %w: tensor<2xui32> {pz.input = "w"},
                   %i: tensor<2xi32> {pz.input = "i"}, %f: tensor<4xf32> {pz.input = "f"})
    -> (tensor<4xui8> {pz.output = "add"}, tensor<4xui8> {pz.output = "sub"},
        tensor<4xui8> {pz.output = "mul"}, tensor<4xui8> {pz.output = "div"},
        tensor<4xui8> {pz.output = "neg"}, tensor<4xui16> {pz.output = "mul16"},
        tensor<ui8> {pz.output = "sum"}, tensor<ui8> {pz.output = "max"},
        tensor<4xi1> {pz.output = "lt"}, tensor<2xui64> {pz.output = "sub64"},
        tensor<2xi32> {pz.output = "w_i32"}, tensor<2xui8> {pz.output = "i_u8"},
        tensor<4xui8> {pz.output = "f_u8"}, tensor<2xf32> {pz.output = "k_f32"},
        tensor<4xui8> {pz.output = "fused"}) {
  %add = pz.add %a, %b : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8> loc("add")
  %sub = pz.sub %a, %b : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8> loc("sub")
  %mul = pz.mul %a, %b : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8> loc("mul")
  %div = pz.div %a, %b : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8> loc("div")
  %neg = pz.neg %a : tensor<4xui8> loc("neg")
  %mul16 = pz.mul %c, %d : tensor<4xui16>, tensor<4xui16> -> tensor<4xui16> loc("mul16")
  %sum = pz.reduce_sum %a [0] : tensor<4xui8> -> tensor<ui8> loc("sum")
  %max = pz.reduce_max %a [0] : tensor<4xui8> -> tensor<ui8> loc("max")
  %lt = pz.compare lt, %a, %b : tensor<4xui8>, tensor<4xui8> -> tensor<4xi1> loc("lt")
  %one = pz.constant dense<[1, 3]> : tensor<2xui64> loc("one")
  %sub64 = pz.sub %u, %one : tensor<2xui64>, tensor<2xui64> -> tensor<2xui64> loc("sub64")
  %w_i32 = pz.cast %w : tensor<2xui32> to i32 loc("w_i32")
  %i_u8 = pz.cast %i : tensor<2xi32> to ui8 loc("i_u8")
  %f_u8 = pz.cast %f : tensor<4xf32> to ui8 loc("f_u8")
  %k = pz.constant dense<[200, 255]> : tensor<2xui8> loc("k")
  %k_f32 = pz.cast %k : tensor<2xui8> to f32 loc("k_f32")
  %t = pz.add %a, %b : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8> loc("t")
  %fused = pz.mul %t, %b : tensor<4xui8>, tensor<4xui8> -> tensor<4xui8> loc("fused")
  return %add, %sub, %mul, %div, %neg, %mul16, %sum, %max, %lt, %sub64, %w_i32, %i_u8, %f_u8, %k_f32,
         %fused
      : tensor<4xui8>, tensor<4xui8>, tensor<4xui8>, tensor<4xui8>, tensor<4xui8>, tensor<4xui16>,
        tensor<ui8>, tensor<ui8>, tensor<4xi1>, tensor<2xui64>, tensor<2xi32>, tensor<2xui8>,
        tensor<4xui8>, tensor<2xf32>, tensor<4xui8>
}
