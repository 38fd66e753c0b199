/* pzrt/exec.h - what generated host code calls besides kernels.
 *
 * Host functions of a compiled program (lib/Target/Host) compute buffer
 * addresses, call their kernels and these functions; they never read or
 * write buffer contents themselves, so that the same host code drives host
 * (CPU) and device (CUDA) memory.
 */
#ifndef PZRT_EXEC_H
#define PZRT_EXEC_H

#include "pzrt/train.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Copies `bytes` from src to dst on the step's device; nothing when they are
 * the same buffer. Buffers either coincide or do not overlap. Returns 0, or
 * -1 with pzrt_last_error(). */
int pzrt_copy(pzrt_step_ctx *ctx, void *dst, const void *src, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_EXEC_H */
