//===- CUDADeviceEmitter.cpp - the CUDA backend's device code -------------===//
//
// Element maps and pz.fused loops become grid-stride __global__ kernels
// (docs/design/0018-cuda-backend.md, decision 2). Each op of a kernel
// function gives
//   __host__ __device__ inline void CNAME_<k>_at(int64_t i, <pointers>)
// computing element i (flat, row-major) of its result or loop domain, with
// broadcast operands read through their strides; a __global__ kernel whose
// grid-stride loop calls it; and CNAME launches the kernels in order on the
// step's compute stream. The scalar expressions are the CPU backend's
// (pz/Target/ElementExpr.h); 16-bit floats are __nv_bfloat16 / __half,
// read as float and rounded once per op (pz_to_bf16 / pz_to_f16).
//
// Every other op is an error naming it: "CUDA backend: <op> is not built
// yet". Constants are __device__ arrays, 16-bit floats as their bits.
//
//===----------------------------------------------------------------------===//

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"
#include "pz/Target/CSource.h"
#include "pz/Target/ElementExpr.h"
#include "pz/Target/Emitter.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::pz;

namespace {

std::string cudaType(Type t) { return cTypeName(t, "__half", "__nv_bfloat16"); }

const ElementExprStyle &cudaStyle() {
  static const ElementExprStyle s{cudaType, true};
  return s;
}

Type elementTypeOf(Value v) { return getElementTypeOrSelf(v.getType()); }

ArrayRef<int64_t> shapeOf(Value v) { return llvm::cast<ShapedType>(v.getType()).getShape(); }

std::vector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    s[d] = s[d + 1] * shape[d + 1];
  return s;
}

/// The flat index into an operand of shape `in` (numpy-broadcast to `out`)
/// of the element at flat index i of `out`.
std::string broadcastIndex(ArrayRef<int64_t> in, ArrayRef<int64_t> out) {
  if (in == out)
    return "i";
  std::vector<int64_t> inStrides = stridesOf(in), outStrides = stridesOf(out);
  size_t lead = out.size() - in.size();
  std::string e;
  for (size_t d = 0; d < in.size(); ++d) {
    if (in[d] == 1)
      continue; // broadcast (or a dim of 1): coordinate 0
    int64_t od = lead + d;
    std::string coord =
        outStrides[od] == 1 ? "i" : "(i / " + std::to_string(outStrides[od]) + ")";
    if (od > 0)
      coord = "(" + coord + " % " + std::to_string(out[od]) + ")";
    e += (e.empty() ? "" : " + ") + coord;
    if (inStrides[d] != 1)
      e += " * " + std::to_string(inStrides[d]);
  }
  return e.empty() ? "0" : e;
}

/// Rounds a compute-type (float) expression to the stored type.
std::string store(Type t, const std::string &expr) {
  if (t.isBF16())
    return "pz_to_bf16(" + expr + ")";
  if (t.isF16())
    return "pz_to_f16(" + expr + ")";
  return expr;
}

int64_t numel(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    n *= s;
  return n;
}

class CUDADeviceEmitter : public DeviceEmitter {
public:
  StringRef name() const override { return "CUDA backend"; }
  StringRef mainPrefix() const override { return "pzrt_cuda_"; }

