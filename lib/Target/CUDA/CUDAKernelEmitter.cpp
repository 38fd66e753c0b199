//===- CUDAKernelEmitter.cpp - one kernel of the CUDA backend -------------===//
//
// The launcher of a kernel runs its ops in order on the step's compute
// stream: launches of gather-form kernels and calls of the runtime's CUDA
// kernels. Nothing synchronizes the host, so that a CUDA graph can capture
// the call: an index or divisor check records its failure in the device's
// check word (pz_flag; the driver reads it after the function with
// pzrt_device_check), and the learning rate, step and loss scale are read
// by the kernels from their device slots, dropout's step from the device's
// step word. (Only dropout on a split value reads its indices on the host;
// it ends a capture first.)
//
//===----------------------------------------------------------------------===//

#include "CUDAKernelEmitter.h"

#include "pz/Dialect/PZRT/IR/PZRTDialect.h"
#include "pz/Target/ElementExpr.h"
#include "pz/Target/TargetInfo.h"

#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cuda;

std::string Emitter::cType(Type t) { return cTypeName(t, "__half", "__nv_bfloat16"); }

std::vector<int64_t> Emitter::stridesOf(ArrayRef<int64_t> shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    s[d] = s[d + 1] * shape[d + 1];
  return s;
}

std::string Emitter::store(Type t, const std::string &expr) {
  if (t.isBF16())
    return "pz_to_bf16(" + expr + ")";
  if (t.isF16())
    return "pz_to_f16(" + expr + ")";
  return expr;
}

std::string Emitter::load(Type t, const std::string &expr) {
  if (t.isBF16())
    return "__bfloat162float(" + expr + ")";
  if (t.isF16())
    return "__half2float(" + expr + ")";
  return expr;
}

std::string Emitter::zero(Type t) {
  if (t.isBF16() || t.isF16())
    return store(t, "0.0f");
  return "(" + cType(t) + ")0";
}

std::string Emitter::coords(ArrayRef<int64_t> shape, StringRef idx, StringRef prefix) {
  std::vector<int64_t> st = stridesOf(shape);
  std::string s;
  for (size_t d = 0; d < shape.size(); ++d) {
    std::string c = st[d] == 1 ? idx.str() : "(" + idx.str() + " / " + std::to_string(st[d]) + ")";
    if (shape[d] == 1)
      c = "0";
    else if (d > 0)
      c = c + " % " + std::to_string(shape[d]);
    s += "  int64_t " + prefix.str() + std::to_string(d) + " = " + c + ";\n";
  }
  return s;
}

std::string Emitter::failStmt(Operation *op, StringRef what) const {
  return "return pzrt_set_error(\"%s: " + what.str() + "\", \"" + where(op) + "\");";
}

void Emitter::checkCall(Operation *op, StringRef call) {
  hostOS << "  if (" << call << " != 0) return pz_cuda_fail(\"" << where(op) << "\");\n";
}

std::string Emitter::param(GridKernel &k, Value v, bool isConst) {
  auto it = k.ptr.find(v);
  if (it != k.ptr.end())
    return it->second;
  std::string ty = (isConst ? "const " : "") + typeOf(v) + " *";
  std::string p = param(k, ty + "__restrict__", "(" + ty + ")" + names.lookup(v).first);
  k.ptr[v] = p;
  return p;
}

std::string Emitter::param(GridKernel &k, const std::string &type, const std::string &arg) {
  std::string p = "p" + std::to_string(k.params.size());
  k.params.push_back({type, p});
  k.launchArgs.push_back(arg);
  return p;
}

void Emitter::launch(Operation *op, GridKernel k) {
  std::string name = cName + "_" + std::to_string(nextKernel++);
  if (!k.check.empty()) {
    k.params.push_back({"int *__restrict__", "pz_bad"});
    k.launchArgs.push_back("pz_bad");
    k.params.push_back({"int", "pz_check"});
    k.launchArgs.push_back("pz_check_id");
  }
  std::string params, args;
  for (auto &[ty, p] : k.params) {
    params += ", " + ty + " " + p;
    args += ", " + p;
  }
  os << "__host__ __device__ inline void " << name << "_at(int64_t i" << params << ") {\n"
     << k.body << "}\n";
  os << "__global__ void " << name << "_kernel(int64_t n" << params << ") {\n"
     << "  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;\n"
     << "       i += (int64_t)blockDim.x * gridDim.x)\n"
     << "    " << name << "_at(i" << args << ");\n}\n";
  if (k.n == 0)
    return;
  int64_t blocks = std::min<int64_t>((k.n + 255) / 256, int64_t(1) << 20);
  if (!k.check.empty())
    hostOS << "  {\n";
  if (!k.check.empty())
    checkWord(op, k.check);
  hostOS << "  PZ_LAUNCH(" << blocks << ", 256, 0, stream, " << name << "_kernel)(INT64_C("
         << k.n << ")";
  for (auto &a : k.launchArgs)
    hostOS << ", " << a;
  hostOS << ");\n"
         << "  if (pzrt_cuda_launched(\"" << where(op) << "\")) return -1;\n";
  if (!k.check.empty())
    hostOS << "  }\n";
}

