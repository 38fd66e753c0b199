/* pzrt/cuda_emulate.h - the host emulator's side of the kernel prelude
 * (pzrt/cuda_prelude.h includes it when PZ_CUDA_EMULATE is defined).
 *
 * A kernel source compiled by a host C++ compiler runs on the host: a
 * launch runs its blocks one after another, and the threads of a block as
 * cooperative fibers on one OS thread (runtime/src/cuda/emu/scheduler.cpp),
 * so that __syncthreads and the warp shuffles have CUDA's meaning. The
 * built-in variables are globals that the scheduler sets on every switch
 * (not thread_local: the fibers share one OS thread). Atomics are plain
 * read-modify-writes: a fiber only yields at a barrier, never inside one.
 * docs/design/0019-cuda-emulation.md says what this proves and what not.
 */
#ifndef PZRT_CUDA_EMULATE_H
#define PZRT_CUDA_EMULATE_H

#include <cuda_runtime.h>

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <tuple>
#include <type_traits>
#include <utility>

/* The CUDA headers define the execution-space and memory-space keywords as
 * nothing for a host compiler. __shared__ must be `static` instead: blocks
 * run one after another, so one static object is every block's shared
 * memory, and all the fibers of a block see the same one. */
#undef __shared__
#define __shared__ static
#undef __global__
#define __global__
#undef __device__
#define __device__
#undef __host__
#define __host__
#undef __constant__
#define __constant__
#undef __managed__
#define __managed__
#ifndef __launch_bounds__
#define __launch_bounds__(...)
#endif

namespace pz_emu {

// The built-in variables of the running fiber, set by the scheduler.
extern uint3 g_threadIdx;
extern uint3 g_blockIdx;
extern dim3 g_blockDim;
extern dim3 g_gridDim;

void syncthreads(const char *file, int line);
// __syncthreads_count: the number of threads whose `pred` is nonzero.
int syncthreadsCount(int pred, const char *file, int line);
// Writes `bytes` of `value` into this lane's slot of the warp's exchange
// buffer, waits for every lane of the warp (checking that `mask` names
// them all), and returns the buffer: 32 slots of kSlotBytes.
constexpr size_t kSlotBytes = 16;
const unsigned char *warpExchange(const void *value, size_t bytes, unsigned mask,
                                  const char *op, const char *file, int line);
void syncwarp(unsigned mask, const char *file, int line);
unsigned laneId();
void *dynamicShared();

// A launch: checks the configuration as CUDA does (a bad one sets the
// error of cudaGetLastError and runs nothing), then runs `body` in every
// thread of every block, or records it when `stream` is capturing.
void launch(const char *name, dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t stream,
            const void *kernel, std::function<void()> body);

template <class... P> class Launcher {
public:
  Launcher(const char *name, dim3 grid, dim3 block, size_t sharedBytes, cudaStream_t stream,
           void (*kernel)(P...))
      : name_(name), grid_(grid), block_(block), shared_(sharedBytes), stream_(stream),
        kernel_(kernel) {}

  template <class... A> void operator()(A &&...args) const {
    static_assert(sizeof...(A) == sizeof...(P), "a kernel launch with the wrong argument count");
    // The arguments are converted to the parameter types once, as CUDA
    // copies them into the launch; each thread gets its own copy (a kernel
    // may modify its by-value parameters).
    auto params = std::make_shared<std::tuple<std::decay_t<P>...>>(std::forward<A>(args)...);
    void (*kernel)(P...) = kernel_;
    launch(name_, grid_, block_, shared_, stream_, reinterpret_cast<const void *>(kernel),
           [params, kernel] { std::apply(kernel, std::tuple<std::decay_t<P>...>(*params)); });
  }

private:
  const char *name_;
  dim3 grid_, block_;
  size_t shared_;
  cudaStream_t stream_;
  void (*kernel_)(P...);
};

template <class... P>
Launcher<P...> launcher(const char *name, dim3 grid, dim3 block, size_t sharedBytes,
                        cudaStream_t stream, void (*kernel)(P...)) {
  return Launcher<P...>(name, grid, block, sharedBytes, stream, kernel);
}

} // namespace pz_emu

