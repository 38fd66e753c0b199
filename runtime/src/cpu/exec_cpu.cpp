// pzrt/exec.h on the CPU: buffers are host memory.
#include "pzrt/exec.h"

#include "core/internal.h"

#include <cstring>

extern "C" int pzrt_copy(pzrt_step_ctx *ctx, void *dst, const void *src, size_t bytes) {
  (void)ctx;
  if (bytes > 0 && (!dst || !src))
    return pzrt::fail("pzrt_copy: a NULL buffer");
  if (dst != src && bytes > 0)
    std::memmove(dst, src, bytes);
  return 0;
}
