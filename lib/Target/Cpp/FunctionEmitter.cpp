//===- FunctionEmitter.cpp - one step function as C++ ---------------------===//

#include "FunctionEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Target/Cpp/CppEmitter.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Format.h"

#include <cmath>
#include <cstdio>

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cpp;

std::string cpp::floatLiteral(double v, bool isFloat) {
  if (std::isnan(v))
    return isFloat ? "NAN" : "(double)NAN";
  if (std::isinf(v))
    return std::string(v < 0 ? "-" : "") + (isFloat ? "INFINITY" : "(double)INFINITY");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a%s", v, isFloat ? "f" : "");
  return buf;
}

std::string cpp::intList(ArrayRef<int64_t> values) {
  std::string s = "{";
  for (auto [i, v] : llvm::enumerate(values)) {
    if (i)
      s += ", ";
    s += v == INT64_MIN ? "INT64_MIN" : "INT64_C(" + std::to_string(v) + ")";
  }
  return s + "}";
}

std::string FunctionEmitter::cType(Type t) {
  if (t.isF32())
    return "float";
  if (t.isF64())
    return "double";
  if (t.isF16())
    return "pzrt::f16";
  if (t.isBF16())
    return "pzrt::bf16";
  if (t.isUnsignedInteger())
    switch (t.getIntOrFloatBitWidth()) {
    case 8:
      return "uint8_t";
    case 16:
      return "uint16_t";
    case 32:
      return "uint32_t";
    case 64:
      return "uint64_t";
    default:
      return "";
    }
  if (t.isInteger(64))
    return "int64_t";
  if (t.isInteger(32))
    return "int32_t";
  if (t.isInteger(1))
    return "uint8_t";
  return "";
}

std::vector<int64_t> FunctionEmitter::stridesOf(ArrayRef<int64_t> shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (int64_t d = static_cast<int64_t>(shape.size()) - 2; d >= 0; --d)
    s[d] = s[d + 1] * shape[d + 1];
  return s;
}

std::vector<int64_t> FunctionEmitter::broadcastStrides(ArrayRef<int64_t> in,
                                                       ArrayRef<int64_t> out) {
  std::vector<int64_t> inStrides = stridesOf(in);
  std::vector<int64_t> s(out.size(), 0);
  size_t lead = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d)
    s[lead + d] = in[d] == 1 && out[lead + d] != 1 ? 0 : inStrides[d];
  return s;
}

std::string FunctionEmitter::where(Operation *op) {
  std::string s;
  llvm::raw_string_ostream ss(s);
  Location loc = op->getLoc();
  if (auto fused = llvm::dyn_cast<FusedLoc>(loc))
    loc = fused.getLocations().front();
  if (auto n = llvm::dyn_cast<NameLoc>(loc))
    ss << n.getName().getValue();
  else
    loc.print(ss);
  std::string out = op->getName().getStringRef().str() + " '" + s + "'";
  // Keep the literal printable inside a C string.
  std::string esc;
  for (char c : out) {
    if (c == '"' || c == '\\')
      esc += '\\';
    esc += (c >= 32 && c < 127) ? c : '?';
  }
  return esc;
}

std::string FunctionEmitter::failStmt(Operation *op, StringRef what) const {
  return "return pzrt_set_error(\"%s: " + what.str() + "\", \"" + where(op) + "\");";
}

std::string FunctionEmitter::failStmt(Operation *op, StringRef fmt, StringRef args) const {
  return "return pzrt_set_error(\"%s: " + fmt.str() + "\", \"" + where(op) + "\", " +
         args.str() + ");";
}

void FunctionEmitter::checkCall(Operation *op, StringRef call) {
  os << "    if (" << call << " != 0) return pz_fail(\"" << where(op) << "\");\n";
}

std::string FunctionEmitter::workspace(Operation *op) const {
  auto ws = op->getAttrOfType<DenseI64ArrayAttr>(kWorkspaceAttrName);
  return "(A + " + std::to_string(ws ? ws[0] : 0) + ")";
}