/* The C++ overloads that cuda_runtime.h declares for nvcc only: a kernel or
 * a __device__ variable given by name, as kernel sources pass them. */
template <class T> cudaError_t cudaFuncSetAttribute(T *func, cudaFuncAttribute attr, int value) {
  return ::cudaFuncSetAttribute(reinterpret_cast<const void *>(func), attr, value);
}
template <class T> cudaError_t cudaFuncGetAttributes(cudaFuncAttributes *attr, T *func) {
  return ::cudaFuncGetAttributes(attr, reinterpret_cast<const void *>(func));
}
template <class T> cudaError_t cudaGetSymbolAddress(void **devPtr, const T &symbol) {
  return ::cudaGetSymbolAddress(devPtr, static_cast<const void *>(&symbol));
}
template <class T> cudaError_t cudaGetSymbolSize(size_t *size, const T &) {
  *size = sizeof(T);
  return cudaSuccess;
}
template <class T>
cudaError_t cudaMemcpyToSymbol(const T &symbol, const void *src, size_t count, size_t offset = 0,
                               cudaMemcpyKind kind = cudaMemcpyHostToDevice) {
  return ::cudaMemcpyToSymbol(static_cast<const void *>(&symbol), src, count, offset, kind);
}
template <class T>
cudaError_t cudaMemcpyFromSymbol(void *dst, const T &symbol, size_t count, size_t offset = 0,
                                 cudaMemcpyKind kind = cudaMemcpyDeviceToHost) {
  return ::cudaMemcpyFromSymbol(dst, static_cast<const void *>(&symbol), count, offset, kind);
}

namespace pz_emu {

template <class T>
T shuffle(unsigned mask, T value, int width, int srcOfLane(int lane, int w, int arg), int arg,
          const char *op, const char *file, int line) {
  static_assert(sizeof(T) <= kSlotBytes, "__shfl_*_sync of a type wider than 16 bytes");
  static_assert(std::is_trivially_copyable<T>::value, "__shfl_*_sync of a non-trivial type");
  const unsigned char *slots = warpExchange(&value, sizeof(T), mask, op, file, line);
  int lane = static_cast<int>(laneId());
  int src = srcOfLane(lane, width, arg);
  T out;
  std::memcpy(&out, slots + static_cast<size_t>(src) * kSlotBytes, sizeof(T));
  return out;
}

// Source lanes as PTX shfl computes them, within segments of `width` lanes:
// a lane whose source lies outside its segment keeps its own value.
inline int srcIdx(int lane, int w, int src) { return (lane & ~(w - 1)) + (src & (w - 1)); }
inline int srcUp(int lane, int w, int delta) {
  return (lane & (w - 1)) >= delta ? lane - delta : lane;
}
inline int srcDown(int lane, int w, int delta) {
  return (lane & (w - 1)) + delta < w ? lane + delta : lane;
}
inline int srcXor(int lane, int w, int laneMask) {
  int src = lane ^ laneMask;
  return (src & ~(w - 1)) == (lane & ~(w - 1)) ? src : lane;
}

} // namespace pz_emu

#define threadIdx (static_cast<const uint3 &>(::pz_emu::g_threadIdx))
#define blockIdx (static_cast<const uint3 &>(::pz_emu::g_blockIdx))
#define blockDim (static_cast<const dim3 &>(::pz_emu::g_blockDim))
#define gridDim (static_cast<const dim3 &>(::pz_emu::g_gridDim))
/* A variable, not a macro: cudaDeviceProp has a member of that name. */
constexpr int warpSize = 32;

#define __syncthreads() ::pz_emu::syncthreads(__FILE__, __LINE__)
#define __syncthreads_count(pred) ::pz_emu::syncthreadsCount((pred) ? 1 : 0, __FILE__, __LINE__)
#define __syncthreads_and(pred)                                                                    \
  (::pz_emu::syncthreadsCount((pred) ? 1 : 0, __FILE__, __LINE__) ==                              \
   static_cast<int>(blockDim.x * blockDim.y * blockDim.z))
