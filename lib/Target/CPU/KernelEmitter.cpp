//===- KernelEmitter.cpp - one kernel of the CPU backend as C++ -----------===//

#include "KernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Dialect/PZRT/IR/PZRTDialect.h"
#include "pz/Target/ElementExpr.h"
#include "pz/Target/TargetInfo.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cpp;

std::string KernelEmitter::cType(Type t) { return cTypeName(t, "pzrt::f16", "pzrt::bf16"); }

std::vector<int64_t> KernelEmitter::stridesOf(ArrayRef<int64_t> shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    s[d] = s[d + 1] * shape[d + 1];
  return s;
}

std::vector<int64_t> KernelEmitter::broadcastStrides(ArrayRef<int64_t> in,
                                                       ArrayRef<int64_t> out) {
  std::vector<int64_t> inStrides = stridesOf(in);
  std::vector<int64_t> s(out.size(), 0);
  size_t lead = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d)
    s[lead + d] = in[d] == 1 && out[lead + d] != 1 ? 0 : inStrides[d];
  return s;
}

std::string KernelEmitter::failStmt(Operation *op, StringRef what) const {
  return "return pzrt_set_error(\"%s: " + what.str() + "\", \"" + where(op) + "\");";
}

std::string KernelEmitter::failStmt(Operation *op, StringRef fmt, StringRef args) const {
  return "return pzrt_set_error(\"%s: " + fmt.str() + "\", \"" + where(op) + "\", " +
         args.str() + ");";
}

void KernelEmitter::checkCall(Operation *op, StringRef call) {
  os << "    if (" << call << " != 0) return pz_fail(\"" << where(op) << "\");\n";
}

void KernelEmitter::declare(Value v, const std::string &expr) {
  std::string var = "v" + std::to_string(nextId++);
  std::string ty = cType(elementType(v));
  os << "  " << ty << " *" << var << " = (" << ty << " *)(" << expr << ");";
  if (auto r = llvm::dyn_cast<OpResult>(v)) {
    std::string w = where(r.getOwner());
    os << " // " << w;
  }
  os << "\n";
  names[v] = var;
}

void KernelEmitter::emitStridedLoop(
    ArrayRef<int64_t> dims, std::vector<StridedRef> refs,
    const std::function<std::string(ArrayRef<std::string>)> &body) {
  // Collapse dim d into d+1 when every ref steps over d as one block of d+1.
  std::vector<int64_t> size(dims.begin(), dims.end());
  std::vector<std::vector<int64_t>> st;
  for (auto &r : refs)
    st.push_back(r.strides);
  std::vector<int64_t> cs;
  std::vector<std::vector<int64_t>> cst(refs.size());
  for (size_t d = 0; d < size.size(); ++d) {
    if (size[d] == 1)
      continue;
    bool merge = !cs.empty();
    for (size_t k = 0; merge && k < refs.size(); ++k)
      merge = cst[k].back() == st[k][d] * size[d];
    if (merge) {
      cs.back() *= size[d];
      for (size_t k = 0; k < refs.size(); ++k)
        cst[k].back() = st[k][d];
      continue;
    }
    cs.push_back(size[d]);
    for (size_t k = 0; k < refs.size(); ++k)
      cst[k].push_back(st[k][d]);
  }
  for (int64_t s : dims)
    if (s == 0)
      return; // empty domain
  os << "    {\n";
  for (size_t d = 0; d < cs.size(); ++d)
    os << std::string(6 + 2 * d, ' ') << "for (int64_t i" << d << " = 0; i" << d
       << " < " << cs[d] << "; ++i" << d << ")\n";
  std::vector<std::string> idx;
  for (size_t k = 0; k < refs.size(); ++k) {
    std::string e = std::to_string(refs[k].base);
    for (size_t d = 0; d < cs.size(); ++d) {
      if (cst[k][d] == 0)
        continue;
      e += " + i" + std::to_string(d);
      if (cst[k][d] != 1)
        e += " * " + std::to_string(cst[k][d]);
    }
    idx.push_back(refs[k].ptr + "[" + e + "]");
  }
  os << std::string(6 + 2 * cs.size(), ' ') << body(idx) << "\n    }\n";
}

LogicalResult KernelEmitter::emit(func::FuncOp kernel, StringRef cName) {
  Block &body = kernel.getBody().front();
  auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
  os << "static int " << cName << "(pzrt_step_ctx *ctx, void *const *b) {\n  (void)ctx;\n";
  int slot = 0;
  for (BlockArgument arg : body.getArguments())
    declare(arg, "b[" + std::to_string(slot++) + "]");
  for (Value r : ret.getOperands())
    declare(r, "b[" + std::to_string(slot++) + "]");
  if (kernel->hasAttr(pzrt::PZRTDialect::kWorkspaceAttrName))
    workspaceVar = "b[" + std::to_string(slot++) + "]";
  for (Operation &op : body.without_terminator())
    if (failed(emitOp(&op, *this)))
      return failure();
  os << "  return 0;\n}\n\n";
  return success();
}

int64_t KernelEmitter::storageBytes(Type elementType) {
  return TargetInfo::get("cpu")->storageBytes(elementType);
}
