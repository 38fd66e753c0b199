// Integer division keeps the CPU's zero-divisor flag: the _at function
// counts a zero divisor in pz_div0 and records the op's check in the
// device's check word, which pzrt_device_check reads after the launcher and
// reports as the CPU backend does.
// RUN: rm -rf %t && mkdir -p %t
// RUN: parallelize compile %S/Inputs/int-div.mlir --forward-only --emit exe -o %t/cpu --dump-ir=%t/ir
// RUN: parallelize-translate --pzrt-kernels-to-cuda %t/ir/*-pzrt-plan-memory.mlir > %t/k.cu
// RUN: FileCheck %s < %t/k.cu
// RUN: %if nvcc %{ nvcc -arch=sm_90 -std=c++17 -I %pz_src_root/runtime/include -c %t/k.cu -o %t/k.o %}
// RUN: %if cuda-emulate %{ g++ -std=c++17 -x c++ -DPZ_CUDA_EMULATE -fsyntax-only -I %pz_src_root/runtime/include %t/k.cu %}
// RUN: %if nvcc %{ %python -c "import numpy as np; \
// RUN:   np.save('%t/x.npy', np.array([7, -7, 2**62, -2**63], dtype=np.int64)); \
// RUN:   np.save('%t/y.npy', np.array([2, 2, -3, -1], dtype=np.int64)); \
// RUN:   np.save('%t/z.npy', np.array([1, 0, 1, 1], dtype=np.int64))" %}
// RUN: %if nvcc %{ %cuda-host-check %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/h x=%t/x.npy y=%t/y.npy | FileCheck %s --check-prefix=HOST %}
// HOST: exact q 4
// A zero divisor: the harness sees the flag (exit 3), the CPU program fails.
// RUN: %if nvcc %{ not %cuda-host-check %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/h0 x=%t/x.npy y=%t/z.npy 2>&1 | FileCheck %s --check-prefix=ZERO %}
// ZERO: a kernel set its error flag
// On the emulated device pzrt_device_check reads the word and fails as the CPU.
// RUN: %if cuda-emulator %{ %cuda-host-check --emulate %cuda-emu-link %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/e x=%t/x.npy y=%t/y.npy | FileCheck %s --check-prefix=HOST %}
// RUN: %if cuda-emulator %{ not %cuda-host-check --emulate %cuda-emu-link %t/ir/*-pzrt-plan-memory.mlir %t/k.cu %t/cpu %t/e0 x=%t/x.npy y=%t/z.npy 2>&1 | FileCheck %s --check-prefix=EMU0 %}
// EMU0: pzk_forward_0_div: pz.div 'q': integer division by zero

// CHECK-LABEL: __host__ __device__ inline void pzk_forward_0_div_0_at(int64_t i, int64_t *__restrict__ p0, const int64_t *__restrict__ p1, const int64_t *__restrict__ p2, int *__restrict__ pz_bad, int pz_check) {
// CHECK-NEXT: int pz_div0 = 0;
// CHECK-NEXT: p0[i] = (p2[i] == 0 ? (pz_div0 = 1,
// CHECK-NEXT: if (pz_div0) pz_flag(pz_bad, pz_check);
// No flag read-back in the launcher (CUDA graphs capture it): the check is
// registered with its message and read by pzrt_device_check after the call.
// CHECK-NOT: pzrt_device_read
// CHECK: static int pz_check_id = 0;
// CHECK-NEXT: int *pz_bad = pzrt_cuda_check_word(ctx, "pz.div 'q': integer division by zero", &pz_check_id);
// CHECK-NEXT: if (!pz_bad) return pz_cuda_fail("pz.div 'q'");
// CHECK-NEXT: PZ_LAUNCH(1, 256, 0, stream, pzk_forward_0_div_0_kernel)(INT64_C(4), (int64_t *)b[2], (const int64_t *)b[0], (const int64_t *)b[1], pz_bad, pz_check_id);
// CHECK-NOT: pzrt_device_read