#define __syncthreads_or(pred) (::pz_emu::syncthreadsCount((pred) ? 1 : 0, __FILE__, __LINE__) != 0)
#define __syncwarp(...) ::pz_emu::syncwarp(::pz_emu::maskOr(__VA_ARGS__), __FILE__, __LINE__)
#define __shfl_sync(mask, var, ...)                                                                \
  ::pz_emu::shuffle((mask), (var), ::pz_emu::widthOr(__VA_ARGS__), ::pz_emu::srcIdx,              \
                    ::pz_emu::firstOf(__VA_ARGS__), "__shfl_sync", __FILE__, __LINE__)
#define __shfl_up_sync(mask, var, ...)                                                             \
  ::pz_emu::shuffle((mask), (var), ::pz_emu::widthOr(__VA_ARGS__), ::pz_emu::srcUp,               \
                    ::pz_emu::firstOf(__VA_ARGS__), "__shfl_up_sync", __FILE__, __LINE__)
#define __shfl_down_sync(mask, var, ...)                                                           \
  ::pz_emu::shuffle((mask), (var), ::pz_emu::widthOr(__VA_ARGS__), ::pz_emu::srcDown,             \
                    ::pz_emu::firstOf(__VA_ARGS__), "__shfl_down_sync", __FILE__, __LINE__)
#define __shfl_xor_sync(mask, var, ...)                                                            \
  ::pz_emu::shuffle((mask), (var), ::pz_emu::widthOr(__VA_ARGS__), ::pz_emu::srcXor,              \
                    ::pz_emu::firstOf(__VA_ARGS__), "__shfl_xor_sync", __FILE__, __LINE__)
#define __ballot_sync(mask, pred) ::pz_emu::ballot((mask), (pred), __FILE__, __LINE__)
#define __any_sync(mask, pred) (::pz_emu::ballot((mask), (pred), __FILE__, __LINE__) != 0u)
#define __all_sync(mask, pred)                                                                     \
  (::pz_emu::ballot((mask), !(pred), __FILE__, __LINE__) == 0u)

namespace pz_emu {
// The optional trailing arguments of the warp intrinsics.
inline unsigned maskOr() { return 0xffffffffu; }
inline unsigned maskOr(unsigned mask) { return mask; }
inline int firstOf(int arg, int = 32) { return arg; }
inline int widthOr(int, int width = 32) { return width; }

inline unsigned ballot(unsigned mask, bool pred, const char *file, int line) {
  int mine = pred ? 1 : 0;
  const unsigned char *slots = warpExchange(&mine, sizeof mine, mask, "__ballot_sync", file, line);
  unsigned out = 0;
  for (int lane = 0; lane < 32; ++lane) {
    int v;
    std::memcpy(&v, slots + static_cast<size_t>(lane) * kSlotBytes, sizeof v);
    if (v && (mask >> lane & 1u))
      out |= 1u << lane;
  }
  return out;
}
} // namespace pz_emu

/* Atomics: no other fiber runs between the read and the write. */
#define PZ_EMU_ATOMIC_RMW(fn, T, expr)                                                             \
  inline T fn(T *address, T val) {                                                                 \
    T old = *address;                                                                              \
    *address = (expr);                                                                             \
    return old;                                                                                    \
  }
#define PZ_EMU_ATOMIC_INTEGERS(fn, expr)                                                           \
  PZ_EMU_ATOMIC_RMW(fn, int, expr)                                                                 \
  PZ_EMU_ATOMIC_RMW(fn, unsigned int, expr)                                                        \
  PZ_EMU_ATOMIC_RMW(fn, unsigned long long, expr)                                                  \
  PZ_EMU_ATOMIC_RMW(fn, long long, expr)
PZ_EMU_ATOMIC_INTEGERS(atomicAdd, old + val)
PZ_EMU_ATOMIC_RMW(atomicAdd, float, old + val)
PZ_EMU_ATOMIC_RMW(atomicAdd, double, old + val)
PZ_EMU_ATOMIC_RMW(atomicAdd, __half, __float2half(__half2float(old) + __half2float(val)))
PZ_EMU_ATOMIC_RMW(atomicAdd, __nv_bfloat16,
                  __float2bfloat16(__bfloat162float(old) + __bfloat162float(val)))