  std::string prelude() const override {
    return R"PZ(#include <pzrt/cuda.h>
#include <pzrt/error.h>
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

// One rounding to a 16-bit float, as pzrt/half.h rounds on the CPU: a float
// rounds to nearest even; a double (or an integer, through double) goes to
// float rounded to odd first, which cannot change the second rounding.
__host__ __device__ inline float pz_round_to_odd(double x) {
  float f = (float)x;
  if ((double)f == x || x != x || isinf(f))
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

  LogicalResult emitKernel(func::FuncOp kernel, StringRef cName, raw_ostream &os) override;
  FailureOr<std::string> emitGlobal(memref::GlobalOp g, StringRef cName,
                                    raw_ostream &os) override;
};

/// One op of a kernel: its pointers and the body of its _at function.
struct OpKernel {
  std::string name;
  std::vector<std::pair<std::string, std::string>> params; // type, name
  std::vector<std::string> launchArgs;
  std::string body;
  int64_t n = 0;
};

} // namespace

LogicalResult CUDADeviceEmitter::emitKernel(func::FuncOp kernel, StringRef cName,
                                            raw_ostream &os) {
  Block &block = kernel.getBody().front();
  auto ret = llvm::cast<func::ReturnOp>(block.getTerminator());
  // b[] slot of each value the kernel's ops read or write.
  llvm::DenseMap<Value, int> slot;
  int next = 0;
  for (BlockArgument arg : block.getArguments())
    slot[arg] = next++;
  for (Value r : ret.getOperands())
    if (!slot.count(r))
      slot[r] = next++;

  std::vector<OpKernel> ops;
  for (Operation &op : block.without_terminator()) {
    auto fused = llvm::dyn_cast<FusedOp>(&op);
    bool map = op.hasTrait<traits::ElementMap>() && hasElementExpr(&op);
    if (!fused && !map)
      return op.emitError() << "CUDA backend: " << op.getName() << " is not built yet";
    OpKernel k;
    k.name = cName.str() + "_" + std::to_string(ops.size());
    // Pointers: results first, then operands (as the CPU emitter's refs).
    llvm::DenseMap<Value, std::string> ptr;
    auto param = [&](Value v, bool isConst) -> LogicalResult {
      if (ptr.count(v))
        return success();
      auto it = slot.find(v);
      if (it == slot.end())
        return op.emitError() << "CUDA backend: a value of " << op.getName()
                              << " is neither an argument nor a result of the kernel";
      std::string ty = cudaType(elementTypeOf(v));
      if (ty.empty())
        return op.emitError() << "CUDA backend: no CUDA type for " << elementTypeOf(v);
      std::string p = "p" + std::to_string(k.params.size());
      k.params.push_back({(isConst ? "const " : "") + ty + " *__restrict__", p});
      k.launchArgs.push_back("(" + std::string(isConst ? "const " : "") + ty + " *)b[" +
                             std::to_string(it->second) + "]");
      ptr[v] = p;
      return success();
    };
    for (Value r : op.getResults())
      if (failed(param(r, false)))
        return failure();
    for (Value v : op.getOperands())
      if (failed(param(v, true)))
        return failure();
    if (fused) {
      ArrayRef<int64_t> domain = fused.getDomain();
      Block &body = fused.getBody().front();
      auto yield = llvm::cast<YieldOp>(body.getTerminator());
      llvm::DenseMap<Value, std::string> scalar;
      for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
        Value in = fused.getInputs()[i];
        scalar[arg] = ptr[in] + "[" + broadcastIndex(shapeOf(in), domain) + "]";
      }
      int t = 0;
      for (Operation &inner : body.without_terminator()) {
        if (!hasElementExpr(&inner))
          return inner.emitError() << "CUDA backend: " << inner.getName()
                                   << " is not built yet";
        if (isIntegerDiv(&inner))
          return inner.emitError() << "CUDA backend: integer division (its zero-divisor "
                                      "check) is not built yet";
        std::vector<std::string> args;
        for (Value v : inner.getOperands())
          args.push_back(scalar.lookup(v));
        Type et = elementTypeOf(inner.getResult(0));
        std::string name = "t" + std::to_string(t++);
        k.body += "  " + cudaType(et) + " " + name + " = " +
                  store(et, elementExpr(&inner, args, cudaStyle())) + ";\n";
        scalar[inner.getResult(0)] = name;
      }
      for (auto [i, v] : llvm::enumerate(yield.getValues()))
        k.body += "  " + ptr[fused.getResult(i)] + "[i] = " + scalar.lookup(v) + ";\n";
      k.n = numel(domain);
    } else {
      if (isIntegerDiv(&op))
        return op.emitError() << "CUDA backend: integer division (its zero-divisor check) "
                                 "is not built yet";
      Value r = op.getResult(0);
      ArrayRef<int64_t> out = shapeOf(r);
      std::vector<std::string> args;
      for (Value v : op.getOperands())
        args.push_back(ptr[v] + "[" + broadcastIndex(shapeOf(v), out) + "]");
      k.body = "  " + ptr[r] + "[i] = " +
               store(elementTypeOf(r), elementExpr(&op, args, cudaStyle())) + ";\n";
      k.n = numel(out);
    }
    ops.push_back(std::move(k));
  }

  for (OpKernel &k : ops) {
    std::string params, names;
    for (auto &[ty, p] : k.params) {
      params += ", " + ty + " " + p;
      names += ", " + p;
    }
    os << "__host__ __device__ inline void " << k.name << "_at(int64_t i" << params << ") {\n"
       << k.body << "}\n";
    os << "__global__ void " << k.name << "_kernel(int64_t n" << params << ") {\n"
       << "  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;\n"
       << "       i += (int64_t)blockDim.x * gridDim.x)\n"
       << "    " << k.name << "_at(i" << names << ");\n}\n";
  }
  std::string where = csrc::where(block.without_terminator().empty()
                                      ? kernel.getOperation()
                                      : &*block.without_terminator().begin());
  os << "static int " << cName << "(pzrt_step_ctx *ctx, void *const *b) {\n"
     << "  (void)b;\n";
  if (!ops.empty())
    os << "  cudaStream_t stream = (cudaStream_t)pzrt_cuda_compute_stream(ctx);\n"
       << "  if (!stream) return pzrt_set_error(\"%s: %s\", \"" << where
       << "\", pzrt_last_error());\n"
       << "  cudaError_t err;\n";
  else
    os << "  (void)ctx;\n";
  for (OpKernel &k : ops) {
    if (k.n == 0)
      continue;
    int64_t blocks = std::min<int64_t>((k.n + 255) / 256, int64_t(1) << 20);
    os << "  " << k.name << "_kernel<<<" << blocks << ", 256, 0, stream>>>(INT64_C(" << k.n
       << ")";
    for (auto &a : k.launchArgs)
      os << ", " << a;
    os << ");\n"
       << "  err = cudaGetLastError();\n"
       << "  if (err != cudaSuccess) return pzrt_set_error(\"%s: kernel launch: %s (%s)\", \""
       << where << "\", cudaGetErrorString(err), cudaGetErrorName(err));\n";
  }
  os << "  return 0;\n}\n\n";
  return success();
}

FailureOr<std::string> CUDADeviceEmitter::emitGlobal(memref::GlobalOp g, StringRef cName,
                                                     raw_ostream &os) {
  auto attr = llvm::dyn_cast_or_null<DenseElementsAttr>(g.getInitialValueAttr());
  if (!attr)
    return g.emitError() << "CUDA backend: constant is not dense elements";
  Type et = attr.getElementType();
  bool half = et.isF16() || et.isBF16();
  std::string ty = half ? "uint16_t" : cudaType(et);
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
