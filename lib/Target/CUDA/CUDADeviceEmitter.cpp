//===- CUDADeviceEmitter.cpp - the CUDA backend's device code -------------===//
//
// The @kernels module as CUDA C++ (docs/design/0018-cuda-backend.md,
// decision 2): the prelude every program shares, constants as __device__
// arrays (16-bit floats as their bits), and one launcher per kernel
// (CUDAKernelEmitter). The printed source compiles with nvcc and, with
// -DPZ_CUDA_EMULATE, with a host C++ compiler (pzrt/cuda_prelude.h).
//
//===----------------------------------------------------------------------===//

#include "CUDAKernelEmitter.h"

#include "pz/Target/Emitter.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::pz;

namespace {

class CUDADeviceEmitter : public DeviceEmitter {
public:
  StringRef name() const override { return "CUDA backend"; }
  StringRef mainPrefix() const override { return "pzrt_cuda_"; }

  std::string prelude() const override {
    return R"PZ(#include <pzrt/cuda_prelude.h>
#include <pzrt/cuda.h>
#include <pzrt/cuda_kernels.h>
#include <pzrt/error.h>
#include <pzrt/exec.h>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

// One rounding to a 16-bit float, as pzrt/half.h rounds on the CPU: a float
// rounds to nearest even; a double (or an integer, through double) goes to
// float rounded to odd first, which cannot change the second rounding.
__host__ __device__ inline float pz_round_to_odd(double x) {
  float f = (float)x;
  if ((double)f == x || x != x || std::isinf(f))
    return f;
  uint32_t bits;
  memcpy(&bits, &f, 4);
  if (bits & 1u)
    return f;
  return nextafterf(f, x > (double)f ? INFINITY : -INFINITY);
}
template <class T> __host__ __device__ inline __nv_bfloat16 pz_to_bf16(T x) {
  if constexpr (std::is_same_v<T, __nv_bfloat16>)
    return x;
  else if constexpr (std::is_same_v<T, __half>)
    return __float2bfloat16_rn(__half2float(x));
  else if constexpr (std::is_same_v<T, float>)
    return __float2bfloat16_rn(x);
  else
    return __float2bfloat16_rn(pz_round_to_odd((double)x));
}
template <class T> __host__ __device__ inline __half pz_to_f16(T x) {
  if constexpr (std::is_same_v<T, __half>)
    return x;
  else if constexpr (std::is_same_v<T, __nv_bfloat16>)
    return __float2half_rn(__bfloat162float(x));
  else if constexpr (std::is_same_v<T, float>)
    return __float2half_rn(x);
  else
    return __float2half_rn(pz_round_to_odd((double)x));
}
// Scatter-adds: atomic on the device (so their order, and the last bits of
// a float sum, vary from run to run); in order on the host, where the
// emulator runs a block's threads one at a time and the host check runs
// element after element, so the sums are the CPU backend's.
__host__ __device__ inline void pz_atomic_add(float *p, float v) {
#if defined(__CUDA_ARCH__)
  atomicAdd(p, v);
#else
  *p += v;
#endif
}
// The error of a failed runtime call, prefixed with the op's name.
static inline int pz_cuda_fail(const char *where) {
  return pzrt_set_error("%s: %s", where, pzrt_last_error());
}
// The host address of a __device__ constant (NULL with a pzrt error).
template <class T> static void *pz_device_symbol(const T &symbol, const char *name) {
  void *p = nullptr;
  cudaError_t err = cudaGetSymbolAddress(&p, symbol);
  if (err != cudaSuccess) {
    pzrt_set_error("cudaGetSymbolAddress(%s): %s (%s)", name, cudaGetErrorString(err),
                   cudaGetErrorName(err));
    return nullptr;
  }
  return p;
}
)PZ";
  }

  LogicalResult emitKernel(func::FuncOp kernel, StringRef cName, raw_ostream &os) override {
    cuda::CUDAKernelEmitter e(os, cName);
    return e.emit(kernel);
  }
  FailureOr<std::string> emitGlobal(memref::GlobalOp g, StringRef cName,
                                    raw_ostream &os) override;
};

} // namespace

FailureOr<std::string> CUDADeviceEmitter::emitGlobal(memref::GlobalOp g, StringRef cName,
                                                     raw_ostream &os) {
  auto attr = llvm::dyn_cast_or_null<DenseElementsAttr>(g.getInitialValueAttr());
  if (!attr)
    return g.emitError() << "CUDA backend: constant is not dense elements";
  Type et = attr.getElementType();
  bool half = et.isF16() || et.isBF16();
  std::string ty = half ? "uint16_t" : cuda::CUDAKernelEmitter::cType(et);
  if (ty.empty())
    return g.emitError() << "CUDA backend: no CUDA type for " << et;
  int64_t n = attr.getNumElements();
  auto literal = [&](int64_t i) -> std::string {
    if (half) { // the bits: a __device__ array has no dynamic initializer
      APFloat v =
          attr.isSplat() ? attr.getSplatValue<APFloat>() : *(attr.value_begin<APFloat>() + i);
      return "0x" + llvm::utohexstr(v.bitcastToAPInt().getZExtValue());
    }
    return csrc::elementLiteral(attr, i);
  };
  os << "__device__ " << ty << " " << cName << "[" << std::max<int64_t>(n, 1) << "] = {";
  for (int64_t i = 0; i < n; ++i)
    os << (i ? (i % 8 ? ", " : ",\n  ") : "") << literal(i);
  os << "};\n";
  return "pz_device_symbol(" + cName.str() + ", \"" + cName.str() + "\")";
}

std::unique_ptr<DeviceEmitter> mlir::pz::createCUDADeviceEmitter() {
  return std::make_unique<CUDADeviceEmitter>();
}
