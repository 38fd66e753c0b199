/* pzrt/run.h - running one compiled function on .npy files.
 *
 * `parallelize compile MODEL --emit exe --function NAME` (and the ONNX
 * node-test harness) builds a program whose main() is
 * `return pzrt_run_main(&fn, argc, argv);`:
 *   run --input NAME=FILE.npy ... --output-dir DIR
 * reads every argument of the function from its .npy file (dtype and shape
 * must match), runs it once, and writes each result as DIR/NAME.npy ('/' in NAME becomes '_');
 * DIR is created if missing.
 * float16 is '<f2'. numpy has no bfloat16, so a bf16 tensor is its raw bits
 * as '<u2' (the way onnx stores bfloat16), in both directions. Unsigned
 * tensors are '|u1', '<u2', '<u4' and '<u8'; a bool result is '|b1' (a bool
 * argument reads '|b1' or '|u1').
 */
#ifndef PZRT_RUN_H
#define PZRT_RUN_H

#include "pzrt/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int (*pzrt_generic_fn)(pzrt_step_ctx *ctx, void *const *args, void *const *results);

typedef struct pzrt_function {
  const char *name;
  int32_t num_args;
  const pzrt_tensor_spec *args;
  int32_t num_results;
  const pzrt_tensor_spec *results;
  uint64_t arena_bytes;
  uint64_t arena_planned_peak;
  pzrt_generic_fn fn;
  /* One flag per result: nonzero for a bool (i1) tensor, which is stored as
   * U8 and written as '|b1'; other U8 results are uint8 ('|u1'). NULL (an
   * initializer that leaves it out) makes every U8 result a bool. */
  const unsigned char *bool_results;
} pzrt_function;

int pzrt_run_main(const pzrt_function *fn, int argc, char **argv);
/* The same on the device of `hooks` (train.h's pzrt_device_hooks): the
 * arguments, results and arena come from its allocator, the function runs
 * with ctx->device and two streams of the device, and the device is
 * synchronized before the results are written. NULL: pzrt_run_main. */
int pzrt_run_main_on(const pzrt_function *fn, int argc, char **argv,
                     const pzrt_device_hooks *hooks);

/* Writes a C-order little-endian .npy file (version 1.0); U8 is written as
 * bool ('|b1') when as_bool is set, BF16 as its raw bits ('<u2'). */
int pzrt_npy_write(const char *path, pzrt_dtype dtype, int ndim, const int64_t *shape,
                   const void *data, int as_bool);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_RUN_H */