void Emitter::checkWord(Operation *op, StringRef check) {
  hostOS << "  static int pz_check_id = 0;\n"
         << "  int *pz_bad = pzrt_cuda_check_word(ctx, \"" << where(op) << ": " << check
         << "\", &pz_check_id);\n"
         << "  if (!pz_bad) return pz_cuda_fail(\"" << where(op) << "\");\n";
}

/// The module's pzrt.target ("cpu" when a test translates a module planned
/// for the CPU).
static StringRef plannedTarget(func::FuncOp kernel) {
  for (Operation *p = kernel->getParentOp(); p; p = p->getParentOp())
    if (auto t = p->getAttrOfType<StringAttr>(pzrt::PZRTDialect::kTargetAttrName))
      return t.getValue();
  return "cpu";
}

LogicalResult Emitter::emit(func::FuncOp kernel) {
  Block &block = kernel.getBody().front();
  auto ret = llvm::cast<func::ReturnOp>(block.getTerminator());
  int slot = 0;
  auto declare = [&](Value v) -> LogicalResult {
    std::string ty = cType(elementType(v));
    if (ty.empty())
      return kernel.emitError() << "CUDA backend: no CUDA type for " << elementType(v);
    names[v] = {"b[" + std::to_string(slot++) + "]", ty};
    return success();
  };
  for (BlockArgument arg : block.getArguments())
    if (failed(declare(arg)))
      return failure();
  for (Value r : ret.getOperands())
    if (!names.count(r) && failed(declare(r)))
      return failure();
  if (kernel->hasAttr(pzrt::PZRTDialect::kWorkspaceAttrName))
    workspaceVar = "b[" + std::to_string(slot++) + "]";

  StringRef target = plannedTarget(kernel);
  for (Operation &op : block.without_terminator()) {
    // A module planned for another target may have planned another
    // workspace (the CPU widens matmul operands, its attention needs other
    // scratch): the launcher would write past it.
    if (target != "cuda") {
      std::optional<TargetInfo> planned = TargetInfo::get(target);
      if (!planned || planned->workspaceBytes(&op) != TargetInfo::get("cuda")->workspaceBytes(&op))
        return op.emitError() << "CUDA backend: " << op.getName()
                              << " needs the CUDA target's workspace, but the module was "
                                 "planned for '"
                              << target << "' (convert-pz-to-pzrt{target=cuda})";
    }
    if (wasEmitted(&op)) // printed with an earlier op (a GEMM's epilogue)
      continue;
    bool handled = false;
    for (auto fn : {emitMapOp, emitShapeOp, emitReduceOp, emitNNOp, emitTrainingOp}) {
      if (failed(fn(&op, *this, handled)))
        return failure();
      if (handled)
        break;
    }
    if (!handled)
      return op.emitError() << "CUDA backend: " << op.getName() << " is not built yet";
  }

  std::string first = block.without_terminator().empty()
                          ? where(kernel)
                          : where(&*block.without_terminator().begin());
  os << "static int " << cName << "(pzrt_step_ctx *ctx, void *const *b) {\n"
     << "  (void)b;\n";
  if (hostText.empty()) {
    os << "  (void)ctx;\n  return 0;\n}\n\n";
    return success();
  }
  os << "  cudaStream_t stream = (cudaStream_t)pzrt_cuda_compute_stream(ctx);\n"
     << "  if (!stream) return pzrt_set_error(\"%s: %s\", \"" << first
     << "\", pzrt_last_error());\n"
     << "  cudaError_t err;\n  (void)err;\n";
  os << hostText << "  return 0;\n}\n\n";
  return success();
}
