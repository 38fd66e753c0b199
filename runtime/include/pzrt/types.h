/* pzrt/types.h - element types and half-precision conversions.
 *
 * bfloat16 and float16 values are stored as uint16_t. Conversions from
 * float round to nearest, ties to even; NaN stays NaN.
 */
#ifndef PZRT_TYPES_H
#define PZRT_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pzrt_dtype {
  PZRT_F32 = 0,
  PZRT_F16 = 1,
  PZRT_BF16 = 2,
  PZRT_F64 = 3,
  PZRT_I32 = 4,
  PZRT_I64 = 5,
  PZRT_U8 = 6,
  PZRT_U16 = 7,
  PZRT_U32 = 8,
  PZRT_U64 = 9,
  PZRT_I8 = 10, /* appended: the codes above are in checkpoints and programs */
  PZRT_I16 = 11,
  PZRT_DTYPE_COUNT = 12
} pzrt_dtype;

/* Bytes per element; 0 for an invalid dtype. */
size_t pzrt_dtype_size(pzrt_dtype dtype);
/* The safetensors name ("F32", "BF16", "I64", ...); "?" for an invalid dtype. */
const char *pzrt_dtype_name(pzrt_dtype dtype);
/* Parses a safetensors dtype name. Returns 0 and sets *out, or -1. */
int pzrt_dtype_from_name(const char *name, pzrt_dtype *out);

uint16_t pzrt_f32_to_bf16(float x);
float pzrt_bf16_to_f32(uint16_t x);
uint16_t pzrt_f32_to_f16(float x);
float pzrt_f16_to_f32(uint16_t x);

/* n elements of a PZRT_BF16 or PZRT_F16 buffer to fp32 (exact), and back
 * (each rounded once, to nearest, ties to even). 0 on success; -1 with an
 * error for another dtype or a negative n. The CPU backend runs its
 * fp32-only kernels (GEMM, norms, softmax, attention) on such copies. */
int pzrt_widen_to_f32(pzrt_dtype src_dtype, const void *src, float *dst, int64_t n);
int pzrt_narrow_from_f32(pzrt_dtype dst_dtype, const float *src, void *dst, int64_t n);

#ifdef __cplusplus
}
#endif

#endif /* PZRT_TYPES_H */
