//===- CUDAEmitMap.cpp - element maps and pz.fused loops ------------------===//
//
// One gather-form kernel per op: element i of the result (or of the fused
// loop's domain), broadcast operands read at
// sum((i / outStride_d) % dim_d * inStride_d). The scalar expressions are
// the CPU backend's (pz/Target/ElementExpr.h); each fused scalar keeps its
// own type, as on the CPU. Integer division sets the CPU's pz_div0 flag,
// which the launcher checks after the kernel.
//
//===----------------------------------------------------------------------===//

#include "CUDAKernelEmitter.h"

#include "pz/Dialect/PZ/IR/PZOps.h"
#include "pz/Target/ElementExpr.h"

using namespace mlir;
using namespace mlir::pz;
using namespace mlir::pz::cuda;

static const ElementExprStyle &cudaStyle() {
  static const ElementExprStyle s{[](Type t) { return Emitter::cType(t); }, true};
  return s;
}

/// The flat index into an operand of shape `in` (numpy-broadcast to `out`)
/// of the element at flat index i of `out`.
static std::string broadcastIndex(ArrayRef<int64_t> in, ArrayRef<int64_t> out) {
  if (in == out)
    return "i";
  std::vector<int64_t> inStrides = Emitter::stridesOf(in), outStrides = Emitter::stridesOf(out);
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

/// Wraps a body that may divide integers by zero in the CPU's flag.
static void withDiv0(GridKernel &k, bool div0) {
  if (!div0)
    return;
  k.body = "  int pz_div0 = 0;\n" + k.body + "  if (pz_div0) pz_flag(pz_bad, pz_check);\n";
  k.check = "integer division by zero";
}

static LogicalResult emitFused(FusedOp fused, Emitter &e) {
  GridKernel k;
  for (Value r : fused.getResults())
    e.param(k, r, false);
  for (Value v : fused.getInputs())
    e.param(k, v, true);
  ArrayRef<int64_t> domain = fused.getDomain();
  Block &body = fused.getBody().front();
  auto yield = llvm::cast<YieldOp>(body.getTerminator());
  llvm::DenseMap<Value, std::string> scalar;
  for (auto [i, arg] : llvm::enumerate(body.getArguments())) {
    Value in = fused.getInputs()[i];
    scalar[arg] = k.ptr[in] + "[" + broadcastIndex(Emitter::shape(in), domain) + "]";
  }
  int t = 0;
  bool div0 = false;
  for (Operation &inner : body.without_terminator()) {
    if (!hasElementExpr(&inner))
      return inner.emitError() << "CUDA backend: " << inner.getName() << " is not built yet";
    div0 |= isIntegerDiv(&inner);
    std::vector<std::string> args;
    for (Value v : inner.getOperands())
      args.push_back(scalar.lookup(v));
    Type et = getElementTypeOrSelf(inner.getResult(0).getType());
    std::string name = "t" + std::to_string(t++);
    k.body += "  " + Emitter::cType(et) + " " + name + " = " +
              Emitter::store(et, elementExpr(&inner, args, cudaStyle())) + ";\n";
    scalar[inner.getResult(0)] = name;
  }
  for (auto [i, v] : llvm::enumerate(yield.getValues()))
    k.body += "  " + k.ptr[fused.getResult(i)] + "[i] = " + scalar.lookup(v) + ";\n";
  int64_t n = 1;
  for (int64_t s : domain)
    n *= s;
  k.n = n;
  withDiv0(k, div0);
  e.launch(fused, std::move(k));
  return success();
}

static void emitMap(Operation *op, Emitter &e) {
  GridKernel k;
  Value r = op->getResult(0);
  e.param(k, r, false);
  for (Value v : op->getOperands())
    e.param(k, v, true);
  ArrayRef<int64_t> out = Emitter::shape(r);
  std::vector<std::string> args;
  for (Value v : op->getOperands())
    args.push_back(k.ptr[v] + "[" + broadcastIndex(Emitter::shape(v), out) + "]");
  k.body = "  " + k.ptr[r] + "[i] = " +
           Emitter::store(Emitter::elementType(r), elementExpr(op, args, cudaStyle())) + ";\n";
  k.n = Emitter::numel(r);
  withDiv0(k, isIntegerDiv(op));
  e.launch(op, std::move(k));
}

LogicalResult cuda::emitMapOp(Operation *op, Emitter &e, bool &handled) {
  handled = true;
  if (auto fused = llvm::dyn_cast<FusedOp>(op))
    return emitFused(fused, e);
  if (op->hasTrait<traits::ElementMap>()) {
    if (!hasElementExpr(op))
      return op->emitError() << "CUDA backend: no element expression for " << op->getName();
    emitMap(op, e);
    return success();
  }
  handled = false;
  return success();
}