void FunctionEmitter::declare(Value v, const std::string &expr) {
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

void FunctionEmitter::emitStridedLoop(
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

LogicalResult FunctionEmitter::emitConstant(Operation *op, Value result) {
  auto attr = llvm::dyn_cast<DenseElementsAttr>(llvm::cast<ConstantOp>(op).getValue());
  if (!attr)
    return op->emitError() << "CPU backend: constant is not dense elements";
  Type et = attr.getElementType();
  std::string ty = cType(et);
  std::string var = "k" + prefix + std::to_string(nextId++);
  int64_t n = attr.getNumElements();
  auto literal = [&](int64_t i) -> std::string {
    if (llvm::isa<FloatType>(et)) {
      double v = attr.isSplat() ? attr.getSplatValue<APFloat>().convertToDouble()
                                : (*(attr.value_begin<APFloat>() + i)).convertToDouble();
      return floatLiteral(v, et.isF32());
    }
    APInt v = attr.isSplat() ? attr.getSplatValue<APInt>() : *(attr.value_begin<APInt>() + i);
    if (et.isInteger(1))
      return v.isZero() ? "0" : "1";
    if (et.isUnsignedInteger())
      return "UINT64_C(" + std::to_string(v.getZExtValue()) + ")";
    int64_t s = v.getSExtValue();
    return s == INT64_MIN ? "INT64_MIN" : "INT64_C(" + std::to_string(s) + ")";
  };
  if (attr.isSplat() && n > 16) {
    globals << "static " << ty << " *" << var << "_init() {\n  static " << ty << " d[" << n
            << "];\n  for (int64_t i = 0; i < " << n << "; ++i) d[i] = " << literal(0)
            << ";\n  return d;\n}\n";
    os << "  static " << ty << " *const " << var << " = " << var << "_init();\n";
  } else {
    globals << "alignas(64) static " << ty << " " << var << "[" << std::max<int64_t>(n, 1)
            << "] = {";
    for (int64_t i = 0; i < n; ++i)
      globals << (i ? (i % 8 ? ", " : ",\n  ") : "") << literal(i);
    globals << "};\n";
  }
  names[result] = var;
  return success();
}

LogicalResult FunctionEmitter::emit(StringRef cName, ArrayRef<int> aliases) {
  prefix = cName.str() + "_";
  Block &body = fn.getBody().front();
  auto ret = llvm::cast<func::ReturnOp>(body.getTerminator());
  os << "// " << fn.getSymName() << ": arena " << mem.arenaBytes << " bytes, peak live "
     << mem.peakBytes << " bytes\n";
  os << "static int " << cName
     << "(pzrt_step_ctx *ctx, void *const *args, void *const *results) {\n";
  os << "  char *A = ctx->arena_base;\n  (void)A;\n";
  for (BlockArgument arg : body.getArguments())
    declare(arg, "args[" + std::to_string(arg.getArgNumber()) + "]");

  // In-place updates: result i may share args[aliases[i]]'s buffer. That is
  // safe only when the op producing it is the argument's last reader.
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    if (i >= aliases.size() || aliases[i] < 0)
      continue;
    Value arg = body.getArgument(aliases[i]);
    if (v == arg)
      continue;
    auto kindIt = mem.kind.find(v);
    Operation *producer = v.getDefiningOp();
    if (kindIt == mem.kind.end() || kindIt->second != ValueKind::Output || !producer)
      continue; // copied at the end, after every read
    int64_t at = mem.index[producer];
    for (OpOperand &use : arg.getUses()) {
      Operation *user = use.getOwner();
      if (user == ret.getOperation())
        continue;
      if (mem.index[user] > at ||
          (user == producer && !llvm::isa<AdamWUpdateOp, SGDUpdateOp>(user)))
        return producer->emitError()
               << "CPU backend: result " << i << " overwrites argument " << aliases[i]
               << " in place, but the argument is read afterwards";
    }
  }

  for (Operation *op : mem.ops) {
    if (op == ret.getOperation())
      break;
    int64_t at = mem.index[op];
    for (Value r : op->getResults()) {
      switch (mem.kind[r]) {
      case ValueKind::Constant:
        if (failed(emitConstant(op, r)))
          return failure();
        break;
      case ValueKind::View:
        declare(r, name(op->getOperand(0)));
        break;
      case ValueKind::Output:
        declare(r, "results[" + std::to_string(mem.outputIndex[r]) + "]");
        break;
      case ValueKind::Arena: {
        const PlannedBuffer &b = mem.buffers[mem.bufferOf[r]];
        os << "  if (!pzrt_arena_acquire(ctx->arena, " << b.offset << ", " << b.bytes
           << ")) return pz_fail(\"" << where(op) << "\");\n";
        declare(r, "A + " + std::to_string(b.offset));
        break;
      }
      case ValueKind::Argument:
        break;
      }
    }
    if (auto it = mem.workspaceOf.find(op); it != mem.workspaceOf.end()) {
      const PlannedBuffer &w = mem.buffers[it->second];
      if (auto ws = op->getAttrOfType<DenseI64ArrayAttr>(kWorkspaceAttrName);
          !ws || ws[0] != w.offset)
        return op->emitError() << "CPU backend: the workspace plan is stale; run pz-plan-memory";
      os << "  if (!pzrt_arena_acquire(ctx->arena, " << w.offset << ", " << w.bytes
         << ")) return pz_fail(\"" << where(op) << "\");\n";
    }
    if (!llvm::isa<ConstantOp, ReshapeOp, tensor::CastOp>(op))
      if (failed(emitOp(op, *this)))
        return failure();
    // Release what dies here (workspaces included).
    for (const PlannedBuffer &b : mem.buffers)
      if (b.end == at)
        os << "  pzrt_arena_release(ctx->arena, " << b.offset << ");\n";
  }
  // Results not written in place: copy (memmove: the caller may pass the
  // argument's own buffer).
  for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
    auto it = mem.outputIndex.find(v);
    if (it != mem.outputIndex.end() && it->second == i && mem.kind[v] == ValueKind::Output)
      continue;
    int64_t bytes = numel(v) * storageBytes(elementType(v));
    os << "  if (results[" << i << "] != (void *)" << name(v) << ") memmove(results[" << i
       << "], " << name(v) << ", " << bytes << ");\n";
  }
  // Buffers live until the return die now.
  for (const PlannedBuffer &b : mem.buffers)
    if (b.end == mem.index[ret.getOperation()])
      os << "  pzrt_arena_release(ctx->arena, " << b.offset << ");\n";
  os << "  return 0;\n}\n\n";
  return success();
}

LogicalResult mlir::pz::emitStepFunction(func::FuncOp fn, StringRef cName,
                                         ArrayRef<int> resultAliasesArg,
                                         raw_ostream &globals, raw_ostream &os) {
  FailureOr<FunctionMemory> mem = analyzeFunctionMemory(fn);
  if (failed(mem))
    return failure();
  assignOffsets(*mem);
  // The emitted offsets must be the ones pz-plan-memory recorded.
  for (const PlannedBuffer &b : mem->buffers) {
    if (!b.value)
      continue;
    auto attr = b.owner->getAttrOfType<DenseI64ArrayAttr>(kBuffersAttrName);
    unsigned n = llvm::cast<OpResult>(b.value).getResultNumber();
    if (!attr || attr.size() <= static_cast<int64_t>(n) || attr[n] != b.offset)
      return b.owner->emitError()
             << "CPU backend: the memory plan is missing or stale; run pz-plan-memory";
  }
  FunctionEmitter e(fn, *mem, globals, os);
  return e.emit(cName, resultAliasesArg);
}