PZ_EMU_ATOMIC_RMW(atomicSub, int, old - val)
PZ_EMU_ATOMIC_RMW(atomicSub, unsigned int, old - val)
PZ_EMU_ATOMIC_INTEGERS(atomicExch, val)
PZ_EMU_ATOMIC_RMW(atomicExch, float, val)
PZ_EMU_ATOMIC_INTEGERS(atomicMax, old < val ? val : old)
PZ_EMU_ATOMIC_INTEGERS(atomicMin, val < old ? val : old)
PZ_EMU_ATOMIC_INTEGERS(atomicAnd, old &val)
PZ_EMU_ATOMIC_INTEGERS(atomicOr, old | val)
PZ_EMU_ATOMIC_INTEGERS(atomicXor, old ^ val)
PZ_EMU_ATOMIC_RMW(atomicInc, unsigned int, old >= val ? 0u : old + 1u)
PZ_EMU_ATOMIC_RMW(atomicDec, unsigned int, (old == 0u || old > val) ? val : old - 1u)
#undef PZ_EMU_ATOMIC_INTEGERS
#undef PZ_EMU_ATOMIC_RMW
#define PZ_EMU_ATOMIC_CAS(T)                                                                       \
  inline T atomicCAS(T *address, T compare, T val) {                                               \
    T old = *address;                                                                              \
    if (old == compare)                                                                            \
      *address = val;                                                                              \
    return old;                                                                                    \
  }
PZ_EMU_ATOMIC_CAS(int)
PZ_EMU_ATOMIC_CAS(unsigned int)
PZ_EMU_ATOMIC_CAS(unsigned long long)
PZ_EMU_ATOMIC_CAS(unsigned short)
#undef PZ_EMU_ATOMIC_CAS

/* Loads, fences and intrinsic functions. The fast-math intrinsics are the
 * host's exact functions: the GPU's approximations are not emulated. */
template <class T> inline T __ldg(const T *p) { return *p; }
inline void __threadfence() {}
inline void __threadfence_block() {}
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __log2f(float x) { return std::log2(x); }
inline float __sinf(float x) { return std::sin(x); }
inline float __cosf(float x) { return std::cos(x); }
inline float __tanf(float x) { return std::tan(x); }
inline float __powf(float x, float y) { return std::pow(x, y); }
inline float __fdividef(float x, float y) { return x / y; }
inline float fdividef(float x, float y) { return x / y; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return std::sqrt(x); }
inline float __fmaf_rn(float x, float y, float z) { return std::fma(x, y, z); }
inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : x > 0.0f ? x : 0.0f; } // NaN -> 0
inline int __float_as_int(float x) {
  int i;
  std::memcpy(&i, &x, sizeof i);
  return i;
}
inline unsigned __float_as_uint(float x) {
  unsigned u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
inline float __int_as_float(int i) {
  float x;
  std::memcpy(&x, &i, sizeof x);
  return x;
}
inline float __uint_as_float(unsigned u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
/* CUDA's global min and max for arithmetic types, of the common type. */
template <class A, class B,
          class = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> min(A a, B b) {
  using T = std::common_type_t<A, B>;
  return static_cast<T>(b) < static_cast<T>(a) ? static_cast<T>(b) : static_cast<T>(a);
}
template <class A, class B,
          class = std::enable_if_t<std::is_arithmetic<A>::value && std::is_arithmetic<B>::value>>
inline std::common_type_t<A, B> max(A a, B b) {
  using T = std::common_type_t<A, B>;
  return static_cast<T>(a) < static_cast<T>(b) ? static_cast<T>(b) : static_cast<T>(a);
}
inline int __popc(unsigned x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x == 0 ? 32 : __builtin_clz(static_cast<unsigned>(x)); }
inline int __ffs(int x) { return __builtin_ffs(x); }

#endif /* PZRT_CUDA_EMULATE_H */
