// The fake NCCL's element-wise reductions (fake_nccl.cpp): dst = dst (op)
// src over n elements, as every rank folds the ranks' contributions in rank
// order. 16-bit floats are widened to fp32 for each step and rounded back to
// nearest even after it; integer sums and products wrap.
#ifndef PZRT_SRC_CUDA_EMU_FAKE_NCCL_FOLD_H
#define PZRT_SRC_CUDA_EMU_FAKE_NCCL_FOLD_H

#include "pzrt/types.h"

#include <nccl.h>

#include <cstddef>
#include <cstdint>

namespace pz_emu::fake_nccl {

template <typename T> T apply(ncclRedOp_t op, T a, T b) {
  switch (op) {
  case ncclMax: return b > a ? b : a;
  case ncclMin: return b < a ? b : a;
  case ncclProd: return a * b;
  default: return a + b;
  }
}

// dst = dst (op) src over n elements of T, computed in A: integers add and
// multiply in the unsigned type of their width, so that they wrap.
template <typename T, typename A = T>
void foldAs(void *dst, const void *src, size_t n, ncclRedOp_t op) {
  auto *d = static_cast<T *>(dst);
  auto *s = static_cast<const T *>(src);
  for (size_t i = 0; i < n; ++i)
    d[i] = op == ncclMax || op == ncclMin
               ? apply(op, d[i], s[i])
               : static_cast<T>(apply(op, static_cast<A>(d[i]), static_cast<A>(s[i])));
}

inline void foldHalf(void *dst, const void *src, size_t n, ncclRedOp_t op, bool bf16) {
  auto *d = static_cast<uint16_t *>(dst);
  auto *s = static_cast<const uint16_t *>(src);
  for (size_t i = 0; i < n; ++i) {
    float a = bf16 ? pzrt_bf16_to_f32(d[i]) : pzrt_f16_to_f32(d[i]);
    float b = bf16 ? pzrt_bf16_to_f32(s[i]) : pzrt_f16_to_f32(s[i]);
    float r = apply(op, a, b);
    d[i] = bf16 ? pzrt_f32_to_bf16(r) : pzrt_f32_to_f16(r);
  }
}

inline void fold(void *dst, const void *src, size_t n, ncclDataType_t t, ncclRedOp_t op) {
  switch (t) {
  case ncclInt8: return foldAs<int8_t, uint8_t>(dst, src, n, op);
  case ncclUint8: return foldAs<uint8_t>(dst, src, n, op);
  case ncclInt32: return foldAs<int32_t, uint32_t>(dst, src, n, op);
  case ncclUint32: return foldAs<uint32_t>(dst, src, n, op);
  case ncclInt64: return foldAs<int64_t, uint64_t>(dst, src, n, op);
  case ncclUint64: return foldAs<uint64_t>(dst, src, n, op);
  case ncclFloat16: return foldHalf(dst, src, n, op, false);
  case ncclBfloat16: return foldHalf(dst, src, n, op, true);
  case ncclFloat32: return foldAs<float>(dst, src, n, op);
  case ncclFloat64: return foldAs<double>(dst, src, n, op);
  default: return; // fp8: refused by fake_nccl.cpp
  }
}

} // namespace pz_emu::fake_nccl

#endif // PZRT_SRC_CUDA_EMU_FAKE_NCCL_FOLD_H
